//! The few statements [`super::RdsLikeServer`] answers, as a pure function from SQL text to an [`Answer`].

use super::Greeting;

/// What the statement runs against: the logged-in session.
pub(super) struct Context<'a> {
    pub(super) user: &'a str,
    pub(super) database: Option<&'a str>,
    pub(super) greeting: Greeting,
    /// `(protocol version, cipher suite)` when the session is on TLS.
    pub(super) tls: Option<(&'a str, &'a str)>,
    pub(super) tls_offered: bool,
    pub(super) require_tls: bool,
    pub(super) connection_id: u32,
    pub(super) port: u16,
}

/// One cell of a text result set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// What the server sends back.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Answer {
    /// An OK packet.
    Ok,
    /// An OK packet, and the session's database becomes this one.
    UseDatabase(String),
    /// A text result set.
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    },
    /// An error packet.
    Error { code: u16, state: [u8; 5], message: String },
}

impl Answer {
    fn error(code: u16, state: &[u8; 5], message: impl Into<String>) -> Answer {
        Answer::Error {
            code,
            state: *state,
            message: message.into(),
        }
    }
}

/// Answers one `COM_QUERY` statement.
pub(super) fn answer(sql: &str, ctx: &Context<'_>) -> Answer {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    if sql.is_empty() {
        return Answer::error(1065, b"42000", "Query was empty");
    }
    let lower = sql.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    match words[0] {
        "select" => select(sql["select".len()..].trim(), ctx),
        "show" => show(&words[1..], sql, ctx),
        "use" if words.len() == 2 => {
            let name = sql.split_whitespace().nth(1).unwrap_or_default();
            Answer::UseDatabase(name.trim_matches('`').to_owned())
        }
        "set" | "begin" | "commit" | "rollback" | "start" | "do" => Answer::Ok,
        _ => syntax_error(sql),
    }
}

fn syntax_error(sql: &str) -> Answer {
    Answer::error(
        1064,
        b"42000",
        format!(
            "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version \
             for the right syntax to use near '{sql}' at line 1"
        ),
    )
}

fn select(list: &str, ctx: &Context<'_>) -> Answer {
    let list = strip_limit(list);
    if list.is_empty() {
        return syntax_error("");
    }
    if list.to_ascii_lowercase().contains(" from ") {
        return Answer::error(
            1235,
            b"42000",
            "This version of MySQL doesn't yet support 'SELECT … FROM' (rds-iam test server)",
        );
    }
    let mut columns = Vec::new();
    let mut row = Vec::new();
    for item in split_items(list) {
        let (expr, alias) = split_alias(item);
        let value = match evaluate(expr, ctx) {
            Ok(value) => value,
            Err(answer) => return answer,
        };
        columns.push(alias.map_or_else(|| column_name(expr), str::to_owned));
        row.push(value);
    }
    Answer::Rows {
        columns,
        rows: vec![row],
    }
}

/// `… LIMIT n` → `…` (the `mysql` command-line client sends `select @@version_comment limit 1`).
fn strip_limit(list: &str) -> &str {
    let lower = list.to_ascii_lowercase();
    match lower.rfind(" limit ") {
        Some(at) if lower[at + 7..].trim().parse::<u64>().is_ok() => list[..at].trim_end(),
        _ => list,
    }
}

/// Splits a select list at top-level commas (not inside quotes or parentheses).
fn split_items(list: &str) -> Vec<&str> {
    let (mut items, mut start, mut depth, mut quote) = (Vec::new(), 0, 0_i32, None);
    for (i, c) in list.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                items.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(list[start..].trim());
    items
}

/// `expr AS name` / `expr AS 'name'` → `(expr, Some(name))`.
fn split_alias(item: &str) -> (&str, Option<&str>) {
    let lower = item.to_ascii_lowercase();
    if let Some(at) = lower.rfind(" as ") {
        let alias = item[at + 4..].trim().trim_matches(|c| matches!(c, '`' | '\'' | '"'));
        if !alias.is_empty() && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return (item[..at].trim(), Some(alias));
        }
    }
    (item, None)
}

fn column_name(expr: &str) -> String {
    match unquote(expr) {
        Some(text) => text,
        None => expr.to_owned(),
    }
}

/// `'text'` or `"text"` → `text` (a doubled quote stands for one).
fn unquote(expr: &str) -> Option<String> {
    let quote = expr.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let inner = expr.strip_prefix(quote)?.strip_suffix(quote)?;
    Some(inner.replace(&format!("{quote}{quote}"), &quote.to_string()))
}

fn evaluate(expr: &str, ctx: &Context<'_>) -> Result<Value, Answer> {
    if let Ok(n) = expr.parse::<i64>() {
        return Ok(Value::Int(n));
    }
    if let Some(text) = unquote(expr) {
        return Ok(Value::Text(text));
    }
    let lower = expr.to_ascii_lowercase();
    if lower == "null" {
        return Ok(Value::Null);
    }
    if let Some(name) = lower.strip_prefix("@@") {
        let name = ["session.", "global.", "local."]
            .iter()
            .find_map(|scope| name.strip_prefix(scope))
            .unwrap_or(name);
        return system_variable(name, ctx)
            .ok_or_else(|| Answer::error(1193, b"HY000", format!("Unknown system variable '{name}'")));
    }
    let function = lower.strip_suffix("()").map(str::trim_end);
    match function.unwrap_or(&lower) {
        "current_user" => Ok(Value::Text(format!("{}@%", ctx.user))),
        "user" | "session_user" | "system_user" if function.is_some() => {
            Ok(Value::Text(format!("{}@127.0.0.1", ctx.user)))
        }
        "database" | "schema" if function.is_some() => Ok(ctx.database.map_or(Value::Null, text)),
        "version" if function.is_some() => Ok(text(ctx.greeting.server_version())),
        "connection_id" if function.is_some() => Ok(Value::Int(i64::from(ctx.connection_id))),
        "aurora_version" if function.is_some() && ctx.greeting == Greeting::Aurora => Ok(text(AURORA_VERSION)),
        _ if lower.contains('(') => {
            let name = expr.split('(').next().unwrap_or(expr).trim();
            Err(Answer::error(1305, b"42000", format!("FUNCTION {name} does not exist")))
        }
        _ => Err(Answer::error(
            1054,
            b"42S22",
            format!("Unknown column '{expr}' in 'field list'"),
        )),
    }
}

const AURORA_VERSION: &str = "3.05.2";

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// The system variables the server knows, by lowercase name. `ssl_version` is not a real MySQL variable (it is a
/// status variable) but is answered for convenience.
fn system_variable(name: &str, ctx: &Context<'_>) -> Option<Value> {
    let on_off = |on: bool| Value::Text(if on { "ON" } else { "OFF" }.to_owned());
    Some(match name {
        "version" => text(ctx.greeting.server_version()),
        "version_comment" => text("Source distribution"),
        "aurora_version" if ctx.greeting == Greeting::Aurora => text(AURORA_VERSION),
        "max_allowed_packet" => Value::Int(64 * 1024 * 1024),
        "wait_timeout" | "interactive_timeout" => Value::Int(28800),
        // Empty: a client that prefers the Unix socket on loopback finds none to switch to.
        "socket" => text(""),
        "port" => Value::Int(i64::from(ctx.port)),
        "hostname" => text("ip-10-0-0-1"),
        "require_secure_transport" => Value::Int(i64::from(ctx.require_tls)),
        "have_ssl" => text(if ctx.tls_offered { "YES" } else { "DISABLED" }),
        "tls_version" => text("TLSv1.2,TLSv1.3"),
        "ssl_version" => text(ctx.tls.map_or("", |(version, _)| version)),
        "default_authentication_plugin" => text(ctx.greeting.auth_plugin()),
        "autocommit" => Value::Int(1),
        "sql_mode" => text(
            "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,\
             NO_ENGINE_SUBSTITUTION",
        ),
        "character_set_client" | "character_set_connection" | "character_set_results" | "character_set_server" => {
            text("utf8mb4")
        }
        "collation_connection" | "collation_server" => text("utf8mb4_0900_ai_ci"),
        "time_zone" => text("SYSTEM"),
        "system_time_zone" => text("UTC"),
        "transaction_isolation" => text("REPEATABLE-READ"),
        "transaction_read_only" | "read_only" | "lower_case_table_names" => Value::Int(0),
        "performance_schema" => on_off(true),
        _ => return None,
    })
}

/// Names shown by `SHOW VARIABLES` (each answered by [`system_variable`]).
const VARIABLES: &[&str] = &[
    "aurora_version",
    "autocommit",
    "character_set_client",
    "character_set_connection",
    "character_set_results",
    "character_set_server",
    "collation_connection",
    "collation_server",
    "default_authentication_plugin",
    "have_ssl",
    "hostname",
    "interactive_timeout",
    "lower_case_table_names",
    "max_allowed_packet",
    "performance_schema",
    "port",
    "read_only",
    "require_secure_transport",
    "socket",
    "sql_mode",
    "system_time_zone",
    "time_zone",
    "tls_version",
    "transaction_isolation",
    "transaction_read_only",
    "version",
    "version_comment",
    "wait_timeout",
];

/// `SHOW [GLOBAL|SESSION] STATUS|VARIABLES [LIKE 'pattern']` and `SHOW DATABASES`.
fn show(words: &[&str], sql: &str, ctx: &Context<'_>) -> Answer {
    let words = match words.first() {
        Some(&("global" | "session" | "local")) => &words[1..],
        _ => words,
    };
    let pattern = match words.get(1..) {
        Some([]) => None,
        Some(["like", _, ..]) => {
            // Take the pattern from the original text: LIKE is case-insensitive anyway, but keep it exact.
            let at = sql.to_ascii_lowercase().find(" like ").map_or(sql.len(), |at| at + 6);
            Some(unquote(sql[at..].trim()).unwrap_or_default().to_ascii_lowercase())
        }
        _ => return syntax_error(sql),
    };
    let matches = |name: &str| {
        pattern
            .as_deref()
            .is_none_or(|p| like(p.as_bytes(), name.to_ascii_lowercase().as_bytes()))
    };
    let rows: Vec<Vec<Value>> = match words.first() {
        Some(&"status") => {
            let (version, cipher) = ctx.tls.unwrap_or(("", ""));
            [("Ssl_cipher", cipher), ("Ssl_version", version)]
                .into_iter()
                .filter(|(name, _)| matches(name))
                .map(|(name, value)| vec![text(name), text(value)])
                .collect()
        }
        Some(&"variables") => VARIABLES
            .iter()
            .filter(|name| matches(name))
            .filter_map(|name| {
                let value = match system_variable(name, ctx)? {
                    Value::Int(n) => n.to_string(),
                    Value::Text(s) => s,
                    Value::Null => String::new(),
                };
                Some(vec![text(name), Value::Text(value)])
            })
            .collect(),
        Some(&"databases") => {
            let mut names = vec!["information_schema", "mysql", "performance_schema", "sys"];
            names.extend(ctx.database);
            names.sort_unstable();
            names.dedup();
            let rows = names
                .into_iter()
                .filter(|name| matches(name))
                .map(|name| vec![text(name)]);
            return Answer::Rows {
                columns: vec!["Database".to_owned()],
                rows: rows.collect(),
            };
        }
        _ => return syntax_error(sql),
    };
    Answer::Rows {
        columns: vec!["Variable_name".to_owned(), "Value".to_owned()],
        rows,
    }
}

/// SQL `LIKE` (`%` any run, `_` any one character; `\` escapes), on lowercase bytes.
fn like(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'%', rest)) => (0..=name.len()).any(|skip| like(rest, &name[skip..])),
        Some((b'_', rest)) => !name.is_empty() && like(rest, &name[1..]),
        Some((b'\\', [escaped, rest @ ..])) => name.first() == Some(escaped) && like(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && like(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context<'static> {
        Context {
            user: "iam_user",
            database: Some("app"),
            greeting: Greeting::MySql8,
            tls: Some(("TLSv1.3", "TLS_AES_256_GCM_SHA384")),
            tls_offered: true,
            require_tls: true,
            connection_id: 7,
            port: 3306,
        }
    }

    fn rows(sql: &str) -> (Vec<String>, Vec<Vec<Value>>) {
        match answer(sql, &ctx()) {
            Answer::Rows { columns, rows } => (columns, rows),
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn t(s: &str) -> Value {
        text(s)
    }

    #[test]
    fn selects() {
        assert_eq!(rows("SELECT 1"), (vec!["1".into()], vec![vec![Value::Int(1)]]));
        assert_eq!(rows("select current_user();").1, vec![vec![t("iam_user@%")]]);
        assert_eq!(
            rows("SELECT @@max_allowed_packet,@@wait_timeout"),
            (
                vec!["@@max_allowed_packet".into(), "@@wait_timeout".into()],
                vec![vec![Value::Int(67_108_864), Value::Int(28800)]]
            )
        );
        assert_eq!(
            rows("SELECT 'a, b' AS x, DATABASE(), @@session.ssl_version"),
            (
                vec!["x".into(), "DATABASE()".into(), "@@session.ssl_version".into()],
                vec![vec![t("a, b"), t("app"), t("TLSv1.3")]]
            )
        );
        assert_eq!(rows("SELECT @@version").1, vec![vec![t("8.0.39")]]);
        assert_eq!(
            rows("select @@version_comment limit 1"),
            (vec!["@@version_comment".into()], vec![vec![t("Source distribution")]])
        );
    }

    #[test]
    fn errors() {
        let code = |sql: &str| match answer(sql, &ctx()) {
            Answer::Error { code, .. } => code,
            other => panic!("{sql}: {other:?}"),
        };
        assert_eq!(code(""), 1065);
        assert_eq!(code("SELECT @@nope"), 1193);
        assert_eq!(code("SELECT nope"), 1054);
        assert_eq!(code("SELECT nope()"), 1305);
        assert_eq!(code("SELECT * FROM t"), 1235);
        assert_eq!(code("DROP TABLE t"), 1064);
        assert_eq!(code("SELECT @@aurora_version"), 1193, "MySQL 8 has no aurora_version");
    }

    #[test]
    fn shows() {
        assert_eq!(
            rows("SHOW STATUS LIKE 'Ssl_version'").1,
            vec![vec![t("Ssl_version"), t("TLSv1.3")]]
        );
        assert_eq!(rows("show session status like 'ssl%'").1.len(), 2);
        assert_eq!(
            rows("SHOW VARIABLES LIKE 'require_secure_transport'").1,
            vec![vec![t("require_secure_transport"), t("1")]]
        );
        assert!(rows("SHOW DATABASES").1.contains(&vec![t("app")]));
        assert_eq!(answer("USE `other`", &ctx()), Answer::UseDatabase("other".into()));
        assert_eq!(answer("SET NAMES utf8mb4", &ctx()), Answer::Ok);
    }

    #[test]
    fn like_patterns() {
        assert!(like(b"ssl\\_version", b"ssl_version"));
        assert!(like(b"ssl_v%", b"ssl_version"));
        assert!(!like(b"ssl\\_version", b"sslxversion"));
        assert!(like(b"%", b""));
    }
}
