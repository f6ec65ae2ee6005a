//! `rds-iam connect`: log in with an IAM token over verified TLS and run SQL.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use mysql::prelude::Queryable;
use rds_iam_credentials::{DefaultChain, ProvideCredentials};
use rds_iam_mysql::{ConnectError, IamConnector, Target, TlsCheck};
use rds_iam_proxy::{EmbeddedProxy, ProxyConfig};
use rds_iam_token::{Endpoint, EndpointKind, RegionChoice, choose_region};
use serde_json::{Map, Value as Json};

use crate::context::Context;

/// Where to log in: shared by `connect` and `mysql`.
#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// The DB endpoint to connect to (instance, cluster, reader, custom or proxy endpoint; or a tunnel's address).
    #[arg(long, visible_alias = "host", value_name = "HOSTNAME")]
    pub(crate) hostname: String,

    /// The DB port.
    #[arg(long, default_value_t = 3306)]
    pub(crate) port: u16,

    /// The DB user, created with the AWSAuthenticationPlugin.
    #[arg(long, visible_alias = "user", value_name = "USER")]
    pub(crate) username: String,

    /// The default database (schema).
    #[arg(long, short = 'D', value_name = "DATABASE")]
    pub(crate) database: Option<String>,

    /// The DB's region. Default: from the hostname, else AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,

    /// Sign the token for this endpoint name when --hostname is a tunnel, a CNAME or an IP address.
    #[arg(long, value_name = "HOST")]
    pub(crate) signing_host: Option<String>,

    /// Sign the token for this port (the DB's own, usually 3306) when --port is a tunnel's local port.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) signing_port: Option<u16>,

    /// PEM file with the CA certificates to trust (default: $RDS_IAM_CA_BUNDLE, else the RDS bundle for the
    /// endpoint's region, downloaded once and cached, or for an RDS Proxy endpoint the built-in Amazon Trust
    /// Services roots; see `rds-iam ca`).
    #[arg(long, value_name = "FILE", env = "RDS_IAM_CA_BUNDLE")]
    pub(crate) ca_bundle: Option<PathBuf>,

    /// Verify the certificate chain (against the bundle alone) but not its name: for SSH/SSM tunnels you control;
    /// logged as a warning. `rds-iam doctor` shows whether the certificate is the endpoint's.
    #[arg(long)]
    pub(crate) danger_skip_hostname_check: bool,

    /// Use this profile of ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, else `default`).
    #[arg(long, value_name = "PROFILE")]
    pub(crate) profile: Option<String>,
}

/// `rds-iam connect`.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    #[command(flatten)]
    target: TargetArgs,

    /// SQL to run (several statements separated by `;`); without it, SQL is read from standard input.
    #[arg(short = 'e', long = "execute", value_name = "SQL")]
    execute: Option<String>,

    /// Output format for result sets.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// Aligned columns with a header, like the mysql client's table output.
    Table,
    /// Tab-separated values with a header line, like `mysql --batch`.
    Tsv,
    /// A JSON array with one array of row objects per result set.
    Json,
}

impl TargetArgs {
    /// The connector these flags describe, signing with the full credential chain.
    pub(crate) fn connector(&self, ctx: &Context) -> anyhow::Result<IamConnector> {
        let signing_host = self.signing_host()?;
        let Some(choice) = self.region(ctx, &signing_host)? else {
            bail!("no region: {signing_host} does not name one and none is configured; pass --region");
        };
        if let Some(hostname_region) = &choice.hostname_region {
            eprintln!(
                "warning: --region {} differs from the region in the hostname ({hostname_region})",
                choice.region
            );
        }
        let ca_bundle = self.ca_bundle(ctx, &signing_host)?;
        // Cached: `mysql` and name-waived logins go through the proxy, which may log in more than once.
        let credentials = Arc::new(
            DefaultChain::builder()
                .config(&ctx.provider_config(self.profile.as_deref()))
                .build(),
        );
        self.connector_with(credentials, &signing_host, &choice.region, ca_bundle)
    }

    /// The name tokens are signed for (and the certificate must carry): --signing-host, else --hostname unless it
    /// is an IP address.
    pub(crate) fn signing_host(&self) -> anyhow::Result<String> {
        match &self.signing_host {
            Some(host) => Ok(host.clone()),
            None if Endpoint::parse(&self.hostname).kind() == EndpointKind::IpAddress => bail!(
                "{} is an IP address, but IAM tokens are signed for the DB endpoint's name: pass --signing-host \
                 ENDPOINT (or --signing-host {} to sign for the address itself)",
                self.hostname,
                self.hostname
            ),
            None => Ok(self.hostname.clone()),
        }
    }

    /// Explicit > the signing host's > configured; `None` when none is known.
    pub(crate) fn region(&self, ctx: &Context, signing_host: &str) -> anyhow::Result<Option<RegionChoice>> {
        let configured = rds_iam_credentials::resolve_region(&ctx.env, &ctx.fs, self.profile.as_deref())?;
        Ok(choose_region(
            self.region.as_deref(),
            &Endpoint::parse(signing_host),
            configured.as_ref().map(|c| (c.region.as_str(), c.source.as_str())),
        ))
    }

    /// --ca-bundle, else the Amazon Trust Services roots for a proxy endpoint, else the RDS bundle for the endpoint's
    /// region (or the global one), downloaded and verified once, then reused from the cache and refreshed weekly.
    pub(crate) fn ca_bundle(&self, ctx: &Context, signing_host: &str) -> anyhow::Result<PathBuf> {
        if let Some(file) = &self.ca_bundle {
            return Ok(file.clone());
        }
        crate::commands::ca::bundle_for_endpoint(ctx, signing_host)
    }

    /// The connector for resolved values, signing with `credentials`.
    pub(crate) fn connector_with(
        &self,
        credentials: Arc<dyn ProvideCredentials>,
        signing_host: &str,
        region: &str,
        ca_bundle: PathBuf,
    ) -> anyhow::Result<IamConnector> {
        let mut target = Target::new(&self.hostname, self.port, &self.username)?.with_region(region);
        if signing_host != self.hostname {
            target = target.with_signing_host(signing_host)?;
        }
        if let Some(port) = self.signing_port {
            target = target.with_signing_port(port)?;
        }
        if let Some(database) = &self.database {
            target = target.with_database(database)?;
        }
        Ok(IamConnector::with_shared_credentials(target, credentials, ca_bundle).with_tls_check(self.tls_check()))
    }

    /// What `--danger-skip-hostname-check` asks of the certificate check.
    pub(crate) fn tls_check(&self) -> TlsCheck {
        if self.danger_skip_hostname_check {
            TlsCheck::DangerSkipHostname
        } else {
            TlsCheck::Full
        }
    }
}

pub(crate) fn run(args: ConnectArgs, ctx: &Context) -> anyhow::Result<()> {
    let sql = match args.execute {
        Some(sql) => sql,
        None => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                bail!(
                    "no SQL: pass -e 'SELECT …' or pipe statements in (for an interactive shell use `rds-iam mysql`)"
                );
            }
            let mut sql = String::new();
            stdin
                .read_to_string(&mut sql)
                .context("reading SQL from standard input")?;
            sql
        }
    };
    let connector = args.target.connector(ctx)?;
    let mut conn = login(connector, ctx).map_err(|e| match e.downcast::<ConnectError>() {
        Ok(err) => crate::advice::connect_error(err),
        Err(other) => other,
    })?;
    let mut result = conn.query_iter(sql.as_str()).context("running the SQL")?;
    let mut sets = Vec::new();
    while let Some(set) = result.iter() {
        let columns: Vec<String> = set
            .columns()
            .as_ref()
            .iter()
            .map(|c| c.name_str().into_owned())
            .collect();
        let mut rows = Vec::new();
        for row in set {
            let row = row.context("reading a row")?;
            rows.push(
                (0..row.len())
                    .map(|i| row.as_ref(i).map(cell).unwrap_or(Cell::Null))
                    .collect::<Vec<_>>(),
            );
        }
        if !columns.is_empty() {
            sets.push((columns, rows));
        }
    }
    crate::commands::print_out(&render(&sets, args.output))?;
    Ok(())
}

/// A logged-in connection for `connect` and `doctor`; the embedded proxy, when one is used, lives as long as it.
pub(crate) struct Login {
    conn: mysql::Conn,
    _proxy: Option<EmbeddedProxy>,
}

impl std::ops::Deref for Login {
    type Target = mysql::Conn;

    fn deref(&self) -> &mysql::Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for Login {
    fn deref_mut(&mut self) -> &mut mysql::Conn {
        &mut self.conn
    }
}

/// Logs in with the connector. With the name waived, the driver's own TLS would also trust Mozilla's public roots
/// (mysql 28 cannot leave them out), so such a login goes through an embedded proxy on a private socket, whose TLS
/// trusts the CA bundle alone; the driver then talks to the proxy, and never holds the token. A refusal is a
/// [`ConnectError`] (doctor ranks the causes of a refused token); any other failure an error with its context.
pub(crate) fn login(connector: IamConnector, ctx: &Context) -> anyhow::Result<Login> {
    if connector.tls_check() != TlsCheck::DangerSkipHostname {
        return Ok(Login {
            conn: connector.connect()?.into_inner(),
            _proxy: None,
        });
    }
    tracing::warn!(
        host = connector.target().host(),
        "TLS: the server certificate's name is not checked (its chain is, against the CA bundle alone)"
    );
    let user = connector.target().user().to_owned();
    let database = connector.target().database().map(str::to_owned);
    let config = ProxyConfig::iam(connector.clone())?.allow_users([user.as_str()]);
    let dir = ctx.temp_dir();
    let proxy =
        EmbeddedProxy::start(config, &dir).with_context(|| format!("starting the local proxy in {}", dir.display()))?;
    let opts = mysql::OptsBuilder::new()
        .socket(Some(proxy.socket_path().to_string_lossy().into_owned()))
        .prefer_socket(true)
        .user(Some(user.as_str()))
        .db_name(database);
    let conn = mysql::Conn::new(opts).map_err(|e| from_proxy(&connector, &user, e))?;
    Ok(Login {
        conn,
        _proxy: Some(proxy),
    })
}

/// The proxy's refusals as [`ConnectError`]s: a refused token is 1045 with the database's message on the first
/// line ([`rds_iam_proxy::rejected_message`]), classified again here into typed causes.
fn from_proxy(connector: &IamConnector, user: &str, err: mysql::Error) -> ConnectError {
    match err {
        mysql::Error::MySqlError(e) => {
            let first = e.message.lines().next().unwrap_or_default();
            connector.classify_server_error(user, e.code, &e.state, first)
        }
        other => ConnectError::Driver(std::sync::Arc::new(other)),
    }
}

/// One value as the output formats need it.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Number(String),
}

fn cell(value: &mysql::Value) -> Cell {
    use mysql::Value as V;
    match value {
        V::NULL => Cell::Null,
        V::Bytes(bytes) => Cell::Text(String::from_utf8_lossy(bytes).into_owned()),
        V::Int(n) => Cell::Number(n.to_string()),
        V::UInt(n) => Cell::Number(n.to_string()),
        V::Float(n) => Cell::Number(n.to_string()),
        V::Double(n) => Cell::Number(n.to_string()),
        other => Cell::Text(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}

impl Cell {
    fn text(&self) -> &str {
        match self {
            Cell::Null => "NULL",
            Cell::Text(s) | Cell::Number(s) => s,
        }
    }

    fn json(&self) -> Json {
        match self {
            Cell::Null => Json::Null,
            Cell::Text(s) => Json::String(s.clone()),
            Cell::Number(s) => s
                .parse::<serde_json::Number>()
                .map_or_else(|_| Json::String(s.clone()), Json::Number),
        }
    }
}

type ResultSet = (Vec<String>, Vec<Vec<Cell>>);

fn render(sets: &[ResultSet], output: Output) -> String {
    match output {
        Output::Json => {
            let json: Vec<Json> = sets
                .iter()
                .map(|(columns, rows)| {
                    Json::Array(
                        rows.iter()
                            .map(|row| {
                                Json::Object(
                                    columns
                                        .iter()
                                        .cloned()
                                        .zip(row.iter().map(Cell::json))
                                        .collect::<Map<_, _>>(),
                                )
                            })
                            .collect(),
                    )
                })
                .collect();
            format!("{}\n", Json::Array(json))
        }
        Output::Tsv => sets
            .iter()
            .map(|(columns, rows)| {
                let mut out = format!("{}\n", columns.join("\t"));
                for row in rows {
                    out.push_str(
                        &row.iter()
                            .map(|c| c.text().replace(['\t', '\n'], " "))
                            .collect::<Vec<_>>()
                            .join("\t"),
                    );
                    out.push('\n');
                }
                out
            })
            .collect(),
        Output::Table => sets
            .iter()
            .map(|(columns, rows)| table(columns, rows))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn table(columns: &[String], rows: &[Vec<Cell>]) -> String {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].text().chars().count())
            .chain([columns[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..columns.len()).map(width).collect();
    let line = format!(
        "+{}+\n",
        widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+")
    );
    let row_text = |cells: Vec<(&str, bool)>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|((text, right), w)| {
                if *right {
                    format!(" {text:>w$} ")
                } else {
                    format!(" {text:<w$} ")
                }
            })
            .collect();
        format!("|{}|\n", parts.join("|"))
    };
    let mut out = line.clone();
    out.push_str(&row_text(columns.iter().map(|c| (c.as_str(), false)).collect()));
    out.push_str(&line);
    for row in rows {
        out.push_str(&row_text(
            row.iter().map(|c| (c.text(), matches!(c, Cell::Number(_)))).collect(),
        ));
    }
    out.push_str(&line);
    out.push_str(&format!(
        "{} row{} in set\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<ResultSet> {
        vec![(
            vec!["id".into(), "name".into()],
            vec![
                vec![Cell::Number("1".into()), Cell::Text("ann".into())],
                vec![Cell::Number("22".into()), Cell::Null],
            ],
        )]
    }

    #[test]
    fn formats() {
        assert_eq!(
            render(&sample(), Output::Table),
            "+----+------+\n| id | name |\n+----+------+\n|  1 | ann  |\n| 22 | NULL |\n+----+------+\n2 rows in set\n"
        );
        assert_eq!(render(&sample(), Output::Tsv), "id\tname\n1\tann\n22\tNULL\n");
        assert_eq!(
            render(&sample(), Output::Json),
            "[[{\"id\":1,\"name\":\"ann\"},{\"id\":22,\"name\":null}]]\n"
        );
    }
}
