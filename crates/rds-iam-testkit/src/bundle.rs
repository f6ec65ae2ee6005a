//! [`FakeBundleServer`]: an HTTPS server for RDS CA bundles (test PKI), with canned answers per path, ETag /
//! `If-None-Match` handling and faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::lock;
use crate::{FakeHttpServer, Recorded, Reply, TestPki};

/// What the bundle server answers for one path.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum BundleReply {
    /// `200` with this body and `ETag` / `Last-Modified`; `304 Not Modified` when the request's `If-None-Match`
    /// equals the ETag.
    Pem {
        /// The body.
        body: Vec<u8>,
        /// The ETag (quoted, as sent).
        etag: String,
        /// The `Last-Modified` value.
        last_modified: String,
    },
    /// Any reply, faults included (see [`Reply`]).
    Other(Reply),
}

/// An HTTPS server on `127.0.0.1` (certificate from a fresh [`TestPki`]) serving bundle paths like
/// `/global/global-bundle.pem` and `/{region}/{region}-bundle.pem`. Unknown paths get `404` with an HTML body, as
/// an S3/CloudFront error page would. Every request is recorded (path, headers such as `If-None-Match`).
///
/// ```
/// use rds_iam_testkit::{FakeBundleServer, RdsLikeCa};
///
/// let server = FakeBundleServer::start();
/// server.serve_pem("/global/global-bundle.pem", RdsLikeCa::root("us-east-1").pem(), "\"v1\"");
/// assert!(server.url().starts_with("https://127.0.0.1:"));
/// assert!(server.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// ```
pub struct FakeBundleServer {
    server: FakeHttpServer,
    pki: TestPki,
    routes: Arc<Mutex<HashMap<String, BundleReply>>>,
}

impl FakeBundleServer {
    /// Starts a server with no bundles (every path is `404`).
    pub fn start() -> FakeBundleServer {
        let pki = TestPki::generate(&["127.0.0.1", "localhost"]);
        let routes: Arc<Mutex<HashMap<String, BundleReply>>> = Arc::default();
        let server = {
            let routes = routes.clone();
            FakeHttpServer::start_tls(pki.server_config(), move |req| {
                let route = lock(&routes).get(&req.path).cloned();
                answer(route, req)
            })
        };
        FakeBundleServer { server, pki, routes }
    }

    /// Sets what `path` answers.
    pub fn set(&self, path: &str, reply: BundleReply) {
        lock(&self.routes).insert(path.to_owned(), reply);
    }

    /// Serves `body` at `path` with `etag` (e.g. `"\"v1\""`) and a fixed `Last-Modified`.
    pub fn serve_pem(&self, path: &str, body: impl Into<Vec<u8>>, etag: &str) {
        self.set(
            path,
            BundleReply::Pem {
                body: body.into(),
                etag: etag.to_owned(),
                last_modified: "Tue, 01 Apr 2025 00:00:00 GMT".to_owned(),
            },
        );
    }

    /// Answers `path` with `reply` (faults: [`Reply::Delay`], [`Reply::Raw`], [`Reply::Hang`], …).
    pub fn serve_reply(&self, path: &str, reply: Reply) {
        self.set(path, BundleReply::Other(reply));
    }

    /// `https://127.0.0.1:PORT` (no trailing slash): the base URL to point a bundle client at.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The root certificate (PEM) the client must trust for the download.
    pub fn root_pem(&self) -> &str {
        self.pki.root_pem()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.server.clear();
    }
}

fn answer(route: Option<BundleReply>, req: &Recorded) -> Reply {
    match route {
        None => Reply::Http {
            status: 404,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<html><body><h1>404 Not Found</h1></body></html>".to_vec(),
        },
        Some(BundleReply::Other(reply)) => reply,
        Some(BundleReply::Pem {
            body,
            etag,
            last_modified,
        }) => {
            if req.header("if-none-match") == Some(etag.as_str()) {
                Reply::Http {
                    status: 304,
                    headers: vec![("ETag".into(), etag)],
                    body: Vec::new(),
                }
            } else {
                Reply::Http {
                    status: 200,
                    headers: vec![
                        ("Content-Type".into(), "application/x-pem-file".into()),
                        ("ETag".into(), etag),
                        ("Last-Modified".into(), last_modified),
                    ],
                    body,
                }
            }
        }
    }
}
