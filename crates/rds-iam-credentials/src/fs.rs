//! [`Fs`]: the real file system, or fixed files in tests.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where providers read files (profile files, token files): the real file system or a fixed set of files.
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
    Fixed(Arc<HashMap<PathBuf, String>>),
}

impl Fs {
    /// The real file system.
    pub fn real() -> Fs {
        Fs(Source::Real)
    }

    /// A fixed set of files; every other path is "not found".
    pub fn from_files<P: Into<PathBuf>, C: Into<String>>(files: impl IntoIterator<Item = (P, C)>) -> Fs {
        Fs(Source::Fixed(Arc::new(
            files.into_iter().map(|(p, c)| (p.into(), c.into())).collect(),
        )))
    }

    /// Reads a whole UTF-8 file.
    pub fn read_to_string(&self, path: &Path) -> io::Result<String> {
        match &self.0 {
            Source::Real => std::fs::read_to_string(path),
            Source::Fixed(files) => files
                .get(path)
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{} not found", path.display()))),
        }
    }
}

impl fmt::Debug for Fs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Real => f.write_str("Fs::real()"),
            Source::Fixed(files) => {
                let mut paths: Vec<&PathBuf> = files.keys().collect();
                paths.sort();
                f.debug_tuple("Fs::from_files").field(&paths).finish()
            }
        }
    }
}
