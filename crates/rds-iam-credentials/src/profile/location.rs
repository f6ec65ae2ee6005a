//! Where the profile files are (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, `~` expansion with `HOME` or the
//! user database's home), loading them, and which profile is selected (`AWS_PROFILE`).

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

/// The config file: `AWS_CONFIG_FILE` or `~/.aws/config`, with a leading `~` expanded. `None` when the path starts
/// with `~` and there is no home directory to expand it with (see [`load`]): such a path is never taken relative
/// to the working directory.
pub fn config_path(env: &Env) -> Option<PathBuf> {
    file_path(env, Platform::current(), FileKind::Config)
}

/// The credentials file: `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`, with a leading `~` expanded.
/// `None` when the path starts with `~` and there is no home directory to expand it with (see [`load`]).
pub fn credentials_path(env: &Env) -> Option<PathBuf> {
    file_path(env, Platform::current(), FileKind::Credentials)
}

/// The file for messages: its path, or the unexpanded path and why it is not read.
pub(crate) fn shown_path(env: &Env, kind: FileKind) -> String {
    match file_path(env, Platform::current(), kind) {
        Some(path) => path.display().to_string(),
        None => format!("{} (not read: {})", unexpanded_path(env, kind), NO_HOME),
    }
}

/// Why a `~` path is not read.
pub(crate) const NO_HOME: &str =
    "no home directory — HOME is not set and the user database has none for this user; set HOME";

/// The profile to use: `explicit`, else `AWS_PROFILE` (if not blank), else `default`.
pub fn selected_profile_name(env: &Env, explicit: Option<&str>) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| env.get_non_blank("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned())
}

/// Reads and parses the config and credentials files found by [`config_path`] and [`credentials_path`].
///
/// A missing file counts as empty, and so does a `~` path without a home directory (`HOME`, on Windows also
/// `USERPROFILE` or `HOMEDRIVE` + `HOMEPATH`, else the user database's home): it is skipped, with a debug log line
/// saying why, never read relative to the working directory. Any other read error (including a file that is not
/// UTF-8) and any syntax error is an error naming the file.
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
    let config_path = located(env, FileKind::Config);
    let credentials_path = located(env, FileKind::Credentials);
    let config = config_path.as_deref().map(|path| read(fs, path)).transpose()?.flatten();
    let credentials = credentials_path
        .as_deref()
        .map(|path| read(fs, path))
        .transpose()?
        .flatten();
    super::parse(
        source(config_path.as_deref(), config.as_deref()),
        source(credentials_path.as_deref(), credentials.as_deref()),
    )
}

/// The file's path, or `None` (logged) when it needs a home directory and there is none.
fn located(env: &Env, kind: FileKind) -> Option<PathBuf> {
    let path = file_path(env, Platform::current(), kind);
    if path.is_none() {
        tracing::debug!(
            file = %unexpanded_path(env, kind),
            "profile file skipped: {NO_HOME}"
        );
    }
    path
}

fn source<'a>(path: Option<&'a Path>, contents: Option<&'a str>) -> Option<Source<'a>> {
    Some(Source {
        path: path?,
        contents: contents?,
    })
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

/// The path of the config or credentials file on `platform`; `None` if it starts with `~` and cannot be expanded.
pub(crate) fn file_path(env: &Env, platform: Platform, kind: FileKind) -> Option<PathBuf> {
    expand_home(
        &unexpanded_path(env, kind),
        home_dir(env, platform).as_deref(),
        platform,
    )
    .map(PathBuf::from)
}

/// `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`, or the default under `~`.
fn unexpanded_path(env: &Env, kind: FileKind) -> String {
    let (variable, default) = match kind {
        FileKind::Config => ("AWS_CONFIG_FILE", "~/.aws/config"),
        FileKind::Credentials => ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    };
    env.get_non_blank(variable).unwrap_or_else(|| default.to_owned())
}

/// The home directory on this platform (see [`home_dir`]); the SSO token cache lives under it.
pub(crate) fn home(env: &Env) -> Option<String> {
    home_dir(env, Platform::current())
}

/// The home directory: `HOME`; on Windows then `USERPROFILE`, then `HOMEDRIVE` + `HOMEPATH`; then the user
/// database's home for this user (as botocore's `expanduser` and the AWS SDKs do).
fn home_dir(env: &Env, platform: Platform) -> Option<String> {
    let home = env.get_non_blank("HOME");
    let home = match platform {
        Platform::Unix => home,
        Platform::Windows => home.or_else(|| env.get_non_blank("USERPROFILE")).or_else(|| {
            let drive = env.get_non_blank("HOMEDRIVE")?;
            Some(drive + &env.get_non_blank("HOMEPATH")?)
        }),
    };
    home.or_else(|| env.user_database_home())
}

/// Replaces a leading `~` component with `home`, joining the rest with the platform's separator; paths without `~`
/// are kept as they are. `None` for a `~` path without a home, and for `~user/...` (not supported): either would
/// otherwise name a folder `~` or `~user` in the working directory.
fn expand_home(path: &str, home: Option<&str>, platform: Platform) -> Option<String> {
    let Some(rest) = path.strip_prefix('~') else {
        return Some(path.to_owned());
    };
    if !(rest.is_empty() || rest.starts_with(|c| platform.is_separator(c))) {
        return None;
    }
    let home = home?;
    let mut expanded = home.trim_end_matches(|c| platform.is_separator(c)).to_owned();
    let parts = rest.split(|c| platform.is_separator(c));
    for part in parts.filter(|part| !part.is_empty()) {
        expanded.push(platform.separator());
        expanded.push_str(part);
    }
    if expanded.is_empty() {
        expanded.push(platform.separator());
    }
    Some(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(vars: &[(&str, &str)], platform: Platform) -> (String, String) {
        paths_in(&Env::from_vars(vars.iter().copied()), platform)
    }

    /// The two paths, `-` for one that is not read.
    fn paths_in(env: &Env, platform: Platform) -> (String, String) {
        let path =
            |kind| file_path(env, platform, kind).map_or_else(|| "-".to_owned(), |p| p.to_string_lossy().into_owned());
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
        // No home: not read at all (a `~` folder in the working directory is not the home).
        assert_eq!(paths(&[], unix), ("-".into(), "-".into()));
        assert_eq!(paths(&[("HOME", " ")], unix), ("-".into(), "-".into()));
        assert_eq!(paths(&[("USERPROFILE", "C:\\u")], unix).0, "-");
        assert_eq!(
            paths(
                &[("AWS_CONFIG_FILE", "~/c"), ("AWS_SHARED_CREDENTIALS_FILE", "/k")],
                unix
            ),
            ("-".into(), "/k".into())
        );
        assert_eq!(paths(&[("AWS_CONFIG_FILE", "rel/c")], unix).0, "rel/c", "as configured");
    }

    #[test]
    fn user_database_home_when_home_is_unset() {
        let unix = Platform::Unix;
        let env = Env::from_vars::<&str, &str>([]).with_user_database_home("/home/db");
        assert_eq!(
            paths_in(&env, unix),
            ("/home/db/.aws/config".into(), "/home/db/.aws/credentials".into())
        );
        let env = Env::from_vars([("HOME", "/h")]).with_user_database_home("/home/db");
        assert_eq!(paths_in(&env, unix).0, "/h/.aws/config", "HOME wins");
        let env = Env::from_vars([("USERPROFILE", "C:\\u")]).with_user_database_home("C:\\db");
        assert_eq!(
            paths_in(&env, Platform::Windows).0,
            "C:\\u\\.aws\\config",
            "USERPROFILE wins"
        );
        let env = Env::from_vars::<&str, &str>([]).with_user_database_home("/home/db");
        assert_eq!(home(&env).as_deref(), Some("/home/db"));
    }

    #[test]
    fn shown_paths_say_why_a_file_is_not_read() {
        assert_eq!(
            shown_path(&Env::from_vars([("HOME", "/h")]), FileKind::Config),
            "/h/.aws/config"
        );
        assert_eq!(
            shown_path(&Env::from_vars::<&str, &str>([]), FileKind::Credentials),
            format!("~/.aws/credentials (not read: {NO_HOME})")
        );
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
        assert_eq!(paths(&[("HOMEDRIVE", "D:")], windows).0, "-");
    }

    #[test]
    fn tilde_only_as_a_component() {
        let unix = Platform::Unix;
        assert_eq!(expand_home("~user/c", Some("/h"), unix), None, "~user is not supported");
        assert_eq!(expand_home("~", Some("/h"), unix).as_deref(), Some("/h"));
        assert_eq!(expand_home("~/c", Some("/"), unix).as_deref(), Some("/c"));
        assert_eq!(expand_home("~\\c", Some("/h"), unix), None);
        assert_eq!(expand_home("/a/~/c", None, unix).as_deref(), Some("/a/~/c"));
        assert_eq!(expand_home("~/c", None, unix), None);
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
