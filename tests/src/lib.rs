//! Helpers for the end-to-end tests: the built `rds-iam` binary, the reference tools (botocore and the AWS CLI
//! in a Python venv, faketime), and a seeded random generator.
//!
//! Tools come from `cargo xtask ci`, which sets `RDS_IAM_PYTHON` / `RDS_IAM_AWS_CLI`. A test whose tool is
//! missing fails and says how to get it; it never passes silently.
#![allow(clippy::print_stderr, clippy::disallowed_methods)] // test helpers read their environment and explain failures

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The `rds-iam` binary built by this `cargo test` run (`RDS_IAM_BIN` overrides).
pub fn rds_iam_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("RDS_IAM_BIN") {
        return bin.into();
    }
    let bin = target_dir().join("debug/rds-iam");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo xtask ci` or `cargo test --workspace` (which builds it)",
        bin.display()
    );
    bin
}

/// `rds-iam-pam-check` (the RDS-like MariaDB's PAM helper), built next to `rds-iam` by `cargo test --workspace`.
pub fn pam_check_bin() -> PathBuf {
    let bin = rds_iam_bin().with_file_name("rds-iam-pam-check");
    assert!(
        bin.exists(),
        "{} is missing: `cargo build -p rds-iam-testkit --bin rds-iam-pam-check` (or `cargo test --workspace`)",
        bin.display()
    );
    bin
}

fn venv_tool(var: &str, name: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("py-venv/bin").join(name))
}

/// A Python with botocore: `RDS_IAM_PYTHON`, else the venv `cargo xtask ci` creates.
pub fn python() -> PathBuf {
    let python = venv_tool("RDS_IAM_PYTHON", "python");
    let ok = Command::new(&python)
        .args(["-c", "import botocore"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "botocore is not importable with {}: run `cargo xtask ci` (it creates the venv), or point RDS_IAM_PYTHON at a \
         Python with `pip install botocore`",
        python.display()
    );
    python
}

/// The AWS CLI (v1, from PyPI): `RDS_IAM_AWS_CLI`, else the venv `cargo xtask ci` creates.
pub fn aws_cli() -> PathBuf {
    let aws = venv_tool("RDS_IAM_AWS_CLI", "aws");
    assert!(
        aws.exists(),
        "the AWS CLI is missing at {}: run `cargo xtask ci` (it creates the venv)",
        aws.display()
    );
    aws
}

/// `faketime` (Debian package `faketime`).
pub fn faketime() -> &'static str {
    let ok = Command::new("faketime")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "faketime is missing: `apt-get install -y faketime` (cargo xtask ci installs it when run as root)"
    );
    "faketime"
}

/// A small seeded generator (SplitMix64): the same seed gives the same cases.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `RDS_IAM_TEST_SEED`, else from the clock. Print [`Rng::seed`] on failure.
    pub fn from_env() -> Rng {
        let seed = std::env::var("RDS_IAM_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        Rng(seed)
    }

    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }

    /// `len` characters drawn from `alphabet`.
    pub fn string(&mut self, alphabet: &str, len: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..len).map(|_| *self.pick(&chars)).collect()
    }
}

/// The first seed of a run, to print when a case fails.
pub fn seed_of(rng: &Rng) -> u64 {
    rng.0
}
