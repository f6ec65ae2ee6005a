//! [`ProviderConfig`]: what every credential source reads from outside — environment, files, clock, HTTP settings.

use crate::http::HttpSettings;
use crate::{Clock, Env, Fs};

/// The outside world as the credential sources see it. Tests swap in fixed variables, files and a manual clock.
///
/// ```
/// use rds_iam_credentials::{Env, Fs, ProviderConfig};
///
/// let config = ProviderConfig::new(Env::from_vars([("HOME", "/home/me")]), Fs::from_files::<&str, &str>([]))
///     .with_profile("ci");
/// assert_eq!(config.profile(), Some("ci"));
/// ```
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    env: Env,
    fs: Fs,
    clock: Clock,
    profile: Option<String>,
    service_http: HttpSettings,
    metadata_http: HttpSettings,
}

impl ProviderConfig {
    /// The process environment, the real file system and the system clock.
    pub fn real() -> Self {
        Self::new(Env::real(), Fs::real())
    }

    /// `env` and `fs` with the system clock and default HTTP settings.
    pub fn new(env: Env, fs: Fs) -> Self {
        Self {
            env,
            fs,
            clock: Clock::system(),
            profile: None,
            service_http: HttpSettings::service(),
            metadata_http: HttpSettings::metadata(),
        }
    }

    /// A configuration with `env` and no files (for sources that read only the environment).
    pub fn from_env(env: Env) -> Self {
        Self::new(env, Fs::from_files::<&str, &str>([]))
    }

    /// Uses `clock` for expiry decisions.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Selects a profile explicitly (`--profile`); it beats `AWS_PROFILE`.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// HTTP settings for AWS service endpoints (STS, SSO).
    pub fn with_service_http(mut self, settings: HttpSettings) -> Self {
        self.service_http = settings;
        self
    }

    /// HTTP settings for metadata endpoints (IMDS, ECS).
    pub fn with_metadata_http(mut self, settings: HttpSettings) -> Self {
        self.metadata_http = settings;
        self
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The file system.
    pub fn fs(&self) -> &Fs {
        &self.fs
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The explicitly selected profile, if any (see [`crate::profile::selected_profile_name`] for the effective one).
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// The profile in effect: explicit > `AWS_PROFILE` > `default`.
    pub fn profile_name(&self) -> String {
        crate::profile::selected_profile_name(&self.env, self.profile.as_deref())
    }

    /// HTTP settings for AWS service endpoints.
    pub fn service_http(&self) -> &HttpSettings {
        &self.service_http
    }

    /// HTTP settings for metadata endpoints.
    pub fn metadata_http(&self) -> &HttpSettings {
        &self.metadata_http
    }
}
