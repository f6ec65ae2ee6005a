//! `rds-iam token` (alias `generate-db-auth-token`) and `rds-iam token inspect`.

use std::io::{IsTerminal, Read};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use rds_iam_credentials::{DefaultChain, ProvideCredentials, resolve_region};
use rds_iam_token::{Endpoint, EndpointKind, TokenRequest, choose_region, validate_host};

use crate::commands::{Output, human, rfc3339};
use crate::context::Context;

const TOKEN_EXAMPLES: &str = "\
Examples:
  rds-iam token --hostname mydb.abc123.eu-west-1.rds.amazonaws.com --username app
  rds-iam token --hostname 127.0.0.1 --port 3306 --signing-host mydb.abc123.eu-west-1.rds.amazonaws.com --username app
  rds-iam token --hostname … --username app | rds-iam token inspect

Credentials: the AWS SDKs' chain — environment, profile (keys, process, SSO, roles, web identity), web identity,
ECS/EKS container, EC2 instance metadata. `rds-iam credentials` shows which one is used.";

/// `rds-iam token`: the same flags as `aws rds generate-db-auth-token`, plus a few.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true, after_help = TOKEN_EXAMPLES)]
pub(crate) struct TokenArgs {
    #[command(subcommand)]
    command: Option<TokenCommand>,

    /// The DB endpoint: instance, cluster, reader, custom or proxy endpoint name (no scheme, no port).
    #[arg(long, visible_alias = "host", value_name = "HOSTNAME", required = true)]
    hostname: Option<String>,

    /// The DB port.
    #[arg(long, value_name = "PORT", default_value = "3306")]
    port: String,

    /// The DB user, created with the AWSAuthenticationPlugin.
    #[arg(long, visible_alias = "user", value_name = "USER", required = true)]
    username: Option<String>,

    /// The DB's region. Default: from the hostname, else AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,

    /// Sign for this host instead of --hostname (when --hostname is a tunnel, a CNAME or an IP address).
    #[arg(long, value_name = "HOST")]
    signing_host: Option<String>,

    /// Token lifetime in seconds, 1 to 900.
    #[arg(long, value_name = "SECONDS", default_value = "900")]
    expires_in: String,

    /// Use this profile of ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, else `default`).
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Show what a token contains: host, port, user, region, access key id, signing time, expiry. No secret.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
struct InspectArgs {
    /// The token; `-` or nothing reads it from standard input (preferred: an argument is visible to every user of
    /// the machine in the process list, and is kept in shell history).
    #[arg(value_name = "TOKEN")]
    token: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub(crate) fn run(args: TokenArgs, ctx: &Context) -> anyhow::Result<()> {
    if let Some(TokenCommand::Inspect(inspect_args)) = args.command {
        return inspect(inspect_args, ctx);
    }
    let token = generate(&args, ctx)?;
    crate::commands::print_out(&format!("{token}\n"))?;
    Ok(())
}

/// Validates in the order a user fixes things: target, then region, then credentials.
fn generate(args: &TokenArgs, ctx: &Context) -> anyhow::Result<String> {
    let hostname = args.hostname.as_deref().unwrap_or_default();
    validate_host(hostname)?;
    let port = parse_port(&args.port)?;
    let user = args.username.as_deref().unwrap_or_default();
    let expires_in = parse_expires_in(&args.expires_in)?;

    let signing_host = match &args.signing_host {
        Some(host) => {
            validate_host(host).context("--signing-host")?;
            host.as_str()
        }
        None if Endpoint::parse(hostname).kind() == EndpointKind::IpAddress => bail!(
            "{hostname} is an IP address, but IAM tokens are signed for the DB endpoint's name: pass \
             --signing-host ENDPOINT (or --signing-host {hostname} to sign for the address itself) and --region"
        ),
        None => hostname,
    };
    let endpoint = Endpoint::parse(signing_host);

    let configured = resolve_region(&ctx.env, &ctx.fs, args.profile.as_deref())?;
    let Some(choice) = choose_region(
        args.region.as_deref(),
        &endpoint,
        configured.as_ref().map(|c| (c.region.as_str(), c.source.as_str())),
    ) else {
        bail!(
            "no region: {signing_host} does not name one (it is not an RDS endpoint), and none is configured \
             (looked at --region, AWS_REGION, AWS_DEFAULT_REGION and the profile's `region`); pass --region"
        );
    };
    if let Some(hostname_region) = &choice.hostname_region {
        eprintln!(
            "warning: --region {} differs from the region in the hostname ({hostname_region}): RDS will reject the \
             token unless the database is in {}",
            choice.region, choice.region
        );
    }
    let request = TokenRequest::new(signing_host, port, user, &choice.region)?.with_expires_in(expires_in)?;

    let creds = DefaultChain::builder()
        .config(&ctx.provider_config(args.profile.as_deref()))
        .uncached()
        .provide()?;
    tracing::debug!(source = creds.source(), access_key_id = creds.access_key_id(), region = %choice.region, "signing");
    let token = request.sign(&creds, ctx.now)?;
    Ok(token.expose().to_owned())
}

fn parse_port(port: &str) -> anyhow::Result<u16> {
    match port.trim().parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(u16::try_from(p)?),
        _ => bail!("--port {port:?} is not a port: pass a number from 1 to 65535 (MySQL's default is 3306)"),
    }
}

/// RDS's longest token lifetime, the default of `--expires-in` (whose help text and default, which clap needs as
/// literals, a test keeps equal to it).
const MAX_EXPIRES_IN_SECS: u64 = rds_iam_token::MAX_EXPIRES_IN.as_secs();

fn parse_expires_in(value: &str) -> anyhow::Result<Duration> {
    match value.trim().parse::<u64>() {
        Ok(s @ 1..=MAX_EXPIRES_IN_SECS) => Ok(Duration::from_secs(s)),
        Ok(s) => Err(rds_iam_token::Error::ExpiresInOutOfRange { seconds: s }.into()),
        Err(_) => bail!("--expires-in {value:?} is not a number of seconds from 1 to {MAX_EXPIRES_IN_SECS}"),
    }
}

fn inspect(args: InspectArgs, ctx: &Context) -> anyhow::Result<()> {
    let token = match args.token.as_deref() {
        Some(token) if token != "-" => {
            eprintln!(
                "warning: a token given as an argument is visible to other users in the process list and stays in \
                 shell history; pipe it in instead (`rds-iam token … | rds-iam token inspect`)"
            );
            token.to_owned()
        }
        _ => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                bail!("no token given: pipe it in (`rds-iam token … | rds-iam token inspect`)");
            }
            let mut buf = String::new();
            stdin
                .read_to_string(&mut buf)
                .context("reading the token from standard input")?;
            buf
        }
    };
    let decoded = rds_iam_token::decode(&token)?;
    let expires_at = decoded.expires_at();
    let expired = decoded.is_expired(ctx.now);
    let status = if expired {
        format!(
            "expired {} ago",
            human(ctx.now.duration_since(expires_at).unwrap_or_default())
        )
    } else {
        format!("expires in {}", human(decoded.remaining(ctx.now)))
    };
    match args.output {
        Output::Json => {
            let json = serde_json::json!({
                "host": decoded.host,
                "port": decoded.port,
                "user": decoded.user,
                "region": decoded.region,
                "service": decoded.service,
                "access_key_id": decoded.access_key_id,
                "session_token": decoded.has_session_token,
                "signed_at": rfc3339(decoded.signed_at),
                "expires_in_seconds": decoded.expires_in.as_secs(),
                "expires_at": rfc3339(expires_at),
                "expired": expired,
                "remaining_seconds": decoded.remaining(ctx.now).as_secs(),
            });
            outln!("{}", serde_json::to_string_pretty(&json)?);
        }
        Output::Text => {
            let endpoint = Endpoint::parse(&decoded.host);
            let rows = [
                ("host", decoded.host.clone()),
                ("port", decoded.port.to_string()),
                ("endpoint kind", endpoint.kind().to_string()),
                ("user", decoded.user.clone()),
                ("region", decoded.region.clone()),
                ("access key id", decoded.access_key_id.clone()),
                (
                    "session token",
                    if decoded.has_session_token {
                        "yes (temporary credentials)"
                    } else {
                        "no"
                    }
                    .into(),
                ),
                ("signed at", rfc3339(decoded.signed_at)),
                ("lifetime", human(decoded.expires_in)),
                ("expires at", format!("{} ({status})", rfc3339(expires_at))),
            ];
            for (name, value) in rows {
                outln!("{:<15}{value}", format!("{name}:"));
            }
            if let Some(host_region) = endpoint.region().filter(|r| *r != decoded.region) {
                outln!(
                    "warning: signed for {} but the hostname is in {host_region}: RDS will reject it",
                    decoded.region
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_lifetimes() {
        assert_eq!(parse_port("3306").unwrap(), 3306);
        assert!(parse_port("0").is_err());
        assert!(parse_port("65536").is_err());
        assert!(parse_port("abc").is_err());
        assert_eq!(parse_expires_in("60").unwrap(), Duration::from_secs(60));
        assert!(
            parse_expires_in("901")
                .unwrap_err()
                .to_string()
                .contains("1 to 900 seconds")
        );
    }

    /// clap needs `--expires-in`'s default and help as literals: they must say what the token crate allows.
    #[test]
    fn expires_in_default_and_help_follow_max_expires_in() {
        let cli = crate::cli_command();
        let token = cli.find_subcommand("token").unwrap();
        let arg = token.get_arguments().find(|a| a.get_id() == "expires_in").unwrap();
        let max = MAX_EXPIRES_IN_SECS.to_string();
        assert_eq!(arg.get_default_values(), [std::ffi::OsStr::new(&max)]);
        let help = arg.get_help().unwrap().to_string();
        assert!(help.ends_with(&format!("1 to {max}")), "{help}");
    }
}
