//! The control-plane commands: `describe`, `enable`, `policy` and `create-user` (over `rds-iam-admin`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use rds_iam_admin::{Apply, CreateUser, DbInfo, DbTarget, Enabled, Engine, MasterLogin, Policy, RdsAdmin, Wait};
use rds_iam_credentials::{DefaultChain, Secret};
use rds_iam_token::{Endpoint, Partition, choose_region};

use crate::advice::admin_error;
use crate::commands::Output;
use crate::context::Context;

/// Which DB: an endpoint hostname, or an instance / cluster identifier.
#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "db")]
pub(crate) struct DbArgs {
    /// The DB endpoint (instance, cluster, reader, custom or proxy endpoint): picks the API from its kind.
    #[arg(long, visible_alias = "host", value_name = "HOSTNAME")]
    hostname: Option<String>,

    /// A DB instance identifier.
    #[arg(long, value_name = "ID")]
    db_instance: Option<String>,

    /// An Aurora DB cluster identifier.
    #[arg(long, value_name = "ID")]
    db_cluster: Option<String>,
}

/// Where the RDS API is and who calls it.
#[derive(Debug, Args)]
pub(crate) struct ApiArgs {
    /// The DB's region. Default: from the hostname, else AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,

    /// Use this profile of ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, else `default`).
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,
}

impl DbArgs {
    fn target(&self) -> DbTarget {
        match (&self.hostname, &self.db_instance, &self.db_cluster) {
            (Some(host), _, _) => DbTarget::Hostname(host.clone()),
            (_, Some(id), _) => DbTarget::Instance(id.clone()),
            (_, _, Some(id)) => DbTarget::Cluster(id.clone()),
            // clap's group makes one of them required.
            (None, None, None) => DbTarget::Instance(String::new()),
        }
    }
}

impl ApiArgs {
    /// Explicit > the hostname's > configured; warns when an explicit region disagrees with the hostname.
    fn region(&self, ctx: &Context, hostname: Option<&str>) -> anyhow::Result<String> {
        let endpoint = Endpoint::parse(hostname.unwrap_or_default());
        let configured = rds_iam_credentials::resolve_region(&ctx.env, &ctx.fs, self.profile.as_deref())?;
        let Some(choice) = choose_region(
            self.region.as_deref(),
            &endpoint,
            configured.as_ref().map(|c| (c.region.as_str(), c.source.as_str())),
        ) else {
            bail!("no region: pass --region, or set AWS_REGION or a region in your profile");
        };
        if let Some(hostname_region) = &choice.hostname_region {
            eprintln!(
                "warning: --region {} differs from the region in the hostname ({hostname_region})",
                choice.region
            );
        }
        Ok(choice.region)
    }

    fn client(&self, ctx: &Context, hostname: Option<&str>) -> anyhow::Result<RdsAdmin> {
        let region = self.region(ctx, hostname)?;
        let credentials = DefaultChain::builder()
            .config(&ctx.provider_config(self.profile.as_deref()))
            .build();
        RdsAdmin::new(&region, credentials, &ctx.env).map_err(admin_error)
    }
}

/// `rds-iam describe`.
#[derive(Debug, Args)]
pub(crate) struct DescribeArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    api: ApiArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub(crate) fn describe(args: DescribeArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = args.api.client(ctx, args.db.hostname.as_deref())?;
    let info = client.describe(&args.db.target()).map_err(admin_error)?;
    match args.output {
        Output::Json => outln!("{}", serde_json::to_string_pretty(&info)?),
        Output::Text => out!("{}", render(&info)),
    }
    Ok(())
}

fn render(info: &DbInfo) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: &str| out.push_str(&format!("{k:<18}{v}\n"));
    line(&format!("{}:", info.kind.as_str()), &info.identifier);
    let engine = match &info.engine_version {
        Some(version) => format!("{} {version}", info.engine),
        None => info.engine.clone(),
    };
    line("engine:", &engine);
    if let Some(endpoint) = &info.endpoint {
        let port = info.port.map(|p| format!(":{p}")).unwrap_or_default();
        line("endpoint:", &format!("{endpoint}{port}"));
    }
    if let Some(reader) = &info.reader_endpoint {
        line("reader endpoint:", reader);
    }
    let iam = match (info.iam_auth_enabled, info.iam_auth_pending) {
        (true, None) => "enabled".to_owned(),
        (false, None) => "disabled (turn it on with `rds-iam enable`)".to_owned(),
        (now, Some(pending)) => format!(
            "{} (change to {} pending)",
            if now { "enabled" } else { "disabled" },
            if pending { "enabled" } else { "disabled" }
        ),
    };
    line("IAM auth:", &iam);
    line("resource id:", &info.resource_id);
    line("account:", &info.account);
    line("region:", &info.region);
    line("partition:", &info.partition);
    line("status:", &info.status);
    line("ARN:", &info.arn);
    out
}

/// `rds-iam enable`.
#[derive(Debug, Args)]
pub(crate) struct EnableArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    api: ApiArgs,

    /// Apply the change now instead of in the next maintenance window. AWS warns that this can cause a brief
    /// outage while the DB is modified.
    #[arg(long)]
    apply_immediately: bool,

    /// Wait until IAM authentication is in effect (the DB is `available` with the flag on).
    #[arg(long)]
    wait: bool,

    /// Give up waiting after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800, requires = "wait")]
    wait_timeout: u64,

    /// Seconds between checks while waiting.
    #[arg(long, value_name = "SECONDS", default_value_t = 15, hide = true)]
    poll_interval: u64,
}

pub(crate) fn enable(args: EnableArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = args.api.client(ctx, args.db.hostname.as_deref())?;
    let apply = if args.apply_immediately {
        eprintln!(
            "note: --apply-immediately applies the change now; AWS warns this can cause a brief outage while the DB \
             is modified"
        );
        Apply::Immediately
    } else {
        Apply::NextMaintenanceWindow
    };
    let wait = args.wait.then(|| Wait {
        timeout: Duration::from_secs(args.wait_timeout),
        interval: Duration::from_secs(args.poll_interval.max(1)),
    });
    let started = Instant::now();
    let spinner = ['|', '/', '-', '\\'];
    let mut polls = 0usize;
    let tty = std::io::stderr().is_terminal();
    let mut progress = |info: &DbInfo| {
        polls += 1;
        let text = format!(
            "waiting for {}: status {}, IAM auth {} ({})",
            info.identifier,
            info.status,
            if info.iam_auth_enabled { "on" } else { "off" },
            super::human(started.elapsed())
        );
        if tty {
            eprint!("\r{} {text}\x1b[K", spinner[polls % spinner.len()]);
        } else {
            eprintln!("{text}");
        }
    };
    let outcome = client.enable_iam_auth(&args.db.target(), apply, wait, &mut progress);
    if tty && polls > 0 {
        eprintln!();
    }
    match outcome.map_err(admin_error)? {
        Enabled::AlreadyEnabled(info) => outln!(
            "IAM database authentication is already enabled on {} {}: nothing to do",
            info.kind.as_str(),
            info.identifier
        ),
        Enabled::AlreadyPending(info) => outln!(
            "enabling IAM database authentication on {} {} is already requested and waits for the next maintenance \
             window (use --apply-immediately to apply it now)",
            info.kind.as_str(),
            info.identifier
        ),
        Enabled::Requested(info) if info.iam_auth_in_effect() => outln!(
            "IAM database authentication is enabled on {} {} and in effect",
            info.kind.as_str(),
            info.identifier
        ),
        Enabled::Requested(info) => {
            let when = if args.apply_immediately {
                "it is being applied now (status: ".to_owned() + &info.status + ")"
            } else {
                "it will be applied in the next maintenance window (or pass --apply-immediately)".to_owned()
            };
            outln!(
                "requested IAM database authentication on {} {}: {when}; check with `rds-iam describe`",
                info.kind.as_str(),
                info.identifier
            );
        }
        other => outln!(
            "{}: IAM auth enabled = {}",
            other.info().identifier,
            other.info().iam_auth_enabled
        ),
    }
    Ok(())
}

/// `rds-iam policy`.
#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    /// The DB endpoint (instance, cluster or proxy); its resource id is looked up with the RDS API unless
    /// --resource-id is given.
    #[arg(long, visible_alias = "host", value_name = "HOSTNAME", required_unless_present_any = ["db_instance", "db_cluster", "resource_id"])]
    hostname: Option<String>,

    /// A DB instance identifier (instead of --hostname).
    #[arg(long, value_name = "ID", conflicts_with_all = ["hostname", "db_cluster", "resource_id"])]
    db_instance: Option<String>,

    /// An Aurora DB cluster identifier (instead of --hostname).
    #[arg(long, value_name = "ID", conflicts_with_all = ["hostname", "resource_id"])]
    db_cluster: Option<String>,

    /// The DB user the policy lets a principal log in as.
    #[arg(long, visible_alias = "user", value_name = "USER")]
    username: String,

    /// Also print the `aws iam put-role-policy` command that attaches the policy to this role.
    #[arg(long, value_name = "ROLE")]
    role_name: Option<String>,

    /// The resource id (`db-…`, `cluster-…`, `prx-…`) when you cannot call the RDS API; needs --account.
    #[arg(long, value_name = "ID", requires = "account")]
    resource_id: Option<String>,

    /// The DB's 12-digit AWS account (with --resource-id).
    #[arg(long, value_name = "ACCOUNT", requires = "resource_id")]
    account: Option<String>,

    #[command(flatten)]
    api: ApiArgs,
}

pub(crate) fn policy(args: PolicyArgs, ctx: &Context) -> anyhow::Result<()> {
    let policy = match (&args.resource_id, &args.account) {
        (Some(resource_id), Some(account)) => {
            let region = args.api.region(ctx, args.hostname.as_deref())?;
            Policy::new(
                Partition::from_region(&region),
                &region,
                account,
                resource_id,
                &args.username,
            )
            .map_err(admin_error)?
        }
        _ => {
            let target = match (&args.hostname, &args.db_instance, &args.db_cluster) {
                (Some(host), _, _) => DbTarget::Hostname(host.clone()),
                (_, Some(id), _) => DbTarget::Instance(id.clone()),
                (_, _, Some(id)) => DbTarget::Cluster(id.clone()),
                _ => bail!("name the DB: --hostname, --db-instance, --db-cluster, or --resource-id with --account"),
            };
            let client = args.api.client(ctx, args.hostname.as_deref())?;
            let info = client.describe(&target).map_err(admin_error).context(
                "looking up the resource id (without RDS API access, pass --resource-id and --account instead)",
            )?;
            if !info.iam_auth_enabled {
                eprintln!(
                    "warning: IAM database authentication is not enabled on {} {}: run `rds-iam enable`",
                    info.kind.as_str(),
                    info.identifier
                );
            }
            Policy::new(
                info.partition(),
                &info.region,
                &info.account,
                &info.resource_id,
                &args.username,
            )
            .map_err(admin_error)?
        }
    };
    outln!("{}", policy.to_pretty_json());
    if let Some(role) = &args.role_name {
        outln!();
        outln!("# attach it to the role {role}:");
        outln!("{}", policy.put_role_policy_command(role));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineArg {
    /// MySQL and Aurora MySQL.
    Mysql,
    /// MariaDB.
    Mariadb,
}

/// `rds-iam create-user`.
#[derive(Debug, Args)]
pub(crate) struct CreateUserArgs {
    /// The new DB user (it logs in with IAM tokens only, over TLS).
    #[arg(long, visible_alias = "user", value_name = "USER")]
    username: String,

    /// The engine the SQL is for (user-name limits differ).
    #[arg(long, value_enum, default_value_t = EngineArg::Mysql)]
    engine: EngineArg,

    /// A privilege to grant, as `PRIVILEGES ON OBJECT` (e.g. 'SELECT, INSERT ON shop.*'); repeatable.
    #[arg(long = "grant", value_name = "GRANT")]
    grants: Vec<String>,

    /// Run the SQL as the master user over TLS instead of printing it (needs --hostname and --master-user).
    #[arg(long, requires_all = ["hostname", "master_user"])]
    execute: bool,

    /// The DB endpoint to run the SQL on (with --execute).
    #[arg(long, visible_alias = "host", value_name = "HOSTNAME", requires = "execute")]
    hostname: Option<String>,

    /// The DB port (with --execute).
    #[arg(long, default_value_t = 3306)]
    port: u16,

    /// The master (password) user (with --execute).
    #[arg(long, value_name = "USER", requires = "execute")]
    master_user: Option<String>,

    /// The environment variable that holds the master password (without it, the password is asked for on the
    /// terminal; it is never taken as an argument).
    #[arg(long, value_name = "VAR", requires = "execute")]
    password_env: Option<String>,

    /// PEM file with the CA certificates to trust (default: $RDS_IAM_CA_BUNDLE, else the RDS bundle for the
    /// endpoint's region, downloaded once and cached).
    #[arg(long, value_name = "FILE", env = "RDS_IAM_CA_BUNDLE", requires = "execute")]
    ca_bundle: Option<PathBuf>,

    /// --hostname/--port are a tunnel (SSH, SSM) to this DB endpoint: its certificate is checked against this name
    /// before the password is sent.
    #[arg(long, value_name = "ENDPOINT", requires = "execute")]
    tunnel_to: Option<String>,
}

pub(crate) fn create_user(args: CreateUserArgs, ctx: &Context) -> anyhow::Result<()> {
    let engine = match args.engine {
        EngineArg::Mysql => Engine::Mysql,
        EngineArg::Mariadb => Engine::Mariadb,
    };
    let sql = CreateUser::new(&args.username, engine)
        .and_then(|sql| args.grants.iter().try_fold(sql, |sql, grant| sql.grant(grant)))
        .map_err(admin_error)?;
    if !args.execute {
        if sql.needs_backslash_escapes() {
            outln!("-- the user name has a backslash: run this without the NO_BACKSLASH_ESCAPES SQL mode");
        }
        out!("{sql}");
        return Ok(());
    }
    let (Some(hostname), Some(master_user)) = (&args.hostname, &args.master_user) else {
        bail!("--execute needs --hostname and --master-user");
    };
    let password = match &args.password_env {
        Some(var) => match ctx.env.get(var) {
            Some(password) if !password.is_empty() => Secret::new(password),
            _ => {
                bail!("the environment variable {var} (--password-env) is not set or empty: export the password in it")
            }
        },
        None => prompt_password(&format!("password for {master_user}@{hostname}: "))?,
    };
    let ca_bundle = match args.ca_bundle.clone() {
        Some(file) => file,
        None => crate::target::bundle_for_endpoint(ctx, args.tunnel_to.as_deref().unwrap_or(hostname))?,
    };
    let mut login = MasterLogin::new(hostname, args.port, master_user, password, ca_bundle);
    if let Some(endpoint) = &args.tunnel_to {
        login = login.through_tunnel_to(endpoint, ctx.temp_dir());
    }
    login.execute(&sql.statements()).map_err(admin_error)?;
    outln!(
        "created {} on {hostname}:{} ({} statement(s)); it logs in with IAM tokens over TLS",
        sql.account(),
        args.port,
        sql.statements().len()
    );
    Ok(())
}

/// Reads a password from the terminal without echo; refuses when standard input is not a terminal, and when echo
/// cannot be turned off (the password would show). Echo comes back on every path: after the line, on a read
/// error, and on Ctrl-C, SIGTERM or SIGHUP during the prompt (which then end rds-iam with 128 + the signal).
fn prompt_password(prompt: &str) -> anyhow::Result<Secret<String>> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("no password: pass --password-env VAR with the password in that environment variable");
    }
    let saved = tcgetattr(&stdin).context("reading the terminal's settings")?;
    let mut hidden = saved.clone();
    hidden.local_modes.remove(LocalModes::ECHO);
    hidden.local_modes.insert(LocalModes::ECHONL);
    // Registered before echo goes off, so no signal finds the terminal silent with nobody to restore it.
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).context("installing signal handlers")?;
    let handle = signals.handle();
    let restore_on_signal = {
        let saved = saved.clone();
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &saved);
                eprintln!();
                std::process::exit(128 + signal);
            }
        })
    };
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let read = tcsetattr(&stdin, OptionalActions::Flush, &hidden)
        .context("turning the terminal's echo off (the password is not read with echo on)")
        .and_then(|()| {
            let mut line = String::new();
            let read = stdin.lock().read_line(&mut line).context("reading the password");
            read.map(|_| line)
        });
    let restored = tcsetattr(&stdin, OptionalActions::Now, &saved);
    handle.close();
    let _ = restore_on_signal.join();
    let mut line = read?;
    restored.context("restoring the terminal's echo")?;
    let len = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(len);
    let password = Secret::new(line);
    if password.expose().is_empty() {
        bail!("empty password");
    }
    Ok(password)
}
