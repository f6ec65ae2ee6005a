//! [`RdsAdmin`]: a blocking RDS API client (aws-sdk-rds on a private current-thread tokio runtime) that describes
//! a DB and enables IAM database authentication.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_rds::error::ProvideErrorMetadata;
use rds_iam_credentials::{Env, ProvideCredentials, SdkCredentialsProvider};
use rds_iam_token::{Endpoint, EndpointKind, Partition};
use serde::Serialize;

use crate::Error;
use crate::error::{AnswerProblem, Lookup, NotFound};

/// Which DB to look at.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbTarget {
    /// An endpoint hostname: the API (instances, clusters, proxies) is picked from the endpoint's kind.
    Hostname(String),
    /// A DB instance identifier (`DBInstanceIdentifier`).
    Instance(String),
    /// An Aurora DB cluster identifier (`DBClusterIdentifier`).
    Cluster(String),
}

impl fmt::Display for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbTarget::Hostname(host) => write!(f, "endpoint {host}"),
            DbTarget::Instance(id) => write!(f, "DB instance {id}"),
            DbTarget::Cluster(id) => write!(f, "DB cluster {id}"),
        }
    }
}

/// What kind of resource a [`DbInfo`] describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DbKind {
    /// A DB instance (RDS MySQL/MariaDB, or an Aurora instance).
    Instance,
    /// An Aurora DB cluster.
    Cluster,
    /// An RDS Proxy.
    Proxy,
}

impl DbKind {
    /// `instance`, `cluster` or `proxy`.
    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::Instance => "instance",
            DbKind::Cluster => "cluster",
            DbKind::Proxy => "proxy",
        }
    }
}

/// What RDS says about a DB, as far as IAM database authentication is concerned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DbInfo {
    /// Instance, cluster or proxy.
    pub kind: DbKind,
    /// The DB instance / cluster identifier or proxy name.
    pub identifier: String,
    /// `mysql`, `mariadb`, `aurora-mysql` (for a proxy: its engine family, `MYSQL`).
    pub engine: String,
    /// The engine version (none for a proxy).
    pub engine_version: Option<String>,
    /// The endpoint address (the writer endpoint for a cluster).
    pub endpoint: Option<String>,
    /// The reader endpoint (clusters).
    pub reader_endpoint: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// Whether IAM database authentication is in effect (for a proxy: required or allowed for some auth entry).
    pub iam_auth_enabled: bool,
    /// A pending change of the IAM flag (applied at the next maintenance window, or being applied).
    pub iam_auth_pending: Option<bool>,
    /// The id IAM policies name: `db-…`, `cluster-…` or `prx-…`.
    pub resource_id: String,
    /// The resource's ARN.
    pub arn: String,
    /// The account, from the ARN.
    pub account: String,
    /// The region, from the ARN.
    pub region: String,
    /// The partition, from the ARN (`aws`, `aws-cn`, `aws-us-gov`, …).
    pub partition: String,
    /// The status (`available`, `modifying`, …).
    pub status: String,
}

impl DbInfo {
    /// The partition as a [`Partition`] (from the region, which always agrees with the ARN).
    pub fn partition(&self) -> Partition {
        Partition::from_region(&self.region)
    }

    /// Whether the DB is `available` with IAM auth on and nothing pending: logins with tokens work.
    pub fn iam_auth_in_effect(&self) -> bool {
        self.iam_auth_enabled && self.iam_auth_pending.is_none() && self.status == "available"
    }
}

/// When a modification is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Apply {
    /// Now (`ApplyImmediately=true`). AWS warns this can cause a brief outage while the change is applied.
    Immediately,
    /// In the next maintenance window (RDS's default).
    NextMaintenanceWindow,
}

/// How `enable_iam_auth` waits for the change to take effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// Give up after this long.
    pub timeout: Duration,
    /// Ask RDS this often.
    pub interval: Duration,
}

impl Default for Wait {
    /// 30 minutes, every 15 seconds.
    fn default() -> Wait {
        Wait {
            timeout: Duration::from_secs(30 * 60),
            interval: Duration::from_secs(15),
        }
    }
}

/// What `enable_iam_auth` did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Enabled {
    /// IAM auth was already on: no API call was made.
    AlreadyEnabled(DbInfo),
    /// The change was already requested and is pending: no API call was made.
    AlreadyPending(DbInfo),
    /// The modification was requested; `DbInfo` is the latest state (in effect if the caller waited).
    Requested(DbInfo),
}

impl Enabled {
    /// The DB's latest state.
    pub fn info(&self) -> &DbInfo {
        match self {
            Enabled::AlreadyEnabled(info) | Enabled::AlreadyPending(info) | Enabled::Requested(info) => info,
        }
    }
}

/// A blocking RDS API client for one region: aws-sdk-rds configured by aws-config, signing with rds-iam's
/// credential chain, run on a private current-thread tokio runtime (callers need no runtime).
///
/// The endpoint comes from `AWS_ENDPOINT_URL_RDS`, else `AWS_ENDPOINT_URL` (the SDK convention), read from the
/// given [`Env`] (unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else the regional RDS endpoint.
pub struct RdsAdmin {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_rds::Client,
    region: String,
    endpoint_url: Option<String>,
}

impl fmt::Debug for RdsAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RdsAdmin")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .finish_non_exhaustive()
    }
}

impl RdsAdmin {
    /// A client for `region` with `credentials` (typically a `CachingProvider` around the `DefaultChain`).
    pub fn new(region: &str, credentials: impl ProvideCredentials + 'static, env: &Env) -> Result<RdsAdmin, Error> {
        let endpoint_url = endpoint_url(env);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Setup(Arc::new(e)))?;
        // HTTPS on rustls with ring (the workspace's one crypto provider) and the platform's trust store.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .credentials_provider(SdkCredentialsProvider::new(credentials))
            .http_client(http);
        if let Some(url) = &endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = runtime.block_on(loader.load());
        let client = aws_sdk_rds::Client::new(&config);
        tracing::debug!(region, endpoint_url = endpoint_url.as_deref(), "RDS client ready");
        Ok(RdsAdmin {
            runtime,
            client,
            region: region.to_owned(),
            endpoint_url,
        })
    }

    /// The region this client calls.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The endpoint override in use, if any.
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// Describes the DB `target` names.
    pub fn describe(&self, target: &DbTarget) -> Result<DbInfo, Error> {
        self.runtime.block_on(self.describe_async(target))
    }

    /// Turns IAM database authentication on (`ModifyDBInstance` / `ModifyDBCluster` with
    /// `EnableIAMDatabaseAuthentication=true`). Idempotent: when it is already on or already pending, no change is
    /// requested. With `wait`, polls until the DB is `available` with IAM auth on, calling `progress` after each
    /// poll.
    pub fn enable_iam_auth(
        &self,
        target: &DbTarget,
        apply: Apply,
        wait: Option<Wait>,
        progress: &mut dyn FnMut(&DbInfo),
    ) -> Result<Enabled, Error> {
        let before = self.describe(target)?;
        if before.kind == DbKind::Proxy {
            return Err(Error::ProxyUnsupported {
                identifier: before.identifier,
            });
        }
        let outcome = if before.iam_auth_enabled && before.iam_auth_pending != Some(false) {
            Enabled::AlreadyEnabled(before)
        } else if before.iam_auth_pending == Some(true) && apply == Apply::NextMaintenanceWindow {
            Enabled::AlreadyPending(before)
        } else {
            let immediately = apply == Apply::Immediately;
            let id = before.identifier.clone();
            let after = self.runtime.block_on(async {
                match before.kind {
                    DbKind::Cluster => self
                        .client
                        .modify_db_cluster()
                        .db_cluster_identifier(&id)
                        .enable_iam_database_authentication(true)
                        .apply_immediately(immediately)
                        .send()
                        .await
                        .map_err(|e| api_error("ModifyDBCluster", e))?
                        .db_cluster()
                        .map(|db| cluster_info(db, "ModifyDBCluster"))
                        .transpose()?
                        .ok_or_else(|| missing("ModifyDBCluster")),
                    _ => self
                        .client
                        .modify_db_instance()
                        .db_instance_identifier(&id)
                        .enable_iam_database_authentication(true)
                        .apply_immediately(immediately)
                        .send()
                        .await
                        .map_err(|e| api_error("ModifyDBInstance", e))?
                        .db_instance()
                        .map(|db| instance_info(db, "ModifyDBInstance"))
                        .transpose()?
                        .ok_or_else(|| missing("ModifyDBInstance")),
                }
            })?;
            tracing::info!(id, immediately, "requested EnableIAMDatabaseAuthentication");
            Enabled::Requested(after)
        };
        let Some(wait) = wait else {
            return Ok(outcome);
        };
        if outcome.info().iam_auth_in_effect() {
            return Ok(outcome);
        }
        let target = match outcome.info().kind {
            DbKind::Cluster => DbTarget::Cluster(outcome.info().identifier.clone()),
            _ => DbTarget::Instance(outcome.info().identifier.clone()),
        };
        let started = Instant::now();
        loop {
            std::thread::sleep(wait.interval);
            let info = self.describe(&target)?;
            progress(&info);
            if info.iam_auth_in_effect() {
                return Ok(match outcome {
                    Enabled::AlreadyEnabled(_) => Enabled::AlreadyEnabled(info),
                    Enabled::AlreadyPending(_) => Enabled::AlreadyPending(info),
                    Enabled::Requested(_) => Enabled::Requested(info),
                });
            }
            if started.elapsed() >= wait.timeout {
                return Err(Error::Timeout {
                    kind: info.kind,
                    identifier: info.identifier,
                    waited: wait.timeout,
                    apply,
                    status: info.status,
                    iam_auth_enabled: info.iam_auth_enabled,
                    iam_auth_pending: info.iam_auth_pending,
                });
            }
        }
    }

    async fn describe_async(&self, target: &DbTarget) -> Result<DbInfo, Error> {
        match target {
            DbTarget::Instance(id) => self.instance(id).await,
            DbTarget::Cluster(id) => self.cluster(id).await,
            DbTarget::Hostname(host) => {
                let endpoint = Endpoint::parse(host);
                if let Some(region) = endpoint.region()
                    && region != self.region
                {
                    return Err(Error::RegionMismatch {
                        host: host.clone(),
                        host_region: region.to_owned(),
                        client_region: self.region.clone(),
                    });
                }
                let id = endpoint.identifier().unwrap_or_default().to_owned();
                let found = match endpoint.kind() {
                    EndpointKind::Instance => self.instance(&id).await?,
                    EndpointKind::Cluster | EndpointKind::ClusterReader => self.cluster(&id).await?,
                    EndpointKind::ClusterCustom => {
                        let out = self
                            .client
                            .describe_db_cluster_endpoints()
                            .db_cluster_endpoint_identifier(&id)
                            .send()
                            .await
                            .map_err(|e| api_error("DescribeDBClusterEndpoints", e))?;
                        let Some(cluster) = out
                            .db_cluster_endpoints()
                            .first()
                            .and_then(|e| e.db_cluster_identifier())
                        else {
                            return Err(self.not_found(Lookup::ClusterEndpoint, &id));
                        };
                        self.cluster(cluster).await?
                    }
                    EndpointKind::Proxy => self.proxy(&id).await?,
                    EndpointKind::ProxyEndpoint => {
                        let out = self
                            .client
                            .describe_db_proxy_endpoints()
                            .db_proxy_endpoint_name(&id)
                            .send()
                            .await
                            .map_err(|e| api_error("DescribeDBProxyEndpoints", e))?;
                        let Some(proxy) = out.db_proxy_endpoints().first().and_then(|e| e.db_proxy_name()) else {
                            return Err(self.not_found(Lookup::ProxyEndpoint, &id));
                        };
                        self.proxy(proxy).await?
                    }
                    _ => {
                        return self.by_address(host).await;
                    }
                };
                Ok(found)
            }
        }
    }

    async fn instance(&self, id: &str) -> Result<DbInfo, Error> {
        let out = self
            .client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| self.not_found_or(e, "DescribeDBInstances", Lookup::Instance, id))?;
        match out.db_instances().first() {
            Some(db) => instance_info(db, "DescribeDBInstances"),
            None => Err(self.not_found(Lookup::Instance, id)),
        }
    }

    async fn cluster(&self, id: &str) -> Result<DbInfo, Error> {
        let out = self
            .client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| self.not_found_or(e, "DescribeDBClusters", Lookup::Cluster, id))?;
        match out.db_clusters().first() {
            Some(db) => cluster_info(db, "DescribeDBClusters"),
            None => Err(self.not_found(Lookup::Cluster, id)),
        }
    }

    async fn proxy(&self, name: &str) -> Result<DbInfo, Error> {
        let out = self
            .client
            .describe_db_proxies()
            .db_proxy_name(name)
            .send()
            .await
            .map_err(|e| self.not_found_or(e, "DescribeDBProxies", Lookup::Proxy, name))?;
        let Some(proxy) = out.db_proxies().first() else {
            return Err(self.not_found(Lookup::Proxy, name));
        };
        let arn = proxy.db_proxy_arn().unwrap_or_default().to_owned();
        let parts = ArnParts::parse(&arn, "DescribeDBProxies")?;
        // The proxy's resource id is the last part of its ARN: `…:db-proxy:prx-0123…`.
        let resource_id = arn.rsplit(':').next().unwrap_or_default().to_owned();
        let iam = proxy.auth().iter().any(|a| {
            a.iam_auth()
                .is_some_and(|m| !matches!(m, aws_sdk_rds::types::IamAuthMode::Disabled))
        }) || proxy.default_auth_scheme() == Some("IAM_AUTH");
        Ok(DbInfo {
            kind: DbKind::Proxy,
            identifier: proxy.db_proxy_name().unwrap_or(name).to_owned(),
            engine: proxy.engine_family().unwrap_or_default().to_owned(),
            engine_version: None,
            endpoint: proxy.endpoint().map(str::to_owned),
            reader_endpoint: None,
            port: None,
            iam_auth_enabled: iam,
            iam_auth_pending: None,
            resource_id,
            arn: arn.clone(),
            account: parts.account,
            region: parts.region,
            partition: parts.partition,
            status: proxy.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        })
    }

    /// A name that is not an RDS endpoint (a CNAME, …): look for an instance or cluster with that address.
    async fn by_address(&self, host: &str) -> Result<DbInfo, Error> {
        let wanted = host.trim_end_matches('.').to_ascii_lowercase();
        let mut instances = self.client.describe_db_instances().into_paginator().send();
        while let Some(page) = instances.next().await {
            let page = page.map_err(|e| api_error("DescribeDBInstances", e))?;
            for db in page.db_instances() {
                if db.endpoint().and_then(|e| e.address()).map(str::to_ascii_lowercase) == Some(wanted.clone()) {
                    return instance_info(db, "DescribeDBInstances");
                }
            }
        }
        let mut clusters = self.client.describe_db_clusters().into_paginator().send();
        while let Some(page) = clusters.next().await {
            let page = page.map_err(|e| api_error("DescribeDBClusters", e))?;
            for db in page.db_clusters() {
                let matches = [db.endpoint(), db.reader_endpoint()]
                    .into_iter()
                    .flatten()
                    .any(|a| a.eq_ignore_ascii_case(&wanted));
                if matches {
                    return cluster_info(db, "DescribeDBClusters");
                }
            }
        }
        Err(self.not_found(Lookup::Address, host))
    }

    fn not_found(&self, what: Lookup, name: &str) -> Error {
        Error::NotFound(NotFound::new(what, name, &self.region))
    }

    /// A `…NotFound…` error code is [`Error::NotFound`]; anything else an API error.
    fn not_found_or<E, R>(
        &self,
        err: aws_sdk_rds::error::SdkError<E, R>,
        call: &'static str,
        what: Lookup,
        name: &str,
    ) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        match err.code() {
            Some(code) if code.contains("NotFound") => self.not_found(what, name),
            _ => api_error(call, err),
        }
    }
}

/// `AWS_ENDPOINT_URL_RDS` > `AWS_ENDPOINT_URL`, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`.
pub fn endpoint_url(env: &Env) -> Option<String> {
    if env
        .get_non_blank("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        return None;
    }
    ["AWS_ENDPOINT_URL_RDS", "AWS_ENDPOINT_URL"]
        .into_iter()
        .find_map(|name| env.get_non_blank(name))
        .map(|url| url.trim().to_owned())
}

fn instance_info(db: &aws_sdk_rds::types::DbInstance, call: &'static str) -> Result<DbInfo, Error> {
    let arn = db.db_instance_arn().unwrap_or_default().to_owned();
    let parts = ArnParts::parse(&arn, call)?;
    Ok(DbInfo {
        kind: DbKind::Instance,
        identifier: db.db_instance_identifier().unwrap_or_default().to_owned(),
        engine: db.engine().unwrap_or_default().to_owned(),
        engine_version: db.engine_version().map(str::to_owned),
        endpoint: db.endpoint().and_then(|e| e.address()).map(str::to_owned),
        reader_endpoint: None,
        port: db.endpoint().and_then(|e| e.port()).and_then(|p| u16::try_from(p).ok()),
        iam_auth_enabled: db.iam_database_authentication_enabled().unwrap_or(false),
        iam_auth_pending: db
            .pending_modified_values()
            .and_then(|p| p.iam_database_authentication_enabled()),
        resource_id: db.dbi_resource_id().unwrap_or_default().to_owned(),
        arn: arn.clone(),
        account: parts.account,
        region: parts.region,
        partition: parts.partition,
        status: db.db_instance_status().unwrap_or_default().to_owned(),
    })
}

fn cluster_info(db: &aws_sdk_rds::types::DbCluster, call: &'static str) -> Result<DbInfo, Error> {
    let arn = db.db_cluster_arn().unwrap_or_default().to_owned();
    let parts = ArnParts::parse(&arn, call)?;
    Ok(DbInfo {
        kind: DbKind::Cluster,
        identifier: db.db_cluster_identifier().unwrap_or_default().to_owned(),
        engine: db.engine().unwrap_or_default().to_owned(),
        engine_version: db.engine_version().map(str::to_owned),
        endpoint: db.endpoint().map(str::to_owned),
        reader_endpoint: db.reader_endpoint().map(str::to_owned),
        port: db.port().and_then(|p| u16::try_from(p).ok()),
        iam_auth_enabled: db.iam_database_authentication_enabled().unwrap_or(false),
        iam_auth_pending: db
            .pending_modified_values()
            .and_then(|p| p.iam_database_authentication_enabled()),
        resource_id: db.db_cluster_resource_id().unwrap_or_default().to_owned(),
        arn: arn.clone(),
        account: parts.account,
        region: parts.region,
        partition: parts.partition,
        status: db.status().unwrap_or_default().to_owned(),
    })
}

/// `arn:PARTITION:rds:REGION:ACCOUNT:…`.
#[derive(Debug)]
struct ArnParts {
    partition: String,
    region: String,
    account: String,
}

impl ArnParts {
    fn parse(arn: &str, call: &'static str) -> Result<ArnParts, Error> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", partition, "rds", region, account, _] if !region.is_empty() && !account.is_empty() => {
                Ok(ArnParts {
                    partition: (*partition).to_owned(),
                    region: (*region).to_owned(),
                    account: (*account).to_owned(),
                })
            }
            _ => Err(Error::UnexpectedAnswer {
                call,
                problem: AnswerProblem::NotAnRdsArn(arn.to_owned()),
            }),
        }
    }
}

fn missing(call: &'static str) -> Error {
    Error::UnexpectedAnswer {
        call,
        problem: AnswerProblem::NoDb,
    }
}

/// AWS's code and message when it sent them; otherwise the SDK's error (not sent, timed out, not understood) as
/// the source, whose own sources say why.
fn api_error<E, R>(call: &'static str, err: aws_sdk_rds::error::SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().map(str::to_owned);
    let message = err.message().map(str::to_owned);
    let source = if code.is_none() && message.is_none() {
        Some(Arc::new(err) as crate::error::ErrorSource)
    } else {
        None
    };
    Error::Api {
        call,
        code,
        message,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_override_follows_the_sdk_convention() {
        let env = |vars: &[(&str, &str)]| endpoint_url(&Env::from_vars(vars.iter().copied()));
        assert_eq!(env(&[]), None);
        assert_eq!(env(&[("AWS_ENDPOINT_URL", "http://a")]).as_deref(), Some("http://a"));
        assert_eq!(
            env(&[("AWS_ENDPOINT_URL", "http://a"), ("AWS_ENDPOINT_URL_RDS", "http://b")]).as_deref(),
            Some("http://b")
        );
        assert_eq!(
            env(&[
                ("AWS_ENDPOINT_URL_RDS", "http://b"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
            ]),
            None
        );
    }

    #[test]
    fn arn_parts() {
        let parts = ArnParts::parse("arn:aws-cn:rds:cn-north-1:123456789012:db:mydb", "DescribeDBInstances").unwrap();
        assert_eq!(
            (parts.partition.as_str(), parts.region.as_str(), parts.account.as_str()),
            ("aws-cn", "cn-north-1", "123456789012")
        );
        assert!(ArnParts::parse("", "DescribeDBInstances").is_err());
        let err = ArnParts::parse("arn:aws:s3:::bucket", "DescribeDBInstances").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"DescribeDBInstances returned the ARN "arn:aws:s3:::bucket", which is not an RDS ARN"#
        );
    }
}
