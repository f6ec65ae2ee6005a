//! `rds-iam doctor` without a database: STS and the RDS API answered by a loopback fake (a clock 10 minutes
//! off, the RDS API refusing with AccessDenied), `--offline`, and a closed port; and the TLS check of an RDS Proxy
//! endpoint against the built-in Amazon roots (an RDS-like server on loopback).

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, SystemTime};

use rds_iam_testkit::{FakeBundleServer, FakeHttpServer, RdsLikeOptions, RdsLikeServer, Reply, TestPki};
use serde_json::Value;

use crate::{KEY, SECRET, home, rds_iam, stdout};

const IDENTITY: &str = "<GetCallerIdentityResponse><GetCallerIdentityResult>\
    <Arn>arn:aws:iam::123456789012:user/ann</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>\
    </GetCallerIdentityResult></GetCallerIdentityResponse>";
const DENIED: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: \
    arn:aws:iam::123456789012:user/ann is not authorized to perform: rds:DescribeDBInstances</Message></Error>\
    </ErrorResponse>";

const EXPIRED_SIGNATURE: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>\
    <Message>Signature expired: 20261128T120000Z is now earlier than 20261128T120500Z</Message></Error>\
    </ErrorResponse>";

/// `Sun, 06 Nov 1994 08:49:37 GMT` for `at`.
fn http_date(at: SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        &at.weekday().to_string()[..3],
        at.day(),
        &at.month().to_string()[..3],
        at.year(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn status<'a>(report: &'a Value, name: &str) -> (&'a str, &'a str) {
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"));
    (check["status"].as_str().unwrap(), check["summary"].as_str().unwrap())
}

#[test]
fn clock_skew_denied_api_and_closed_port() {
    #[allow(
        clippy::disallowed_methods,
        reason = "the fake server's clock must be off from the real one the CLI reads"
    )]
    let ten_minutes_ago = SystemTime::now() - Duration::from_secs(600);
    let date = http_date(ten_minutes_ago);
    let aws = FakeHttpServer::start(move |request| {
        if request.body.contains("Action=GetCallerIdentity") {
            Reply::text(200, IDENTITY).with_header("date", &date)
        } else {
            Reply::text(403, DENIED).with_header("content-type", "text/xml")
        }
    });
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let h = home("", "");
    let url = aws.url();
    let vars = [
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_ENDPOINT_URL_STS", url.as_str()),
        ("AWS_ENDPOINT_URL_RDS", url.as_str()),
    ];
    let args = [
        "doctor",
        "--hostname",
        "127.0.0.1",
        "--port",
        &closed,
        "--signing-host",
        "mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com",
        "--username",
        "app",
        "--output",
        "json",
    ];
    let out = rds_iam(h.path(), &args, &vars);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let (credentials, identity) = status(&report, "credentials");
    assert_eq!(credentials, "pass", "{identity}");
    let (clock, skew) = status(&report, "clock");
    assert_eq!(clock, "fail", "{skew}");
    assert!(skew.contains("ahead of AWS's"), "{skew}");
    let (api, note) = status(&report, "rds-api");
    assert_eq!(api, "skip", "{note}\n{report:#}");
    assert!(
        note.contains("AccessDenied") || note.contains("not permitted"),
        "{note}"
    );
    assert_eq!(status(&report, "tcp").0, "fail");
    assert_eq!(status(&report, "tls").0, "skip");
    assert_eq!(status(&report, "login").0, "skip");
    let (policy, needed) = status(&report, "policy");
    assert_eq!(policy, "info");
    assert!(
        needed.starts_with(
            "arn:aws:iam::123456789012:user/ann needs rds-db:connect on \
             arn:aws:rds-db:eu-west-1:123456789012:dbuser:RESOURCE_ID/app"
        ),
        "{needed}"
    );
    assert!(!stdout(&out).contains(SECRET));

    // STS refusing a signature from a skewed clock: the clock is blamed, not the credentials.
    let skewed = http_date(ten_minutes_ago);
    let refusing = FakeHttpServer::start(move |_| {
        Reply::text(403, EXPIRED_SIGNATURE)
            .with_header("date", &skewed)
            .with_header("content-type", "text/xml")
    });
    let refusing_url = refusing.url();
    let mut skewed_vars = vars;
    skewed_vars[2].1 = refusing_url.as_str();
    let report: Value = serde_json::from_str(&stdout(&rds_iam(h.path(), &args, &skewed_vars))).unwrap();
    assert_eq!(status(&report, "credentials").0, "warn", "{report:#}");
    assert_eq!(status(&report, "clock").0, "fail", "{report:#}");

    // --offline: no request at all, and the API checks say why they were skipped.
    aws.clear();
    let mut offline = args.to_vec();
    offline.push("--offline");
    let out = rds_iam(h.path(), &offline, &vars);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(status(&report, "clock"), ("skip", "not checked (--offline)"));
    assert_eq!(status(&report, "rds-api"), ("skip", "not checked (--offline)"));
    assert!(aws.requests().is_empty(), "{:?}", aws.requests());
}

/// The evidence lines of check `name`.
fn evidence(report: &Value, name: &str) -> String {
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap();
    check["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_proxy_endpoint_is_checked_against_the_amazon_roots() {
    const PROXY: &str = "myproxy.proxy-c1a2b3c4d5e6.us-east-1.rds.amazonaws.com";
    let pki = TestPki::generate(&[PROXY]);
    let server = RdsLikeServer::start(RdsLikeOptions::from_pki(&pki));
    // Asked for nothing: a proxy's trust is built in.
    let bundles = FakeBundleServer::start();
    let h = home("", "");
    let cache = h.path().join("cache");
    let own_bundle = h.path().join("test-root.pem");
    std::fs::write(&own_bundle, pki.root_pem()).unwrap();
    let (cache, url, port) = (cache.display().to_string(), bundles.url(), server.port().to_string());
    let vars = [
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("RDS_IAM_CACHE_DIR", cache.as_str()),
        ("RDS_IAM_CA_BASE_URL", url.as_str()),
    ];
    let mut args = vec![
        "doctor",
        "--hostname",
        "127.0.0.1",
        "--port",
        &port,
        "--signing-host",
        PROXY,
        "--username",
        "app",
        "--offline",
        "--output",
        "json",
    ];

    // The test server's certificate does not chain to Amazon's roots, as a TLS-inspecting middlebox's would not.
    let report: Value = serde_json::from_str(&stdout(&rds_iam(h.path(), &args, &vars))).unwrap();
    let (tls, summary) = status(&report, "tls");
    assert_eq!(tls, "fail", "{report:#}");
    assert!(summary.contains("amazon-trust-services.pem"), "{summary}");
    assert!(evidence(&report, "tls").contains("leads to none of them"), "{report:#}");
    assert!(bundles.requests().is_empty(), "{:?}", bundles.requests());
    let written = std::fs::read_to_string(Path::new(&cache).join("ca/amazon-trust-services.pem")).unwrap();
    assert_eq!(written.matches("BEGIN CERTIFICATE").count(), 5);

    // With a bundle of one's own that lacks Amazon's roots, the advice is to leave it out.
    let own = own_bundle.display().to_string();
    let other = TestPki::generate(&[PROXY]);
    std::fs::write(&own_bundle, other.root_pem()).unwrap();
    args.extend(["--ca-bundle", &own]);
    let report: Value = serde_json::from_str(&stdout(&rds_iam(h.path(), &args, &vars))).unwrap();
    assert_eq!(status(&report, "tls").0, "fail", "{report:#}");
    assert!(
        evidence(&report, "tls").contains("rds-iam ca path --proxy"),
        "{report:#}"
    );

    // And the right one passes, the name checked against the proxy endpoint.
    std::fs::write(&own_bundle, pki.root_pem()).unwrap();
    let report: Value = serde_json::from_str(&stdout(&rds_iam(h.path(), &args, &vars))).unwrap();
    let (tls, summary) = status(&report, "tls");
    assert_eq!(tls, "pass", "{report:#}");
    assert!(summary.contains(&format!("certificate valid for {PROXY}")), "{summary}");
}
