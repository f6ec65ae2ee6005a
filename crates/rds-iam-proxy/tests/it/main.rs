//! The proxy between the `mysql` crate (a real client, over the proxy's Unix socket) and the in-process RDS-like
//! server (rds-iam-testkit): IAM logins, relayed logins, and every refusal, as the client sees them.
#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic says where"
)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};
use rds_iam_credentials::{Clock, Credentials, CredentialsError, ProvideCredentials};
use rds_iam_mysql::{IamConnector, Target, TlsCheck};
use rds_iam_proxy::{EmbeddedProxy, ProxyConfig};
use rds_iam_testkit::{Outcome, RdsLikeOptions, RdsLikeServer, TestPki};

const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

#[derive(Debug)]
struct Static;

impl ProvideCredentials for Static {
    fn provide(&self) -> Result<Credentials, CredentialsError> {
        Ok(Credentials::new(KEY, SECRET))
    }
}

struct Bed {
    server: RdsLikeServer,
    ca: PathBuf,
    dir: tempfile::TempDir,
}

fn bed_with(pki: &TestPki, options: impl FnOnce(RdsLikeOptions) -> RdsLikeOptions) -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let files = pki.write_to(dir.path()).unwrap();
    Bed {
        server: RdsLikeServer::start(options(RdsLikeOptions::from_pki(pki))),
        ca: files.ca,
        dir,
    }
}

fn bed(options: impl FnOnce(RdsLikeOptions) -> RdsLikeOptions) -> Bed {
    bed_with(&TestPki::generate(&["localhost"]), options)
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn connector(bed: &Bed, host: &str) -> IamConnector {
    let target = Target::new("localhost", bed.server.port(), "iam_app")
        .unwrap()
        .with_signing_host(host)
        .unwrap()
        .with_region("us-east-1");
    IamConnector::new(target, Static, &bed.ca).with_clock(Clock::manual(now()))
}

fn iam_proxy(bed: &Bed) -> EmbeddedProxy {
    let config = ProxyConfig::iam(connector(bed, "localhost"))
        .unwrap()
        .allow_users(["iam_app"]);
    EmbeddedProxy::start(config, bed.dir.path()).unwrap()
}

/// The client's side: the proxy's socket, a user, maybe a password, no TLS.
fn client(proxy: &EmbeddedProxy, user: &str, password: Option<&str>) -> Result<Conn, mysql::Error> {
    let opts = OptsBuilder::new()
        .socket(Some(proxy.socket_path().to_string_lossy().into_owned()))
        .prefer_socket(true)
        .user(Some(user))
        .pass(password)
        .enable_cleartext_plugin(true);
    Conn::new(opts)
}

fn server_error(result: Result<Conn, mysql::Error>) -> mysql::MySqlError {
    match result {
        Ok(_) => panic!("the login should have been refused"),
        Err(mysql::Error::MySqlError(e)) => e,
        Err(other) => panic!("expected a server error, got {other}"),
    }
}

#[test]
fn an_iam_login_over_tls_then_the_session_is_relayed() {
    let bed = bed(|o| o);
    let proxy = iam_proxy(&bed);
    // The client's own password is ignored: the token is the proxy's business.
    let mut conn = client(&proxy, "iam_app", Some("whatever the client had")).unwrap();
    let user: Option<String> = conn.query_first("SELECT CURRENT_USER()").unwrap();
    assert_eq!(user.as_deref(), Some("iam_app@%"));
    let tls: Option<(String, String)> = conn.query_first("SHOW STATUS LIKE 'Ssl_version'").unwrap();
    assert_eq!(tls.unwrap().1, "TLSv1.3", "the proxy's side of the session is TLS");
    // The client sees the database's own connection id (KILL QUERY from another session works).
    assert_eq!(conn.connection_id(), bed.server.attempts().len() as u32);

    let attempts = bed.server.attempts();
    assert_eq!(attempts.len(), 1);
    let attempt = &attempts[0];
    assert!(attempt.tls && attempt.outcome == Outcome::Accepted, "{attempt:?}");
    assert_eq!(
        attempt.client_plugin, "caching_sha2_password",
        "the DB's plugin, then the auth switch"
    );
    let token = rds_iam_token::decode(&attempt.password).unwrap();
    assert_eq!((token.host.as_str(), token.user.as_str()), ("localhost", "iam_app"));

    // A second client reuses the cached token; both sessions live side by side.
    let mut second = client(&proxy, "iam_app", None).unwrap();
    assert_eq!(second.query_first::<u8, _>("SELECT 1").unwrap(), Some(1));
    assert_eq!(bed.server.attempts()[1].password, attempts[0].password);
    assert_eq!(conn.query_first::<u8, _>("SELECT 1").unwrap(), Some(1));
}

#[test]
fn a_change_to_a_user_not_allowed_is_refused_and_the_session_goes_on() {
    let bed = bed(|o| o);
    let proxy = iam_proxy(&bed);
    let mut conn = client(&proxy, "iam_app", None).unwrap();
    let err = conn.change_user(mysql::ChangeUserOpts::default().with_user(Some("root".into())));
    let shown = format!("{:?}", err.err().unwrap());
    assert!(shown.contains("'root' may not log in through this proxy"), "{shown}");
    assert_eq!(bed.server.attempts().len(), 1, "no second login reached the server");
    // (Changes to allowed users are logins of their own: tests/e2e/proxy.rs, against MariaDB.)
}

#[test]
fn a_user_not_allowed_is_refused_before_anything_is_signed_or_sent() {
    let bed = bed(|o| o);
    let proxy = iam_proxy(&bed);
    let err = server_error(client(&proxy, "root", None));
    assert_eq!((err.code, err.state.as_str()), (1045, "28000"));
    assert!(
        err.message.contains("'root' may not log in through this proxy"),
        "{}",
        err.message
    );
    assert!(
        err.message.starts_with(rds_iam_proxy::REFUSAL_PREFIX),
        "{}",
        err.message
    );
    assert!(bed.server.attempts().is_empty(), "{:?}", bed.server.attempts());
}

#[test]
fn a_refused_token_is_1045_with_the_database_message_first_and_the_causes() {
    let bed = bed(|o| o.validator(|_| false));
    let proxy = iam_proxy(&bed);
    let err = server_error(client(&proxy, "iam_app", None));
    assert_eq!((err.code, err.state.as_str()), (1045, "28000"));
    let mut lines = err.message.lines();
    assert!(
        lines.next().unwrap().starts_with("Access denied for user 'iam_app'"),
        "{}",
        err.message
    );
    assert!(err.message.contains("usual causes:\n  - "), "{}", err.message);
    assert!(err.message.contains("AWSAuthenticationPlugin"), "{}", err.message);
    assert!(
        !err.message.contains("X-Amz-Signature"),
        "never the token: {}",
        err.message
    );
}

#[test]
fn no_token_goes_to_a_server_without_tls() {
    let bed = bed(|o| o);
    let plain = RdsLikeServer::start(RdsLikeOptions::without_tls().lax());
    let target = Target::new("localhost", plain.port(), "iam_app")
        .unwrap()
        .with_region("us-east-1");
    let connector = IamConnector::new(target, Static, &bed.ca).with_clock(Clock::manual(now()));
    let proxy = EmbeddedProxy::start(ProxyConfig::iam(connector).unwrap(), bed.dir.path()).unwrap();
    let err = server_error(client(&proxy, "iam_app", None));
    assert!(
        err.message.contains("does not offer TLS, so the token was not sent"),
        "{}",
        err.message
    );
    assert!(
        plain.attempts().iter().all(|a| a.password.is_empty()),
        "{:?}",
        plain.attempts()
    );
}

#[test]
fn certificates_are_checked_against_the_bundle_alone_and_the_endpoint_name() {
    // Another CA's certificate for the right name: refused, nothing sent.
    let bed = bed(|o| o);
    let stranger = bed_with(&TestPki::generate(&["localhost"]), |o| o);
    let target = Target::new("localhost", stranger.server.port(), "iam_app")
        .unwrap()
        .with_region("us-east-1");
    let to_stranger = IamConnector::new(target, Static, &bed.ca).with_clock(Clock::manual(now()));
    let proxy = EmbeddedProxy::start(ProxyConfig::iam(to_stranger.clone()).unwrap(), bed.dir.path()).unwrap();
    let err = server_error(client(&proxy, "iam_app", None));
    assert!(err.message.contains("is not issued by a CA in"), "{}", err.message);
    // Even with the name waived, the chain must lead to the bundle.
    let waived = to_stranger.with_tls_check(TlsCheck::DangerSkipHostname);
    let proxy = EmbeddedProxy::start(ProxyConfig::iam(waived).unwrap(), bed.dir.path()).unwrap();
    let err = server_error(client(&proxy, "iam_app", None));
    assert!(err.message.contains("is not issued by a CA in"), "{}", err.message);
    assert!(stranger.server.attempts().iter().all(|a| a.password.is_empty()));

    // The right CA, but a certificate for another name than the endpoint the token is signed for: refused,
    // although the dial host (a tunnel's end) is not what is checked.
    let proxy = EmbeddedProxy::start(
        ProxyConfig::iam(connector(&bed, "mydb.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com")).unwrap(),
        bed.dir.path(),
    )
    .unwrap();
    let err = server_error(client(&proxy, "iam_app", None));
    assert!(
        err.message.contains("not valid for mydb.c1a2b3c4d5e6"),
        "{}",
        err.message
    );
    assert!(bed.server.attempts().is_empty());
}

#[test]
fn a_relayed_password_login_goes_inside_the_proxys_tls() {
    let bed = bed(|o| o.validator(|attempt| attempt.password == "master-password"));
    let config = ProxyConfig::relay("localhost", bed.server.port(), "localhost", &bed.ca, TlsCheck::Full).unwrap();
    let proxy = EmbeddedProxy::start(config, bed.dir.path()).unwrap();
    let mut conn = client(&proxy, "admin", Some("master-password")).unwrap();
    assert_eq!(conn.query_first::<u8, _>("SELECT 1").unwrap(), Some(1));
    let attempt = &bed.server.attempts()[0];
    assert!(attempt.tls && attempt.outcome == Outcome::Accepted, "{attempt:?}");

    let err = server_error(client(&proxy, "admin", Some("wrong")));
    assert_eq!(err.code, 1045, "the database's own refusal reaches the client");
}

#[test]
fn dropping_the_proxy_removes_its_folder() {
    let bed = bed(|o| o);
    let proxy = iam_proxy(&bed);
    let folder = proxy.socket_path().parent().unwrap().to_owned();
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777, 0o700);
        let socket = std::fs::metadata(proxy.socket_path()).unwrap();
        assert_eq!(socket.permissions().mode() & 0o777, 0o600);
    }
    let _conn = client(&proxy, "iam_app", None).unwrap();
    drop(proxy);
    assert!(!folder.exists());
}

#[test]
fn a_silent_client_is_dropped_after_the_login_timeout() {
    let bed = bed(|o| o);
    let config = ProxyConfig::iam(connector(&bed, "localhost"))
        .unwrap()
        .with_connect_timeout(Duration::from_millis(300));
    let proxy = EmbeddedProxy::start(config, bed.dir.path()).unwrap();
    let mut stream = std::os::unix::net::UnixStream::connect(proxy.socket_path()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The greeting arrives; the client never answers; the proxy closes (the read ends) instead of waiting forever.
    let mut seen = Vec::new();
    std::io::Read::read_to_end(&mut stream, &mut seen).unwrap();
    assert!(seen.len() > 4, "the greeting came first");
    assert!(bed.server.attempts().iter().all(|a| a.password.is_empty()));
}

/// A client of another language, through the proxy: PyMySQL (pure Python, pinned in xtask/requirements.txt) logs
/// in over the Unix socket with no password and no TLS, runs a query, and the database saw a TLS login with a token.
#[test]
fn pymysql_logs_in_through_the_proxy() {
    let Some([python]) = rds_iam_testkit::require_or_skip([rds_iam_testkit::Tool::Botocore]) else {
        return;
    };
    let bed = bed(|o| o);
    let proxy = iam_proxy(&bed);
    let script = r#"
import sys, pymysql
conn = pymysql.connect(unix_socket=sys.argv[1], user="iam_app", password="ignored")
with conn.cursor() as cur:
    cur.execute("SELECT CURRENT_USER()")
    print(cur.fetchone()[0])
    cur.execute("SHOW STATUS LIKE 'Ssl_version'")
    print(cur.fetchone()[1])
try:
    pymysql.connect(unix_socket=sys.argv[1], user="root")
except pymysql.err.OperationalError as e:
    print(e.args[0])
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(proxy.socket_path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        stdout, "iam_app@%\nTLSv1.3\n1045\n",
        "login, TLS behind the proxy, a refused user"
    );
    let attempts = bed.server.attempts();
    assert_eq!(attempts.len(), 1, "the refused user never reached the database");
    assert!(
        attempts[0].tls && attempts[0].outcome == Outcome::Accepted,
        "{:?}",
        attempts[0]
    );
}

#[test]
fn a_refused_cached_token_is_retried_once_with_a_fresh_one() {
    use std::sync::{Arc, Mutex};
    let pki = TestPki::generate(&["localhost"]);
    // The database refuses one token (as after the credentials that signed it were revoked); any other passes.
    let revoked: Arc<Mutex<Option<String>>> = Arc::default();
    let refused = revoked.clone();
    let bed = bed_with(&pki, move |o| {
        o.validator(move |attempt| refused.lock().unwrap().as_deref() != Some(attempt.password.as_str()))
    });
    let clock = Clock::manual(now());
    let target = Target::new("localhost", bed.server.port(), "iam_app")
        .unwrap()
        .with_region("us-east-1");
    let connector = IamConnector::new(target, Static, &bed.ca).with_clock(clock.clone());
    let proxy = EmbeddedProxy::start(ProxyConfig::iam(connector).unwrap(), bed.dir.path()).unwrap();

    let first = client(&proxy, "iam_app", None).unwrap();
    drop(first);
    let cached = bed.server.attempts()[0].password.clone();
    *revoked.lock().unwrap() = Some(cached.clone());
    // A minute later the cached token is still fresh, so the proxy tries it first.
    clock.advance(Duration::from_secs(60));
    let mut second = client(&proxy, "iam_app", None).unwrap();
    assert_eq!(second.query_first::<u8, _>("SELECT 1").unwrap(), Some(1));

    let attempts = bed.server.attempts();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert_eq!(attempts[1].password, cached, "the cached token first");
    assert_ne!(attempts[2].password, cached, "then one freshly signed");
    assert_eq!(attempts[2].outcome, Outcome::Accepted);
    // And a token refused although fresh is not retried forever: one retry, then the refusal.
    *revoked.lock().unwrap() = Some(attempts[2].password.clone());
    let err = server_error(client(&proxy, "iam_app", None));
    assert_eq!(err.code, 1045);
    assert_eq!(
        bed.server.attempts().len(),
        4,
        "no retry: a fresh token would be the same one"
    );
}
