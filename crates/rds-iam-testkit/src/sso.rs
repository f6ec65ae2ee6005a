//! [`FakeSsoPortal`]: the IAM Identity Center portal's `GetRoleCredentials` on a [`FakeHttpServer`].

use std::sync::{Arc, Mutex};

use crate::lock;
use crate::{FakeHttpServer, Recorded, Reply};

/// What the portal does instead of answering normally.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SsoFault {
    /// Answer this status with a JSON `{"message": …}` body.
    Status(u16),
    /// Answer 200 with a body that is not JSON.
    Garbage,
    /// Never answer.
    Hang,
}

/// The role credentials the portal hands out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SsoRoleCredentials {
    /// `accessKeyId`.
    pub access_key_id: String,
    /// `secretAccessKey`.
    pub secret_access_key: String,
    /// `sessionToken`.
    pub session_token: String,
    /// `expiration`, in milliseconds since the Unix epoch.
    pub expiration_ms: u64,
}

impl Default for SsoRoleCredentials {
    fn default() -> Self {
        Self {
            access_key_id: "ASIASSOFAKEEXAMPLE".into(),
            secret_access_key: "ssoFakeSecretAccessKeyEXAMPLE".into(),
            session_token: "ssoFakeSessionTokenEXAMPLE".into(),
            // 2100-01-01T00:00:00Z
            expiration_ms: 4_102_444_800_000,
        }
    }
}

struct State {
    token: String,
    account_id: String,
    role_name: String,
    credentials: SsoRoleCredentials,
    fault: Option<SsoFault>,
}

/// `GET /federation/credentials?role_name=R&account_id=A` with `x-amz-sso_bearer_token`: checks the token (401
/// otherwise), the role and the account (403 otherwise), and returns
/// `{"roleCredentials": {accessKeyId, secretAccessKey, sessionToken, expiration}}`.
///
/// ```
/// use rds_iam_testkit::FakeSsoPortal;
///
/// let portal = FakeSsoPortal::start("cached-token", "123456789012", "ReadOnly");
/// assert!(portal.url().starts_with("http://127.0.0.1:"));
/// ```
pub struct FakeSsoPortal {
    server: FakeHttpServer,
    state: Arc<Mutex<State>>,
}

impl FakeSsoPortal {
    /// A portal that accepts `token` for `role_name` in `account_id`.
    pub fn start(token: &str, account_id: &str, role_name: &str) -> FakeSsoPortal {
        let state = Arc::new(Mutex::new(State {
            token: token.to_owned(),
            account_id: account_id.to_owned(),
            role_name: role_name.to_owned(),
            credentials: SsoRoleCredentials::default(),
            fault: None,
        }));
        let shared = state.clone();
        let server = FakeHttpServer::start(move |request| answer(&lock(&shared), request));
        FakeSsoPortal { server, state }
    }

    /// `http://127.0.0.1:PORT`: the value for `AWS_ENDPOINT_URL_SSO`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Hands out `credentials` from now on.
    pub fn set_credentials(&self, credentials: SsoRoleCredentials) {
        self.state().credentials = credentials;
    }

    /// Misbehaves from now on (`None`: behave again).
    pub fn set_fault(&self, fault: Option<SsoFault>) {
        self.state().fault = fault;
    }

    /// The credentials handed out.
    pub fn credentials(&self) -> SsoRoleCredentials {
        self.state().credentials.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, format!(r#"{{"message":"{message}"}}"#))
}

fn answer(state: &State, request: &Recorded) -> Reply {
    match &state.fault {
        Some(SsoFault::Status(status)) => return error(*status, "injected fault"),
        Some(SsoFault::Garbage) => return Reply::text(200, "<html>not json</html>"),
        Some(SsoFault::Hang) => return Reply::Hang,
        None => {}
    }
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    if request.method != "GET" || path != "/federation/credentials" {
        return error(404, "not found");
    }
    if request.header("x-amz-sso_bearer_token") != Some(state.token.as_str()) {
        return error(401, "Session token not found or invalid");
    }
    let pairs = crate::http::form_pairs(query);
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    if param("role_name").as_deref() != Some(state.role_name.as_str())
        || param("account_id").as_deref() != Some(state.account_id.as_str())
    {
        return error(403, "No access");
    }
    let c = &state.credentials;
    Reply::json(
        200,
        format!(
            r#"{{"roleCredentials":{{"accessKeyId":"{}","secretAccessKey":"{}","sessionToken":"{}","expiration":{}}}}}"#,
            c.access_key_id, c.secret_access_key, c.session_token, c.expiration_ms
        ),
    )
}
