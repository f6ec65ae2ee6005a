//! The `rds-iam` binary: everything is in the crate's library target (`lib.rs`), shared with `cargo xtask dist`.

fn main() -> std::process::ExitCode {
    rds_iam_cli::run()
}
