//! Where to log in and how, for every command that logs in (`connect`, `mysql`, `doctor`; `create-user` uses the
//! trust): the shared target flags, the trust a DB endpoint gets when no `--ca-bundle` is given, and the login
//! helper, which goes through an embedded proxy when the certificate's name is waived.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Args;
use rds_iam_ca::BundleSource;
use rds_iam_credentials::{DefaultChain, ProvideCredentials};
use rds_iam_mysql::{ConnectError, IamConnector, Target, TlsCheck};
use rds_iam_proxy::{EmbeddedProxy, ProxyConfig};
use rds_iam_token::{Endpoint, EndpointKind, RegionChoice, choose_region};

use crate::context::Context;

/// Where to log in and as whom: the flags `connect`, `mysql` and `doctor` share.
#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    #[command(flatten)]
    pub(crate) endpoint: EndpointArgs,

    /// The DB user, created with the AWSAuthenticationPlugin.
    #[arg(long, visible_alias = "user", value_name = "USER")]
    pub(crate) username: String,

    /// The default database (schema).
    #[arg(long, short = 'D', value_name = "DATABASE")]
    pub(crate) database: Option<String>,
}

impl std::ops::Deref for TargetArgs {
    type Target = EndpointArgs;

    fn deref(&self) -> &EndpointArgs {
        &self.endpoint
    }
}

/// Where to log in: the endpoint flags of every command that logs in, `proxy` included.
#[derive(Debug, Args)]
pub(crate) struct EndpointArgs {
    /// The DB endpoint to connect to (instance, cluster, reader, custom or proxy endpoint; or a tunnel's address).
    #[arg(long, visible_alias = "host", value_name = "HOSTNAME", required = true)]
    pub(crate) hostname: Option<String>,

    /// The DB port.
    #[arg(long, default_value_t = 3306)]
    pub(crate) port: u16,

    /// The DB's region. Default: from the hostname, else AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,

    /// Sign the token for this endpoint name when --hostname is a tunnel, a CNAME or an IP address.
    #[arg(long, value_name = "HOST")]
    pub(crate) signing_host: Option<String>,

    /// Sign the token for this port (the DB's own, usually 3306) when --port is a tunnel's local port.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) signing_port: Option<u16>,

    /// PEM file with the CA certificates to trust (default: $RDS_IAM_CA_BUNDLE, else the RDS bundle for the
    /// endpoint's region, downloaded once and cached, or for an RDS Proxy endpoint the built-in Amazon Trust
    /// Services roots; see `rds-iam ca`).
    #[arg(long, value_name = "FILE", env = "RDS_IAM_CA_BUNDLE")]
    pub(crate) ca_bundle: Option<PathBuf>,

    /// Verify the certificate chain (against the bundle alone) but not its name: for SSH/SSM tunnels you control;
    /// logged as a warning. `rds-iam doctor` shows whether the certificate is the endpoint's.
    #[arg(long)]
    pub(crate) danger_skip_hostname_check: bool,

    /// Use this profile of ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, else `default`).
    #[arg(long, value_name = "PROFILE")]
    pub(crate) profile: Option<String>,
}

impl TargetArgs {
    /// The connector these flags describe, signing with the full credential chain.
    pub(crate) fn connector(&self, ctx: &Context) -> anyhow::Result<IamConnector> {
        self.endpoint.connector(ctx, &self.username, self.database.as_deref())
    }

    /// The connector for resolved values, signing with `credentials`.
    pub(crate) fn connector_with(
        &self,
        credentials: Arc<dyn ProvideCredentials>,
        signing_host: &str,
        region: &str,
        ca_bundle: PathBuf,
    ) -> anyhow::Result<IamConnector> {
        self.endpoint.connector_with(
            credentials,
            (signing_host, region, ca_bundle),
            &self.username,
            self.database.as_deref(),
        )
    }
}

impl EndpointArgs {
    /// `--hostname` (clap requires it, except for `proxy` with a config file, which checks for itself).
    pub(crate) fn hostname(&self) -> &str {
        self.hostname.as_deref().unwrap_or_default()
    }

    /// The connector for `user` these flags describe, signing with the full credential chain.
    pub(crate) fn connector(&self, ctx: &Context, user: &str, database: Option<&str>) -> anyhow::Result<IamConnector> {
        let signing_host = self.signing_host()?;
        let Some(choice) = self.region(ctx, &signing_host)? else {
            bail!("no region: {signing_host} does not name one and none is configured; pass --region");
        };
        if let Some(hostname_region) = &choice.hostname_region {
            eprintln!(
                "warning: --region {} differs from the region in the hostname ({hostname_region})",
                choice.region
            );
        }
        let ca_bundle = self.ca_bundle(ctx, &signing_host)?;
        // Cached: `mysql` and name-waived logins go through the proxy, which may log in more than once.
        let credentials = Arc::new(
            DefaultChain::builder()
                .config(&ctx.provider_config(self.profile.as_deref()))
                .build(),
        );
        self.connector_with(credentials, (&signing_host, &choice.region, ca_bundle), user, database)
    }

    /// The name tokens are signed for (and the certificate must carry): --signing-host, else --hostname unless it
    /// is an IP address.
    pub(crate) fn signing_host(&self) -> anyhow::Result<String> {
        match &self.signing_host {
            Some(host) => Ok(host.clone()),
            None if Endpoint::parse(self.hostname()).kind() == EndpointKind::IpAddress => bail!(
                "{} is an IP address, but IAM tokens are signed for the DB endpoint's name: pass --signing-host \
                 ENDPOINT (or --signing-host {} to sign for the address itself)",
                self.hostname(),
                self.hostname()
            ),
            None => Ok(self.hostname().to_owned()),
        }
    }

    /// Explicit > the signing host's > configured; `None` when none is known.
    pub(crate) fn region(&self, ctx: &Context, signing_host: &str) -> anyhow::Result<Option<RegionChoice>> {
        let configured = rds_iam_credentials::resolve_region(&ctx.env, &ctx.fs, self.profile.as_deref())?;
        Ok(choose_region(
            self.region.as_deref(),
            &Endpoint::parse(signing_host),
            configured.as_ref().map(|c| (c.region.as_str(), c.source.as_str())),
        ))
    }

    /// --ca-bundle, else the Amazon Trust Services roots for a proxy endpoint, else the RDS bundle for the endpoint's
    /// region (or the global one), downloaded and verified once, then reused from the cache and refreshed weekly.
    pub(crate) fn ca_bundle(&self, ctx: &Context, signing_host: &str) -> anyhow::Result<PathBuf> {
        if let Some(file) = &self.ca_bundle {
            return Ok(file.clone());
        }
        bundle_for_endpoint(ctx, signing_host)
    }

    /// The connector for resolved values (signing host, region, CA bundle) and `user`, signing with `credentials`.
    pub(crate) fn connector_with(
        &self,
        credentials: Arc<dyn ProvideCredentials>,
        (signing_host, region, ca_bundle): (&str, &str, PathBuf),
        user: &str,
        database: Option<&str>,
    ) -> anyhow::Result<IamConnector> {
        let mut target = Target::new(self.hostname(), self.port, user)?.with_region(region);
        if signing_host != self.hostname() {
            target = target.with_signing_host(signing_host)?;
        }
        if let Some(port) = self.signing_port {
            target = target.with_signing_port(port)?;
        }
        if let Some(database) = database {
            target = target.with_database(database)?;
        }
        Ok(IamConnector::with_shared_credentials(target, credentials, ca_bundle).with_tls_check(self.tls_check()))
    }

    /// What `--danger-skip-hostname-check` asks of the certificate check.
    pub(crate) fn tls_check(&self) -> TlsCheck {
        if self.danger_skip_hostname_check {
            TlsCheck::DangerSkipHostname
        } else {
            TlsCheck::Full
        }
    }
}

/// What to trust for a DB endpoint when no `--ca-bundle` is given: the Amazon Trust Services roots for an RDS Proxy
/// endpoint (built in), else the RDS bundle for the endpoint's region (the global one when the name has no
/// region), downloaded once and then cached.
pub(crate) fn bundle_for_endpoint(ctx: &Context, host: &str) -> anyhow::Result<PathBuf> {
    let endpoint = Endpoint::parse(host);
    let store = crate::commands::ca::store(ctx)?;
    let bundle = if endpoint.kind().is_proxy() {
        store.amazon_trust_services(ctx.now)?
    } else {
        store
            .get(&BundleSource::for_endpoint(&endpoint), ctx.now)
            .context("getting the RDS CA bundle (pass --ca-bundle FILE to use your own)")?
    };
    Ok(bundle.path)
}

/// Whether `file` is the built-in Amazon Trust Services bundle as [`bundle_for_endpoint`] wrote it (not a file of
/// the user's that happens to have the same name).
pub(crate) fn is_amazon_trust_services(ctx: &Context, file: &Path) -> bool {
    crate::commands::ca::store(ctx).is_ok_and(|store| file == store.dir().join(rds_iam_ca::AMAZON_TRUST_SERVICES_FILE))
}

/// A logged-in connection for `connect` and `doctor`; the embedded proxy, when one is used, lives as long as it.
pub(crate) struct Login {
    conn: mysql::Conn,
    _proxy: Option<EmbeddedProxy>,
}

impl std::ops::Deref for Login {
    type Target = mysql::Conn;

    fn deref(&self) -> &mysql::Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for Login {
    fn deref_mut(&mut self) -> &mut mysql::Conn {
        &mut self.conn
    }
}

/// Logs in with the connector. With the name waived, the driver's own TLS would also trust Mozilla's public roots
/// (mysql 28 cannot leave them out), so such a login goes through an embedded proxy on a private socket, whose TLS
/// trusts the CA bundle alone; the driver then talks to the proxy, and never holds the token. A refusal is a
/// [`ConnectError`] (doctor ranks the causes of a refused token); any other failure an error with its context.
pub(crate) fn login(connector: IamConnector, ctx: &Context) -> anyhow::Result<Login> {
    if connector.tls_check() != TlsCheck::DangerSkipHostname {
        return Ok(Login {
            conn: connector.connect()?.into_inner(),
            _proxy: None,
        });
    }
    tracing::warn!(
        host = connector.target().host(),
        "TLS: the server certificate's name is not checked (its chain is, against the CA bundle alone)"
    );
    let user = connector.target().user().to_owned();
    let database = connector.target().database().map(str::to_owned);
    let config = ProxyConfig::iam(connector.clone())?.allow_users([user.as_str()]);
    let dir = ctx.temp_dir();
    let proxy =
        EmbeddedProxy::start(config, &dir).with_context(|| format!("starting the local proxy in {}", dir.display()))?;
    let opts = mysql::OptsBuilder::new()
        .socket(Some(proxy.socket_path().to_string_lossy().into_owned()))
        .prefer_socket(true)
        .user(Some(user.as_str()))
        .db_name(database);
    let conn = mysql::Conn::new(opts).map_err(|e| from_proxy(&connector, &user, e))?;
    Ok(Login {
        conn,
        _proxy: Some(proxy),
    })
}

/// The proxy's refusals as [`ConnectError`]s: a refused token is 1045 with the database's message on the first
/// line ([`rds_iam_proxy::rejected_message`]), classified again here into typed causes.
fn from_proxy(connector: &IamConnector, user: &str, err: mysql::Error) -> ConnectError {
    match err {
        mysql::Error::MySqlError(e) => {
            let first = e.message.lines().next().unwrap_or_default();
            connector.classify_server_error(user, e.code, &e.state, first)
        }
        other => ConnectError::Driver(std::sync::Arc::new(other)),
    }
}
