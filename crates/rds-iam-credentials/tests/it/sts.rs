//! STS: `AssumeRole` chains and `AssumeRoleWithWebIdentity`, against moto_server and a recording stand-in.

use std::time::SystemTime;

use rds_iam_credentials::{
    Clock, CredentialsError, DefaultChain, Env, Fs, ProfileProvider, ProvideCredentials, ProviderConfig,
    WebIdentityProvider,
};
use rds_iam_testkit::{FakeHttpServer, MotoServer, Recorded, Reply, Tool, require_or_skip};

use crate::{assert_no_secret, config_with, invalid};

const BASE_KEY: &str = "AKIDBASEEXAMPLE";
const BASE_SECRET: &str = "baseSecretKeyEXAMPLEdoNotLeak";
const BASE_TOKEN: &str = "baseSessionTokenEXAMPLEdoNotLeak";
const WEB_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.webIdentityTokenDoNotLeak.sig";

fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.replace("%3A", ":").replace("%2F", "/"))
}

/// An STS stand-in: answers AssumeRole / AssumeRoleWithWebIdentity with keys named after the role
/// (`ASIA-<role name>`), expiring in 2030.
fn fake_sts() -> FakeHttpServer {
    FakeHttpServer::start(|req: &Recorded| {
        let action = form_value(&req.body, "Action").unwrap_or_default();
        let role = form_value(&req.body, "RoleArn").unwrap_or_default();
        let name = role.rsplit('/').next().unwrap_or("none").to_owned();
        Reply::text(
            200,
            format!(
                r#"<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{action}Result>
                <Credentials><AccessKeyId>ASIA-{name}</AccessKeyId><SecretAccessKey>secret-{name}</SecretAccessKey>
                <SessionToken>token-{name}</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>
                </{action}Result></{action}Response>"#
            ),
        )
        .with_header("Content-Type", "text/xml")
    })
}

fn chain_config(base: &str) -> String {
    format!(
        "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/RoleA\nsource_profile = b\nexternal_id = ext-1\n\
         duration_seconds = 1800\nrole_session_name = sess-a\n\
         [profile b]\nrole_arn = arn:aws:iam::123456789012:role/RoleB\nsource_profile = base\n\
         [profile base]\n{base}\n"
    )
}

fn static_base() -> String {
    format!("aws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\naws_session_token = {BASE_TOKEN}")
}

#[test]
fn assume_role_against_moto() {
    let Some([_]) = require_or_skip([Tool::Moto]) else {
        return;
    };
    let moto = MotoServer::start();
    let config = format!(
        "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/test-role\nsource_profile = base\n\
         [profile base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
    );
    let url = moto.url();
    // The real clock: moto signs nothing, but its expirations are relative to now.
    let provider_config = config_with(&[("AWS_ENDPOINT_URL_STS", &url)], &config, &[])
        .with_clock(Clock::system())
        .with_profile("role");
    let creds = ProfileProvider::new(&provider_config).provide().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"), "{creds:?}");
    assert_ne!(creds.access_key_id(), BASE_KEY);
    assert!(!creds.secret_access_key().expose().is_empty());
    assert!(!creds.session_token().unwrap().expose().is_empty());
    assert!(creds.expiry().unwrap() > Clock::system().now(), "{creds:?}");
    assert_eq!(
        creds.source(),
        Some("profile role (role arn:aws:iam::123456789012:role/test-role)")
    );

    // Two hops: moto answers each AssumeRole with fresh keys.
    let provider_config = config_with(&[("AWS_ENDPOINT_URL", &url)], &chain_config(&static_base()), &[])
        .with_clock(Clock::system())
        .with_profile("a");
    let creds = ProfileProvider::new(&provider_config).provide().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"), "{creds:?}");
}

#[test]
fn web_identity_against_moto() {
    let Some([_]) = require_or_skip([Tool::Moto]) else {
        return;
    };
    let moto = MotoServer::start();
    let url = moto.url();
    let vars = [
        ("AWS_ENDPOINT_URL_STS", url.as_str()),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web"),
    ];
    let config = config_with(&vars, "", &[("/var/run/token", WEB_TOKEN)]).with_clock(Clock::system());
    let creds = WebIdentityProvider::new(&config.clone()).provide().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"), "{creds:?}");
    assert!(creds.session_token().is_some());
    assert!(creds.expiry().unwrap() > Clock::system().now());
    assert_eq!(creds.source(), Some("web identity"));

    // The default chain reaches it when there are no keys in the environment or profile.
    let chained = DefaultChain::builder().config(&config).uncached().provide().unwrap();
    assert!(chained.access_key_id().starts_with("ASIA"), "{chained:?}");
}

#[test]
fn assume_role_requests_are_signed_and_chained() {
    let sts = fake_sts();
    let url = sts.url();
    let config = config_with(
        &[("AWS_ENDPOINT_URL_STS", &url), ("AWS_REGION", "eu-west-1")],
        &chain_config(&static_base()),
        &[],
    )
    .with_profile("a");
    let creds = ProfileProvider::new(&config).provide().unwrap();
    assert_eq!(creds.access_key_id(), "ASIA-RoleA");
    assert_eq!(creds.secret_access_key().expose(), "secret-RoleA");
    assert_eq!(creds.session_token().unwrap().expose(), "token-RoleA");
    assert_eq!(
        creds.expiry(),
        Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_893_456_000))
    );

    let requests = sts.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let (first, second) = (&requests[0], &requests[1]);
    for (request, role, key) in [(first, "RoleB", BASE_KEY), (second, "RoleA", "ASIA-RoleB")] {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/"));
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded; charset=utf-8")
        );
        assert_eq!(form_value(&request.body, "Action").as_deref(), Some("AssumeRole"));
        assert_eq!(form_value(&request.body, "Version").as_deref(), Some("2011-06-15"));
        assert_eq!(
            form_value(&request.body, "RoleArn"),
            Some(format!("arn:aws:iam::123456789012:role/{role}"))
        );
        assert_eq!(request.header("x-amz-date"), Some("20240102T030405Z"));
        let auth = request.header("authorization").unwrap();
        let prefix = format!(
            "AWS4-HMAC-SHA256 Credential={key}/20240102/eu-west-1/sts/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
        );
        assert!(auth.starts_with(&prefix), "{auth}");
        let signature = &auth[prefix.len()..];
        assert_eq!(signature.len(), 64, "{auth}");
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()), "{auth}");
    }
    // The first hop carries the base session token, the second the first hop's.
    assert_eq!(first.header("x-amz-security-token"), Some(BASE_TOKEN));
    assert_eq!(second.header("x-amz-security-token"), Some("token-RoleB"));
    // Profile settings of each hop.
    assert_eq!(form_value(&second.body, "ExternalId").as_deref(), Some("ext-1"));
    assert_eq!(form_value(&second.body, "DurationSeconds").as_deref(), Some("1800"));
    assert_eq!(form_value(&second.body, "RoleSessionName").as_deref(), Some("sess-a"));
    assert_eq!(form_value(&first.body, "ExternalId"), None);
    assert_eq!(
        form_value(&first.body, "RoleSessionName").as_deref(),
        Some("rds-iam-1704164645000")
    );
    assert!(!first.body.contains(BASE_SECRET));
}

#[test]
fn sts_errors_are_passed_through() {
    let sts = FakeHttpServer::start(|_| {
        Reply::text(
            403,
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>
            <Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/dev is not authorized to perform:
            sts:AssumeRole on resource: arn:aws:iam::123456789012:role/RoleB</Message></Error>
            <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"#,
        )
    });
    let url = sts.url();
    let config = config_with(&[("AWS_ENDPOINT_URL_STS", &url)], &chain_config(&static_base()), &[]).with_profile("a");
    let result = ProfileProvider::new(&config).provide();
    let err = result.as_ref().unwrap_err();
    assert_no_secret(err, &[BASE_SECRET, BASE_TOKEN]);
    let message = invalid(result);
    assert!(
        message.starts_with(&format!(
            "profile a (via profile b): sts AssumeRole for arn:aws:iam::123456789012:role/RoleB at {url} was refused \
             (HTTP 403): AccessDenied: User: arn:aws:iam::123456789012:user/dev is not authorized"
        )),
        "{message}"
    );

    // Not an STS document: the status and the start of the body.
    let proxy = FakeHttpServer::start(|_| Reply::text(502, "bad gateway"));
    let url = proxy.url();
    let config = config_with(&[("AWS_ENDPOINT_URL_STS", &url)], &chain_config(&static_base()), &[]).with_profile("a");
    let message = invalid(ProfileProvider::new(&config).provide());
    assert!(
        message.contains("answered HTTP 502 without an STS error document: bad gateway"),
        "{message}"
    );

    // 200 without credentials.
    let odd = FakeHttpServer::start(|_| Reply::text(200, "<AssumeRoleResponse><Other>x</Other></AssumeRoleResponse>"));
    let url = odd.url();
    let config = config_with(&[("AWS_ENDPOINT_URL_STS", &url)], &chain_config(&static_base()), &[]).with_profile("a");
    let message = invalid(ProfileProvider::new(&config).provide());
    assert!(
        message.ends_with("answered without Credentials/Expiration"),
        "{message}"
    );
}

#[test]
fn web_identity_requests_are_unsigned() {
    let sts = fake_sts();
    let url = sts.url();
    let vars = [
        ("AWS_ENDPOINT_URL_STS", url.as_str()),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web"),
        ("AWS_ROLE_SESSION_NAME", "pod-1"),
    ];
    let config = config_with(&vars, "", &[("/var/run/token", &format!("{WEB_TOKEN}\n"))]);
    let creds = WebIdentityProvider::new(&config).provide().unwrap();
    assert_eq!(creds.access_key_id(), "ASIA-web");
    let request = &sts.requests()[0];
    assert_eq!(request.header("authorization"), None);
    assert_eq!(
        form_value(&request.body, "Action").as_deref(),
        Some("AssumeRoleWithWebIdentity")
    );
    assert_eq!(
        form_value(&request.body, "WebIdentityToken").as_deref(),
        Some(WEB_TOKEN)
    );
    assert_eq!(form_value(&request.body, "RoleSessionName").as_deref(), Some("pod-1"));

    // In a profile, as the base of a role chain.
    sts.clear();
    let profile = "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/RoleA\nsource_profile = w\n\
                   [profile w]\nrole_arn = arn:aws:iam::123456789012:role/web\nweb_identity_token_file = /t\n";
    let config = config_with(&[("AWS_ENDPOINT_URL_STS", &url)], profile, &[("/t", WEB_TOKEN)]).with_profile("a");
    let creds = ProfileProvider::new(&config).provide().unwrap();
    assert_eq!(creds.access_key_id(), "ASIA-RoleA");
    let requests = sts.requests();
    assert_eq!(
        form_value(&requests[0].body, "Action").as_deref(),
        Some("AssumeRoleWithWebIdentity")
    );
    assert!(
        requests[1]
            .header("authorization")
            .unwrap()
            .contains("Credential=ASIA-web/")
    );
}

#[test]
fn web_identity_configuration_errors() {
    let provide = |vars: &[(&str, &str)], files: &[(&str, &str)]| {
        WebIdentityProvider::new(&config_with(vars, "", files)).provide()
    };
    assert!(matches!(provide(&[], &[]), Err(CredentialsError::NotFound { .. })));
    assert!(matches!(
        provide(&[("AWS_ROLE_ARN", "arn:aws:iam::1:role/r")], &[]),
        Err(CredentialsError::NotFound { .. })
    ));
    let message = invalid(provide(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")], &[("/t", WEB_TOKEN)]));
    assert!(message.contains("AWS_ROLE_ARN is not"), "{message}");

    let vars = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/missing-token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::1:role/r"),
        ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9"),
    ];
    let message = invalid(provide(&vars, &[]));
    assert_eq!(
        message,
        "web identity (AWS_WEB_IDENTITY_TOKEN_FILE): the web identity token file /var/run/missing-token does not \
         exist: check the path (on EKS, that the pod's service account is annotated with a role and the token \
         volume is mounted)"
    );
    let message = invalid(provide(&vars, &[("/var/run/missing-token", " \n")]));
    assert!(
        message.ends_with("the web identity token file /var/run/missing-token is empty"),
        "{message}"
    );

    // The same rule for a profile's web_identity_token_file.
    let profile = "[profile w]\nrole_arn = arn:aws:iam::1:role/r\nweb_identity_token_file = /nope\n";
    let config = config_with(&[], profile, &[]).with_profile("w");
    let message = invalid(ProfileProvider::new(&config).provide());
    assert!(
        message.starts_with("profile w: the web identity token file /nope does not exist"),
        "{message}"
    );
}

#[test]
fn sts_is_unreachable() {
    let hole = FakeHttpServer::black_hole();
    let url = hole.url();
    let mut settings = rds_iam_credentials::HttpSettings::service();
    settings.timeout = std::time::Duration::from_millis(300);
    let config = ProviderConfig::new(
        Env::from_vars([("HOME", "/h"), ("AWS_ENDPOINT_URL_STS", url.as_str())]),
        Fs::from_files([("/h/.aws/config", chain_config(&static_base()))]),
    )
    .with_service_http(settings)
    .with_profile("a");
    let message = invalid(ProfileProvider::new(&config).provide());
    assert!(message.contains("did not answer within 300ms"), "{message}");
}

/// Collects what a tracing subscriber writes.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn nothing_secret_is_logged() {
    let sts = fake_sts();
    let url = sts.url();
    let logs = Capture::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let creds = tracing::subscriber::with_default(subscriber, || {
        tracing::trace!("subscriber is live");
        let config =
            config_with(&[("AWS_ENDPOINT_URL_STS", &url)], &chain_config(&static_base()), &[]).with_profile("a");
        let creds = ProfileProvider::new(&config).provide().unwrap();
        let vars = [
            ("AWS_ENDPOINT_URL_STS", url.as_str()),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::1:role/web"),
        ];
        WebIdentityProvider::new(&config_with(&vars, "", &[("/t", WEB_TOKEN)]))
            .provide()
            .unwrap();
        creds
    });
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("subscriber is live"), "{logs}");
    assert!(logs.contains("http request"), "{logs}");
    let secrets = [
        BASE_SECRET,
        BASE_TOKEN,
        WEB_TOKEN,
        "secret-RoleB",
        "token-RoleB",
        "secret-RoleA",
        "Signature=",
    ];
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret} logged: {logs}");
    }
    assert_eq!(creds.access_key_id(), "ASIA-RoleA");
}

/// An STS stand-in that refuses every request and echoes what it was sent — the web identity token, the SigV4
/// signature and session token, and the whole body — in its error message (`xml`: in an STS error document;
/// otherwise as plain text).
fn echoing_sts(xml: bool) -> FakeHttpServer {
    FakeHttpServer::start(move |req: &Recorded| {
        let sent = |name: &str| {
            req.headers
                .iter()
                // The `Basic` authorization reqwest derives from an endpoint's user info is not echoed.
                .filter(|(n, v)| n == name && !v.starts_with("Basic "))
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let form = |key: &str| form_value(&req.body, key).unwrap_or_default();
        let signature = sent("authorization")
            .rsplit_once("Signature=")
            .map(|(_, s)| s.to_owned())
            .unwrap_or_default();
        let echo = format!(
            "token={} signature={signature} security-token={} external-id={} authorization={} body={}",
            form("WebIdentityToken"),
            sent("x-amz-security-token"),
            form("ExternalId"),
            sent("authorization"),
            req.body
        );
        if xml {
            let escaped = echo.replace('&', "&amp;").replace('<', "&lt;");
            Reply::text(
                403,
                format!(
                    "<ErrorResponse><Error><Code>Echo {escaped}</Code><Message>{escaped}</Message></Error></ErrorResponse>"
                ),
            )
        } else {
            Reply::text(400, echo)
        }
    })
}

#[test]
fn sts_errors_show_no_endpoint_secrets_or_echoed_request() {
    const EXTERNAL_ID: &str = "externalIdEXAMPLEdoNotLeak";
    for xml in [true, false] {
        let sts = echoing_sts(xml);
        // User info and a query in the configured endpoint: neither may be shown.
        let endpoint = format!(
            "http://ann:pa55wordDoNotLeak@{}/?X-Api-Key=q5ecretDoNotLeak",
            sts.addr()
        );
        let shown = format!("http://{}", sts.addr());
        let endpoint_secrets = ["pa55wordDoNotLeak", "q5ecretDoNotLeak", "ann:"];

        // AssumeRole, signed with keys that carry a session token.
        let profile = format!(
            "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = base\nexternal_id = {EXTERNAL_ID}\n\
             [profile base]\n{}\n",
            static_base()
        );
        let config = config_with(&[("AWS_ENDPOINT_URL_STS", &endpoint)], &profile, &[]).with_profile("r");
        let result = ProfileProvider::new(&config).provide();
        let signature = sts.requests()[0]
            .headers
            .iter()
            .find_map(|(_, v)| v.rsplit_once("Signature=").map(|(_, s)| s.to_owned()))
            .unwrap();
        let err = result.as_ref().unwrap_err();
        assert_no_secret(
            err,
            &[
                &endpoint_secrets[..],
                &[BASE_SECRET, BASE_TOKEN, EXTERNAL_ID, &signature],
            ]
            .concat(),
        );
        let message = invalid(result);
        assert!(
            message.starts_with(&format!(
                "profile r: sts AssumeRole for arn:aws:iam::123456789012:role/R at {shown} "
            )),
            "{message}"
        );
        assert!(message.contains("signature=<redacted>"), "{message}");
        assert!(message.contains("security-token=<redacted>"), "{message}");

        // AssumeRoleWithWebIdentity: the token is in the body.
        let vars = [
            ("AWS_ENDPOINT_URL_STS", endpoint.as_str()),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web"),
        ];
        let result = WebIdentityProvider::new(&config_with(&vars, "", &[("/t", WEB_TOKEN)])).provide();
        assert_no_secret(
            result.as_ref().unwrap_err(),
            &[&endpoint_secrets[..], &[WEB_TOKEN]].concat(),
        );
        let message = invalid(result);
        assert!(
            message.starts_with(&format!(
                "web identity (AWS_WEB_IDENTITY_TOKEN_FILE): sts AssumeRoleWithWebIdentity for arn:aws:iam::123456789012:role/web at {shown} "
            )),
            "{message}"
        );
        assert!(message.contains("token=<redacted>"), "{message}");

        // GetCallerIdentity (doctor): the refusal and the endpoint it reports.
        sts.clear();
        let config = config_with(&[("AWS_ENDPOINT_URL_STS", &endpoint)], "", &[]);
        let creds = rds_iam_credentials::Credentials::new(BASE_KEY, BASE_SECRET).with_session_token(BASE_TOKEN);
        let check = rds_iam_credentials::get_caller_identity(&config, &creds).unwrap();
        let signature = sts.requests()[0]
            .headers
            .iter()
            .find_map(|(_, v)| v.rsplit_once("Signature=").map(|(_, s)| s.to_owned()))
            .unwrap();
        let refusal = check.identity.as_ref().unwrap_err();
        let all = format!("{refusal} {check:?}");
        for secret in [&endpoint_secrets[..], &[BASE_SECRET, BASE_TOKEN, &signature]].concat() {
            assert!(!all.contains(secret), "{secret:?} leaked into {all}");
        }
        assert_eq!(check.endpoint, shown);
        assert!(
            refusal.starts_with(&format!("sts GetCallerIdentity at {shown} ")),
            "{refusal}"
        );
    }
}
