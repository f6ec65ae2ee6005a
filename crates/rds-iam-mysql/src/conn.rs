//! [`IamConn`]: a logged-in `mysql::Conn` whose `Debug` does not print the token.

use std::fmt;
use std::ops::{Deref, DerefMut};

use mysql::Conn;

/// A connection logged in with an IAM token. It dereferences to the driver's [`mysql::Conn`], so every
/// `Queryable` method works on it; [`IamConn::into_inner`] gives the `Conn` itself.
///
/// The wrapper exists for its `Debug`: the driver derives `Debug` for `Conn`, which prints the connection's
/// options — the token included — so `dbg!(conn)` or `{:?}` in a log line would leak it. This one shows the
/// connection id and server version only. (Once unwrapped, the `Conn` prints the token again: don't log it.)
pub struct IamConn(Conn);

impl IamConn {
    pub(crate) fn new(conn: Conn) -> IamConn {
        IamConn(conn)
    }

    /// The driver's connection (whose `Debug` prints the token: never log it).
    pub fn into_inner(self) -> Conn {
        self.0
    }
}

impl Deref for IamConn {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl DerefMut for IamConn {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

impl fmt::Debug for IamConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (major, minor, patch) = self.0.server_version();
        f.debug_struct("IamConn")
            .field("connection_id", &self.0.connection_id())
            .field("server_version", &format_args!("{major}.{minor}.{patch}"))
            .finish_non_exhaustive()
    }
}
