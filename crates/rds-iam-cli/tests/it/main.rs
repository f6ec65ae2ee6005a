//! Integration tests of the `rds-iam` binary: flags, errors and exit codes, output formats, redaction.
#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic says where"
)]

mod admin;
mod ca;
mod completions;
mod credentials;
mod doctor;
mod mysql_client;
mod recipes;
mod token;

use std::path::Path;
use std::process::{Command, Output};

/// Known test keys (AWS's documented examples).
const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION: &str = "IQoJb3JpZ2luX2VjSESSIONTOKENEXAMPLE+/==";

/// `rds-iam ARGS` with an empty environment but `HOME` (a folder that may hold `.aws/`) and `vars`.
fn rds_iam(home: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rds-iam"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        // A closed loopback port: when the chain reaches EC2 instance metadata, it must not leave the machine.
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
        .envs(vars.iter().copied())
        .output()
        .expect("run rds-iam")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh `HOME` with optional `~/.aws/credentials` and `~/.aws/config`.
fn home(credentials: &str, config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".aws")).expect("mkdir .aws");
    std::fs::write(dir.path().join(".aws/credentials"), credentials).expect("write credentials");
    std::fs::write(dir.path().join(".aws/config"), config).expect("write config");
    dir
}
