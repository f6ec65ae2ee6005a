//! `cargo xtask package`: `cargo package` for the crates meant for crates.io, verified — each `.crate` unpacked and
//! built on its own against the others' `.crate`s (cargo ≥ 1.90 packs interdependent workspace crates into a
//! temporary local registry). `cargo xtask ci` runs the unverified form and a cheaper check instead (see [`run`]).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::Result;
use crate::tools::{cargo, exec, output, root, target_dir};

/// The crates with `publish = true`, dependencies first. testkit, the e2e tests and xtask are not published; their
/// path dependencies (dev-dependencies on testkit) carry no version, so cargo leaves them out of the packages.
pub(crate) const PUBLISHED: [&str; 7] = [
    "rds-iam-token",
    "rds-iam-credentials",
    "rds-iam-ca",
    "rds-iam-mysql",
    "rds-iam-admin",
    "rds-iam-proxy",
    "rds-iam-cli",
];

/// Whether `cargo package` builds every package it made.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Build each package on its own, as crates.io users will: minutes from a cold target directory.
    Build,
    /// Pack only (manifests, metadata, file lists, versions of our path dependencies), then check that every
    /// package holds the files its code includes — what a verification build would catch for this workspace,
    /// in seconds. `cargo xtask ci` uses this: on the 2-core CI machine the verification build took 5–9 minutes
    /// from a cold target directory, more than the rest of `ci` (every dependency again, with each crate's own
    /// feature set and cargo's default `dev` profile), and about 40 s warm.
    PackOnly,
}

/// Packages the published crates (into `$CARGO_TARGET_DIR/package`).
pub(crate) fn run(verify: Verify) -> Result {
    let mut cmd = cargo();
    cmd.args(["package", "--workspace", "--locked", "--allow-dirty"]);
    for unpublished in ["rds-iam-testkit", "rds-iam-e2e", "xtask"] {
        cmd.args(["--exclude", unpublished]);
    }
    if verify == Verify::Build {
        // A target directory of its own, cleared of our crates' builds (see `remove_stale_builds`).
        let verify_dir = target_dir().join("package-verify");
        remove_stale_builds(&verify_dir)?;
        remove_unpacked_packages()?;
        cmd.env("CARGO_TARGET_DIR", &verify_dir);
    }
    if verify == Verify::PackOnly {
        // Offline: clippy has fetched every dependency by now, and packing alone needs no index update.
        cmd.args(["--no-verify", "--offline"]);
    }
    exec(&mut cmd)?;
    if verify == Verify::PackOnly {
        packages_hold_what_the_code_includes()?;
    }
    Ok(())
}

/// cargo treats a registry crate as immutable: the dependencies a package is verified with (our other crates, from
/// the temporary local registry) are rebuilt only when their version changes, so a second run would link the first
/// run's build of, say, rds-iam-token. The verification therefore has a target directory of its own, where every
/// build of our crates (and the temporary registry) is removed first; the dependencies' builds stay.
fn remove_stale_builds(verify_dir: &Path) -> Result {
    let remove = |path: &Path| -> Result {
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        removed.map_err(|e| format!("removing {}: {e}", path.display()))
    };
    let packages = verify_dir.join("package");
    if packages.exists() {
        remove(&packages)?;
    }
    for (dir, prefixes) in [
        (".fingerprint", &["rds-iam-"][..]),
        ("deps", &["librds_iam_", "rds_iam_", "rds_iam-"][..]),
    ] {
        let Ok(entries) = std::fs::read_dir(verify_dir.join("debug").join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if prefixes.iter().any(|prefix| name.starts_with(prefix)) {
                remove(&entry.path())?;
            }
        }
    }
    Ok(())
}

/// cargo verifies each package unpacked from its temporary local registry into
/// `$CARGO_HOME/registry/src/-<hash>/<name>-<version>`, and, as for any registry, reuses that folder when it exists:
/// a later run with changed sources but the same version would build the earlier run's sources. So our crates'
/// folders under local registries (named `-<hash>`: no host) go first; crates.io's are never touched.
fn remove_unpacked_packages() -> Result {
    #[allow(clippy::disallowed_methods, reason = "xtask reads its own environment")]
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|home| home.join(".cargo")));
    let Some(sources) = cargo_home.map(|home| home.join("registry/src")) else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(&sources) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for krate in PUBLISHED {
            let unpacked = registry.path().join(format!("{krate}-{}", env!("CARGO_PKG_VERSION")));
            if unpacked.is_dir() {
                std::fs::remove_dir_all(&unpacked).map_err(|e| format!("removing {}: {e}", unpacked.display()))?;
            }
        }
    }
    Ok(())
}

/// Every `include_str!` / `include_bytes!` of a published crate names a file inside its package (a crate's README
/// included as its documentation, test data, …), so the crate builds from its `.crate`.
fn packages_hold_what_the_code_includes() -> Result {
    let mut problems = Vec::new();
    for krate in PUBLISHED {
        let listed = output(cargo().args([
            "package",
            "--list",
            "--locked",
            "--offline",
            "--allow-dirty",
            "-p",
            krate,
        ]))?;
        let files: BTreeSet<PathBuf> = listed.lines().map(PathBuf::from).collect();
        let dir = root().join("crates").join(krate);
        for source in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
            let text =
                std::fs::read_to_string(dir.join(source)).map_err(|e| format!("{krate}/{}: {e}", source.display()))?;
            for included in included_paths(&text) {
                let folder = source.parent().unwrap_or(Path::new(""));
                match normalize(&folder.join(included)) {
                    Some(path) if files.contains(&path) => {}
                    _ => problems.push(format!(
                        "{krate}/{}: includes {included:?}, which is not in the package (`cargo package --list -p {krate}`)",
                        source.display()
                    )),
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// The literal paths of `include_str!("…")` and `include_bytes!("…")` in `text`.
fn included_paths(text: &str) -> Vec<&str> {
    ["include_str!(\"", "include_bytes!(\""]
        .iter()
        .flat_map(|macro_call| text.match_indices(macro_call).map(move |(at, m)| at + m.len()))
        .filter_map(|start| text[start..].find('"').map(|end| &text[start..start + end]))
        .collect()
}

/// `path` with `.` and `..` resolved, or `None` if it leaves the package's folder.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{included_paths, normalize};

    #[test]
    fn included_paths_are_read_and_resolved_inside_the_package() {
        let text = "#![doc = include_str!(\"../README.md\")]\nconst B: &[u8] = include_bytes!(\"data/x.pem\");";
        assert_eq!(included_paths(text), ["../README.md", "data/x.pem"]);
        assert_eq!(
            normalize(&Path::new("src").join("../README.md")),
            Some(PathBuf::from("README.md"))
        );
        assert_eq!(normalize(Path::new("src/../../README.md")), None, "outside the package");
    }
}
