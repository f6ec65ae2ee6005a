//! [`DefaultChain`]: the credential sources in the order the AWS SDKs use.

use crate::{
    CachingProvider, Credentials, CredentialsError, EcsProvider, Env, EnvironmentProvider, Fs, ImdsProvider,
    ProfileProvider, ProvideCredentials, ProviderConfig, WebIdentityProvider,
};

/// The AWS SDKs' order: environment variables, the selected profile (static keys, `credential_process`, SSO,
/// web identity, role chains), web identity from the environment (EKS IRSA), container credentials (ECS, EKS Pod
/// Identity), then the EC2 instance role over IMDSv2.
///
/// The first source with credentials wins; a source that is configured but broken stops the chain with its error;
/// if none has credentials, the error lists every place looked. Off EC2 the last step fails within about a second
/// (a closed or black-holed metadata address), never the SDKs' multi-second stalls.
#[derive(Debug)]
pub struct DefaultChain {
    providers: Vec<Box<dyn ProvideCredentials>>,
}

impl DefaultChain {
    /// The chain over `env` and `fs`, with the profile from `AWS_PROFILE` or `default`.
    pub fn new(env: Env, fs: Fs) -> Self {
        Self::with_profile(env, fs, None)
    }

    /// The chain with an explicit profile (`--profile`), which also beats `AWS_PROFILE`.
    pub fn with_profile(env: Env, fs: Fs, profile: Option<&str>) -> Self {
        let mut config = ProviderConfig::new(env, fs);
        if let Some(name) = profile {
            config = config.with_profile(name);
        }
        Self::from_config(config)
    }

    /// The chain behind a [`CachingProvider`]: what long-running programs and pools want (temporary credentials
    /// are reused and refreshed ahead of expiry, one fetch at a time).
    pub fn cached(config: ProviderConfig) -> CachingProvider {
        let clock = config.clock().clone();
        CachingProvider::new(Self::from_config(config), clock)
    }

    /// The chain over everything in `config` (environment, files, clock, HTTP settings, explicit profile).
    pub fn from_config(config: ProviderConfig) -> Self {
        let profile_provider = ProfileProvider::from_config(config.clone());
        if config.profile().is_some() {
            // An explicit profile means "use this profile": skip the other sources, as the AWS CLI does.
            return Self {
                providers: vec![Box::new(profile_provider)],
            };
        }
        Self {
            providers: vec![
                Box::new(EnvironmentProvider::new(config.env().clone())),
                Box::new(profile_provider),
                Box::new(WebIdentityProvider::new(config.clone())),
                Box::new(EcsProvider::new(&config)),
                Box::new(ImdsProvider::new(&config)),
            ],
        }
    }
}

impl ProvideCredentials for DefaultChain {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        let mut looked = Vec::new();
        for provider in &self.providers {
            match provider.provide() {
                Err(err @ CredentialsError::NotFound { .. }) => {
                    tracing::debug!(%err, "credential source not found, trying the next one");
                    looked.push(err.to_string());
                }
                Ok(creds) => {
                    tracing::debug!(
                        source = creds.source(),
                        access_key_id = creds.access_key_id(),
                        "credentials found"
                    );
                    return Ok(creds);
                }
                Err(err) => {
                    tracing::debug!(%err, "credential source failed; the chain stops here");
                    return Err(err);
                }
            }
        }
        Err(CredentialsError::NoneFound { looked })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_beats_profile_and_explicit_profile_beats_env() {
        let env = Env::from_vars([
            ("HOME", "/h"),
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ]);
        let fs = Fs::from_files([(
            "/h/.aws/credentials",
            "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s\n[p]\naws_access_key_id = AKIDP\naws_secret_access_key = s\n",
        )]);
        assert_eq!(
            DefaultChain::new(env.clone(), fs.clone())
                .provide()
                .unwrap()
                .access_key_id(),
            "AKIDENV"
        );
        let p = DefaultChain::with_profile(env, fs, Some("p")).provide().unwrap();
        assert_eq!(p.access_key_id(), "AKIDP");
    }

    #[test]
    fn none_found_lists_places() {
        // A closed loopback port stands in for "not on EC2": the chain must never leave the machine in tests.
        let env = Env::from_vars([
            ("HOME", "/h"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9"),
        ]);
        let started = std::time::Instant::now();
        let err = DefaultChain::new(env, Fs::from_files::<&str, &str>([]))
            .provide()
            .unwrap_err()
            .to_string();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        assert!(
            err.contains("environment variables: AWS_ACCESS_KEY_ID is not set"),
            "{err}"
        );
        for place in [
            "profile",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS",
            "http://127.0.0.1:9",
        ] {
            assert!(err.contains(place), "{place} missing from: {err}");
        }
    }
}
