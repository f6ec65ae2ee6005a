//! [`Error`]: why a token could not be made, decoded or cached.

use std::fmt;

/// Why a token request was rejected, a token could not be signed, or a token could not be decoded.
///
/// Messages say what is wrong and what to pass instead; none includes a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The hostname is empty.
    EmptyHost,
    /// The hostname starts with a scheme such as `https://`.
    HostHasScheme {
        /// The hostname as given.
        host: String,
    },
    /// The hostname ends with `:PORT`.
    HostHasPort {
        /// The hostname as given.
        host: String,
        /// The port found in it.
        port: String,
    },
    /// The hostname contains characters a DNS name or IP literal cannot have.
    InvalidHost {
        /// The hostname as given.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The port is 0.
    InvalidPort,
    /// The database user name is empty.
    EmptyUser,
    /// A DB user name, database name or hostname contains a control character: NUL, CR, LF, TAB, DEL or any
    /// other C0 or C1 control ([`char::is_control`]). No server has such a name; it is almost always a stray
    /// newline from a file or a paste, and in a token or a log line it would be misread.
    ControlCharacter {
        /// What holds it: `"DB user"`, `"database"`, `"host"` or `"signing host"`.
        field: &'static str,
        /// The control character.
        character: char,
        /// Where it is: the index of the character in the value, counting characters (not bytes) from 0.
        position: usize,
    },
    /// The region is not a region name (`us-east-1`, `cn-north-1`, …).
    InvalidRegion {
        /// The region as given.
        region: String,
    },
    /// The requested token lifetime is outside 1..=900 seconds.
    ExpiresInOutOfRange {
        /// The requested lifetime, in seconds.
        seconds: u64,
    },
    /// The credentials have an empty access key id or secret access key.
    IncompleteCredentials,
    /// The credentials are already expired at the signing time.
    CredentialsExpired {
        /// The access key id of the expired credentials.
        access_key_id: String,
    },
    /// The signing time is past the year 9999 (or before the year -9999): a SigV4 date cannot say it.
    SigningTimeOutOfRange,
    /// aws-sigv4 refused to sign (its message, which never contains secrets).
    Signing(String),
    /// A token could not be decoded.
    MalformedToken {
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::EmptyHost => {
                f.write_str("the hostname is empty: pass the DB endpoint, e.g. mydb.abc123.us-east-1.rds.amazonaws.com")
            }
            Error::HostHasScheme { host } => write!(
                f,
                "the hostname {host:?} contains a scheme: pass the bare endpoint name without `https://` or `mysql://`"
            ),
            Error::HostHasPort { host, port } => write!(
                f,
                "the hostname {host:?} contains a port: give the name alone and the port ({port}) separately"
            ),
            Error::InvalidHost { host, reason } => write!(f, "the hostname {host:?} is not valid: {reason}"),
            Error::InvalidPort => f.write_str("the port must be between 1 and 65535"),
            Error::EmptyUser => {
                f.write_str("the database user name is empty: pass the user created with the IAM plugin")
            }
            Error::ControlCharacter {
                field,
                character,
                position,
            } => write!(
                f,
                "the {field} contains the control character U+{:04X} at position {position} (counting from 0): \
                 remove line breaks, tabs and other control characters (a value read from a file or pasted often \
                 ends in a newline)",
                u32::from(*character)
            ),
            Error::InvalidRegion { region } => write!(
                f,
                "{region:?} is not an AWS region name: pass one like us-east-1, eu-west-1 or cn-north-1"
            ),
            Error::ExpiresInOutOfRange { seconds } => write!(
                f,
                "a token can be valid for 1 to {} seconds ({} minutes), not {seconds}: RDS rejects longer lifetimes",
                crate::MAX_EXPIRES_IN.as_secs(),
                crate::MAX_EXPIRES_IN.as_secs() / 60
            ),
            Error::IncompleteCredentials => {
                f.write_str("the credentials have an empty access key id or secret access key")
            }
            Error::CredentialsExpired { access_key_id } => write!(
                f,
                "the credentials for access key {access_key_id} have expired: refresh them (e.g. `aws sso login`) and try again"
            ),
            Error::SigningTimeOutOfRange => f.write_str(
                "the signing time is past the year 9999, which a SigV4 date cannot express: check the clock",
            ),
            Error::Signing(message) => write!(f, "signing the token failed: {message}"),
            Error::MalformedToken { reason } => write!(f, "not an RDS IAM auth token: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// [`Error::ControlCharacter`] for the first control character in `value`, if it has one.
    pub(crate) fn reject_control_characters(field: &'static str, value: &str) -> Result<(), Error> {
        match value.chars().enumerate().find(|(_, c)| c.is_control()) {
            Some((position, character)) => Err(Error::ControlCharacter {
                field,
                character,
                position,
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Error {
        Error::MalformedToken { reason: reason.into() }
    }
}
