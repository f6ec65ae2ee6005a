//! What to do about a library error, in this program's terms: the libraries say what failed; here each kind gets
//! the flag or command that fixes it (rds-iam-mysql's [`ConnectError`], rds-iam-admin's [`AdminError`]).

use rds_iam_admin::{Apply, DbKind, Error as AdminError, InputProblem, Lookup, NotFound};
use rds_iam_mysql::{BundleProblem, Cause, ConnectError};

/// The error with its sources and, where there is one, the advice: one message for a person.
pub(crate) fn explain(err: &ConnectError) -> String {
    if let ConnectError::TokenRejected { server, causes } = err {
        let mut out = format!("the server rejected the IAM token ({server}); usual causes:");
        for cause in causes {
            out.push_str("\n  - ");
            out.push_str(&cause_with_advice(cause));
        }
        return out;
    }
    let mut out = rds_iam_mysql::error_chain(err);
    if let Some(advice) = advice(err) {
        out.push_str("; ");
        out.push_str(&advice);
    }
    out
}

/// [`explain`] as an error for `?`.
pub(crate) fn connect_error(err: ConnectError) -> anyhow::Error {
    anyhow::anyhow!(explain(&err))
}

/// A cause and the command that checks or fixes it.
pub(crate) fn cause_with_advice(cause: &Cause) -> String {
    let advice = match cause {
        Cause::NotAnIamUser { .. } => Some("`rds-iam create-user`"),
        Cause::IamAuthDisabled => Some("`rds-iam enable`"),
        Cause::NoConnectPermission { .. } => Some("`rds-iam policy`"),
        Cause::WrongRegionOrHost { .. } => Some("`rds-iam token inspect`"),
        _ => None,
    };
    match advice {
        Some(advice) => format!("{cause} ({advice})"),
        None => cause.to_string(),
    }
}

fn advice(err: &ConnectError) -> Option<String> {
    Some(match err {
        ConnectError::NoRegion { .. } => "pass --region, or the RDS endpoint's name as --signing-host".to_owned(),
        ConnectError::NameCannotMatch { signing_host, .. } => format!(
            "connect to {signing_host} directly, or through a tunnel you control pass --danger-skip-hostname-check"
        ),
        ConnectError::CaBundle {
            problem: BundleProblem::Missing,
            ..
        } => "download the RDS bundle with `rds-iam ca fetch` or pass --ca-bundle".to_owned(),
        ConnectError::CaBundle { .. } => "pass the RDS CA bundle as --ca-bundle (`rds-iam ca path`)".to_owned(),
        ConnectError::UntrustedCertificate { .. } => {
            "use the RDS bundle for the database's region (`rds-iam ca fetch --region …`) or pass the right \
             --ca-bundle"
                .to_owned()
        }
        ConnectError::HostnameMismatch { .. } => {
            "connect to the endpoint name the certificate was issued for (through a tunnel: pass it as \
             --signing-host and see --danger-skip-hostname-check)"
                .to_owned()
        }
        ConnectError::CertificateTime { .. } => "check the server's certificate and this machine's clock".to_owned(),
        _ => return None,
    })
}

/// Advice for an error that reached `main`: the first library error in its chain that this program knows a flag
/// or command for.
pub(crate) fn for_error(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| {
        if let Some(token) = cause.downcast_ref::<rds_iam_token::Error>() {
            return match token {
                rds_iam_token::Error::HostHasPort { port, .. } => Some(format!("pass it as --port {port}")),
                _ => None,
            };
        }
        if let Some(rds_iam_ca::Error::UnexpectedNotModified { .. }) = cause.downcast_ref::<rds_iam_ca::Error>() {
            return Some("run `rds-iam ca fetch --force`".to_owned());
        }
        if let Some(rds_iam_ca::VerifyError::NoValidRoot { .. }) = cause.downcast_ref::<rds_iam_ca::VerifyError>() {
            return Some("run `rds-iam ca fetch`".to_owned());
        }
        if let Some(rds_iam_credentials::CredentialsError::NoneFound { .. }) =
            cause.downcast_ref::<rds_iam_credentials::CredentialsError>()
        {
            return Some("or pass --profile".to_owned());
        }
        None
    })
}

/// An admin error with its sources and, where there is one, the advice: one message for a person.
pub(crate) fn explain_admin(err: &AdminError) -> String {
    let mut out = rds_iam_mysql::error_chain(err);
    if let Some(advice) = admin_advice(err) {
        out.push_str("; ");
        out.push_str(&advice);
    }
    out
}

/// [`explain_admin`] as an error for `?`.
pub(crate) fn admin_error(err: AdminError) -> anyhow::Error {
    anyhow::anyhow!(explain_admin(&err))
}

fn admin_advice(err: &AdminError) -> Option<String> {
    Some(match err {
        AdminError::InvalidInput {
            problem: InputProblem::NotResourceId,
            ..
        } => "`rds-iam describe` shows it".to_owned(),
        AdminError::InvalidInput {
            problem: InputProblem::NotAccountId,
            ..
        } => "pass the DB's account as --account (`rds-iam describe` shows it)".to_owned(),
        AdminError::RegionMismatch { host_region, .. } => {
            format!("pass --region {host_region} (or leave --region out)")
        }
        AdminError::Api { code: Some(code), .. } => match code.as_str() {
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                "the credentials lack this RDS permission (see `rds-iam credentials` for who is calling)".to_owned()
            }
            "InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken" => {
                "check the credentials (`rds-iam credentials`)".to_owned()
            }
            _ => return None,
        },
        AdminError::NotFound(NotFound {
            what: Lookup::ClusterEndpoint,
            ..
        }) => "or name its cluster with --db-cluster".to_owned(),
        AdminError::NotFound(NotFound {
            what: Lookup::Address, ..
        }) => "pass --db-instance ID or --db-cluster ID".to_owned(),
        AdminError::ProxyUnsupported { identifier } => {
            format!("set it with `aws rds modify-db-proxy --db-proxy-name {identifier} --auth …IAMAuth=REQUIRED`")
        }
        AdminError::Timeout {
            kind,
            identifier,
            apply,
            ..
        } => {
            let describe = match kind {
                DbKind::Instance => format!("`rds-iam describe --db-instance {identifier}`"),
                DbKind::Cluster => format!("`rds-iam describe --db-cluster {identifier}`"),
                _ => "`rds-iam describe`".to_owned(),
            };
            let mut advice = format!("check again with {describe}");
            if *apply == Apply::NextMaintenanceWindow {
                advice.push_str("; without --apply-immediately the change waits for the maintenance window");
            }
            advice
        }
        AdminError::CaBundleMissing { .. } => {
            "download the RDS bundle with `rds-iam ca fetch` or pass --ca-bundle".to_owned()
        }
        AdminError::TunnelSetup { source, .. } => return source.downcast_ref::<ConnectError>().and_then(advice),
        AdminError::TunnelRefused { .. } => {
            "check that the tunnel leads to the --tunnel-to endpoint and that --ca-bundle holds its CA".to_owned()
        }
        AdminError::LocalProxy { .. } => "check that TMPDIR is a folder you can write to".to_owned(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_names_the_flag_or_command() {
        let missing = ConnectError::CaBundle {
            path: "/nope.pem".into(),
            problem: BundleProblem::Missing,
            source: None,
        };
        assert_eq!(
            explain(&missing),
            "cannot use the CA bundle /nope.pem: it does not exist; download the RDS bundle with `rds-iam ca fetch` \
             or pass --ca-bundle"
        );
        let rejected = ConnectError::TokenRejected {
            server: rds_iam_mysql::ServerMessage::new(1045, "28000", "Access denied"),
            causes: vec![Cause::IamAuthDisabled, Cause::ExpiredOrClockSkew],
        };
        let text = explain(&rejected);
        assert!(text.contains("usual causes:\n  - IAM database authentication is not enabled on the instance or cluster (`rds-iam enable`)"), "{text}");
        assert!(text.ends_with("clock is off by more than 5 minutes"), "{text}");
    }
}

#[cfg(test)]
mod admin_tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rds_iam_admin::{ErrorSource, GrantProblem};

    use super::*;

    fn text(message: &str) -> ErrorSource {
        Arc::new(std::io::Error::other(message.to_owned()))
    }

    fn invalid(what: &'static str, value: &str, problem: InputProblem) -> AdminError {
        AdminError::InvalidInput {
            what,
            value: value.to_owned(),
            problem,
        }
    }

    fn timeout(kind: DbKind, apply: Apply) -> AdminError {
        AdminError::Timeout {
            kind,
            identifier: "shop".into(),
            waited: Duration::from_secs(1800),
            apply,
            status: "modifying".into(),
            iam_auth_enabled: true,
            iam_auth_pending: None,
        }
    }

    /// Each kind with the whole message a person reads: the library's text, its sources, then the advice.
    #[test]
    fn admin_advice_names_the_flag_or_command() {
        let cases = [
            (
                AdminError::RegionMismatch {
                    host: "db.abc.us-east-1.rds.amazonaws.com".into(),
                    host_region: "us-east-1".into(),
                    client_region: "eu-west-1".into(),
                },
                "db.abc.us-east-1.rds.amazonaws.com is in us-east-1, but the RDS client calls eu-west-1; pass --region \
                 us-east-1 (or leave --region out)",
            ),
            (
                invalid("resource id", "mydb", InputProblem::NotResourceId),
                "the resource id \"mydb\" is not a DB resource id: it starts with db- (instance), cluster- (Aurora \
                 cluster) or prx- (RDS Proxy); `rds-iam describe` shows it",
            ),
            (
                invalid("account id", "1234", InputProblem::NotAccountId),
                "the account id \"1234\" is not 12 digits (the DB's account is in the DB's ARN); pass the DB's \
                 account as --account (`rds-iam describe` shows it)",
            ),
            (
                invalid("grant", "SELECT", InputProblem::Grant(GrantProblem::NoOn)),
                "the grant \"SELECT\" has no ON: write it as PRIVILEGES ON OBJECT, e.g. 'SELECT, INSERT ON shop.*'",
            ),
            (
                invalid("user name", &"a".repeat(33), InputProblem::TooLong { len: 33, max: 32 }),
                "the user name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is 33 characters long; the limit is 32: use a \
                 shorter name",
            ),
            (
                AdminError::Api {
                    call: "DescribeDBInstances",
                    code: Some("AccessDenied".into()),
                    message: Some("not authorized".into()),
                    source: None,
                },
                "DescribeDBInstances failed: AccessDenied: not authorized; the credentials lack this RDS permission \
                 (see `rds-iam credentials` for who is calling)",
            ),
            (
                AdminError::Api {
                    call: "DescribeDBClusters",
                    code: Some("ExpiredToken".into()),
                    message: None,
                    source: None,
                },
                "DescribeDBClusters failed: ExpiredToken; check the credentials (`rds-iam credentials`)",
            ),
            (
                AdminError::Api {
                    call: "DescribeDBInstances",
                    code: None,
                    message: None,
                    source: Some(text("dispatch failure")),
                },
                "DescribeDBInstances failed: dispatch failure",
            ),
            (
                AdminError::NotFound(NotFound::new(Lookup::Instance, "nope", "eu-west-1")),
                "DB instance nope was not found in eu-west-1: check the name, the region and the account",
            ),
            (
                AdminError::NotFound(NotFound::new(Lookup::ClusterEndpoint, "ro", "eu-west-1")),
                "custom cluster endpoint ro was not found in eu-west-1: check the hostname; or name its cluster with \
                 --db-cluster",
            ),
            (
                AdminError::NotFound(NotFound::new(Lookup::Address, "db.example.com", "eu-west-1")),
                "no DB instance or cluster in eu-west-1 has the endpoint db.example.com; pass --db-instance ID or \
                 --db-cluster ID",
            ),
            (
                AdminError::ProxyUnsupported {
                    identifier: "px".into(),
                },
                "px is an RDS Proxy: IAM authentication is set per proxy auth entry (IAMAuth in ModifyDBProxy's \
                 Auth), and the databases behind it need no change; set it with `aws rds modify-db-proxy \
                 --db-proxy-name px --auth …IAMAuth=REQUIRED`",
            ),
            (
                timeout(DbKind::Instance, Apply::NextMaintenanceWindow),
                "IAM authentication on shop is not in effect after 1800s (status modifying, IAM auth on); check \
                 again with `rds-iam describe --db-instance shop`; without --apply-immediately the change waits for \
                 the maintenance window",
            ),
            (
                timeout(DbKind::Cluster, Apply::Immediately),
                "IAM authentication on shop is not in effect after 1800s (status modifying, IAM auth on); check \
                 again with `rds-iam describe --db-cluster shop`",
            ),
            (
                AdminError::CaBundleMissing {
                    path: "/nope.pem".into(),
                },
                "the CA bundle /nope.pem does not exist; download the RDS bundle with `rds-iam ca fetch` or pass \
                 --ca-bundle",
            ),
            (
                AdminError::Login {
                    host: "db".into(),
                    port: 3306,
                    user: "admin".into(),
                    ca_bundle: "/ca.pem".into(),
                    source: text("Access denied for user 'admin'"),
                },
                "cannot log in to db:3306 as admin over TLS (check the master user and password, the security group, \
                 and that the CA bundle /ca.pem signs the server's certificate): Access denied for user 'admin'",
            ),
            (
                AdminError::TunnelSetup {
                    host: "127.0.0.1".into(),
                    port: 3306,
                    endpoint: "db".into(),
                    source: Arc::new(ConnectError::CaBundle {
                        path: "/ca.pem".into(),
                        problem: BundleProblem::NoCertificate,
                        source: None,
                    }),
                },
                "cannot check the server behind 127.0.0.1:3306 as db: cannot use the CA bundle /ca.pem: it holds no \
                 certificate; pass the RDS CA bundle as --ca-bundle (`rds-iam ca path`)",
            ),
            (
                AdminError::TunnelRefused {
                    host: "127.0.0.1".into(),
                    port: 3306,
                    endpoint: "db".into(),
                    source: text("rds-iam proxy: untrusted certificate"),
                },
                "the server behind 127.0.0.1:3306 is not db, or not one the CA bundle trusts; the password was not \
                 sent: rds-iam proxy: untrusted certificate; check that the tunnel leads to the --tunnel-to endpoint \
                 and that --ca-bundle holds its CA",
            ),
            (
                AdminError::LocalProxy {
                    dir: "/nope".into(),
                    source: Arc::new(std::io::Error::other("read-only file system")),
                },
                "cannot start the local proxy in /nope: read-only file system; check that TMPDIR is a folder you can \
                 write to",
            ),
            (
                AdminError::Statement {
                    statement: "SELECT 1".into(),
                    source: text("ERROR 1064"),
                },
                "`SELECT 1` failed: ERROR 1064",
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(explain_admin(&err), expected);
            // The advice is the CLI's: the library's own message has no flag and no command.
            assert!(
                !err.to_string().contains("--") && !err.to_string().contains("rds-iam "),
                "{err}"
            );
        }
    }
}
