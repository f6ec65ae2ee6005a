//! Profile chains: the plan (profiles → base source + role hops, in the `assume-role-tests.json` format that
//! `cargo xtask conformance` runs in full) and how the provider reports broken chains.

use rds_iam_credentials::profile::conformance::conformance_assume_role;
use rds_iam_credentials::{CredentialsError, DefaultChain, ProfileProvider, ProvideCredentials};
use rds_iam_testkit::{FakeHttpServer, Reply};

use crate::{assert_no_secret, config_with, invalid};

/// Our own cases in the smithy-rs schema (the upstream file stays in ../shared; the xtask runs it).
const CASES: &str = r#"[
  {"docs": "two hops down to a credential_process",
   "input": {"selected_profile": "a", "profiles": {
     "a": {"role_arn": "arn:a", "source_profile": "b", "external_id": "x", "role_session_name": "s"},
     "b": {"role_arn": "arn:b", "source_profile": "c"},
     "c": {"credential_process": "/bin/creds"}}},
   "output": {"ProfileChain": [{"CredentialProcess": "/bin/creds"},
     {"AssumeRole": {"role_arn": "arn:b"}},
     {"AssumeRole": {"role_arn": "arn:a", "external_id": "x", "role_session_name": "s"}}]}},
  {"docs": "a source profile with keys and a role: its keys win",
   "input": {"selected_profile": "a", "profiles": {
     "a": {"role_arn": "arn:a", "source_profile": "b"},
     "b": {"role_arn": "arn:b", "source_profile": "c", "aws_access_key_id": "kb", "aws_secret_access_key": "sb"},
     "c": {"aws_access_key_id": "kc", "aws_secret_access_key": "sc"}}},
   "output": {"ProfileChain": [{"AccessKey": {"access_key_id": "kb", "secret_access_key": "sb"}},
     {"AssumeRole": {"role_arn": "arn:a"}}]}},
  {"docs": "a loop of three",
   "input": {"selected_profile": "a", "profiles": {
     "a": {"role_arn": "arn:a", "source_profile": "b"},
     "b": {"role_arn": "arn:b", "source_profile": "c"},
     "c": {"role_arn": "arn:c", "source_profile": "a"}}},
   "output": {"Error": "profile formed an infinite loop: a -> b -> c -> a"}},
  {"docs": "sso_session as the base of a role",
   "input": {"selected_profile": "a", "profiles": {
     "a": {"role_arn": "arn:a", "source_profile": "s"},
     "s": {"sso_session": "dev", "sso_account_id": "1", "sso_role_name": "r"}},
     "sso_sessions": {"dev": {"sso_region": "eu-west-1", "sso_start_url": "https://x"}}},
   "output": {"ProfileChain": [{"Sso": {"sso_session": "dev", "sso_region": "eu-west-1",
     "sso_start_url": "https://x", "sso_account_id": "1", "sso_role_name": "r"}},
     {"AssumeRole": {"role_arn": "arn:a"}}]}}
]"#;

#[test]
fn plans() {
    let results = conformance_assume_role(CASES);
    assert_eq!(results.len(), 4);
    for result in results {
        assert_eq!(result.outcome, Ok(()), "{}", result.name);
    }
}

#[test]
fn source_profile_loop_is_named() {
    let profiles = "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n\
                    [profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n";
    let config = config_with(&[], profiles, &[]).with_profile("a");
    assert_eq!(
        invalid(ProfileProvider::new(&config).provide()),
        "profile a: profile formed an infinite loop: a -> b -> a; point one of these source_profile settings elsewhere"
    );
}

#[test]
fn credential_source_environment() {
    let sts = FakeHttpServer::start(|_| {
        Reply::text(
            200,
            "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId>\
             <SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>\
             <Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>",
        )
    });
    let url = sts.url();
    let profiles = "[profile r]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Environment\n";
    let vars = [
        ("AWS_ENDPOINT_URL_STS", url.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKIDENV"),
        ("AWS_SECRET_ACCESS_KEY", "envSecretDoNotLeak"),
    ];
    let creds = ProfileProvider::new(&config_with(&vars, profiles, &[]).with_profile("r"))
        .provide()
        .unwrap();
    assert_eq!(creds.access_key_id(), "ASIAROLE");
    let auth = sts.requests()[0].header("authorization").unwrap().to_owned();
    assert!(
        auth.contains("Credential=AKIDENV/20240102/us-east-1/sts/aws4_request"),
        "{auth}"
    );

    // Configured but empty: an error, not "not found".
    let result = ProfileProvider::new(&config_with(&vars[..1], profiles, &[]).with_profile("r")).provide();
    let message = invalid(result);
    assert!(
        message.starts_with("profile r: credential_source = Environment, but environment variables has no credentials"),
        "{message}"
    );

    let imds = "[profile r]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Ec2InstanceMetadata\n";
    let message = invalid(ProfileProvider::new(&config_with(&[], imds, &[]).with_profile("r")).provide());
    assert!(
        message.starts_with(
            "profile r: credential_source = Ec2InstanceMetadata, but ec2 instance metadata has no credentials"
        ),
        "{message}"
    );
    let bogus = "[profile r]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Somewhere\n";
    let message = invalid(ProfileProvider::new(&config_with(&[], bogus, &[]).with_profile("r")).provide());
    assert!(message.contains("unknown credential_source"), "{message}");
}

#[test]
fn broken_chains_stop_and_empty_profiles_move_on() {
    let provide = |profiles: &str| ProfileProvider::new(&config_with(&[], profiles, &[]).with_profile("a")).provide();
    let message = invalid(provide("[profile a]\nrole_arn = arn:a\nsource_profile = b\n"));
    assert!(
        message.contains("could not find source profile b referenced from a"),
        "{message}"
    );
    let message = invalid(provide("[profile a]\nrole_arn = arn:a\n"));
    assert!(
        message.contains("the profile must contain `source_profile`"),
        "{message}"
    );
    let result = provide("[profile a]\nrole_arn = arn:a\nsource_profile = b\n[profile b]\naws_access_key_id = AKIDB\n");
    let message = invalid(result);
    assert!(
        message.contains("profile `b` is incomplete: profile missing aws_secret_access_key"),
        "{message}"
    );

    // A selected profile with settings but no credentials: the chain moves on.
    assert!(matches!(
        provide("[profile a]\nregion = eu-west-1\n"),
        Err(CredentialsError::NotFound { .. })
    ));
    let config = config_with(&[], "[default]\nregion = eu-west-1\n", &[]);
    let err = DefaultChain::builder()
        .config(&config)
        .uncached()
        .provide()
        .unwrap_err();
    assert!(matches!(err, CredentialsError::NoneFound { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("profile `default` did not contain credential information"),
        "{shown}"
    );
    assert!(shown.contains("AWS_WEB_IDENTITY_TOKEN_FILE is not set"), "{shown}");
}

#[test]
fn static_keys_never_show_in_errors() {
    let profiles = "[profile a]\nrole_arn = arn:a\nsource_profile = b\n\
                    [profile b]\naws_access_key_id = AKIDB\naws_secret_access_key = staticSecretDoNotLeak\n\
                    aws_session_token = staticTokenDoNotLeak\n";
    let config = config_with(&[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")], profiles, &[]).with_profile("a");
    let err = ProfileProvider::new(&config).provide().unwrap_err();
    assert_no_secret(&err, &["staticSecretDoNotLeak", "staticTokenDoNotLeak"]);
    assert!(
        err.to_string()
            .contains("sts AssumeRole for arn:a at http://127.0.0.1:9 failed"),
        "{err}"
    );
}

#[test]
fn credential_source_instance_metadata_and_container() {
    use rds_iam_testkit::{FakeEcs, FakeImds, FakeSts};

    let sts = FakeSts::start();
    let role = "arn:aws:iam::123456789012:role/r";
    let instance = FakeImds::start(
        "box",
        FakeImds::credentials_json("ASIAINSTANCE", "s", "t", "2099-01-01T00:00:00Z"),
    );
    let profiles = format!("[profile r]\nrole_arn = {role}\ncredential_source = Ec2InstanceMetadata\n");
    let vars = [
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", instance.url()),
        ("AWS_ENDPOINT_URL_STS", sts.url()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let creds = ProfileProvider::new(&config_with(&vars, &profiles, &[]).with_profile("r"))
        .provide()
        .unwrap();
    assert_eq!(creds.access_key_id(), FakeSts::credentials_for(role, "ASIAINSTANCE").0);

    let container = FakeEcs::start(FakeEcs::credentials_json(
        "ASIACONTAINER",
        "s",
        "t",
        "2099-01-01T00:00:00Z",
    ));
    let profiles = format!("[profile r]\nrole_arn = {role}\ncredential_source = EcsContainer\n");
    let url = container.credentials_url();
    let vars = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.as_str()),
        ("AWS_ENDPOINT_URL_STS", &sts.url()),
    ];
    let creds = ProfileProvider::new(&config_with(&vars, &profiles, &[]).with_profile("r"))
        .provide()
        .unwrap();
    assert_eq!(creds.access_key_id(), FakeSts::credentials_for(role, "ASIACONTAINER").0);
}
