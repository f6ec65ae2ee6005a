//! [`Error`]: what can go wrong in the control plane, each message saying what to check.

/// An error from `rds-iam-admin`. Messages are lowercase, say what failed and what to do, and never hold a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument cannot be used (a name, a grant, an account id, a resource id).
    #[error("{0}")]
    InvalidInput(String),
    /// The AWS SDK could not be set up (runtime, HTTPS client, endpoint).
    #[error("cannot set up the RDS client: {0}")]
    Setup(String),
    /// An RDS API call failed; the message names the call and AWS's error code and message.
    #[error("{call} failed: {message}")]
    Api {
        /// The API operation, e.g. `DescribeDBInstances`.
        call: &'static str,
        /// AWS's error code when it sent one (`DBInstanceNotFound`, `AccessDenied`, …).
        code: Option<String>,
        /// What went wrong and what to check.
        message: String,
    },
    /// The DB was not found.
    #[error("{0}")]
    NotFound(String),
    /// The DB does not support what was asked (e.g. enabling IAM auth on a proxy).
    #[error("{0}")]
    Unsupported(String),
    /// `--wait` gave up.
    #[error("{0}")]
    Timeout(String),
    /// Running SQL as the master user failed (connect, TLS, login or a statement).
    #[error("{0}")]
    Sql(String),
}

impl Error {
    /// AWS's error code for an API error (`DBInstanceNotFound`, `AccessDenied`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}
