//! [`CredentialsError`]: why no credentials could be loaded.

use crate::profile::ProfileFileError;

/// Why a provider or the chain produced no credentials. Never contains a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// This source has no credentials; a chain moves on to the next source.
    #[error("{source_name}: {reason}")]
    NotFound {
        /// The source that was looked at (`environment variables`, `profile default`, …).
        source_name: String,
        /// What was missing.
        reason: String,
    },
    /// This source is configured but cannot give credentials; a chain stops here.
    #[error("{source_name}: {message}")]
    Invalid {
        /// The source that failed.
        source_name: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A shared config or credentials file could not be read or parsed.
    #[error(transparent)]
    ProfileFile(#[from] ProfileFileError),
    /// Every source of the chain came up empty.
    #[error("no AWS credentials found; looked in:\n{}\nset AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile (AWS_PROFILE), or run `aws configure`", looked.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n"))]
    NoneFound {
        /// One line per source: where it looked and what was missing.
        looked: Vec<String>,
    },
}

impl CredentialsError {
    pub(crate) fn not_found(source_name: impl Into<String>, reason: impl Into<String>) -> Self {
        CredentialsError::NotFound {
            source_name: source_name.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        CredentialsError::Invalid {
            source_name: source_name.into(),
            message: message.into(),
        }
    }

    /// The same error again, for a second caller (an I/O cause is carried over as its kind and message).
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            CredentialsError::NotFound { source_name, reason } => Self::not_found(source_name, reason),
            CredentialsError::Invalid { source_name, message } => Self::invalid(source_name, message),
            CredentialsError::ProfileFile(e) => CredentialsError::ProfileFile(e.duplicate()),
            CredentialsError::NoneFound { looked } => CredentialsError::NoneFound { looked: looked.clone() },
        }
    }
}
