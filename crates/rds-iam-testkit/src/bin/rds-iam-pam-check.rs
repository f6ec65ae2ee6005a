//! `rds-iam-pam-check CONFIG`: the test MariaDB's PAM check, run by `pam_exec.so expose_authtok quiet`.
//!
//! Reads the password (an RDS IAM auth token) from stdin (NUL- or newline-terminated), the DB user from `PAM_USER`,
//! the expectation (signing host and port, region, key pair) from the `key=value` file CONFIG, and the time from
//! the system clock; exits 0 if [`rds_iam_testkit::sigv4_check::validate_token`] accepts the token, 1 otherwise.
//! Every attempt appends one line to CONFIG with the extension `log` — user, outcome, reason, never the token —
//! which [`rds_iam_testkit::MariaDb::attempts`] reads.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rds_iam_testkit::sigv4_check::{Expectation, validate_token};
use rds_iam_testkit::{PamAttemptLog, PamOutcome};

/// pam_exec passes at most 511 bytes of token; anything longer than this is not a token.
const MAX_INPUT: u64 = 64 * 1024;

fn main() -> ExitCode {
    let Some(config) = std::env::args_os().nth(1).map(PathBuf::from) else {
        return ExitCode::FAILURE;
    };
    let log = PamAttemptLog::new(config.with_extension("log"));
    #[allow(
        clippy::disallowed_methods,
        reason = "the PAM contract: pam_exec passes the user in the environment"
    )]
    let user = std::env::var("PAM_USER").unwrap_or_default();
    let outcome = check(&config, &user);
    let accepted = outcome == PamOutcome::Accepted;
    // The log is how tests learn why a login failed: if it cannot be written, still answer PAM.
    let _ = log.append(&user, &outcome);
    if accepted { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn check(config: &Path, user: &str) -> PamOutcome {
    let text = match std::fs::read_to_string(config) {
        Ok(text) => text,
        Err(e) => return PamOutcome::error(format!("cannot read {}: {e}", config.display())),
    };
    let expect = match Expectation::from_config(&text, user) {
        Ok(expect) => expect,
        Err(e) => return PamOutcome::error(e),
    };
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().take(MAX_INPUT).read_to_end(&mut input) {
        return PamOutcome::error(format!("cannot read the token from stdin: {e}"));
    }
    let end = input.iter().position(|b| *b == 0 || *b == b'\n').unwrap_or(input.len());
    let Ok(token) = std::str::from_utf8(&input[..end]) else {
        return PamOutcome::Rejected {
            reason: "malformed".to_owned(),
            detail: "token is not UTF-8".to_owned(),
        };
    };
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place in testkit that reads the clock: it plays the server"
    )]
    let now = std::time::SystemTime::now();
    match validate_token(token.trim_end_matches('\r'), &expect, now) {
        Ok(()) => PamOutcome::Accepted,
        Err(rejection) => PamOutcome::Rejected {
            reason: rejection.code().to_owned(),
            detail: rejection.to_string(),
        },
    }
}
