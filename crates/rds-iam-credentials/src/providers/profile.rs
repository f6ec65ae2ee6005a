//! [`ProfileProvider`]: credentials from the selected profile of the shared config and credentials files.

use crate::profile::{self, Profile};
use crate::{Credentials, CredentialsError, Env, Fs, ProvideCredentials};

/// Credentials from the selected profile of the shared `config` and `credentials` files.
///
/// The profile is the explicit one (`--profile`), else `AWS_PROFILE`, else `default`. A profile that was asked
/// for by name but does not exist is an error (as in botocore); a missing `default` is "not found". This version
/// reads static keys (`aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`); profiles that get
/// credentials another way (roles, SSO, processes) are reported as such.
#[derive(Debug, Clone)]
pub struct ProfileProvider {
    env: Env,
    fs: Fs,
    explicit: Option<String>,
}

impl ProfileProvider {
    /// Reads the files named by `env` through `fs`.
    pub fn new(env: Env, fs: Fs) -> Self {
        Self {
            env,
            fs,
            explicit: None,
        }
    }

    /// Uses this profile instead of `AWS_PROFILE` / `default`.
    pub fn with_profile(mut self, name: impl Into<String>) -> Self {
        self.explicit = Some(name.into());
        self
    }

    fn profile_name(&self) -> String {
        profile::selected_profile_name(&self.env, self.explicit.as_deref())
    }
}

/// Profile keys that mean "credentials come from somewhere other than static keys".
const OTHER_SOURCES: [&str; 6] = [
    "role_arn",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "web_identity_token_file",
    "credential_source",
];

impl ProvideCredentials for ProfileProvider {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        let name = self.profile_name();
        let source_name = format!("profile {name}");
        let files = profile::load(&self.env, &self.fs)?;
        let Some(profile) = files.get(&name) else {
            let where_ = format!(
                "{} and {}",
                profile::credentials_path(&self.env).display(),
                profile::config_path(&self.env).display()
            );
            let named = self.explicit.is_some() || self.env.get_non_blank("AWS_PROFILE").is_some();
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
        };
        static_keys(profile, &source_name)
    }
}

fn static_keys(profile: &Profile, source_name: &str) -> Result<Credentials, CredentialsError> {
    let non_blank = |key: &str| profile.get(key).map(str::trim).filter(|v| !v.is_empty());
    match (non_blank("aws_access_key_id"), non_blank("aws_secret_access_key")) {
        (Some(key), Some(secret)) => {
            let mut creds = Credentials::new(key, secret).with_source(source_name);
            if let Some(token) = non_blank("aws_session_token") {
                creds = creds.with_session_token(token);
            }
            Ok(creds)
        }
        (Some(_), None) => Err(CredentialsError::invalid(
            source_name,
            "aws_access_key_id is set but aws_secret_access_key is not: add it or remove the key id",
        )),
        _ => match OTHER_SOURCES.iter().find(|key| non_blank(key).is_some()) {
            Some(key) => Err(CredentialsError::invalid(
                source_name,
                format!(
                    "the profile gets its credentials through `{key}`, which this version of rds-iam does not resolve yet; \
                     export them first, e.g. `eval \"$(aws configure export-credentials --profile {} --format env)\"`",
                    profile.name()
                ),
            )),
            None => Err(CredentialsError::not_found(
                source_name,
                "the profile has no aws_access_key_id",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let creds = ProfileProvider::new(env.clone(), fs.clone())
            .with_profile("dev")
            .provide()
            .unwrap();
        assert_eq!(creds.source(), Some("profile dev"));
        let by_env = Env::from_vars([("HOME", "/h"), ("AWS_PROFILE", "dev")]);
        assert_eq!(
            ProfileProvider::new(by_env, fs.clone())
                .provide()
                .unwrap()
                .access_key_id(),
            KEY
        );
        assert!(matches!(
            ProfileProvider::new(env, fs).provide(),
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
        let err = ProfileProvider::new(env, fs)
            .with_profile("nope")
            .provide()
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"nope\" was not found"), "{err}");
        assert!(err.contains("profiles there: a, b"), "{err}");
    }

    #[test]
    fn other_credential_sources_are_named() {
        let fs = files(
            "",
            "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n",
        );
        let env = Env::from_vars([("HOME", "/h")]);
        let err = ProfileProvider::new(env, fs)
            .with_profile("r")
            .provide()
            .unwrap_err()
            .to_string();
        assert!(err.contains("`role_arn`"), "{err}");
    }
}
