//! `cargo xtask dist`: the release binary (`dist` profile) in `target/dist/`, smoke-tested as a process
//! (`--version`, `token` at a frozen time against known tokens, `ca verify` on the real RDS bundle), its man pages
//! and shell completion scripts beside it, and its size and build time.
//!
//! Every `rds-iam` started here has an empty environment but fixed test keys, no AWS files and instance metadata
//! disabled: nothing reaches AWS or 169.254.169.254.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use rds_iam_token::{Credentials, TokenRequest};
use serde_json::Value;

use crate::Result;
use crate::conformance::amz_time;
use crate::tools::{cargo, ensure_debian_package, exec, output, root, target_dir};

/// AWS's documented example keys: the built-in token vector signs with them.
const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// `completions` argument → file name, where each shell looks for it.
const COMPLETIONS: [(&str, &str); 5] = [
    ("bash", "rds-iam.bash"),
    ("zsh", "_rds-iam"),
    ("fish", "rds-iam.fish"),
    ("elvish", "rds-iam.elv"),
    ("powershell", "_rds-iam.ps1"),
];

pub(crate) fn run() -> Result {
    let started = Instant::now();
    let binary = build()?;
    let build_time = started.elapsed();
    let dist = target_dir().join("dist");

    check_version(&binary)?;
    ensure_debian_package("faketime", "faketime")?;
    check_builtin_token(&binary)?;
    let shared = root().join("../shared");
    let vectors = shared.join("conformance/token-vectors.jsonl");
    if vectors.exists() {
        check_shared_tokens(&binary, &vectors)?;
    } else {
        skipped("the botocore token vectors", &vectors);
    }
    let bundle = shared.join("data/rds-global-bundle-2025-04.pem");
    if bundle.exists() {
        check_real_bundle(&binary, &bundle)?;
    } else {
        skipped("`ca verify` on the real RDS bundle", &bundle);
    }

    let completions = dist.join("completions");
    write_completions(&binary, &completions)?;
    let man = dist.join("man");
    let pages = write_man_pages(&man)?;

    let size = std::fs::metadata(&binary)
        .map_err(|e| format!("{}: {e}", binary.display()))?
        .len();
    println!("binary:      {} ({size} bytes, {:.2} MiB)", binary.display(), mib(size));
    println!(
        "build:       {:.1} s (`cargo build --profile dist`)",
        build_time.as_secs_f64()
    );
    println!("man pages:   {} ({pages} pages)", man.display());
    println!("completions: {} ({} shells)", completions.display(), COMPLETIONS.len());
    Ok(())
}

/// Builds the release binary (`dist` profile: fat LTO, one codegen unit, stripped); its path.
pub(crate) fn build() -> Result<PathBuf> {
    exec(cargo().args(["build", "--profile", "dist", "--package", "rds-iam-cli", "--locked"]))?;
    Ok(target_dir().join("dist/rds-iam"))
}

fn skipped(what: &str, missing: &Path) {
    eprintln!(
        "xtask dist: SKIPPED {what}: {} is missing (check out ../shared beside the project)",
        missing.display()
    );
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `program args…` with only `vars` (and PATH) in its environment, no AWS files, no instance metadata.
fn sealed(program: &Path, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(program);
    #[allow(clippy::disallowed_methods, reason = "xtask reads its own environment")]
    let path = std::env::var_os("PATH").unwrap_or_default();
    cmd.args(args)
        .env_clear()
        .env("PATH", path)
        .env("TZ", "UTC")
        .env("HOME", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Should the chain get that far anyway: a closed loopback port, never 169.254.169.254.
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
        .envs(vars.iter().copied());
    cmd
}

/// `rds-iam --version` names the workspace's version (the CLI crate inherits it, as xtask does).
fn check_version(binary: &Path) -> Result {
    let printed = output(&mut sealed(binary, &["--version"], &[]))?;
    let expected = format!("rds-iam {}", env!("CARGO_PKG_VERSION"));
    if printed.trim_end() != expected {
        return Err(format!(
            "`rds-iam --version` printed {printed:?}, expected {expected:?}"
        ));
    }
    println!("smoke: --version prints {expected:?}");
    Ok(())
}

/// One token case: the target, the keys, the frozen signing time, the token expected byte for byte.
struct TokenCase {
    name: String,
    host: String,
    port: u16,
    user: String,
    region: String,
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
    at: SystemTime,
    expected: String,
}

/// `rds-iam token` under `faketime` at the case's time, with the case's keys in the environment.
fn token_from_binary(binary: &Path, case: &TokenCase) -> Result<String> {
    let at = time::OffsetDateTime::from(case.at);
    let frozen = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let port = case.port.to_string();
    let args = [
        "-f",
        &frozen,
        &binary.display().to_string(),
        "token",
        "--hostname",
        &case.host,
        "--port",
        &port,
        "--username",
        &case.user,
        "--region",
        &case.region,
    ];
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", case.access_key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", case.secret_key.as_str()),
    ];
    if let Some(token) = &case.session_token {
        vars.push(("AWS_SESSION_TOKEN", token));
    }
    let printed = output(&mut sealed(Path::new("faketime"), &args, &vars))?;
    Ok(printed.trim_end().to_owned())
}

fn check_token(binary: &Path, case: &TokenCase) -> Result {
    let token = token_from_binary(binary, case)?;
    if token == case.expected {
        Ok(())
    } else {
        Err(format!(
            "`rds-iam token` ({}) differs\n  printed:  {token}\n  expected: {}",
            case.name, case.expected
        ))
    }
}

/// A token signed in-process by `rds-iam-token` from the same inputs the binary gets.
fn check_builtin_token(binary: &Path) -> Result {
    let (host, port, user, region) = (
        "mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com",
        3306,
        "app_user",
        "eu-west-1",
    );
    let at = time::macros::datetime!(2024-05-06 07:08:09 UTC).into();
    let expected = TokenRequest::new(host, port, user, region)
        .and_then(|request| request.sign(&Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY), at))
        .map_err(|e| format!("signing the built-in vector: {e}"))?
        .expose()
        .to_owned();
    let case = TokenCase {
        name: "built-in, signed by rds-iam-token".into(),
        host: host.into(),
        port,
        user: user.into(),
        region: region.into(),
        access_key: ACCESS_KEY_ID.into(),
        secret_key: SECRET_ACCESS_KEY.into(),
        session_token: None,
        at,
        expected,
    };
    check_token(binary, &case)?;
    println!("smoke: `token` at a frozen time equals the token rds-iam-token signs in-process");
    Ok(())
}

/// Every botocore vector of `token-vectors.jsonl`, read where it lives (never copied into the project).
fn check_shared_tokens(binary: &Path, file: &Path) -> Result {
    let text = std::fs::read_to_string(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case = shared_case(line).map_err(|e| format!("{}: {e}", file.display()))?;
        check_token(binary, &case)?;
        count += 1;
    }
    if count == 0 {
        return Err(format!("{} has no token vectors", file.display()));
    }
    println!(
        "smoke: `token` at a frozen time equals botocore's token for all {count} vectors of {}",
        file.display()
    );
    Ok(())
}

fn shared_case(line: &str) -> Result<TokenCase> {
    let case: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let text = |key: &str| {
        case[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("field {key} missing"))
    };
    Ok(TokenCase {
        name: text("name")?,
        host: text("host")?,
        port: case["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or("field port missing")?,
        user: text("user")?,
        region: text("region")?,
        access_key: text("access_key")?,
        secret_key: text("secret_key")?,
        session_token: case["session_token"].as_str().map(str::to_owned),
        at: amz_time(&text("time")?)?,
        expected: text("token")?,
    })
}

/// `rds-iam ca verify` on the real April 2025 global bundle, at a fixed time: valid, roots found.
fn check_real_bundle(binary: &Path, bundle: &Path) -> Result {
    let file = bundle.display().to_string();
    let args = [
        "ca",
        "verify",
        &file,
        "--at",
        "2025-06-01T00:00:00Z",
        "--output",
        "json",
    ];
    let printed = output(&mut sealed(binary, &args, &[]))?;
    let report: Value = serde_json::from_str(&printed).map_err(|e| format!("`ca verify` JSON: {e}: {printed}"))?;
    let roots = report["valid_roots"].as_u64().unwrap_or(0);
    if report["valid"] != Value::Bool(true) || roots == 0 {
        return Err(format!(
            "`rds-iam ca verify {file}` did not find the bundle valid: {printed}"
        ));
    }
    println!("smoke: `ca verify` finds {file} valid at 2025-06-01 ({roots} roots)");
    Ok(())
}

/// `rds-iam completions SHELL` for every shell, into `dir` (emptied first).
fn write_completions(binary: &Path, dir: &Path) -> Result {
    fresh_dir(dir)?;
    for (shell, name) in COMPLETIONS {
        let script = output(&mut sealed(binary, &["completions", shell], &[]))?;
        if !script.contains("rds-iam") {
            return Err(format!("`rds-iam completions {shell}` printed no script"));
        }
        let path = dir.join(name);
        std::fs::write(&path, script).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

/// `rds-iam.1` and one page per subcommand (`rds-iam-token.1`, `rds-iam-token-inspect.1`, …) into `dir`
/// (emptied first), rendered from the CLI's own definition; how many.
fn write_man_pages(dir: &Path) -> Result<usize> {
    /// `cmd`'s page and its subcommands', each footed with the program's name and version.
    fn pages(cmd: clap::Command, dir: &Path, source: &str) -> std::io::Result<usize> {
        let mut count = 1;
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            count += pages(sub, dir, source)?;
        }
        clap_mangen::Man::new(cmd).source(source).generate_to(dir)?;
        Ok(count)
    }
    fresh_dir(dir)?;
    // Built, subcommands know their full names (`rds-iam-token`); `help` has no page.
    let mut cmd = rds_iam_cli::cli_command().disable_help_subcommand(true);
    cmd.build();
    let source = format!("rds-iam {}", env!("CARGO_PKG_VERSION"));
    let count = pages(cmd, dir, &source).map_err(|e| format!("writing the man pages into {}: {e}", dir.display()))?;
    if !dir.join("rds-iam.1").exists() || !dir.join("rds-iam-token.1").exists() {
        return Err(format!("no rds-iam.1 / rds-iam-token.1 in {}", dir.display()));
    }
    Ok(count)
}

fn fresh_dir(dir: &Path) -> Result {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a test that cannot unwrap has failed; the panic says where"
    )]

    use super::*;

    #[test]
    fn a_man_page_for_the_program_and_every_subcommand() {
        let dir = std::env::temp_dir().join(format!("rds-iam-xtask-man-{}", std::process::id()));
        let count = write_man_pages(&dir).unwrap();
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(count, names.len());
        for page in [
            "rds-iam.1",
            "rds-iam-token.1",
            "rds-iam-token-inspect.1",
            "rds-iam-ca-verify.1",
            "rds-iam-completions.1",
        ] {
            assert!(names.iter().any(|n| n == page), "no {page} in {names:?}");
        }
        assert!(
            !names.iter().any(|n| n.contains("help")),
            "a page for `help`: {names:?}"
        );
    }

    #[test]
    fn shared_vectors_parse() {
        let line = r#"{"name": "n", "host": "h.us-east-1.rds.amazonaws.com", "port": 3306, "user": "u",
            "region": "us-east-1", "access_key": "a", "secret_key": "s", "session_token": null,
            "time": "20240102T030405Z", "token": "t"}"#;
        let case = shared_case(line).unwrap();
        assert_eq!((case.port, case.session_token), (3306, None));
        assert_eq!(
            case.at,
            SystemTime::from(time::macros::datetime!(2024-01-02 03:04:05 UTC))
        );
        assert!(shared_case(r#"{"name": "no port"}"#).is_err());
    }
}
