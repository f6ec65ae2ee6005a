//! What to do about a library error, in this program's terms: the libraries say what failed; here each kind gets
//! the flag or command that fixes it.

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
    let mut out = with_sources(err);
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
        if let Some(rds_iam_credentials::CredentialsError::NoneFound { .. }) =
            cause.downcast_ref::<rds_iam_credentials::CredentialsError>()
        {
            return Some("or pass --profile".to_owned());
        }
        None
    })
}

/// An error and its sources, `: `-separated (as anyhow's `{:#}` prints a chain).
fn with_sources(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
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
