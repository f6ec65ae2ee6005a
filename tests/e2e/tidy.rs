//! Project rules that are cheaper to check than to review: dependency boundaries and source conventions.

use std::path::{Path, PathBuf};
use std::process::Command;

use rds_iam_e2e::root;

/// `(package, features)` for every crate in `package`'s normal dependency tree.
fn tree(package: &str) -> Vec<(String, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root())
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-f",
            "{p}|{f}",
            "-p",
            package,
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            // A package seen before is printed again with a ` (*)` mark.
            let (pkg, features) = line.trim_end_matches(" (*)").split_once('|')?;
            let name = pkg.split_whitespace().next()?.to_owned();
            let features = features
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
            Some((name, features))
        })
        .collect()
}

#[test]
fn token_crate_stays_light() {
    let deps = tree("rds-iam-token");
    for forbidden in [
        "aws-sdk-rds",
        "aws-config",
        "reqwest",
        "hyper",
        "mio",
        "rustls",
        "mysql",
    ] {
        assert!(
            deps.iter().all(|(name, _)| name != forbidden),
            "rds-iam-token must not depend on {forbidden}"
        );
    }
    // aws-sigv4 → aws-smithy-async brings tokio for its `sync` module only: no runtime, no I/O, no threads.
    // (tokio's `default` feature set is empty.)
    for (name, features) in deps.iter().filter(|(name, _)| name == "tokio") {
        assert!(
            features.iter().all(|f| f == "sync" || f == "default"),
            "{name} with features {features:?}: only `sync` is allowed"
        );
    }
}

/// Only `rds-iam-admin` (and the CLI through it) may use aws-sdk-rds / aws-config and a tokio runtime: token,
/// credentials, ca and mysql stay free of them, and the CLI reaches them only through the admin crate.
#[test]
fn only_the_admin_crate_uses_the_aws_sdk() {
    // The proxy has a tokio runtime of its own, but no AWS SDK and no way back up to the admin crate.
    for package in [
        "rds-iam-token",
        "rds-iam-credentials",
        "rds-iam-ca",
        "rds-iam-mysql",
        "rds-iam-proxy",
    ] {
        let deps = tree(package);
        for forbidden in ["aws-sdk-rds", "aws-config", "aws-smithy-http-client", "rds-iam-admin"] {
            assert!(
                deps.iter().all(|(name, _)| name != forbidden),
                "{package} must not depend on {forbidden}"
            );
        }
    }
    let admin = tree("rds-iam-admin");
    for needed in ["aws-sdk-rds", "aws-config"] {
        assert!(
            admin.iter().any(|(name, _)| name == needed),
            "rds-iam-admin should use {needed}"
        );
    }
    // No aws-lc (a second rustls crypto provider, and a C build): the SDK's HTTPS client runs on ring.
    assert!(
        admin
            .iter()
            .all(|(name, _)| name != "aws-lc-rs" && name != "aws-lc-sys"),
        "rds-iam-admin must not pull aws-lc (turn off the SDK's default features)"
    );
    let cli = std::fs::read_to_string(root().join("crates/rds-iam-cli/Cargo.toml")).unwrap();
    for forbidden in ["aws-sdk-rds", "aws-config", "aws-smithy", "tokio"] {
        assert!(
            !cli.contains(forbidden),
            "rds-iam-cli must reach {forbidden} only through rds-iam-admin, not depend on it directly"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() && name != "target" && !name.to_string_lossy().starts_with('.') {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_file_says_what_it_holds_and_every_allow_says_why() {
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "tests", "fuzz"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} Rust files", files.len());
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let shown = file.strip_prefix(root()).unwrap_or(file).display();
        if !text.starts_with("//!") {
            problems.push(format!(
                "{shown}: the first line is not a `//!` comment saying what the file holds"
            ));
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if (code.starts_with("#[allow(") || code.starts_with("#![allow(")) && !line.contains("//") {
                problems.push(format!("{shown}:{}: `allow` without a `// reason`", n + 1));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// rds-iam-ca keeps a private copy of `rds_iam_credentials::install_crypto_provider` (it does not depend on the
/// credentials crate, and the token crate, the one both depend on, has no rustls): the two bodies must stay the
/// same, so every crate installs the same process-wide provider (ring).
#[test]
fn install_crypto_provider_copies_agree() {
    let body = |path: &str| {
        let text = std::fs::read_to_string(root().join(path)).unwrap();
        let start = text
            .find("fn install_crypto_provider() {")
            .unwrap_or_else(|| panic!("{path} has no install_crypto_provider"));
        let end = start + text[start..].find("\n}\n").expect("the function ends");
        text[start..end].to_owned()
    };
    let credentials = body("crates/rds-iam-credentials/src/http.rs");
    let ca = body("crates/rds-iam-ca/src/download.rs");
    assert_eq!(credentials, ca, "the two install_crypto_provider bodies differ");
    assert!(
        credentials.contains("rustls::crypto::ring::default_provider().install_default()"),
        "{credentials}"
    );
}
