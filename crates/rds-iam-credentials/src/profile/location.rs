//! Where the profile files are (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, `~` expansion),
//! loading them, and which profile is selected (`AWS_PROFILE`).

use std::io;
use std::path::{Path, PathBuf};

use super::{FileKind, ProfileFileError, ProfileSet, Source};
use crate::{Env, Fs};

/// The platform whose home-directory and path-separator rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Platform {
    /// Linux, macOS and other Unix systems.
    Unix,
    /// Windows.
    Windows,
}

impl Platform {
    /// The platform this binary runs on.
    pub(crate) fn current() -> Platform {
        if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Unix
        }
    }

    fn separator(self) -> char {
        match self {
            Platform::Unix => '/',
            Platform::Windows => '\\',
        }
    }

    fn is_separator(self, c: char) -> bool {
        c == '/' || (self == Platform::Windows && c == '\\')
    }
}

/// The config file: `AWS_CONFIG_FILE` or `~/.aws/config`, with a leading `~` expanded.
pub fn config_path(env: &Env) -> PathBuf {
    file_path(env, Platform::current(), FileKind::Config)
}

/// The credentials file: `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`, with a leading `~` expanded.
pub fn credentials_path(env: &Env) -> PathBuf {
    file_path(env, Platform::current(), FileKind::Credentials)
}

/// The profile to use: `explicit`, else `AWS_PROFILE` (if not blank), else `default`.
pub fn selected_profile_name(env: &Env, explicit: Option<&str>) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| env.get_non_blank("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned())
}

/// Reads and parses the config and credentials files found by [`config_path`] and [`credentials_path`].
///
/// A missing file counts as empty. Any other read error (including a file that is not UTF-8) and
/// any syntax error is an error naming the file.
///
/// ```
/// use rds_iam_credentials::{profile, Env, Fs};
///
/// let env = Env::from_vars([("HOME", "/home/me")]);
/// let fs = Fs::from_files([("/home/me/.aws/credentials", "[default]\naws_access_key_id = AKID\n")]);
/// let set = profile::load(&env, &fs)?;
/// assert_eq!(set.get("default").and_then(|p| p.get("aws_access_key_id")), Some("AKID"));
/// # Ok::<(), profile::ProfileFileError>(())
/// ```
pub fn load(env: &Env, fs: &Fs) -> Result<ProfileSet, ProfileFileError> {
    let config_path = config_path(env);
    let credentials_path = credentials_path(env);
    let config = read(fs, &config_path)?;
    let credentials = read(fs, &credentials_path)?;
    super::parse(
        source(&config_path, config.as_deref()),
        source(&credentials_path, credentials.as_deref()),
    )
}

fn source<'a>(path: &'a Path, contents: Option<&'a str>) -> Option<Source<'a>> {
    contents.map(|contents| Source { path, contents })
}

/// The file's text, or `None` if it does not exist.
fn read(fs: &Fs, path: &Path) -> Result<Option<String>, ProfileFileError> {
    match fs.read_to_string(path) {
        Ok(contents) => Ok(Some(contents)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ProfileFileError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The path of the config or credentials file on `platform`.
pub(crate) fn file_path(env: &Env, platform: Platform, kind: FileKind) -> PathBuf {
    let (variable, default) = match kind {
        FileKind::Config => ("AWS_CONFIG_FILE", "~/.aws/config"),
        FileKind::Credentials => ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    };
    let path = env.get_non_blank(variable).unwrap_or_else(|| default.to_owned());
    PathBuf::from(expand_home(&path, home_dir(env, platform).as_deref(), platform))
}

/// The home directory on this platform (see [`home_dir`]); the SSO token cache lives under it.
pub(crate) fn home(env: &Env) -> Option<String> {
    home_dir(env, Platform::current())
}

/// The home directory: `HOME`; on Windows then `USERPROFILE`, then `HOMEDRIVE` + `HOMEPATH`.
fn home_dir(env: &Env, platform: Platform) -> Option<String> {
    let home = env.get_non_blank("HOME");
    if platform == Platform::Unix {
        return home;
    }
    home.or_else(|| env.get_non_blank("USERPROFILE")).or_else(|| {
        let drive = env.get_non_blank("HOMEDRIVE")?;
        Some(drive + &env.get_non_blank("HOMEPATH")?)
    })
}

/// Replaces a leading `~` component with `home`, joining the rest with the platform's separator.
/// `~user/...` and paths without `~` are kept as they are; so is `~` when there is no home.
fn expand_home(path: &str, home: Option<&str>, platform: Platform) -> String {
    let (Some(rest), Some(home)) = (path.strip_prefix('~'), home) else {
        return path.to_owned();
    };
    if !(rest.is_empty() || rest.starts_with(|c| platform.is_separator(c))) {
        return path.to_owned();
    }
    let mut expanded = home.trim_end_matches(|c| platform.is_separator(c)).to_owned();
    let parts = rest.split(|c| platform.is_separator(c));
    for part in parts.filter(|part| !part.is_empty()) {
        expanded.push(platform.separator());
        expanded.push_str(part);
    }
    if expanded.is_empty() {
        expanded.push(platform.separator());
    }
    expanded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(vars: &[(&str, &str)], platform: Platform) -> (String, String) {
        let env = Env::from_vars(vars.iter().copied());
        let path = |kind| file_path(&env, platform, kind).to_string_lossy().into_owned();
        (path(FileKind::Config), path(FileKind::Credentials))
    }

    #[test]
    fn defaults_and_overrides() {
        let unix = Platform::Unix;
        assert_eq!(
            paths(&[("HOME", "/home/me/")], unix),
            ("/home/me/.aws/config".into(), "/home/me/.aws/credentials".into())
        );
        assert_eq!(
            paths(
                &[
                    ("HOME", "/h"),
                    ("AWS_CONFIG_FILE", "~/c"),
                    ("AWS_SHARED_CREDENTIALS_FILE", "/x/~/k")
                ],
                unix
            ),
            ("/h/c".into(), "/x/~/k".into())
        );
        // No home: the path stays unexpanded (and will simply not be found).
        assert_eq!(paths(&[], unix).0, "~/.aws/config");
        assert_eq!(paths(&[("USERPROFILE", "C:\\u")], unix).0, "~/.aws/config");
    }

    #[test]
    fn windows_home() {
        let windows = Platform::Windows;
        assert_eq!(paths(&[("USERPROFILE", "C:\\u")], windows).0, "C:\\u\\.aws\\config");
        assert_eq!(
            paths(
                &[("HOMEDRIVE", "D:"), ("HOMEPATH", "\\me"), ("AWS_CONFIG_FILE", "~\\cfg")],
                windows
            )
            .0,
            "D:\\me\\cfg"
        );
        assert_eq!(paths(&[("HOMEDRIVE", "D:")], windows).0, "~/.aws/config");
    }

    #[test]
    fn tilde_only_as_a_component() {
        assert_eq!(expand_home("~user/c", Some("/h"), Platform::Unix), "~user/c");
        assert_eq!(expand_home("~", Some("/h"), Platform::Unix), "/h");
        assert_eq!(expand_home("~/c", Some("/"), Platform::Unix), "/c");
        assert_eq!(expand_home("~\\c", Some("/h"), Platform::Unix), "~\\c");
    }

    #[test]
    fn profile_selection() {
        let env = Env::from_vars([("AWS_PROFILE", "env")]);
        assert_eq!(selected_profile_name(&env, Some("cli")), "cli");
        assert_eq!(selected_profile_name(&env, None), "env");
        let blank = Env::from_vars([("AWS_PROFILE", " ")]);
        assert_eq!(selected_profile_name(&blank, None), "default");
    }

    #[test]
    fn load_reads_both_files() {
        let env = Env::from_vars([("HOME", "/h"), ("AWS_CONFIG_FILE", "/etc/aws")]);
        let fs = Fs::from_files([
            ("/etc/aws", "[profile p]\nregion = r\nkey = config"),
            ("/h/.aws/credentials", "[p]\nkey = creds"),
        ]);
        let set = load(&env, &fs).unwrap();
        let p = set.get("p").unwrap();
        assert_eq!((p.get("region"), p.get("key")), (Some("r"), Some("creds")));
    }

    #[test]
    fn load_missing_files_are_empty() {
        let set = load(&Env::from_vars([("HOME", "/h")]), &Fs::from_files::<&str, &str>([])).unwrap();
        assert!(set.is_empty());
    }

    #[test]
    fn load_errors_name_the_file() {
        let env = Env::from_vars([("AWS_SHARED_CREDENTIALS_FILE", "/c")]);
        let err = load(&env, &Fs::from_files([("/c", "[p]\nbad")])).unwrap_err();
        assert!(err.to_string().starts_with("/c line 2: "), "{err}");

        // A directory cannot be read as a file: a read error, not "missing".
        let dir = std::env::temp_dir();
        let env = Env::from_vars([("AWS_CONFIG_FILE", dir.to_string_lossy().as_ref())]);
        let err = load(&env, &Fs::real()).unwrap_err();
        assert!(matches!(err, ProfileFileError::Read { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("could not read profile file {}", dir.display())
        );
    }
}
