//! `cargo xtask tidy`: project rules that are cheaper to check than to review — dependency boundaries and source
//! conventions. Also a test (`cargo test -p xtask`), so `cargo xtask ci` runs it twice: first, to fail fast, and
//! with the other tests.
//!
//! That every `#[allow]` says why is clippy's `allow_attributes_without_reason` (workspace lints); only `fuzz/`,
//! a workspace of its own that CI does not lint, is still scanned here.

use std::path::{Path, PathBuf};

use crate::Result;
use crate::tools::{cargo, output, root};

/// Every check; the error lists every problem found.
pub(crate) fn run() -> Result {
    let problems: Vec<String> = [
        token_crate_stays_light as fn() -> Result,
        only_the_admin_crate_uses_the_aws_sdk,
        every_file_says_what_it_holds,
        every_allow_in_fuzz_says_why,
        install_crypto_provider_copies_agree,
    ]
    .iter()
    .filter_map(|check| check().err())
    .collect();
    if problems.is_empty() {
        eprintln!("xtask tidy: ok");
        Ok(())
    } else {
        Err(format!("tidy:\n{}", problems.join("\n")))
    }
}

/// `(package, features)` for every crate in `package`'s normal dependency tree.
fn tree(package: &str) -> Result<Vec<(String, Vec<String>)>> {
    let out = output(cargo().args([
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
    ]))?;
    Ok(out
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
        .collect())
}

/// Turns a list of problems into a result.
fn verdict(problems: Vec<String>) -> Result {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// rds-iam-token: no HTTP, TLS, MySQL or AWS SDK, and tokio for aws-sigv4's `sync` module only.
fn token_crate_stays_light() -> Result {
    let deps = tree("rds-iam-token")?;
    let mut problems = Vec::new();
    for forbidden in [
        "aws-sdk-rds",
        "aws-config",
        "reqwest",
        "hyper",
        "mio",
        "rustls",
        "mysql",
    ] {
        if deps.iter().any(|(name, _)| name == forbidden) {
            problems.push(format!("rds-iam-token must not depend on {forbidden}"));
        }
    }
    // aws-sigv4 → aws-smithy-async brings tokio for its `sync` module only: no runtime, no I/O, no threads.
    // (tokio's `default` feature set is empty.)
    for (name, features) in deps.iter().filter(|(name, _)| name == "tokio") {
        if !features.iter().all(|f| f == "sync" || f == "default") {
            problems.push(format!("{name} with features {features:?}: only `sync` is allowed"));
        }
    }
    verdict(problems)
}

/// Only `rds-iam-admin` (and the CLI through it) may use aws-sdk-rds / aws-config and a tokio runtime: token,
/// credentials, ca and mysql stay free of them, and the CLI reaches them only through the admin crate.
fn only_the_admin_crate_uses_the_aws_sdk() -> Result {
    let mut problems = Vec::new();
    // The proxy has a tokio runtime of its own, but no AWS SDK and no way back up to the admin crate.
    for package in [
        "rds-iam-token",
        "rds-iam-credentials",
        "rds-iam-ca",
        "rds-iam-mysql",
        "rds-iam-proxy",
    ] {
        let deps = tree(package)?;
        for forbidden in ["aws-sdk-rds", "aws-config", "aws-smithy-http-client", "rds-iam-admin"] {
            if deps.iter().any(|(name, _)| name == forbidden) {
                problems.push(format!("{package} must not depend on {forbidden}"));
            }
        }
    }
    let admin = tree("rds-iam-admin")?;
    for needed in ["aws-sdk-rds", "aws-config"] {
        if !admin.iter().any(|(name, _)| name == needed) {
            problems.push(format!("rds-iam-admin should use {needed}"));
        }
    }
    // No aws-lc (a second rustls crypto provider, and a C build): the SDK's HTTPS client runs on ring.
    if admin
        .iter()
        .any(|(name, _)| name == "aws-lc-rs" || name == "aws-lc-sys")
    {
        problems.push("rds-iam-admin must not pull aws-lc (turn off the SDK's default features)".to_owned());
    }
    let manifest = root().join("crates/rds-iam-cli/Cargo.toml");
    let cli = std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    for forbidden in ["aws-sdk-rds", "aws-config", "aws-smithy", "tokio"] {
        if cli.contains(forbidden) {
            problems.push(format!(
                "rds-iam-cli must reach {forbidden} only through rds-iam-admin, not depend on it directly"
            ));
        }
    }
    verdict(problems)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() && name != "target" && !name.to_string_lossy().starts_with('.') {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// `(shown path, text)` of every Rust file under the workspace folders `dirs`.
fn sources(dirs: &[&str]) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root().join(dir), &mut files)?;
    }
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let shown = file.strip_prefix(root()).unwrap_or(file).display().to_string();
            Ok((shown, text))
        })
        .collect()
}

/// Every Rust file starts with a `//!` line saying what it holds.
fn every_file_says_what_it_holds() -> Result {
    let files = sources(&["crates", "xtask", "tests", "fuzz"])?;
    if files.len() < 20 {
        return Err(format!("tidy found only {} Rust files", files.len()));
    }
    verdict(
        files
            .iter()
            .filter(|(_, text)| !text.starts_with("//!"))
            .map(|(shown, _)| format!("{shown}: the first line is not a `//!` comment saying what the file holds"))
            .collect(),
    )
}

/// In `fuzz/` (not linted by CI: its own workspace, nightly), every `allow` carries a reason, as clippy's
/// `allow_attributes_without_reason` requires everywhere else.
fn every_allow_in_fuzz_says_why() -> Result {
    let mut problems = Vec::new();
    for (shown, text) in sources(&["fuzz"])? {
        for (at, _) in text.match_indices("allow(") {
            let attribute = text[..at].trim_end().ends_with("#[") || text[..at].trim_end().ends_with("#![");
            // The attribute runs to its closing `)]`, over several lines when rustfmt wraps it.
            let body = &text[at..text[at..].find(")]").map_or(text.len(), |end| at + end)];
            if attribute && !body.contains("reason") {
                let line = text[..at].lines().count();
                problems.push(format!("{shown}:{line}: `allow` without `reason = \"…\"`"));
            }
        }
    }
    verdict(problems)
}

/// rds-iam-ca keeps a private copy of `rds_iam_credentials::install_crypto_provider` (it does not depend on the
/// credentials crate, and the token crate, the one both depend on, has no rustls): the two bodies must stay the
/// same, so every crate installs the same process-wide provider (ring).
fn install_crypto_provider_copies_agree() -> Result {
    let body = |path: &str| -> Result<String> {
        let file = root().join(path);
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let start = text
            .find("fn install_crypto_provider() {")
            .ok_or_else(|| format!("{path} has no install_crypto_provider"))?;
        let end = text[start..]
            .find("\n}\n")
            .ok_or_else(|| format!("{path}: install_crypto_provider does not end"))?;
        Ok(text[start..start + end].to_owned())
    };
    let credentials = body("crates/rds-iam-credentials/src/http.rs")?;
    let ca = body("crates/rds-iam-ca/src/download.rs")?;
    if credentials != ca {
        return Err("the two install_crypto_provider bodies differ (credentials' http.rs, ca's download.rs)".into());
    }
    if !credentials.contains("rustls::crypto::ring::default_provider().install_default()") {
        return Err(format!("install_crypto_provider does not install ring: {credentials}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The same checks as `cargo xtask tidy`, as tests, so that `cargo test` runs them too.

    #[test]
    fn token_crate_stays_light() {
        super::token_crate_stays_light().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn only_the_admin_crate_uses_the_aws_sdk() {
        super::only_the_admin_crate_uses_the_aws_sdk().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn every_file_says_what_it_holds() {
        super::every_file_says_what_it_holds().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn every_allow_in_fuzz_says_why() {
        super::every_allow_in_fuzz_says_why().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn install_crypto_provider_copies_agree() {
        super::install_crypto_provider_copies_agree().unwrap_or_else(|e| panic!("{e}"));
    }
}
