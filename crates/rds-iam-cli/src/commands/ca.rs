//! `rds-iam ca fetch | verify | path`: the RDS CA bundle — download and cache it, verify a file, show where it is;
//! and the cache's [`store`], which `crate::target` also uses for the trust a DB endpoint gets by default.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use rds_iam_ca::{
    Bundle, BundleReport, BundleSource, BundleStore, DownloadSettings, Outcome, Refresh, VerifyOptions, retired_advice,
    retired_bundle, verify_bundle,
};

use crate::commands::{Output, rfc3339};
use crate::context::Context;

/// `rds-iam ca …`.
#[derive(Debug, Args)]
#[command(after_help = "\
Environment:
  RDS_IAM_CACHE_DIR         cache folder, bundles in its ca/ (default: the platform cache folder)
  RDS_IAM_CA_BASE_URL       download from this HTTPS mirror (laid out like AWS's) instead of AWS
  RDS_IAM_CA_DOWNLOAD_ROOT  PEM file of extra roots trusted for the download (TLS-inspecting proxy)

The retired rds-ca-2019-root.pem and rds-combined-ca-bundle.pem expired in 2024: use the global or a regional \
bundle. RDS Proxy endpoints present Amazon Trust Services certificates, not RDS CA ones: --proxy.")]
pub(crate) struct CaArgs {
    #[command(subcommand)]
    command: CaCommand,
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Download (or revalidate) a bundle, verify it and store it in the cache; print where and a summary.
    Fetch(FetchArgs),
    /// Verify a bundle file: exit 0 if valid, 1 if not, with a summary.
    Verify(VerifyArgs),
    /// Print the path of the cached bundle (downloading it if it is missing or stale).
    Path(PathArgs),
}

/// Which bundle.
#[derive(Debug, Args)]
struct Which {
    /// A region's bundle (e.g. eu-west-1).
    #[arg(long, value_name = "REGION", conflicts_with_all = ["global", "bundle"])]
    region: Option<String>,
    /// The global bundle (every region; the default).
    #[arg(long, conflicts_with = "bundle")]
    global: bool,
    /// A bundle by file name: global-bundle.pem, eu-west-1-bundle.pem.
    #[arg(long, value_name = "NAME")]
    bundle: Option<String>,
    /// The Amazon Trust Services roots, which RDS Proxy endpoints' certificates chain to (built in: no download).
    #[arg(long, conflicts_with_all = ["region", "global", "bundle"])]
    proxy: bool,
}

impl Which {
    /// The RDS bundle chosen; `None` for `--proxy`.
    fn source(&self) -> anyhow::Result<Option<BundleSource>> {
        Ok(match (&self.region, &self.bundle) {
            _ if self.proxy => None,
            (Some(region), _) => Some(BundleSource::region(region)?),
            (None, Some(name)) => Some(BundleSource::from_name(name)?),
            (None, None) => Some(BundleSource::global()),
        })
    }
}

#[derive(Debug, Args)]
struct FetchArgs {
    #[command(flatten)]
    which: Which,
    /// Download the whole bundle even if the cached one is current.
    #[arg(long, conflicts_with = "proxy")]
    force: bool,
}

#[derive(Debug, Args)]
struct PathArgs {
    #[command(flatten)]
    which: Which,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The PEM file.
    file: PathBuf,
    /// Also require a valid root for this region.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Verify at this time instead of now (RFC 3339, e.g. 2030-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub(crate) fn run(args: CaArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    match args.command {
        CaCommand::Fetch(args) => fetch(args, ctx).map(|()| ExitCode::SUCCESS),
        CaCommand::Path(args) => path(args, ctx).map(|()| ExitCode::SUCCESS),
        CaCommand::Verify(args) => verify(args, ctx),
    }
}

/// The bundle cache, with the download roots and the mirror the environment asks for.
pub(crate) fn store(ctx: &Context) -> anyhow::Result<BundleStore> {
    let dir = BundleStore::default_dir(|name| ctx.env.get(name))?;
    let mut settings = DownloadSettings::default();
    if let Some(file) = ctx.env.get_non_blank("RDS_IAM_CA_DOWNLOAD_ROOT") {
        let pem = std::fs::read(&file).with_context(|| format!("reading RDS_IAM_CA_DOWNLOAD_ROOT ({file})"))?;
        settings = settings.with_extra_root_pem(pem);
    }
    let mut store = BundleStore::new(dir).with_download_settings(settings);
    if let Some(base) = ctx.env.get_non_blank("RDS_IAM_CA_BASE_URL") {
        store = store.with_base_url(base);
    }
    Ok(store)
}

/// How the built-in proxy bundle is named in messages.
const AMAZON_TRUST_SERVICES: &str = "the Amazon Trust Services roots (RDS Proxy)";

fn fetch(args: FetchArgs, ctx: &Context) -> anyhow::Result<()> {
    let source = args.which.source()?;
    let mode = if args.force {
        Refresh::Force
    } else {
        Refresh::IfModified
    };
    let store = store(ctx)?;
    let (bundle, name) = match source {
        None => (store.amazon_trust_services(ctx.now)?, AMAZON_TRUST_SERVICES.to_owned()),
        Some(source) => (
            store
                .refresh(&source, ctx.now, mode)
                .with_context(|| format!("could not fetch {source}"))?,
            source.to_string(),
        ),
    };
    let what = match &bundle.outcome {
        Outcome::Downloaded => "downloaded",
        Outcome::NotModified => "unchanged (304 Not Modified)",
        Outcome::BuiltIn => "built in",
        _ => "cached",
    };
    outln!("{}", bundle.path.display());
    outln!("{name}: {what}");
    print_bundle_details(&bundle)?;
    Ok(())
}

fn path(args: PathArgs, ctx: &Context) -> anyhow::Result<()> {
    let store = store(ctx)?;
    let bundle = match args.which.source()? {
        None => store.amazon_trust_services(ctx.now)?,
        Some(source) => store
            .get(&source, ctx.now)
            .with_context(|| format!("no verified copy of {source}"))?,
    };
    if let Outcome::KeptAfterFailedRefresh(why) = &bundle.outcome {
        eprintln!("warning: using the stored bundle; refreshing it failed: {why}");
    }
    outln!("{}", bundle.path.display());
    Ok(())
}

fn print_bundle_details(bundle: &Bundle) -> std::io::Result<()> {
    if let Some(url) = &bundle.url {
        outln!("from:            {url}");
    }
    out!("{}", bundle.report);
    Ok(())
}

fn verify(args: VerifyArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let shown = args.file.display().to_string();
    let retired = retired_bundle(&shown);
    let pem = match std::fs::read(&args.file) {
        Ok(pem) => pem,
        Err(e) => match retired {
            Some(name) => bail!("{}", retired_advice(name)),
            None => return Err(e).with_context(|| format!("reading {shown}")),
        },
    };
    if let Some(name) = retired {
        eprintln!("note: {}", retired_advice(name));
    }
    let at = match &args.at {
        Some(text) => time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("--at {text:?} is not an RFC 3339 time (e.g. 2030-01-01T00:00:00Z)"))?
            .into(),
        None => ctx.now,
    };
    let mut options = VerifyOptions::default();
    if let Some(region) = &args.region {
        options = options.with_region(region);
    }
    let result = verify_bundle(&pem, at, &options);
    match args.output {
        Output::Json => outln!("{}", json(&shown, at, &result)),
        Output::Text => match &result {
            Ok(report) => {
                outln!("{shown}: valid at {}", rfc3339(at));
                out!("{report}");
            }
            Err(err) => {
                outln!("{shown}: NOT valid at {}", rfc3339(at));
                eprintln!("error: {err}");
            }
        },
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn json(file: &str, at: std::time::SystemTime, result: &Result<BundleReport, rds_iam_ca::VerifyError>) -> String {
    let cert = |c: &rds_iam_ca::CertInfo| {
        serde_json::json!({
            "subject": c.subject,
            "region": c.region,
            "key_type": c.key_type.as_str(),
            "not_before": rfc3339(c.not_before),
            "not_after": rfc3339(c.not_after),
            "sha256": c.sha256,
        })
    };
    let value = match result {
        Ok(report) => serde_json::json!({
            "file": file,
            "at": rfc3339(at),
            "valid": true,
            "valid_roots": report.roots.len(),
            "expired_skipped": report.expired.len(),
            "key_types": report.key_types().iter().map(|k| k.as_str().to_owned()).collect::<Vec<_>>(),
            "regions": report.regions(),
            "earliest_expiry": report.earliest_expiry().map(|c| rfc3339(c.not_after)),
            "warnings": report.warnings,
            "roots": report.roots.iter().map(cert).collect::<Vec<_>>(),
            "expired": report.expired.iter().map(cert).collect::<Vec<_>>(),
        }),
        Err(err) => serde_json::json!({
            "file": file,
            "at": rfc3339(at),
            "valid": false,
            "error": err.to_string(),
        }),
    };
    value.to_string()
}
