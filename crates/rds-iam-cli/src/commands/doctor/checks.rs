//! The checks: [`CHECKS`] lists them in report order, each a name and a pure function from the inputs and the
//! typed findings to a verdict (PASS / WARN / FAIL / SKIP / INFO, a summary, evidence). A verdict may weigh a
//! later step's finding (a credential refusal the clock explains, a region the RDS API confirms): the findings are
//! all gathered before any check is judged.

use std::time::{Duration, SystemTime};

use rds_iam_mysql::TlsProbe;
use rds_iam_token::{Endpoint, EndpointKind};

use super::Inputs;
use super::findings::{
    ClockFinding, CredentialsFinding, DbFinding, DnsFinding, Expiry, Findings, IamAuthOff, LoginFinding, PolicyFinding,
    ProxyTrust, RegionFinding, RegionFit, Sts, TcpFinding, TlsFinding, TokenFinding,
};
use super::report::{Check, Status, Verdict};
use crate::commands::{human, rfc3339};

/// Skew worth a warning: NTP keeps clocks within milliseconds.
const WARN_SKEW: Duration = Duration::from_secs(60);

/// A check: what it makes of the findings.
type Judge = fn(&Inputs, &Findings) -> Verdict;

/// Every check, in the order a login depends on them (the order of the report).
const CHECKS: [(&str, Judge); 10] = [
    ("credentials", credentials),
    ("region", region),
    ("clock", clock),
    ("token", token),
    ("dns", dns),
    ("tcp", tcp),
    ("tls", tls),
    ("rds-api", rds_api),
    ("policy", policy),
    ("login", login),
];

/// The report's checks.
pub(super) fn judge(inputs: &Inputs, findings: &Findings) -> Vec<Check> {
    CHECKS
        .iter()
        .map(|(name, judge)| Check::new(name, judge(inputs, findings)))
        .collect()
}

fn credentials(_: &Inputs, f: &Findings) -> Verdict {
    let (credentials, expiry, sts) = match &f.credentials {
        CredentialsFinding::Missing(e) => return Verdict::new(Status::Fail, e.to_string()),
        CredentialsFinding::Found {
            credentials,
            expiry,
            sts,
        } => (credentials, expiry, sts),
    };
    let source = f.credentials.source();
    let (status, expiry) = match *expiry {
        Expiry::Never => (Status::Pass, "long-term access key (no expiry)".to_owned()),
        Expiry::Expired { at } => (
            Status::Fail,
            format!("expired at {}: nothing can be signed with them", rfc3339(at)),
        ),
        Expiry::Soon { at, left } => (
            Status::Warn,
            format!(
                "expire in {} (at {}): less than a token's 15 minutes, and a token stops working when the credentials \
                 that signed it expire",
                human(left),
                rfc3339(at)
            ),
        ),
        Expiry::Later { at, left } => (Status::Pass, format!("expire in {} (at {})", human(left), rfc3339(at))),
    };
    let verdict = Verdict::new(status, format!("from {source}; {expiry}"))
        .with(format!("access key id {}", credentials.access_key_id()))
        .with(format!(
            "session token: {}",
            if credentials.session_token().is_some() {
                "yes"
            } else {
                "no"
            }
        ));
    match sts {
        Sts::Offline => verdict.with("identity not checked (--offline)"),
        Sts::Unreachable(e) => verdict.with(format!("identity not checked: {e}")),
        Sts::Answered(answer) => match &answer.identity {
            Ok(identity) => verdict.with(format!(
                "STS GetCallerIdentity: {} (account {})",
                identity.arn, identity.account
            )),
            Err(refusal) => {
                let mut refused = verdict;
                refused.summary = format!("the credentials from {source} do not work: {refusal}");
                if f.clock.skew().is_some_and(|skew| skew.too_far()) {
                    // STS refuses signatures from a clock this far off: the credentials may be fine.
                    refused.status = Status::Warn;
                    refused.evidence.push(
                        "the refusal is likely the clock's doing (see clock): STS rejects skewed signatures".to_owned(),
                    );
                } else {
                    refused.status = Status::Fail;
                }
                refused
            }
        },
    }
}

fn region(_: &Inputs, f: &Findings) -> Verdict {
    let (signing_host, choice, source, fit) = match &f.region {
        RegionFinding::NoSigningHost => {
            return Verdict::new(Status::Fail, "no name to sign for: pass --signing-host ENDPOINT");
        }
        RegionFinding::Unknown { signing_host } => {
            return Verdict::new(
                Status::Fail,
                format!("no region: {signing_host} does not name one and none is configured; pass --region"),
            );
        }
        RegionFinding::Failed(e) => return Verdict::new(Status::Fail, format!("{e:#}")),
        RegionFinding::Chosen {
            signing_host,
            choice,
            source,
            fit,
        } => (signing_host, choice, source, fit),
    };
    let region = &choice.region;
    match fit {
        RegionFit::Mismatch(mismatch) => Verdict::new(Status::Fail, mismatch.to_string()),
        RegionFit::Named => Verdict::new(Status::Pass, format!("{region}, from {source}"))
            .with(format!("{signing_host} names {region}")),
        RegionFit::Unnamed => match f.region.confirmed_by(&f.db) {
            Some(db) => Verdict::new(
                Status::Pass,
                format!(
                    "{}, from {source}; the RDS API confirms {} is there",
                    db.region, db.identifier
                ),
            ),
            None => Verdict::new(
                Status::Warn,
                format!(
                    "{region}, from {source}: {signing_host} does not name a region, so it cannot be checked against \
                     the endpoint"
                ),
            )
            .with("a token signed for another region than the DB's is refused"),
        },
    }
}

fn clock(inputs: &Inputs, f: &Findings) -> Verdict {
    let (skew, server, endpoint) = match &f.clock {
        ClockFinding::Offline => return Verdict::new(Status::Skip, "not checked (--offline)"),
        ClockFinding::NoAnswer => {
            return Verdict::new(Status::Skip, "not checked: STS did not answer (see credentials)");
        }
        ClockFinding::NoDate { endpoint } => {
            return Verdict::new(Status::Warn, format!("{endpoint} sent no Date header to compare with"));
        }
        ClockFinding::Measured { skew, server, endpoint } => (*skew, *server, endpoint),
    };
    // The Date header has whole seconds.
    let relation = if skew.by < Duration::from_secs(2) {
        "in step with".to_owned()
    } else {
        format!("{} {}", human(skew.by), skew.direction())
    };
    let (status, advice) = if skew.too_far() {
        (
            Status::Fail,
            ": tokens are refused when the clock is more than 5 minutes off; sync it (chrony, systemd-timesyncd, NTP)",
        )
    } else if skew.by > WARN_SKEW {
        (Status::Warn, ": sync it before it drifts past 5 minutes")
    } else {
        (Status::Pass, "")
    };
    Verdict::new(status, format!("this machine's clock is {relation} AWS's{advice}")).with(format!(
        "here: {}; {endpoint}: {} (Date header)",
        rfc3339(inputs.now),
        rfc3339(server)
    ))
}

fn token(_: &Inputs, f: &Findings) -> Verdict {
    match &f.token {
        TokenFinding::NotSigned => Verdict::new(Status::Skip, "not signed: no credentials, region or name to sign for"),
        TokenFinding::Failed(e) => Verdict::new(Status::Fail, format!("could not sign: {e}")),
        TokenFinding::Signed {
            bytes,
            decoded: Ok(decoded),
        } => Verdict::new(
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
            "{bytes} bytes; key id {}; session token {}",
            decoded.access_key_id,
            if decoded.has_session_token { "included" } else { "none" }
        )),
        TokenFinding::Signed { decoded: Err(e), .. } => {
            Verdict::new(Status::Fail, format!("the signed token does not decode: {e}"))
        }
    }
}

fn dns(inputs: &Inputs, f: &Findings) -> Verdict {
    let host = inputs.target().hostname();
    match &f.dns {
        DnsFinding::Resolved(addrs) if addrs.is_empty() => Verdict::new(Status::Fail, format!("{host} has no address")),
        DnsFinding::Resolved(addrs) => {
            let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            Verdict::new(Status::Pass, format!("{host} → {}", list.join(", ")))
        }
        DnsFinding::Failed(e) => Verdict::new(
            Status::Fail,
            format!(
                "cannot resolve {host}: {e}; check the name (`rds-iam describe`), and from outside the VPC that the \
                 DB is publicly accessible or that you are on its network (VPN, peering)"
            ),
        ),
    }
}

fn tcp(inputs: &Inputs, f: &Findings) -> Verdict {
    let port = inputs.target().port;
    match &f.tcp {
        TcpFinding::NoAddress => Verdict::new(Status::Skip, "no address to connect to (see dns)"),
        TcpFinding::Connected { addr, took } => {
            Verdict::new(Status::Pass, format!("connected to {addr} in {} ms", took.as_millis()))
        }
        TcpFinding::Failed { addr, error } => Verdict::new(
            Status::Fail,
            format!(
                "cannot connect to {addr}: {error}; {}",
                if inputs.target().signing_host.is_some() {
                    format!("is the tunnel running and listening on port {port}?")
                } else {
                    format!(
                        "check the port ({port}), the DB's security group (inbound TCP {port} from here), network ACLs \
                         and routes"
                    )
                }
            ),
        ),
    }
}

fn tls(inputs: &Inputs, f: &Findings) -> Verdict {
    let (host, bundle, probe, proxy_trust) = match &f.tls {
        TlsFinding::NotProbed => return Verdict::new(Status::Skip, "nothing to connect to (see dns, tcp, region)"),
        TlsFinding::NoBundle(e) => return Verdict::new(Status::Fail, format!("{e:#}")),
        TlsFinding::Failed(e) => return Verdict::new(Status::Fail, crate::advice::explain(e)),
        TlsFinding::Probed {
            server_name,
            bundle,
            probe,
            proxy_trust,
        } => (server_name, bundle.display(), probe, proxy_trust),
    };
    let mut verdict = match &probe.verdict {
        Ok(()) if probe.waived_name_error.is_some() => Verdict::new(
            Status::Warn,
            format!(
                "chain verified with {bundle}, but the certificate is not valid for {host} (name check waived by \
                 --danger-skip-hostname-check)"
            ),
        ),
        Ok(()) => Verdict::new(
            Status::Pass,
            format!(
                "{} {}: chain verified with {bundle}, certificate valid for {host}",
                probe.protocol.as_deref().unwrap_or("TLS"),
                probe.cipher_suite.as_deref().unwrap_or_default(),
            ),
        ),
        Err(e) => {
            let verdict = Verdict::new(Status::Fail, crate::advice::explain(e));
            match proxy_trust {
                Some(ProxyTrust::AmazonRoots) => verdict.with(
                    "RDS Proxy endpoints present certificates from Amazon Trust Services (Amazon Root CA 1–4), and \
                     this chain leads to none of them: something between you and the proxy presents its own \
                     certificate (a TLS-inspecting proxy?)",
                ),
                Some(ProxyTrust::OtherBundle) => verdict.with(
                    "RDS Proxy endpoints present certificates from Amazon Trust Services (Amazon Root CA 1–4), not \
                     the RDS CA: leave out --ca-bundle (and RDS_IAM_CA_BUNDLE) to trust the built-in Amazon roots, \
                     or pass `--ca-bundle \"$(rds-iam ca path --proxy)\"`",
                ),
                None => verdict,
            }
        }
    };
    verdict.evidence.extend(certificate_evidence(probe, inputs.now));
    verdict
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

fn rds_api(inputs: &Inputs, f: &Findings) -> Verdict {
    let info = match &f.db {
        DbFinding::Offline => return Verdict::new(Status::Skip, "not checked (--offline)"),
        DbFinding::NotAnRdsName => {
            return Verdict::new(
                Status::Skip,
                "not checked: the hostname is not an RDS endpoint name; pass --db-instance or --db-cluster",
            );
        }
        DbFinding::NoRegionOrCredentials => {
            return Verdict::new(Status::Skip, "not checked: no region or credentials");
        }
        DbFinding::Denied { target, error } => {
            return Verdict::new(
                Status::Skip,
                format!("not permitted to describe {target} ({error}); IAM auth and the resource id are unchecked"),
            )
            .with("grant rds:DescribeDBInstances / rds:DescribeDBClusters to check them");
        }
        DbFinding::NotFound(e) => return Verdict::new(Status::Fail, crate::advice::explain_admin(e)),
        DbFinding::Failed(e) => {
            return Verdict::new(
                Status::Warn,
                format!("could not check: {}", crate::advice::explain_admin(e)),
            );
        }
        DbFinding::Found(info) => info,
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
    let mut verdict = match (IamAuthOff::of(info), info.iam_auth_pending) {
        (Some(off), _) => Verdict::new(Status::Fail, format!("{off}; {}", off.fix())).with(described),
        (None, Some(false)) => Verdict::new(
            Status::Warn,
            format!(
                "IAM database authentication is on, but turning it off is pending (it applies in the next maintenance \
                 window): {described}"
            ),
        ),
        (None, _) => Verdict::new(Status::Pass, format!("IAM database authentication is on: {described}")),
    };
    if info.status != "available" {
        verdict = verdict.with(format!(
            "status `{}`: IAM logins work while the DB is up, but changes wait until it is `available`",
            info.status
        ));
    }
    let signed_port = inputs.signed_port();
    if let Some(db_port) = info.port
        && db_port != signed_port
    {
        verdict.warn_if_passed();
        verdict.evidence.push(format!(
            "the DB listens on port {db_port}, but the token is signed for {signed_port} (--signing-port {db_port})"
        ));
    }
    // An explicit --db-instance must be the DB the token is signed for.
    if let (Some(host), Some(endpoint)) = (inputs.signing_host(), &info.endpoint)
        && inputs.args.db_instance.is_some()
        && Endpoint::parse(host).kind() == EndpointKind::Instance
        && !endpoint.eq_ignore_ascii_case(host)
    {
        verdict.warn_if_passed();
        verdict.evidence.push(format!(
            "{} is {endpoint}, but the token is signed for {host}: is --db-instance the right DB?",
            info.identifier
        ));
    }
    if !matches!(info.engine.as_str(), "mysql" | "mariadb" | "aurora-mysql" | "MYSQL") {
        verdict.status = Status::Fail;
        verdict.summary = format!("{}; rds-iam logs in to MySQL and MariaDB engines only", verdict.summary);
    }
    verdict
}

fn policy(_: &Inputs, f: &Findings) -> Verdict {
    let who = f
        .credentials
        .identity()
        .map_or("the identity that signs", |identity| identity.arn.as_str());
    match &f.policy {
        PolicyFinding::NoRegion => Verdict::new(Status::Skip, "unknown: no region"),
        PolicyFinding::Exact(policy) => Verdict::new(
            Status::Info,
            format!("{who} needs rds-db:connect on {}", policy.resource_arn()),
        )
        .with(policy.to_json())
        .with("IAM cannot be asked whether it is attached; `rds-iam policy` prints it with the command to attach it"),
        PolicyFinding::Invalid(e) => Verdict::new(Status::Warn, crate::advice::explain_admin(e)),
        PolicyFinding::Partial { arn } => Verdict::new(
            Status::Info,
            format!("{who} needs rds-db:connect on {arn}; the resource id (db-…, cluster-…) is unknown here"),
        )
        .with("`rds-iam describe` shows the resource id; `rds-iam policy` prints the policy"),
    }
}

fn login(inputs: &Inputs, f: &Findings) -> Verdict {
    match &f.login {
        LoginFinding::NoInputs => Verdict::new(
            Status::Skip,
            "not attempted: no credentials, region or name to sign for",
        ),
        LoginFinding::NoVerifiedTls => Verdict::new(
            Status::Skip,
            "not attempted: the token is only sent over TLS verified with the CA bundle (see tls)",
        ),
        LoginFinding::NameCannotMatch { signing_host } => Verdict::new(
            Status::Fail,
            format!(
                "not attempted: the MySQL driver checks the certificate against the name dialed ({}), which cannot \
                 match through a tunnel; pass --danger-skip-hostname-check (the tls check verifies the certificate \
                 against {signing_host})",
                inputs.target().hostname()
            ),
        ),
        LoginFinding::Refused(server) => Verdict::new(Status::Fail, format!("the server refused the token: {server}")),
        LoginFinding::Failed(e) => Verdict::new(Status::Fail, crate::advice::explain(e)),
        LoginFinding::Error(e) => Verdict::new(Status::Fail, format!("{e:#}")),
        LoginFinding::LoggedIn { who, tls } => {
            let (user, version) = match who {
                Some((user, version)) => (user.as_str(), version.as_str()),
                None => (inputs.target().username.as_str(), "?"),
            };
            Verdict::new(
                Status::Pass,
                format!("logged in as {user} over {}", tls.as_deref().unwrap_or("TLS")),
            )
            .with(format!("server {version}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use rds_iam_credentials::Credentials;

    use super::*;

    /// Findings whose credentials expire as `expiry` says.
    fn expiring(expiry: Expiry) -> Findings {
        Findings {
            credentials: CredentialsFinding::Found {
                credentials: Credentials::new("AKIDEXAMPLE", "secret"),
                expiry,
                sts: Sts::Offline,
            },
            ..Findings::nothing_found()
        }
    }

    #[test]
    fn credentials_that_expire_before_a_token_warn_and_expired_ones_sign_nothing() {
        let inputs = Inputs::parse(&["--offline"]);
        let at = UNIX_EPOCH + Duration::from_secs(600);
        let soon = credentials(
            &inputs,
            &expiring(Expiry::Soon {
                at,
                left: Duration::from_secs(600),
            }),
        );
        assert_eq!(soon.status, Status::Warn);
        assert!(
            soon.summary
                .starts_with("from unknown; expire in 10m 0s (at 1970-01-01T00:10:00Z): less than a token's"),
            "{}",
            soon.summary
        );
        assert_eq!(
            soon.evidence,
            [
                "access key id AKIDEXAMPLE",
                "session token: no",
                "identity not checked (--offline)"
            ]
        );

        let expired = expiring(Expiry::Expired { at });
        let verdict = credentials(&inputs, &expired);
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(
            verdict.summary,
            "from unknown; expired at 1970-01-01T00:10:00Z: nothing can be signed with them"
        );
        assert!(expired.credentials.signer().is_none());
    }
}
