//! `rds-iam doctor`: ordered checks from the credentials to a real login, each PASS / WARN / FAIL / SKIP with its
//! evidence; when the server refuses the token, the likely causes ranked by what the checks found.
//!
//! Three phases, one module each: `findings` runs the steps (all the I/O) in the order a login depends on them and
//! keeps what each found as a typed value; `checks` judges those findings, one pure function per check, listed in
//! `CHECKS`; `causes` ranks the causes of a refused token from the same findings, as a typed list. `report` renders
//! the result as text or JSON. A new check is a typed finding with the step that produces it (a field of
//! `Findings`, a line of `Findings::gather`) and a judge with its row in `CHECKS`.

mod causes;
mod checks;
mod findings;
mod report;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use rds_iam_credentials::{DefaultChain, ProvideCredentials};

use crate::commands::{Output, print_out};
use crate::context::Context;
use crate::target::TargetArgs;

/// `rds-iam doctor`.
#[derive(Debug, Args)]
#[command(after_help = "\
Checks, in order: credentials, region, clock, token, DNS, TCP, TLS, RDS API (IAM auth and resource id), policy, \
login. Exit code: 0 when no check failed (warnings allowed), 1 when one did.")]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    target: TargetArgs,

    /// The DB instance to look up in the RDS API, when --hostname is not an RDS endpoint name (tunnel, CNAME, IP).
    #[arg(long, value_name = "ID", conflicts_with = "db_cluster")]
    db_instance: Option<String>,

    /// The Aurora DB cluster to look up in the RDS API, when --hostname is not an RDS endpoint name.
    #[arg(long, value_name = "ID")]
    db_cluster: Option<String>,

    /// Make no AWS API calls (STS GetCallerIdentity for the identity and the clock, RDS Describe*): those checks
    /// are skipped.
    #[arg(long)]
    offline: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// What every step and check reads besides the findings.
struct Inputs {
    args: DoctorArgs,
    /// The name tokens are signed for: --signing-host, else --hostname unless it is an IP address.
    signing_host: Option<String>,
    /// When doctor runs.
    now: SystemTime,
}

impl Inputs {
    fn target(&self) -> &TargetArgs {
        &self.args.target
    }

    fn signing_host(&self) -> Option<&str> {
        self.signing_host.as_deref()
    }

    /// The port tokens are signed for.
    fn signed_port(&self) -> u16 {
        self.target().signing_port.unwrap_or(self.target().port)
    }

    /// Whether the certificate's name is not checked (--danger-skip-hostname-check).
    fn name_waived(&self) -> bool {
        self.target().danger_skip_hostname_check
    }
}

pub(crate) fn run(args: DoctorArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    // One chain, cached, for every step that signs: a role or a credential_process runs once.
    let chain: Arc<dyn ProvideCredentials> = Arc::new(
        DefaultChain::builder()
            .config(&ctx.provider_config(args.target.profile.as_deref()))
            .build(),
    );
    let inputs = Inputs {
        signing_host: args.target.signing_host().ok(),
        now: ctx.now,
        args,
    };
    let findings = findings::Findings::gather(&inputs, ctx, &chain);
    let checks = checks::judge(&inputs, &findings);
    let causes = if findings.login.refused() {
        causes::rank(&inputs, &findings)
    } else {
        Vec::new()
    };
    let report = report::Report::new(inputs.target(), checks, causes);
    match inputs.args.output {
        Output::Json => print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
        Output::Text => print_out(&report.text())?,
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
impl Inputs {
    /// The inputs of `rds-iam doctor --hostname db.c1.eu-west-1.rds.amazonaws.com --username app EXTRA…`, run at
    /// the epoch.
    fn parse(extra: &[&str]) -> Inputs {
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            doctor: DoctorArgs,
        }
        let base = [
            "doctor",
            "--hostname",
            "db.c1.eu-west-1.rds.amazonaws.com",
            "--username",
            "app",
        ];
        let args = <Cli as clap::Parser>::parse_from(base.iter().chain(extra)).doctor;
        Inputs {
            signing_host: args.target.signing_host().ok(),
            now: SystemTime::UNIX_EPOCH,
            args,
        }
    }
}
