//! `credential_process`: run a profile's command (`sh -c COMMAND`, as the AWS SDKs do) and read the credentials it
//! prints as JSON (`Version: 1`).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::http::server_text;
use crate::sts::parse_rfc3339;
use crate::{Credentials, CredentialsError, ProviderConfig};

/// How long a credential process may take, from start until its output is closed and it has exited.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// A credentials document is a few KiB: a command that prints more than this is stopped and refused.
const MAX_STDOUT: usize = 1 << 20;

/// This much of standard error is kept for the error message (the rest is read and dropped).
const KEPT_STDERR: usize = 64 << 10;

/// Runs `command` and parses its output, all within `timeout`. Errors never include the command's arguments
/// (they may carry secrets: `--token s3cr3t`, `TOKEN=s3cr3t tool`) or its standard output (it holds the
/// credentials); they include the start of its standard error, with every argument and anything that looks like a
/// key or token from its standard output redacted.
///
/// On Unix the command runs in a process group of its own, and the whole group is killed when the time is up
/// or the output too large: a background process it started cannot keep its output open, and the caller waiting.
/// (A command that reads from the terminal is then in a background group and stops; it cannot prompt.)
pub(crate) fn run(
    command: &str,
    config: &ProviderConfig,
    source_name: &str,
    timeout: Duration,
) -> Result<Credentials, CredentialsError> {
    let shown = shown_command(command);
    let invalid = |message: String| CredentialsError::failed(source_name, format!("credential_process {message}"));
    let output = execute(command, timeout).map_err(|e| invalid(format!("{shown} {e}")))?;
    if !output.success {
        let stderr = shown_stderr(command, &output);
        let stderr = if stderr.is_empty() {
            "no error output".to_owned()
        } else {
            format!("error output: {stderr}")
        };
        return Err(invalid(format!("{shown} failed ({}); {stderr}", output.status)));
    }
    parse_output(&output.stdout, config.clock().now())
        .map_err(|e| invalid(format!("{shown} printed {e}")))
        .map(|creds| creds.with_source(source_name))
}

/// How messages name the command: its program only (`` `/usr/bin/tool …` ``), and nothing of it when the first
/// word is not a plain program name — `TOKEN=s3cr3t tool` starts with a secret, quotes may hide spaces.
fn shown_command(command: &str) -> String {
    let mut words = command.split_whitespace();
    match (words.next(), words.next()) {
        (Some(first), _) if !is_plain_program(first) => "(command not shown)".to_owned(),
        (Some(first), Some(_)) => format!("`{first} …`"),
        (Some(first), None) => format!("`{first}`"),
        (None, _) => "(empty command)".to_owned(),
    }
}

fn is_plain_program(word: &str) -> bool {
    word.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '/' | '\\' | '.' | '_' | '-' | '+' | '~' | ':'))
}

/// The start of the command's standard error for a message: one line, at most 200 characters, without what may
/// be secret — the command's arguments (values of `NAME=value` and `--flag=value`, and other words that are not
/// flags; shorter than 4 characters they are kept, hiding them would garble the text more than it protects) and
/// every key-like word of 16 characters or more from its standard output (a tool may print credentials, then
/// fail).
fn shown_stderr(command: &str, output: &Output) -> String {
    let mut secrets: Vec<String> = Vec::new();
    let mut words: Vec<&str> = command.split_whitespace().collect();
    if words.first().is_some_and(|w| is_plain_program(w)) {
        words.remove(0); // the program, shown anyway
    }
    for word in words {
        let word = word.trim_matches(|c| c == '\'' || c == '"');
        if let Some((_, value)) = word.split_once('=') {
            let value = value.trim_matches(|c| c == '\'' || c == '"');
            if value.chars().count() >= 4 {
                secrets.push(value.to_owned());
            }
        }
        if !word.starts_with('-') && word.chars().count() >= 4 {
            secrets.push(word.to_owned());
        }
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    secrets.extend(
        stdout
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '.' | '-')))
            .filter(|w| w.len() >= 16)
            .map(str::to_owned),
    );
    // Longest first, so a secret that contains another is redacted whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = server_text(stderr.trim(), &secrets);
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    one_line.trim().to_owned()
}

struct Output {
    success: bool,
    status: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// What a pipe reader reports when its pipe is closed (or, for standard output, too much arrived).
enum Piped {
    Stdout(Vec<u8>),
    TooMuchStdout,
    Stderr(Vec<u8>),
}

/// Runs `command` through the platform shell with its output captured. Done when both output pipes are closed
/// (by the command and everything it started) and the command has exited; stopped, with its process group, when
/// that takes longer than `timeout` or it prints more than [`MAX_STDOUT`].
fn execute(command: &str, timeout: Duration) -> Result<Output, String> {
    if command.trim().is_empty() {
        return Err("is empty: set credential_process to a command".into());
    }
    let deadline = Instant::now() + timeout;
    let mut cmd = if cfg!(windows) {
        let mut cmd = Command::new("cmd.exe");
        cmd.args(["/C", command]);
        cmd
    } else {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", command]);
        cmd
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own group (id = its process id), so that `stop` reaches whatever it started.
        cmd.process_group(0);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not be started: {e}"))?;
    let (sender, pipes) = mpsc::channel();
    let mut readers = Vec::new();
    if let Some(mut pipe) = child.stdout.take() {
        let sender = sender.clone();
        readers.push(
            thread::Builder::new()
                .name("credential_process stdout".into())
                .spawn(move || {
                    let mut out = Vec::new();
                    // Read errors end the output like EOF; what arrived is judged by the parser.
                    let _ = pipe.by_ref().take(MAX_STDOUT as u64 + 1).read_to_end(&mut out);
                    let _ = sender.send(if out.len() > MAX_STDOUT {
                        Piped::TooMuchStdout
                    } else {
                        Piped::Stdout(out)
                    });
                }),
        );
    }
    if let Some(mut pipe) = child.stderr.take() {
        readers.push(
            thread::Builder::new()
                .name("credential_process stderr".into())
                .spawn(move || {
                    let mut kept = Vec::new();
                    let _ = pipe.by_ref().take(KEPT_STDERR as u64).read_to_end(&mut kept);
                    // Keep reading so the command never blocks on a full pipe; the rest is dropped.
                    let _ = std::io::copy(&mut pipe, &mut std::io::sink());
                    let _ = sender.send(Piped::Stderr(kept));
                }),
        );
    }
    if let Some(Err(e)) = readers.into_iter().find(Result::is_err) {
        stop(&mut child);
        return Err(format!("could not be read from: {e}"));
    }
    let timed_out = || format!("did not finish within {timeout:?} and was stopped");
    // The readers are not joined: after a timeout they end when the killed processes' pipes close (or never, if a
    // process escaped the group), without anyone waiting for them.
    let (mut stdout, mut stderr) = (None, None);
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match pipes.recv_timeout(left) {
            Ok(Piped::Stdout(out)) => stdout = Some(out),
            Ok(Piped::Stderr(err)) => stderr = Some(err),
            Ok(Piped::TooMuchStdout) => {
                stop(&mut child);
                return Err(format!(
                    "printed more than {} KiB and was stopped; a credentials document is a few KiB: check that the \
                     command prints only the JSON document",
                    MAX_STDOUT >> 10
                ));
            }
            Err(RecvTimeoutError::Timeout) => {
                stop(&mut child);
                return Err(timed_out());
            }
            Err(RecvTimeoutError::Disconnected) => {
                stop(&mut child);
                return Err("could not be read from: an output reader stopped".into());
            }
        }
    }
    // Both pipes closed; the command may still run (it can close them early).
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                stop(&mut child);
                return Err(timed_out());
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                stop(&mut child);
                return Err(format!("could not be waited for: {e}"));
            }
        }
    };
    Ok(Output {
        success: status.success(),
        status: status.to_string(),
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
    })
}

/// Kills the command and, on Unix, every process left in its process group, then reaps it. It has not been reaped
/// before (`try_wait` returned no status), so its process id, which is also the group's, cannot have been reused.
fn stop(child: &mut Child) {
    #[cfg(unix)]
    {
        use rustix::process::{Pid, Signal, kill_process_group};
        // An error means the group is already empty.
        let _ = kill_process_group(Pid::from_child(child), Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The credentials in a `Version: 1` document. Errors name the problem, never a value.
pub(crate) fn parse_output(stdout: &[u8], now: SystemTime) -> Result<Credentials, String> {
    let json: Value = serde_json::from_slice(stdout).map_err(|e| {
        format!("something that is not JSON ({e}); it must print {{\"Version\": 1, \"AccessKeyId\": …}}")
    })?;
    if !json.is_object() {
        return Err("JSON that is not an object; it must print {\"Version\": 1, \"AccessKeyId\": …}".into());
    }
    match &json["Version"] {
        Value::Number(n) if n.as_u64() == Some(1) => {}
        Value::Null => return Err("no Version; it must print \"Version\": 1".into()),
        other => return Err(format!("Version {other}; only Version 1 is supported")),
    }
    let text = |key: &str| match &json[key] {
        Value::String(s) if !s.trim().is_empty() => Ok(Some(s.trim())),
        Value::Null => Ok(None),
        Value::String(_) => Err(format!("an empty {key}")),
        _ => Err(format!("a {key} that is not a string")),
    };
    let key = text("AccessKeyId")?.ok_or("no AccessKeyId")?;
    let secret = text("SecretAccessKey")?.ok_or("no SecretAccessKey")?;
    let mut creds = Credentials::new(key, secret);
    if let Some(token) = text("SessionToken")? {
        creds = creds.with_session_token(token);
    }
    if let Some(expiration) = text("Expiration")? {
        let expiry = parse_rfc3339(expiration)
            .map_err(|e| format!("an Expiration that is not an ISO 8601 time ({expiration:?}: {e})"))?;
        if expiry <= now {
            return Err(format!(
                "credentials that expired at {expiration}; check the command (or the system clock)"
            ));
        }
        creds = creds.with_expiry(expiry);
    }
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_stops_the_process() {
        let started = Instant::now();
        let err = run("sleep 10", &config(), "test", Duration::from_millis(200)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            err.to_string(),
            "test: credential_process `sleep …` did not finish within 200ms and was stopped"
        );
    }

    fn config() -> ProviderConfig {
        use crate::{Env, Fs};
        ProviderConfig::new(Env::from_vars::<&str, &str>([]), Fs::from_files::<&str, &str>([]))
    }

    const DOCUMENT: &str = r#"{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "s"}"#;

    /// Whether process `pid` still runs (a zombie — killed, not yet reaped by its new parent — does not).
    #[cfg(unix)]
    fn running(pid: i32) -> bool {
        let Some(pid) = rustix::process::Pid::from_raw(pid) else {
            return false;
        };
        let zombie = std::fs::read_to_string(format!("/proc/{}/stat", pid.as_raw_nonzero()))
            .ok()
            .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
            .unwrap_or(false);
        rustix::process::test_kill_process(pid).is_ok() && !zombie
    }

    #[cfg(unix)]
    #[test]
    fn a_background_process_holding_the_output_open_is_stopped() {
        // The command exits at once, but the `sleep` it started keeps its standard output open: waiting for the
        // end of that output used to take as long as the `sleep` (and block every caller of a cache meanwhile).
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let command = format!("(sleep 30 & echo $! > '{}'); echo '{DOCUMENT}'", pid_file.display());
        let started = Instant::now();
        let err = run(&command, &config(), "test", Duration::from_secs(1)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        assert_eq!(
            err.to_string(),
            "test: credential_process (command not shown) did not finish within 1s and was stopped"
        );
        let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        let killed = Instant::now();
        while running(pid) && killed.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(!running(pid), "the background sleep {pid} was not killed");
    }

    #[cfg(unix)]
    #[test]
    fn oversized_output_is_refused() {
        let started = Instant::now();
        let err = run("head -c 10000000 /dev/zero", &config(), "test", Duration::from_secs(30)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        assert_eq!(
            err.to_string(),
            "test: credential_process `head …` printed more than 1024 KiB and was stopped; a credentials document \
             is a few KiB: check that the command prints only the JSON document"
        );
        // Endless output too, well before the timeout.
        let started = Instant::now();
        let err = run("yes", &config(), "test", Duration::from_secs(30)).unwrap_err();
        assert!(err.to_string().contains("printed more than 1024 KiB"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }

    #[cfg(unix)]
    #[test]
    fn assignments_in_the_command_are_not_shown() {
        let err = run(
            "TOKEN=s3cr3t sh -c 'exit 3'",
            &config(),
            "test",
            Duration::from_secs(30),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "test: credential_process (command not shown) failed (exit status: 3); no error output"
        );
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn stderr_is_short_and_redacted() {
        // The tool prints a key, then fails echoing it, its secret argument, and a lot more, over several lines.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("tool.sh");
        std::fs::write(
            &script,
            "printf '%s\\n' \"AKIDEXAMPLEPRINTED wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\"\n\
             printf 'denied: %s\\nkey wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\\n' \"$2\" >&2\n\
             head -c 5000 /dev/zero | tr '\\0' x >&2\n\
             exit 1\n",
        )
        .unwrap();
        let command = format!("sh {} --token tokenS3cr3tArgument", script.display());
        let err = run(&command, &config(), "test", Duration::from_secs(30)).unwrap_err();
        let message = err.to_string();
        for secret in ["tokenS3cr3tArgument", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"] {
            assert!(!format!("{message} {err:?}").contains(secret), "{message}");
        }
        let (_, stderr) = message.split_once("error output: ").unwrap();
        assert!(stderr.starts_with("denied: <redacted> key <redacted> xxx"), "{stderr}");
        assert!(
            stderr.chars().count() <= 200,
            "{} characters: {stderr}",
            stderr.chars().count()
        );
        assert!(!stderr.contains('\n'));
    }

    #[test]
    fn messages_name_the_program_only() {
        assert_eq!(shown_command("/bin/tool --token s3cr3t"), "`/bin/tool …`");
        assert_eq!(shown_command(" tool "), "`tool`");
        for hidden in ["TOKEN=s3cr3t tool", "'/opt/my tool' --x", "$(cat /secret) x", "\"a b\""] {
            assert_eq!(shown_command(hidden), "(command not shown)", "{hidden}");
        }
    }

    #[test]
    fn parse() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let creds = parse_output(
            br#"{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","SessionToken":"ST","Expiration":"2030-01-01T00:00:00Z"}"#,
            now,
        )
        .unwrap();
        assert_eq!(creds.session_token().unwrap().expose(), "ST");
        assert!(creds.expiry().is_some());
        let err = |json: &str| parse_output(json.as_bytes(), now).unwrap_err();
        assert!(err("SK oops").contains("not JSON"));
        assert!(err("[]").contains("not an object"));
        assert!(err(r#"{"AccessKeyId":"AK"}"#).contains("no Version"));
        assert!(err(r#"{"Version":2}"#).contains("Version 2; only Version 1"));
        assert!(err(r#"{"Version":1,"SecretAccessKey":"SK"}"#).contains("no AccessKeyId"));
        assert!(err(r#"{"Version":1,"AccessKeyId":"AK"}"#).contains("no SecretAccessKey"));
        let expired =
            err(r#"{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","Expiration":"2020-01-01T00:00:00Z"}"#);
        assert!(expired.contains("expired at 2020-01-01T00:00:00Z"), "{expired}");
        assert!(!expired.contains("SK"));
    }
}
