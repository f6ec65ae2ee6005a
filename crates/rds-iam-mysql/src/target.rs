//! [`Target`]: where to connect and as whom.

use rds_iam_token::{Endpoint, validate_host};

use crate::ConnectError;

/// The database to log in to: the host and port to dial, the name the token is signed for (the RDS endpoint,
/// which differs from the dial host behind a tunnel), the DB user, an optional default database and the region.
///
/// ```
/// use rds_iam_mysql::Target;
///
/// let target = Target::new("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com", 3306, "app")?.with_database("orders")?;
/// assert_eq!(target.region(), Some("eu-west-1"));
///
/// // Through an SSH tunnel: dial localhost, sign for the real endpoint.
/// let tunnel = Target::new("127.0.0.1", 13306, "app")?
///     .with_signing_host("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com")?;
/// assert_eq!((tunnel.host(), tunnel.region()), ("127.0.0.1", Some("eu-west-1")));
/// # Ok::<(), rds_iam_mysql::ConnectError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    host: String,
    port: u16,
    signing_host: Option<String>,
    signing_port: Option<u16>,
    user: String,
    database: Option<String>,
    region: Option<String>,
    /// The region in the signing host's name, kept in step with it.
    hostname_region: Option<String>,
}

impl Target {
    /// Dial `host:port` and sign for `host`, as `user`.
    ///
    /// Fails on a malformed host ([`validate_host`]), port 0, or an empty user. A control character (NUL, CR,
    /// LF, TAB, any C0 or C1 control) in the host or the user is refused as
    /// [`rds_iam_token::Error::ControlCharacter`] naming the `"host"` or the `"DB user"`; every other character
    /// is fine in a user name.
    pub fn new(host: impl Into<String>, port: u16, user: impl Into<String>) -> Result<Target, ConnectError> {
        let host = host.into();
        validate_host(&host).map_err(ConnectError::InvalidTarget)?;
        let user = user.into();
        if user.is_empty() {
            return Err(ConnectError::InvalidTarget(rds_iam_token::Error::EmptyUser));
        }
        reject_control_characters("DB user", &user)?;
        if port == 0 {
            return Err(ConnectError::InvalidTarget(rds_iam_token::Error::InvalidPort));
        }
        let hostname_region = Endpoint::parse(&host).region().map(str::to_owned);
        Ok(Target {
            host,
            port,
            signing_host: None,
            signing_port: None,
            user,
            database: None,
            region: None,
            hostname_region,
        })
    }

    /// Sign for this name instead of the dial host (SSH/SSM tunnels, CNAMEs, IP addresses). Checked like the
    /// host; a control character is reported for the `"signing host"`.
    pub fn with_signing_host(mut self, signing_host: impl Into<String>) -> Result<Target, ConnectError> {
        let signing_host = signing_host.into();
        validate_host(&signing_host)
            .map_err(|e| match e {
                rds_iam_token::Error::ControlCharacter {
                    character, position, ..
                } => rds_iam_token::Error::ControlCharacter {
                    field: "signing host",
                    character,
                    position,
                },
                other => other,
            })
            .map_err(ConnectError::InvalidTarget)?;
        self.hostname_region = Endpoint::parse(&signing_host).region().map(str::to_owned);
        self.signing_host = Some(signing_host);
        Ok(self)
    }

    /// Signs tokens for this port instead of the one dialed: through a tunnel listening on another local port, the
    /// token must name the DB's own port (usually 3306).
    pub fn with_signing_port(mut self, signing_port: u16) -> Result<Target, ConnectError> {
        if signing_port == 0 {
            return Err(ConnectError::InvalidTarget(rds_iam_token::Error::InvalidPort));
        }
        self.signing_port = Some(signing_port);
        Ok(self)
    }

    /// The region to sign for (default: the one in the signing host's name).
    pub fn with_region(mut self, region: impl Into<String>) -> Target {
        self.region = Some(region.into());
        self
    }

    /// The default database (schema) of the session.
    ///
    /// Fails if the name has a control character (NUL, CR, LF, TAB, any C0 or C1 control):
    /// [`rds_iam_token::Error::ControlCharacter`] naming the `"database"`. Every other character is passed on as
    /// given.
    pub fn with_database(mut self, database: impl Into<String>) -> Result<Target, ConnectError> {
        let database = database.into();
        reject_control_characters("database", &database)?;
        self.database = Some(database);
        Ok(self)
    }

    /// The host dialed.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The name the token is signed for.
    pub fn signing_host(&self) -> &str {
        self.signing_host.as_deref().unwrap_or(&self.host)
    }

    /// The port tokens are signed for: the signing port if set, else the port dialed.
    pub fn signing_port(&self) -> u16 {
        self.signing_port.unwrap_or(self.port)
    }

    /// The DB user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The default database, if any.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The region: the explicit one, else the one in the signing host's name.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref().or(self.hostname_region.as_deref())
    }

    /// The region or an error that says how to give one.
    pub(crate) fn required_region(&self) -> Result<&str, ConnectError> {
        self.region().ok_or_else(|| ConnectError::NoRegion {
            signing_host: self.signing_host().to_owned(),
        })
    }

    /// Whether the TLS name check would compare the dial host against a certificate issued for another name.
    pub fn dials_another_name(&self) -> bool {
        self.signing_host
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(&self.host))
    }
}

/// [`rds_iam_token::Error::ControlCharacter`] for the first control character in `value`: no server has such a
/// name, and in a handshake packet or a log line it would be misread.
fn reject_control_characters(field: &'static str, value: &str) -> Result<(), ConnectError> {
    match value.chars().enumerate().find(|(_, c)| c.is_control()) {
        Some((position, character)) => Err(ConnectError::InvalidTarget(rds_iam_token::Error::ControlCharacter {
            field,
            character,
            position,
        })),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com";

    /// Control characters at the start, inside and at the end, C0, DEL and C1.
    const BAD: [(&str, usize); 8] = [
        ("app\r\n", 3),
        ("app\n", 3),
        ("\napp", 0),
        ("ap\0p", 2),
        ("a\tpp", 1),
        ("app\u{85}", 3),
        ("app\u{7f}", 3),
        ("äpp\u{9b}", 3),
    ];

    /// The token-crate error the `ConnectError` carries (in `ConnectError::Token`, as for the other input errors).
    fn control(result: Result<Target, ConnectError>) -> (&'static str, char, usize) {
        match result {
            Err(ConnectError::InvalidTarget(rds_iam_token::Error::ControlCharacter {
                field,
                character,
                position,
            })) => (field, character, position),
            other => panic!("expected a control-character error, got {other:?}"),
        }
    }

    /// Security review, finding 2: control characters are refused in the user, the database, the host and the
    /// signing host, and the error names the field and where the character is.
    #[test]
    fn control_characters_are_refused_everywhere() {
        let good = || Target::new(HOST, 3306, "app").unwrap();
        for (bad, position) in BAD {
            let character = bad.chars().nth(position).unwrap();
            assert_eq!(
                control(Target::new(HOST, 3306, bad)),
                ("DB user", character, position),
                "user {bad:?}"
            );
            assert_eq!(
                control(good().with_database(bad)),
                ("database", character, position),
                "database {bad:?}"
            );
            let host = format!("{HOST}{bad}");
            let at = HOST.chars().count() + position;
            assert_eq!(
                control(Target::new(host.as_str(), 3306, "app")),
                ("host", character, at)
            );
            assert_eq!(
                control(good().with_signing_host(host.as_str())),
                ("signing host", character, at)
            );
        }
        let err = good().with_database("orders\n").unwrap_err();
        let message = std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            message.contains("the database contains the control character U+000A at position 6"),
            "{message}"
        );
    }

    /// Security review, finding 2: everything that is not a control character stays allowed in users and database
    /// names (quoting is the server's and the driver's business, not a reason to refuse).
    #[test]
    fn ordinary_names_are_accepted() {
        for name in [
            "app",
            "a+b",
            "o'brien",
            "app user",
            "#admin",
            "dom\\user",
            "ユーザー😀",
            "Zoë-ß_1.~",
            "`x`;--",
        ] {
            let target = Target::new(HOST, 3306, name)
                .unwrap_or_else(|e| panic!("user {name:?}: {e}"))
                .with_database(name)
                .unwrap_or_else(|e| panic!("database {name:?}: {e}"));
            assert_eq!((target.user(), target.database()), (name, Some(name)));
        }
    }
}
