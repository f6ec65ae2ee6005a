//! SSO (IAM Identity Center): the `aws sso login` token cache and the portal's `GetRoleCredentials`, against
//! [`FakeSsoPortal`]; the `sso-session` token refresh against a loopback SSO-OIDC `CreateToken`.

use std::time::{Duration, SystemTime};

use rds_iam_credentials::{Credentials, CredentialsError, ProfileProvider, ProvideCredentials};
use rds_iam_testkit::{FakeHttpServer, FakeSsoPortal, Reply, SsoFault};
use serde_json::Value;

use crate::{assert_no_secret, config_with, invalid};

const TOKEN: &str = "cachedSsoAccessTokenDoNotLeak";
const START_URL: &str = "https://d-abc123.awsapps.com/start";
/// `printf %s https://d-abc123.awsapps.com/start | sha1sum`
const START_URL_CACHE: &str = "/h/.aws/sso/cache/40a89917e3175433e361b710a9d43528d7f1890a.json";
/// `printf %s dev | sha1sum`
const SESSION_CACHE: &str = "/h/.aws/sso/cache/34c6fceca75e456f25e7e99531e2425c6c1de443.json";

fn legacy_profile() -> String {
    format!(
        "[profile p]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\nsso_account_id = 123456789012\n\
         sso_role_name = ReadOnly\nregion = us-east-2\n"
    )
}

fn session_profile() -> String {
    format!(
        "[profile p]\nsso_session = dev\nsso_account_id = 123456789012\nsso_role_name = ReadOnly\n\
         [sso-session dev]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\n"
    )
}

/// A cache entry as `aws sso login` writes it (`fixed_now` is 2024-01-02T03:04:05Z).
fn cache_entry(expires_at: &str) -> String {
    format!(
        r#"{{"startUrl": "{START_URL}", "region": "eu-west-1", "accessToken": "{TOKEN}", "expiresAt": "{expires_at}"}}"#
    )
}

fn provide(portal: &FakeSsoPortal, profile: &str, cache: &[(&str, &str)]) -> Result<Credentials, CredentialsError> {
    let url = portal.url();
    let config = config_with(&[("AWS_ENDPOINT_URL_SSO", &url)], profile, cache).with_profile("p");
    ProfileProvider::new(&config).provide()
}

#[test]
fn legacy_profile_gets_role_credentials() {
    let portal = FakeSsoPortal::start(TOKEN, "123456789012", "ReadOnly");
    let entry = cache_entry("2024-01-02T05:00:00Z");
    let creds = provide(&portal, &legacy_profile(), &[(START_URL_CACHE, &entry)]).unwrap();
    let expected = portal.credentials();
    assert_eq!(creds.access_key_id(), expected.access_key_id);
    assert_eq!(creds.secret_access_key().expose(), &expected.secret_access_key);
    assert_eq!(creds.session_token().unwrap().expose(), &expected.session_token);
    assert_eq!(
        creds.expiry(),
        Some(SystemTime::UNIX_EPOCH + Duration::from_millis(expected.expiration_ms))
    );
    assert_eq!(creds.source(), Some("profile p"));
    let request = &portal.requests()[0];
    assert_eq!(
        request.path,
        "/federation/credentials?role_name=ReadOnly&account_id=123456789012"
    );
    assert_eq!(request.header("x-amz-sso_bearer_token"), Some(TOKEN));
}

#[test]
fn sso_session_profile_gets_role_credentials() {
    let portal = FakeSsoPortal::start(TOKEN, "123456789012", "ReadOnly");
    // Older AWS CLI versions wrote `UTC` instead of `Z`.
    let entry = cache_entry("2024-01-02T05:00:00UTC");
    let creds = provide(&portal, &session_profile(), &[(SESSION_CACHE, &entry)]).unwrap();
    assert_eq!(creds.access_key_id(), portal.credentials().access_key_id);

    // The token cache is keyed by the session name, not the start URL.
    let message = invalid(provide(&portal, &session_profile(), &[(START_URL_CACHE, &entry)]));
    assert!(message.contains(&format!("looked for {SESSION_CACHE}")), "{message}");
}

#[test]
fn missing_or_expired_tokens_ask_for_a_login() {
    let portal = FakeSsoPortal::start(TOKEN, "123456789012", "ReadOnly");
    let message = invalid(provide(&portal, &legacy_profile(), &[]));
    assert_eq!(
        message,
        format!(
            "profile p: no cached SSO token for {START_URL} (looked for {START_URL_CACHE}): run `aws sso login \
             --profile p`"
        )
    );

    let expired = cache_entry("2024-01-02T03:00:00Z");
    let result = provide(&portal, &session_profile(), &[(SESSION_CACHE, &expired)]);
    assert_no_secret(result.as_ref().unwrap_err(), &[TOKEN]);
    assert_eq!(
        invalid(result),
        "profile p: the cached SSO token for sso-session dev expired at 2024-01-02T03:00:00Z: run `aws sso login \
         --profile p`"
    );

    let message = invalid(provide(&portal, &legacy_profile(), &[(START_URL_CACHE, "{")]));
    assert!(
        message.ends_with("is not JSON: run `aws sso login --profile p`"),
        "{message}"
    );
    assert!(portal.requests().is_empty());
}

#[test]
fn portal_refusals() {
    let portal = FakeSsoPortal::start("another-token", "123456789012", "ReadOnly");
    let entry = cache_entry("2024-01-02T05:00:00Z");
    let cache = [(START_URL_CACHE, entry.as_str())];
    let result = provide(&portal, &legacy_profile(), &cache);
    assert_no_secret(result.as_ref().unwrap_err(), &[TOKEN]);
    let message = invalid(result);
    assert!(
        message.contains(
            "was refused (HTTP 401): Session token not found or invalid; the cached token was not accepted: run \
             `aws sso login --profile p`"
        ),
        "{message}"
    );

    let portal = FakeSsoPortal::start(TOKEN, "123456789012", "Admin");
    let message = invalid(provide(&portal, &legacy_profile(), &cache));
    assert!(
        message.contains(&format!(
            "sso GetRoleCredentials for role ReadOnly in account 123456789012 at {} was refused (HTTP 403): No \
             access; check that the role exists and is assigned to you",
            portal.url()
        )),
        "{message}"
    );

    let portal = FakeSsoPortal::start(TOKEN, "123456789012", "ReadOnly");
    portal.set_fault(Some(SsoFault::Garbage));
    let message = invalid(provide(&portal, &legacy_profile(), &cache));
    assert!(message.ends_with("answered without roleCredentials"), "{message}");
    portal.set_fault(Some(SsoFault::Status(500)));
    let message = invalid(provide(&portal, &legacy_profile(), &cache));
    assert!(
        message.contains("(HTTP 500): injected fault; try again later"),
        "{message}"
    );
}

#[test]
fn configuration_errors() {
    let portal = FakeSsoPortal::start(TOKEN, "123456789012", "ReadOnly");
    let missing_session = "[profile p]\nsso_session = oops\n";
    let message = invalid(provide(&portal, missing_session, &[]));
    assert!(
        message.starts_with("profile p: sso-session named `oops` (referenced by profile `p`) was not found"),
        "{message}"
    );
    let no_role = format!("[profile p]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\nsso_account_id = 1\n");
    let message = invalid(provide(&portal, &no_role, &[]));
    assert!(
        message.contains("if `sso_account_id` is set, then `sso_role_name` must also be set"),
        "{message}"
    );
    let token_only = format!(
        "[profile p]\nsso_session = dev\n[sso-session dev]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\n"
    );
    let message = invalid(provide(&portal, &token_only, &[]));
    assert!(
        message.contains("sets no sso_account_id and sso_role_name"),
        "{message}"
    );
}

const REFRESH_TOKEN: &str = "cachedRefreshTokenDoNotLeak";
const CLIENT_SECRET: &str = "cachedClientSecretDoNotLeak";
const NEW_TOKEN: &str = "refreshedSsoAccessTokenDoNotLeak";

/// A cache entry as `aws sso login` writes it for an `sso-session`: with the client registration and refresh token.
fn session_entry(expires_at: &str, registration_expires_at: &str) -> String {
    format!(
        r#"{{"startUrl": "{START_URL}", "region": "eu-west-1", "accessToken": "{TOKEN}", "expiresAt": "{expires_at}",
            "clientId": "client-1", "clientSecret": "{CLIENT_SECRET}", "registrationExpiresAt": "{registration_expires_at}",
            "refreshToken": "{REFRESH_TOKEN}"}}"#
    )
}

/// SSO-OIDC answering `CreateToken` with `reply`.
fn oidc(reply: Reply) -> FakeHttpServer {
    FakeHttpServer::start(move |_| reply.clone())
}

fn provide_with_oidc(
    portal: &FakeSsoPortal,
    oidc: &FakeHttpServer,
    entry: &str,
) -> (Result<Credentials, CredentialsError>, Value) {
    let (portal_url, oidc_url) = (portal.url(), oidc.url());
    let config = config_with(
        &[
            ("AWS_ENDPOINT_URL_SSO", &portal_url),
            ("AWS_ENDPOINT_URL_SSO_OIDC", &oidc_url),
        ],
        &session_profile(),
        &[(SESSION_CACHE, entry)],
    )
    .with_profile("p");
    let result = ProfileProvider::new(&config.clone()).provide();
    let stored = config.fs().read_to_string(std::path::Path::new(SESSION_CACHE)).unwrap();
    (result, serde_json::from_str(&stored).unwrap())
}

#[test]
fn a_session_token_near_expiry_is_refreshed_and_stored() {
    // Ten minutes left (now is 03:04:05): inside the 15-minute window.
    let portal = FakeSsoPortal::start(NEW_TOKEN, "123456789012", "ReadOnly");
    let server = oidc(Reply::json(
        200,
        format!(
            r#"{{"accessToken": "{NEW_TOKEN}", "expiresIn": 28800, "refreshToken": "new-refresh", "tokenType": "Bearer"}}"#
        ),
    ));
    let (result, stored) = provide_with_oidc(
        &portal,
        &server,
        &session_entry("2024-01-02T03:14:05Z", "2024-04-01T00:00:00Z"),
    );
    assert_eq!(result.unwrap().access_key_id(), portal.credentials().access_key_id);

    let request = &server.requests()[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/token"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"clientId": "client-1", "clientSecret": CLIENT_SECRET, "grantType": "refresh_token",
                           "refreshToken": REFRESH_TOKEN})
    );
    assert_eq!(portal.requests()[0].header("x-amz-sso_bearer_token"), Some(NEW_TOKEN));
    // Written back as the AWS CLI does: new token, expiry now + expiresIn, the new refresh token; the rest kept.
    assert_eq!(stored["accessToken"], NEW_TOKEN);
    assert_eq!(stored["expiresAt"], "2024-01-02T11:04:05Z");
    assert_eq!(stored["refreshToken"], "new-refresh");
    assert_eq!(stored["clientSecret"], CLIENT_SECRET);
    assert_eq!(stored["registrationExpiresAt"], "2024-04-01T00:00:00Z");
    assert_eq!(stored["startUrl"], START_URL);
}

#[test]
fn a_failed_refresh_keeps_a_valid_token_and_explains_an_expired_one() {
    let refused = Reply::json(
        400,
        r#"{"error": "invalid_grant", "error_description": "Invalid refresh token provided"}"#,
    );
    // Still valid for ten minutes: the old token is used, the cache left alone.
    let portal = FakeSsoPortal::start(TOKEN, "123456789012", "ReadOnly");
    let server = oidc(refused.clone());
    let entry = session_entry("2024-01-02T03:14:05Z", "2024-04-01T00:00:00Z");
    let (result, stored) = provide_with_oidc(&portal, &server, &entry);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(server.requests().len(), 1);
    assert_eq!(stored, serde_json::from_str::<Value>(&entry).unwrap());

    // Expired: the refusal is the reason, and the advice is still `aws sso login`.
    let entry = session_entry("2024-01-02T03:00:00Z", "2024-04-01T00:00:00Z");
    let (result, _) = provide_with_oidc(&portal, &server, &entry);
    assert_no_secret(result.as_ref().unwrap_err(), &[TOKEN, REFRESH_TOKEN, CLIENT_SECRET]);
    assert_eq!(
        invalid(result),
        format!(
            "profile p: the cached SSO token for sso-session dev expired at 2024-01-02T03:00:00Z and refreshing it \
             failed (sso-oidc CreateToken at {} was refused (HTTP 400): invalid_grant: Invalid refresh token \
             provided): run `aws sso login --profile p`",
            server.url()
        )
    );
}

#[test]
fn no_refresh_without_a_live_registration_or_for_legacy_profiles() {
    let portal = FakeSsoPortal::start(TOKEN, "123456789012", "ReadOnly");
    let server = oidc(Reply::json(
        200,
        format!(r#"{{"accessToken": "{NEW_TOKEN}", "expiresIn": 3600}}"#),
    ));
    // The client registration expired: only a new login helps.
    let entry = session_entry("2024-01-02T03:00:00Z", "2024-01-01T00:00:00Z");
    let (result, _) = provide_with_oidc(&portal, &server, &entry);
    assert!(invalid(result).ends_with("expired at 2024-01-02T03:00:00Z: run `aws sso login --profile p`"));
    // A token far from expiry is not refreshed.
    let (result, _) = provide_with_oidc(
        &portal,
        &server,
        &session_entry("2024-01-02T05:00:00Z", "2024-04-01T00:00:00Z"),
    );
    assert!(result.is_ok(), "{result:?}");
    // The legacy form (no sso-session) is never refreshed, as with the AWS CLI.
    let url = portal.url();
    let oidc_url = server.url();
    let legacy = session_entry("2024-01-02T03:00:00Z", "2024-04-01T00:00:00Z");
    let config = config_with(
        &[("AWS_ENDPOINT_URL_SSO", &url), ("AWS_ENDPOINT_URL_SSO_OIDC", &oidc_url)],
        &legacy_profile(),
        &[(START_URL_CACHE, &legacy)],
    )
    .with_profile("p");
    assert!(invalid(ProfileProvider::new(&config).provide()).contains("expired at"));
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

/// Like [`provide_with_oidc`], with a portal accepting `TOKEN` and SSO-OIDC answering `reply`.
fn refresh_with(reply: Reply, entry: &str) -> (Result<Credentials, CredentialsError>, Value, FakeHttpServer) {
    let portal = FakeSsoPortal::start(TOKEN, "123456789012", "ReadOnly");
    let server = oidc(reply);
    let (result, stored) = provide_with_oidc(&portal, &server, entry);
    (result, stored, server)
}

#[test]
fn unusable_refresh_answers_are_refused() {
    let valid = session_entry("2024-01-02T03:14:05Z", "2024-04-01T00:00:00Z");
    let expired = session_entry("2024-01-02T03:00:00Z", "2024-04-01T00:00:00Z");
    let cases = [
        (
            format!(r#"{{"accessToken": "{NEW_TOKEN}", "expiresIn": 0}}"#),
            "already expired (expiresIn 0)",
        ),
        (
            format!(r#"{{"accessToken": "{NEW_TOKEN}", "expiresIn": 18446744073709551615}}"#),
            "expiresIn out of range (18446744073709551615)",
        ),
        (
            format!(r#"{{"accessToken": "{NEW_TOKEN}"}}"#),
            "answered without expiresIn",
        ),
        ("<html>portal login</html>".to_owned(), "answered without accessToken"),
    ];
    for (body, why) in cases {
        // Ten minutes left: the answer is not used, the cached token is, and the file is left alone.
        let (result, stored, _) = refresh_with(Reply::json(200, body.clone()), &valid);
        assert!(result.is_ok(), "{why}: {result:?}");
        assert_eq!(stored, serde_json::from_str::<Value>(&valid).unwrap(), "{why}");
        // Expired: the reason is given.
        let (result, _, _) = refresh_with(Reply::json(200, body), &expired);
        assert_no_secret(
            result.as_ref().unwrap_err(),
            &[TOKEN, REFRESH_TOKEN, CLIENT_SECRET, NEW_TOKEN],
        );
        let message = invalid(result);
        assert!(message.contains(why), "{why}: {message}");
    }
}

#[test]
fn the_stored_entry_is_built_as_botocore_builds_it() {
    // An extra field, and an answer without a new refresh token: neither is kept, as with botocore.
    let mut entry: Value =
        serde_json::from_str(&session_entry("2024-01-02T03:00:00Z", "2024-04-01T00:00:00Z")).unwrap();
    entry["someFutureField"] = Value::from("x");
    let portal = FakeSsoPortal::start(NEW_TOKEN, "123456789012", "ReadOnly");
    let server = oidc(Reply::json(
        200,
        format!(r#"{{"accessToken": "{NEW_TOKEN}", "expiresIn": 3600}}"#),
    ));
    let (result, stored) = provide_with_oidc(&portal, &server, &entry.to_string());
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        stored,
        serde_json::json!({"startUrl": START_URL, "region": "eu-west-1", "accessToken": NEW_TOKEN,
                           "expiresAt": "2024-01-02T04:04:05Z", "clientId": "client-1", "clientSecret": CLIENT_SECRET,
                           "registrationExpiresAt": "2024-04-01T00:00:00Z"})
    );
}

#[test]
fn refresh_timing_follows_botocore() {
    let never = Reply::json(500, "{}");
    // Exactly 15 minutes left: not yet (botocore refreshes below 900 s).
    let (result, _, server) = refresh_with(
        never.clone(),
        &session_entry("2024-01-02T03:19:05Z", "2024-04-01T00:00:00Z"),
    );
    assert!(result.is_ok() && server.requests().is_empty(), "{result:?}");
    // One second less: refreshed (here: tried, refused, and the valid token used).
    let (result, _, server) = refresh_with(
        never.clone(),
        &session_entry("2024-01-02T03:19:04Z", "2024-04-01T00:00:00Z"),
    );
    assert!(result.is_ok() && server.requests().len() == 1, "{result:?}");
    // The registration expiring now: no refresh; the token expiring now: expired.
    let (result, _, server) = refresh_with(never, &session_entry("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"));
    assert!(server.requests().is_empty());
    assert!(invalid(result).contains("expired at 2024-01-02T03:04:05Z: run `aws sso login"));
}

#[test]
fn unreachable_oidc_keeps_a_valid_token() {
    let portal = FakeSsoPortal::start(TOKEN, "123456789012", "ReadOnly");
    let closed = FakeHttpServer::black_hole();
    let url = format!("http://{}", closed.addr());
    drop(closed);
    let portal_url = portal.url();
    let entry = session_entry("2024-01-02T03:14:05Z", "2024-04-01T00:00:00Z");
    let config = config_with(
        &[
            ("AWS_ENDPOINT_URL_SSO", &portal_url),
            ("AWS_ENDPOINT_URL_SSO_OIDC", &url),
        ],
        &session_profile(),
        &[(SESSION_CACHE, &entry)],
    )
    .with_profile("p");
    assert!(ProfileProvider::new(&config).provide().is_ok());
}

#[test]
fn a_token_another_process_refreshed_meanwhile_is_used() {
    // The refresh token rotates: the AWS CLI refreshed first and wrote the file; ours is then refused.
    let portal = FakeSsoPortal::start(NEW_TOKEN, "123456789012", "ReadOnly");
    let expired = session_entry("2024-01-02T03:00:00Z", "2024-04-01T00:00:00Z");
    let portal_url = portal.url();
    let server_slot: std::sync::Arc<std::sync::Mutex<Option<rds_iam_credentials::Fs>>> = Default::default();
    let slot = server_slot.clone();
    let server = FakeHttpServer::start(move |_| {
        let newer = format!(
            r#"{{"startUrl": "{START_URL}", "region": "eu-west-1", "accessToken": "{NEW_TOKEN}", "expiresAt": "2024-01-02T11:00:00Z"}}"#
        );
        if let Some(fs) = slot.lock().unwrap().as_ref() {
            fs.write_atomically(std::path::Path::new(SESSION_CACHE), &newer)
                .unwrap();
        }
        Reply::json(400, r#"{"error": "invalid_grant"}"#)
    });
    let oidc_url = server.url();
    let config = config_with(
        &[
            ("AWS_ENDPOINT_URL_SSO", &portal_url),
            ("AWS_ENDPOINT_URL_SSO_OIDC", &oidc_url),
        ],
        &session_profile(),
        &[(SESSION_CACHE, &expired)],
    )
    .with_profile("p");
    *server_slot.lock().unwrap() = Some(config.fs().clone());
    let creds = ProfileProvider::new(&config).provide().unwrap();
    assert_eq!(creds.access_key_id(), portal.credentials().access_key_id);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn an_endpoint_echoing_the_request_shows_no_secret() {
    let echo = Reply::json(
        400,
        format!(
            r#"{{"error": "invalid_client {CLIENT_SECRET}", "error_description": "bad grant {{\"refreshToken\": \"{REFRESH_TOKEN}\"}}"}}"#
        ),
    );
    let (result, _, _) = refresh_with(echo, &session_entry("2024-01-02T03:00:00Z", "2024-04-01T00:00:00Z"));
    assert_no_secret(result.as_ref().unwrap_err(), &[TOKEN, REFRESH_TOKEN, CLIENT_SECRET]);
    let message = invalid(result);
    assert!(
        message.contains("invalid_client <redacted>: bad grant {\"refreshToken\": \"<redacted>\"}"),
        "{message}"
    );
}
