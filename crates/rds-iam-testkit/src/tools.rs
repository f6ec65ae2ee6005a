//! The programs some tests need that `cargo test` cannot build — MariaDB (and root), moto, botocore, the AWS CLI,
//! faketime, MySQL clients of other languages (PyMySQL, Connector/Python, mysql2), `mariadb-dump`, sysbench — and the
//! one decision about a test whose tool is missing: [`require_or_skip`].
//!
//! Tests come in two tiers. Plain `cargo test` runs every hermetic test and skips the ones whose tool is missing,
//! each with one line on standard error saying what was skipped and how to get it. With `CI` set (as CI services
//! do) or `RDS_IAM_REQUIRE_TOOLS=1` (which `cargo xtask ci` sets), a missing tool fails the test with the same
//! advice: in CI nothing passes silently without its tool.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The variable `cargo xtask ci` sets to make every tool required.
pub const REQUIRE_TOOLS_VAR: &str = "RDS_IAM_REQUIRE_TOOLS";

/// The variable naming the `node_modules` directory with mysql2 ([`Tool::NodeMysql2`], [`node_modules`]); `cargo
/// xtask ci` sets it, and `tests/node/proxy_client.js` requires mysql2 from it.
pub const NODE_MODULES_VAR: &str = "RDS_IAM_NODE_MODULES";

/// A program some tests need that `cargo test` cannot build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tool {
    /// An RDS-like MariaDB ([`MariaDb`](crate::MariaDb)): `mariadbd`, `mariadb-install-db` and the `mariadb`
    /// client, run as root (the test server registers a PAM service in `/etc/pam.d`). The path is `mariadbd`'s.
    MariaDb,
    /// The `mariadb` command-line client.
    MariaDbClient,
    /// moto's server, `moto_server` (PyPI `moto[server]`): `RDS_IAM_MOTO_SERVER`, else the venv `cargo xtask ci`
    /// creates under the target directory.
    Moto,
    /// A Python that can import botocore: `RDS_IAM_PYTHON`, else the venv's `python`.
    Botocore,
    /// The AWS CLI (v1, from PyPI): `RDS_IAM_AWS_CLI`, else the venv's `aws`.
    AwsCli,
    /// `faketime` (libfaketime).
    Faketime,
    /// A Python that can import `mysql.connector` (PyPI `mysql-connector-python`, run with `use_pure=True` by
    /// `tests/py/proxy_client.py --driver connector`): the same Python as [`Tool::Botocore`].
    MysqlConnectorPython,
    /// `node`, with mysql2 in the `node_modules` [`node_modules`] finds (`RDS_IAM_NODE_MODULES`, else the one
    /// `cargo xtask ci` installs under the target directory). The path is `node`'s; run `tests/node/proxy_client.js`
    /// with [`NODE_MODULES_VAR`] set to [`node_modules`].
    NodeMysql2,
    /// `sysbench` (Debian's).
    Sysbench,
    /// `mariadb-dump` (Debian's `mariadb-client`).
    MariaDbDump,
}

impl Tool {
    const ALL: [Tool; 10] = [
        Tool::MariaDb,
        Tool::MariaDbClient,
        Tool::Moto,
        Tool::Botocore,
        Tool::AwsCli,
        Tool::Faketime,
        Tool::MysqlConnectorPython,
        Tool::NodeMysql2,
        Tool::Sysbench,
        Tool::MariaDbDump,
    ];

    /// What the tool is, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Tool::MariaDb => "MariaDB and root",
            Tool::MariaDbClient => "the mariadb client",
            Tool::Moto => "moto_server",
            Tool::Botocore => "botocore",
            Tool::AwsCli => "the AWS CLI",
            Tool::Faketime => "faketime",
            Tool::MysqlConnectorPython => "mysql-connector-python",
            Tool::NodeMysql2 => "node and mysql2",
            Tool::Sysbench => "sysbench",
            Tool::MariaDbDump => "mariadb-dump",
        }
    }

    /// How to get it.
    pub fn install_hint(self) -> &'static str {
        match self {
            Tool::MariaDb => "apt-get install -y mariadb-server, and run the tests as root",
            Tool::MariaDbClient => "apt-get install -y mariadb-client",
            Tool::Moto | Tool::Botocore | Tool::AwsCli | Tool::MysqlConnectorPython => {
                "`cargo xtask ci` creates $CARGO_TARGET_DIR/py-venv from xtask/requirements.txt"
            }
            Tool::Faketime => "apt-get install -y faketime",
            Tool::NodeMysql2 => {
                "install Node.js and npm; `cargo xtask ci` installs $CARGO_TARGET_DIR/node-clients from \
                 tests/node/package-lock.json"
            }
            Tool::Sysbench => "apt-get install -y sysbench",
            Tool::MariaDbDump => "apt-get install -y mariadb-client",
        }
    }

    /// Where the tool is, or what is missing. Looked up once per process.
    pub fn locate(self) -> Result<PathBuf, String> {
        static FOUND: [OnceLock<Result<PathBuf, String>>; Tool::ALL.len()] =
            [const { OnceLock::new() }; Tool::ALL.len()];
        // The slot is the variant's position (`ALL` lists them in order): a tool left out of `ALL` has no slot and
        // panics here rather than sharing another's.
        FOUND[self as usize].get_or_init(|| self.look()).clone()
    }

    fn look(self) -> Result<PathBuf, String> {
        match self {
            Tool::MariaDb => {
                let server = find_program(&["mariadbd", "mysqld"])
                    .ok_or("MariaDB's `mariadbd` is not installed (apt-get install -y mariadb-server)")?;
                find_program(&["mariadb-install-db", "mysql_install_db"])
                    .ok_or("MariaDB's `mariadb-install-db` is not installed (apt-get install -y mariadb-server)")?;
                find_program(&["mariadb", "mysql"])
                    .ok_or("MariaDB's `mariadb` client is not installed (apt-get install -y mariadb-server)")?;
                if !is_root() {
                    return Err("the MariaDB test server needs root: it registers a PAM service in /etc/pam.d".into());
                }
                Ok(server)
            }
            Tool::MariaDbClient => find_program(&["mariadb"])
                .ok_or_else(|| "the `mariadb` client is not installed (apt-get install -y mariadb-client)".into()),
            Tool::Moto => venv_program("RDS_IAM_MOTO_SERVER", "moto_server"),
            Tool::AwsCli => venv_program("RDS_IAM_AWS_CLI", "aws"),
            Tool::Botocore => venv_python_with("botocore"),
            Tool::MysqlConnectorPython => venv_python_with("mysql.connector"),
            Tool::NodeMysql2 => {
                let node = find_program(&["node", "nodejs"])
                    .ok_or("`node` is not installed (Node.js; `cargo xtask ci` needs it with npm)")?;
                let modules = node_modules()?;
                let requires = Command::new(&node)
                    .args(["-e", "require(process.argv[1])"])
                    .arg(modules.join("mysql2"))
                    .output()
                    .is_ok_and(|out| out.status.success());
                if requires {
                    Ok(node)
                } else {
                    Err(format!(
                        "{} cannot require mysql2 from {} (point {NODE_MODULES_VAR} at a node_modules with it)",
                        node.display(),
                        modules.display()
                    ))
                }
            }
            Tool::Sysbench => find_program(&["sysbench"])
                .ok_or_else(|| "`sysbench` is not installed (apt-get install -y sysbench)".into()),
            Tool::MariaDbDump => find_program(&["mariadb-dump"])
                .ok_or_else(|| "`mariadb-dump` is not installed (apt-get install -y mariadb-client)".into()),
            Tool::Faketime => {
                let runs = Command::new("faketime")
                    .arg("--version")
                    .output()
                    .is_ok_and(|out| out.status.success());
                if runs {
                    Ok(PathBuf::from("faketime"))
                } else {
                    Err("`faketime` is not installed (apt-get install -y faketime)".into())
                }
            }
        }
    }
}

/// Whether a missing tool fails a test rather than skipping it: `CI` or [`REQUIRE_TOOLS_VAR`] is set (to anything
/// but empty, `0` or `false`).
pub fn tools_required() -> bool {
    #[allow(
        clippy::disallowed_methods,
        reason = "test helper: the tier is the developer's or CI's choice, read from the environment"
    )]
    required_by(|name| std::env::var_os(name))
}

/// [`tools_required`] with the environment as a function, so both settings can be tested.
pub fn required_by(var: impl Fn(&str) -> Option<OsString>) -> bool {
    ["CI", REQUIRE_TOOLS_VAR]
        .iter()
        .filter_map(|name| var(name))
        .any(|value| {
            !matches!(
                value.to_str().map(str::trim),
                Some("" | "0" | "false" | "FALSE" | "False")
            )
        })
}

/// What a test does about its tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision<const N: usize> {
    /// Every tool is there: run, with their paths.
    Run([PathBuf; N]),
    /// A tool is missing and tools are not required: print this line and pass.
    Skip(String),
    /// A tool is missing and tools are required: fail with this message.
    Fail(String),
}

/// The decision for `test`, given where each tool was found (or why not) and whether tools are required.
pub fn decide<const N: usize>(test: &str, found: [(Tool, Result<PathBuf, String>); N], required: bool) -> Decision<N> {
    let missing: Vec<(Tool, String)> = found
        .iter()
        .filter_map(|(tool, result)| result.as_ref().err().map(|why| (*tool, why.clone())))
        .collect();
    if missing.is_empty() {
        return Decision::Run(found.map(|(_, result)| result.unwrap_or_default()));
    }
    if required {
        let why: Vec<String> = missing
            .iter()
            .map(|(tool, why)| format!("{why}; {}", tool.install_hint()))
            .collect();
        return Decision::Fail(format!(
            "{test} needs {} (required: CI or {REQUIRE_TOOLS_VAR} is set): {}",
            names(&missing),
            why.join("; ")
        ));
    }
    // Tools with the same advice share it: "moto_server and the AWS CLI (`cargo xtask ci` creates …)".
    let mut hints: Vec<(Vec<&str>, &str)> = Vec::new();
    for (tool, _) in &missing {
        match hints.iter_mut().find(|(_, hint)| *hint == tool.install_hint()) {
            Some((names, _)) => names.push(tool.name()),
            None => hints.push((vec![tool.name()], tool.install_hint())),
        }
    }
    let hints: Vec<String> = hints
        .iter()
        .map(|(names, hint)| format!("{} ({hint})", names.join(" and ")))
        .collect();
    Decision::Skip(format!(
        "skipped {test}: needs {} — set CI=1 or run `cargo xtask ci` to require it",
        hints.join(" and ")
    ))
}

fn names(missing: &[(Tool, String)]) -> String {
    missing
        .iter()
        .map(|(tool, _)| tool.name())
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The one gate for tests that need programs `cargo test` cannot build. `Some(paths)` (in the order asked) when all
/// are there; otherwise, with tools not required ([`tools_required`]), one line on standard error saying what was
/// skipped and how to get it, and `None` — the test returns and passes; with tools required, a panic that says
/// what is missing and how to get it.
///
/// ```
/// use rds_iam_testkit::{Tool, require_or_skip};
///
/// # fn a_test() {
/// let Some([python]) = require_or_skip([Tool::Botocore]) else { return };
/// // … run `python` with botocore …
/// # let _ = python;
/// # }
/// ```
#[track_caller]
pub fn require_or_skip<const N: usize>(tools: [Tool; N]) -> Option<[PathBuf; N]> {
    let current = std::thread::current();
    let test = current.name().filter(|name| *name != "main").unwrap_or("a test");
    match decide(test, tools.map(|tool| (tool, tool.locate())), tools_required()) {
        Decision::Run(paths) => Some(paths),
        Decision::Skip(line) => {
            // Straight to the file descriptor: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(std::io::stderr(), "{line}");
            None
        }
        Decision::Fail(message) => panic!("{message}"),
    }
}

/// The first `names` found in `PATH` or the usual system directories.
pub(crate) fn find_program(names: &[&str]) -> Option<PathBuf> {
    #[allow(
        clippy::disallowed_methods,
        reason = "test helper: where the programs are comes from the environment"
    )]
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .collect();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The `node_modules` directory with mysql2, to pass to `tests/node/proxy_client.js` as [`NODE_MODULES_VAR`]:
/// that variable if set, else the one `cargo xtask ci` installs: `$CARGO_TARGET_DIR/node-clients/node_modules`, then
/// `<workspace>/target/node-clients/node_modules`. The error says where it looked.
pub fn node_modules() -> Result<PathBuf, String> {
    installed(NODE_MODULES_VAR, "node-clients/node_modules", "mysql2", |dir| {
        dir.join("mysql2/package.json").is_file()
    })
}

/// `var` if set, else `name` in the venv `cargo xtask ci` creates: `$CARGO_TARGET_DIR/py-venv/bin`, then
/// `<workspace>/target/py-venv/bin`.
fn venv_program(var: &str, name: &str) -> Result<PathBuf, String> {
    installed(var, &format!("py-venv/bin/{name}"), name, |path| path.is_file())
}

/// The venv's Python ([`venv_program`] `RDS_IAM_PYTHON`), if it can import `module`.
fn venv_python_with(module: &str) -> Result<PathBuf, String> {
    let python = venv_program("RDS_IAM_PYTHON", "python")?;
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|out| out.status.success());
    if imports {
        Ok(python)
    } else {
        Err(format!(
            "{module} is not importable with {} (point RDS_IAM_PYTHON at a Python with it)",
            python.display()
        ))
    }
}

/// `var` if set, else `relative` under the target directory `cargo xtask ci` installs into: `$CARGO_TARGET_DIR`,
/// then `<workspace>/target`; the first candidate that `is_there`. `what` names it in the error.
fn installed(var: &str, relative: &str, what: &str, is_there: fn(&Path) -> bool) -> Result<PathBuf, String> {
    #[allow(
        clippy::disallowed_methods,
        reason = "test helper: where the tool is comes from the developer's environment"
    )]
    let (explicit, target) = (std::env::var_os(var), std::env::var_os("CARGO_TARGET_DIR"));
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let under = |dir: PathBuf| dir.join(relative);
    let candidates: Vec<PathBuf> = match explicit {
        Some(path) => vec![PathBuf::from(path)],
        None => target
            .map(PathBuf::from)
            .map(under)
            .into_iter()
            .chain([under(workspace)])
            .collect(),
    };
    candidates.iter().find(|path| is_there(path)).cloned().ok_or_else(|| {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        format!("{what} is missing (looked at {}; or set {var})", looked.join(", "))
    })
}

/// Whether this process runs as root (`id -u` is 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
    }

    #[test]
    fn ci_or_the_xtask_variable_makes_tools_required() {
        assert!(!required_by(env(&[])), "a developer's plain `cargo test`");
        assert!(required_by(env(&[("CI", "true")])), "CI services set CI=true");
        assert!(required_by(env(&[("CI", "1")])));
        assert!(required_by(env(&[(REQUIRE_TOOLS_VAR, "1")])), "`cargo xtask ci`");
        for off in ["", "0", "false"] {
            assert!(!required_by(env(&[("CI", off)])), "CI={off:?}");
            assert!(
                !required_by(env(&[(REQUIRE_TOOLS_VAR, off)])),
                "{REQUIRE_TOOLS_VAR}={off:?}"
            );
        }
    }

    #[test]
    fn a_missing_tool_skips_locally_and_fails_when_required() {
        let found = || {
            [
                (Tool::Moto, Ok(PathBuf::from("/venv/bin/moto_server"))),
                (Tool::MariaDb, Err("MariaDB's `mariadbd` is not installed".to_owned())),
            ]
        };
        let Decision::Skip(line) = decide("it::a_test", found(), false) else {
            panic!("not required: skipped")
        };
        assert!(
            line.starts_with("skipped it::a_test: needs MariaDB and root (apt-get install"),
            "{line}"
        );
        assert!(
            line.ends_with("set CI=1 or run `cargo xtask ci` to require it"),
            "{line}"
        );
        assert!(!line.contains("moto"), "only what is missing: {line}");
        assert!(!line.contains('\n'), "one line: {line}");

        let python_tools = [
            (Tool::Moto, Err("moto_server is missing".to_owned())),
            (Tool::AwsCli, Err("aws is missing".to_owned())),
            (
                Tool::MysqlConnectorPython,
                Err("mysql.connector is not importable".to_owned()),
            ),
        ];
        let Decision::Skip(line) = decide("t", python_tools, false) else {
            panic!("not required: skipped")
        };
        assert_eq!(
            line.matches("xtask/requirements.txt").count(),
            1,
            "the shared advice once: {line}"
        );
        assert!(
            line.contains("needs moto_server and the AWS CLI and mysql-connector-python (`cargo xtask ci` creates"),
            "{line}"
        );

        let other_clients = [
            (Tool::NodeMysql2, Err("mysql2 is missing".to_owned())),
            (Tool::Sysbench, Err("`sysbench` is not installed".to_owned())),
            (Tool::MariaDbDump, Err("`mariadb-dump` is not installed".to_owned())),
        ];
        let Decision::Skip(line) = decide("t", other_clients.clone(), false) else {
            panic!("not required: skipped")
        };
        assert!(
            line.contains("needs node and mysql2 (install Node.js and npm; `cargo xtask ci` installs"),
            "{line}"
        );
        assert!(line.contains("and sysbench (apt-get install -y sysbench)"), "{line}");
        assert!(
            line.contains("and mariadb-dump (apt-get install -y mariadb-client)"),
            "{line}"
        );
        let Decision::Fail(message) = decide("t", other_clients, true) else {
            panic!("required: a failure")
        };
        assert!(
            message.contains("mysql2 is missing; install Node.js and npm; `cargo xtask ci` installs"),
            "{message}"
        );
        assert!(message.contains("tests/node/package-lock.json"), "{message}");

        let Decision::Fail(message) = decide("it::a_test", found(), true) else {
            panic!("required: a failure")
        };
        assert!(message.contains("it::a_test needs MariaDB and root"), "{message}");
        assert!(message.contains("`mariadbd` is not installed"), "{message}");
        assert!(message.contains("apt-get install -y mariadb-server"), "{message}");
    }

    #[test]
    fn present_tools_run_in_both_tiers() {
        for required in [false, true] {
            let found = [
                (Tool::Botocore, Ok(PathBuf::from("/venv/bin/python"))),
                (Tool::Faketime, Ok(PathBuf::from("faketime"))),
                (Tool::NodeMysql2, Ok(PathBuf::from("/usr/bin/node"))),
            ];
            assert_eq!(
                decide("t", found, required),
                Decision::Run([
                    PathBuf::from("/venv/bin/python"),
                    PathBuf::from("faketime"),
                    PathBuf::from("/usr/bin/node")
                ])
            );
        }
    }

    #[test]
    fn every_tool_has_its_own_slot_name_and_advice() {
        // `locate` caches each tool in the slot of its variant's position: `ALL` lists the variants in order.
        for (index, tool) in Tool::ALL.iter().enumerate() {
            assert_eq!(*tool as usize, index, "{tool:?} is not at its place in Tool::ALL");
            assert_eq!(
                Tool::ALL.iter().filter(|other| other.name() == tool.name()).count(),
                1,
                "{tool:?}: its name is another's"
            );
            assert!(!tool.install_hint().is_empty(), "{tool:?}: no advice");
        }
    }
}
