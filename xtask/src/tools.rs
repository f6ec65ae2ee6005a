//! Running commands, finding the workspace, and setting up the test tools (Python venv, Debian packages).

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
    #[allow(clippy::disallowed_methods)] // xtask reads its own environment
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The `cargo` that runs us.
pub(crate) fn cargo() -> Command {
    #[allow(clippy::disallowed_methods)] // xtask reads its own environment
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

/// A Python virtual environment under the target directory with botocore and the AWS CLI (v1) from PyPI —
/// the reference implementations the differential tests compare against — and moto's server (the STS/RDS fake).
/// Created once, then reused; the ready marker's name changes when the package list does.
pub(crate) fn python_venv() -> Result<PathBuf> {
    let venv = target_dir().join("py-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(".rds-iam-ready-2");
    if !ready.exists() {
        eprintln!(
            "xtask: creating {} with botocore, awscli and moto[server] from PyPI",
            venv.display()
        );
        let base = if on_path("python3") { "python3" } else { "python" };
        exec(Command::new(base).args(["-m", "venv", "--clear"]).arg(&venv))?;
        exec(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "awscli",
            "botocore",
            "moto[server]",
        ]))?;
        std::fs::write(&ready, "").map_err(|e| format!("writing {}: {e}", ready.display()))?;
    }
    Ok(venv)
}
