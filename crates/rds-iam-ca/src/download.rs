//! HTTPS download of a bundle: reqwest's blocking client on rustls (ring), HTTPS only (redirects too), timeouts,
//! a size cap, conditional requests, and optional extra trust roots for the download itself.

use std::io::Read;
use std::sync::OnceLock;
use std::time::Duration;

use crate::Error;

/// How bundles are downloaded.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DownloadSettings {
    /// Limit for the TCP and TLS connection.
    pub connect_timeout: Duration,
    /// Limit for the whole request, body included.
    pub timeout: Duration,
    /// Larger bodies are refused (the global bundle is about 150 KB).
    pub max_bytes: usize,
    /// Extra root certificates (PEM) trusted for the download: a TLS-inspecting proxy's, a mirror's, a test
    /// server's. The system's roots stay trusted.
    pub extra_roots_pem: Vec<Vec<u8>>,
}

impl Default for DownloadSettings {
    /// 5 s to connect, 30 s per request, 4 MiB.
    fn default() -> Self {
        DownloadSettings {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_bytes: 4 << 20,
            extra_roots_pem: Vec::new(),
        }
    }
}

impl DownloadSettings {
    /// Trusts `pem` (one or more certificates) for the download too.
    pub fn with_extra_root_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots_pem.push(pem.into());
        self
    }

    /// Sets both timeouts.
    pub fn with_timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.connect_timeout = connect;
        self.timeout = total;
        self
    }

    /// Sets the size cap.
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}

/// Validators of a stored copy, sent so the server can answer `304 Not Modified`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Validators {
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
}

/// What the server answered.
#[derive(Debug)]
pub(crate) enum Downloaded {
    /// 200 with a body (within the cap).
    Body {
        body: Vec<u8>,
        content_type: Option<String>,
        validators: Validators,
    },
    /// 304: the stored copy is current.
    NotModified,
}

/// The blocking client, built on first use.
#[derive(Debug)]
pub(crate) struct Downloader {
    settings: DownloadSettings,
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
}

impl Downloader {
    pub(crate) fn new(settings: DownloadSettings) -> Downloader {
        Downloader {
            settings,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, String> {
        self.client
            .get_or_init(|| {
                install_crypto_provider();
                let s = &self.settings;
                let mut builder = reqwest::blocking::Client::builder()
                    .tls_backend_rustls()
                    .https_only(true)
                    .connect_timeout(s.connect_timeout)
                    .timeout(s.timeout)
                    .redirect(reqwest::redirect::Policy::limited(5))
                    .user_agent(concat!("rds-iam/", env!("CARGO_PKG_VERSION")));
                for pem in &s.extra_roots_pem {
                    let certs = reqwest::Certificate::from_pem_bundle(pem)
                        .map_err(|e| format!("the extra download root is not PEM: {e}"))?;
                    for cert in certs {
                        builder = builder.add_root_certificate(cert);
                    }
                }
                builder.build().map_err(|e| root_cause(&e))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// `GET url`, conditional on `validators` when given.
    pub(crate) fn get(&self, url: &str, validators: Option<&Validators>) -> Result<Downloaded, Error> {
        if !url.starts_with("https://") {
            return Err(Error::NotHttps { url: url.to_owned() });
        }
        let failed = |reason: String| Error::Download {
            url: url.to_owned(),
            reason,
        };
        let mut request = self.client().map_err(failed)?.get(url);
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header("If-None-Match", etag);
            }
            if let Some(lm) = &v.last_modified {
                request = request.header("If-Modified-Since", lm);
            }
        }
        tracing::debug!(url, conditional = validators.is_some(), "downloading CA bundle");
        let timeout = |_| Error::Timeout {
            url: url.to_owned(),
            after: self.settings.timeout,
        };
        let response = request.send().map_err(|e| {
            if e.is_timeout() {
                timeout(())
            } else {
                failed(root_cause(&e))
            }
        })?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let validators = Validators {
            etag: header("etag"),
            last_modified: header("last-modified"),
        };
        if status == 304 {
            tracing::debug!(url, "CA bundle not modified");
            return Ok(Downloaded::NotModified);
        }
        let limit = self.settings.max_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(Error::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        let mut body = Vec::new();
        response.take(limit as u64 + 1).read_to_end(&mut body).map_err(|e| {
            let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                || e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                    .is_some_and(reqwest::Error::is_timeout);
            if timed_out {
                timeout(())
            } else {
                failed(format!(
                    "the connection broke while reading the body ({})",
                    root_cause(&e)
                ))
            }
        })?;
        if body.len() > limit {
            return Err(Error::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        if !(200..300).contains(&status) {
            return Err(Error::Status {
                url: url.to_owned(),
                status,
                received: crate::verify::Received {
                    content_type,
                    ..crate::verify::Received::of(&body)
                },
            });
        }
        tracing::debug!(url, status, bytes = body.len(), "CA bundle downloaded");
        Ok(Downloaded::Body {
            body,
            content_type,
            validators,
        })
    }
}

/// Makes ring rustls's process-wide provider, once (a no-op if the program already chose one).
///
/// A copy of `rds_iam_credentials::install_crypto_provider`: this crate does not depend on rds-iam-credentials
/// (DESIGN.md keeps ca beside it), and rds-iam-token, the one crate both depend on, has no rustls by design.
/// `cargo xtask tidy` checks that the two bodies stay identical.
fn install_crypto_provider() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // Err means a provider is already installed: keep the program's choice.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The innermost cause: reqwest's own message is "error sending request", the useful part is at the bottom.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Installs ring's provider as the process default. The copy in rds-iam-credentials' http.rs must stay the same
    /// (`install_crypto_provider_copies_agree` in xtask/src/tidy.rs).
    #[test]
    fn installs_ring_as_the_process_default() {
        install_crypto_provider();
        let installed = rustls::crypto::CryptoProvider::get_default().expect("a default provider");
        let ring = rustls::crypto::ring::default_provider();
        let suites = |p: &rustls::crypto::CryptoProvider| p.cipher_suites.iter().map(|s| s.suite()).collect::<Vec<_>>();
        let groups = |p: &rustls::crypto::CryptoProvider| p.kx_groups.iter().map(|g| g.name()).collect::<Vec<_>>();
        assert_eq!(suites(installed), suites(&ring));
        assert_eq!(groups(installed), groups(&ring));
    }
}
