//! `rds-iam completions <SHELL>`: a script for every shell, naming the subcommands; bash's parses.

use std::process::Command;

use expect_test::expect_file;

use super::{home, rds_iam, stderr, stdout};

const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

#[test]
fn every_shell_gets_a_script_that_names_the_subcommands() {
    let h = home("", "");
    for shell in SHELLS {
        let out = rds_iam(h.path(), &["completions", shell], &[]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(
            script.contains("rds-iam"),
            "{shell}: the script does not name the program"
        );
        for subcommand in ["token", "connect", "credentials", "create-user", "completions"] {
            assert!(
                script.contains(subcommand),
                "{shell}: the script does not mention {subcommand}"
            );
        }
    }
}

#[test]
fn bash_script_parses() {
    let h = home("", "");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rds-iam.bash");
    std::fs::write(&file, stdout(&rds_iam(h.path(), &["completions", "bash"], &[]))).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().expect("run bash -n");
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let h = home("", "");
    let out = rds_iam(h.path(), &["completions", "tcsh"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values"), "{}", stderr(&out));
}

#[test]
fn help_says_how_to_install() {
    let h = home("", "");
    expect_file!["snapshots/completions-help.txt"].assert_eq(&stdout(&rds_iam(
        h.path(),
        &["completions", "--help"],
        &[],
    )));
}
