//! [`CreateUser`]: the SQL that creates a DB user who logs in with IAM tokens, with grants; every name quoted and
//! escaped here, hostile names rejected with a reason.

use std::fmt;

use crate::Error;
use crate::error::{GrantProblem, InputProblem};

/// The database engine the SQL is for. Both take the same statements on RDS; they differ in limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Engine {
    /// MySQL and Aurora MySQL (user names up to 32 characters).
    #[default]
    Mysql,
    /// MariaDB (user names up to 80 characters).
    Mariadb,
}

impl Engine {
    /// The longest user name the engine stores, in characters.
    pub fn max_user_len(self) -> usize {
        match self {
            Engine::Mysql => 32,
            Engine::Mariadb => 80,
        }
    }

    /// The engine of an RDS `Engine` value (`mysql`, `aurora-mysql`, `mariadb`); `None` for other engines.
    pub fn from_rds(engine: &str) -> Option<Engine> {
        match engine {
            "mysql" | "aurora-mysql" | "aurora" => Some(Engine::Mysql),
            "mariadb" => Some(Engine::Mariadb),
            _ => None,
        }
    }

    /// `mysql` or `mariadb`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
        }
    }
}

/// How the new user authenticates: the clause after `IDENTIFIED`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Authentication {
    /// `IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'`: IAM tokens on RDS and Aurora (MySQL and MariaDB).
    #[default]
    AwsIam,
    /// `IDENTIFIED VIA pam USING 'SERVICE'`: a MariaDB that checks tokens through PAM, like rds-iam's test server.
    MariadbPam {
        /// The PAM service name.
        service: String,
    },
}

/// The longest database or table name MySQL and MariaDB accept.
const MAX_OBJECT_LEN: usize = 64;

/// The statements that create a user for IAM login and grant it privileges.
///
/// ```
/// use rds_iam_admin::{CreateUser, Engine};
///
/// let sql = CreateUser::new("app", Engine::Mysql)?.grant("SELECT, INSERT ON shop.*")?;
/// assert_eq!(
///     sql.statements(),
///     [
///         "CREATE USER 'app'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;",
///         "GRANT SELECT, INSERT ON `shop`.* TO 'app'@'%';",
///     ]
/// );
/// # Ok::<(), rds_iam_admin::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateUser {
    user: String,
    engine: Engine,
    authentication: Authentication,
    grants: Vec<Grant>,
}

impl CreateUser {
    /// The user `user`@`%` (any client host: IAM checks who signs the token). Rejects names the engine cannot store
    /// or that cannot be written safely: empty, too long, with NUL or other control characters.
    pub fn new(user: &str, engine: Engine) -> Result<CreateUser, Error> {
        check_name("user name", user, engine.max_user_len())?;
        if user.ends_with(' ') {
            return Err(Error::invalid("user name", user, InputProblem::TrailingSpace));
        }
        Ok(CreateUser {
            user: user.to_owned(),
            engine,
            authentication: Authentication::AwsIam,
            grants: Vec::new(),
        })
    }

    /// Uses another authentication clause (default [`Authentication::AwsIam`]).
    pub fn with_authentication(mut self, authentication: Authentication) -> Result<CreateUser, Error> {
        if let Authentication::MariadbPam { service } = &authentication {
            check_name("PAM service", service, MAX_OBJECT_LEN)?;
        }
        self.authentication = authentication;
        Ok(self)
    }

    /// Adds a grant written as `PRIVILEGES ON OBJECT`: `SELECT ON shop.*`, `SELECT, INSERT ON shop.orders`, `ALL
    /// PRIVILEGES ON *.*`. Database and table names are quoted here (plain or already in backticks); privileges
    /// are words only (write column-level grants yourself).
    pub fn grant(mut self, spec: &str) -> Result<CreateUser, Error> {
        self.grants.push(Grant::parse(spec)?);
        Ok(self)
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The engine the SQL is for.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// `'user'@'%'`, escaped.
    pub fn account(&self) -> String {
        format!("{}@'%'", sql_string(&self.user))
    }

    /// Whether the SQL relies on backslash escapes (a name has a `\`): then it must run without the
    /// `NO_BACKSLASH_ESCAPES` SQL mode (RDS's default does not set it).
    pub fn needs_backslash_escapes(&self) -> bool {
        self.user.contains('\\')
            || matches!(&self.authentication, Authentication::MariadbPam { service } if service.contains('\\'))
    }

    /// One statement per line, each ending in `;`: `CREATE USER`, then one `GRANT` per grant.
    pub fn statements(&self) -> Vec<String> {
        let account = self.account();
        let identified = match &self.authentication {
            Authentication::AwsIam => "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'".to_owned(),
            Authentication::MariadbPam { service } => format!("IDENTIFIED VIA pam USING {}", sql_string(service)),
        };
        let mut out = vec![format!("CREATE USER {account} {identified} REQUIRE SSL;")];
        out.extend(
            self.grants
                .iter()
                .map(|g| format!("GRANT {} ON {} TO {account};", g.privileges, g.object)),
        );
        out
    }
}

impl fmt::Display for CreateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for statement in self.statements() {
            writeln!(f, "{statement}")?;
        }
        Ok(())
    }
}

/// One `GRANT`: privileges in canonical form and the quoted object.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Grant {
    privileges: String,
    object: String,
}

impl Grant {
    fn parse(spec: &str) -> Result<Grant, Error> {
        let invalid = |problem| Err(Error::invalid("grant", spec, InputProblem::Grant(problem)));
        let upper = spec.to_ascii_uppercase();
        let Some(at) = upper.find(" ON ") else {
            return invalid(GrantProblem::NoOn);
        };
        let (privileges, object) = (&spec[..at], spec[at + 4..].trim());
        let mut words = Vec::new();
        for privilege in privileges.split(',') {
            let privilege = privilege.split_whitespace().collect::<Vec<_>>().join(" ");
            if privilege.is_empty() || !privilege.bytes().all(|b| b.is_ascii_alphabetic() || b == b' ') {
                return invalid(GrantProblem::NotWords);
            }
            words.push(privilege.to_ascii_uppercase());
        }
        let object = match split_object(object) {
            Some((None, None)) => "*.*".to_owned(),
            Some((Some(db), None)) => {
                check_name("database name", &db, MAX_OBJECT_LEN)?;
                // In `GRANT … ON db.*`, `_` and `%` in the database name are wildcards: escape them so the grant
                // names exactly this database.
                let literal = db.replace('\\', r"\\").replace('_', r"\_").replace('%', r"\%");
                format!("{}.*", quote_identifier(&literal))
            }
            Some((Some(db), Some(table))) => {
                check_name("database name", &db, MAX_OBJECT_LEN)?;
                check_name("table name", &table, MAX_OBJECT_LEN)?;
                format!("{}.{}", quote_identifier(&db), quote_identifier(&table))
            }
            _ => return invalid(GrantProblem::BadObject),
        };
        Ok(Grant {
            privileges: words.join(", "),
            object,
        })
    }
}

/// `*.*` → (None, None); `db.*` → (db, None); `db.t` → (db, t). Names are plain or in backticks (with ``` `` ```
/// for a backtick). `None` when the text is none of these.
fn split_object(object: &str) -> Option<(Option<String>, Option<String>)> {
    fn name(text: &str) -> Option<(String, &str)> {
        if let Some(rest) = text.strip_prefix('`') {
            let mut out = String::new();
            let mut chars = rest.char_indices();
            while let Some((i, c)) = chars.next() {
                if c == '`' {
                    if rest[i + 1..].starts_with('`') {
                        out.push('`');
                        chars.next();
                    } else {
                        return Some((out, &rest[i + 1..]));
                    }
                } else {
                    out.push(c);
                }
            }
            None
        } else {
            let end = text.find('.').unwrap_or(text.len());
            let plain = &text[..end];
            let ok = !plain.is_empty() && plain.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
            ok.then(|| (plain.to_owned(), &text[end..]))
        }
    }
    if object == "*.*" {
        return Some((None, None));
    }
    let (db, rest) = name(object)?;
    let rest = rest.strip_prefix('.')?;
    if rest == "*" {
        return Some((Some(db), None));
    }
    let (table, rest) = name(rest)?;
    rest.is_empty().then_some((Some(db), Some(table)))
}

fn check_name(what: &'static str, name: &str, max: usize) -> Result<(), Error> {
    let problem = if name.is_empty() {
        InputProblem::Empty
    } else if name.contains('\0') {
        InputProblem::Nul
    } else if let Some(c) = name.chars().find(|c| c.is_control()) {
        InputProblem::ControlCharacter(c)
    } else {
        let len = name.chars().count();
        if len <= max {
            return Ok(());
        }
        InputProblem::TooLong { len, max }
    };
    Err(Error::invalid(what, name, problem))
}

/// `'text'` with `\` and `'` escaped (`\\`, `''`): a string literal in MySQL's default SQL mode.
pub fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', "''"))
}

/// `` `name` `` with each backtick doubled: an identifier in any SQL mode.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(user: &str, grants: &[&str]) -> Vec<String> {
        grants
            .iter()
            .fold(CreateUser::new(user, Engine::Mysql).unwrap(), |c, g| {
                c.grant(g).unwrap()
            })
            .statements()
    }

    #[test]
    fn plain_user_with_grants() {
        assert_eq!(
            sql(
                "app",
                &[
                    "select on shop.*",
                    "SELECT,INSERT ON shop.orders",
                    "ALL  privileges on *.*"
                ]
            ),
            [
                "CREATE USER 'app'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;",
                "GRANT SELECT ON `shop`.* TO 'app'@'%';",
                "GRANT SELECT, INSERT ON `shop`.`orders` TO 'app'@'%';",
                "GRANT ALL PRIVILEGES ON *.* TO 'app'@'%';",
            ]
        );
    }

    #[test]
    fn hostile_names_are_escaped() {
        assert_eq!(
            sql("o'brien", &[])[0],
            "CREATE USER 'o''brien'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;"
        );
        assert_eq!(
            sql(r"a\'; DROP USER x; --", &[])[0],
            r"CREATE USER 'a\\''; DROP USER x; --'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;"
        );
        assert!(
            CreateUser::new(r"a\b", Engine::Mysql)
                .unwrap()
                .needs_backslash_escapes()
        );
        assert!(!CreateUser::new("a'b", Engine::Mysql).unwrap().needs_backslash_escapes());
        assert_eq!(
            sql(
                "u",
                &["SELECT ON `we``ird`.`t.x`", "SELECT ON my_db.*", "SELECT ON `a%b`.*"]
            )[1..],
            [
                "GRANT SELECT ON `we``ird`.`t.x` TO 'u'@'%';",
                r"GRANT SELECT ON `my\_db`.* TO 'u'@'%';",
                r"GRANT SELECT ON `a\%b`.* TO 'u'@'%';",
            ]
        );
        assert_eq!(sql("日本語", &[])[0].split(' ').nth(2), Some("'日本語'@'%'"));
    }

    #[test]
    fn unwritable_names_are_rejected() {
        for (user, problem) in [
            ("", InputProblem::Empty),
            ("a\0b", InputProblem::Nul),
            ("a\nb", InputProblem::ControlCharacter('\n')),
            (
                "abcdefghijklmnopqrstuvwxyz0123456",
                InputProblem::TooLong { len: 33, max: 32 },
            ),
            ("app ", InputProblem::TrailingSpace),
        ] {
            let err = CreateUser::new(user, Engine::Mysql).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput { what: "user name", value, problem: p } if value == user && *p == problem),
                "{user:?}: {err:?}"
            );
        }
        assert!(CreateUser::new("abcdefghijklmnopqrstuvwxyz012345", Engine::Mysql).is_ok());
        assert!(CreateUser::new("abcdefghijklmnopqrstuvwxyz0123456", Engine::Mariadb).is_ok());
        assert!(CreateUser::new(&"x".repeat(81), Engine::Mariadb).is_err());
        let user = || CreateUser::new("u", Engine::Mysql).unwrap();
        for grant in [
            "SELECT",
            "SELECT ON",
            "SELECT; DROP TABLE x ON a.*",
            "SELECT (c) ON a.t",
            "SELECT ON a b.*",
            "SELECT ON a.*.*",
            "SELECT ON `a.*",
            "SELECT ON a.t; DROP",
            "SELECT ON a\0.*",
            "ON a.*",
        ] {
            assert!(user().grant(grant).is_err(), "{grant:?} was accepted");
        }
        for (grant, what, problem) in [
            ("SELECT", "grant", InputProblem::Grant(GrantProblem::NoOn)),
            (
                "SELECT (c) ON a.t",
                "grant",
                InputProblem::Grant(GrantProblem::NotWords),
            ),
            ("SELECT ON a.*.*", "grant", InputProblem::Grant(GrantProblem::BadObject)),
            ("SELECT ON `a\0`.*", "database name", InputProblem::Nul),
        ] {
            let err = user().grant(grant).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput { what: w, problem: p, .. } if *w == what && *p == problem),
                "{grant:?}: {err:?}"
            );
        }
    }

    #[test]
    fn pam_variant_for_the_test_server() {
        let sql = CreateUser::new("u", Engine::Mariadb)
            .unwrap()
            .with_authentication(Authentication::MariadbPam {
                service: "svc'1".into(),
            })
            .unwrap();
        assert_eq!(
            sql.to_string(),
            "CREATE USER 'u'@'%' IDENTIFIED VIA pam USING 'svc''1' REQUIRE SSL;\n"
        );
    }
}
