//! [`WebIdentityProvider`]: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (EKS IRSA and other OIDC federation),
//! exchanged for role credentials with STS `AssumeRoleWithWebIdentity`.

use std::io;
use std::path::Path;

use crate::sts::{Sts, default_session_name};
use crate::{Credentials, CredentialsError, ProvideCredentials, ProviderConfig, profile};

/// Credentials for `AWS_ROLE_ARN` in exchange for the OIDC token in `AWS_WEB_IDENTITY_TOKEN_FILE`, with the
/// session name `AWS_ROLE_SESSION_NAME` (default `rds-iam-<milliseconds>`).
///
/// Not configured (no `AWS_WEB_IDENTITY_TOKEN_FILE`) is "not found"; a token file without `AWS_ROLE_ARN`, a
/// missing token file or an STS refusal is an error. The token file is read on every call (Kubernetes rotates it).
///
/// ```
/// use rds_iam_credentials::{CredentialsError, Env, Fs, ProvideCredentials, ProviderConfig, WebIdentityProvider};
///
/// let config = ProviderConfig::new(Env::from_vars([("HOME", "/h")]), Fs::from_files::<&str, &str>([]));
/// let err = WebIdentityProvider::new(&config).provide().unwrap_err();
/// assert!(matches!(err, CredentialsError::NotFound { .. }));
/// ```
#[derive(Debug, Clone)]
pub struct WebIdentityProvider {
    config: ProviderConfig,
}

impl WebIdentityProvider {
    /// Reads the environment, token file and STS settings from `config`.
    pub fn new(config: &ProviderConfig) -> Self {
        Self { config: config.clone() }
    }
}

const SOURCE: &str = "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)";

impl ProvideCredentials for WebIdentityProvider {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        let env = self.config.env();
        let Some(token_file) = env.get_non_blank("AWS_WEB_IDENTITY_TOKEN_FILE") else {
            return Err(CredentialsError::not_found(
                SOURCE,
                "AWS_WEB_IDENTITY_TOKEN_FILE is not set",
            ));
        };
        let Some(role_arn) = env.get_non_blank("AWS_ROLE_ARN") else {
            return Err(CredentialsError::invalid(
                SOURCE,
                "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not: set AWS_ROLE_ARN to the role to assume",
            ));
        };
        // The profile files only matter for the STS region and endpoint; a broken file was reported by the
        // profile source already.
        let profiles = profile::load(env, self.config.fs()).ok();
        let sts = Sts::new(&self.config, profiles.as_ref());
        let session_name = env.get_non_blank("AWS_ROLE_SESSION_NAME");
        assume_role_with_web_identity(
            &self.config,
            &sts,
            SOURCE,
            role_arn.trim(),
            Path::new(token_file.trim()),
            session_name.as_deref(),
        )
        .map(|creds| creds.with_source("web identity"))
    }
}

/// Reads the token in `token_file` and exchanges it for credentials of `role_arn` (shared with profiles that set
/// `web_identity_token_file`).
pub(crate) fn assume_role_with_web_identity(
    config: &ProviderConfig,
    sts: &Sts,
    source_name: &str,
    role_arn: &str,
    token_file: &Path,
    session_name: Option<&str>,
) -> Result<Credentials, CredentialsError> {
    let token = match config.fs().read_to_string(token_file) {
        Ok(token) => token,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CredentialsError::invalid(
                source_name,
                format!(
                    "the web identity token file {} does not exist: check the path (on EKS, that the pod's service \
                     account is annotated with a role and the token volume is mounted)",
                    token_file.display()
                ),
            ));
        }
        Err(e) => {
            return Err(CredentialsError::invalid(
                source_name,
                format!(
                    "could not read the web identity token file {}: {e}",
                    token_file.display()
                ),
            ));
        }
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(CredentialsError::invalid(
            source_name,
            format!("the web identity token file {} is empty", token_file.display()),
        ));
    }
    let session_name = session_name
        .map(str::to_owned)
        .unwrap_or_else(|| default_session_name(config.clock().now()));
    sts.assume_role_with_web_identity(role_arn, &session_name, token)
        .map_err(|message| CredentialsError::failed(source_name, message))
}
