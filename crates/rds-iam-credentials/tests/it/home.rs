//! Without `HOME`: the profile files and the SSO token cache are found under the user database's home, or not at
//! all — never in a `~` folder of the working directory, where anyone who can write there could plant a
//! `credential_process`.

use std::path::Path;
use std::process::Command;

use rds_iam_credentials::{
    CredentialsError, DefaultChain, Env, Fs, ProfileProvider, ProvideCredentials, ProviderConfig,
};

use crate::{config_with, invalid};

/// Set in the child process [`a_planted_tilde_folder_in_the_working_directory_is_not_read`] starts.
const CHILD: &str = "RDS_IAM_TEST_HOMELESS_CHILD";
/// That test's name, as the test harness filters it.
const TEST: &str = "home::a_planted_tilde_folder_in_the_working_directory_is_not_read";

/// A config whose default profile runs `touch MARKER`.
fn planted_config(marker: &Path) -> String {
    format!("[default]\ncredential_process = touch {}\n", marker.display())
}

/// The chain with no `HOME` and no home in the user database, over `fs`; IMDS at a closed loopback port.
fn homeless_chain(fs: Fs) -> DefaultChain {
    let env = Env::from_vars([("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")]);
    DefaultChain::builder().config(&ProviderConfig::new(env, fs)).uncached()
}

/// Fails unless `result` is "nothing found" and says the profile files were not read for want of a home.
#[track_caller]
fn assert_skipped_for_want_of_a_home<T: std::fmt::Debug>(result: Result<T, CredentialsError>) {
    match result {
        Err(CredentialsError::NoneFound { looked }) => {
            let profile = looked.iter().find(|l| l.starts_with("profile default:")).unwrap();
            assert!(
                profile.contains("~/.aws/credentials (not read: no home directory — HOME is not set")
                    && profile.contains("~/.aws/config (not read: no home directory"),
                "{profile}"
            );
        }
        other => panic!("expected nothing to be found, got {other:?}"),
    }
}

#[test]
fn a_planted_tilde_folder_in_the_working_directory_is_not_read() {
    #[allow(
        clippy::disallowed_methods,
        reason = "which side of the test this process is: set by the parent below"
    )]
    if std::env::var_os(CHILD).is_some() {
        // The child: the working directory holds `~/.aws/config`; the real file system, no home at all.
        assert_skipped_for_want_of_a_home(homeless_chain(Fs::real()).provide());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("credential_process-ran");
    let aws = dir.path().join("~").join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(aws.join("config"), planted_config(&marker)).unwrap();
    std::fs::write(aws.join("credentials"), planted_config(&marker)).unwrap();
    // The working directory is the process's: change it in a child process, not under the other tests.
    let output = Command::new(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
        .current_dir(dir.path())
        .env(CHILD, "1")
        .env_remove("HOME")
        .output()
        .unwrap();
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!marker.exists(), "the planted credential_process ran:\n{report}");
    assert!(output.status.success(), "the child failed:\n{report}");
    assert!(report.contains("1 passed"), "the child ran no test:\n{report}");
}

#[test]
fn no_home_skips_the_profile_files_with_a_reason() {
    // The same in memory: the relative `~/…` paths must not even be asked for.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let fs = Fs::from_files([
        ("~/.aws/config", planted_config(&marker)),
        ("~/.aws/credentials", planted_config(&marker)),
    ]);
    assert_skipped_for_want_of_a_home(homeless_chain(fs).provide());
    assert!(!marker.exists());
}

#[test]
fn the_user_database_home_is_used_without_home() {
    let env = Env::from_vars([("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")])
        .with_user_database_home("/home/db");
    let fs = Fs::from_files([(
        "/home/db/.aws/credentials",
        "[default]\naws_access_key_id = AKIDUSERDB\naws_secret_access_key = s\n",
    )]);
    let creds = DefaultChain::builder()
        .config(&ProviderConfig::new(env, fs))
        .uncached()
        .provide()
        .unwrap();
    assert_eq!(creds.access_key_id(), "AKIDUSERDB");
}

#[test]
fn no_home_means_no_sso_token_cache() {
    // The profile comes from an absolute AWS_CONFIG_FILE; its token cache would be under `~`.
    let profile = "[profile p]\nsso_start_url = https://d-abc123.awsapps.com/start\nsso_region = eu-west-1\n\
                   sso_account_id = 123456789012\nsso_role_name = ReadOnly\n";
    let env = Env::from_vars([
        ("AWS_CONFIG_FILE", "/etc/aws/config"),
        ("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9"),
    ]);
    let cache = "~/.aws/sso/cache/40a89917e3175433e361b710a9d43528d7f1890a.json";
    let planted = r#"{"accessToken": "planted", "expiresAt": "2099-01-01T00:00:00Z"}"#;
    let fs = Fs::from_files([("/etc/aws/config", profile), (cache, planted)]);
    let message = invalid(ProfileProvider::new(&ProviderConfig::new(env, fs).with_profile("p")).provide());
    assert!(
        message.starts_with("profile p: the SSO token cache ~/.aws/sso/cache cannot be found: no home directory"),
        "{message}"
    );
    // With a home, the same profile reads the cache there.
    let home = config_with(&[("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9")], profile, &[]).with_profile("p");
    let message = invalid(ProfileProvider::new(&home).provide());
    assert!(message.contains("looked for /h/.aws/sso/cache/"), "{message}");
}
