//! `cargo xtask fuzz [TARGET] [--runs N]`: the libFuzzer targets of `fuzz/` (a workspace of its own), each for N
//! executions (default 1,000,000), with `cargo +nightly fuzz run`. Prints a Markdown table for docs/fuzzing.md.
//! Not part of `cargo xtask ci`: it needs nightly and cargo-fuzz, and a million executions per target take minutes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;
use crate::tools::{on_path, root};

/// The targets, in the order they run (names of `fuzz/fuzz_targets/*.rs`).
const TARGETS: [&str; 9] = [
    "profile_parser",
    "ca_bundle",
    "token_decode",
    "token_roundtrip",
    "endpoint",
    "imds_json",
    "ecs_json",
    "process_json",
    "sso_json",
];

const DEFAULT_RUNS: u64 = 1_000_000;

/// What libFuzzer reported at the end of one target's run.
struct Outcome {
    target: &'static str,
    executions: String,
    wall: Duration,
    done: String,
}

pub(crate) fn run(args: &[String]) -> Result {
    let mut targets: Vec<&'static str> = Vec::new();
    let mut runs = DEFAULT_RUNS;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                let value = args.next().ok_or("--runs needs a number")?;
                runs = value.parse().map_err(|_| format!("--runs {value:?} is not a number"))?;
            }
            name => {
                let target = TARGETS
                    .into_iter()
                    .find(|t| *t == name)
                    .ok_or_else(|| format!("unknown fuzz target {name:?}; the targets are {}", TARGETS.join(", ")))?;
                targets.push(target);
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    if !on_path("cargo-fuzz") {
        return Err(
            "cargo-fuzz is missing: install it with `cargo install cargo-fuzz` (and `rustup toolchain \
                    install nightly`)"
                .to_owned(),
        );
    }
    // Every target runs even when one fails, so one crash does not hide what the others find.
    let mut outcomes = Vec::new();
    let mut failures = Vec::new();
    for target in targets {
        match run_target(target, runs) {
            Ok(outcome) => outcomes.push(outcome),
            Err(err) => failures.push(err),
        }
    }
    println!("| target | executions | wall time (build included) | libFuzzer's last line |");
    println!("|---|---|---|---|");
    for o in outcomes {
        println!(
            "| `{}` | {} | {} s | `{}` |",
            o.target,
            o.executions,
            o.wall.as_secs(),
            o.done
        );
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Runs one target on its corpus (`fuzz/corpus/TARGET`, grown by the run, not committed) and its committed seeds
/// (`fuzz/seeds/TARGET`), streaming libFuzzer's output and keeping its final statistics.
fn run_target(target: &'static str, runs: u64) -> Result<Outcome> {
    let fuzz = root().join("fuzz");
    let corpus = fuzz.join("corpus").join(target);
    std::fs::create_dir_all(&corpus).map_err(|e| format!("creating {}: {e}", corpus.display()))?;
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root())
        // The fuzz workspace builds into fuzz/target, whatever the main workspace uses.
        .env_remove("CARGO_TARGET_DIR")
        .args(["+nightly", "fuzz", "run", target])
        .arg(&corpus);
    let seeds = fuzz.join("seeds").join(target);
    if seeds.is_dir() {
        cmd.arg(seeds);
    }
    cmd.args(["--", &format!("-runs={runs}"), "-print_final_stats=1"])
        .stderr(Stdio::piped());
    let shown = format!("{cmd:?}").replace('"', "");
    eprintln!("$ {shown}");
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("could not start {shown}: {e}"))?;
    let mut executions = String::new();
    let mut done = String::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(std::io::Result::ok) {
            eprintln!("{line}");
            if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
                n.trim().clone_into(&mut executions);
            } else if line.contains("DONE ") {
                line.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .clone_into(&mut done);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for {shown}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "{shown} failed ({status}): the crash input is under fuzz/artifacts/{target}/"
        ));
    }
    Ok(Outcome {
        target,
        executions,
        wall: started.elapsed(),
        done,
    })
}
