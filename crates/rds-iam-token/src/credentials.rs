//! [`Credentials`]: the AWS access key that signs a token.

use std::fmt;
use std::sync::OnceLock;
use std::time::SystemTime;

use aws_smithy_runtime_api::client::identity::Identity;

use crate::Secret;

/// An AWS access key: access key id, secret access key, optional session token and expiry.
///
/// `Debug` shows the access key id, whether a session token is present, the expiry and the source, never the
/// secret key or the session token.
///
/// ```
/// use rds_iam_token::Credentials;
///
/// let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
///     .with_source("environment");
/// assert_eq!(creds.access_key_id(), "AKIAIOSFODNN7EXAMPLE");
/// assert!(!format!("{creds:?}").contains("EXAMPLEKEY"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: Secret<String>,
    session_token: Option<Secret<String>>,
    expiry: Option<SystemTime>,
    source: Option<String>,
    /// aws-sigv4's view of these credentials, built on first signing and reused (it copies the secrets).
    identity: OnceLock<Identity>,
}

impl PartialEq for Credentials {
    fn eq(&self, other: &Self) -> bool {
        self.access_key_id == other.access_key_id
            && self.secret_access_key == other.secret_access_key
            && self.session_token == other.session_token
            && self.expiry == other.expiry
            && self.source == other.source
    }
}

impl Eq for Credentials {}

impl Credentials {
    /// Long-term credentials: an access key id and its secret access key.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: Secret::new(secret_access_key.into()),
            session_token: None,
            expiry: None,
            source: None,
            identity: OnceLock::new(),
        }
    }

    /// Adds the session token of temporary credentials (STS, SSO, IMDS, ECS).
    pub fn with_session_token(mut self, session_token: impl Into<String>) -> Self {
        self.session_token = Some(Secret::new(session_token.into()));
        self.identity = OnceLock::new();
        self
    }

    /// Sets when these credentials stop working. Tokens signed with them are never reused past it.
    pub fn with_expiry(mut self, expiry: SystemTime) -> Self {
        self.expiry = Some(expiry);
        self
    }

    /// Names where the credentials came from (`"environment"`, `"profile default"`, …), for messages.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The access key id (`AKIA…` for long-term keys, `ASIA…` for temporary ones). Not a secret.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key.
    pub fn secret_access_key(&self) -> &Secret<String> {
        &self.secret_access_key
    }

    /// The session token of temporary credentials.
    pub fn session_token(&self) -> Option<&Secret<String>> {
        self.session_token.as_ref()
    }

    /// When the credentials expire, if they do.
    pub fn expiry(&self) -> Option<SystemTime> {
        self.expiry
    }

    /// Where the credentials came from, if the provider said.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The aws-sigv4 identity for these credentials (expiry is enforced by this crate, not by aws-sigv4).
    pub(crate) fn identity(&self) -> &Identity {
        self.identity.get_or_init(|| {
            aws_credential_types::Credentials::new(
                &self.access_key_id,
                self.secret_access_key.expose(),
                self.session_token.as_ref().map(|t| t.expose().clone()),
                None,
                "rds-iam",
            )
            .into()
        })
    }

    /// Whether the credentials are expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expiry.is_some_and(|expiry| expiry <= now)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("expiry", &self.expiry)
            .field("source", &self.source)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let creds = Credentials::new("ASIAEXAMPLE", "SECRETKEYVALUE")
            .with_session_token("SESSIONTOKENVALUE")
            .with_expiry(SystemTime::UNIX_EPOCH);
        let shown = format!("{creds:?} {creds:#?}");
        assert!(shown.contains("ASIAEXAMPLE"));
        assert!(!shown.contains("SECRETKEYVALUE"), "{shown}");
        assert!(!shown.contains("SESSIONTOKENVALUE"), "{shown}");
    }

    #[test]
    fn expiry() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let creds = Credentials::new("a", "b").with_expiry(t);
        assert!(!creds.is_expired(t - Duration::from_secs(1)));
        assert!(creds.is_expired(t));
        assert!(!Credentials::new("a", "b").is_expired(t));
    }
}
