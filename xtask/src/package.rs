//! `cargo xtask package`: `cargo package` for the crates meant for crates.io, verified — each `.crate` unpacked and
//! built on its own against the others' `.crate`s (cargo ≥ 1.90 packs interdependent workspace crates into a
//! temporary local registry). `cargo xtask ci` runs the unverified form and a cheaper check instead (see [`run`]).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::Result;
use crate::tools::{cargo, exec, output, root};

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
    /// in seconds. `cargo xtask ci` uses this: from a cold target directory the verification build took longer
    /// than the rest of `ci` (every dependency again, with each crate's own feature set and cargo's default `dev`
    /// profile); with a warm one it took about 30 s.
    PackOnly,
}

/// Packages the published crates (into `$CARGO_TARGET_DIR/package`).
pub(crate) fn run(verify: Verify) -> Result {
    let mut cmd = cargo();
    cmd.args(["package", "--workspace", "--locked", "--allow-dirty"]);
    for unpublished in ["rds-iam-testkit", "rds-iam-e2e", "xtask"] {
        cmd.args(["--exclude", unpublished]);
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
