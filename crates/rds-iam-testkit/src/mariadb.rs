//! [`MariaDb`]: a real MariaDB 10.11 that logs users in like RDS — IAM auth tokens only, checked by a SigV4
//! validator through PAM, over TLS with a test root → intermediate → leaf chain — on a free loopback port.
//!
//! How it works: `mariadb-install-db` creates a private datadir; `mariadbd` loads `auth_pam` with
//! `pam_use_cleartext_plugin=ON` (so clients send the token with `mysql_clear_password`, as with RDS); IAM users are
//! `IDENTIFIED VIA pam USING '<service>' REQUIRE SSL`; the PAM service `/etc/pam.d/rds-iam-test-<pid>-<random>`
//! runs `pam_exec.so expose_authtok quiet <rds-iam-pam-check> <config>`, and that binary validates the token with
//! [`crate::sigv4_check`] and logs every attempt (read them with [`MariaDb::attempts`]).
//!
//! Needs root (PAM services live in `/etc/pam.d`) and `apt-get install -y mariadb-server`. pam_exec passes at most
//! 511 bytes of password: long-term keys only (session-token tokens are ~1.1 KB; test those with the in-process
//! server). MariaDB reads the token even over plain TCP before `REQUIRE SSL` refuses the login: refusing to send it
//! without TLS is the client's job.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pki::{PkiFiles, TestPki};
use crate::sigv4_check::Expectation;

/// The access key id the test server trusts by default (AWS's documentation example).
pub const TEST_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret key paired with [`TEST_ACCESS_KEY_ID`].
pub const TEST_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// How long `mariadbd` may take to accept connections (2 shared cores, InnoDB start-up).
const STARTUP: Duration = Duration::from_secs(90);
/// How long `mariadbd` may take to stop after SIGTERM before it gets SIGKILL.
const SHUTDOWN: Duration = Duration::from_secs(30);
/// Where PAM reads service files from (it has no per-application directory).
const PAM_DIR: &str = "/etc/pam.d";
/// The prefix of our PAM service names.
const PAM_PREFIX: &str = "rds-iam-test-";
const INSTALL_HINT: &str = "install it with `apt-get install -y mariadb-server` (Debian/Ubuntu, as root)";

/// Settings for [`MariaDb::start`]. Required: the path of the `rds-iam-pam-check` binary (testkit cannot build it
/// for you: in testkit's own tests it is `env!("CARGO_BIN_EXE_rds-iam-pam-check")`, elsewhere
/// `$CARGO_TARGET_DIR/debug/rds-iam-pam-check` after `cargo build -p rds-iam-testkit`).
#[derive(Clone, Debug)]
pub struct MariaDbOptions {
    pam_check_binary: PathBuf,
    signing_host: String,
    signing_port: Option<u16>,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    certificate_names: Option<Vec<String>>,
    max_connections: Option<u32>,
}

impl MariaDbOptions {
    /// Defaults: tokens signed for `localhost` and the server's port, region `us-east-1`, key pair
    /// [`TEST_ACCESS_KEY_ID`] / [`TEST_SECRET_ACCESS_KEY`].
    pub fn new(pam_check_binary: impl Into<PathBuf>) -> MariaDbOptions {
        MariaDbOptions {
            pam_check_binary: pam_check_binary.into(),
            signing_host: "localhost".to_owned(),
            signing_port: None,
            region: "us-east-1".to_owned(),
            access_key_id: TEST_ACCESS_KEY_ID.to_owned(),
            secret_access_key: TEST_SECRET_ACCESS_KEY.to_owned(),
            session_token: None,
            certificate_names: None,
            max_connections: None,
        }
    }

    /// The names in the server certificate, replacing the default `localhost`, `127.0.0.1` and the signing host
    /// (to test a certificate that does not match the name dialed).
    pub fn certificate_names(mut self, names: &[&str]) -> MariaDbOptions {
        self.certificate_names = Some(names.iter().map(|n| (*n).to_owned()).collect());
        self
    }

    /// The host tokens must be signed for (like an RDS endpoint name reached through a tunnel). It is also added to
    /// the server certificate's names.
    pub fn signing_host(mut self, host: impl Into<String>) -> MariaDbOptions {
        self.signing_host = host.into();
        self
    }

    /// The port tokens must be signed for, when it is not the port the server listens on (a tunnel).
    pub fn signing_port(mut self, port: u16) -> MariaDbOptions {
        self.signing_port = Some(port);
        self
    }

    /// The region tokens must be signed for.
    pub fn region(mut self, region: impl Into<String>) -> MariaDbOptions {
        self.region = region.into();
        self
    }

    /// The one key pair the server trusts.
    pub fn credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> MariaDbOptions {
        self.access_key_id = access_key_id.into();
        self.secret_access_key = secret_access_key.into();
        self
    }

    /// Accept this many client connections at once (MariaDB's default is 151): for the proxy's benchmarks, which
    /// hold a thousand sessions open.
    pub fn max_connections(mut self, connections: u32) -> MariaDbOptions {
        self.max_connections = Some(connections);
        self
    }

    /// Temporary credentials: tokens must carry this session token (`X-Amz-Security-Token`); without it, a token
    /// that carries one is refused.
    pub fn session_token(mut self, session_token: impl Into<String>) -> MariaDbOptions {
        self.session_token = Some(session_token.into());
        self
    }
}

/// What the validator decided for one login attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PamOutcome {
    /// The token is valid: PAM said yes.
    Accepted,
    /// The token was refused.
    Rejected {
        /// [`crate::sigv4_check::Rejection::code`]: `wrong-user`, `wrong-region`, `signature-mismatch`, ….
        reason: String,
        /// The rejection's message.
        detail: String,
    },
    /// The check itself failed (config unreadable, stdin unreadable): the login was refused.
    Error(String),
}

impl PamOutcome {
    /// A [`PamOutcome::Error`].
    pub fn error(message: impl Into<String>) -> PamOutcome {
        PamOutcome::Error(message.into())
    }

    /// The rejection code, if the token was rejected.
    pub fn reason(&self) -> Option<&str> {
        match self {
            PamOutcome::Rejected { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// One login attempt as the PAM check logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PamAttempt {
    /// The DB user (`PAM_USER`).
    pub user: String,
    /// What the validator decided.
    pub outcome: PamOutcome,
}

/// The PAM check's attempt log: one tab-separated `key=value` line per attempt (user, outcome, reason, detail —
/// never the token). Shared by the `rds-iam-pam-check` binary (writer) and [`MariaDb::attempts`] (reader).
#[derive(Clone, Debug)]
pub struct PamAttemptLog {
    path: PathBuf,
}

impl PamAttemptLog {
    /// The log at `path`.
    pub fn new(path: impl Into<PathBuf>) -> PamAttemptLog {
        PamAttemptLog { path: path.into() }
    }

    /// Appends one attempt (one `write` call, so concurrent logins do not interleave lines).
    pub fn append(&self, user: &str, outcome: &PamOutcome) -> std::io::Result<()> {
        let mut line = format!("user={}", escape(user));
        match outcome {
            PamOutcome::Accepted => line.push_str("\toutcome=accepted"),
            PamOutcome::Rejected { reason, detail } => {
                line.push_str(&format!(
                    "\toutcome=rejected\treason={}\tdetail={}",
                    escape(reason),
                    escape(detail)
                ));
            }
            PamOutcome::Error(message) => line.push_str(&format!("\toutcome=error\tdetail={}", escape(message))),
        }
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        file.write_all(line.as_bytes())
    }

    /// Every attempt so far, oldest first (none if the log does not exist yet).
    pub fn read(&self) -> Vec<PamAttempt> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        text.lines().filter_map(parse_attempt).collect()
    }
}

fn parse_attempt(line: &str) -> Option<PamAttempt> {
    let field = |name: &str| {
        line.split('\t')
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .map(unescape)
    };
    let detail = field("detail").unwrap_or_default();
    let outcome = match field("outcome")?.as_str() {
        "accepted" => PamOutcome::Accepted,
        "rejected" => PamOutcome::Rejected {
            reason: field("reason").unwrap_or_default(),
            detail,
        },
        _ => PamOutcome::Error(detail),
    };
    Some(PamAttempt {
        user: field("user")?,
        outcome,
    })
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n")
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The MariaDB programs [`MariaDb`] runs.
#[derive(Clone, Debug)]
struct Programs {
    server: PathBuf,
    install_db: PathBuf,
    client: PathBuf,
}

impl Programs {
    fn find() -> Result<Programs, String> {
        let find = |names: &[&str]| -> Result<PathBuf, String> {
            crate::tools::find_program(names)
                .ok_or_else(|| format!("MariaDB's `{}` is not installed: {INSTALL_HINT}", names.join("` or `")))
        };
        Ok(Programs {
            server: find(&["mariadbd", "mysqld"])?,
            install_db: find(&["mariadb-install-db", "mysql_install_db"])?,
            client: find(&["mariadb", "mysql"])?,
        })
    }
}

/// A PAM service file, removed when dropped.
#[derive(Debug)]
struct PamService {
    name: String,
    path: PathBuf,
}

impl PamService {
    fn create(check_binary: &Path, config: &Path) -> Result<PamService, String> {
        remove_stale_pam_services();
        for path in [check_binary, config] {
            if path.to_string_lossy().contains(char::is_whitespace) {
                return Err(format!(
                    "{} contains whitespace, which a PAM service line cannot hold",
                    path.display()
                ));
            }
        }
        let name = format!("{PAM_PREFIX}{}-{:016x}", std::process::id(), random_u64());
        let path = Path::new(PAM_DIR).join(&name);
        let text = format!(
            "# rds-iam test server (removed when the test's MariaDb is dropped)\n\
             auth required {} expose_authtok quiet {} {}\n\
             account required pam_permit.so\n",
            pam_module("pam_exec.so"),
            check_binary.display(),
            config.display()
        );
        std::fs::write(&path, text).map_err(|e| {
            format!(
                "cannot write the PAM service {}: {e} (the MariaDB test server needs root: PAM reads services only \
                 from {PAM_DIR})",
                path.display()
            )
        })?;
        Ok(PamService { name, path })
    }
}

impl Drop for PamService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes PAM services left by test processes that died without dropping their server.
fn remove_stale_pam_services() {
    let Ok(entries) = std::fs::read_dir(PAM_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PAM_PREFIX)
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `module`'s absolute path if found in the usual PAM module directories, else the bare name (PAM's default
/// directory).
fn pam_module(module: &str) -> String {
    let mut dirs: Vec<PathBuf> = [
        "/usr/lib/security",
        "/lib/security",
        "/usr/lib64/security",
        "/lib64/security",
    ]
    .map(PathBuf::from)
    .to_vec();
    for lib in ["/usr/lib", "/lib"] {
        if let Ok(entries) = std::fs::read_dir(lib) {
            dirs.extend(entries.flatten().map(|e| e.path().join("security")));
        }
    }
    dirs.iter()
        .map(|dir| dir.join(module))
        .find(|path| path.is_file())
        .map_or_else(|| module.to_owned(), |path| path.display().to_string())
}

fn random_u64() -> u64 {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::collections::hash_map::RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A SQL string literal.
fn sql_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// A running RDS-like MariaDB on `127.0.0.1:<free port>`: TLS with a [`TestPki`] chain, IAM users checked by
/// [`crate::sigv4_check`] through PAM, a password admin user, root over the Unix socket. Dropping it stops the
/// server (SIGTERM, then SIGKILL), removes the PAM service and deletes the datadir.
///
/// ```no_run
/// use std::time::SystemTime;
/// use rds_iam_testkit::{MariaDb, MariaDbOptions, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};
/// use rds_iam_token::{Credentials, TokenRequest};
///
/// // In testkit's own integration tests: env!("CARGO_BIN_EXE_rds-iam-pam-check").
/// let server = MariaDb::start(MariaDbOptions::new("target/debug/rds-iam-pam-check"))?;
/// server.create_iam_user("iam_app")?;
///
/// let creds = Credentials::new(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY);
/// let request = TokenRequest::new(server.signing_host(), server.signing_port(), "iam_app", server.region())
///     .expect("valid request");
/// let token = request.sign(&creds, SystemTime::now()).expect("sign");
///
/// // Over TLS to 127.0.0.1:server.port(), trusting server.ca_path(); the token goes with mysql_clear_password.
/// let out = server.client_command("iam_app", token.expose()).args(["-e", "SELECT CURRENT_USER()"]).output()?;
/// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "iam_app@%");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MariaDb {
    // Fields drop in this order: the server stops first, then the PAM service file goes, then the directory.
    process: ServerProcess,
    port: u16,
    programs: Programs,
    socket: PathBuf,
    pki: PkiFiles,
    expectation: Expectation,
    attempts: PamAttemptLog,
    admin_password: String,
    pam: PamService,
    dir: tempfile::TempDir,
}

/// The password user [`MariaDb`] creates for admin tasks over TCP.
pub const ADMIN_USER: &str = "rds_admin";

impl MariaDb {
    /// Installs a datadir, starts `mariadbd` and waits until it answers, creates the PAM service and the admin
    /// user. Errors say what is missing (`mariadb-server`, root, the PAM check binary) and include the server's
    /// error log when it did not start.
    pub fn start(options: MariaDbOptions) -> Result<MariaDb, String> {
        if !options.pam_check_binary.is_file() {
            return Err(format!(
                "the PAM check binary {} does not exist: build it with `cargo build -p rds-iam-testkit --bin \
                 rds-iam-pam-check`",
                options.pam_check_binary.display()
            ));
        }
        let programs = Programs::find()?;
        let pam_check_binary = std::fs::canonicalize(&options.pam_check_binary)
            .map_err(|e| format!("{}: {e}", options.pam_check_binary.display()))?;
        let dir = tempfile::Builder::new()
            .prefix("rds-iam-mariadb-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let root = dir.path().to_path_buf();

        let mut names = vec!["localhost", "127.0.0.1"];
        if !names.contains(&options.signing_host.as_str()) {
            names.push(&options.signing_host);
        }
        if let Some(custom) = &options.certificate_names {
            names = custom.iter().map(String::as_str).collect();
        }
        let pki = TestPki::generate(&names)
            .write_to(&root)
            .map_err(|e| format!("cannot write the test PKI: {e}"))?;

        let datadir = root.join("data");
        install_datadir(&programs, &datadir, &root)?;

        let socket = root.join("mysqld.sock");
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let mut process = ServerProcess(spawn_server(
                &programs,
                &root,
                &datadir,
                (&socket, port),
                &pki,
                options.max_connections,
            )?);
            match wait_until_ready(&programs, &mut process.0, &socket, &root) {
                Ok(()) => return MariaDb::finish(options, pam_check_binary, programs, process, port, socket, pki, dir),
                Err(e) => {
                    drop(process);
                    let port_taken = e.contains("Address already in use") || e.contains("Can't start server: Bind");
                    if !port_taken {
                        return Err(e);
                    }
                    last_error = e;
                }
            }
        }
        Err(last_error)
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the pieces `start` assembled, moved into the server in one place"
    )]
    fn finish(
        options: MariaDbOptions,
        pam_check_binary: PathBuf,
        programs: Programs,
        process: ServerProcess,
        port: u16,
        socket: PathBuf,
        pki: PkiFiles,
        dir: tempfile::TempDir,
    ) -> Result<MariaDb, String> {
        let root = dir.path().to_path_buf();
        let mut expectation = Expectation::new(
            options.signing_host,
            options.signing_port.unwrap_or(port),
            "",
            options.region,
            options.access_key_id,
            options.secret_access_key,
        );
        if let Some(session_token) = options.session_token {
            expectation = expectation.with_session_token(session_token);
        }
        let config = root.join("pam-check.conf");
        OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&config)
            .and_then(|mut f| f.write_all(expectation.to_config().as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
        let attempts = PamAttemptLog::new(config.with_extension("log"));
        let pam = PamService::create(&pam_check_binary, &config)?;
        let server = MariaDb {
            process,
            port,
            programs,
            socket,
            pki,
            expectation,
            attempts,
            admin_password: format!("admin-{:016x}", random_u64()),
            pam,
            dir,
        };
        server.exec_sql_as_root(&format!(
            "CREATE USER {user}@'%' IDENTIFIED BY {password}; GRANT ALL ON *.* TO {user}@'%' WITH GRANT OPTION;",
            user = sql_string(ADMIN_USER),
            password = sql_string(&server.admin_password),
        ))?;
        Ok(server)
    }

    /// The port the server listens on (on `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// The root certificate clients must trust (`--ssl-ca`, a CA bundle).
    pub fn ca_path(&self) -> &Path {
        &self.pki.ca
    }

    /// The server's certificate chain and key files.
    pub fn pki(&self) -> &PkiFiles {
        &self.pki
    }

    /// The host tokens must be signed for (default `localhost`; the certificate is also valid for it).
    pub fn signing_host(&self) -> &str {
        self.expectation.host()
    }

    /// The port tokens must be signed for (default: [`MariaDb::port`]).
    pub fn signing_port(&self) -> u16 {
        self.expectation.port()
    }

    /// The region tokens must be signed for.
    pub fn region(&self) -> &str {
        self.expectation.region()
    }

    /// The access key id the server trusts.
    pub fn access_key_id(&self) -> &str {
        self.expectation.access_key_id()
    }

    /// What a token for `user` must satisfy (with the trusted secret key), for checking tokens without a login.
    pub fn expectation(&self, user: &str) -> Expectation {
        self.expectation.clone().with_user(user)
    }

    /// The PAM service IAM users are identified with.
    pub fn pam_service(&self) -> &str {
        &self.pam.name
    }

    /// The PAM service file (`/etc/pam.d/rds-iam-test-…`), removed on drop.
    pub fn pam_service_path(&self) -> &Path {
        &self.pam.path
    }

    /// The private directory (datadir, socket, PKI, PAM check config and log), removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The admin user's password ([`ADMIN_USER`], all privileges, any host, no TLS requirement).
    pub fn admin_password(&self) -> &str {
        &self.admin_password
    }

    /// The `mariadb` (or `mysql`) client program found.
    pub fn client_program(&self) -> &Path {
        &self.programs.client
    }

    /// The server's error log (for failure messages).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Creates `name`@`%` identified by the PAM service (tokens only) with `REQUIRE SSL`, like
    /// `CREATE USER … IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'` on RDS.
    pub fn create_iam_user(&self, name: &str) -> Result<(), String> {
        self.exec_sql_as_root(&format!(
            "CREATE USER {}@'%' IDENTIFIED VIA pam USING {} REQUIRE SSL",
            sql_string(name),
            sql_string(&self.pam.name)
        ))
        .map(drop)
    }

    /// Runs `sql` as root over the Unix socket with the `mariadb` client (`--batch --skip-column-names`) and
    /// returns its standard output.
    pub fn exec_sql_as_root(&self, sql: &str) -> Result<String, String> {
        run_sql_as_root(&self.programs, &self.socket, sql)
    }

    /// A `mariadb` client command that logs in as `user` with `password` (passed in `MYSQL_PWD`, not argv) to
    /// `127.0.0.1:port` over verified TLS (`--ssl-ca`, `--ssl-verify-server-cert`), output `--batch
    /// --skip-column-names`. Add `-e SQL` and run it. MariaDB 10.11's client sends the password with
    /// `mysql_clear_password` when the server asks for it (its `--enable-cleartext-plugin` is obsolete).
    pub fn client_command(&self, user: &str, password: &str) -> Command {
        let mut command = Command::new(&self.programs.client);
        command
            .arg("--no-defaults")
            .arg("--protocol=TCP")
            .arg("--host=127.0.0.1")
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={user}"))
            .arg(format!("--ssl-ca={}", self.pki.ca.display()))
            .arg("--ssl-verify-server-cert")
            .arg("--connect-timeout=10")
            .args(["--batch", "--skip-column-names"])
            .env("MYSQL_PWD", password)
            .stdin(Stdio::null());
        command
    }

    /// Every login attempt the PAM check saw, oldest first.
    pub fn attempts(&self) -> Vec<PamAttempt> {
        self.attempts.read()
    }
}

impl fmt::Debug for MariaDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MariaDb")
            .field("pid", &self.process.0.id())
            .field("port", &self.port)
            .field("dir", &self.dir.path())
            .field("pam_service", &self.pam.name)
            .field("expectation", &self.expectation)
            .finish_non_exhaustive()
    }
}

/// The `mariadbd` child, stopped when dropped (also when `start` fails half-way).
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        stop(&mut self.0);
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective uid).
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Options shared by `mariadb-install-db` (which passes them to its bootstrap server) and `mariadbd`: keep the
/// footprint small, several servers run at once.
const SMALL_FOOTPRINT: [&str; 3] = [
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=8M",
    "--skip-name-resolve",
];

fn install_datadir(programs: &Programs, datadir: &Path, root: &Path) -> Result<(), String> {
    let mut command = Command::new(&programs.install_db);
    command
        .arg("--no-defaults")
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .arg(format!("--datadir={}", datadir.display()))
        // Its own temporary files: parallel bootstraps sharing /tmp delete each other's temporary tables.
        .arg(format!("--tmpdir={}", root.display()))
        .args(SMALL_FOOTPRINT)
        .current_dir(root)
        .stdin(Stdio::null());
    if running_as_root() {
        command.arg("--user=root");
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run {}: {e}", programs.install_db.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}{}",
            programs.install_db.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

fn spawn_server(
    programs: &Programs,
    root: &Path,
    datadir: &Path,
    (socket, port): (&Path, u16),
    pki: &PkiFiles,
    max_connections: Option<u32>,
) -> Result<Child, String> {
    let error_log = root.join("error.log");
    // A retry on another port starts a fresh log: the caller reads it on failure.
    let _ = std::fs::remove_file(&error_log);
    let mut command = Command::new(&programs.server);
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", datadir.display()))
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", root.join("mysqld.pid").display()))
        .arg(format!("--log-error={}", error_log.display()))
        .arg(format!("--tmpdir={}", root.display()))
        .arg("--plugin-load-add=auth_pam")
        .arg("--pam-use-cleartext-plugin=ON")
        // Absolute paths: mariadbd changes into the datadir.
        .arg(format!("--ssl-ca={}", pki.ca.display()))
        .arg(format!("--ssl-cert={}", pki.chain.display()))
        .arg(format!("--ssl-key={}", pki.key.display()))
        .args(SMALL_FOOTPRINT)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if running_as_root() {
        command.arg("--user=root");
    }
    if let Some(connections) = max_connections {
        // A descriptor per connection and a few per table; as root, mariadbd raises its own limit to this.
        command.arg(format!("--max-connections={connections}")).arg(format!(
            "--open-files-limit={}",
            connections.saturating_mul(3).max(4096)
        ));
    }
    command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", programs.server.display()))
}

fn wait_until_ready(programs: &Programs, child: &mut Child, socket: &Path, root: &Path) -> Result<(), String> {
    let error_log = || std::fs::read_to_string(root.join("error.log")).unwrap_or_default();
    let deadline = Instant::now() + STARTUP;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "mariadbd exited ({status}) during start-up; its error log:\n{}",
                error_log()
            ));
        }
        if socket.exists() && run_sql_as_root(programs, socket, "SELECT 1").is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "mariadbd did not accept connections within {} s; its error log:\n{}",
                STARTUP.as_secs(),
                error_log()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run_sql_as_root(programs: &Programs, socket: &Path, sql: &str) -> Result<String, String> {
    let output = Command::new(&programs.client)
        .arg("--no-defaults")
        .arg("--protocol=SOCKET")
        .arg(format!("--socket={}", socket.display()))
        .arg("--user=root")
        .args(["--batch", "--skip-column-names"])
        .arg("-e")
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", programs.client.display()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{sql:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// SIGTERM (through `kill`, no `unsafe`), wait, then SIGKILL.
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + SHUTDOWN;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_log_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = PamAttemptLog::new(dir.path().join("a.log"));
        assert_eq!(log.read(), vec![]);
        let rejected = PamOutcome::Rejected {
            reason: "wrong-user".into(),
            detail: "DBUser is \"x\"\tand\nmore \\ stuff".into(),
        };
        log.append("iam_app", &PamOutcome::Accepted).expect("append");
        log.append("we\tird\nuser\\", &rejected).expect("append");
        log.append("u", &PamOutcome::error("no config")).expect("append");
        let attempts = log.read();
        assert_eq!(attempts.len(), 3);
        assert_eq!(attempts[0].user, "iam_app");
        assert_eq!(attempts[0].outcome, PamOutcome::Accepted);
        assert_eq!(attempts[1].user, "we\tird\nuser\\");
        assert_eq!(attempts[1].outcome, rejected);
        assert_eq!(attempts[1].outcome.reason(), Some("wrong-user"));
        assert_eq!(attempts[2].outcome, PamOutcome::Error("no config".into()));
    }

    #[test]
    fn sql_strings_are_quoted() {
        assert_eq!(sql_string("a'b\\c"), "'a''b\\\\c'");
    }
}
