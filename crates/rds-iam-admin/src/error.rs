//! [`Error`]: what went wrong in the control plane, as a kind with its facts and, where there is one, its cause.
//! Messages are in library terms (RDS API calls, settings of this crate's types); the `rds-iam` CLI adds its own
//! advice (flags, commands).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[cfg(doc)]
use crate::DbInfo;
use crate::{Apply, DbKind};

/// The underlying error of an [`Error`], shared (errors stay cheap to clone).
pub type ErrorSource = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// An error from `rds-iam-admin`. Each variant carries what was involved and, where there is one, the underlying
/// error as its [`std::error::Error::source`]. Messages are lowercase, say what failed and what to check, and never
/// hold a secret (the master password appears in none of them, nor in any source).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument cannot be used (a name, a grant, an account id, a region, a resource id).
    #[error("{}", invalid_input(what, value, problem))]
    InvalidInput {
        /// What the argument is: `user name`, `DB user name`, `PAM service`, `database name`, `table name`,
        /// `grant`, `account id`, `region`, `resource id`.
        what: &'static str,
        /// The argument as given.
        value: String,
        /// What is wrong with it.
        problem: InputProblem,
    },
    /// An endpoint hostname names another region than the one the client calls.
    #[error("{host} is in {host_region}, but the RDS client calls {client_region}")]
    RegionMismatch {
        /// The endpoint hostname.
        host: String,
        /// The region in the hostname.
        host_region: String,
        /// The region the [`crate::RdsAdmin`] was made for.
        client_region: String,
    },
    /// The RDS client could not be set up: its async runtime did not start.
    #[error("cannot set up the RDS client: its async runtime did not start")]
    Setup(#[source] Arc<std::io::Error>),
    /// An RDS API call failed.
    #[error("{}", api(call, code.as_deref(), message.as_deref()))]
    Api {
        /// The API operation, e.g. `DescribeDBInstances`.
        call: &'static str,
        /// AWS's error code when it sent one (`AccessDenied`, `InvalidParameterCombination`, …).
        code: Option<String>,
        /// AWS's error message when it sent one.
        message: Option<String>,
        /// The SDK's error when AWS sent no code (the request was not sent, timed out, or the answer was not
        /// understood); its sources say why.
        #[source]
        source: Option<ErrorSource>,
    },
    /// An RDS API call answered with something this crate cannot use.
    #[error("{call} returned {problem}")]
    UnexpectedAnswer {
        /// The API operation.
        call: &'static str,
        /// What is wrong with the answer.
        problem: AnswerProblem,
    },
    /// The DB (or the endpoint that leads to it) was not found. A struct payload, so the variant matches as
    /// `NotFound(_)` and as `NotFound { .. }`.
    #[error("{0}")]
    NotFound(NotFound),
    /// IAM authentication was asked to be turned on for an RDS Proxy, where it is set per auth entry.
    #[error(
        "{identifier} is an RDS Proxy: IAM authentication is set per proxy auth entry (IAMAuth in ModifyDBProxy's \
         Auth), and the databases behind it need no change"
    )]
    ProxyUnsupported {
        /// The proxy's name.
        identifier: String,
    },
    /// [`crate::Wait`]'s timeout passed before IAM authentication was in effect.
    #[error("{}", timeout(identifier, waited, status, *iam_auth_enabled, iam_auth_pending))]
    Timeout {
        /// Instance or cluster.
        kind: DbKind,
        /// The DB instance or cluster identifier.
        identifier: String,
        /// How long it waited (the wait's timeout).
        waited: Duration,
        /// When the change was asked to apply.
        apply: Apply,
        /// The DB's status at the last poll ([`DbInfo::status`]).
        status: String,
        /// Whether IAM auth was on at the last poll ([`DbInfo::iam_auth_enabled`]).
        iam_auth_enabled: bool,
        /// A pending change of the flag at the last poll ([`DbInfo::iam_auth_pending`]).
        iam_auth_pending: Option<bool>,
    },
    /// The CA bundle given to [`crate::MasterLogin`] does not exist; nothing was dialed.
    #[error("the CA bundle {} does not exist", path.display())]
    CaBundleMissing {
        /// The file.
        path: PathBuf,
    },
    /// The master login failed: the connection, its TLS, or the password login.
    #[error(
        "cannot log in to {host}:{port} as {user} over TLS (check the master user and password, the security group, \
         and that the CA bundle {} signs the server's certificate)",
        ca_bundle.display()
    )]
    Login {
        /// The host dialed (a tunnel's local end, through a tunnel).
        host: String,
        /// The port dialed.
        port: u16,
        /// The master user.
        user: String,
        /// The CA bundle the certificate was checked against.
        ca_bundle: PathBuf,
        /// What the MySQL driver said.
        #[source]
        source: ErrorSource,
    },
    /// Through a tunnel: the server's certificate cannot be checked as the endpoint's (the CA bundle or the
    /// endpoint's name cannot be used); nothing was dialed.
    #[error("cannot check the server behind {host}:{port} as {endpoint}")]
    TunnelSetup {
        /// The tunnel's local host.
        host: String,
        /// The tunnel's local port.
        port: u16,
        /// The DB endpoint the tunnel leads to.
        endpoint: String,
        /// Why (a [`rds_iam_mysql::ConnectError`]).
        #[source]
        source: ErrorSource,
    },
    /// Through a tunnel: the local proxy could not start.
    #[error("cannot start the local proxy in {}", dir.display())]
    LocalProxy {
        /// The folder its socket folder was to be made in.
        dir: PathBuf,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// Through a tunnel: the server is not the endpoint, or not one the CA bundle trusts; the local proxy refused
    /// before the password was sent.
    #[error(
        "the server behind {host}:{port} is not {endpoint}, or not one the CA bundle trusts; the password was not sent"
    )]
    TunnelRefused {
        /// The tunnel's local host.
        host: String,
        /// The tunnel's local port.
        port: u16,
        /// The DB endpoint the tunnel should lead to.
        endpoint: String,
        /// The local proxy's refusal.
        #[source]
        source: ErrorSource,
    },
    /// A statement run as the master user failed (the statements after it did not run).
    #[error("`{statement}` failed")]
    Statement {
        /// The statement.
        statement: String,
        /// What the server or the driver said.
        #[source]
        source: ErrorSource,
    },
}

/// A DB or endpoint that was looked for and not found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotFound {
    /// What was looked for.
    pub what: Lookup,
    /// Its identifier, name or (for [`Lookup::Address`]) hostname.
    pub name: String,
    /// The region looked in.
    pub region: String,
}

impl NotFound {
    /// `what` named `name` is not in `region`.
    pub fn new(what: Lookup, name: impl Into<String>, region: impl Into<String>) -> NotFound {
        NotFound {
            what,
            name: name.into(),
            region: region.into(),
        }
    }
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let NotFound { what, name, region } = self;
        match what {
            Lookup::Address => write!(f, "no DB instance or cluster in {region} has the endpoint {name}"),
            Lookup::ClusterEndpoint | Lookup::ProxyEndpoint => {
                write!(f, "{what} {name} was not found in {region}: check the hostname")
            }
            _ => write!(
                f,
                "{what} {name} was not found in {region}: check the name, the region and the account"
            ),
        }
    }
}

/// What a [`NotFound`] looked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup {
    /// A DB instance, by identifier.
    Instance,
    /// An Aurora DB cluster, by identifier.
    Cluster,
    /// An RDS Proxy, by name.
    Proxy,
    /// A custom cluster endpoint, by name (from its hostname).
    ClusterEndpoint,
    /// An RDS Proxy endpoint, by name (from its hostname).
    ProxyEndpoint,
    /// A DB instance or cluster whose endpoint address is a hostname that is not an RDS endpoint name.
    Address,
}

impl fmt::Display for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lookup::Instance => "DB instance",
            Lookup::Cluster => "DB cluster",
            Lookup::Proxy => "RDS Proxy",
            Lookup::ClusterEndpoint => "custom cluster endpoint",
            Lookup::ProxyEndpoint => "proxy endpoint",
            Lookup::Address => "DB with the endpoint",
        })
    }
}

/// What is wrong with an argument ([`Error::InvalidInput`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputProblem {
    /// It is empty.
    Empty,
    /// It has a NUL character, which MySQL cannot store.
    Nul,
    /// It has this control character.
    ControlCharacter(char),
    /// It is longer than the engine stores.
    TooLong {
        /// Its length, in characters.
        len: usize,
        /// The limit, in characters.
        max: usize,
    },
    /// It ends with a space, which MySQL ignores when it compares names.
    TrailingSpace,
    /// This character would be an IAM wildcard (`*`, `?`) or cannot be written in a policy's ARN.
    PolicyCharacter(char),
    /// Not a 12-digit AWS account id.
    NotAccountId,
    /// Not a region name such as `eu-west-1`.
    NotRegion,
    /// Not a DB resource id (`db-…`, `cluster-…`, `prx-…`).
    NotResourceId,
    /// It has characters a value of its kind never has.
    BadCharacters,
    /// A grant that cannot be read as `PRIVILEGES ON OBJECT`.
    Grant(GrantProblem),
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputProblem::Empty => f.write_str("is empty"),
            InputProblem::Nul => f.write_str("contains a NUL character, which MySQL cannot store: use another name"),
            InputProblem::ControlCharacter(c) => {
                write!(f, "contains the control character {c:?}: use a name without it")
            }
            InputProblem::TooLong { len, max } => {
                write!(f, "is {len} characters long; the limit is {max}: use a shorter name")
            }
            InputProblem::TrailingSpace => {
                f.write_str("ends with a space, which MySQL ignores when it compares names: remove it")
            }
            InputProblem::PolicyCharacter(c) => write!(
                f,
                "contains {c:?}, which IAM would read as a wildcard or cannot take in a policy: use a name without it"
            ),
            InputProblem::NotAccountId => f.write_str("is not 12 digits (the DB's account is in the DB's ARN)"),
            InputProblem::NotRegion => f.write_str("is not a region name such as eu-west-1"),
            InputProblem::NotResourceId => f.write_str(
                "is not a DB resource id: it starts with db- (instance), cluster- (Aurora cluster) or prx- (RDS Proxy)",
            ),
            InputProblem::BadCharacters => f.write_str("has characters it never has"),
            InputProblem::Grant(problem) => write!(
                f,
                "{problem}: write it as PRIVILEGES ON OBJECT, e.g. 'SELECT, INSERT ON shop.*'"
            ),
        }
    }
}

/// Why a grant cannot be read as `PRIVILEGES ON OBJECT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantProblem {
    /// There is no ` ON `.
    NoOn,
    /// A privilege is not made of words (a column list, punctuation).
    NotWords,
    /// The object is not `*.*`, `DATABASE.*` or `DATABASE.TABLE`.
    BadObject,
}

impl fmt::Display for GrantProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GrantProblem::NoOn => "has no ON",
            GrantProblem::NotWords => "has a privilege that is not made of words (column lists are not supported)",
            GrantProblem::BadObject => "does not name *.*, DATABASE.* or DATABASE.TABLE",
        })
    }
}

/// What is wrong with an RDS API answer ([`Error::UnexpectedAnswer`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnswerProblem {
    /// The answer has no DB in it.
    NoDb,
    /// This ARN is not an RDS ARN.
    NotAnRdsArn(String),
}

impl fmt::Display for AnswerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerProblem::NoDb => f.write_str("no DB"),
            AnswerProblem::NotAnRdsArn(arn) => write!(f, "the ARN {arn:?}, which is not an RDS ARN"),
        }
    }
}

impl Error {
    /// AWS's error code for an API error (`DBInstanceNotFound`, `AccessDenied`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// An [`Error::InvalidInput`].
    pub(crate) fn invalid(what: &'static str, value: &str, problem: InputProblem) -> Error {
        Error::InvalidInput {
            what,
            value: value.to_owned(),
            problem,
        }
    }
}

fn invalid_input(what: &str, value: &str, problem: &InputProblem) -> String {
    match problem {
        InputProblem::Empty => format!("the {what} is empty"),
        InputProblem::BadCharacters => format!("the {what} {value:?} has characters a {what} never has"),
        _ => format!("the {what} {value:?} {problem}"),
    }
}

fn api(call: &str, code: Option<&str>, message: Option<&str>) -> String {
    let mut out = format!("{call} failed");
    for part in [code, message].into_iter().flatten() {
        out.push_str(": ");
        out.push_str(part);
    }
    out
}

fn timeout(identifier: &str, waited: &Duration, status: &str, enabled: bool, pending: &Option<bool>) -> String {
    format!(
        "IAM authentication on {identifier} is not in effect after {}s (status {status}, IAM auth {}{})",
        waited.as_secs(),
        if enabled { "on" } else { "off" },
        if pending.is_some() { ", change pending" } else { "" },
    )
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// A text as an error source.
    #[derive(Debug)]
    struct Message(String);

    impl fmt::Display for Message {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for Message {}

    fn source(text: &str) -> ErrorSource {
        Arc::new(Message(text.to_owned()))
    }

    /// One error of every kind, with its expected message.
    fn every_kind() -> Vec<(Error, &'static str)> {
        let not_found = |what, name: &str| Error::NotFound(NotFound::new(what, name, "eu-west-1"));
        vec![
            (
                Error::invalid("user name", "app ", InputProblem::TrailingSpace),
                "the user name \"app \" ends with a space, which MySQL ignores when it compares names: remove it",
            ),
            (
                Error::invalid("user name", "", InputProblem::Empty),
                "the user name is empty",
            ),
            (
                Error::invalid("user name", &"a".repeat(33), InputProblem::TooLong { len: 33, max: 32 }),
                "the user name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is 33 characters long; the limit is 32: use a \
                 shorter name",
            ),
            (
                Error::invalid("grant", "SELECT", InputProblem::Grant(GrantProblem::NoOn)),
                "the grant \"SELECT\" has no ON: write it as PRIVILEGES ON OBJECT, e.g. 'SELECT, INSERT ON shop.*'",
            ),
            (
                Error::invalid("resource id", "db-A/B", InputProblem::BadCharacters),
                "the resource id \"db-A/B\" has characters a resource id never has",
            ),
            (
                Error::invalid("resource id", "mydb", InputProblem::NotResourceId),
                "the resource id \"mydb\" is not a DB resource id: it starts with db- (instance), cluster- (Aurora \
                 cluster) or prx- (RDS Proxy)",
            ),
            (
                Error::invalid("account id", "1234", InputProblem::NotAccountId),
                "the account id \"1234\" is not 12 digits (the DB's account is in the DB's ARN)",
            ),
            (
                Error::RegionMismatch {
                    host: "db.abc.us-east-1.rds.amazonaws.com".into(),
                    host_region: "us-east-1".into(),
                    client_region: "eu-west-1".into(),
                },
                "db.abc.us-east-1.rds.amazonaws.com is in us-east-1, but the RDS client calls eu-west-1",
            ),
            (
                Error::Setup(Arc::new(std::io::Error::other("no threads"))),
                "cannot set up the RDS client: its async runtime did not start",
            ),
            (
                Error::Api {
                    call: "DescribeDBInstances",
                    code: Some("AccessDenied".into()),
                    message: Some("not authorized".into()),
                    source: None,
                },
                "DescribeDBInstances failed: AccessDenied: not authorized",
            ),
            (
                Error::Api {
                    call: "DescribeDBInstances",
                    code: None,
                    message: None,
                    source: Some(source("dispatch failure")),
                },
                "DescribeDBInstances failed",
            ),
            (
                Error::UnexpectedAnswer {
                    call: "ModifyDBInstance",
                    problem: AnswerProblem::NoDb,
                },
                "ModifyDBInstance returned no DB",
            ),
            (
                not_found(Lookup::Instance, "nope"),
                "DB instance nope was not found in eu-west-1: check the name, the region and the account",
            ),
            (
                not_found(Lookup::ClusterEndpoint, "ro"),
                "custom cluster endpoint ro was not found in eu-west-1: check the hostname",
            ),
            (
                not_found(Lookup::Address, "db.example.com"),
                "no DB instance or cluster in eu-west-1 has the endpoint db.example.com",
            ),
            (
                Error::ProxyUnsupported {
                    identifier: "px".into(),
                },
                "px is an RDS Proxy: IAM authentication is set per proxy auth entry (IAMAuth in ModifyDBProxy's \
                 Auth), and the databases behind it need no change",
            ),
            (
                Error::Timeout {
                    kind: DbKind::Instance,
                    identifier: "shop".into(),
                    waited: Duration::from_secs(60),
                    apply: Apply::NextMaintenanceWindow,
                    status: "modifying".into(),
                    iam_auth_enabled: false,
                    iam_auth_pending: Some(true),
                },
                "IAM authentication on shop is not in effect after 60s (status modifying, IAM auth off, change \
                 pending)",
            ),
            (
                Error::CaBundleMissing {
                    path: "/nope.pem".into(),
                },
                "the CA bundle /nope.pem does not exist",
            ),
            (
                Error::Login {
                    host: "db".into(),
                    port: 3306,
                    user: "admin".into(),
                    ca_bundle: "/ca.pem".into(),
                    source: source("Access denied"),
                },
                "cannot log in to db:3306 as admin over TLS (check the master user and password, the security \
                 group, and that the CA bundle /ca.pem signs the server's certificate)",
            ),
            (
                Error::TunnelSetup {
                    host: "127.0.0.1".into(),
                    port: 3306,
                    endpoint: "db".into(),
                    source: source("not a server name"),
                },
                "cannot check the server behind 127.0.0.1:3306 as db",
            ),
            (
                Error::LocalProxy {
                    dir: "/tmp".into(),
                    source: Arc::new(std::io::Error::other("read-only")),
                },
                "cannot start the local proxy in /tmp",
            ),
            (
                Error::TunnelRefused {
                    host: "127.0.0.1".into(),
                    port: 3306,
                    endpoint: "db".into(),
                    source: source("rds-iam proxy: untrusted"),
                },
                "the server behind 127.0.0.1:3306 is not db, or not one the CA bundle trusts; the password was not \
                 sent",
            ),
            (
                Error::Statement {
                    statement: "SELECT 1".into(),
                    source: source("ERROR 1064"),
                },
                "`SELECT 1` failed",
            ),
        ]
    }

    #[test]
    fn messages_are_in_library_terms() {
        for (err, expected) in every_kind() {
            let text = err.to_string();
            assert_eq!(text, expected);
            // Library messages name library settings, not the CLI's flags or commands.
            assert!(!text.contains("--") && !text.contains("rds-iam "), "{text}");
        }
    }

    #[test]
    fn causes_are_sources() {
        for (err, _) in every_kind() {
            let expected = match &err {
                Error::Setup(_) => Some("no threads"),
                Error::Api { source: Some(_), .. } => Some("dispatch failure"),
                Error::Login { .. } => Some("Access denied"),
                Error::TunnelSetup { .. } => Some("not a server name"),
                Error::LocalProxy { .. } => Some("read-only"),
                Error::TunnelRefused { .. } => Some("rds-iam proxy: untrusted"),
                Error::Statement { .. } => Some("ERROR 1064"),
                _ => None,
            };
            assert_eq!(err.source().map(ToString::to_string).as_deref(), expected, "{err:?}");
            // Cheap to clone, sources shared.
            assert_eq!(err.clone().to_string(), err.to_string());
        }
    }

    #[test]
    fn code_and_not_found_stay_matchable() {
        let denied = Error::Api {
            call: "DescribeDBInstances",
            code: Some("AccessDenied".into()),
            message: None,
            source: None,
        };
        assert_eq!(denied.code(), Some("AccessDenied"));
        let missing = Error::NotFound(NotFound::new(Lookup::Instance, "x", "r"));
        assert!(matches!(missing, Error::NotFound(_)));
        assert!(matches!(missing, Error::NotFound { .. }));
        assert_eq!(missing.code(), None);
    }
}
