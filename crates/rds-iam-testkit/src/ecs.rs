//! [`FakeEcs`]: an ECS / EKS Pod Identity container credentials endpoint on loopback, with fault knobs.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::lock;
use crate::{FakeHttpServer, Recorded, Reply};

const PATH: &str = "/v1/credentials";

/// A fake container credentials endpoint: `GET /v1/credentials` serves a credentials JSON document, checking the
/// `Authorization` header when an expected token is set (401 with an agent-style JSON error otherwise).
///
/// ```
/// use rds_iam_testkit::FakeEcs;
///
/// let ecs = FakeEcs::start(FakeEcs::credentials_json("ASIA1", "secret", "token", "2030-01-01T00:00:00Z"));
/// assert!(ecs.credentials_url().ends_with("/v1/credentials"));
/// ```
pub struct FakeEcs {
    server: FakeHttpServer,
    state: Arc<Mutex<State>>,
}

struct State {
    credentials: String,
    auth_token: Option<String>,
    failures: usize,
    failure_status: u16,
    reply: Option<Reply>,
}

impl FakeEcs {
    /// Serves `credentials` (see [`FakeEcs::credentials_json`]) to any caller.
    pub fn start(credentials: impl Into<String>) -> FakeEcs {
        let state = Arc::new(Mutex::new(State {
            credentials: credentials.into(),
            auth_token: None,
            failures: 0,
            failure_status: 500,
            reply: None,
        }));
        let server = {
            let state = state.clone();
            FakeHttpServer::start(move |req| answer(&mut lock(&state), req))
        };
        FakeEcs { server, state }
    }

    /// The document the endpoints serve: `{AccessKeyId, SecretAccessKey, Token, Expiration, AccountId}`.
    pub fn credentials_json(access_key_id: &str, secret_access_key: &str, token: &str, expiration: &str) -> String {
        format!(
            r#"{{"AccessKeyId":"{access_key_id}","SecretAccessKey":"{secret_access_key}","Token":"{token}","Expiration":"{expiration}","AccountId":"123456789012"}}"#
        )
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `http://127.0.0.1:PORT/v1/credentials`: the value for `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub fn credentials_url(&self) -> String {
        format!("{}{PATH}", self.server.url())
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Requires `Authorization: token` from now on.
    pub fn expect_auth_token(&self, token: &str) {
        self.state().auth_token = Some(token.to_owned());
    }

    /// Answers the next `n` requests with `status` (and an agent-style JSON error).
    pub fn fail(&self, n: usize, status: u16) {
        let mut state = self.state();
        state.failures = n;
        state.failure_status = status;
    }

    /// Answers every request with `reply` (garbage, an oversized body, a hang) until [`FakeEcs::clear_faults`].
    pub fn set_reply(&self, reply: Reply) {
        self.state().reply = Some(reply);
    }

    /// Switches every fault off.
    pub fn clear_faults(&self) {
        let mut state = self.state();
        state.failures = 0;
        state.reply = None;
    }
}

fn answer(state: &mut State, req: &Recorded) -> Reply {
    if let Some(reply) = &state.reply {
        return reply.clone();
    }
    if state.failures > 0 {
        state.failures -= 1;
        return Reply::json(
            state.failure_status,
            r#"{"code":"InternalServerException","message":"injected failure"}"#,
        );
    }
    if req.method != "GET" || req.path.split('?').next() != Some(PATH) {
        return Reply::json(404, r#"{"code":"NotFound","message":"no such path"}"#);
    }
    if let Some(expected) = &state.auth_token
        && req.header("authorization") != Some(expected.as_str())
    {
        return Reply::json(
            401,
            r#"{"code":"AccessDeniedException","message":"the authorization token is missing or wrong"}"#,
        );
    }
    Reply::json(200, state.credentials.clone())
}
