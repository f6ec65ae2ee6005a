//! [`ProfileProvider`]: credentials from the selected profile of the shared config and credentials files.

use super::profile_chain::{self, PlanError};
use crate::profile::{self, FileKind};
use crate::{Credentials, CredentialsError, ProvideCredentials, ProviderConfig};

/// Credentials from the selected profile of the shared `config` and `credentials` files.
///
/// The profile is the explicit one (`--profile`), else `AWS_PROFILE`, else `default`. A profile that was asked
/// for by name but does not exist is an error (as in botocore); a missing `default`, or one without any
/// credential settings, is "not found".
///
/// Supported: static keys, `credential_process`, IAM Identity Center (`sso_*` or `sso_session`, using the token
/// cache of `aws sso login`), `web_identity_token_file` + `role_arn`, and `role_arn` with `source_profile` or
/// `credential_source` (chains of any length; loops are reported). STS and the SSO portal honour
/// `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL_SSO` / `AWS_ENDPOINT_URL`.
#[derive(Debug, Clone)]
pub struct ProfileProvider {
    config: ProviderConfig,
}

impl ProfileProvider {
    /// Reads everything (environment, files, clock, HTTP settings, the profile: the explicit one, else
    /// `AWS_PROFILE`, else `default`) from `config`.
    pub fn new(config: &ProviderConfig) -> Self {
        Self { config: config.clone() }
    }
}

impl ProvideCredentials for ProfileProvider {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        let env = self.config.env();
        let name = self.config.profile_name();
        let source_name = format!("profile {name}");
        let files = profile::load(env, self.config.fs())?;
        if files.get(&name).is_none() {
            let where_ = format!(
                "{} and {}",
                profile::shown_path(env, FileKind::Credentials),
                profile::shown_path(env, FileKind::Config)
            );
            let named = self.config.profile().is_some() || env.get_non_blank("AWS_PROFILE").is_some();
            if !named {
                return Err(CredentialsError::not_found(
                    source_name,
                    format!("no [default] profile in {where_}"),
                ));
            }
            let mut known: Vec<&str> = files.names().collect();
            known.sort_unstable();
            let known = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            return Err(CredentialsError::invalid(
                source_name,
                format!("the profile {name:?} was not found in {where_} (profiles there: {known})"),
            ));
        }
        let plan = profile_chain::plan(&files, &name).map_err(|e| match e {
            PlanError::Empty(reason) => CredentialsError::not_found(&source_name, reason),
            PlanError::Invalid(message) => CredentialsError::invalid(&source_name, message),
        })?;
        profile_chain::execute(&self.config, &files, &name, &plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Env, Fs};

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn files(credentials: &str, config: &str) -> Fs {
        Fs::from_files([("/h/.aws/credentials", credentials), ("/h/.aws/config", config)])
    }

    #[test]
    fn profile_static_keys() {
        let fs = files(
            &format!("[dev]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"),
            "",
        );
        let env = Env::from_vars([("HOME", "/h")]);
        let creds = ProfileProvider::new(&ProviderConfig::new(env.clone(), fs.clone()).with_profile("dev"))
            .provide()
            .unwrap();
        assert_eq!(creds.source(), Some("profile dev"));
        let by_env = Env::from_vars([("HOME", "/h"), ("AWS_PROFILE", "dev")]);
        assert_eq!(
            ProfileProvider::new(&ProviderConfig::new(by_env, fs.clone()))
                .provide()
                .unwrap()
                .access_key_id(),
            KEY
        );
        assert!(matches!(
            ProfileProvider::new(&ProviderConfig::new(env, fs)).provide(),
            Err(CredentialsError::NotFound { .. })
        ));
    }

    #[test]
    fn missing_named_profile_is_an_error() {
        let fs = files(
            "[a]\naws_access_key_id = x\naws_secret_access_key = y\n",
            "[profile b]\nregion = eu-west-1\n",
        );
        let env = Env::from_vars([("HOME", "/h")]);
        let err = ProfileProvider::new(&ProviderConfig::new(env, fs).with_profile("nope"))
            .provide()
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"nope\" was not found"), "{err}");
        assert!(err.contains("profiles there: a, b"), "{err}");
    }

    #[test]
    fn broken_chains_stop_with_a_named_error() {
        let fs = files(
            "",
            "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n",
        );
        let env = Env::from_vars([("HOME", "/h")]);
        let err = ProfileProvider::new(&ProviderConfig::new(env, fs).with_profile("r"))
            .provide()
            .unwrap_err();
        assert!(
            matches!(
                err,
                CredentialsError::InvalidConfiguration { .. } | CredentialsError::ProviderError { .. }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("profile r: could not find source profile default referenced from r"),
            "{err}"
        );
    }
}
