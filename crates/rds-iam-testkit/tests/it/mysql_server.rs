//! [`RdsLikeServer`] driven by the real `mysql` crate client (mysql 28 on rustls/ring).

use std::path::{Path, PathBuf};
use std::sync::Once;

use mysql::prelude::Queryable;
use mysql::{Conn, DriverError, Error, OptsBuilder, SslOpts};
use rds_iam_testkit::{Greeting, Outcome, RdsLikeOptions, RdsLikeServer, TestPki};
use tempfile::TempDir;

/// A root → intermediate → leaf chain for `localhost` / `127.0.0.1`, with the root written to `ca.pem`.
struct Pki {
    pki: TestPki,
    _dir: TempDir,
    ca: PathBuf,
}

fn pki() -> Pki {
    static PROVIDER: Once = Once::new();
    // mysql's TLS builds its config from the process default provider (DESIGN §5).
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let pki = TestPki::generate(&["localhost", "127.0.0.1"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = pki.write_to(dir.path()).expect("write the test PKI").ca;
    Pki { pki, _dir: dir, ca }
}

/// A token as long as one signed with session credentials (> 1 KB).
fn session_token() -> String {
    let security_token = "IQoJb3JpZ2luX2VjEJr".repeat(60);
    format!(
        "db.example.us-east-1.rds.amazonaws.com:3306/?Action=connect&DBUser=iam_user&X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=ASIAEXAMPLE%2F20250101%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20250101T000000Z\
         &X-Amz-Expires=900&X-Amz-Security-Token={security_token}&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
}

/// Client options like rds-iam's: verified TLS against `ca`, no Unix socket, clear-text plugin on.
fn client(server: &RdsLikeServer, ca: Option<&Path>, user: &str, password: &str) -> OptsBuilder {
    OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(server.port())
        .user(Some(user))
        .pass(Some(password))
        .prefer_socket(false)
        .enable_cleartext_plugin(true)
        .ssl_opts(ca.map(|ca| SslOpts::default().with_root_cert_path(Some(ca.to_path_buf()))))
}

fn server_error(result: Result<Conn, Error>) -> mysql::MySqlError {
    match result {
        Err(Error::MySqlError(e)) => e,
        Err(other) => panic!("expected a server error, got {other}"),
        Ok(_) => panic!("expected a server error, the login succeeded"),
    }
}

#[test]
fn mysql8_login_over_tls_with_a_session_token() {
    let pki = pki();
    let server = RdsLikeServer::start(RdsLikeOptions::from_pki(&pki.pki));
    let token = session_token();
    assert!(token.len() > 1024, "{}", token.len());

    let opts = client(&server, Some(&pki.ca), "iam_user", &token).db_name(Some("app"));
    let mut conn = Conn::new(opts).expect("log in over TLS");
    assert_eq!(conn.query_first::<i64, _>("SELECT 1").unwrap(), Some(1));
    let status: Option<(String, String)> = conn.query_first("SHOW STATUS LIKE 'Ssl_version'").unwrap();
    assert_eq!(status, Some(("Ssl_version".into(), "TLSv1.3".into())));
    let row: Option<(String, String, String, Option<String>)> = conn
        .query_first("SELECT CURRENT_USER(), @@version, @@ssl_version, DATABASE()")
        .unwrap();
    assert_eq!(
        row,
        Some((
            "iam_user@%".into(),
            "8.0.39".into(),
            "TLSv1.3".into(),
            Some("app".into())
        ))
    );
    conn.ping().expect("COM_PING");
    conn.select_db("other").expect("COM_INIT_DB");
    assert_eq!(
        conn.query_first::<String, _>("SELECT DATABASE()").unwrap(),
        Some("other".into())
    );
    conn.reset().expect("COM_RESET_CONNECTION");
    let unknown = conn.query_drop("SELECT * FROM mysql.user").unwrap_err();
    assert!(
        matches!(unknown, Error::MySqlError(ref e) if e.code == 1235),
        "{unknown}"
    );
    assert_eq!(
        conn.query_first::<i64, _>("SELECT 2").unwrap(),
        Some(2),
        "still usable after an error"
    );
    drop(conn);

    let attempts = server.attempts();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    let attempt = &attempts[0];
    assert_eq!(attempt.user, "iam_user");
    assert_eq!(attempt.password, token, "the whole token arrived");
    assert!(attempt.tls);
    assert_eq!(attempt.database.as_deref(), Some("app"));
    assert_eq!(attempt.client_plugin, "caching_sha2_password");
    assert_eq!(attempt.outcome, Outcome::Accepted);
    assert!(server.tokens_over_plaintext().is_empty());
    assert_eq!(server.connections(), 1);
}

#[test]
fn aurora_greeting() {
    let pki = pki();
    let server = RdsLikeServer::start(RdsLikeOptions::from_pki(&pki.pki).greeting(Greeting::Aurora));
    let mut conn = Conn::new(client(&server, Some(&pki.ca), "iam_user", "token")).expect("log in");
    let row: Option<(String, String)> = conn.query_first("SELECT @@version, @@aurora_version").unwrap();
    assert_eq!(row, Some(("8.0.32".into(), "3.05.2".into())));
    assert_eq!(conn.server_version(), (8, 0, 32));
    let attempts = server.attempts();
    assert_eq!(attempts[0].client_plugin, "mysql_native_password");
    assert_eq!(attempts[0].password, "token");
    assert_eq!(attempts[0].outcome, Outcome::Accepted);
}

#[test]
fn rejected_token_is_error_1045() {
    let pki = pki();
    let server = RdsLikeServer::start(
        RdsLikeOptions::from_pki(&pki.pki).validator(|attempt| attempt.password == "the right token"),
    );
    let error = server_error(Conn::new(client(&server, Some(&pki.ca), "iam_user", "a wrong token")));
    assert_eq!((error.code, error.state.as_str()), (1045, "28000"));
    assert_eq!(
        error.message,
        "Access denied for user 'iam_user'@'127.0.0.1' (using password: YES)"
    );
    assert_eq!(server.attempts()[0].outcome, Outcome::Rejected);

    Conn::new(client(&server, Some(&pki.ca), "iam_user", "the right token")).expect("the right token logs in");
    assert_eq!(server.attempts()[1].outcome, Outcome::Accepted);
}

#[test]
fn plaintext_client_is_refused_and_recorded() {
    let pki = pki();
    let server = RdsLikeServer::start(RdsLikeOptions::from_pki(&pki.pki));
    let error = server_error(Conn::new(client(&server, None, "iam_user", "token")));
    assert_eq!((error.code, error.state.as_str()), (3159, "HY000"), "{error}");

    let attempts = server.attempts();
    assert_eq!(attempts.len(), 1);
    let attempt = &attempts[0];
    assert_eq!(attempt.user, "iam_user");
    assert!(!attempt.tls);
    assert_eq!(attempt.outcome, Outcome::InsecureTransport);
    assert_eq!(attempt.password, "", "refused before the clear-text switch");
    assert_eq!(
        attempt.auth_response.len(),
        32,
        "only a caching_sha2_password scramble arrived"
    );
    assert!(server.tokens_over_plaintext().is_empty());
}

#[test]
fn lax_server_records_a_token_sent_in_plain_text() {
    let pki = pki();
    let server = RdsLikeServer::start(RdsLikeOptions::from_pki(&pki.pki).lax());
    let token = session_token();
    // The mysql crate alone sends the token in plain text when TLS is not configured: this is what the client's
    // own guard must prevent.
    let mut conn = Conn::new(client(&server, None, "iam_user", &token)).expect("a lax server logs in without TLS");
    let status: Option<(String, String)> = conn.query_first("SHOW STATUS LIKE 'Ssl_version'").unwrap();
    assert_eq!(status, Some(("Ssl_version".into(), String::new())));

    let leaked = server.tokens_over_plaintext();
    assert_eq!(leaked.len(), 1);
    assert_eq!(leaked[0].password, token);
    assert!(!leaked[0].tls);
}

#[test]
fn server_without_tls_is_refused_by_a_tls_client() {
    let pki = pki();
    let server = RdsLikeServer::start(RdsLikeOptions::without_tls());
    let result = Conn::new(client(&server, Some(&pki.ca), "iam_user", "token"));
    assert!(
        matches!(result, Err(Error::DriverError(DriverError::TlsNotSupported))),
        "{:?}",
        result.err()
    );
    assert!(server.attempts().is_empty());
}

#[test]
fn untrusted_certificate_fails_before_any_login() {
    let pki = pki();
    let other = self::pki();
    let server = RdsLikeServer::start(RdsLikeOptions::from_pki(&other.pki));
    let result = Conn::new(client(&server, Some(&pki.ca), "iam_user", "token"));
    // Not `expect_err`: it would print the `Conn`, whose options include the password.
    let Err(error) = result else {
        panic!("a certificate from another CA must be refused")
    };
    // Both test roots have the same name, so rustls finds an "issuer" whose signature does not match.
    assert!(error.to_string().contains("invalid peer certificate"), "{error}");
    assert!(server.attempts().is_empty());
    assert_eq!(server.connections(), 1);
}

#[test]
fn debug_redacts_the_token() {
    let pki = pki();
    let server = RdsLikeServer::start(RdsLikeOptions::from_pki(&pki.pki));
    let token = session_token();
    Conn::new(client(&server, Some(&pki.ca), "iam_user", &token)).expect("log in");
    let debug = format!("{:?}", server.attempts());
    assert!(!debug.contains("X-Amz-Signature"), "{debug}");
    assert!(
        debug.contains(&format!("password: ** redacted ({} bytes) **", token.len())),
        "{debug}"
    );
}

#[test]
fn many_clients_at_once() {
    let pki = pki();
    let server = RdsLikeServer::start(RdsLikeOptions::from_pki(&pki.pki));
    std::thread::scope(|scope| {
        for thread in 0..8 {
            let (server, ca) = (&server, &pki.ca);
            scope.spawn(move || {
                for i in 0..4 {
                    let user = format!("user{thread}_{i}");
                    let mut conn = Conn::new(client(server, Some(ca), &user, "token")).expect("log in");
                    let me: Option<String> = conn.query_first("SELECT CURRENT_USER()").unwrap();
                    assert_eq!(me, Some(format!("{user}@%")));
                }
            });
        }
    });
    assert_eq!(server.connections(), 32);
    assert_eq!(server.attempts().len(), 32);
}

#[test]
fn dropping_the_server_ends_open_connections() {
    let pki = pki();
    let server = RdsLikeServer::start(RdsLikeOptions::from_pki(&pki.pki));
    let mut conn = Conn::new(client(&server, Some(&pki.ca), "iam_user", "token")).expect("log in");
    drop(server);
    assert!(conn.ping().is_err(), "the connection ended with the server");
}

#[test]
fn garbage_ends_only_that_connection() {
    use std::io::{Read, Write};

    let pki = pki();
    let server = RdsLikeServer::start(RdsLikeOptions::from_pki(&pki.pki));
    for garbage in [
        &b"\x05\x00\x00\x01hello"[..],
        b"\xff\xff\xff\x01",
        b"\x20\x00\x00\x01",
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
        let mut greeting = [0_u8; 4];
        stream.read_exact(&mut greeting).unwrap();
        stream.write_all(garbage).unwrap();
        drop(stream);
    }
    Conn::new(client(&server, Some(&pki.ca), "iam_user", "token")).expect("the server still logs clients in");
    assert_eq!(server.attempts().len(), 1, "{:?}", server.attempts());
}
