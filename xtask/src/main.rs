//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `cargo xtask demo`: an RDS-like MariaDB on loopback, a real token, a real TLS login, a tampered token refused.
//! - `cargo xtask ci`: format check, clippy `-D warnings`, every test and doctest (installs the test tools).
//! - `cargo xtask package`: `cargo package` for the published crates, each verified by building it alone.
//! - `cargo xtask tidy`: dependency boundaries and source conventions (also a test, run by `ci`).
//! - `cargo xtask conformance [DIR]`: the external suites in `../shared/conformance` (or DIR).
//! - `cargo xtask bench`: criterion benchmarks, whole-process comparison with the AWS CLI, dependency count.
//! - `cargo xtask dist`: the release binary, smoke-tested, with its man pages and completion scripts.
//! - `cargo xtask fuzz [TARGET] [--runs N]`: the libFuzzer targets of `fuzz/` (nightly, cargo-fuzz).
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line program prints")]

mod bench;
mod bench_proxy;
mod ci;
mod conformance;
mod demo;
mod dist;
mod fuzz;
mod package;
mod tidy;
mod tools;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  demo               the main job locally: an RDS-like MariaDB, a real token, a real TLS login (needs root)
  ci                 fmt, tidy, clippy -D warnings, rustdoc -D warnings, package (unverified), all tests and
                     doctests (sets up the test tools; a test whose tool is missing fails)
  package            cargo package for the published crates, each verified by building it alone (slow when cold)
  tidy               dependency boundaries and source conventions (also a test)
  conformance [DIR]  run the external conformance suites (default DIR: ../shared/conformance)
  bench [proxy]      criterion benchmarks, rds-iam vs aws CLI as whole processes, dependency count, the proxy
                     against direct TLS (`proxy`: only that)
  dist               release binary in target/dist/ (smoke-tested; size, build time), man pages, completions
  fuzz [TARGET] [--runs N]
                     the fuzz targets, each N executions (default 1000000; needs nightly and cargo-fuzz)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("tidy") => tidy::run(),
        Some("package") => package::run(package::Verify::Build),
        Some("conformance") => conformance::run(args.get(1).map(String::as_str)),
        Some("bench") if args.get(1).map(String::as_str) == Some("proxy") => bench::proxy_only(),
        Some("bench") => bench::run(),
        Some("demo") => demo::run(),
        Some("dist") => dist::run(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!(
                "{}{USAGE}",
                other.map(|o| format!("unknown command {o:?}\n\n")).unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// xtask's error: a message for the person at the terminal.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;
