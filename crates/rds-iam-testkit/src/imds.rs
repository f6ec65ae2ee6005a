//! [`FakeImds`]: an EC2 instance metadata service (IMDSv2 credentials paths) on loopback, with fault knobs.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::lock;
use crate::{FakeHttpServer, Recorded, Reply};

const TOKEN_PATH: &str = "/latest/api/token";
const ROLES_PATH: &str = "/latest/meta-data/iam/security-credentials/";

/// A fake IMDSv2: `PUT /latest/api/token` issues session tokens (`token-1`, `token-2`, …) and every `GET` must carry
/// a live one in `x-aws-ec2-metadata-token` (else 401), as the real service does.
/// `GET /latest/meta-data/iam/security-credentials/` lists the role, `…/{role}` serves the credentials JSON.
///
/// Faults are switched on and off while it runs: token-endpoint replies, N failing credential requests, a
/// replacement credentials reply (garbage, oversized, hang), revoked tokens.
///
/// ```
/// use rds_iam_testkit::FakeImds;
///
/// let imds = FakeImds::start("my-role", FakeImds::credentials_json("ASIA1", "secret", "token", "2030-01-01T00:00:00Z"));
/// assert!(imds.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(imds.tokens_issued(), 0);
/// ```
pub struct FakeImds {
    server: FakeHttpServer,
    state: Arc<Mutex<State>>,
}

struct State {
    role: Option<String>,
    credentials: String,
    token_ttl: Option<Duration>,
    issued: Vec<(String, Instant)>,
    token_reply: Option<Reply>,
    credentials_failures: usize,
    credentials_failure_status: u16,
    credentials_reply: Option<Reply>,
}

impl FakeImds {
    /// Serves `credentials` (a JSON document, see [`FakeImds::credentials_json`]) for the role `role`.
    pub fn start(role: &str, credentials: impl Into<String>) -> FakeImds {
        let state = Arc::new(Mutex::new(State {
            role: Some(role.to_owned()),
            credentials: credentials.into(),
            token_ttl: None,
            issued: Vec::new(),
            token_reply: None,
            credentials_failures: 0,
            credentials_failure_status: 500,
            credentials_reply: None,
        }));
        let server = {
            let state = state.clone();
            FakeHttpServer::start(move |req| answer(&mut lock(&state), req))
        };
        FakeImds { server, state }
    }

    /// The credentials document IMDS serves: `{Code, LastUpdated, Type, AccessKeyId, SecretAccessKey, Token,
    /// Expiration}`.
    pub fn credentials_json(access_key_id: &str, secret_access_key: &str, token: &str, expiration: &str) -> String {
        format!(
            r#"{{
  "Code" : "Success",
  "LastUpdated" : "2024-01-01T00:00:00Z",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : "{access_key_id}",
  "SecretAccessKey" : "{secret_access_key}",
  "Token" : "{token}",
  "Expiration" : "{expiration}"
}}"#
        )
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `http://127.0.0.1:PORT`: the value for `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.server.clear();
    }

    /// How many session tokens were issued.
    pub fn tokens_issued(&self) -> usize {
        self.state().issued.len()
    }

    /// Sets the attached role; `None` makes the role listing answer 404, as on an instance without a profile.
    pub fn set_role(&self, role: Option<&str>) {
        self.state().role = role.map(str::to_owned);
    }

    /// Replaces the credentials document.
    pub fn set_credentials(&self, credentials: impl Into<String>) {
        self.state().credentials = credentials.into();
    }

    /// Caps the lifetime of new session tokens (real time), whatever TTL the client asks for.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.state().token_ttl = Some(ttl);
    }

    /// Makes every issued token invalid: the next `GET` with one is answered 401.
    pub fn revoke_tokens(&self) {
        for (_, expires) in &mut self.state().issued {
            *expires = Instant::now();
        }
    }

    /// Answers token requests with `reply` (e.g. `Reply::text(403, "")`, `Reply::Hang`) until
    /// [`FakeImds::clear_faults`].
    pub fn set_token_reply(&self, reply: Reply) {
        self.state().token_reply = Some(reply);
    }

    /// Answers the next `n` credential requests (listing and role) with `status`.
    pub fn fail_credentials(&self, n: usize, status: u16) {
        let mut state = self.state();
        state.credentials_failures = n;
        state.credentials_failure_status = status;
    }

    /// Answers the role's credentials request with `reply` (garbage, an oversized body, a hang) until
    /// [`FakeImds::clear_faults`].
    pub fn set_credentials_reply(&self, reply: Reply) {
        self.state().credentials_reply = Some(reply);
    }

    /// Switches every fault off.
    pub fn clear_faults(&self) {
        let mut state = self.state();
        state.token_reply = None;
        state.credentials_failures = 0;
        state.credentials_reply = None;
    }
}

fn answer(state: &mut State, req: &Recorded) -> Reply {
    let path = req.path.split('?').next().unwrap_or_default();
    if path == TOKEN_PATH {
        if req.method != "PUT" {
            return Reply::text(405, "");
        }
        if let Some(reply) = &state.token_reply {
            return reply.clone();
        }
        let ttl = match req
            .header("x-aws-ec2-metadata-token-ttl-seconds")
            .map(str::parse::<u64>)
        {
            Some(Ok(ttl @ 1..=21_600)) => Duration::from_secs(ttl),
            _ => return Reply::text(400, "missing or invalid x-aws-ec2-metadata-token-ttl-seconds"),
        };
        let ttl = state.token_ttl.map_or(ttl, |cap| cap.min(ttl));
        let token = format!("token-{}", state.issued.len() + 1);
        state.issued.push((token.clone(), Instant::now() + ttl));
        return Reply::text(200, token).with_header("x-aws-ec2-metadata-token-ttl-seconds", &ttl.as_secs().to_string());
    }
    if req.method != "GET" {
        return Reply::text(405, "");
    }
    let live = req.header("x-aws-ec2-metadata-token").is_some_and(|t| {
        state
            .issued
            .iter()
            .any(|(issued, expires)| issued == t && Instant::now() < *expires)
    });
    if !live {
        return Reply::text(401, "");
    }
    let Some(rest) = path.strip_prefix(ROLES_PATH) else {
        return Reply::text(404, "");
    };
    if state.credentials_failures > 0 {
        state.credentials_failures -= 1;
        return Reply::text(state.credentials_failure_status, "");
    }
    match (&state.role, rest) {
        (None, _) => Reply::text(404, ""),
        (Some(role), "") => Reply::text(200, role.clone()),
        (Some(role), asked) if asked == role => state
            .credentials_reply
            .clone()
            .unwrap_or_else(|| Reply::text(200, state.credentials.clone())),
        _ => Reply::text(404, ""),
    }
}
