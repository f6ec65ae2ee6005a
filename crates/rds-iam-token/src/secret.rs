//! [`Secret`]: a value that must never be printed or logged.

use std::fmt;

use zeroize::Zeroize;

/// A secret value: AWS secret access keys, session tokens, auth tokens, passwords.
///
/// - `Debug` prints `Secret("** redacted **")`, never the value.
/// - There is no `Display`: to use the value, call [`Secret::expose`] at the one place that needs it.
/// - The memory is overwritten with zeros when the secret is dropped.
///
/// ```
/// use rds_iam_token::Secret;
///
/// let key = Secret::new(String::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
/// assert_eq!(format!("{key:?}"), r#"Secret("** redacted **")"#);
/// assert_eq!(key.expose().len(), 40);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret value. Call this only where the value is sent or compared, never to log it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Secret").field(&"** redacted **").finish()
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new(String::from("hunter2"));
        let shown = format!("{secret:?} {secret:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(format!("{secret:?}"), r#"Secret("** redacted **")"#);
    }

    #[test]
    fn expose_and_clone() {
        let secret = Secret::from(String::from("hunter2"));
        let copy = secret.clone();
        assert_eq!(copy.expose(), "hunter2");
        assert_eq!(copy, secret);
    }
}
