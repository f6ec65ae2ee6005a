//! [`ImdsProvider`] against [`FakeImds`]: the IMDSv2 request sequence, session-token reuse and renewal, faults,
//! failing fast off EC2, and secrets kept out of errors.

use std::time::{Duration, Instant, SystemTime};

use rds_iam_credentials::{
    Clock, CredentialsError, Env, Fs, HttpSettings, ImdsProvider, ProvideCredentials, ProviderConfig,
};
use rds_iam_testkit::{FakeHttpServer, FakeImds, Reply};

use super::{EXPIRATION, KEY, SECRET, SESSION, assert_no_secrets, assert_test_credentials, quick_http};

fn imds() -> FakeImds {
    FakeImds::start("web-role", FakeImds::credentials_json(KEY, SECRET, SESSION, EXPIRATION))
}

fn config(endpoint: &str) -> ProviderConfig {
    let env = Env::from_vars([("HOME", "/h"), ("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint)]);
    ProviderConfig::new(env, Fs::from_files::<&str, &str>([]))
}

fn provider(imds: &FakeImds) -> ImdsProvider {
    ImdsProvider::new(&config(&imds.url()))
}

fn quick_provider(imds: &FakeImds) -> ImdsProvider {
    ImdsProvider::new(&config(&imds.url()).with_metadata_http(quick_http()))
}

/// `(method, path, token header)` of every request.
fn requests(imds: &FakeImds) -> Vec<(String, String, Option<String>)> {
    imds.requests()
        .into_iter()
        .map(|r| {
            let token = r.header("x-aws-ec2-metadata-token").map(str::to_owned);
            (r.method, r.path, token)
        })
        .collect()
}

fn request(method: &str, path: &str, token: Option<&str>) -> (String, String, Option<String>) {
    (method.to_owned(), path.to_owned(), token.map(str::to_owned))
}

fn expect_not_found(
    result: Result<rds_iam_credentials::Credentials, CredentialsError>,
    text: &str,
) -> CredentialsError {
    let err = result.unwrap_err();
    assert!(
        matches!(err, CredentialsError::NotFound { .. }),
        "expected not found: {err}"
    );
    assert!(err.to_string().contains(text), "expected {text:?} in: {err}");
    assert_no_secrets(&err, &["token-1", "token-2"]);
    err
}

fn expect_invalid(result: Result<rds_iam_credentials::Credentials, CredentialsError>, text: &str) -> CredentialsError {
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            CredentialsError::InvalidConfiguration { .. } | CredentialsError::ProviderError { .. }
        ),
        "expected invalid: {err}"
    );
    assert!(err.to_string().contains(text), "expected {text:?} in: {err}");
    assert_no_secrets(&err, &["token-1", "token-2"]);
    err
}

#[test]
fn imdsv2_request_sequence() {
    let imds = imds();
    let creds = provider(&imds).provide().unwrap();
    assert_test_credentials(&creds);
    assert_eq!(creds.source(), Some("ec2 instance metadata (role web-role)"));

    let sent = imds.requests();
    assert_eq!(sent[0].header("x-aws-ec2-metadata-token-ttl-seconds"), Some("21600"));
    assert_eq!(
        requests(&imds),
        [
            request("PUT", "/latest/api/token", None),
            request("GET", "/latest/meta-data/iam/security-credentials/", Some("token-1")),
            request(
                "GET",
                "/latest/meta-data/iam/security-credentials/web-role",
                Some("token-1")
            ),
        ]
    );
}

#[test]
fn session_token_is_reused_until_shortly_before_its_ttl() {
    let imds = imds();
    let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let provider = ImdsProvider::new(&config(&imds.url()).with_clock(clock.clone()));
    provider.provide().unwrap();
    provider.provide().unwrap();
    assert_eq!(imds.tokens_issued(), 1, "one PUT for two provide() calls");
    let puts = requests(&imds).iter().filter(|(m, ..)| m == "PUT").count();
    assert_eq!(puts, 1);

    clock.advance(Duration::from_secs(5 * 3600 + 50 * 60));
    provider.provide().unwrap();
    assert_eq!(
        imds.tokens_issued(),
        1,
        "still reused 10 minutes before the end of its 6 hours"
    );
    clock.advance(Duration::from_secs(9 * 60));
    provider.provide().unwrap();
    assert_eq!(imds.tokens_issued(), 2, "renewed a minute before the end");
    assert_eq!(
        imds.requests().last().unwrap().header("x-aws-ec2-metadata-token"),
        Some("token-2")
    );
}

#[test]
fn a_401_renews_the_session_token_once() {
    let imds = imds();
    let provider = provider(&imds);
    provider.provide().unwrap();
    imds.revoke_tokens();
    imds.clear();
    provider.provide().unwrap();
    assert_eq!(
        requests(&imds),
        [
            request("GET", "/latest/meta-data/iam/security-credentials/", Some("token-1")),
            request("PUT", "/latest/api/token", None),
            request("GET", "/latest/meta-data/iam/security-credentials/", Some("token-2")),
            request(
                "GET",
                "/latest/meta-data/iam/security-credentials/web-role",
                Some("token-2")
            ),
        ]
    );

    // Tokens that die at once: renewed once, then given up.
    imds.set_token_ttl(Duration::ZERO);
    imds.revoke_tokens();
    expect_invalid(provider.provide(), "HTTP 401 twice");
}

#[test]
fn server_errors_are_retried_a_few_times() {
    let imds = imds();
    imds.fail_credentials(2, 503);
    provider(&imds).provide().unwrap();
    assert_eq!(
        imds.requests().len(),
        1 + 2 + 2,
        "PUT, listing 503 ×2 then 200, role 200"
    );

    imds.fail_credentials(100, 500);
    imds.clear();
    expect_invalid(provider(&imds).provide(), "answered HTTP 500 after 3 attempts");
    assert_eq!(imds.requests().len(), 1 + 3);

    imds.clear_faults();
    imds.set_token_reply(Reply::text(503, "busy"));
    expect_invalid(provider(&imds).provide(), "PUT");
}

#[test]
fn no_role_is_not_found() {
    let imds = imds();
    imds.set_role(None);
    expect_not_found(provider(&imds).provide(), "no IAM role is attached to this instance");
}

/// The documented choice: IMDSv2 only, as aws-config; botocore would fall back to IMDSv1 here.
#[test]
fn token_request_refused_is_an_error_without_imdsv1_fallback() {
    let imds = imds();
    imds.set_token_reply(Reply::text(403, "Forbidden"));
    let err = expect_invalid(provider(&imds).provide(), "HTTP 403");
    assert!(err.to_string().contains("does not fall back to IMDSv1"), "{err}");
    assert_eq!(
        requests(&imds),
        [request("PUT", "/latest/api/token", None)],
        "no IMDSv1 GET"
    );

    // Something that is not IMDSv2 (an old proxy, another cloud's metadata server): not found.
    imds.set_token_reply(Reply::text(405, ""));
    expect_not_found(provider(&imds).provide(), "not an EC2 instance metadata service");
}

#[test]
fn bad_credential_documents() {
    let imds = imds();
    let bad = [
        (
            Reply::text(200, "<html>captive portal</html>"),
            "not a JSON credentials document (27 bytes: \"<html>",
        ),
        (
            Reply::text(200, format!(r#"{{"AccessKeyId":"{KEY}","SecretAccessKey":"{SECRET}","#)),
            "not a JSON credentials document (",
        ),
        (
            Reply::text(
                200,
                format!(r#"{{"Code":"AssumeRoleUnauthorizedAccess","SecretAccessKey":"{SECRET}"}}"#),
            ),
            "Code `AssumeRoleUnauthorizedAccess` instead of `Success`",
        ),
        (
            Reply::text(
                200,
                format!(r#"{{"Code":"Success","AccessKeyId":"{KEY}","SecretAccessKey":"{SECRET}"}}"#),
            ),
            "no `Token` field",
        ),
        (
            Reply::text(200, "x".repeat(100_000)),
            "answered with more than 65536 bytes",
        ),
        (
            Reply::Raw(b"\x00garbage".to_vec()),
            "not an answer of an instance metadata service",
        ),
        (Reply::text(400, "bad request"), "HTTP 400"),
    ];
    for (reply, text) in bad {
        imds.set_credentials_reply(reply);
        expect_invalid(provider(&imds).provide(), text);
    }
}

#[test]
fn a_hanging_role_request_is_given_up() {
    let imds = imds();
    imds.set_credentials_reply(Reply::Hang);
    let started = Instant::now();
    expect_not_found(quick_provider(&imds).provide(), "stopped answering");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn off_ec2_it_fails_fast() {
    // A black hole (accepts, never answers), with the default 1 s metadata timeout.
    let hole = FakeHttpServer::black_hole();
    let started = Instant::now();
    let err = expect_not_found(
        ImdsProvider::new(&config(&hole.url())).provide(),
        "no instance metadata service at http://127.0.0.1:",
    );
    let elapsed = started.elapsed();
    eprintln!("imds black hole: gave up after {elapsed:?} ({err})");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(hole.requests().len(), 1, "a timeout is not retried");

    // Nothing listening: refused at once.
    let addr = hole.addr();
    drop(hole);
    let started = Instant::now();
    expect_not_found(
        ImdsProvider::new(&config(&format!("http://{addr}"))).provide(),
        "(not on EC2?)",
    );
    eprintln!("imds connection refused: gave up after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn disabled_by_environment() {
    let imds = imds();
    let env = Env::from_vars([
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url().as_str()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let provider = ImdsProvider::new(&ProviderConfig::new(env, Fs::from_files::<&str, &str>([])));
    expect_not_found(provider.provide(), "AWS_EC2_METADATA_DISABLED");
    assert!(imds.requests().is_empty());
}

#[test]
fn endpoint_settings() {
    let imds = imds();
    // From the profile, and the builder beats everything.
    let env = Env::from_vars([("HOME", "/h")]);
    let fs = Fs::from_files([(
        "/h/.aws/config",
        format!("[default]\nec2_metadata_service_endpoint = {}\n", imds.url()),
    )]);
    let config = ProviderConfig::new(env, fs);
    ImdsProvider::new(&config).provide().unwrap();
    let provider = ImdsProvider::new(&config).with_endpoint("http://127.0.0.1:1");
    assert_eq!(provider.endpoint().unwrap(), "http://127.0.0.1:1");

    let bad = |vars: &[(&str, &str)]| {
        let config = ProviderConfig::new(Env::from_vars(vars.iter().copied()), Fs::from_files::<&str, &str>([]));
        ImdsProvider::new(&config).provide()
    };
    expect_invalid(
        bad(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5")]),
        "`IPv5` is not a valid endpoint mode",
    );
    expect_invalid(
        bad(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "not a uri")]),
        "invalid uri character",
    );
    expect_invalid(
        bad(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://x")]),
        "not http or https",
    );
}

#[test]
fn debug_shows_no_session_token() {
    let imds = imds();
    let provider = ImdsProvider::new(&config(&imds.url()).with_metadata_http(HttpSettings::metadata()));
    provider.provide().unwrap();
    let shown = format!("{provider:?}");
    assert!(!shown.contains("token-1"), "{shown}");
}
