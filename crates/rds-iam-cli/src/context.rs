//! [`Context`]: the real world (clock, environment, files, terminal) as the commands see it.

use std::time::SystemTime;

use rds_iam_credentials::{Env, Fs, ProviderConfig};

/// What a command reads from outside: the process environment, the file system and the clock.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) env: Env,
    pub(crate) fs: Fs,
    pub(crate) now: SystemTime,
}

impl Context {
    /// The process's environment, file system and the current time.
    pub(crate) fn real() -> Context {
        #[allow(clippy::disallowed_methods, reason = "the CLI is the one place that reads the clock")]
        let now = SystemTime::now();
        Context {
            env: Env::real(),
            fs: Fs::real(),
            now,
        }
    }
}

impl Context {
    /// Where private folders (the embedded proxy's socket) go: `TMPDIR`, else the platform's.
    pub(crate) fn temp_dir(&self) -> std::path::PathBuf {
        self.env
            .get_non_blank("TMPDIR")
            .map_or_else(std::env::temp_dir, std::path::PathBuf::from)
    }

    /// What the credential sources see: this context's environment and files, the system clock (providers
    /// judge expiry while they run), and the explicitly selected profile.
    pub(crate) fn provider_config(&self, profile: Option<&str>) -> ProviderConfig {
        let config = ProviderConfig::new(self.env.clone(), self.fs.clone());
        match profile {
            Some(profile) => config.with_profile(profile),
            None => config,
        }
    }
}

/// Logs to stderr at the levels of `RUST_LOG` (e.g. `RUST_LOG=rds_iam=debug`), else at `default`'s, else not at
/// all; as one JSON object per line when `json`. Secrets are never logged: every secret is a `Secret`, whose
/// `Debug` is redacted.
pub(crate) fn init_logging(default: Option<&str>, json: bool) {
    #[allow(clippy::disallowed_methods, reason = "the CLI reads its own environment")]
    let filter = match (std::env::var("RUST_LOG"), default) {
        (Ok(levels), _) => tracing_subscriber::EnvFilter::new(levels),
        (Err(_), Some(levels)) => tracing_subscriber::EnvFilter::new(levels),
        (Err(_), None) => return,
    };
    use std::io::IsTerminal;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().flatten_event(true).with_current_span(false).init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }
}
