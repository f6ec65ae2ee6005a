//! `rds-iam connect`: log in with an IAM token over verified TLS and run SQL.

use std::io::{IsTerminal, Read};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use mysql::prelude::Queryable;
use rds_iam_mysql::ConnectError;
use serde_json::{Map, Value as Json};

use crate::context::Context;
use crate::target::{TargetArgs, login};

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
