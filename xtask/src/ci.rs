//! `cargo xtask ci`: what CI runs, and what a developer runs before pushing.

use std::time::Instant;

use crate::Result;
use crate::package::{self, Verify};
use crate::tools::{cargo, ensure_debian_package, exec, node_clients, python_venv};

pub(crate) fn run() -> Result {
    let started = Instant::now();
    let venv = python_venv()?;
    let node_modules = node_clients()?;
    ensure_debian_package("faketime", "faketime")?;
    ensure_debian_package("mariadbd", "mariadb-server")?;
    ensure_debian_package("mariadb-dump", "mariadb-client")?;
    ensure_debian_package("sysbench", "sysbench")?;

    exec(cargo().args(["fmt", "--all", "--", "--check"]))?;
    crate::tidy::run()?;
    exec(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The API docs: every intra-doc link resolves, no rustdoc warning.
    exec(
        cargo()
            .args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    // The crates meant for crates.io pack, and hold what their code includes (`cargo xtask package` verifies
    // them with a build each; see `Verify::PackOnly` for why `ci` does not).
    package::run(Verify::PackOnly)?;
    // One `cargo test` builds every test binary with the same profile clippy checked, then runs unit,
    // integration and doc tests. The e2e tests find the reference tools through these variables, and
    // RDS_IAM_REQUIRE_TOOLS makes a missing tool fail its tests instead of skipping them (testkit's `tools`).
    exec(
        cargo()
            .args(["test", "--workspace", "--locked", "--no-fail-fast"])
            .env("RDS_IAM_REQUIRE_TOOLS", "1")
            .env("RDS_IAM_PYTHON", venv.join("bin/python"))
            .env("RDS_IAM_AWS_CLI", venv.join("bin/aws"))
            .env("RDS_IAM_MOTO_SERVER", venv.join("bin/moto_server"))
            .env("RDS_IAM_NODE_MODULES", node_modules),
    )?;
    eprintln!("xtask ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}
