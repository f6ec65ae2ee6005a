//! [`Fs`]: the real file system, or fixed files in tests.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

// The map is only ever changed by whole inserts, so a panic elsewhere cannot leave it half-written.
use rds_iam_token::sync::lock;

/// Where providers read files (profile files, token files) and write the one file they update (a refreshed SSO
/// token): the real file system, or a set of files in memory shared by clones.
///
/// ```
/// use std::path::Path;
/// use rds_iam_credentials::Fs;
///
/// let fs = Fs::from_files([("/home/me/.aws/config", "[default]\nregion = eu-west-1\n")]);
/// assert!(fs.read_to_string(Path::new("/home/me/.aws/config")).is_ok());
/// assert_eq!(fs.read_to_string(Path::new("/nope")).unwrap_err().kind(), std::io::ErrorKind::NotFound);
/// ```
#[derive(Clone)]
pub struct Fs(Source);

#[derive(Clone)]
enum Source {
    Real,
    Fixed(Arc<Mutex<HashMap<PathBuf, String>>>),
}

impl Fs {
    /// The real file system.
    pub fn real() -> Fs {
        Fs(Source::Real)
    }

    /// A fixed set of files; every other path is "not found". Writes go to this set (seen by every clone).
    pub fn from_files<P: Into<PathBuf>, C: Into<String>>(files: impl IntoIterator<Item = (P, C)>) -> Fs {
        Fs(Source::Fixed(Arc::new(Mutex::new(
            files.into_iter().map(|(p, c)| (p.into(), c.into())).collect(),
        ))))
    }

    /// Reads a whole UTF-8 file.
    pub fn read_to_string(&self, path: &Path) -> io::Result<String> {
        match &self.0 {
            Source::Real => std::fs::read_to_string(path),
            Source::Fixed(files) => lock(files)
                .get(path)
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{} not found", path.display()))),
        }
    }

    /// Replaces the file at `path` (its folder must exist) so that readers see the old or the new contents, never
    /// a mix: a temporary file in the same folder, readable by the owner only (it holds tokens), flushed, then
    /// renamed over `path`.
    pub fn write_atomically(&self, path: &Path, contents: &str) -> io::Result<()> {
        match &self.0 {
            Source::Real => {
                let dir = path
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let mut file = tempfile::Builder::new()
                    .prefix(".rds-iam-")
                    .suffix(".tmp")
                    .tempfile_in(dir)?;
                file.write_all(contents.as_bytes())?;
                file.as_file().sync_all()?;
                file.persist(path).map_err(|e| e.error)?;
                Ok(())
            }
            Source::Fixed(files) => {
                lock(files).insert(path.to_owned(), contents.to_owned());
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Fs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Real => f.write_str("Fs::real()"),
            Source::Fixed(files) => {
                let files = lock(files);
                let mut paths: Vec<&PathBuf> = files.keys().collect();
                paths.sort();
                f.debug_tuple("Fs::from_files").field(&paths).finish()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_the_file_and_stay_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        std::fs::write(&path, "old").unwrap();
        Fs::real().write_atomically(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );

        let fixed = Fs::from_files([("/a", "1")]);
        fixed.clone().write_atomically(Path::new("/a"), "2").unwrap();
        assert_eq!(
            fixed.read_to_string(Path::new("/a")).unwrap(),
            "2",
            "clones share the files"
        );
    }
}
