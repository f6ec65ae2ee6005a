//! `rds-iam doctor`: ordered checks from the credentials to a real login, each PASS / WARN / FAIL / SKIP with its
//! evidence; when the server refuses the token, the likely causes ranked by what the checks found.
//!
//! The checks run in the order a login depends on them. A check whose input is missing is skipped with the reason
//! (no DNS answer: no TCP, no TLS, no login). The token is only sent over TLS the probe verified.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use mysql::prelude::Queryable;
use rds_iam_admin::{DbInfo, DbKind, DbTarget, Policy, RdsAdmin};
use rds_iam_credentials::{CallerIdentity, Credentials, DefaultChain, ProvideCredentials};
use rds_iam_mysql::{ConnectError, TlsProbe};
use rds_iam_token::{Endpoint, EndpointKind, Partition, RegionChoice, RegionSource, TokenRequest};
use serde::Serialize;

use crate::commands::{Output, human, print_out, rfc3339};
use crate::context::Context;
use crate::target::TargetArgs;

/// AWS refuses SigV4 signatures more than 5 minutes off its clock.
const MAX_SKEW: Duration = Duration::from_secs(300);
/// Skew worth a warning: NTP keeps clocks within milliseconds.
const WARN_SKEW: Duration = Duration::from_secs(60);
/// A token's lifetime.
const TOKEN_LIFETIME: Duration = Duration::from_secs(900);
/// MySQL's port, and RDS's default.
const DEFAULT_PORT: u16 = 3306;
/// Limit for each network step (TCP connect, the TLS probe).
const NETWORK_TIMEOUT: Duration = Duration::from_secs(10);

/// `rds-iam doctor`.
#[derive(Debug, Args)]
#[command(after_help = "\
Checks, in order: credentials, region, clock, token, DNS, TCP, TLS, RDS API (IAM auth and resource id), policy, \
login. Exit code: 0 when no check failed (warnings allowed), 1 when one did.")]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    target: TargetArgs,

    /// The DB instance to look up in the RDS API, when --hostname is not an RDS endpoint name (tunnel, CNAME, IP).
    #[arg(long, value_name = "ID", conflicts_with = "db_cluster")]
    db_instance: Option<String>,

    /// The Aurora DB cluster to look up in the RDS API, when --hostname is not an RDS endpoint name.
    #[arg(long, value_name = "ID")]
    db_cluster: Option<String>,

    /// Make no AWS API calls (STS GetCallerIdentity for the identity and the clock, RDS Describe*): those checks
    /// are skipped.
    #[arg(long)]
    offline: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
    /// Not a verdict: what doctor can determine but not check (the policy the identity needs).
    Info,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
            Status::Info => "INFO",
        }
    }
}

/// One check: what it found, and the evidence.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    name: &'static str,
    status: Status,
    summary: String,
    evidence: Vec<String>,
}

impl Check {
    /// A check; a summary of several lines (an error listing every place it looked) keeps its first line, the
    /// others become evidence.
    fn new(name: &'static str, status: Status, summary: impl Into<String>) -> Check {
        let summary: String = summary.into();
        let mut lines = summary.lines().map(str::trim_end).filter(|l| !l.trim().is_empty());
        Check {
            name,
            status,
            summary: lines.next().unwrap_or_default().to_owned(),
            evidence: lines.map(|l| l.trim().to_owned()).collect(),
        }
    }

    fn with(mut self, evidence: impl Into<String>) -> Check {
        self.evidence.push(evidence.into());
        self
    }
}

/// The whole report.
#[derive(Debug, Serialize)]
struct Report {
    hostname: String,
    port: u16,
    username: String,
    checks: Vec<Check>,
    /// On a refused login: the likely causes, most likely first.
    causes: Vec<String>,
    ok: bool,
}

/// What the checks learned, for later checks and for ranking causes.
#[derive(Default)]
struct Findings {
    credentials: Option<Credentials>,
    credentials_problem: Option<String>,
    sts_refused: bool,
    identity: Option<CallerIdentity>,
    region: Option<RegionChoice>,
    region_wrong: Option<String>,
    region_unconfirmed: bool,
    region_source: String,
    skew: Option<(Duration, bool)>,
    addr: Option<SocketAddr>,
    tcp_ok: bool,
    tls_ok: bool,
    /// The CA bundle the TLS check used (the login uses the same one).
    bundle: Option<PathBuf>,
    tls_name_waived: Option<String>,
    db: Option<DbInfo>,
    db_not_found: bool,
    iam_auth_off: Option<String>,
    policy_arn: Option<String>,
}

pub(crate) fn run(args: DoctorArgs, ctx: &Context) -> anyhow::Result<std::process::ExitCode> {
    let target = &args.target;
    let mut f = Findings::default();
    let mut checks = Vec::new();

    let signing_host = target.signing_host();
    // One chain, cached, for every check that signs: a role or a credential_process runs once.
    let chain: Arc<dyn ProvideCredentials> =
        Arc::new(DefaultChain::cached(ctx.provider_config(target.profile.as_deref())));
    let (credentials, sts) = check_credentials(&args, ctx, &chain, &mut f);
    checks.push(credentials);
    let region_index = checks.len();
    checks.push(check_region(&args, ctx, signing_host.as_deref().ok(), &mut f));
    checks.push(check_clock(&args, ctx, sts.as_ref(), &mut f));
    if f.sts_refused
        && let Some((skew, _)) = f.skew
        && skew > MAX_SKEW
    {
        // STS refuses signatures from a clock this far off: the credentials may be fine.
        f.credentials_problem = None;
        checks[0].status = Status::Warn;
        checks[0]
            .evidence
            .push("the refusal is likely the clock's doing (see clock): STS rejects skewed signatures".to_owned());
    }
    checks.push(check_token(&args, ctx, signing_host.as_deref().ok(), &f));
    checks.push(check_dns(&args, &mut f));
    checks.push(check_tcp(&args, &mut f));
    checks.push(check_tls(&args, ctx, signing_host.as_deref().ok(), &mut f));
    checks.push(check_api(&args, ctx, &chain, signing_host.as_deref().ok(), &mut f));
    if f.region_unconfirmed
        && let (Some(db), Some(choice)) = (&f.db, &f.region)
        && db.region == choice.region
    {
        f.region_unconfirmed = false;
        checks[region_index] = Check::new(
            "region",
            Status::Pass,
            format!(
                "{}, from {}; the RDS API confirms {} is there",
                db.region, f.region_source, db.identifier
            ),
        );
    }
    checks.push(check_policy(&args, &mut f));
    let (login, rejected) = check_login(&args, ctx, chain, signing_host.as_deref().ok(), &f);
    checks.push(login);
    let causes = if rejected { rank_causes(&args, &f) } else { Vec::new() };

    let ok = checks.iter().all(|c| c.status != Status::Fail);
    let report = Report {
        hostname: target.hostname.clone(),
        port: target.port,
        username: target.username.clone(),
        checks,
        causes,
        ok,
    };
    match args.output {
        Output::Json => print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
        Output::Text => print_out(&render(&report))?,
    }
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// Credentials from the chain, and (unless offline) who they belong to per STS, whose answer also carries the
/// server's clock for the next check.
fn check_credentials(
    args: &DoctorArgs,
    ctx: &Context,
    chain: &Arc<dyn ProvideCredentials>,
    f: &mut Findings,
) -> (Check, Option<rds_iam_credentials::StsCheck>) {
    const NAME: &str = "credentials";
    let config = ctx.provider_config(args.target.profile.as_deref());
    let creds = match chain.provide() {
        Ok(creds) => creds,
        Err(e) => {
            let problem = format!("{e}");
            f.credentials_problem = Some(problem.clone());
            return (Check::new(NAME, Status::Fail, problem), None);
        }
    };
    let source = creds.source().unwrap_or("unknown").to_owned();
    let mut status = Status::Pass;
    let expiry = match creds.expiry() {
        None => "long-term access key (no expiry)".to_owned(),
        Some(at) => match at.duration_since(ctx.now) {
            Err(_) => {
                status = Status::Fail;
                f.credentials_problem = Some(format!("the credentials from {source} expired at {}", rfc3339(at)));
                format!("expired at {}: nothing can be signed with them", rfc3339(at))
            }
            Ok(left) if left < TOKEN_LIFETIME => {
                status = Status::Warn;
                format!(
                    "expire in {} (at {}): less than a token's 15 minutes, and a token stops working when the \
                     credentials that signed it expire",
                    human(left),
                    rfc3339(at)
                )
            }
            Ok(left) => format!("expire in {} (at {})", human(left), rfc3339(at)),
        },
    };
    let mut check = Check::new(NAME, status, format!("from {source}; {expiry}"))
        .with(format!("access key id {}", creds.access_key_id()))
        .with(format!(
            "session token: {}",
            if creds.session_token().is_some() { "yes" } else { "no" }
        ));
    let sts = if args.offline {
        check = check.with("identity not checked (--offline)");
        None
    } else {
        match rds_iam_credentials::get_caller_identity(&config, &creds) {
            Ok(answer) => {
                match &answer.identity {
                    Ok(identity) => {
                        check = check.with(format!(
                            "STS GetCallerIdentity: {} (account {})",
                            identity.arn, identity.account
                        ));
                        f.identity = Some(identity.clone());
                    }
                    Err(refusal) => {
                        f.sts_refused = true;
                        check.status = Status::Fail;
                        check.summary = format!("the credentials from {source} do not work: {refusal}");
                        f.credentials_problem = Some(format!("STS refused the credentials from {source}: {refusal}"));
                    }
                }
                Some(answer)
            }
            Err(e) => {
                check = check.with(format!("identity not checked: {e}"));
                None
            }
        }
    };
    if check.status != Status::Fail || f.sts_refused {
        // Expired credentials sign nothing that works; refused ones may be the clock's doing (see run).
        f.credentials = Some(creds);
    }
    (check, sts)
}

fn check_region(args: &DoctorArgs, ctx: &Context, signing_host: Option<&str>, f: &mut Findings) -> Check {
    const NAME: &str = "region";
    let Some(signing_host) = signing_host else {
        return Check::new(NAME, Status::Fail, "no name to sign for: pass --signing-host ENDPOINT");
    };
    let choice = match args.target.region(ctx, signing_host) {
        Ok(Some(choice)) => choice,
        Ok(None) => {
            return Check::new(
                NAME,
                Status::Fail,
                format!("no region: {signing_host} does not name one and none is configured; pass --region"),
            );
        }
        Err(e) => return Check::new(NAME, Status::Fail, format!("{e:#}")),
    };
    let region = choice.region.clone();
    let source = match &choice.source {
        RegionSource::Explicit => "--region".to_owned(),
        RegionSource::Hostname => "the hostname".to_owned(),
        RegionSource::Configured(from) => from.clone(),
        _ => "elsewhere".to_owned(),
    };
    f.region_source = source.clone();
    let check = match (&choice.hostname_region, Endpoint::parse(signing_host).region()) {
        (Some(hostname_region), _) => {
            let wrong = format!(
                "the token is signed for {region} (from {source}), but {signing_host} is in {hostname_region}: pass \
                 --region {hostname_region} or leave --region out"
            );
            f.region_wrong = Some(wrong.clone());
            Check::new(NAME, Status::Fail, wrong)
        }
        (None, Some(_)) => Check::new(NAME, Status::Pass, format!("{region}, from {source}"))
            .with(format!("{signing_host} names {region}")),
        (None, None) => {
            f.region_unconfirmed = true;
            Check::new(
                NAME,
                Status::Warn,
                format!(
                    "{region}, from {source}: {signing_host} does not name a region, so it cannot be checked against \
                     the endpoint"
                ),
            )
            .with("a token signed for another region than the DB's is refused")
        }
    };
    f.region = Some(choice);
    check
}

fn check_clock(
    args: &DoctorArgs,
    ctx: &Context,
    sts: Option<&rds_iam_credentials::StsCheck>,
    f: &mut Findings,
) -> Check {
    const NAME: &str = "clock";
    if args.offline {
        return Check::new(NAME, Status::Skip, "not checked (--offline)");
    }
    let Some(sts) = sts else {
        return Check::new(NAME, Status::Skip, "not checked: STS did not answer (see credentials)");
    };
    let Some(server) = sts.server_date else {
        return Check::new(
            NAME,
            Status::Warn,
            format!("{} sent no Date header to compare with", sts.endpoint),
        );
    };
    let (skew, ahead) = match ctx.now.duration_since(server) {
        Ok(d) => (d, true),
        Err(e) => (e.duration(), false),
    };
    // The Date header has whole seconds.
    let relation = if skew < Duration::from_secs(2) {
        "in step with".to_owned()
    } else {
        format!("{} {}", human(skew), if ahead { "ahead of" } else { "behind" })
    };
    let evidence = format!(
        "here: {}; {}: {} (Date header)",
        rfc3339(ctx.now),
        sts.endpoint,
        rfc3339(server)
    );
    f.skew = Some((skew, ahead));
    let (status, advice) = if skew > MAX_SKEW {
        (
            Status::Fail,
            ": tokens are refused when the clock is more than 5 minutes off; sync it (chrony, systemd-timesyncd, NTP)",
        )
    } else if skew > WARN_SKEW {
        (Status::Warn, ": sync it before it drifts past 5 minutes")
    } else {
        (Status::Pass, "")
    };
    let summary = format!("this machine's clock is {relation} AWS's{advice}");
    Check::new(NAME, status, summary).with(evidence)
}

fn check_token(args: &DoctorArgs, ctx: &Context, signing_host: Option<&str>, f: &Findings) -> Check {
    const NAME: &str = "token";
    let (Some(creds), Some(choice), Some(host)) = (&f.credentials, &f.region, signing_host) else {
        return Check::new(
            NAME,
            Status::Skip,
            "not signed: no credentials, region or name to sign for",
        );
    };
    let signed = TokenRequest::new(
        host,
        args.target.signing_port.unwrap_or(args.target.port),
        &args.target.username,
        &choice.region,
    )
    .and_then(|request| request.sign(creds, ctx.now));
    let token = match signed {
        Ok(token) => token,
        Err(e) => return Check::new(NAME, Status::Fail, format!("could not sign: {e}")),
    };
    match rds_iam_token::decode(token.expose()) {
        Ok(decoded) => Check::new(
            NAME,
            Status::Pass,
            format!(
                "signed for {}:{} as {} in {}, valid {} from {}",
                decoded.host,
                decoded.port,
                decoded.user,
                decoded.region,
                human(decoded.expires_in),
                rfc3339(decoded.signed_at)
            ),
        )
        .with(format!(
            "{} bytes; key id {}; session token {}",
            token.expose().len(),
            decoded.access_key_id,
            if decoded.has_session_token { "included" } else { "none" }
        )),
        Err(e) => Check::new(NAME, Status::Fail, format!("the signed token does not decode: {e}")),
    }
}

fn check_dns(args: &DoctorArgs, f: &mut Findings) -> Check {
    const NAME: &str = "dns";
    let host = &args.target.hostname;
    match (host.as_str(), args.target.port).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            let Some(first) = addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()).copied() else {
                return Check::new(NAME, Status::Fail, format!("{host} has no address"));
            };
            f.addr = Some(first);
            let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            Check::new(NAME, Status::Pass, format!("{host} → {}", list.join(", ")))
        }
        Err(e) => Check::new(
            NAME,
            Status::Fail,
            format!(
                "cannot resolve {host}: {e}; check the name (`rds-iam describe`), and from outside the VPC that the \
                 DB is publicly accessible or that you are on its network (VPN, peering)"
            ),
        ),
    }
}

fn check_tcp(args: &DoctorArgs, f: &mut Findings) -> Check {
    const NAME: &str = "tcp";
    let Some(addr) = f.addr else {
        return Check::new(NAME, Status::Skip, "no address to connect to (see dns)");
    };
    let started = Instant::now();
    match TcpStream::connect_timeout(&addr, NETWORK_TIMEOUT) {
        Ok(_) => {
            f.tcp_ok = true;
            Check::new(
                NAME,
                Status::Pass,
                format!("connected to {addr} in {} ms", started.elapsed().as_millis()),
            )
        }
        Err(e) => Check::new(
            NAME,
            Status::Fail,
            format!(
                "cannot connect to {addr}: {e}; {}",
                if args.target.signing_host.is_some() {
                    format!("is the tunnel running and listening on port {}?", args.target.port)
                } else {
                    format!(
                        "check the port ({}), the DB's security group (inbound TCP {} from here), network ACLs and \
                         routes",
                        args.target.port, args.target.port
                    )
                }
            ),
        ),
    }
}

fn check_tls(args: &DoctorArgs, ctx: &Context, signing_host: Option<&str>, f: &mut Findings) -> Check {
    const NAME: &str = "tls";
    let (Some(addr), true, Some(host)) = (f.addr, f.tcp_ok, signing_host) else {
        return Check::new(NAME, Status::Skip, "nothing to connect to (see dns, tcp, region)");
    };
    let bundle = match args.target.ca_bundle(ctx, host) {
        Ok(bundle) => bundle,
        Err(e) => return Check::new(NAME, Status::Fail, format!("{e:#}")),
    };
    let skip_name = args.target.danger_skip_hostname_check;
    let probe = match rds_iam_mysql::probe_tls(addr, host, &bundle, skip_name, NETWORK_TIMEOUT) {
        Ok(probe) => probe,
        Err(e) => return Check::new(NAME, Status::Fail, crate::advice::explain(&e)),
    };
    f.bundle = Some(bundle.clone());
    let mut check = match &probe.verdict {
        Ok(()) if probe.waived_name_error.is_some() => {
            f.tls_name_waived = Some(host.to_owned());
            Check::new(
                NAME,
                Status::Warn,
                format!(
                    "chain verified with {}, but the certificate is not valid for {host} (name check waived by \
                     --danger-skip-hostname-check)",
                    bundle.display()
                ),
            )
        }
        Ok(()) => {
            f.tls_ok = true;
            Check::new(
                NAME,
                Status::Pass,
                format!(
                    "{} {}: chain verified with {}, certificate valid for {host}",
                    probe.protocol.as_deref().unwrap_or("TLS"),
                    probe.cipher_suite.as_deref().unwrap_or_default(),
                    bundle.display()
                ),
            )
        }
        Err(e @ ConnectError::UntrustedCertificate { .. }) if Endpoint::parse(host).kind().is_proxy() => {
            let hint = if crate::target::is_amazon_trust_services(ctx, &bundle) {
                "RDS Proxy endpoints present certificates from Amazon Trust Services (Amazon Root CA 1–4), and this \
                 chain leads to none of them: something between you and the proxy presents its own certificate (a \
                 TLS-inspecting proxy?)"
            } else {
                "RDS Proxy endpoints present certificates from Amazon Trust Services (Amazon Root CA 1–4), not the RDS \
                 CA: leave out --ca-bundle (and RDS_IAM_CA_BUNDLE) to trust the built-in Amazon roots, or pass \
                 `--ca-bundle \"$(rds-iam ca path --proxy)\"`"
            };
            Check::new(NAME, Status::Fail, crate::advice::explain(e)).with(hint)
        }
        Err(e) => Check::new(NAME, Status::Fail, crate::advice::explain(e)),
    };
    if probe.verdict.is_ok() && skip_name {
        f.tls_ok = true;
    }
    check.evidence.extend(certificate_evidence(&probe, ctx.now));
    check
}

fn certificate_evidence(probe: &TlsProbe, now: SystemTime) -> Vec<String> {
    let mut lines = vec![format!("server: {}", probe.server_version)];
    for (i, der) in probe.chain.iter().enumerate() {
        let Some(cert) = rds_iam_ca::describe_server_certificate(der) else {
            lines.push(format!("certificate {i}: unreadable"));
            continue;
        };
        let validity = if cert.not_after < now {
            format!("EXPIRED {}", rfc3339(cert.not_after))
        } else if cert.not_before > now {
            format!("NOT YET VALID until {}", rfc3339(cert.not_before))
        } else {
            format!("valid until {}", rfc3339(cert.not_after))
        };
        let names = if cert.names.is_empty() {
            String::new()
        } else {
            format!("; names {}", cert.names.join(", "))
        };
        lines.push(format!(
            "certificate {i}: {} issued by {}; {validity}{names}",
            cert.subject, cert.issuer
        ));
    }
    lines
}

fn check_api(
    args: &DoctorArgs,
    ctx: &Context,
    chain: &Arc<dyn ProvideCredentials>,
    signing_host: Option<&str>,
    f: &mut Findings,
) -> Check {
    const NAME: &str = "rds-api";
    if args.offline {
        return Check::new(NAME, Status::Skip, "not checked (--offline)");
    }
    let target = match (&args.db_instance, &args.db_cluster, signing_host) {
        (Some(id), _, _) => DbTarget::Instance(id.clone()),
        (_, Some(id), _) => DbTarget::Cluster(id.clone()),
        (None, None, Some(host)) if Endpoint::parse(host).is_rds() => DbTarget::Hostname(host.to_owned()),
        _ => {
            return Check::new(
                NAME,
                Status::Skip,
                "not checked: the hostname is not an RDS endpoint name; pass --db-instance or --db-cluster",
            );
        }
    };
    let (Some(choice), Some(_)) = (&f.region, &f.credentials) else {
        return Check::new(NAME, Status::Skip, "not checked: no region or credentials");
    };
    // The DB's region: the hostname's when it names one (even if the token is signed for another: that is a
    // finding of the region check, and the DB is still where its name says).
    let region = signing_host
        .and_then(|host| Endpoint::parse(host).region().map(str::to_owned))
        .unwrap_or_else(|| choice.region.clone());
    let info = RdsAdmin::new(&region, Arc::clone(chain), &ctx.env).and_then(|admin| admin.describe(&target));
    let info = match info {
        Ok(info) => info,
        Err(e) if e.code().is_some_and(is_access_denied) => {
            return Check::new(
                NAME,
                Status::Skip,
                format!("not permitted to describe {target} ({e}); IAM auth and the resource id are unchecked"),
            )
            .with("grant rds:DescribeDBInstances / rds:DescribeDBClusters to check them");
        }
        Err(e @ rds_iam_admin::Error::NotFound(_)) => {
            f.db_not_found = true;
            return Check::new(NAME, Status::Fail, e.to_string());
        }
        Err(e) => return Check::new(NAME, Status::Warn, format!("could not check: {e}")),
    };
    let engine = match &info.engine_version {
        Some(version) => format!("{} {version}", info.engine),
        None => info.engine.clone(),
    };
    let described = format!(
        "{} {} ({engine}, {}), resource id {}, account {}, region {}",
        info.kind.as_str(),
        info.identifier,
        info.status,
        info.resource_id,
        info.account,
        info.region
    );
    let (status, summary) = match (info.iam_auth_enabled, info.iam_auth_pending) {
        (true, None | Some(true)) => (Status::Pass, format!("IAM database authentication is on: {described}")),
        (true, Some(false)) => (
            Status::Warn,
            format!(
                "IAM database authentication is on, but turning it off is pending (it applies in the next maintenance \
                 window): {described}"
            ),
        ),
        (false, pending) => {
            let flag = if pending == Some(true) {
                "turning on IAM database authentication is pending (it applies in the next maintenance window)"
            } else {
                "IAM database authentication is off"
            };
            let fix = match info.kind {
                DbKind::Proxy => format!(
                    "require IAM in the proxy's auth settings: `aws rds modify-db-proxy --db-proxy-name {} --auth \
                     …,IAMAuth=REQUIRED`",
                    info.identifier
                ),
                DbKind::Instance => format!(
                    "`rds-iam enable --db-instance {} --apply-immediately --wait`",
                    info.identifier
                ),
                _ => format!(
                    "`rds-iam enable --db-cluster {} --apply-immediately --wait`",
                    info.identifier
                ),
            };
            let off = format!("{flag} on {} {}", info.kind.as_str(), info.identifier);
            f.iam_auth_off = Some(format!("{off}: {fix}"));
            (Status::Fail, format!("{off}; {fix}"))
        }
    };
    let mut check = Check::new(NAME, status, summary);
    if status == Status::Fail {
        check = check.with(described);
    }
    if info.status != "available" {
        check = check.with(format!(
            "status `{}`: IAM logins work while the DB is up, but changes wait until it is `available`",
            info.status
        ));
    }
    let signed_port = args.target.signing_port.unwrap_or(args.target.port);
    if let Some(db_port) = info.port
        && db_port != signed_port
    {
        if check.status == Status::Pass {
            check.status = Status::Warn;
        }
        check.evidence.push(format!(
            "the DB listens on port {db_port}, but the token is signed for {signed_port} (--signing-port {db_port})"
        ));
    }
    // An explicit --db-instance must be the DB the token is signed for.
    if let (Some(host), Some(endpoint)) = (signing_host, &info.endpoint)
        && args.db_instance.is_some()
        && Endpoint::parse(host).kind() == EndpointKind::Instance
        && !endpoint.eq_ignore_ascii_case(host)
    {
        if check.status == Status::Pass {
            check.status = Status::Warn;
        }
        check.evidence.push(format!(
            "{} is {endpoint}, but the token is signed for {host}: is --db-instance the right DB?",
            info.identifier
        ));
    }
    let supported = matches!(info.engine.as_str(), "mysql" | "mariadb" | "aurora-mysql" | "MYSQL");
    f.db = Some(info);
    if supported {
        check
    } else {
        check.status = Status::Fail;
        check.summary = format!("{}; rds-iam logs in to MySQL and MariaDB engines only", check.summary);
        check
    }
}

fn is_access_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthorizationError"
    )
}

fn check_policy(args: &DoctorArgs, f: &mut Findings) -> Check {
    const NAME: &str = "policy";
    let user = &args.target.username;
    let who = f
        .identity
        .as_ref()
        .map_or_else(|| "the identity that signs".to_owned(), |i| i.arn.clone());
    if let Some(db) = &f.db {
        return match Policy::new(db.partition(), &db.region, &db.account, &db.resource_id, user) {
            Ok(policy) => {
                let arn = policy.resource_arn();
                f.policy_arn = Some(arn.clone());
                Check::new(NAME, Status::Info, format!("{who} needs rds-db:connect on {arn}"))
                    .with(policy.to_json())
                    .with("IAM cannot be asked whether it is attached; `rds-iam policy` prints it with the command to attach it")
            }
            Err(e) => Check::new(NAME, Status::Warn, e.to_string()),
        };
    }
    let Some(choice) = &f.region else {
        return Check::new(NAME, Status::Skip, "unknown: no region");
    };
    let account = f.identity.as_ref().map_or("ACCOUNT", |i| i.account.as_str());
    let partition = Partition::from_region(&choice.region);
    let arn = format!(
        "arn:{}:rds-db:{}:{account}:dbuser:RESOURCE_ID/{user}",
        partition.as_str(),
        choice.region
    );
    f.policy_arn = Some(arn.clone());
    Check::new(
        NAME,
        Status::Info,
        format!("{who} needs rds-db:connect on {arn}; the resource id (db-…, cluster-…) is unknown here"),
    )
    .with("`rds-iam describe` shows the resource id; `rds-iam policy` prints the policy")
}

/// The login, and whether the server refused the token.
fn check_login(
    args: &DoctorArgs,
    ctx: &Context,
    chain: Arc<dyn ProvideCredentials>,
    signing_host: Option<&str>,
    f: &Findings,
) -> (Check, bool) {
    const NAME: &str = "login";
    let (Some(choice), Some(host), Some(_)) = (&f.region, signing_host, &f.credentials) else {
        return (
            Check::new(
                NAME,
                Status::Skip,
                "not attempted: no credentials, region or name to sign for",
            ),
            false,
        );
    };
    let (true, Some(bundle)) = (f.tls_ok, &f.bundle) else {
        return (
            Check::new(
                NAME,
                Status::Skip,
                "not attempted: the token is only sent over TLS verified with the CA bundle (see tls)",
            ),
            false,
        );
    };
    if !host.eq_ignore_ascii_case(&args.target.hostname) && !args.target.danger_skip_hostname_check {
        return (
            Check::new(
                NAME,
                Status::Fail,
                format!(
                    "not attempted: the MySQL driver checks the certificate against the name dialed ({}), which \
                     cannot match through a tunnel; pass --danger-skip-hostname-check (the tls check verifies the \
                     certificate against {host})",
                    args.target.hostname
                ),
            ),
            false,
        );
    }
    let connected = args
        .target
        .connector_with(chain, host, &choice.region, bundle.clone())
        .and_then(|connector| crate::target::login(connector, ctx));
    let mut conn = match connected {
        Ok(conn) => conn,
        Err(e) => {
            let (summary, rejected) = match e.downcast_ref::<ConnectError>() {
                Some(ConnectError::TokenRejected { server, .. }) => {
                    (format!("the server refused the token: {server}"), true)
                }
                Some(other) => (crate::advice::explain(other), false),
                None => (format!("{e:#}"), false),
            };
            return (Check::new(NAME, Status::Fail, summary), rejected);
        }
    };
    let who: Option<(String, String)> = conn.query_first("SELECT CURRENT_USER(), @@version").ok().flatten();
    let tls: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_version'")
        .ok()
        .flatten();
    let (user, version) = who.unwrap_or_else(|| (args.target.username.clone(), "?".to_owned()));
    let tls = tls.map_or_else(|| "TLS".to_owned(), |(_, v)| v);
    (
        Check::new(NAME, Status::Pass, format!("logged in as {user} over {tls}")).with(format!("server {version}")),
        false,
    )
}

/// The likely causes of a refused token, most likely first: what the checks found, then the usual causes they did
/// not rule out.
fn rank_causes(args: &DoctorArgs, f: &Findings) -> Vec<String> {
    let user = &args.target.username;
    let mut causes = Vec::new();
    if let Some(wrong) = &f.region_wrong {
        causes.push(format!("wrong region: {wrong}"));
    }
    if let Some((skew, ahead)) = f.skew
        && skew > MAX_SKEW
    {
        causes.push(format!(
            "clock: this machine is {} {} AWS, so the token's signing time is outside the 5-minute window; sync the clock",
            human(skew),
            if ahead { "ahead of" } else { "behind" }
        ));
    }
    if let Some(problem) = &f.credentials_problem {
        causes.push(format!("credentials: {problem}"));
    }
    if let Some(off) = &f.iam_auth_off {
        causes.push(format!("IAM auth: {off}"));
    }
    if let Some(db_port) = f.db.as_ref().and_then(|db| db.port)
        && db_port != args.target.signing_port.unwrap_or(args.target.port)
    {
        causes.push(format!(
            "the port: the token is signed for port {}, but the DB listens on {db_port}: pass --signing-port {db_port}",
            args.target.signing_port.unwrap_or(args.target.port)
        ));
    }
    if let Some(host) = &f.tls_name_waived {
        causes.push(format!(
            "the signing host: the server's certificate is not for {host}, so the token is probably signed for the \
             wrong name; sign for the DB's endpoint name (--signing-host)"
        ));
    }
    if f.db_not_found {
        causes.push("the DB was not found with the RDS API in this region and account (see rds-api)".to_owned());
    }
    // The usual causes the checks could not see, most common first.
    causes.push(format!(
        "the DB user: `{user}` does not exist or was not created for IAM; as the master user check `SELECT user, \
         host, plugin FROM mysql.user WHERE user = '{user}'` (plugin AWSAuthenticationPlugin), and create it: `rds-iam create-user --username {user}` prints the SQL, \
         `--execute --hostname ENDPOINT --master-user MASTER_USER` runs it"
    ));
    let arn = f
        .policy_arn
        .as_deref()
        .unwrap_or("arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/USER");
    let who = f.identity.as_ref().map_or("the signing identity", |i| i.arn.as_str());
    causes.push(format!(
        "the policy: {who} lacks rds-db:connect on {arn} (the resource id, not the DB's name; `rds-iam policy`)"
    ));
    if f.db.is_none() && f.iam_auth_off.is_none() {
        causes.push(
            "IAM database authentication is not enabled on the DB (not checked: see rds-api; `rds-iam describe`)"
                .to_owned(),
        );
    }
    if f.region_unconfirmed && f.region_wrong.is_none() {
        causes.push("the region could not be confirmed from the hostname: sign for the DB's region (--region)".into());
    }
    let signed_port = args.target.signing_port.unwrap_or(args.target.port);
    let tunnel = args.target.signing_host.is_some() || args.target.signing_port.is_some();
    if f.db.as_ref().and_then(|db| db.port).is_none() && tunnel && signed_port != DEFAULT_PORT {
        causes.push(format!(
            "the port: the token is signed for port {signed_port}; through a tunnel it must name the DB's own port \
             (--signing-port, usually {DEFAULT_PORT})"
        ));
    }
    if f.skew.is_none() {
        causes.push(
            "clock or expiry: this machine's clock is off by more than 5 minutes, or the credentials expired (the \
             clock was not checked)"
                .to_owned(),
        );
    }
    causes
}

fn render(report: &Report) -> String {
    let mut out = format!(
        "rds-iam doctor: {}:{} as {}\n\n",
        report.hostname, report.port, report.username
    );
    for (i, check) in report.checks.iter().enumerate() {
        out.push_str(&format!(
            "{:>2}. {} {:<12}{}\n",
            i + 1,
            check.status.label(),
            check.name,
            check.summary
        ));
        for line in &check.evidence {
            out.push_str(&format!("{:22}{line}\n", ""));
        }
    }
    if !report.causes.is_empty() {
        out.push_str("\nThe server refused the token. Likely causes, most likely first:\n");
        for (i, cause) in report.causes.iter().enumerate() {
            out.push_str(&format!("{:>2}. {cause}\n", i + 1));
        }
    }
    let failed = report.checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = report.checks.iter().filter(|c| c.status == Status::Warn).count();
    out.push_str(&match (failed, warned) {
        (0, 0) => "\nAll checks passed.\n".to_owned(),
        (0, w) => format!("\nNo check failed; {w} warning{}.\n", if w == 1 { "" } else { "s" }),
        (n, _) => format!("\n{n} check{} failed.\n", if n == 1 { "" } else { "s" }),
    });
    out
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        doctor: DoctorArgs,
    }

    fn args_of(extra: &[&str]) -> DoctorArgs {
        let base = [
            "doctor",
            "--hostname",
            "db.c1.eu-west-1.rds.amazonaws.com",
            "--username",
            "app",
        ];
        Cli::parse_from(base.iter().chain(extra)).doctor
    }

    #[test]
    fn causes_put_findings_first_and_drop_what_the_checks_ruled_out() {
        let args = args_of(&[]);
        // Nothing found: the user first, then the policy; IAM auth, region and clock were not checked.
        let unknown = rank_causes(&args, &Findings::default());
        assert!(unknown[0].starts_with("the DB user: `app`"), "{unknown:?}");
        assert!(unknown[1].starts_with("the policy:"), "{unknown:?}");
        assert!(unknown.iter().any(|c| c.starts_with("IAM database authentication")));
        assert!(unknown.iter().any(|c| c.starts_with("clock or expiry")));

        // A skewed clock and a wrong region come first, in that order; a clock in step is not a cause.
        let findings = Findings {
            region_wrong: Some("signed for us-east-1".into()),
            skew: Some((Duration::from_secs(1200), false)),
            ..Findings::default()
        };
        let found = rank_causes(&args, &findings);
        assert!(found[0].starts_with("wrong region") && found[1].starts_with("clock: this machine is 20m 0s behind"));
        let in_step = Findings {
            skew: Some((Duration::from_secs(1), true)),
            ..Findings::default()
        };
        assert!(!rank_causes(&args, &in_step).iter().any(|c| c.starts_with("clock")));

        // A tunnel on a local port without --signing-port: the port is a cause; with it, not.
        let tunnel = ["--port", "13306", "--signing-host", "db.c1.eu-west-1.rds.amazonaws.com"];
        let port_cause = |c: &String| c.starts_with("the port: the token is signed for port 13306");
        assert!(
            rank_causes(&args_of(&tunnel), &Findings::default())
                .iter()
                .any(port_cause)
        );
        let fixed = [&tunnel[..], &["--signing-port", "3306"]].concat();
        assert!(
            !rank_causes(&args_of(&fixed), &Findings::default())
                .iter()
                .any(|c| c.starts_with("the port"))
        );
    }

    #[test]
    fn text_report() {
        let report = Report {
            hostname: "h".into(),
            port: 3306,
            username: "app".into(),
            checks: vec![
                Check::new("dns", Status::Pass, "h → 10.0.0.1"),
                Check::new("tcp", Status::Fail, "refused").with("security group"),
            ],
            causes: vec!["first".into()],
            ok: false,
        };
        assert_eq!(
            render(&report),
            "rds-iam doctor: h:3306 as app\n\n 1. PASS dns         h → 10.0.0.1\n 2. FAIL tcp         refused\n\
             \x20                     security group\n\nThe server refused the token. Likely causes, most likely \
             first:\n 1. first\n\n1 check failed.\n"
        );
    }
}
