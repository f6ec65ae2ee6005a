//! [`Env`]: the process environment (and the user database's home directory), or fixed values in tests.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Where providers read environment variables: the real process environment or a fixed map. It also says where
/// the user database (`/etc/passwd`, LDAP, … on Unix) puts the current user's home directory, which is where the
/// profile files are when `HOME` is not set.
///
/// `Debug` lists variable names only, never values (they include secret keys).
///
/// ```
/// use rds_iam_credentials::Env;
///
/// let env = Env::from_vars([("AWS_REGION", "eu-west-1")]);
/// assert_eq!(env.get("AWS_REGION").as_deref(), Some("eu-west-1"));
/// assert_eq!(env.get("AWS_PROFILE"), None);
/// assert_eq!(env.user_database_home(), None);
/// let env = env.with_user_database_home("/home/me");
/// assert_eq!(env.user_database_home().as_deref(), Some("/home/me"));
/// ```
#[derive(Clone)]
pub struct Env {
    vars: Source,
    user_home: UserHome,
}

#[derive(Clone)]
enum Source {
    Real,
    Fixed(Arc<HashMap<String, String>>),
}

/// Where [`Env::user_database_home`] comes from.
#[derive(Clone)]
enum UserHome {
    /// Asked of the system on each use.
    System,
    /// Given (tests, embedding); `None`: the user database knows no home.
    Fixed(Option<String>),
}

impl Env {
    /// The process environment, and the system's user database.
    pub fn real() -> Env {
        Env {
            vars: Source::Real,
            user_home: UserHome::System,
        }
    }

    /// A fixed set of variables (for tests and embedding), and no home directory in the user database (see
    /// [`Env::with_user_database_home`]).
    pub fn from_vars<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Env {
        Env {
            vars: Source::Fixed(Arc::new(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect())),
            user_home: UserHome::Fixed(None),
        }
    }

    /// Uses `home` as the current user's home directory from the user database (for tests and embedding).
    pub fn with_user_database_home(mut self, home: impl Into<String>) -> Env {
        self.user_home = UserHome::Fixed(Some(home.into()));
        self
    }

    /// The current user's home directory according to the user database, for when `HOME` is not set (as botocore
    /// and the AWS SDKs fall back to it). Only an absolute path in valid Unicode counts. For [`Env::real`] this is
    /// the standard library's lookup (`getpwuid_r` on Unix, the profile folder on Windows).
    pub fn user_database_home(&self) -> Option<String> {
        let home = match &self.user_home {
            UserHome::System => system_user_home(),
            UserHome::Fixed(home) => home.clone(),
        }?;
        std::path::Path::new(&home).is_absolute().then_some(home)
    }

    /// The value of `name`, if set and valid Unicode (set-but-empty is `Some("")`).
    pub fn get(&self, name: &str) -> Option<String> {
        match &self.vars {
            #[allow(clippy::disallowed_methods, reason = "the one place that reads the real environment")]
            Source::Real => std::env::var(name).ok(),
            Source::Fixed(vars) => vars.get(name).cloned(),
        }
    }

    /// The value of `name` if set to something other than blanks.
    pub fn get_non_blank(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }
}

/// The home directory of the user this process runs as, from the system. `std::env::home_dir` reads `HOME` first;
/// it is only asked when `HOME` is unset or blank, and a blank answer is then no absolute path, so it does not
/// count.
fn system_user_home() -> Option<String> {
    std::env::home_dir().and_then(|home| home.into_os_string().into_string().ok())
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.vars {
            Source::Real => f.write_str("Env::real()")?,
            Source::Fixed(vars) => {
                let mut names: Vec<&String> = vars.keys().collect();
                names.sort();
                f.debug_tuple("Env::from_vars").field(&names).finish()?;
            }
        }
        match &self.user_home {
            UserHome::Fixed(Some(home)) => write!(f, ".with_user_database_home({home:?})"),
            UserHome::System | UserHome::Fixed(None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_lists_names_only() {
        let env = Env::from_vars([("AWS_SECRET_ACCESS_KEY", "topsecretvalue")]);
        let shown = format!("{env:?}");
        assert!(shown.contains("AWS_SECRET_ACCESS_KEY"));
        assert!(!shown.contains("topsecretvalue"));
    }

    #[test]
    fn user_database_home() {
        let env = Env::from_vars([("HOME", "/h")]);
        assert_eq!(env.user_database_home(), None, "fixed variables: none unless given");
        let env = env.with_user_database_home("/home/me");
        assert_eq!(env.user_database_home().as_deref(), Some("/home/me"));
        assert_eq!(
            format!("{env:?}"),
            r#"Env::from_vars(["HOME"]).with_user_database_home("/home/me")"#
        );
        // Only an absolute path is a home: a relative one would be resolved against the working directory.
        for odd in ["", " ", "relative/home", "~"] {
            assert_eq!(
                Env::from_vars::<&str, &str>([])
                    .with_user_database_home(odd)
                    .user_database_home(),
                None
            );
        }
        #[cfg(unix)]
        assert!(
            Env::real()
                .user_database_home()
                .is_none_or(|home| home.starts_with('/'))
        );
    }

    #[test]
    fn blanks() {
        let env = Env::from_vars([("A", " "), ("B", "x")]);
        assert_eq!(env.get("A").as_deref(), Some(" "));
        assert_eq!(env.get_non_blank("A"), None);
        assert_eq!(env.get_non_blank("B").as_deref(), Some("x"));
    }
}
