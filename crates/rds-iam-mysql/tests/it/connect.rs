//! `IamConnector::connect`: what reaches the server, and how failures are classified.

use mysql::prelude::Queryable;
use rds_iam_mysql::{ConnectError, TlsCheck};
use rds_iam_testkit::{Outcome, RdsLikeOptions, RdsLikeServer};

use super::*;

#[test]
fn logs_in_over_tls_with_a_long_token() {
    let bed = bed(|o| o);
    let clock = Clock::manual(start());
    let connector = connector(&bed, &clock);
    let mut conn = connector.connect().unwrap();
    let one: Option<u8> = conn.query_first("SELECT 1").unwrap();
    assert_eq!(one, Some(1));
    let tls: Option<(String, String)> = conn.query_first("SHOW STATUS LIKE 'Ssl_version'").unwrap();
    assert_eq!(tls.unwrap().1, "TLSv1.3");

    let attempts = bed.server.attempts();
    assert_eq!(attempts.len(), 1);
    let attempt = &attempts[0];
    assert!(attempt.tls && attempt.outcome == Outcome::Accepted, "{attempt:?}");
    assert!(
        attempt.password.len() > 1024,
        "a session-token token is > 1 KB: {}",
        attempt.password.len()
    );
    let token = rds_iam_token::decode(&attempt.password).unwrap();
    assert_eq!(
        (token.host.as_str(), token.port, token.user.as_str()),
        ("localhost", bed.server.port(), "iam_app")
    );
    assert!(token.has_session_token);
    assert_eq!(
        attempt.password,
        connector.token().unwrap().expose(),
        "the cached token was used"
    );
}

#[test]
fn aurora_greeting_works_too() {
    let bed = bed(|o| o.greeting(rds_iam_testkit::Greeting::Aurora));
    let mut conn = connector(&bed, &Clock::manual(start())).connect().unwrap();
    let version: Option<String> = conn.query_first("SELECT @@aurora_version").unwrap();
    assert_eq!(version.as_deref(), Some("3.05.2"));
    assert!(bed.server.attempts()[0].tls);
}

#[test]
fn never_sends_the_token_to_a_server_without_tls() {
    let bed = bed(|_| RdsLikeOptions::without_tls().lax());
    let err = connector(&bed, &Clock::manual(start())).connect().unwrap_err();
    assert!(matches!(err, ConnectError::ServerWithoutTls), "{err}");
    assert!(err.to_string().contains("the token was not sent"), "{err}");
    assert!(
        bed.server.tokens_over_plaintext().is_empty(),
        "{:?}",
        bed.server.attempts()
    );
    assert!(bed.server.attempts().iter().all(|a| a.password.is_empty()));
}

#[test]
fn rejected_token_lists_the_causes() {
    let bed = bed(|o| o.validator(|_| false));
    let err = connector(&bed, &Clock::manual(start())).connect().unwrap_err();
    assert!(err.is_token_rejected(), "{err}");
    let text = err.to_string();
    for part in [
        "1045",
        "AWSAuthenticationPlugin",
        "rds-db:connect",
        "localhost",
        "us-east-1",
        "clock",
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
}

#[test]
fn untrusted_ca_and_wrong_name_are_told_apart() {
    let bed = bed(|o| o);
    let other = TestPki::generate(&["localhost"]);
    let dir = tempfile::tempdir().unwrap();
    let other_ca = other.write_to(dir.path()).unwrap().ca;
    let clock = Clock::manual(start());

    let target = Target::new("localhost", bed.server.port(), "iam_app")
        .unwrap()
        .with_region("us-east-1");
    let err = IamConnector::new(target, Temporary(start()), &other_ca)
        .with_clock(clock.clone())
        .connect()
        .unwrap_err();
    assert!(matches!(err, ConnectError::UntrustedCertificate { .. }), "{err}");

    // The certificate names `localhost`; dialing 127.0.0.1 must fail the name check.
    let target = Target::new("127.0.0.1", bed.server.port(), "iam_app")
        .unwrap()
        .with_region("us-east-1");
    let err = IamConnector::new(target, Temporary(start()), &bed.ca)
        .with_clock(clock)
        .connect()
        .unwrap_err();
    assert!(matches!(err, ConnectError::HostnameMismatch { .. }), "{err}");
    assert!(
        bed.server.attempts().iter().all(|a| a.password.is_empty()),
        "no token before TLS is verified"
    );
}

#[test]
fn tunnels_need_an_explicit_choice() {
    let bed = bed(|o| o);
    let target = Target::new("127.0.0.1", bed.server.port(), "iam_app")
        .unwrap()
        .with_signing_host("localhost")
        .unwrap()
        .with_signing_port(3306)
        .unwrap()
        .with_region("us-east-1");
    let clock = Clock::manual(start());
    let connector = IamConnector::new(target, Temporary(start()), &bed.ca).with_clock(clock);
    let err = connector.connect().unwrap_err();
    assert!(
        matches!(&err, ConnectError::NameCannotMatch { dial_host, signing_host }
            if dial_host == "127.0.0.1" && signing_host == "localhost")
            && err.to_string().contains("TlsCheck::DangerSkipHostname"),
        "{err}"
    );
    let connector = connector.with_tls_check(rds_iam_mysql::TlsCheck::DangerSkipHostname);
    let before = bed.server.connections();
    let mut conn = connector.connect().unwrap();
    conn.query_drop("SELECT 1").unwrap();
    let token = rds_iam_token::decode(&bed.server.attempts()[0].password).unwrap();
    assert_eq!(
        (token.host.as_str(), token.port),
        ("localhost", 3306),
        "signed for the signing host and port, dialed the tunnel"
    );
    assert_eq!(
        bed.server.connections() - before,
        2,
        "the chain checked against the bundle alone (a probe), then the login"
    );
    // Once per connector (and its clones): the next login needs no probe.
    let before = bed.server.connections();
    connector.clone().connect().unwrap();
    assert_eq!(bed.server.connections() - before, 1, "no second probe");

    // A bundle without the server's root: refused by that check, before the driver connects or anything is sent.
    let other = TestPki::generate(&["localhost"]);
    let dir = tempfile::tempdir().unwrap();
    let other_ca = other.write_to(dir.path()).unwrap().ca;
    let target = connector.target().clone();
    let before = bed.server.connections();
    bed.server.clear();
    let err = IamConnector::new(target, Temporary(start()), &other_ca)
        .with_clock(Clock::manual(start()))
        .with_tls_check(rds_iam_mysql::TlsCheck::DangerSkipHostname)
        .connect()
        .unwrap_err();
    assert!(matches!(err, ConnectError::UntrustedCertificate { .. }), "{err}");
    assert_eq!(bed.server.connections() - before, 1, "only the probe");
    assert!(bed.server.attempts().is_empty(), "{:?}", bed.server.attempts());
}

#[test]
fn the_probe_shows_the_chain_and_checks_the_endpoint_name() {
    let bed = bed(|o| o);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], bed.server.port()));
    let timeout = Duration::from_secs(10);
    let good = rds_iam_mysql::probe_tls(addr, "localhost", &bed.ca, TlsCheck::Full, timeout).unwrap();
    assert!(good.verdict.is_ok(), "{:?}", good.verdict);
    assert_eq!(good.protocol.as_deref(), Some("TLSv1_3"));
    assert_eq!(good.chain.len(), 2, "leaf and intermediate");
    // Another endpoint name: refused, unless waived; the chain is shown either way.
    let other = rds_iam_mysql::probe_tls(addr, "db.example.com", &bed.ca, TlsCheck::Full, timeout).unwrap();
    assert!(
        matches!(other.verdict, Err(ConnectError::HostnameMismatch { .. })),
        "{:?}",
        other.verdict
    );
    assert_eq!(other.chain.len(), 2);
    let waived =
        rds_iam_mysql::probe_tls(addr, "db.example.com", &bed.ca, TlsCheck::DangerSkipHostname, timeout).unwrap();
    assert!(
        waived.verdict.is_ok() && waived.waived_name_error.is_some(),
        "{waived:?}"
    );
    // No login was attempted.
    assert!(bed.server.attempts().is_empty());
    // A server without TLS: nothing to probe.
    let plain = RdsLikeServer::start(RdsLikeOptions::without_tls().lax());
    let plain_addr = std::net::SocketAddr::from(([127, 0, 0, 1], plain.port()));
    let err = rds_iam_mysql::probe_tls(plain_addr, "localhost", &bed.ca, TlsCheck::Full, timeout).unwrap_err();
    assert!(matches!(err, ConnectError::ServerWithoutTls), "{err}");
}

/// A probe judges the certificate, so "accept any certificate" is refused, before anything is dialed.
#[test]
fn the_probe_refuses_to_accept_any_certificate() {
    let bed = bed(|o| o);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], bed.server.port()));
    let any = TlsCheck::DangerAcceptAnyCertificate;
    let err = rds_iam_mysql::probe_tls(addr, "localhost", &bed.ca, any, Duration::from_secs(10)).unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::UnsupportedTlsCheck {
                check: TlsCheck::DangerAcceptAnyCertificate
            }
        ),
        "{err}"
    );
    let err = rds_iam_mysql::probe_tls_host(
        "127.0.0.1",
        bed.server.port(),
        "localhost",
        &bed.ca,
        any,
        Duration::from_secs(10),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::UnsupportedTlsCheck {
                check: TlsCheck::DangerAcceptAnyCertificate
            }
        ),
        "{err}"
    );
    assert_eq!(bed.server.connections(), 0, "nothing dialed");
}

#[test]
fn debug_shows_no_secret() {
    let bed = bed(|o| o);
    let connector = connector(&bed, &Clock::manual(start()));
    let token = connector.token().unwrap();
    let shown = format!("{connector:?} {token:?}");
    assert!(
        !shown.contains(SECRET) && !shown.contains("IQoJb3JpZ2lu") && !shown.contains("X-Amz-Signature"),
        "{shown}"
    );
}

#[test]
fn a_connection_debug_never_shows_the_token() {
    let bed = bed(|o| o);
    let connector = connector(&bed, &Clock::manual(start()));
    let conn = connector.connect().unwrap();
    let token = bed.server.attempts()[0].password.clone();
    let shown = format!("{conn:?} {conn:#?}");
    assert!(!token.is_empty() && !shown.contains(&token), "{shown}");
    assert!(!shown.contains("X-Amz-Signature"), "{shown}");
    assert!(shown.contains("IamConn") && shown.contains("connection_id"), "{shown}");
    // The driver's own Debug prints the token: the reason for the wrapper.
    assert!(format!("{:?}", conn.into_inner()).contains("X-Amz-Signature"));
}
