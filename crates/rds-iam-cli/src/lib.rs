//! `rds-iam`: log in to Amazon RDS / Aurora MySQL and MariaDB with AWS IAM instead of stored passwords.
//!
//! The `rds-iam` binary's code: `main.rs` only calls [`run`]. This crate owns presentation, the real clock, the
//! process environment and exit codes; the work is done by the library crates. It is a library too so that
//! `cargo xtask dist` can render the man pages from [`cli_command`]; it is not an API.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line program prints")]

mod advice;
mod commands;
mod context;
mod target;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (`doctor`: no check failed; warnings allowed)
  1  failure: no credentials, no region, bad input, a malformed token (the message says what to do);
     `ca verify`: the bundle is not valid; `describe`, `enable`, `policy`: an RDS API error (the
     message names the call and AWS's error code); `doctor`: a check failed
  2  usage error: unknown flag, missing argument
  `mysql` exits with the client's own code.
  `proxy` runs until SIGINT or SIGTERM, then exits 130 or 143.";

/// Log in to Amazon RDS / Aurora MySQL and MariaDB with AWS IAM.
#[derive(Debug, Parser)]
#[command(name = "rds-iam", version, after_help = EXIT_CODES, max_term_width = 110)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print an IAM auth token for a DB user, like `aws rds generate-db-auth-token`.
    #[command(visible_alias = "generate-db-auth-token")]
    Token(commands::token::TokenArgs),
    /// Log in with an IAM token over verified TLS and run SQL (-e or standard input).
    Connect(commands::connect::ConnectArgs),
    /// Start the `mariadb` / `mysql` client already logged in with an IAM token (extra client args after `--`).
    Mysql(commands::mysql_client::MysqlArgs),
    /// Show the AWS credentials rds-iam would sign with and where they came from (no secret, unless asked).
    Credentials(commands::credentials::CredentialsArgs),
    /// Download, verify and cache the Amazon RDS CA bundle, or verify a bundle file.
    Ca(commands::ca::CaArgs),
    /// Show a DB's engine, endpoint, IAM auth flag, resource id, account and region (RDS API).
    Describe(commands::admin::DescribeArgs),
    /// Turn on IAM database authentication for a DB instance or cluster (RDS API; idempotent).
    Enable(commands::admin::EnableArgs),
    /// Print the least-privilege IAM policy that lets a principal log in as a DB user.
    Policy(commands::admin::PolicyArgs),
    /// Print (or run as the master user, over TLS) the SQL that creates a DB user who logs in with IAM.
    CreateUser(commands::admin::CreateUserArgs),
    /// Serve a local IAM auth proxy: any MySQL client logs in to 127.0.0.1 (or a Unix socket) with no password and
    /// no TLS; the proxy dials the DB over verified TLS and logs in with an IAM token.
    Proxy(commands::proxy::ProxyArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::CompletionsArgs),
    /// Check every step of an IAM login (credentials, region, clock, token, DNS, TCP, TLS, RDS API, policy, login)
    /// and explain a refusal.
    Doctor(commands::doctor::DoctorArgs),
}

/// The whole `rds-iam` command line (for the man pages and completion scripts).
#[doc(hidden)]
pub fn cli_command() -> clap::Command {
    <Cli as clap::CommandFactory>::command().mut_subcommand("proxy", commands::proxy::with_env)
}

/// The `rds-iam` program: parses the arguments, runs the command, prints the error; the exit code.
#[doc(hidden)]
pub fn run() -> ExitCode {
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&cli_command().get_matches()).unwrap_or_else(|e| e.exit());
    // The proxy is a server: it logs each connection unless told otherwise.
    let (default_levels, json) = match &cli.command {
        Command::Proxy(args) => {
            let (levels, json) = args.logging();
            (Some(levels), json)
        }
        _ => (None, false),
    };
    context::init_logging(default_levels, json);
    let ctx = context::Context::real();
    let done = |result: anyhow::Result<()>| result.map(|()| ExitCode::SUCCESS);
    let result = match cli.command {
        Command::Token(args) => done(commands::token::run(args, &ctx)),
        Command::Connect(args) => done(commands::connect::run(args, &ctx)),
        // The client's own exit code is ours.
        Command::Mysql(args) => commands::mysql_client::run(args, &ctx),
        Command::Credentials(args) => done(commands::credentials::run(args, &ctx)),
        Command::Ca(args) => commands::ca::run(args, &ctx),
        Command::Describe(args) => done(commands::admin::describe(args, &ctx)),
        Command::Enable(args) => done(commands::admin::enable(args, &ctx)),
        Command::Policy(args) => done(commands::admin::policy(args, &ctx)),
        Command::CreateUser(args) => done(commands::admin::create_user(args, &ctx)),
        Command::Proxy(args) => commands::proxy::run(args, &ctx),
        Command::Completions(args) => done(commands::completions::run(args)),
        Command::Doctor(args) => commands::doctor::run(args, &ctx),
    };
    result.unwrap_or_else(|err| {
        match advice::for_error(&err) {
            Some(advice) => eprintln!("error: {err:#}; {advice}"),
            None => eprintln!("error: {err:#}"),
        }
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn cli_is_consistent() {
        cli_command().debug_assert();
    }
}
