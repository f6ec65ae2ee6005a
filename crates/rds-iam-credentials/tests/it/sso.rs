//! SSO (IAM Identity Center): the `aws sso login` token cache and the portal's `GetRoleCredentials`, against
//! [`FakeSsoPortal`].

use std::time::{Duration, SystemTime};

use rds_iam_credentials::{Credentials, CredentialsError, ProfileProvider, ProvideCredentials};
use rds_iam_testkit::{FakeSsoPortal, SsoFault};

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
    ProfileProvider::from_config(config).provide()
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
