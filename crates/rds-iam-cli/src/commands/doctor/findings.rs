//! What doctor observes, as typed findings: one step per check, each a function from typed inputs (the flags, the
//! time, earlier findings) to a typed result, run in the order a login depends on them. A step whose input is
//! missing says so (no DNS answer: no TCP, no TLS, no login); the token is only sent over TLS the probe verified.
//!
//! Only the steps do I/O. Judging the findings is `checks.rs`'s job, ranking the causes of a refusal `causes.rs`'s.

use std::fmt;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use rds_iam_admin::{DbInfo, DbKind, DbTarget, Policy, RdsAdmin};
use rds_iam_credentials::{CallerIdentity, Credentials, CredentialsError, HttpError, ProvideCredentials, StsCheck};
use rds_iam_mysql::{ConnectError, ServerMessage, TlsProbe};
use rds_iam_token::{DecodedToken, Endpoint, Partition, RegionChoice, RegionSource, TokenRequest};

use super::Inputs;
use crate::context::Context;

/// AWS refuses SigV4 signatures more than 5 minutes off its clock.
const MAX_SKEW: Duration = Duration::from_secs(300);
/// A token's lifetime.
const TOKEN_LIFETIME: Duration = rds_iam_token::MAX_EXPIRES_IN;
/// Limit for each network step (TCP connect, the TLS probe).
const NETWORK_TIMEOUT: Duration = Duration::from_secs(10);

/// What every step found.
pub(super) struct Findings {
    pub(super) credentials: CredentialsFinding,
    pub(super) region: RegionFinding,
    pub(super) clock: ClockFinding,
    pub(super) token: TokenFinding,
    pub(super) dns: DnsFinding,
    pub(super) tcp: TcpFinding,
    pub(super) tls: TlsFinding,
    pub(super) db: DbFinding,
    pub(super) policy: PolicyFinding,
    pub(super) login: LoginFinding,
}

impl Findings {
    /// Runs every step once, in the order a login depends on them. `chain` is the one credential chain every step
    /// signs with (cached: a role or a credential_process runs once). One STS `GetCallerIdentity` serves three
    /// steps: it proves the credentials work, names the principal for the policy, and dates the clock.
    pub(super) fn gather(inputs: &Inputs, ctx: &Context, chain: &Arc<dyn ProvideCredentials>) -> Findings {
        let credentials = credentials(inputs, ctx, chain.as_ref());
        let region = region(inputs, ctx);
        let clock = clock(inputs, &credentials);
        let token = token(inputs, credentials.signer(), region.choice());
        let dns = dns(inputs);
        let tcp = tcp(dns.address());
        let tls = tls(inputs, ctx, tcp.connected());
        let can_sign = credentials.signer().is_some();
        let db = describe(inputs, ctx, chain, region.choice(), can_sign);
        let policy = policy(inputs, &db, &region, credentials.identity());
        let login = login(
            inputs,
            ctx,
            chain,
            region.choice(),
            can_sign,
            tls.verified_bundle(inputs),
        );
        Findings {
            credentials,
            region,
            clock,
            token,
            dns,
            tcp,
            tls,
            db,
            policy,
            login,
        }
    }
}

#[cfg(test)]
impl Findings {
    /// Findings that rule nothing out: offline, no name to sign for, nothing reached.
    pub(super) fn nothing_found() -> Findings {
        Findings {
            credentials: CredentialsFinding::Found {
                credentials: Credentials::new("AKIDEXAMPLE", "secret"),
                expiry: Expiry::Never,
                sts: Sts::Offline,
            },
            region: RegionFinding::NoSigningHost,
            clock: ClockFinding::Offline,
            token: TokenFinding::NotSigned,
            dns: DnsFinding::Resolved(Vec::new()),
            tcp: TcpFinding::NoAddress,
            tls: TlsFinding::NotProbed,
            db: DbFinding::Offline,
            policy: PolicyFinding::NoRegion,
            login: LoginFinding::NoInputs,
        }
    }
}

/// What the credential chain gave, and what STS said about it.
#[allow(
    clippy::large_enum_variant,
    reason = "one value per doctor run: boxing would buy nothing"
)]
pub(super) enum CredentialsFinding {
    /// None found, or the chain failed (its message lists where it looked).
    Missing(CredentialsError),
    Found {
        credentials: Credentials,
        expiry: Expiry,
        sts: Sts,
    },
}

/// When the credentials expire, as of the time doctor runs.
pub(super) enum Expiry {
    /// A long-term access key.
    Never,
    Expired {
        at: std::time::SystemTime,
    },
    /// Within a token's lifetime.
    Soon {
        at: std::time::SystemTime,
        left: Duration,
    },
    Later {
        at: std::time::SystemTime,
        left: Duration,
    },
}

/// STS `GetCallerIdentity` with the credentials.
pub(super) enum Sts {
    /// Not asked (`--offline`).
    Offline,
    /// Not reached.
    Unreachable(HttpError),
    /// STS's answer: the identity or its refusal, and its clock.
    Answered(StsCheck),
}

impl CredentialsFinding {
    /// Where the credentials came from.
    pub(super) fn source(&self) -> &str {
        match self {
            CredentialsFinding::Found { credentials, .. } => credentials.source().unwrap_or("unknown"),
            CredentialsFinding::Missing(_) => "unknown",
        }
    }

    /// STS's answer, when it gave one.
    pub(super) fn sts(&self) -> Option<&StsCheck> {
        match self {
            CredentialsFinding::Found {
                sts: Sts::Answered(answer),
                ..
            } => Some(answer),
            _ => None,
        }
    }

    /// Who the credentials belong to, per STS.
    pub(super) fn identity(&self) -> Option<&CallerIdentity> {
        self.sts().and_then(|answer| answer.identity.as_ref().ok())
    }

    /// STS's refusal of the credentials.
    pub(super) fn refusal(&self) -> Option<&str> {
        self.sts()
            .and_then(|answer| answer.identity.as_ref().err())
            .map(String::as_str)
    }

    /// The credentials to sign with: not expired (expired ones sign nothing that works), or refused by STS, which
    /// may be the clock's doing.
    pub(super) fn signer(&self) -> Option<&Credentials> {
        match self {
            CredentialsFinding::Found {
                expiry: Expiry::Expired { .. },
                ..
            } if self.refusal().is_none() => None,
            CredentialsFinding::Found { credentials, .. } => Some(credentials),
            CredentialsFinding::Missing(_) => None,
        }
    }
}

/// Credentials from the chain, and (unless offline) who they belong to per STS, whose answer also carries the
/// server's clock for the clock step.
fn credentials(inputs: &Inputs, ctx: &Context, chain: &dyn ProvideCredentials) -> CredentialsFinding {
    let credentials = match chain.provide() {
        Ok(credentials) => credentials,
        Err(e) => return CredentialsFinding::Missing(e),
    };
    let expiry = match credentials.expiry() {
        None => Expiry::Never,
        Some(at) => match at.duration_since(inputs.now) {
            Err(_) => Expiry::Expired { at },
            Ok(left) if left < TOKEN_LIFETIME => Expiry::Soon { at, left },
            Ok(left) => Expiry::Later { at, left },
        },
    };
    let sts = if inputs.args.offline {
        Sts::Offline
    } else {
        let config = ctx.provider_config(inputs.target().profile.as_deref());
        match rds_iam_credentials::get_caller_identity(&config, &credentials) {
            Ok(answer) => Sts::Answered(answer),
            Err(e) => Sts::Unreachable(e),
        }
    };
    CredentialsFinding::Found {
        credentials,
        expiry,
        sts,
    }
}

/// The region tokens are signed for, and how it fits the signing host's name.
pub(super) enum RegionFinding {
    /// No name to sign for (`--hostname` is an IP address and there is no `--signing-host`).
    NoSigningHost,
    /// The signing host names no region and none is configured.
    Unknown { signing_host: String },
    /// The configuration could not be read.
    Failed(anyhow::Error),
    Chosen {
        signing_host: String,
        choice: RegionChoice,
        /// Where it came from, as the report says it.
        source: String,
        fit: RegionFit,
    },
}

/// How the region chosen fits the signing host's name.
pub(super) enum RegionFit {
    /// The name is in that region.
    Named,
    /// The name is in another region.
    Mismatch(RegionMismatch),
    /// The name has no region (a custom name, a tunnel's), so the region cannot be checked against it.
    Unnamed,
}

/// A token signed for another region than the signing host's.
#[derive(Debug, Clone)]
pub(super) struct RegionMismatch {
    pub(super) region: String,
    pub(super) source: String,
    pub(super) signing_host: String,
    pub(super) hostname_region: String,
}

impl fmt::Display for RegionMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RegionMismatch {
            region,
            source,
            signing_host,
            hostname_region,
        } = self;
        write!(
            f,
            "the token is signed for {region} (from {source}), but {signing_host} is in {hostname_region}: pass \
             --region {hostname_region} or leave --region out"
        )
    }
}

impl RegionFinding {
    /// The region chosen, right or wrong.
    pub(super) fn choice(&self) -> Option<&RegionChoice> {
        match self {
            RegionFinding::Chosen { choice, .. } => Some(choice),
            _ => None,
        }
    }

    /// The region chosen, when it is not the signing host's.
    pub(super) fn mismatch(&self) -> Option<&RegionMismatch> {
        match self {
            RegionFinding::Chosen {
                fit: RegionFit::Mismatch(mismatch),
                ..
            } => Some(mismatch),
            _ => None,
        }
    }

    /// The DB that confirms a region the signing host's name could not: the RDS API found it in that region.
    pub(super) fn confirmed_by<'a>(&self, db: &'a DbFinding) -> Option<&'a DbInfo> {
        match (self, db.found()) {
            (
                RegionFinding::Chosen {
                    choice,
                    fit: RegionFit::Unnamed,
                    ..
                },
                Some(info),
            ) if info.region == choice.region => Some(info),
            _ => None,
        }
    }

    /// Whether the region could not be checked, neither against the name nor by the RDS API.
    pub(super) fn unconfirmed(&self, db: &DbFinding) -> bool {
        matches!(
            self,
            RegionFinding::Chosen {
                fit: RegionFit::Unnamed,
                ..
            }
        ) && self.confirmed_by(db).is_none()
    }
}

fn region(inputs: &Inputs, ctx: &Context) -> RegionFinding {
    let Some(signing_host) = inputs.signing_host() else {
        return RegionFinding::NoSigningHost;
    };
    let choice = match inputs.target().region(ctx, signing_host) {
        Ok(Some(choice)) => choice,
        Ok(None) => {
            return RegionFinding::Unknown {
                signing_host: signing_host.to_owned(),
            };
        }
        Err(e) => return RegionFinding::Failed(e),
    };
    let source = match &choice.source {
        RegionSource::Explicit => "--region".to_owned(),
        RegionSource::Hostname => "the hostname".to_owned(),
        RegionSource::Configured(from) => from.clone(),
        _ => "elsewhere".to_owned(),
    };
    let fit = match (&choice.hostname_region, Endpoint::parse(signing_host).region()) {
        (Some(hostname_region), _) => RegionFit::Mismatch(RegionMismatch {
            region: choice.region.clone(),
            source: source.clone(),
            signing_host: signing_host.to_owned(),
            hostname_region: hostname_region.clone(),
        }),
        (None, Some(_)) => RegionFit::Named,
        (None, None) => RegionFit::Unnamed,
    };
    RegionFinding::Chosen {
        signing_host: signing_host.to_owned(),
        choice,
        source,
        fit,
    }
}

/// This machine's clock against STS's `Date` header.
pub(super) enum ClockFinding {
    /// Not asked (`--offline`).
    Offline,
    /// STS did not answer (or there were no credentials to ask with).
    NoAnswer,
    /// STS answered without a `Date` header.
    NoDate { endpoint: String },
    Measured {
        skew: Skew,
        server: std::time::SystemTime,
        endpoint: String,
    },
}

/// How far this machine's clock is from AWS's.
#[derive(Debug, Clone, Copy)]
pub(super) struct Skew {
    pub(super) by: Duration,
    pub(super) ahead: bool,
}

impl Skew {
    /// Further off than AWS accepts a signature from (tokens, STS calls).
    pub(super) fn too_far(self) -> bool {
        self.by > MAX_SKEW
    }

    /// `ahead of` or `behind`.
    pub(super) fn direction(self) -> &'static str {
        if self.ahead { "ahead of" } else { "behind" }
    }
}

impl ClockFinding {
    /// The skew, when it was measured.
    pub(super) fn skew(&self) -> Option<Skew> {
        match self {
            ClockFinding::Measured { skew, .. } => Some(*skew),
            _ => None,
        }
    }
}

fn clock(inputs: &Inputs, credentials: &CredentialsFinding) -> ClockFinding {
    if inputs.args.offline {
        return ClockFinding::Offline;
    }
    let Some(sts) = credentials.sts() else {
        return ClockFinding::NoAnswer;
    };
    let Some(server) = sts.server_date else {
        return ClockFinding::NoDate {
            endpoint: sts.endpoint.clone(),
        };
    };
    let (by, ahead) = match inputs.now.duration_since(server) {
        Ok(d) => (d, true),
        Err(e) => (e.duration(), false),
    };
    ClockFinding::Measured {
        skew: Skew { by, ahead },
        server,
        endpoint: sts.endpoint.clone(),
    }
}

/// A token signed as the login would sign it, decoded (the token itself is not kept).
pub(super) enum TokenFinding {
    /// No credentials, region or name to sign for.
    NotSigned,
    Failed(rds_iam_token::Error),
    Signed {
        bytes: usize,
        decoded: Result<DecodedToken, rds_iam_token::Error>,
    },
}

fn token(inputs: &Inputs, signer: Option<&Credentials>, choice: Option<&RegionChoice>) -> TokenFinding {
    let (Some(credentials), Some(choice), Some(host)) = (signer, choice, inputs.signing_host()) else {
        return TokenFinding::NotSigned;
    };
    let signed = TokenRequest::new(host, inputs.signed_port(), &inputs.target().username, &choice.region)
        .and_then(|request| request.sign(credentials, inputs.now));
    match signed {
        Ok(token) => TokenFinding::Signed {
            bytes: token.expose().len(),
            decoded: rds_iam_token::decode(token.expose()),
        },
        Err(e) => TokenFinding::Failed(e),
    }
}

/// `--hostname`'s addresses.
pub(super) enum DnsFinding {
    Resolved(Vec<SocketAddr>),
    Failed(std::io::Error),
}

impl DnsFinding {
    /// The address to connect to: the first IPv4 one, else the first.
    pub(super) fn address(&self) -> Option<SocketAddr> {
        match self {
            DnsFinding::Resolved(addrs) => addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()).copied(),
            DnsFinding::Failed(_) => None,
        }
    }
}

fn dns(inputs: &Inputs) -> DnsFinding {
    match (inputs.target().hostname(), inputs.target().port).to_socket_addrs() {
        Ok(addrs) => DnsFinding::Resolved(addrs.collect()),
        Err(e) => DnsFinding::Failed(e),
    }
}

/// A TCP connection to that address.
pub(super) enum TcpFinding {
    /// No address to connect to.
    NoAddress,
    Connected {
        addr: SocketAddr,
        took: Duration,
    },
    Failed {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

impl TcpFinding {
    /// The address that accepted the connection.
    pub(super) fn connected(&self) -> Option<SocketAddr> {
        match self {
            TcpFinding::Connected { addr, .. } => Some(*addr),
            _ => None,
        }
    }
}

fn tcp(addr: Option<SocketAddr>) -> TcpFinding {
    let Some(addr) = addr else {
        return TcpFinding::NoAddress;
    };
    let started = Instant::now();
    match TcpStream::connect_timeout(&addr, NETWORK_TIMEOUT) {
        Ok(_) => TcpFinding::Connected {
            addr,
            took: started.elapsed(),
        },
        Err(error) => TcpFinding::Failed { addr, error },
    }
}

/// The server's TLS, verified with the CA bundle the login would use, without sending anything secret.
pub(super) enum TlsFinding {
    /// No address that accepted TCP, or no name to check the certificate against.
    NotProbed,
    /// No CA bundle to verify with.
    NoBundle(anyhow::Error),
    /// The probe ended before a verdict on the certificate (not MySQL, no TLS offered, …).
    Failed(ConnectError),
    Probed {
        /// The name the certificate must carry: the signing host.
        server_name: String,
        bundle: PathBuf,
        probe: TlsProbe,
        /// For an RDS Proxy endpoint whose chain was not trusted: which trust was used.
        proxy_trust: Option<ProxyTrust>,
    },
}

/// The trust an RDS Proxy endpoint's untrusted chain was checked against.
pub(super) enum ProxyTrust {
    /// The built-in Amazon Trust Services roots: the chain leads elsewhere.
    AmazonRoots,
    /// Another bundle (`--ca-bundle`, `RDS_IAM_CA_BUNDLE`).
    OtherBundle,
}

impl TlsFinding {
    /// The bundle a token may be sent over TLS with: the chain verified, and the name matched or was waived.
    pub(super) fn verified_bundle(&self, inputs: &Inputs) -> Option<&Path> {
        match self {
            TlsFinding::Probed { bundle, probe, .. }
                if probe.verdict.is_ok() && (probe.waived_name_error.is_none() || inputs.name_waived()) =>
            {
                Some(bundle)
            }
            _ => None,
        }
    }

    /// The signing host, when the chain verified but the certificate is not for it (the name check waived).
    pub(super) fn not_for_signing_host(&self) -> Option<&str> {
        match self {
            TlsFinding::Probed { server_name, probe, .. }
                if probe.verdict.is_ok() && probe.waived_name_error.is_some() =>
            {
                Some(server_name)
            }
            _ => None,
        }
    }
}

fn tls(inputs: &Inputs, ctx: &Context, addr: Option<SocketAddr>) -> TlsFinding {
    let (Some(addr), Some(host)) = (addr, inputs.signing_host()) else {
        return TlsFinding::NotProbed;
    };
    let bundle = match inputs.target().ca_bundle(ctx, host) {
        Ok(bundle) => bundle,
        Err(e) => return TlsFinding::NoBundle(e),
    };
    let probe = match rds_iam_mysql::probe_tls(addr, host, &bundle, inputs.target().tls_check(), NETWORK_TIMEOUT) {
        Ok(probe) => probe,
        Err(e) => return TlsFinding::Failed(e),
    };
    let proxy_trust = match &probe.verdict {
        Err(ConnectError::UntrustedCertificate { .. }) if Endpoint::parse(host).kind().is_proxy() => {
            Some(if crate::target::is_amazon_trust_services(ctx, &bundle) {
                ProxyTrust::AmazonRoots
            } else {
                ProxyTrust::OtherBundle
            })
        }
        _ => None,
    };
    TlsFinding::Probed {
        server_name: host.to_owned(),
        bundle,
        probe,
        proxy_trust,
    }
}

/// The DB as the RDS API describes it.
pub(super) enum DbFinding {
    /// Not asked (`--offline`).
    Offline,
    /// The signing host is not an RDS endpoint name, and neither --db-instance nor --db-cluster was given.
    NotAnRdsName,
    NoRegionOrCredentials,
    /// The credentials may not describe it.
    Denied {
        target: DbTarget,
        error: rds_iam_admin::Error,
    },
    NotFound(rds_iam_admin::Error),
    /// Any other failure (unreachable, throttled, …).
    Failed(rds_iam_admin::Error),
    Found(DbInfo),
}

impl DbFinding {
    /// The DB, when the RDS API described it.
    pub(super) fn found(&self) -> Option<&DbInfo> {
        match self {
            DbFinding::Found(info) => Some(info),
            _ => None,
        }
    }
}

/// IAM database authentication off (or turning on only in the next maintenance window) on a DB.
#[derive(Debug, Clone)]
pub(super) struct IamAuthOff {
    pending: bool,
    kind: DbKind,
    identifier: String,
}

impl IamAuthOff {
    /// The DB's IAM auth, when it does not take IAM logins now.
    pub(super) fn of(info: &DbInfo) -> Option<IamAuthOff> {
        (!info.iam_auth_enabled).then(|| IamAuthOff {
            pending: info.iam_auth_pending == Some(true),
            kind: info.kind,
            identifier: info.identifier.clone(),
        })
    }

    /// The command that turns it on.
    pub(super) fn fix(&self) -> String {
        let id = &self.identifier;
        match self.kind {
            DbKind::Proxy => format!(
                "require IAM in the proxy's auth settings: `aws rds modify-db-proxy --db-proxy-name {id} --auth \
                 …,IAMAuth=REQUIRED`"
            ),
            DbKind::Instance => format!("`rds-iam enable --db-instance {id} --apply-immediately --wait`"),
            _ => format!("`rds-iam enable --db-cluster {id} --apply-immediately --wait`"),
        }
    }
}

impl fmt::Display for IamAuthOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.pending {
            "turning on IAM database authentication is pending (it applies in the next maintenance window)"
        } else {
            "IAM database authentication is off"
        };
        write!(f, "{state} on {} {}", self.kind.as_str(), self.identifier)
    }
}

/// Whether an RDS API error says the caller may not make the call.
fn is_access_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthorizationError"
    )
}

fn describe(
    inputs: &Inputs,
    ctx: &Context,
    chain: &Arc<dyn ProvideCredentials>,
    choice: Option<&RegionChoice>,
    can_sign: bool,
) -> DbFinding {
    if inputs.args.offline {
        return DbFinding::Offline;
    }
    let target = match (&inputs.args.db_instance, &inputs.args.db_cluster, inputs.signing_host()) {
        (Some(id), _, _) => DbTarget::Instance(id.clone()),
        (_, Some(id), _) => DbTarget::Cluster(id.clone()),
        (None, None, Some(host)) if Endpoint::parse(host).is_rds() => DbTarget::Hostname(host.to_owned()),
        _ => return DbFinding::NotAnRdsName,
    };
    let (Some(choice), true) = (choice, can_sign) else {
        return DbFinding::NoRegionOrCredentials;
    };
    // The DB's region: the hostname's when it names one (even if the token is signed for another: that is a
    // finding of the region step, and the DB is still where its name says).
    let region = inputs
        .signing_host()
        .and_then(|host| Endpoint::parse(host).region().map(str::to_owned))
        .unwrap_or_else(|| choice.region.clone());
    let info = RdsAdmin::new(&region, Arc::clone(chain), &ctx.env).and_then(|admin| admin.describe(&target));
    match info {
        Ok(info) => DbFinding::Found(info),
        Err(e) if e.code().is_some_and(is_access_denied) => DbFinding::Denied { target, error: e },
        Err(e @ rds_iam_admin::Error::NotFound(_)) => DbFinding::NotFound(e),
        Err(e) => DbFinding::Failed(e),
    }
}

/// The `rds-db:connect` permission the signing identity needs (IAM cannot be asked whether it has it).
pub(super) enum PolicyFinding {
    /// No region: the resource cannot be named.
    NoRegion,
    /// For the DB the RDS API described.
    Exact(Policy),
    /// What the described DB gives is not a valid policy.
    Invalid(rds_iam_admin::Error),
    /// Without the DB's resource id: its ARN with `RESOURCE_ID` (and `ACCOUNT` when STS did not say).
    Partial { arn: String },
}

impl PolicyFinding {
    /// The `dbuser` ARN the identity needs `rds-db:connect` on, as far as it is known.
    pub(super) fn arn(&self) -> Option<String> {
        match self {
            PolicyFinding::Exact(policy) => Some(policy.resource_arn()),
            PolicyFinding::Partial { arn } => Some(arn.clone()),
            PolicyFinding::NoRegion | PolicyFinding::Invalid(_) => None,
        }
    }
}

fn policy(inputs: &Inputs, db: &DbFinding, region: &RegionFinding, identity: Option<&CallerIdentity>) -> PolicyFinding {
    let user = &inputs.target().username;
    if let Some(db) = db.found() {
        return match Policy::new(db.partition(), &db.region, &db.account, &db.resource_id, user) {
            Ok(policy) => PolicyFinding::Exact(policy),
            Err(e) => PolicyFinding::Invalid(e),
        };
    }
    let Some(choice) = region.choice() else {
        return PolicyFinding::NoRegion;
    };
    let account = identity.map_or("ACCOUNT", |i| i.account.as_str());
    let partition = Partition::from_region(&choice.region);
    PolicyFinding::Partial {
        arn: format!(
            "arn:{}:rds-db:{}:{account}:dbuser:RESOURCE_ID/{user}",
            partition.as_str(),
            choice.region
        ),
    }
}

/// The login itself.
pub(super) enum LoginFinding {
    /// No credentials, region or name to sign for.
    NoInputs,
    /// The TLS probe did not verify the server: the token is not sent.
    NoVerifiedTls,
    /// Through a tunnel the driver checks the certificate against the name dialed, which cannot match.
    NameCannotMatch { signing_host: String },
    /// The server refused the token.
    Refused(ServerMessage),
    /// A classified failure other than a refused token.
    Failed(ConnectError),
    /// Any other failure (the proxy could not start, …).
    Error(anyhow::Error),
    LoggedIn {
        /// `CURRENT_USER()` and `@@version`, when the server answered.
        who: Option<(String, String)>,
        /// `Ssl_version`, when the server answered.
        tls: Option<String>,
    },
}

impl LoginFinding {
    /// Whether the server refused the token: then doctor ranks the causes.
    pub(super) fn refused(&self) -> bool {
        matches!(self, LoginFinding::Refused(_))
    }
}

fn login(
    inputs: &Inputs,
    ctx: &Context,
    chain: &Arc<dyn ProvideCredentials>,
    choice: Option<&RegionChoice>,
    can_sign: bool,
    bundle: Option<&Path>,
) -> LoginFinding {
    let (Some(choice), Some(host), true) = (choice, inputs.signing_host(), can_sign) else {
        return LoginFinding::NoInputs;
    };
    let Some(bundle) = bundle else {
        return LoginFinding::NoVerifiedTls;
    };
    let target = inputs.target();
    if !host.eq_ignore_ascii_case(target.hostname()) && !inputs.name_waived() {
        return LoginFinding::NameCannotMatch {
            signing_host: host.to_owned(),
        };
    }
    let connected = target
        .connector_with(Arc::clone(chain), host, &choice.region, bundle.to_owned())
        .and_then(|connector| crate::target::login(connector, ctx));
    let mut conn = match connected {
        Ok(conn) => conn,
        Err(e) => {
            return match e.downcast::<ConnectError>() {
                Ok(ConnectError::TokenRejected { server, .. }) => LoginFinding::Refused(server),
                Ok(other) => LoginFinding::Failed(other),
                Err(e) => LoginFinding::Error(e),
            };
        }
    };
    let who = conn.query_first("SELECT CURRENT_USER(), @@version").ok().flatten();
    let tls = conn
        .query_first::<(String, String), _>("SHOW SESSION STATUS LIKE 'Ssl_version'")
        .ok()
        .flatten()
        .map(|(_, version)| version);
    LoginFinding::LoggedIn { who, tls }
}
