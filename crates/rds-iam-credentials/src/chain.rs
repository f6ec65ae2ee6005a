//! [`DefaultChain`]: the credential sources in the order the AWS SDKs use.

use crate::{
    CachingProvider, Credentials, CredentialsError, EcsProvider, EnvironmentProvider, ImdsProvider, ProfileProvider,
    ProvideCredentials, ProviderConfig, WebIdentityProvider,
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
    /// The one way to build the chain. `build()` gives it behind a [`CachingProvider`] — what programs, pools and
    /// connectors want (temporary credentials reused and refreshed ahead of expiry, one fetch at a time);
    /// `uncached()` gives the bare chain, for a one-shot caller that provides once.
    ///
    /// ```
    /// use rds_iam_credentials::{DefaultChain, Env, Fs, ProviderConfig};
    ///
    /// let config = ProviderConfig::new(Env::from_vars([("HOME", "/home/me")]), Fs::from_files::<&str, &str>([]));
    /// let chain = DefaultChain::builder().config(&config).profile("deploy").build();
    /// # let _ = chain;
    /// ```
    pub fn builder() -> DefaultChainBuilder {
        DefaultChainBuilder::default()
    }

    /// The chain over everything in `config` (environment, files, clock, HTTP settings, explicit profile).
    fn from_config(config: ProviderConfig) -> Self {
        let profile_provider = ProfileProvider::new(&config);
        if config.profile().is_some() {
            // An explicit profile means "use this profile": skip the other sources, as the AWS CLI does.
            return Self {
                providers: vec![Box::new(profile_provider)],
            };
        }
        Self {
            providers: vec![
                Box::new(EnvironmentProvider::new(&config)),
                Box::new(profile_provider),
                Box::new(WebIdentityProvider::new(&config)),
                Box::new(EcsProvider::new(&config)),
                Box::new(ImdsProvider::new(&config)),
            ],
        }
    }
}

/// Builds a [`DefaultChain`]: [`DefaultChain::builder`].
#[derive(Clone, Debug, Default)]
pub struct DefaultChainBuilder {
    config: Option<ProviderConfig>,
    profile: Option<String>,
}

impl DefaultChainBuilder {
    /// What the sources read: environment, files, clock, HTTP settings (default: [`ProviderConfig::real`], the
    /// process's own).
    pub fn config(mut self, config: &ProviderConfig) -> Self {
        self.config = Some(config.clone());
        self
    }

    /// Uses this profile only (it also beats `AWS_PROFILE`): the other sources are skipped, as the AWS CLI does
    /// with `--profile`.
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// The chain behind a [`CachingProvider`].
    pub fn build(self) -> CachingProvider {
        let config = self.resolved();
        let clock = config.clock().clone();
        CachingProvider::new(DefaultChain::from_config(config), clock)
    }

    /// The chain without a cache: every `provide()` asks the sources again. For a caller that provides once.
    pub fn uncached(self) -> DefaultChain {
        DefaultChain::from_config(self.resolved())
    }

    fn resolved(self) -> ProviderConfig {
        let config = self.config.unwrap_or_else(ProviderConfig::real);
        match self.profile {
            Some(name) => config.with_profile(name),
            None => config,
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
    use crate::{Env, Fs};

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
            DefaultChain::builder()
                .config(&ProviderConfig::new(env.clone(), fs.clone()))
                .uncached()
                .provide()
                .unwrap()
                .access_key_id(),
            "AKIDENV"
        );
        let p = DefaultChain::builder()
            .config(&ProviderConfig::new(env, fs))
            .profile("p")
            .uncached()
            .provide()
            .unwrap();
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
        let err = DefaultChain::builder()
            .config(&ProviderConfig::new(env, Fs::from_files::<&str, &str>([])))
            .uncached()
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
