//! Secret-leak audit: every `rds-iam` command (and sub-command) runs with `RUST_LOG=trace` against loopback test
//! servers — the RDS-like MariaDB, moto's RDS API, fake STS / SSO / ECS / IMDS endpoints, the HTTPS bundle server —
//! with credentials from every kind of source, and no secret key, session token, web identity or SSO token, ECS
//! authorization token, auth token or password appears in stderr (the logs), in any encoding. Stdout may show a
//! secret only where that is the command's purpose (`token` prints a token; `credentials --format process|env…`
//! prints the credentials), and then only the secrets that command was asked for.
//!
//! Every secret is random per run and carries a unique marker, so a match is unambiguous; the audit looks for the
//! value, its percent-encoded forms, its first and last 16 characters and the marker. A command added to the CLI
//! fails [`every_command_is_audited`] until it has a case in [`cases`] (or, if it handles no secret at all, an
//! entry in [`NO_SECRETS`]). Needs root, `mariadb-server` and the venv of `cargo xtask ci` (moto, the AWS CLI).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use rds_iam_e2e::{Rng, aws_cli, pam_check_bin, rds_iam_bin, seed_of};
use rds_iam_testkit::{
    ADMIN_USER, FakeBundleServer, FakeEcs, FakeHttpServer, FakeImds, FakeSsoPortal, FakeSts, MariaDb, MariaDbOptions,
    MotoServer, RdsLikeCa, Reply, SsoRoleCredentials, Tool, require_or_skip,
};
use rds_iam_token::{Credentials, TokenRequest};

/// Commands that handle no secret at all, run (with every credential in the environment) as given here. A command
/// belongs here only if it never reads credentials, tokens or passwords.
const NO_SECRETS: &[&str] = &["help", "help token", "completions bash", "completions zsh"];

/// How long one `rds-iam` run may take before the audit kills it (moto answers slowly on 2 shared cores).
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

const REGION: &str = "us-east-1";
const IAM_USER: &str = "iam_app";
const INSTANCE: &str = "leakdb";
const ACCOUNT: &str = "123456789012";
/// The SSO session name in the profile; its token cache file is `sha1("leak")`.
const SSO_SESSION: &str = "leak";
const SSO_CACHE_FILE: &str = "065c5c297f3c4990036a488c5b6c2a73075d439b.json";

/// Where a case's credentials come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`.
    Env,
    /// Profile `role`: `AssumeRole` at the fake STS, signed with the static keys of profile `base`.
    AssumeRole,
    /// Profile `denied`: `AssumeRole` that STS refuses (an error path).
    DeniedRole,
    /// Profile `proc`: `credential_process`.
    Process,
    /// Profile `sso`: the cached SSO token, then the fake portal's `GetRoleCredentials`.
    Sso,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`: `AssumeRoleWithWebIdentity` at the fake STS.
    WebIdentity,
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`: the fake ECS endpoint.
    Ecs,
    /// The fake IMDSv2 (the key pair the MariaDB trusts).
    Imds,
    /// A fake IMDSv2 whose credentials document is truncated JSON holding the secrets (an error path).
    BrokenImds,
}

/// What a command's stdout may show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shows {
    /// No secret.
    Nothing,
    /// An auth token signed with the case's credentials (so their session token, percent-encoded).
    Token,
    /// The case's credentials: secret key and session token (never the secrets they were obtained with).
    Credentials,
}

/// One run of `rds-iam`.
#[derive(Clone, Debug)]
struct Case {
    args: Vec<String>,
    source: Source,
    /// Standard input.
    stdin: Option<String>,
    /// Exit status 0 expected (else a failure is).
    success: bool,
    /// Text stdout or stderr must contain (alternatives separated by `|`): proof that the case did what it is
    /// meant to.
    expect: String,
    /// Reads no credentials and does no network I/O (or fails before), so it may log nothing.
    quiet: bool,
    /// A server (`proxy`): once it printed its ready line, the `mariadb` client runs this SQL through it as
    /// [`IAM_USER`], then the server gets SIGTERM; its exit by that signal (143) counts as success.
    serve: Option<String>,
}

impl Case {
    /// `rds-iam LINE` (split at whitespace) with credentials from `source`.
    fn new(source: Source, line: &str) -> Case {
        Case {
            args: line.split_whitespace().map(str::to_owned).collect(),
            source,
            stdin: None,
            success: true,
            expect: String::new(),
            quiet: false,
            serve: None,
        }
    }
    /// Serves until the `mariadb` client ran `sql` through it (see [`Case::serve`]).
    fn serve(mut self, sql: &str) -> Case {
        self.serve = Some(sql.to_owned());
        self
    }
    /// One more argument (which may hold spaces).
    fn arg(mut self, arg: &str) -> Case {
        self.args.push(arg.to_owned());
        self
    }
    fn quiet(mut self) -> Case {
        self.quiet = true;
        self
    }
    fn expect(mut self, text: &str) -> Case {
        self.expect = text.to_owned();
        self
    }
    fn fails(mut self, text: &str) -> Case {
        self.success = false;
        self.expect(text)
    }
    fn stdin(mut self, text: &str) -> Case {
        self.stdin = Some(text.to_owned());
        self
    }
    /// The only exceptions, read from the command line: `token` (and its alias, not `token inspect`) prints a
    /// token; `credentials --format process|env|env-no-export` prints the credentials. Nothing else shows a secret.
    fn shows(&self) -> Shows {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        match args.as_slice() {
            ["token" | "generate-db-auth-token", "inspect", ..] => Shows::Nothing,
            ["token" | "generate-db-auth-token", ..] => Shows::Token,
            ["credentials", rest @ ..] => match rest.iter().position(|a| *a == "--format") {
                Some(i) if ["process", "env", "env-no-export"].contains(&rest.get(i + 1).copied().unwrap_or("")) => {
                    Shows::Credentials
                }
                _ => Shows::Nothing,
            },
            _ => Shows::Nothing,
        }
    }
    fn label(&self) -> String {
        format!("rds-iam {} [{:?}]", self.args.join(" "), self.source)
    }
}

/// What the cases need to know about the test bed (plain strings, so the coverage check needs no servers).
struct Bed {
    port: String,
    ca: String,
    other_ca: String,
    /// A token signed by the test (for `token inspect`).
    token: String,
    /// `RDS_IAM_CACHE_DIR`: `ca fetch` stores the bundle in its `ca/`.
    cache_dir: String,
    /// `HOME`, with `.aws/credentials` (static keys) in it.
    home: String,
}

/// The audit's table: every command and sub-command, with credentials from every source, success and error paths.
/// A case is a command line (split at spaces; `.arg` adds one with spaces), its credential source, and the text that
/// proves it did what it is for.
fn cases(bed: &Bed) -> Vec<Case> {
    use Source::*;
    let db = |cmd: &str| {
        format!(
            "{cmd} --hostname localhost --port {} --region {REGION} --username {IAM_USER}",
            bed.port
        )
    };
    let connect = |cmd: &str| format!("{} --ca-bundle {}", db(cmd), bed.ca);
    let instance = format!("--db-instance {INSTANCE} --region {REGION}");
    let home = &bed.home;
    let mut cases = Vec::new();

    // `token` with credentials from every source; it prints the token on purpose.
    for source in [Env, AssumeRole, Process, Sso, WebIdentity, Ecs, Imds] {
        cases.push(Case::new(source, &db("token")).expect("X-Amz-Signature="));
    }
    let alias = format!("{} --expires-in 60", db("generate-db-auth-token"));
    cases.push(Case::new(Env, &alias).expect("X-Amz-Expires=60"));
    cases.push(Case::new(DeniedRole, &db("token")).fails("AccessDenied"));
    cases.push(Case::new(BrokenImds, &db("token")).fails("instance metadata"));
    cases.push(
        Case::new(Env, &format!("{} --expires-in 901", db("token")))
            .quiet()
            .fails("1 to 900"),
    );
    // `token inspect`: a token signed with session credentials as an argument, on stdin (JSON); a malformed one.
    let inspect = Case::new(Env, "token inspect").quiet();
    cases.push(inspect.clone().arg(&bed.token).expect("session token: yes"));
    let json = Case::new(Env, "token inspect - --output json")
        .quiet()
        .stdin(&bed.token);
    cases.push(json.expect("\"session_token\": true"));
    cases.push(
        inspect
            .arg(&bed.token.replace("X-Amz-Date=", "X-Amz-Dat="))
            .fails("error:"),
    );

    // `credentials`: the text format never shows a secret; process / env formats show the credentials, asked.
    for (source, shown) in [
        (Env, "environment"),
        (AssumeRole, "profile role"),
        (Process, "profile proc"),
        (Sso, "profile sso"),
        (WebIdentity, "web identity"),
        (Ecs, "container credentials"),
        (Imds, "ec2 instance metadata"),
    ] {
        cases.push(Case::new(source, "credentials").expect(shown));
    }
    for (source, format) in [
        (Imds, "process"),
        (AssumeRole, "process"),
        (Ecs, "env"),
        (Sso, "env"),
        (WebIdentity, "env-no-export"),
        (Process, "env-no-export"),
    ] {
        let case = Case::new(source, &format!("credentials --format {format}"));
        cases.push(case.expect("AWS_ACCESS_KEY_ID|AccessKeyId"));
    }
    cases.push(Case::new(DeniedRole, "credentials").fails("AccessDenied"));
    cases.push(Case::new(BrokenImds, "credentials --format process").fails("instance metadata"));

    // `connect`: a login over TLS (SQL as an argument, and on stdin); a token the server rejects (another key pair,
    // another host); the wrong CA; a token file given as the CA.
    let sql = |case: Case| case.arg("-e").arg("SELECT CURRENT_USER()");
    cases.push(sql(Case::new(Imds, &format!("{} --output tsv", connect("connect")))).expect("iam_app@%"));
    let stdin = Case::new(Imds, &format!("{} --output json", connect("connect"))).stdin("SELECT 1 AS one");
    cases.push(stdin.expect("\"one\""));
    cases.push(sql(Case::new(Ecs, &connect("connect"))).fails("the server rejected the IAM token"));
    let other_host = format!(
        "{} --signing-host other.example.com --danger-skip-hostname-check",
        connect("connect")
    );
    cases.push(sql(Case::new(Sso, &other_host)).fails("the server rejected the IAM token"));
    let wrong_ca = format!("{} --ca-bundle {}", db("connect"), bed.other_ca);
    cases.push(sql(Case::new(Imds, &wrong_ca)).fails("is not issued by a CA"));
    let token_ca = format!("{} --ca-bundle {home}/web-identity-token", db("connect"));
    cases.push(sql(Case::new(Imds, &token_ca)).fails("error:"));
    // `mysql`: the installed client, logged in; and refused.
    let client = |case: Case| case.arg("--").arg("--batch").arg("-e").arg("SELECT CURRENT_USER()");
    cases.push(client(Case::new(Imds, &connect("mysql"))).expect("iam_app@%"));
    cases.push(client(Case::new(WebIdentity, &connect("mysql"))).fails("Access denied"));
    // The name waiver (once the client fell back to plain text), and connection/TLS overrides after `--`.
    let waived = format!("{} --danger-skip-hostname-check", connect("mysql"));
    cases.push(client(Case::new(Imds, &waived)).expect("iam_app@%"));
    cases.push(
        client(Case::new(Process, &waived))
            .arg("--skip-ssl")
            .quiet()
            .fails("is not allowed after `--`"),
    );
    let redirect = client(Case::new(Ecs, &connect("mysql"))).arg("--host=127.0.0.1");
    cases.push(redirect.quiet().fails("is not allowed after `--`"));

    // `proxy`: a client's login through it (the token is the proxy's own), and one the database refuses.
    let proxy = format!(
        "proxy --hostname localhost --port {} --region {REGION} --ca-bundle {} --user {IAM_USER} --listen 127.0.0.1:0",
        bed.port, bed.ca
    );
    cases.push(
        Case::new(Imds, &proxy)
            .serve("SELECT CURRENT_USER()")
            .expect("logged in"),
    );
    cases.push(Case::new(WebIdentity, &proxy).serve("SELECT 1").expect("Access denied"));

    // `ca`: fetch from the HTTPS bundle server (download, forced, revalidated; a missing one), path, verify.
    cases.push(Case::new(Env, "ca fetch").expect("downloaded"));
    cases.push(Case::new(Env, "ca fetch --force").expect("downloaded"));
    cases.push(Case::new(Env, "ca fetch").expect("unchanged|cached"));
    cases.push(Case::new(Env, "ca fetch --region eu-west-1").fails("could not fetch"));
    cases.push(Case::new(Imds, "ca path").quiet().expect("global-bundle.pem"));
    let cached = format!("ca verify {}/ca/global-bundle.pem --output json", bed.cache_dir);
    cases.push(Case::new(Env, &cached).quiet().expect("\"valid\":true"));
    let no_region = format!("ca verify {} --region eu-west-1", bed.ca);
    cases.push(Case::new(Env, &no_region).quiet().fails("NOT valid"));
    // Secret files mistaken for a bundle: the error must not quote them.
    for file in [".aws/credentials", "web-identity-token", "ecs-token"] {
        cases.push(
            Case::new(Env, &format!("ca verify {home}/{file}"))
                .quiet()
                .fails("NOT valid"),
        );
    }

    // The RDS API (moto), with temporary credentials from several sources.
    cases.push(Case::new(AssumeRole, &format!("describe {instance}")).expect("IAM auth:"));
    cases.push(Case::new(Ecs, &format!("describe {instance} --output json")).expect("\"resource_id\""));
    let missing = format!("describe --db-instance nosuchdb --region {REGION}");
    cases.push(Case::new(Imds, &missing).fails("not found"));
    cases.push(Case::new(DeniedRole, &format!("describe {instance}")).fails("AccessDenied"));
    let enable = format!("enable {instance} --apply-immediately --wait --poll-interval 1");
    cases.push(Case::new(WebIdentity, &enable).expect("IAM database authentication"));
    cases.push(Case::new(Sso, &format!("enable {instance}")).expect("already enabled"));
    let policy = format!("policy {instance} --username {IAM_USER}");
    cases.push(Case::new(Process, &policy).expect("rds-db:connect"));
    let offline = format!(
        "policy --resource-id db-ABCDEFGHIJKL --account {ACCOUNT} --region {REGION} --username {IAM_USER} \
         --role-name app"
    );
    cases.push(Case::new(Env, &offline).quiet().expect("put-role-policy"));

    // `doctor`: every check with temporary credentials (STS GetCallerIdentity, the RDS API, a TLS login), and a
    // refused login with its causes.
    let doctor = format!("{} --db-instance {INSTANCE}", connect("doctor"));
    cases.push(Case::new(Imds, &doctor).expect("logged in as"));
    cases.push(Case::new(Ecs, &format!("{doctor} --output json")).fails("\"causes\""));
    cases.push(Case::new(Process, &format!("{doctor} --offline")).fails("Likely causes"));

    // `create-user`: print; run as the master user with the password from the environment (MariaDB has no
    // AWSAuthenticationPlugin, so the statement fails after the login); a wrong password is refused.
    let print = Case::new(Env, "create-user --username app --grant").arg("SELECT ON shop.*");
    cases.push(print.quiet().expect("CREATE USER"));
    let execute = |var: &str| {
        let line = format!(
            "create-user --username leak_app --engine mariadb --execute --hostname localhost --port {} \
             --master-user {ADMIN_USER} --password-env {var} --ca-bundle {}",
            bed.port, bed.ca
        );
        Case::new(Env, &line)
    };
    cases.push(execute("MASTER_PASSWORD").fails("AWSAuthenticationPlugin"));
    cases.push(execute("WRONG_PASSWORD").fails("cannot log in"));

    for line in NO_SECRETS {
        cases.push(Case::new(Env, line).quiet());
    }
    cases
}

/// One secret of this run.
#[derive(Clone, Debug)]
struct Planted {
    name: String,
    value: String,
    /// A random part of the value, unique to this run.
    marker: String,
}

/// Every secret of this run, by source.
struct Secrets {
    env: Creds,
    base: Creds,
    process: Creds,
    sso: Creds,
    sso_token: Planted,
    /// The SSO token as `aws sso login` cached it, ten minutes from expiry: the first SSO run refreshes it with
    /// the refresh token and client secret at the fake SSO-OIDC, which answers `sso_token` and a new refresh token.
    sso_expiring_token: Planted,
    sso_refresh_token: Planted,
    sso_client_secret: Planted,
    sso_new_refresh_token: Planted,
    web_identity_token: Planted,
    ecs: Creds,
    ecs_auth: Planted,
    imds: Creds,
    broken_imds: Creds,
    master_password: Planted,
    wrong_password: Planted,
    role_arn: String,
    web_role_arn: String,
}

#[derive(Clone, Debug)]
struct Creds {
    access_key_id: String,
    secret: Planted,
    session: Option<Planted>,
}

const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn planted(rng: &mut Rng, name: &str, prefix: &str, tail_len: usize) -> Planted {
    let marker = format!("{:016x}", rng.next_u64());
    // `/`, `+` and `=` make the encoded forms differ from the value.
    let value = format!("{prefix}{marker}/+={}", rng.string(B64, tail_len));
    Planted {
        name: name.to_owned(),
        value,
        marker,
    }
}

fn creds(rng: &mut Rng, name: &str, session: bool) -> Creds {
    Creds {
        access_key_id: format!("ASIA{}", rng.string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        secret: planted(rng, &format!("{name} secret key"), "Sk", 22),
        session: session.then(|| planted(rng, &format!("{name} session token"), "IQoJb3Jp", 120)),
    }
}

/// A secret the fake STS derives from the role and the caller (`secret{hash}/+=`, `token{hash}+/==`): the key and
/// the token share the hash, so the marker keeps the prefix.
fn derived(name: &str, value: String) -> Planted {
    let marker = value.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned();
    Planted {
        name: name.to_owned(),
        value,
        marker,
    }
}

impl Secrets {
    fn generate(rng: &mut Rng) -> Secrets {
        let run = format!("{:08x}", rng.next_u64() as u32);
        Secrets {
            env: creds(rng, "environment", true),
            base: creds(rng, "source profile", false),
            process: creds(rng, "credential_process", true),
            sso: creds(rng, "SSO role", true),
            sso_token: planted(rng, "SSO access token", "aoa", 200),
            sso_expiring_token: planted(rng, "expiring SSO access token", "aoa", 200),
            sso_refresh_token: planted(rng, "SSO refresh token", "aor", 200),
            sso_client_secret: planted(rng, "SSO client secret", "eyJraWQiOiJrZXktMTU2", 300),
            sso_new_refresh_token: planted(rng, "new SSO refresh token", "aor", 200),
            web_identity_token: planted(rng, "web identity token", "eyJhbGciOiJSUzI1NiJ9.", 150),
            ecs: creds(rng, "ECS", true),
            ecs_auth: planted(rng, "ECS authorization token", "Bearer-", 30),
            imds: creds(rng, "IMDS", true),
            broken_imds: creds(rng, "broken IMDS", true),
            master_password: planted(rng, "master password", "Pw", 8),
            wrong_password: planted(rng, "wrong master password", "Wr", 8),
            role_arn: format!("arn:aws:iam::{ACCOUNT}:role/leak-{run}"),
            web_role_arn: format!("arn:aws:iam::{ACCOUNT}:role/web-{run}"),
        }
    }

    /// The credentials STS hands out for `AssumeRole` (profile `role`) and `AssumeRoleWithWebIdentity`.
    fn sts(&self, web: bool) -> Creds {
        let (key, secret, token) = if web {
            FakeSts::credentials_for(&self.web_role_arn, &self.web_identity_token.value)
        } else {
            FakeSts::credentials_for(&self.role_arn, &self.base.access_key_id)
        };
        let name = if web { "web identity role" } else { "assumed role" };
        Creds {
            access_key_id: key,
            secret: derived(&format!("{name} secret key"), secret),
            session: Some(derived(&format!("{name} session token"), token)),
        }
    }

    /// The credentials a case signs with (those `credentials --format process` may show).
    fn resolved(&self, source: Source) -> Option<Creds> {
        match source {
            Source::Env => Some(self.env.clone()),
            Source::AssumeRole => Some(self.sts(false)),
            Source::Process => Some(self.process.clone()),
            Source::Sso => Some(self.sso.clone()),
            Source::WebIdentity => Some(self.sts(true)),
            Source::Ecs => Some(self.ecs.clone()),
            Source::Imds => Some(self.imds.clone()),
            Source::DeniedRole | Source::BrokenImds => None,
        }
    }

    /// Every secret of the run.
    fn all(&self) -> Vec<Planted> {
        let mut all = vec![
            self.sso_token.clone(),
            self.sso_expiring_token.clone(),
            self.sso_refresh_token.clone(),
            self.sso_client_secret.clone(),
            self.sso_new_refresh_token.clone(),
            self.web_identity_token.clone(),
            self.ecs_auth.clone(),
            self.master_password.clone(),
            self.wrong_password.clone(),
        ];
        for creds in [
            &self.env,
            &self.base,
            &self.process,
            &self.sso,
            &self.ecs,
            &self.imds,
            &self.broken_imds,
            &self.sts(false),
            &self.sts(true),
        ] {
            all.push(creds.secret.clone());
            all.extend(creds.session.clone());
        }
        all
    }
}

/// `s` with every byte but RFC 3986's unreserved ones percent-encoded (`upper`case hex or not).
fn percent(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ if upper => format!("%{b:02X}"),
            _ => format!("%{b:02x}"),
        })
        .collect()
}

/// The forms in which a leak of `secret` is recognised.
fn forms(secret: &Planted) -> BTreeSet<String> {
    let v = &secret.value;
    let chars: Vec<char> = v.chars().collect();
    let head: String = chars.iter().take(16).collect();
    let tail: String = chars[chars.len().saturating_sub(16)..].iter().collect();
    [
        v.clone(),
        percent(v, true),
        percent(v, false),
        percent(&percent(v, true), true),
        v.replace('/', "\\/"),
        head,
        tail,
        secret.marker.clone(),
    ]
    .into_iter()
    .collect()
}

/// Text that only an auth token (or a piece of one) contains.
const TOKEN_PIECES: &[&str] = &["X-Amz-Signature", "X-Amz-Security-Token=", "Action=connect&DBUser"];

/// Removes ANSI colour sequences (the log format colours field names).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The `X-Amz-Signature` of a token.
fn signature(token: &str) -> Option<String> {
    let (_, rest) = token.split_once("X-Amz-Signature=")?;
    Some(rest.chars().take_while(char::is_ascii_hexdigit).collect())
}

/// A finished run.
struct Ran {
    case: Case,
    status: ExitStatus,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// The servers and files of the audit.
struct TestBed {
    home: tempfile::TempDir,
    secrets: Secrets,
    mariadb: MariaDb,
    moto: MotoServer,
    sts: FakeSts,
    sso: FakeSsoPortal,
    sso_oidc: FakeHttpServer,
    ecs: FakeEcs,
    imds: FakeImds,
    broken_imds: FakeImds,
    bundles: FakeBundleServer,
    bed: Bed,
}

fn write_file(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

impl TestBed {
    fn start(secrets: Secrets) -> TestBed {
        let imds_session = secrets.imds.session.clone().unwrap().value;
        // MariaDB and moto start in parallel: both take seconds.
        let options = MariaDbOptions::new(pam_check_bin())
            .credentials(&secrets.imds.access_key_id, &secrets.imds.secret.value)
            .session_token(imds_session);
        let (mariadb, moto) = std::thread::scope(|s| {
            let moto = s.spawn(MotoServer::start);
            let mariadb = MariaDb::start(options).unwrap_or_else(|e| panic!("MariaDB: {e}"));
            (mariadb, moto.join().unwrap())
        });
        mariadb.create_iam_user(IAM_USER).unwrap();
        mariadb
            .exec_sql_as_root(&format!(
                "ALTER USER '{ADMIN_USER}'@'%' IDENTIFIED BY '{}'",
                secrets.master_password.value
            ))
            .unwrap();

        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        let expiry = "2099-01-01T00:00:00Z";
        let json = |c: &Creds, f: fn(&str, &str, &str, &str) -> String| {
            f(
                &c.access_key_id,
                &c.secret.value,
                &c.session.as_ref().unwrap().value,
                expiry,
            )
        };
        let imds = FakeImds::start("leak-role", json(&secrets.imds, FakeImds::credentials_json));
        let broken_imds = FakeImds::start("leak-role", "");
        let full = json(&secrets.broken_imds, FakeImds::credentials_json);
        broken_imds.set_credentials_reply(Reply::text(200, &full[..full.len() - 40]));
        let ecs = FakeEcs::start(json(&secrets.ecs, FakeEcs::credentials_json));
        ecs.expect_auth_token(&secrets.ecs_auth.value);
        let sso = FakeSsoPortal::start(&secrets.sso_token.value, ACCOUNT, "Leak");
        let mut role = SsoRoleCredentials::default();
        role.access_key_id = secrets.sso.access_key_id.clone();
        role.secret_access_key = secrets.sso.secret.value.clone();
        role.session_token = secrets.sso.session.clone().unwrap().value;
        sso.set_credentials(role);
        let refreshed = format!(
            r#"{{"accessToken": "{}", "expiresIn": 28800, "refreshToken": "{}", "tokenType": "Bearer"}}"#,
            secrets.sso_token.value, secrets.sso_new_refresh_token.value
        );
        let sso_oidc = FakeHttpServer::start(move |_| Reply::json(200, refreshed.clone()));
        let sts = FakeSts::start();

        let bundles = FakeBundleServer::start();
        bundles.serve_pem(
            "/global/global-bundle.pem",
            [RdsLikeCa::root(REGION).pem(), RdsLikeCa::root("eu-west-1").pem()].concat(),
            "\"v1\"",
        );
        write_file(&h.join("download-root.pem"), bundles.root_pem());

        let base = &secrets.base;
        write_file(
            &h.join(".aws/credentials"),
            &format!(
                "[base]\naws_secret_access_key = {}\naws_access_key_id = {}\n",
                base.secret.value, base.access_key_id
            ),
        );
        let p = &secrets.process;
        write_file(
            &h.join(".aws/config"),
            &format!(
                "[profile role]\nrole_arn = {role}\nsource_profile = base\n\n\
                 [profile denied]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/denied\nsource_profile = base\n\n\
                 [profile proc]\ncredential_process = printf '{{\"Version\":1,\"AccessKeyId\":\"{}\",\
                 \"SecretAccessKey\":\"{}\",\"SessionToken\":\"{}\",\"Expiration\":\"{expiry}\"}}'\n\n\
                 [profile sso]\nsso_session = {SSO_SESSION}\nsso_account_id = {ACCOUNT}\nsso_role_name = Leak\n\n\
                 [sso-session {SSO_SESSION}]\nsso_start_url = https://d-leak.awsapps.com/start\n\
                 sso_region = {REGION}\n",
                p.access_key_id,
                p.secret.value,
                p.session.as_ref().unwrap().value,
                role = secrets.role_arn,
            ),
        );
        let ten_minutes = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + time::Duration::minutes(10);
        let ten_minutes = ten_minutes
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        write_file(
            &h.join(".aws/sso/cache").join(SSO_CACHE_FILE),
            &serde_json::json!({
                "startUrl": "https://d-leak.awsapps.com/start",
                "region": REGION,
                "accessToken": secrets.sso_expiring_token.value,
                "expiresAt": ten_minutes,
                "clientId": "leak-client",
                "clientSecret": secrets.sso_client_secret.value,
                "registrationExpiresAt": expiry,
                "refreshToken": secrets.sso_refresh_token.value,
            })
            .to_string(),
        );
        write_file(&h.join("web-identity-token"), &secrets.web_identity_token.value);
        write_file(&h.join("ecs-token"), &secrets.ecs_auth.value);
        // Hostile client option files for every `rds-iam mysql` case: TLS off, and the server redirected to the
        // DB's plain port. The client must still never see a token (it only talks to rds-iam's private socket).
        let hostile = format!(
            "[client]\nskip-ssl\nssl=0\nloose-ssl-mode=DISABLED\nprotocol=TCP\nhost=127.0.0.1\nport={}\n",
            mariadb.port()
        );
        write_file(&h.join(".my.cnf"), &hostile);
        std::fs::create_dir(h.join("mysql-home")).unwrap();
        write_file(&h.join("mysql-home/my.cnf"), &hostile);
        std::fs::create_dir(h.join("other-ca")).unwrap();
        let other_ca = rds_iam_testkit::TestPki::generate(&["localhost"])
            .write_to(&h.join("other-ca"))
            .unwrap()
            .ca;

        let e = &secrets.env;
        let token = TokenRequest::new("localhost", mariadb.port(), IAM_USER, REGION)
            .unwrap()
            .sign(
                &Credentials::new(&e.access_key_id, &e.secret.value)
                    .with_session_token(&e.session.as_ref().unwrap().value),
                SystemTime::now(),
            )
            .unwrap()
            .expose()
            .to_owned();
        let bed = Bed {
            port: mariadb.port().to_string(),
            ca: mariadb.ca_path().display().to_string(),
            other_ca: other_ca.display().to_string(),
            token,
            cache_dir: h.join("cache").display().to_string(),
            home: h.display().to_string(),
        };
        let test_bed = TestBed {
            home,
            secrets,
            mariadb,
            moto,
            sts,
            sso,
            sso_oidc,
            ecs,
            imds,
            broken_imds,
            bundles,
            bed,
        };
        test_bed.create_instance();
        test_bed
    }

    /// A MySQL instance in moto, IAM auth off (for `describe`, `enable`, `policy`).
    fn create_instance(&self) {
        let aws = aws_cli();
        let out = Command::new(&aws)
            .args([
                "--endpoint-url",
                &self.moto.url(),
                "--region",
                REGION,
                "rds",
                "create-db-instance",
            ])
            .args([
                "--db-instance-identifier",
                INSTANCE,
                "--engine",
                "mysql",
                "--engine-version",
                "8.0.40",
            ])
            .args(["--db-instance-class", "db.t3.micro", "--master-username", "admin"])
            .args(["--master-user-password", "password123", "--allocated-storage", "20"])
            .arg("--no-enable-iam-database-authentication")
            .env_clear()
            .env("HOME", self.home.path())
            .env("AWS_ACCESS_KEY_ID", "AKIDMOTOSETUP")
            .env("AWS_SECRET_ACCESS_KEY", "moto-setup")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", aws.display()));
        assert!(
            out.status.success(),
            "aws rds create-db-instance: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The environment of a case: nothing inherited but `PATH`; every AWS endpoint on loopback.
    fn env(&self, case: &Case) -> Vec<(String, String)> {
        let h = self.home.path();
        let s = &self.secrets;
        let path = |p: &Path| p.display().to_string();
        let mut env: Vec<(String, String)> = [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("HOME", path(h)),
            ("XDG_CACHE_HOME", path(&h.join(".cache"))),
            ("AWS_CONFIG_FILE", path(&h.join(".aws/config"))),
            ("AWS_SHARED_CREDENTIALS_FILE", path(&h.join(".aws/credentials"))),
            ("AWS_ENDPOINT_URL_RDS", self.moto.url()),
            ("AWS_ENDPOINT_URL_STS", self.sts.url()),
            ("AWS_ENDPOINT_URL_SSO", self.sso.url()),
            ("AWS_ENDPOINT_URL_SSO_OIDC", self.sso_oidc.url()),
            ("RDS_IAM_CACHE_DIR", self.bed.cache_dir.clone()),
            ("RDS_IAM_CA_BASE_URL", self.bundles.url()),
            ("RDS_IAM_CA_DOWNLOAD_ROOT", path(&h.join("download-root.pem"))),
            ("MASTER_PASSWORD", s.master_password.value.clone()),
            ("WRONG_PASSWORD", s.wrong_password.value.clone()),
            ("MYSQL_HOME", path(&h.join("mysql-home"))),
            ("RUST_LOG", "trace".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut set = |k: &str, v: String| env.push((k.to_owned(), v));
        // Instance metadata only where it is the source; elsewhere off, and a closed loopback port besides.
        match case.source {
            Source::Imds => set("AWS_EC2_METADATA_SERVICE_ENDPOINT", self.imds.url()),
            Source::BrokenImds => set("AWS_EC2_METADATA_SERVICE_ENDPOINT", self.broken_imds.url()),
            _ => {
                set("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9".to_owned());
                set("AWS_EC2_METADATA_DISABLED", "true".to_owned());
            }
        }
        match case.source {
            Source::Env => {
                set("AWS_ACCESS_KEY_ID", s.env.access_key_id.clone());
                set("AWS_SECRET_ACCESS_KEY", s.env.secret.value.clone());
                set("AWS_SESSION_TOKEN", s.env.session.clone().unwrap().value);
            }
            Source::AssumeRole => set("AWS_PROFILE", "role".to_owned()),
            Source::DeniedRole => set("AWS_PROFILE", "denied".to_owned()),
            Source::Process => set("AWS_PROFILE", "proc".to_owned()),
            Source::Sso => set("AWS_PROFILE", "sso".to_owned()),
            Source::WebIdentity => {
                set("AWS_WEB_IDENTITY_TOKEN_FILE", path(&h.join("web-identity-token")));
                set("AWS_ROLE_ARN", s.web_role_arn.clone());
            }
            Source::Ecs => {
                set("AWS_CONTAINER_CREDENTIALS_FULL_URI", self.ecs.credentials_url());
                set("AWS_CONTAINER_AUTHORIZATION_TOKEN", s.ecs_auth.value.clone());
            }
            Source::Imds | Source::BrokenImds => {}
        }
        env
    }

    fn run(&self, case: &Case) -> Ran {
        let dir = tempfile::tempdir().unwrap();
        let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let stdin = match &case.stdin {
            Some(text) => {
                let file = dir.path().join("stdin");
                std::fs::write(&file, text).unwrap();
                Stdio::from(File::open(file).unwrap())
            }
            None => Stdio::null(),
        };
        let started = Instant::now();
        let mut child = Command::new(rds_iam_bin())
            .args(&case.args)
            .env_clear()
            .envs(self.env(case))
            .current_dir(self.home.path())
            .stdin(stdin)
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .spawn()
            .unwrap();
        if let Some(sql) = &case.serve {
            serve_one_client(&out, sql, started);
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        }
        let status = loop {
            if let Some(mut status) = child.try_wait().unwrap() {
                if case.serve.is_some() && status.code() == Some(128 + 15) {
                    // Stopped by the audit's SIGTERM, as asked: the server's success.
                    status = std::os::unix::process::ExitStatusExt::from_raw(0);
                }
                break status;
            }
            if started.elapsed() > RUN_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not finish within {RUN_TIMEOUT:?}", case.label());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let read = |p: &Path| strip_ansi(&String::from_utf8_lossy(&std::fs::read(p).unwrap()));
        Ran {
            case: case.clone(),
            status,
            stdout: read(&out),
            stderr: read(&err),
            took: started.elapsed(),
        }
    }
}

/// Waits for the ready line of a server writing its stdout to `stdout`, then runs `sql` through it with the
/// `mariadb` client as [`IAM_USER`] (no password, no TLS: the proxy's side).
fn serve_one_client(stdout: &Path, sql: &str, started: Instant) {
    let port = loop {
        let text = std::fs::read_to_string(stdout).unwrap_or_default();
        if let Some(port) = text
            .split_once("127.0.0.1:")
            .and_then(|(_, rest)| rest.split(' ').next())
            .and_then(|port| port.parse::<u16>().ok())
        {
            break port;
        }
        assert!(started.elapsed() < RUN_TIMEOUT, "the server did not start: {text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = Command::new("mariadb")
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "--host=127.0.0.1",
            "--skip-ssl",
            "--batch",
        ])
        .arg(format!("--port={port}"))
        .arg(format!("--user={IAM_USER}"))
        .args(["-e", sql])
        .stdin(Stdio::null())
        .output();
}

/// Where `needle` is in `haystack`, with some context, for the failure message.
fn excerpt(haystack: &str, needle: &str) -> String {
    let at = haystack.find(needle).unwrap_or(0);
    let start = haystack[..at].char_indices().rev().nth(80).map_or(0, |(i, _)| i);
    let end = haystack[at..]
        .char_indices()
        .nth(needle.len() + 80)
        .map_or(haystack.len(), |(i, _)| at + i);
    haystack[start..end].replace('\n', "⏎")
}

/// The names of the secrets `ran`'s stdout may show (and must: the audit checks that it finds them).
fn allowed_in_stdout(secrets: &Secrets, ran: &Ran) -> Vec<String> {
    let Some(creds) = secrets.resolved(ran.case.source) else {
        return Vec::new();
    };
    match ran.case.shows() {
        Shows::Nothing => Vec::new(),
        Shows::Token => creds.session.iter().map(|s| s.name.clone()).collect(),
        Shows::Credentials => std::iter::once(&creds.secret)
            .chain(creds.session.as_ref())
            .map(|s| s.name.clone())
            .collect(),
    }
}

/// Everything wrong with the runs: leaks, vacuous runs, cases that did not do what they are for.
fn audit(secrets: &Secrets, token: &str, runs: &[Ran]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut all = secrets.all();
    // The signatures of the tokens the runs printed, and of the token the test signed: secrets too.
    for (i, ran) in runs.iter().enumerate() {
        if let Some(sig) = signature(&ran.stdout) {
            all.push(Planted {
                name: format!("token signature printed by run {i}"),
                marker: sig.clone(),
                value: sig,
            });
        }
    }
    if let Some(sig) = signature(token) {
        all.push(Planted {
            name: "the test's token signature".into(),
            marker: sig.clone(),
            value: sig,
        });
    }
    for (i, ran) in runs.iter().enumerate() {
        let label = ran.case.label();
        let allowed = allowed_in_stdout(secrets, ran);
        for secret in &all {
            let own_token = secret.name == format!("token signature printed by run {i}");
            for form in forms(secret) {
                if ran.stderr.contains(&form) {
                    problems.push(format!(
                        "{label}: stderr shows the {} ({form:?}): …{}…",
                        secret.name,
                        excerpt(&ran.stderr, &form)
                    ));
                }
                if ran.stdout.contains(&form) && !allowed.contains(&secret.name) && !own_token {
                    problems.push(format!(
                        "{label}: stdout shows the {} ({form:?}): …{}…",
                        secret.name,
                        excerpt(&ran.stdout, &form)
                    ));
                }
            }
        }
        for piece in TOKEN_PIECES {
            if ran.stderr.contains(piece) {
                problems.push(format!(
                    "{label}: stderr shows a piece of a token: …{}…",
                    excerpt(&ran.stderr, piece)
                ));
            }
            if ran.stdout.contains(piece) && ran.case.shows() != Shows::Token {
                problems.push(format!(
                    "{label}: stdout shows a piece of a token: …{}…",
                    excerpt(&ran.stdout, piece)
                ));
            }
        }
        // The exceptions are real: what may be shown is shown (so the search would have found it).
        for name in allowed.iter().filter(|_| ran.case.success) {
            let secret = all.iter().find(|s| &s.name == name).unwrap();
            if !forms(secret).iter().any(|f| ran.stdout.contains(f)) {
                problems.push(format!("{label}: stdout should show the {name}:\n{}", ran.stdout));
            }
        }
        // The case did what it is for.
        if ran.status.success() != ran.case.success {
            problems.push(format!(
                "{label}: exit {:?}, expected {}:\n{}\n{}",
                ran.status.code(),
                if ran.case.success { "success" } else { "failure" },
                ran.stdout,
                tail(&ran.stderr)
            ));
        }
        let both = format!("{}\n{}", ran.stdout, ran.stderr);
        if !ran.case.expect.split('|').any(|e| both.contains(e)) {
            problems.push(format!(
                "{label}: expected {:?} in its output:\n{}\n{}",
                ran.case.expect,
                ran.stdout,
                tail(&ran.stderr)
            ));
        }
        // Logging was on: every case that reads credentials or talks to a server logs from rds-iam's crates.
        let ours = ran
            .stderr
            .lines()
            .any(|l| l.contains(" DEBUG rds_iam") || l.contains(" TRACE rds_iam"));
        if !ran.case.quiet && !ours {
            problems.push(format!(
                "{label}: rds-iam logged nothing: is the subscriber on?\n{}",
                ran.stderr
            ));
        }
    }
    // … and at TRACE level: the HTTP, TLS and SDK crates trace what they do.
    let traced = runs
        .iter()
        .filter(|r| r.stderr.lines().any(|l| l.contains(" TRACE ")))
        .count();
    if traced < runs.len() / 3 {
        problems.push(format!("only {traced} of {} runs logged at TRACE level", runs.len()));
    }
    problems
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[test]
fn no_command_leaks_a_secret_under_trace_logging() {
    let Some([_, _, _]) = require_or_skip([Tool::MariaDb, Tool::Moto, Tool::AwsCli]) else {
        return;
    };
    let mut rng = Rng::from_env();
    let seed = seed_of(&rng);
    let started = Instant::now();
    let bed = TestBed::start(Secrets::generate(&mut rng));
    let ready = started.elapsed();
    let runs: Vec<Ran> = cases(&bed.bed).iter().map(|case| bed.run(case)).collect();
    // RDS_IAM_LEAK_AUDIT_DUMP=DIR keeps every run's output, to read what the logs show.
    if let Some(dir) = std::env::var_os("RDS_IAM_LEAK_AUDIT_DUMP") {
        for (i, ran) in runs.iter().enumerate() {
            let text = format!(
                "{}\n--- stdout\n{}\n--- stderr\n{}",
                ran.case.label(),
                ran.stdout,
                ran.stderr
            );
            std::fs::write(Path::new(&dir).join(format!("{i:02}.txt")), text).unwrap();
        }
    }
    // Every credential source was asked over HTTP where it has an endpoint (so its answer was traced).
    assert!(!bed.imds.requests().is_empty() && !bed.broken_imds.requests().is_empty());
    assert!(!bed.ecs.requests().is_empty() && !bed.sso.requests().is_empty() && !bed.sts.requests().is_empty());
    assert!(!bed.mariadb.attempts().is_empty());
    assert_eq!(
        bed.sso_oidc.requests().len(),
        1,
        "the expiring SSO token was refreshed once (traced), then read back from the cache"
    );
    let problems = audit(&bed.secrets, &bed.bed.token, &runs);
    let slowest = runs.iter().max_by_key(|r| r.took).unwrap();
    eprintln!(
        "leak audit: {} runs in {:?} (test bed {ready:?}; slowest {:?}: {})",
        runs.len(),
        started.elapsed(),
        slowest.took,
        slowest.case.label()
    );
    assert!(
        problems.is_empty(),
        "{} problem(s) (seed {seed}):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// `rds-iam [PATH…] --help`'s command names (not `help`).
fn subcommands(path: &[&str]) -> Vec<String> {
    let out = Command::new(rds_iam_bin())
        .args(path)
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    // A command whose `--help` fails has no sub-commands to list; the coverage check still names it.
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let Some((_, commands)) = text.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    commands
        .lines()
        .take_while(|l| !l.trim().is_empty())
        // A command's line is indented by two spaces; wrapped descriptions by more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_is_audited() {
    let bed = Bed {
        port: "3306".into(),
        ca: "ca.pem".into(),
        other_ca: "other.pem".into(),
        token: "token".into(),
        cache_dir: "cache".into(),
        home: "home".into(),
    };
    let covered: BTreeSet<Vec<String>> = cases(&bed)
        .iter()
        .flat_map(|c| [c.args[..1].to_vec(), c.args[..c.args.len().min(2)].to_vec()])
        .collect();
    let mut missing = Vec::new();
    let top = subcommands(&[]);
    assert!(top.len() >= 9, "cannot read the commands of `rds-iam --help`: {top:?}");
    for command in &top {
        let mut paths = vec![vec![command.clone()]];
        for sub in subcommands(&[command]) {
            paths.push(vec![command.clone(), sub]);
        }
        missing.extend(paths.into_iter().filter(|p| !covered.contains(p)).map(|p| p.join(" ")));
    }
    assert!(
        missing.is_empty(),
        "not in the leak audit (tests/e2e/leak_audit.rs): {missing:?}; add cases to `cases` (or the command to \
         NO_SECRETS if it handles no secret at all)"
    );
}

/// The audit's own checks find what they look for.
#[test]
fn the_search_recognises_encoded_forms() {
    let mut rng = Rng::new(7);
    let secret = planted(&mut rng, "x", "IQoJ", 20);
    let encoded = percent(&secret.value, true);
    assert_ne!(encoded, secret.value);
    assert!(forms(&secret).contains(&encoded));
    assert!(forms(&secret).contains(&secret.marker));
    assert_eq!(
        strip_ansi("\u{1b}[2mtime\u{1b}[0m \u{1b}[35mTRACE\u{1b}[0m"),
        "time TRACE"
    );
    assert_eq!(signature("a?X-Amz-Signature=abc123\n").as_deref(), Some("abc123"));
}
