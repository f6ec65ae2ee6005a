//! The programs some tests need that `cargo test` cannot build — MariaDB (and root), moto, botocore, the AWS CLI,
//! faketime — and the one decision about a test whose tool is missing: [`require_or_skip`].
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
}

impl Tool {
    const ALL: [Tool; 6] = [
        Tool::MariaDb,
        Tool::MariaDbClient,
        Tool::Moto,
        Tool::Botocore,
        Tool::AwsCli,
        Tool::Faketime,
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
        }
    }

    /// How to get it.
    pub fn install_hint(self) -> &'static str {
        match self {
            Tool::MariaDb => "apt-get install -y mariadb-server, and run the tests as root",
            Tool::MariaDbClient => "apt-get install -y mariadb-client",
            Tool::Moto | Tool::Botocore | Tool::AwsCli => {
                "`cargo xtask ci` creates $CARGO_TARGET_DIR/py-venv from xtask/requirements.txt"
            }
            Tool::Faketime => "apt-get install -y faketime",
        }
    }

    /// Where the tool is, or what is missing. Looked up once per process.
    pub fn locate(self) -> Result<PathBuf, String> {
        static FOUND: [OnceLock<Result<PathBuf, String>>; Tool::ALL.len()] = [const { OnceLock::new() }; 6];
        let index = Tool::ALL.iter().position(|tool| *tool == self).unwrap_or_default();
        FOUND[index].get_or_init(|| self.look()).clone()
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
            Tool::Botocore => {
                let python = venv_program("RDS_IAM_PYTHON", "python")?;
                let imports = Command::new(&python)
                    .args(["-c", "import botocore"])
                    .output()
                    .is_ok_and(|out| out.status.success());
                if imports {
                    Ok(python)
                } else {
                    Err(format!(
                        "botocore is not importable with {} (point RDS_IAM_PYTHON at a Python with it)",
                        python.display()
                    ))
                }
            }
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

/// `var` if set, else `name` in the venv `cargo xtask ci` creates: `$CARGO_TARGET_DIR/py-venv/bin`, then
/// `<workspace>/target/py-venv/bin`.
fn venv_program(var: &str, name: &str) -> Result<PathBuf, String> {
    #[allow(
        clippy::disallowed_methods,
        reason = "test helper: where the tool is comes from the developer's environment"
    )]
    let (explicit, target) = (std::env::var_os(var), std::env::var_os("CARGO_TARGET_DIR"));
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let in_venv = |dir: PathBuf| dir.join("py-venv/bin").join(name);
    let candidates: Vec<PathBuf> = match explicit {
        Some(path) => vec![PathBuf::from(path)],
        None => target
            .map(PathBuf::from)
            .map(in_venv)
            .into_iter()
            .chain([in_venv(workspace)])
            .collect(),
    };
    candidates.iter().find(|path| path.is_file()).cloned().ok_or_else(|| {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        format!("{name} is missing (looked at {}; or set {var})", looked.join(", "))
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
            line.contains("needs moto_server and the AWS CLI (`cargo xtask ci` creates"),
            "{line}"
        );

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
            ];
            assert_eq!(
                decide("t", found, required),
                Decision::Run([PathBuf::from("/venv/bin/python"), PathBuf::from("faketime")])
            );
        }
    }
}
