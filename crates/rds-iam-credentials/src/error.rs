//! [`CredentialsError`]: why no credentials could be loaded.

use std::sync::Arc;

use crate::profile::ProfileFileError;

/// Why a provider or the chain produced no credentials. Never contains a secret.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// This source is configured, but its configuration cannot work (a setting, a file, a combination of them); a
    /// chain stops here.
    #[error("{source_name}: {message}")]
    InvalidConfiguration {
        /// The source.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// This source was asked and failed (an HTTP status, an unreachable endpoint, a refused role, a command that
    /// failed, an answer without credentials); a chain stops here.
    #[error("{source_name}: {message}")]
    ProviderError {
        /// The source.
        source_name: String,
        /// What failed.
        message: String,
    },
    /// A shared config or credentials file could not be read or parsed.
    #[error(transparent)]
    ProfileFile(Arc<ProfileFileError>),
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
        CredentialsError::InvalidConfiguration {
            source_name: source_name.into(),
            message: message.into(),
        }
    }

    pub(crate) fn failed(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        CredentialsError::ProviderError {
            source_name: source_name.into(),
            message: message.into(),
        }
    }

    /// Whether a chain moves on past this error (the source has no credentials) rather than stopping.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CredentialsError::NotFound { .. })
    }
}

impl From<ProfileFileError> for CredentialsError {
    fn from(err: ProfileFileError) -> Self {
        CredentialsError::ProfileFile(Arc::new(err))
    }
}
