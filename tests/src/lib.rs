//! Helpers for the end-to-end tests: the built `rds-iam` binary, the reference tools (botocore and the AWS CLI
//! in a Python venv, faketime), and a seeded random generator.
//!
//! Tools come from `cargo xtask ci`, which sets `RDS_IAM_PYTHON` / `RDS_IAM_AWS_CLI` (see
//! [`rds_iam_testkit::Tool`]). A test that needs one starts with [`rds_iam_testkit::require_or_skip`]: skipped with a
//! line on standard error under plain `cargo test`, a failure in CI; it never passes silently there.
#![allow(
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "test helpers read their environment and explain failures"
)]

use std::path::{Path, PathBuf};

use rds_iam_testkit::Tool;

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

/// Where `tool` is; a test asks [`rds_iam_testkit::require_or_skip`] first, so this fails only if it did not.
fn located(tool: Tool) -> PathBuf {
    tool.locate()
        .unwrap_or_else(|why| panic!("{why}: {}", tool.install_hint()))
}

/// A Python with botocore ([`Tool::Botocore`]): `RDS_IAM_PYTHON`, else the venv `cargo xtask ci` creates.
pub fn python() -> PathBuf {
    located(Tool::Botocore)
}

/// The AWS CLI (v1, from PyPI; [`Tool::AwsCli`]): `RDS_IAM_AWS_CLI`, else the venv `cargo xtask ci` creates.
pub fn aws_cli() -> PathBuf {
    located(Tool::AwsCli)
}

/// `faketime` (Debian package `faketime`; [`Tool::Faketime`]).
pub fn faketime() -> &'static str {
    located(Tool::Faketime);
    "faketime"
}

/// A small seeded generator (SplitMix64): the same seed gives the same cases.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `RDS_IAM_TEST_SEED`, else from the clock. Print its seed ([`seed_of`]) on failure.
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
