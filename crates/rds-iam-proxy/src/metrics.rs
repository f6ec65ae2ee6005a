//! Prometheus metrics of a [`ProxyServer`](crate::ProxyServer) (prometheus-client), served at `GET /metrics` by the
//! health endpoints. The names are a contract (docs/proxy.md lists them); labels never carry a secret.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Instance {
    instance: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceResult {
    instance: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceDirection {
    instance: String,
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceUser {
    instance: String,
    user: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceCause {
    instance: String,
    cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshResult {
    result: &'static str,
}

/// How a client connection ended, for `rds_iam_proxy_connections_total{result}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Logged in (counted when the session ends).
    Ok,
    /// The login was refused: a token the database refused, a user not allowed, not an IAM user.
    Refused,
    /// Over `--max-connections`.
    Limit,
    /// The database could not be reached, or failed otherwise.
    BackendError,
    /// The database's TLS: no TLS offered, an untrusted or wrong certificate, a failed handshake.
    TlsError,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Limit => "limit",
            Outcome::BackendError => "backend_error",
            Outcome::TlsError => "tls_error",
        }
    }
}

/// Every metric of one server.
pub(crate) struct Metrics {
    registry: Registry,
    open: Family<Instance, Gauge>,
    connections: Family<InstanceResult, Counter>,
    dial: Histogram,
    bytes: Family<InstanceDirection, Counter>,
    token_refresh: Family<RefreshResult, Counter>,
    token_expiry: Family<InstanceUser, Gauge<f64, AtomicU64>>,
    login_failures: Family<InstanceCause, Counter>,
    credentials_expiry: Gauge<f64, AtomicU64>,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("rds_iam_proxy");
        let open = Family::<Instance, Gauge>::default();
        registry.register("open_connections", "Client sessions open now", open.clone());
        let connections = Family::<InstanceResult, Counter>::default();
        registry.register(
            "connections",
            "Client connections by how they ended (ok, refused, limit, backend_error, tls_error)",
            connections.clone(),
        );
        let dial = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        registry.register(
            "dial_duration_seconds",
            "Time from a client's connection to its logged-in session: TCP, TLS and the IAM login",
            dial.clone(),
        );
        let bytes = Family::<InstanceDirection, Counter>::default();
        registry.register(
            "bytes",
            "Payload bytes relayed (direction: from_client, to_client)",
            bytes.clone(),
        );
        let token_refresh = Family::<RefreshResult, Counter>::default();
        registry.register(
            "token_refresh",
            "Tokens signed ahead in the background (result: ok, error)",
            token_refresh.clone(),
        );
        let token_expiry = Family::<InstanceUser, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "token_expiry_timestamp_seconds",
            "When the newest token signed ahead for a user expires (Unix time)",
            token_expiry.clone(),
        );
        let login_failures = Family::<InstanceCause, Counter>::default();
        registry.register("login_failures", "Logins that failed, by cause", login_failures.clone());
        let credentials_expiry = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "credentials_expiry_timestamp_seconds",
            "When the AWS credentials that signed the newest token expire (Unix time; 0: they do not)",
            credentials_expiry.clone(),
        );
        Metrics {
            registry,
            open,
            connections,
            dial,
            bytes,
            token_refresh,
            token_expiry,
            login_failures,
            credentials_expiry,
        }
    }

    /// The Prometheus text format (OpenMetrics).
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub(crate) fn session_opened(&self, instance: &str) {
        self.open.get_or_create(&label(instance)).inc();
    }

    pub(crate) fn session_closed(&self, instance: &str) {
        self.open.get_or_create(&label(instance)).dec();
    }

    pub(crate) fn connection(&self, instance: &str, outcome: Outcome) {
        let labels = InstanceResult {
            instance: instance.to_owned(),
            result: outcome.label(),
        };
        self.connections.get_or_create(&labels).inc();
    }

    pub(crate) fn dialed(&self, took: Duration) {
        self.dial.observe(took.as_secs_f64());
    }

    pub(crate) fn relayed(&self, instance: &str, from_client: u64, to_client: u64) {
        for (direction, bytes) in [("from_client", from_client), ("to_client", to_client)] {
            let labels = InstanceDirection {
                instance: instance.to_owned(),
                direction,
            };
            self.bytes.get_or_create(&labels).inc_by(bytes);
        }
    }

    pub(crate) fn login_failed(&self, instance: &str, cause: &'static str) {
        let labels = InstanceCause {
            instance: instance.to_owned(),
            cause,
        };
        self.login_failures.get_or_create(&labels).inc();
    }

    /// A token signed ahead (`Some`: its expiry and its credentials' expiry), or a failure to sign one.
    pub(crate) fn refreshed(&self, instance: &str, user: &str, token: Option<(SystemTime, Option<SystemTime>)>) {
        let result = if token.is_some() { "ok" } else { "error" };
        self.token_refresh.get_or_create(&RefreshResult { result }).inc();
        if let Some((expires, credentials)) = token {
            let labels = InstanceUser {
                instance: instance.to_owned(),
                user: user.to_owned(),
            };
            self.token_expiry.get_or_create(&labels).set(unix(expires));
            self.credentials_expiry.set(credentials.map_or(0.0, unix));
        }
    }
}

fn label(instance: &str) -> Instance {
    Instance {
        instance: instance.to_owned(),
    }
}

fn unix(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_names_are_exported() {
        let metrics = Metrics::new();
        metrics.session_opened("db");
        metrics.connection("db", Outcome::Ok);
        metrics.dialed(Duration::from_millis(20));
        metrics.relayed("db", 10, 20);
        metrics.login_failed("db", "token_rejected");
        metrics.refreshed(
            "db",
            "app",
            Some((SystemTime::UNIX_EPOCH + Duration::from_secs(900), None)),
        );
        let text = metrics.encode();
        for expected in [
            "rds_iam_proxy_open_connections{instance=\"db\"} 1",
            "rds_iam_proxy_connections_total{instance=\"db\",result=\"ok\"} 1",
            "rds_iam_proxy_dial_duration_seconds_count 1",
            "rds_iam_proxy_bytes_total{instance=\"db\",direction=\"to_client\"} 20",
            "rds_iam_proxy_token_refresh_total{result=\"ok\"} 1",
            "rds_iam_proxy_token_expiry_timestamp_seconds{instance=\"db\",user=\"app\"} 900",
            "rds_iam_proxy_login_failures_total{instance=\"db\",cause=\"token_rejected\"} 1",
            "rds_iam_proxy_credentials_expiry_timestamp_seconds 0",
        ] {
            assert!(text.contains(expected), "{expected} in:\n{text}");
        }
    }
}
