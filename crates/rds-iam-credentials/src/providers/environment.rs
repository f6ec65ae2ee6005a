//! [`EnvironmentProvider`]: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.

use crate::{Credentials, CredentialsError, Env, ProvideCredentials, ProviderConfig};

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optional `AWS_SESSION_TOKEN`.
///
/// Blank values count as unset (as in aws-config). An access key id without a secret key is an error (as in
/// botocore), since it is surely a mistake and falling through to another identity would hide it.
#[derive(Debug, Clone)]
pub struct EnvironmentProvider {
    env: Env,
}

impl EnvironmentProvider {
    /// Reads the environment of `config`.
    pub fn new(config: &ProviderConfig) -> Self {
        Self {
            env: config.env().clone(),
        }
    }
}

const ENV_SOURCE: &str = "environment variables";

impl ProvideCredentials for EnvironmentProvider {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        let key = self.env.get_non_blank("AWS_ACCESS_KEY_ID");
        let secret = self.env.get_non_blank("AWS_SECRET_ACCESS_KEY");
        match (key, secret) {
            (None, None) => Err(CredentialsError::not_found(ENV_SOURCE, "AWS_ACCESS_KEY_ID is not set")),
            (Some(_), None) => Err(CredentialsError::invalid(
                ENV_SOURCE,
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or unset AWS_ACCESS_KEY_ID",
            )),
            // Like botocore and aws-config: without a key id this source is simply absent.
            (None, Some(_)) => Err(CredentialsError::not_found(
                ENV_SOURCE,
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not (or is blank)",
            )),
            (Some(key), Some(secret)) => {
                let mut creds = Credentials::new(key.trim(), secret.trim()).with_source("environment");
                if let Some(token) = self.env.get_non_blank("AWS_SESSION_TOKEN") {
                    creds = creds.with_session_token(token.trim());
                }
                Ok(creds)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn environment() {
        let provide = |vars: &[(&str, &str)]| {
            EnvironmentProvider::new(&ProviderConfig::from_env(Env::from_vars(vars.iter().copied()))).provide()
        };
        let creds = provide(&[
            ("AWS_ACCESS_KEY_ID", KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", "tok"),
        ])
        .unwrap();
        assert_eq!(creds.access_key_id(), KEY);
        assert_eq!(creds.session_token().unwrap().expose(), "tok");
        assert_eq!(creds.source(), Some("environment"));
        assert!(matches!(provide(&[]), Err(CredentialsError::NotFound { .. })));
        assert!(matches!(
            provide(&[("AWS_ACCESS_KEY_ID", " ")]),
            Err(CredentialsError::NotFound { .. })
        ));
        let err = provide(&[("AWS_ACCESS_KEY_ID", KEY)]).unwrap_err();
        assert!(err.to_string().contains("AWS_SECRET_ACCESS_KEY is not"), "{err}");
        assert!(!err.to_string().contains(KEY));
    }
}
