//! `rds-iam credentials`: which credentials rds-iam would sign with, and where they came from.

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use rds_iam_admin::shell_quote;
use rds_iam_credentials::{Credentials, DefaultChain, ProvideCredentials};

use crate::commands::{human, rfc3339};
use crate::context::Context;

/// `rds-iam credentials [--profile P] [--format text|process|env|env-no-export]`.
#[derive(Debug, Args)]
#[command(after_help = "\
The text format never shows the secret key or session token. `process` and `env` print them on purpose, like \
`aws configure export-credentials`: pipe them, don't paste them.")]
pub(crate) struct CredentialsArgs {
    /// Use this profile of ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, else `default`).
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Source, access key id and expiry; no secret.
    Text,
    /// The `credential_process` JSON (Version 1), with the secrets.
    Process,
    /// `export AWS_…=…` lines for a POSIX shell, with the secrets.
    Env,
    /// `AWS_…=…` lines without `export`, with the secrets.
    EnvNoExport,
}

pub(crate) fn run(args: CredentialsArgs, ctx: &Context) -> anyhow::Result<()> {
    let creds = DefaultChain::builder()
        .config(&ctx.provider_config(args.profile.as_deref()))
        .uncached()
        .provide()
        .context("no credentials to show")?;
    match args.format {
        Format::Text => out!("{}", text(&creds, ctx)),
        Format::Process => outln!("{}", process_json(&creds)),
        Format::Env | Format::EnvNoExport => out!("{}", env_lines(&creds, args.format == Format::Env)),
    }
    Ok(())
}

fn text(creds: &Credentials, ctx: &Context) -> String {
    let expiry = match creds.expiry() {
        None => "never (long-term access key)".to_owned(),
        Some(at) => match at.duration_since(ctx.now) {
            Ok(left) => format!("{} (in {})", rfc3339(at), human(left)),
            Err(_) => format!("{} (expired)", rfc3339(at)),
        },
    };
    let rows = [
        ("source", creds.source().unwrap_or("unknown").to_owned()),
        ("access key id", creds.access_key_id().to_owned()),
        (
            "session token",
            if creds.session_token().is_some() { "yes" } else { "no" }.to_owned(),
        ),
        ("expires", expiry),
    ];
    rows.iter()
        .map(|(name, value)| format!("{:<15}{value}\n", format!("{name}:")))
        .collect()
}

/// The JSON a `credential_process` prints (what `aws configure export-credentials --format process` prints).
fn process_json(creds: &Credentials) -> String {
    let mut json = serde_json::json!({
        "Version": 1,
        "AccessKeyId": creds.access_key_id(),
        "SecretAccessKey": creds.secret_access_key().expose(),
    });
    if let Some(token) = creds.session_token() {
        json["SessionToken"] = token.expose().as_str().into();
    }
    if let Some(expiry) = creds.expiry() {
        json["Expiration"] = rfc3339(expiry).into();
    }
    json.to_string()
}

fn env_lines(creds: &Credentials, export: bool) -> String {
    let prefix = if export { "export " } else { "" };
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", creds.access_key_id().to_owned()),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key().expose().clone()),
    ];
    if let Some(token) = creds.session_token() {
        vars.push(("AWS_SESSION_TOKEN", token.expose().clone()));
    }
    if let Some(expiry) = creds.expiry() {
        vars.push(("AWS_CREDENTIAL_EXPIRATION", rfc3339(expiry)));
    }
    vars.iter()
        .map(|(name, value)| format!("{prefix}{name}={}\n", shell_quote(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn formats() {
        let expiry = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let creds = Credentials::new("ASIAX", "s/e+c=")
            .with_session_token("t o'k")
            .with_expiry(expiry);
        assert_eq!(
            process_json(&creds),
            r#"{"AccessKeyId":"ASIAX","Expiration":"2023-11-14T22:13:20Z","SecretAccessKey":"s/e+c=","SessionToken":"t o'k","Version":1}"#
        );
        assert_eq!(
            env_lines(&creds, true),
            "export AWS_ACCESS_KEY_ID=ASIAX\nexport AWS_SECRET_ACCESS_KEY=s/e+c=\n\
             export AWS_SESSION_TOKEN='t o'\\''k'\nexport AWS_CREDENTIAL_EXPIRATION=2023-11-14T22:13:20Z\n"
        );
        assert!(env_lines(&Credentials::new("A", "B"), false).starts_with("AWS_ACCESS_KEY_ID=A\n"));
    }

    /// An empty value is written `''`, as every shell reads it (it used to be left bare).
    #[test]
    fn empty_values_are_quoted() {
        assert_eq!(
            env_lines(&Credentials::new("A", "").with_session_token(""), true),
            "export AWS_ACCESS_KEY_ID=A\nexport AWS_SECRET_ACCESS_KEY=''\nexport AWS_SESSION_TOKEN=''\n"
        );
    }
}
