//! [`Env`]: the process environment, or a fixed map in tests.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Where providers read environment variables: the real process environment or a fixed map.
///
/// `Debug` lists variable names only, never values (they include secret keys).
///
/// ```
/// use rds_iam_credentials::Env;
///
/// let env = Env::from_vars([("AWS_REGION", "eu-west-1")]);
/// assert_eq!(env.get("AWS_REGION").as_deref(), Some("eu-west-1"));
/// assert_eq!(env.get("AWS_PROFILE"), None);
/// ```
#[derive(Clone)]
pub struct Env(Source);

#[derive(Clone)]
enum Source {
    Real,
    Fixed(Arc<HashMap<String, String>>),
}

impl Env {
    /// The process environment.
    pub fn real() -> Env {
        Env(Source::Real)
    }

    /// A fixed set of variables (for tests and embedding).
    pub fn from_vars<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Env {
        Env(Source::Fixed(Arc::new(
            vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        )))
    }

    /// The value of `name`, if set and valid Unicode (set-but-empty is `Some("")`).
    pub fn get(&self, name: &str) -> Option<String> {
        match &self.0 {
            #[allow(clippy::disallowed_methods)] // the one place that reads the real environment
            Source::Real => std::env::var(name).ok(),
            Source::Fixed(vars) => vars.get(name).cloned(),
        }
    }

    /// The value of `name` if set to something other than blanks.
    pub fn get_non_blank(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Real => f.write_str("Env::real()"),
            Source::Fixed(vars) => {
                let mut names: Vec<&String> = vars.keys().collect();
                names.sort();
                f.debug_tuple("Env::from_vars").field(&names).finish()
            }
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
    fn blanks() {
        let env = Env::from_vars([("A", " "), ("B", "x")]);
        assert_eq!(env.get("A").as_deref(), Some(" "));
        assert_eq!(env.get_non_blank("A"), None);
        assert_eq!(env.get_non_blank("B").as_deref(), Some("x"));
    }
}
