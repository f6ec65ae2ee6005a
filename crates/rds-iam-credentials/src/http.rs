//! Blocking HTTP for the credential sources that need it (IMDS, ECS, STS, SSO): reqwest on rustls (ring),
//! timeouts, no redirects, and a cap on the body size.

use std::fmt;
use std::io::Read;
use std::sync::OnceLock;
use std::time::Duration;

/// How a credential source talks HTTP.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpSettings {
    /// Limit for establishing the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Limit for a whole request, response body included.
    pub timeout: Duration,
    /// Bodies larger than this are refused (a credentials response is a few KiB).
    pub max_body: usize,
    /// Use `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (yes for STS and SSO, no for link-local metadata endpoints).
    pub use_env_proxy: bool,
    /// Extra trusted root certificates (PEM), e.g. a TLS-inspecting corporate proxy's or a test server's.
    pub extra_roots_pem: Vec<Vec<u8>>,
}

impl HttpSettings {
    /// Settings for AWS service endpoints (STS, SSO): 3 s to connect, 10 s per request, 1 MiB bodies, proxies on.
    pub fn service() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
            max_body: 1 << 20,
            use_env_proxy: true,
            extra_roots_pem: Vec::new(),
        }
    }

    /// Settings for metadata endpoints (IMDS, ECS): 1 s to connect, 1 s per request, 64 KiB bodies, no proxies.
    pub fn metadata() -> Self {
        Self {
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            max_body: 64 << 10,
            use_env_proxy: false,
            extra_roots_pem: Vec::new(),
        }
    }

    /// Adds a trusted root certificate (PEM).
    pub fn with_extra_root_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots_pem.push(pem.into());
        self
    }
}

/// An HTTP client built on first use (building one loads the system trust store and starts reqwest's
/// background thread: programs that never need HTTP never pay for it).
pub(crate) struct Http {
    settings: HttpSettings,
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
}

/// A response whose body was read in full (and within the cap).
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// The `Date` header, as sent (the server's clock).
    pub(crate) date: Option<String>,
}

impl Response {
    /// The body as UTF-8 text (lossy: used for parsing and for error messages).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the status is 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request produced no response. Never contains a header value or body (they may be secret).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// No connection could be made.
    Connect {
        /// The URL (without query string).
        url: String,
        /// The cause.
        reason: String,
    },
    /// The request or reading the response took longer than allowed.
    Timeout {
        /// The URL (without query string).
        url: String,
        /// The limit.
        after: Duration,
    },
    /// The body was larger than allowed.
    TooLarge {
        /// The URL (without query string).
        url: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// Anything else (bad URL, TLS failure, broken connection).
    Other {
        /// The URL (without query string).
        url: String,
        /// The cause.
        reason: String,
    },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Connect { url, reason } => write!(f, "could not connect to {url}: {reason}"),
            HttpError::Timeout { url, after } => write!(f, "{url} did not answer within {after:?}"),
            HttpError::TooLarge { url, limit } => write!(f, "{url} answered with more than {limit} bytes"),
            HttpError::Other { url, reason } => write!(f, "request to {url} failed: {reason}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Makes ring rustls's process-wide provider, once (a no-op if the program already chose one). reqwest and the
/// mysql crate build their rustls configs from that provider; every rds-iam crate that opens TLS calls this first.
/// (rds-iam-ca, which does not depend on this crate, has a private copy that `cargo xtask tidy` keeps identical.)
pub fn install_crypto_provider() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // Err means a provider is already installed: keep the program's choice.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Http {
    pub(crate) fn new(settings: HttpSettings) -> Self {
        Self {
            settings,
            client: OnceLock::new(),
        }
    }

    pub(crate) fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    fn client(&self, url: &str) -> Result<&reqwest::blocking::Client, HttpError> {
        self.client
            .get_or_init(|| {
                install_crypto_provider();
                let s = &self.settings;
                let mut builder = reqwest::blocking::Client::builder()
                    .tls_backend_rustls()
                    .connect_timeout(s.connect_timeout)
                    .timeout(s.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("rds-iam/", env!("CARGO_PKG_VERSION")));
                if !s.use_env_proxy {
                    builder = builder.no_proxy();
                }
                for pem in &s.extra_roots_pem {
                    for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())? {
                        builder = builder.add_root_certificate(cert);
                    }
                }
                builder.build().map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|reason| HttpError::Other {
                url: url.to_owned(),
                reason: format!("HTTP client setup: {reason}"),
            })
    }

    /// Sends a request and reads the whole body (up to the cap). Header values are never logged.
    pub(crate) fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
        timeout: Option<Duration>,
    ) -> Result<Response, HttpError> {
        let shown = shown_url(url);
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| HttpError::Other {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
        let mut request = self.client(&shown)?.request(method.clone(), url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        tracing::debug!(%method, url = %shown, "http request");
        let after = timeout.unwrap_or(self.settings.timeout);
        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                HttpError::Timeout {
                    url: shown.clone(),
                    after,
                }
            } else if e.is_connect() {
                HttpError::Connect {
                    url: shown.clone(),
                    reason: root_cause(&e),
                }
            } else {
                HttpError::Other {
                    url: shown.clone(),
                    reason: root_cause(&e),
                }
            }
        };
        let response = request.send().map_err(classify)?;
        let status = response.status().as_u16();
        let date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let limit = self.settings.max_body;
        let mut body = Vec::new();
        let read = response.take(limit as u64 + 1).read_to_end(&mut body);
        if let Err(e) = read {
            let timed_out = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                .is_some_and(|r| r.is_timeout());
            return Err(if timed_out || e.kind() == std::io::ErrorKind::TimedOut {
                HttpError::Timeout { url: shown, after }
            } else {
                HttpError::Other {
                    url: shown,
                    reason: e.to_string(),
                }
            });
        }
        if body.len() > limit {
            return Err(HttpError::TooLarge { url: shown, limit });
        }
        tracing::debug!(status, bytes = body.len(), "http response");
        Ok(Response { status, body, date })
    }
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The innermost cause: reqwest's own message is "error sending request", the useful part is at the bottom.
/// Text from a server's answer, fit for a message: without `secrets` (an endpoint or a proxy may echo what it was
/// sent), cut to 200 characters after the redaction (so no cut-off secret escapes it).
pub(crate) fn server_text(text: &str, secrets: &[&str]) -> String {
    let redacted = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |text, secret| text.replace(secret, "<redacted>"));
    redacted.chars().take(200).collect()
}

/// `url` as messages and logs may show it: scheme, host, port and path only — no `user:password@`, query string or
/// fragment (each may carry a secret, e.g. a configured endpoint with credentials in it). A URL that does not
/// parse is not shown at all.
pub(crate) fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or_default();
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            // The parser turns an empty path into `/`; an endpoint is shown as it was given.
            let path = Some(parsed.path()).filter(|p| *p != "/").unwrap_or_default();
            format!("{}://{host}{port}{path}", parsed.scheme())
        }
        Err(e) => format!("(a URL that does not parse: {e})"),
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use rds_iam_testkit::{FakeHttpServer, Reply};

    use super::*;

    fn fast() -> Http {
        Http::new(HttpSettings {
            timeout: Duration::from_millis(300),
            max_body: 1000,
            ..HttpSettings::metadata()
        })
    }

    #[test]
    fn sends_headers_and_reads_the_body() {
        let server = FakeHttpServer::start(|req| Reply::text(201, format!("{} {}", req.method, req.body)));
        let response = fast()
            .send(
                "PUT",
                &format!("{}/x", server.url()),
                &[("x-a", "1")],
                Some("b".into()),
                None,
            )
            .unwrap();
        assert_eq!((response.status, response.text().as_str()), (201, "PUT b"));
        assert_eq!(server.requests()[0].header("x-a"), Some("1"));
    }

    #[test]
    fn faults_become_errors() {
        let hole = FakeHttpServer::black_hole();
        let started = Instant::now();
        let err = fast()
            .send("GET", &format!("{}/secret?token=abc", hole.url()), &[], None, None)
            .unwrap_err();
        assert!(matches!(err, HttpError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!err.to_string().contains("abc"), "no query string in messages: {err}");

        let big = FakeHttpServer::start(|_| Reply::text(200, "x".repeat(5000)));
        let err = fast().send("GET", &big.url(), &[], None, None).unwrap_err();
        assert!(matches!(err, HttpError::TooLarge { limit: 1000, .. }), "{err}");

        let addr = hole.addr();
        drop(hole);
        let err = fast()
            .send("GET", &format!("http://{addr}/"), &[], None, None)
            .unwrap_err();
        assert!(
            matches!(err, HttpError::Connect { .. } | HttpError::Timeout { .. }),
            "{err}"
        );

        let garbage = FakeHttpServer::start(|_| Reply::Raw(b"\x00\x01 not http".to_vec()));
        assert!(fast().send("GET", &garbage.url(), &[], None, None).is_err());
    }

    #[test]
    fn shown_urls_carry_no_secrets() {
        for (url, shown) in [
            (
                "https://user:pa55@oidc.example:8443/base/token?x=secret#f",
                "https://oidc.example:8443/base/token",
            ),
            ("http://127.0.0.1:9/latest", "http://127.0.0.1:9/latest"),
            ("http://[::1]:80/x", "http://[::1]/x"),
            ("https://a@b@host", "https://host"),
        ] {
            assert_eq!(shown_url(url), shown, "{url}");
        }
        // Secrets with `/`, `?` or `#` in the user info make URLs that do not parse: nothing of them is shown.
        for url in ["https://u:p/ss@host/x", "https://u:p?x@host", "host/path?q"] {
            let shown = shown_url(url);
            assert!(
                shown.starts_with("(a URL that does not parse") && !shown.contains("ss@"),
                "{url}: {shown}"
            );
        }
    }

    /// Installs ring's provider as the process default. The copy in rds-iam-ca's download.rs must stay the same
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
