//! The HTTP health endpoints of a [`ProxyServer`](crate::ProxyServer), served with hyper: `GET /startup`,
//! `GET /liveness`, `GET /readiness` and, when enabled, `GET /metrics` and `POST /quitquitquit` — what Kubernetes
//! probes, Prometheus and service managers ask. Bodies are one line of plain text saying why; never a secret.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::server::{Gate, Phase, reached};

/// What the endpoints report on.
pub(crate) struct Health {
    pub(crate) gate: Arc<Gate>,
    pub(crate) phase: watch::Receiver<Phase>,
    /// IAM instances whose first tokens are not signed yet.
    pub(crate) pending_tokens: Arc<AtomicUsize>,
    /// `POST /quitquitquit`, when enabled.
    pub(crate) quit: Option<crate::server::QuitHandler>,
    /// `GET /metrics`, when enabled.
    pub(crate) metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// Serves the endpoints until the server stops.
pub(crate) async fn serve(listener: std::net::TcpListener, health: Arc<Health>) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("rds-iam proxy: cannot serve the health endpoints: {e}");
            return;
        }
    };
    let mut phase = health.phase.clone();
    loop {
        tokio::select! {
            () = reached(&mut phase, Phase::Stopped) => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let health = health.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                        let answer = answer(&health, request.method(), request.uri().path());
                        async move { Ok::<_, Infallible>(answer) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

fn answer(health: &Health, method: &Method, path: &str) -> Response<Full<Bytes>> {
    let phase = *health.phase.borrow();
    let pending = health.pending_tokens.load(Ordering::Acquire);
    let (status, body) = match (method, path) {
        (&Method::GET, "/startup") if pending > 0 => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("starting: the first tokens of {pending} instance(s) are not signed yet"),
        ),
        (&Method::GET, "/startup") => (StatusCode::OK, "ok".to_owned()),
        (&Method::GET, "/liveness") if phase != Phase::Serving => {
            (StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_owned())
        }
        (&Method::GET, "/liveness") => (StatusCode::OK, "ok".to_owned()),
        (&Method::GET, "/readiness") => readiness(health, phase, pending),
        (&Method::GET, "/metrics") => match &health.metrics {
            Some(metrics) => {
                let mut response = Response::new(Full::new(Bytes::from(metrics.encode())));
                if let Ok(kind) = "application/openmetrics-text; version=1.0.0; charset=utf-8".parse() {
                    response.headers_mut().insert(hyper::header::CONTENT_TYPE, kind);
                }
                return response;
            }
            None => (
                StatusCode::NOT_FOUND,
                "not enabled (rds-iam proxy --prometheus)".to_owned(),
            ),
        },
        (&Method::POST, "/quitquitquit") => match &health.quit {
            Some(quit) => {
                quit();
                (StatusCode::OK, "shutting down".to_owned())
            }
            None => (
                StatusCode::NOT_FOUND,
                "not enabled (rds-iam proxy --quitquitquit)".to_owned(),
            ),
        },
        (_, "/startup" | "/liveness" | "/readiness") => (StatusCode::METHOD_NOT_ALLOWED, "use GET".to_owned()),
        (_, "/quitquitquit") => (StatusCode::METHOD_NOT_ALLOWED, "use POST".to_owned()),
        _ => (
            StatusCode::NOT_FOUND,
            "not found: /startup, /liveness, /readiness, /quitquitquit".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body + "\n")));
    *response.status_mut() = status;
    response
}

/// Ready: started, not shutting down, and below the connection limit.
fn readiness(health: &Health, phase: Phase, pending: usize) -> (StatusCode, String) {
    let unavailable = |why: String| (StatusCode::SERVICE_UNAVAILABLE, why);
    if pending > 0 {
        return unavailable(format!(
            "not started: the first tokens of {pending} instance(s) are not signed yet"
        ));
    }
    if phase != Phase::Serving {
        return unavailable("shutting down".to_owned());
    }
    let open = health.gate.open();
    match health.gate.limit() {
        Some(limit) if open >= limit => unavailable(format!(
            "at the connection limit: {open} of {limit} sessions open (--max-connections)"
        )),
        _ => (StatusCode::OK, "ok".to_owned()),
    }
}
