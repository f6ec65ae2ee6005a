//! [`EcsProvider`] against [`FakeEcs`]: URL rules, authorization token and token file, faults, and secrets kept out
//! of errors.

use std::time::{Duration, Instant};

use rds_iam_credentials::{Credentials, CredentialsError, EcsProvider, Env, Fs, ProvideCredentials, ProviderConfig};
use rds_iam_testkit::{FakeEcs, Reply};

use super::{EXPIRATION, KEY, SECRET, SESSION, assert_no_secrets, assert_test_credentials, quick_http};

const AUTH: &str = "auth-token-from-env";
const AUTH_FILE: &str = "auth-token-from-file";

fn ecs() -> FakeEcs {
    FakeEcs::start(FakeEcs::credentials_json(KEY, SECRET, SESSION, EXPIRATION))
}

fn provider(vars: &[(&str, &str)], fs: Fs) -> EcsProvider {
    EcsProvider::new(&ProviderConfig::new(Env::from_vars(vars.iter().copied()), fs).with_metadata_http(quick_http()))
}

fn no_files() -> Fs {
    Fs::from_files::<&str, &str>([])
}

fn expect_invalid(result: Result<Credentials, CredentialsError>, text: &str) -> CredentialsError {
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            CredentialsError::InvalidConfiguration { .. } | CredentialsError::ProviderError { .. }
        ),
        "expected invalid: {err}"
    );
    assert!(err.to_string().contains(text), "expected {text:?} in: {err}");
    assert_no_secrets(&err, &[AUTH, AUTH_FILE]);
    err
}

#[test]
fn full_uri_to_loopback() {
    let ecs = ecs();
    let url = ecs.credentials_url();
    let creds = provider(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url)], no_files())
        .provide()
        .unwrap();
    assert_test_credentials(&creds);
    assert_eq!(creds.source(), Some("container credentials"));
    let sent = ecs.requests();
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("GET", "/v1/credentials")
    );
    assert_eq!(sent[0].header("authorization"), None);
}

#[test]
fn urls() {
    let url = |vars: &[(&str, &str)]| provider(vars, no_files()).credentials_url();
    assert_eq!(
        url(&[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc?x=1")]).unwrap(),
        "http://169.254.170.2/v2/credentials/abc?x=1"
    );
    assert_eq!(
        url(&[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://169.254.170.23/v1/credentials"
        )])
        .unwrap(),
        "http://169.254.170.23/v1/credentials"
    );
    let err = url(&[]).unwrap_err();
    assert!(matches!(err, CredentialsError::NotFound { .. }), "{err}");
    let err = provider(
        &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds")],
        no_files(),
    )
    .provide()
    .unwrap_err();
    assert!(
        matches!(
            err,
            CredentialsError::InvalidConfiguration { .. } | CredentialsError::ProviderError { .. }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("plain http to a host that is not allowed"),
        "{err}"
    );
    let err = url(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "/credentials")]).unwrap_err();
    assert!(err.to_string().contains("URI did not specify a host"), "{err}");
}

#[test]
fn authorization_token_and_token_file() {
    let ecs = ecs();
    ecs.expect_auth_token(AUTH);
    let url = ecs.credentials_url();
    let full = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.as_str());
    provider(&[full, ("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH)], no_files())
        .provide()
        .unwrap();
    assert_eq!(ecs.requests()[0].header("authorization"), Some(AUTH));

    // The file beats the variable; it is read for every request (EKS rotates it).
    let path = std::env::temp_dir().join(format!("rds-iam-ecs-token-{}", std::process::id()));
    std::fs::write(&path, format!("{AUTH_FILE}\n")).unwrap();
    let path_text = path.to_string_lossy().into_owned();
    let vars = [
        full,
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path_text.as_str()),
    ];
    let provider = provider(&vars, Fs::real());
    let err = expect_invalid(provider.provide(), "HTTP 401");
    assert!(
        err.to_string().contains("check AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
        "{err}"
    );
    assert_eq!(ecs.requests().last().unwrap().header("authorization"), Some(AUTH_FILE));
    ecs.expect_auth_token(AUTH_FILE);
    provider.provide().unwrap();
    std::fs::write(&path, "rotated").unwrap();
    expect_invalid(provider.provide(), "AccessDeniedException");
    assert_eq!(ecs.requests().last().unwrap().header("authorization"), Some("rotated"));
    std::fs::remove_file(&path).unwrap();
    expect_invalid(provider.provide(), "could not read the authorization token file");

    let multi_line = [full, ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\nb")];
    expect_invalid(super::ecs::provider(&multi_line, no_files()).provide(), "line break");
}

#[test]
fn faults() {
    let ecs = ecs();
    let url = ecs.credentials_url();
    let vars = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.as_str()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH),
    ];
    let provider = provider(&vars, no_files());

    ecs.fail(2, 503);
    provider.provide().unwrap();
    assert_eq!(ecs.requests().len(), 3, "two 503s retried");

    ecs.fail(100, 500);
    expect_invalid(provider.provide(), "HTTP 500 after 3 attempts");
    ecs.clear_faults();

    let bad = [
        (Reply::json(200, "{not json"), "not a JSON credentials document"),
        (
            Reply::json(
                200,
                format!(r#"{{"AccessKeyId":"{KEY}","SecretAccessKey":"{SECRET}","Expiration":"soon"}}"#),
            ),
            "is not an RFC 3339 time",
        ),
        (
            Reply::json(200, "x".repeat(70_000)),
            "answered with more than 65536 bytes",
        ),
        (Reply::Close, "request to http://127.0.0.1:"),
        (Reply::json(404, "{}"), "check AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
    ];
    for (reply, text) in bad {
        ecs.set_reply(reply);
        expect_invalid(provider.provide(), text);
    }

    ecs.set_reply(Reply::Hang);
    let started = Instant::now();
    expect_invalid(provider.provide(), "did not answer within 300ms");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn long_term_keys_are_accepted() {
    let ecs = FakeEcs::start(format!(r#"{{"AccessKeyId":"{KEY}","SecretAccessKey":"{SECRET}"}}"#));
    let url = ecs.credentials_url();
    let creds = provider(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url)], no_files())
        .provide()
        .unwrap();
    assert!(creds.session_token().is_none() && creds.expiry().is_none());
}
