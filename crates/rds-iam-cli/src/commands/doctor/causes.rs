//! Why the server refused the token: [`Cause`], one variant per cause doctor can name, rendered in one place (its
//! `Display`, which is also how the JSON report shows it); [`rank`] puts first what the checks found, then the
//! usual causes they did not rule out.

use std::fmt;
use std::time::SystemTime;

use serde::{Serialize, Serializer};

use super::Inputs;
use super::findings::{CredentialsFinding, DbFinding, Expiry, Findings, IamAuthOff, RegionMismatch, Skew};
use crate::commands::{human, rfc3339};

/// MySQL's port, and RDS's default.
const DEFAULT_PORT: u16 = 3306;

/// A likely cause of a refused token.
#[derive(Debug, Clone)]
pub(super) enum Cause {
    /// The token is signed for another region than the endpoint's.
    WrongRegion(RegionMismatch),
    /// This machine's clock is further off AWS's than a signature may be.
    ClockSkew(Skew),
    /// The credentials do not work.
    Credentials(CredentialsProblem),
    /// IAM database authentication is off on the DB.
    IamAuthOff(IamAuthOff),
    /// The token names another port than the one the DB listens on.
    PortMismatch { signed: u16, db: u16 },
    /// The server's certificate is not for the signing host (its check waived).
    CertificateNotForSigningHost { host: String },
    /// The RDS API did not find the DB.
    DbNotFound,
    /// The DB user does not exist or was not created for IAM.
    DbUser { user: String },
    /// The signing identity lacks `rds-db:connect` on the user's ARN.
    Policy { who: Option<String>, arn: Option<String> },
    /// IAM database authentication may be off: the RDS API did not say.
    IamAuthUnchecked,
    /// The region could not be checked against the endpoint.
    RegionUnconfirmed,
    /// Through a tunnel, the token names the tunnel's port rather than the DB's.
    TunnelPort { signed: u16 },
    /// The clock was not checked (nor whether the credentials expired since).
    ClockUnchecked,
}

/// Why the credentials do not work.
#[derive(Debug, Clone)]
pub(super) enum CredentialsProblem {
    /// The chain found none: its message.
    Missing(String),
    Expired {
        source: String,
        at: SystemTime,
    },
    Refused {
        source: String,
        refusal: String,
    },
}

/// The likely causes of a refused token, most likely first: what the checks found, then the usual causes they did
/// not rule out.
pub(super) fn rank(inputs: &Inputs, f: &Findings) -> Vec<Cause> {
    let signed_port = inputs.signed_port();
    let db = f.db.found();
    let db_port = db.and_then(|db| db.port);
    let skew = f.clock.skew();
    let mut causes = Vec::new();
    causes.extend(f.region.mismatch().cloned().map(Cause::WrongRegion));
    causes.extend(skew.filter(|skew| skew.too_far()).map(Cause::ClockSkew));
    causes.extend(credentials_problem(f).map(Cause::Credentials));
    causes.extend(db.and_then(IamAuthOff::of).map(Cause::IamAuthOff));
    if let Some(db_port) = db_port
        && db_port != signed_port
    {
        causes.push(Cause::PortMismatch {
            signed: signed_port,
            db: db_port,
        });
    }
    if let Some(host) = f.tls.not_for_signing_host() {
        causes.push(Cause::CertificateNotForSigningHost { host: host.to_owned() });
    }
    if matches!(f.db, DbFinding::NotFound(_)) {
        causes.push(Cause::DbNotFound);
    }
    // The usual causes the checks could not see, most common first.
    causes.push(Cause::DbUser {
        user: inputs.target().username.clone(),
    });
    causes.push(Cause::Policy {
        who: f.credentials.identity().map(|identity| identity.arn.clone()),
        arn: f.policy.arn(),
    });
    if db.is_none() {
        causes.push(Cause::IamAuthUnchecked);
    }
    if f.region.unconfirmed(&f.db) && f.region.mismatch().is_none() {
        causes.push(Cause::RegionUnconfirmed);
    }
    let tunnel = inputs.target().signing_host.is_some() || inputs.target().signing_port.is_some();
    if db_port.is_none() && tunnel && signed_port != DEFAULT_PORT {
        causes.push(Cause::TunnelPort { signed: signed_port });
    }
    if skew.is_none() {
        causes.push(Cause::ClockUnchecked);
    }
    causes
}

/// What is wrong with the credentials, unless a clock too far off explains STS's refusal.
fn credentials_problem(f: &Findings) -> Option<CredentialsProblem> {
    let source = f.credentials.source().to_owned();
    match &f.credentials {
        CredentialsFinding::Missing(e) => Some(CredentialsProblem::Missing(e.to_string())),
        CredentialsFinding::Found { expiry, .. } => match (f.credentials.refusal(), expiry) {
            // STS refuses signatures from a clock this far off: the credentials may be fine.
            (Some(_), _) if f.clock.skew().is_some_and(|skew| skew.too_far()) => None,
            (Some(refusal), _) => Some(CredentialsProblem::Refused {
                source,
                refusal: refusal.to_owned(),
            }),
            (None, Expiry::Expired { at }) => Some(CredentialsProblem::Expired { source, at: *at }),
            (None, _) => None,
        },
    }
}

impl fmt::Display for CredentialsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsProblem::Missing(message) => f.write_str(message),
            CredentialsProblem::Expired { source, at } => {
                write!(f, "the credentials from {source} expired at {}", rfc3339(*at))
            }
            CredentialsProblem::Refused { source, refusal } => {
                write!(f, "STS refused the credentials from {source}: {refusal}")
            }
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::WrongRegion(mismatch) => write!(f, "wrong region: {mismatch}"),
            Cause::ClockSkew(skew) => write!(
                f,
                "clock: this machine is {} {} AWS, so the token's signing time is outside the 5-minute window; sync \
                 the clock",
                human(skew.by),
                skew.direction()
            ),
            Cause::Credentials(problem) => write!(f, "credentials: {problem}"),
            Cause::IamAuthOff(off) => write!(f, "IAM auth: {off}: {}", off.fix()),
            Cause::PortMismatch { signed, db } => write!(
                f,
                "the port: the token is signed for port {signed}, but the DB listens on {db}: pass --signing-port {db}"
            ),
            Cause::CertificateNotForSigningHost { host } => write!(
                f,
                "the signing host: the server's certificate is not for {host}, so the token is probably signed for the \
                 wrong name; sign for the DB's endpoint name (--signing-host)"
            ),
            Cause::DbNotFound => {
                f.write_str("the DB was not found with the RDS API in this region and account (see rds-api)")
            }
            Cause::DbUser { user } => write!(
                f,
                "the DB user: `{user}` does not exist or was not created for IAM; as the master user check `SELECT \
                 user, host, plugin FROM mysql.user WHERE user = '{user}'` (plugin AWSAuthenticationPlugin), and \
                 create it: `rds-iam create-user --username {user}` prints the SQL, `--execute --hostname ENDPOINT \
                 --master-user MASTER_USER` runs it"
            ),
            Cause::Policy { who, arn } => write!(
                f,
                "the policy: {} lacks rds-db:connect on {} (the resource id, not the DB's name; `rds-iam policy`)",
                who.as_deref().unwrap_or("the signing identity"),
                arn.as_deref()
                    .unwrap_or("arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/USER")
            ),
            Cause::IamAuthUnchecked => f.write_str(
                "IAM database authentication is not enabled on the DB (not checked: see rds-api; `rds-iam describe`)",
            ),
            Cause::RegionUnconfirmed => {
                f.write_str("the region could not be confirmed from the hostname: sign for the DB's region (--region)")
            }
            Cause::TunnelPort { signed } => write!(
                f,
                "the port: the token is signed for port {signed}; through a tunnel it must name the DB's own port \
                 (--signing-port, usually {DEFAULT_PORT})"
            ),
            Cause::ClockUnchecked => f.write_str(
                "clock or expiry: this machine's clock is off by more than 5 minutes, or the credentials expired (the \
                 clock was not checked)",
            ),
        }
    }
}

/// In the JSON report, a cause is its text.
impl Serialize for Cause {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rds_iam_credentials::Credentials;

    use super::*;
    use crate::commands::doctor::findings::{ClockFinding, RegionFinding, RegionFit, Sts};

    /// Causes for `findings`, with `extra` flags.
    fn ranked(extra: &[&str], findings: &Findings) -> Vec<String> {
        rank(&Inputs::parse(extra), findings)
            .iter()
            .map(Cause::to_string)
            .collect()
    }

    fn measured(by: u64, ahead: bool) -> ClockFinding {
        ClockFinding::Measured {
            skew: Skew {
                by: Duration::from_secs(by),
                ahead,
            },
            server: SystemTime::UNIX_EPOCH,
            endpoint: "https://sts.amazonaws.com".to_owned(),
        }
    }

    #[test]
    fn causes_put_findings_first_and_drop_what_the_checks_ruled_out() {
        // Nothing found: the user first, then the policy; IAM auth, region and clock were not checked.
        let unknown = ranked(&[], &Findings::nothing_found());
        assert!(unknown[0].starts_with("the DB user: `app`"), "{unknown:?}");
        assert_eq!(
            unknown[1],
            "the policy: the signing identity lacks rds-db:connect on \
             arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/USER (the resource id, not the DB's name; `rds-iam \
             policy`)"
        );
        assert!(unknown.iter().any(|c| c.starts_with("IAM database authentication")));
        assert!(unknown.iter().any(|c| c.starts_with("clock or expiry")));

        // A skewed clock and a wrong region come first, in that order; a clock in step is not a cause.
        let findings = Findings {
            region: RegionFinding::Chosen {
                signing_host: "db.c1.eu-west-1.rds.amazonaws.com".to_owned(),
                choice: rds_iam_token::choose_region(
                    Some("us-east-1"),
                    &rds_iam_token::Endpoint::parse("db.c1.eu-west-1.rds.amazonaws.com"),
                    None,
                )
                .unwrap_or_else(|| panic!("an explicit region is a choice")),
                source: "--region".to_owned(),
                fit: RegionFit::Mismatch(RegionMismatch {
                    region: "us-east-1".to_owned(),
                    source: "--region".to_owned(),
                    signing_host: "db.c1.eu-west-1.rds.amazonaws.com".to_owned(),
                    hostname_region: "eu-west-1".to_owned(),
                }),
            },
            clock: measured(1200, false),
            ..Findings::nothing_found()
        };
        let found = ranked(&[], &findings);
        assert_eq!(
            found[0],
            "wrong region: the token is signed for us-east-1 (from --region), but db.c1.eu-west-1.rds.amazonaws.com \
             is in eu-west-1: pass --region eu-west-1 or leave --region out"
        );
        assert!(
            found[1].starts_with("clock: this machine is 20m 0s behind"),
            "{found:?}"
        );
        let in_step = Findings {
            clock: measured(1, true),
            ..Findings::nothing_found()
        };
        assert!(!ranked(&[], &in_step).iter().any(|c| c.starts_with("clock")));

        // A tunnel on a local port without --signing-port: the port is a cause; with it, not.
        let tunnel = ["--port", "13306", "--signing-host", "db.c1.eu-west-1.rds.amazonaws.com"];
        let port_cause = |c: &String| c.starts_with("the port: the token is signed for port 13306");
        assert!(ranked(&tunnel, &Findings::nothing_found()).iter().any(port_cause));
        let fixed = [&tunnel[..], &["--signing-port", "3306"]].concat();
        assert!(
            !ranked(&fixed, &Findings::nothing_found())
                .iter()
                .any(|c| c.starts_with("the port"))
        );
    }

    #[test]
    fn expired_credentials_are_a_cause_unless_the_clock_explains_a_refusal() {
        let expired = Findings {
            credentials: CredentialsFinding::Found {
                credentials: Credentials::new("AKIDEXAMPLE", "secret"),
                expiry: Expiry::Expired {
                    at: SystemTime::UNIX_EPOCH,
                },
                sts: Sts::Offline,
            },
            ..Findings::nothing_found()
        };
        assert_eq!(
            ranked(&[], &expired)[0],
            "credentials: the credentials from unknown expired at 1970-01-01T00:00:00Z"
        );
        // A skewed clock alone does not excuse expired credentials: only a refusal is the clock's doing.
        let skewed = Findings {
            clock: measured(1200, true),
            ..expired
        };
        let causes = ranked(&[], &skewed);
        assert!(
            causes[0].starts_with("clock: this machine is 20m 0s ahead of"),
            "{causes:?}"
        );
        assert!(causes[1].starts_with("credentials: "), "{causes:?}");
    }
}
