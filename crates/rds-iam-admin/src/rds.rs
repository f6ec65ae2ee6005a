//! [`RdsAdmin`]: a blocking RDS API client (aws-sdk-rds on a private current-thread tokio runtime) that describes
//! a DB and enables IAM database authentication.

use std::fmt;
use std::time::{Duration, Instant};

use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_rds::operation::RequestId;
use rds_iam_credentials::{Env, ProvideCredentials, SdkCredentialsProvider};
use rds_iam_token::{Endpoint, EndpointKind, Partition};
use serde::Serialize;

use crate::Error;

/// Which DB to look at.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbTarget {
    /// An endpoint hostname: the API (instances, clusters, proxies) is picked from the endpoint's kind.
    Hostname(String),
    /// A DB instance identifier (`--db-instance`).
    Instance(String),
    /// An Aurora DB cluster identifier (`--db-cluster`).
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
            .map_err(|e| Error::Setup(format!("cannot start the async runtime: {e}")))?;
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
            return Err(Error::Unsupported(format!(
                "{} is an RDS Proxy: IAM authentication is set per proxy auth entry (`aws rds modify-db-proxy --auth \
                 …IAMAuth=REQUIRED`), and the databases behind it need no change",
                before.identifier
            )));
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
                        .map(cluster_info)
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
                        .map(instance_info)
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
                return Err(Error::Timeout(format!(
                    "IAM authentication on {} is not in effect after {}s (status {}, IAM auth {}{}): check again \
                     with `rds-iam describe`; without --apply-immediately the change waits for the maintenance \
                     window",
                    info.identifier,
                    wait.timeout.as_secs(),
                    info.status,
                    if info.iam_auth_enabled { "on" } else { "off" },
                    if info.iam_auth_pending.is_some() {
                        ", change pending"
                    } else {
                        ""
                    },
                )));
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
                    return Err(Error::InvalidInput(format!(
                        "{host} is in {region}, but the RDS client calls {}: pass --region {region} (or leave \
                         --region out)",
                        self.region
                    )));
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
                            return Err(Error::NotFound(format!(
                                "no custom cluster endpoint {id} in {}: check the hostname, or pass --db-cluster",
                                self.region
                            )));
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
                            return Err(Error::NotFound(format!(
                                "no proxy endpoint {id} in {}: check the hostname",
                                self.region
                            )));
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
            .map_err(|e| not_found_or(e, "DescribeDBInstances", &format!("DB instance {id}"), &self.region))?;
        match out.db_instances().first() {
            Some(db) => instance_info(db),
            None => Err(Error::NotFound(format!(
                "no DB instance {id} in {}: check the name and region",
                self.region
            ))),
        }
    }

    async fn cluster(&self, id: &str) -> Result<DbInfo, Error> {
        let out = self
            .client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| not_found_or(e, "DescribeDBClusters", &format!("DB cluster {id}"), &self.region))?;
        match out.db_clusters().first() {
            Some(db) => cluster_info(db),
            None => Err(Error::NotFound(format!(
                "no DB cluster {id} in {}: check the name and region",
                self.region
            ))),
        }
    }

    async fn proxy(&self, name: &str) -> Result<DbInfo, Error> {
        let out = self
            .client
            .describe_db_proxies()
            .db_proxy_name(name)
            .send()
            .await
            .map_err(|e| not_found_or(e, "DescribeDBProxies", &format!("RDS Proxy {name}"), &self.region))?;
        let Some(proxy) = out.db_proxies().first() else {
            return Err(Error::NotFound(format!("no RDS Proxy {name} in {}", self.region)));
        };
        let arn = proxy.db_proxy_arn().unwrap_or_default().to_owned();
        let parts = ArnParts::parse(&arn)?;
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
                    return instance_info(db);
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
                    return cluster_info(db);
                }
            }
        }
        Err(Error::NotFound(format!(
            "no DB instance or cluster in {} has the endpoint {host}: pass --db-instance ID or --db-cluster ID",
            self.region
        )))
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

fn instance_info(db: &aws_sdk_rds::types::DbInstance) -> Result<DbInfo, Error> {
    let arn = db.db_instance_arn().unwrap_or_default().to_owned();
    let parts = ArnParts::parse(&arn)?;
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

fn cluster_info(db: &aws_sdk_rds::types::DbCluster) -> Result<DbInfo, Error> {
    let arn = db.db_cluster_arn().unwrap_or_default().to_owned();
    let parts = ArnParts::parse(&arn)?;
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
struct ArnParts {
    partition: String,
    region: String,
    account: String,
}

impl ArnParts {
    fn parse(arn: &str) -> Result<ArnParts, Error> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", partition, "rds", region, account, _] if !region.is_empty() && !account.is_empty() => {
                Ok(ArnParts {
                    partition: (*partition).to_owned(),
                    region: (*region).to_owned(),
                    account: (*account).to_owned(),
                })
            }
            _ => Err(Error::Api {
                call: "Describe",
                code: None,
                message: format!("RDS returned the ARN {arn:?}, which is not an RDS ARN"),
            }),
        }
    }
}

fn missing(call: &'static str) -> Error {
    Error::Api {
        call,
        code: None,
        message: "the answer has no DB in it".to_owned(),
    }
}

fn api_error<E, R>(call: &'static str, err: aws_sdk_rds::error::SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
    aws_sdk_rds::error::SdkError<E, R>: RequestId,
{
    let code = err.code().map(str::to_owned);
    let message = match (err.code(), err.message()) {
        (Some(code), Some(message)) => {
            let hint = match code {
                "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                    "; the credentials lack this RDS permission (see `rds-iam credentials` for who is calling)"
                }
                "InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken" => {
                    "; check the credentials (`rds-iam credentials`)"
                }
                _ => "",
            };
            format!("{code}: {message}{hint}")
        }
        _ => format!("{}", DisplayErrorContext(&err)),
    };
    Error::Api { call, code, message }
}

fn not_found_or<E, R>(err: aws_sdk_rds::error::SdkError<E, R>, call: &'static str, what: &str, region: &str) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
    aws_sdk_rds::error::SdkError<E, R>: RequestId,
{
    match err.code() {
        Some(code) if code.contains("NotFound") => Error::NotFound(format!(
            "{what} was not found in {region}: check the name, the region and the account"
        )),
        _ => api_error(call, err),
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
        let parts = ArnParts::parse("arn:aws-cn:rds:cn-north-1:123456789012:db:mydb").unwrap();
        assert_eq!(
            (parts.partition.as_str(), parts.region.as_str(), parts.account.as_str()),
            ("aws-cn", "cn-north-1", "123456789012")
        );
        assert!(ArnParts::parse("").is_err());
        assert!(ArnParts::parse("arn:aws:s3:::bucket").is_err());
    }
}
