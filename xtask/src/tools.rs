//! Running commands, finding the workspace, and setting up the test tools (Python venv, Node.js modules, Debian
//! packages).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

/// The workspace root (the parent of `xtask/`).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `<root>/target`).
pub(crate) fn target_dir() -> PathBuf {
    #[allow(clippy::disallowed_methods, reason = "xtask reads its own environment")]
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The `cargo` that runs us.
pub(crate) fn cargo() -> Command {
    #[allow(clippy::disallowed_methods, reason = "xtask reads its own environment")]
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd`, echoing it; fails if it fails.
pub(crate) fn exec(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}").replace('"', "");
    eprintln!("$ {shown}");
    let status = cmd.status().map_err(|e| format!("could not start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// Runs `cmd` and returns its standard output; fails if it fails.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    let shown = format!("{cmd:?}").replace('"', "");
    let out = cmd.output().map_err(|e| format!("could not start {shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program` is on PATH.
pub(crate) fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Makes sure a Debian package's `program` is installed: installs it when running as root with apt-get,
/// otherwise fails with the command to run.
pub(crate) fn ensure_debian_package(program: &str, package: &str) -> Result {
    if on_path(program) {
        return Ok(());
    }
    let is_root = output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
    if !(is_root && on_path("apt-get")) {
        return Err(format!(
            "`{program}` is missing: install it with `sudo apt-get install -y {package}`"
        ));
    }
    eprintln!("xtask: `{program}` is missing; installing the Debian package {package}");
    let install = || {
        exec(
            Command::new("apt-get")
                .args(["install", "-y", "-q", package])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    install().or_else(|_| exec(Command::new("apt-get").args(["update", "-q"])).and_then(|()| install()))
}

/// The pinned reference tools (`xtask/requirements.txt`, every package with its hashes).
const REQUIREMENTS: &str = "xtask/requirements.txt";

/// A Python virtual environment under the target directory with the packages of [`REQUIREMENTS`]: botocore and the
/// AWS CLI (v1) — the reference implementations the differential tests compare against — and moto's server (the
/// STS/RDS fake). Set up once, then reused; the ready marker's name carries a hash of the requirements file, so
/// editing the file brings the venv to it. An existing venv is updated in place (pip changes what differs) rather
/// than recreated, so programs using it meanwhile keep working; a new one checks every package's hash.
pub(crate) fn python_venv() -> Result<PathBuf> {
    let venv = target_dir().join("py-venv");
    let python = venv.join("bin/python");
    let requirements = root().join(REQUIREMENTS);
    let pins = std::fs::read(&requirements).map_err(|e| format!("reading {}: {e}", requirements.display()))?;
    let ready = venv.join(format!(".rds-iam-ready-{:016x}", fnv1a(&pins)));
    if !ready.exists() {
        eprintln!(
            "xtask: installing {REQUIREMENTS} (botocore, awscli, moto[server]) into {}",
            venv.display()
        );
        if !python.exists() {
            let base = if on_path("python3") { "python3" } else { "python" };
            exec(Command::new(base).args(["-m", "venv", "--clear"]).arg(&venv))?;
        }
        exec(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--require-hashes",
                    "-r",
                ])
                .arg(&requirements),
        )?;
        std::fs::write(&ready, "").map_err(|e| format!("writing {}: {e}", ready.display()))?;
    }
    Ok(venv)
}

/// The pinned Node.js client of the proxy's tests: `package.json` and `package-lock.json` (mysql2, every package with
/// its integrity hash).
const NODE_CLIENTS: &str = "tests/node";

/// The `node_modules` of [`NODE_CLIENTS`], installed with `npm ci` into `node-clients` under the target directory
/// (the tests find it through `RDS_IAM_NODE_MODULES`). Set up once, then reused; the ready marker's name carries a
/// hash of the lock file, so editing it reinstalls (`npm ci` starts from an empty `node_modules`). Needs `node` and
/// `npm`, which are not installed for you (unlike [`ensure_debian_package`]'s): without them, this fails saying so.
pub(crate) fn node_clients() -> Result<PathBuf> {
    let dir = target_dir().join("node-clients");
    let source = root().join(NODE_CLIENTS);
    let lock = source.join("package-lock.json");
    let pins = std::fs::read(&lock).map_err(|e| format!("reading {}: {e}", lock.display()))?;
    let ready = dir.join(format!(".rds-iam-ready-{:016x}", fnv1a(&pins)));
    if !ready.exists() {
        if let Some(missing) = ["node", "npm"].into_iter().find(|program| !on_path(program)) {
            return Err(format!(
                "`{missing}` is missing: the proxy's tests run a Node.js MySQL client (mysql2, {NODE_CLIENTS}); \
                 install Node.js and npm (tested with Node 20), e.g. `sudo apt-get install -y nodejs npm`"
            ));
        }
        eprintln!(
            "xtask: installing {NODE_CLIENTS}/package-lock.json (mysql2) into {}",
            dir.display()
        );
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        // A marker of an earlier lock file would claim what `npm ci` is about to replace.
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(".rds-iam-ready-") {
                std::fs::remove_file(entry.path()).map_err(|e| format!("removing {}: {e}", entry.path().display()))?;
            }
        }
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source.join(file), dir.join(file))
                .map_err(|e| format!("copying {NODE_CLIENTS}/{file} to {}: {e}", dir.display()))?;
        }
        exec(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir),
        )?;
        std::fs::write(&ready, "").map_err(|e| format!("writing {}: {e}", ready.display()))?;
    }
    Ok(dir.join("node_modules"))
}

/// 64-bit FNV-1a: a hash that stays the same across Rust versions (unlike `DefaultHasher`), for marker names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_venv_marker_follows_the_requirements_file() {
        // FNV-1a's published test vectors: the marker must not change with the Rust version.
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(super::fnv1a(b"moto==5.2.6"), super::fnv1a(b"moto==5.2.7"));
    }
}
