//! [`SdkCredentialsProvider`]: this crate's chain as an aws-credential-types provider, for aws-sdk clients.

use std::sync::Arc;

use aws_credential_types::provider::{self, future};

use crate::{Credentials, CredentialsError, ProvideCredentials};

/// Lets AWS SDK clients (aws-sdk-rds in `rds-iam-admin`) use rds-iam's credential chain, so the SDK sees exactly
/// the credentials `rds-iam token` signs with.
///
/// Our providers block (they may call STS, SSO or IMDS); the SDK polls futures on an async runtime, where blocking
/// would stall it. Each fetch therefore runs on its own thread and the future waits for its answer. The SDK
/// caches credentials itself, so fetches are rare.
///
/// ```
/// use aws_credential_types::provider::ProvideCredentials as _;
/// use rds_iam_credentials::{DefaultChain, Env, Fs, ProviderConfig, SdkCredentialsProvider};
///
/// let env = Env::from_vars([("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "secret")]);
/// let provider = SdkCredentialsProvider::new(DefaultChain::builder().config(&ProviderConfig::new(env, Fs::from_files::<&str, &str>([]))).uncached());
/// let _future = provider.provide_credentials(); // awaited by the SDK
/// ```
#[derive(Clone, Debug)]
pub struct SdkCredentialsProvider(Arc<dyn ProvideCredentials>);

impl SdkCredentialsProvider {
    /// Wraps `provider` (typically a [`crate::CachingProvider`] around the [`crate::DefaultChain`]).
    pub fn new(provider: impl ProvideCredentials + 'static) -> Self {
        Self(Arc::new(provider))
    }
}

impl provider::ProvideCredentials for SdkCredentialsProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let inner = self.0.clone();
        future::ProvideCredentials::new(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                // The receiver is gone only if the SDK dropped the future: nobody wants the answer.
                let _ = tx.send(inner.provide());
            });
            match rx.await {
                Ok(Ok(creds)) => Ok(to_sdk(&creds)),
                Ok(Err(err @ CredentialsError::NotFound { .. })) => {
                    Err(provider::error::CredentialsError::not_loaded(err.to_string()))
                }
                Ok(Err(err)) => Err(provider::error::CredentialsError::provider_error(err.to_string())),
                Err(_) => Err(provider::error::CredentialsError::unhandled(
                    "the credentials thread stopped without an answer",
                )),
            }
        })
    }
}

/// `creds` as the SDK's credentials: the same keys, session token and expiry (a plain function: neither type is
/// this crate's, so it cannot be a `From` impl, and the token crate's API stays free of aws-credential-types).
fn to_sdk(creds: &Credentials) -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key().expose(),
        creds.session_token().map(|t| t.expose().clone()),
        creds.expiry(),
        "rds-iam",
    )
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use aws_credential_types::provider::ProvideCredentials as _;

    use super::*;
    use crate::{Env, EnvironmentProvider, ProviderConfig};

    /// The smallest executor: poll, park until woken, repeat.
    fn block_on<F: Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(out) => return out,
                Poll::Pending => std::thread::park(),
            }
        }
    }

    #[test]
    fn hands_credentials_to_the_sdk() {
        let env = Env::from_vars([
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_SESSION_TOKEN", "T"),
        ]);
        let sdk = SdkCredentialsProvider::new(EnvironmentProvider::new(&ProviderConfig::from_env(env)));
        let creds = block_on(sdk.provide_credentials()).unwrap();
        assert_eq!(
            (creds.access_key_id(), creds.secret_access_key(), creds.session_token()),
            ("AKID", "S", Some("T"))
        );
    }

    #[test]
    fn converts_keys_session_token_and_expiry() {
        let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000);
        let sdk = to_sdk(&Credentials::new("A", "B").with_session_token("C").with_expiry(t));
        assert_eq!(
            (sdk.access_key_id(), sdk.secret_access_key(), sdk.session_token()),
            ("A", "B", Some("C"))
        );
        assert_eq!(sdk.expiry(), Some(t));
        assert_eq!(to_sdk(&Credentials::new("A", "B")).session_token(), None);
    }

    #[test]
    fn not_found_is_not_loaded() {
        let sdk = SdkCredentialsProvider::new(EnvironmentProvider::new(&ProviderConfig::from_env(Env::from_vars::<
            &str,
            &str,
        >([]))));
        let err = block_on(sdk.provide_credentials()).unwrap_err();
        assert!(
            matches!(err, provider::error::CredentialsError::CredentialsNotLoaded(_)),
            "{err:?}"
        );
    }
}
