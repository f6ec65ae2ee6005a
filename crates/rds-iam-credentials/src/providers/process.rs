//! `credential_process`: run a profile's command (`sh -c COMMAND`, as the AWS SDKs do) and read the credentials it
//! prints as JSON (`Version: 1`).

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::sts::parse_rfc3339;
use crate::{Credentials, CredentialsError, ProviderConfig};

/// How long a credential process may run.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// Stderr shown in an error is cut to this many characters.
const STDERR_SHOWN: usize = 1000;

/// Runs `command` and parses its output. Errors never include the command's arguments (they may carry secrets)
/// or its standard output (it holds the credentials); they do include its trimmed standard error.
pub(crate) fn run(
    command: &str,
    config: &ProviderConfig,
    source_name: &str,
    timeout: Duration,
) -> Result<Credentials, CredentialsError> {
    let shown = program(command);
    let invalid = |message: String| CredentialsError::invalid(source_name, format!("credential_process {message}"));
    let output = execute(command, timeout).map_err(|e| invalid(format!("`{shown}` {e}")))?;
    if !output.success {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = cut(stderr.trim(), STDERR_SHOWN);
        let stderr = if stderr.is_empty() {
            "no error output".to_owned()
        } else {
            format!("error output: {stderr}")
        };
        return Err(invalid(format!("`{shown}` failed ({}); {stderr}", output.status)));
    }
    parse_output(&output.stdout, config.clock().now())
        .map_err(|e| invalid(format!("`{shown}` printed {e}")))
        .map(|creds| creds.with_source(source_name))
}

/// The program name only: `/usr/bin/tool --secret x` → `/usr/bin/tool …`.
fn program(command: &str) -> String {
    let mut words = command.split_whitespace();
    match (words.next(), words.next()) {
        (Some(first), Some(_)) => format!("{first} …"),
        (Some(first), None) => first.to_owned(),
        (None, _) => String::new(),
    }
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

struct Output {
    success: bool,
    status: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs `command` through the platform shell with its output captured; kills it after `timeout`.
fn execute(command: &str, timeout: Duration) -> Result<Output, String> {
    if command.trim().is_empty() {
        return Err("is empty: set credential_process to a command".into());
    }
    let mut cmd = if cfg!(windows) {
        let mut cmd = Command::new("cmd.exe");
        cmd.args(["/C", command]);
        cmd
    } else {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", command]);
        cmd
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not be started: {e}"))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                // Cap what we keep: a credentials document is a few KiB.
                let _ = pipe.by_ref().take(1 << 20).read_to_end(&mut out);
                let _ = std::io::copy(&mut pipe, &mut std::io::sink());
            }
            out
        })
    };
    let stdout = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("did not finish within {timeout:?} and was stopped"));
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("could not be waited for: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok(Output {
        success: status.success(),
        status: status.to_string(),
        stdout,
        stderr,
    })
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
        use crate::{Env, Fs};
        let config = ProviderConfig::new(Env::from_vars::<&str, &str>([]), Fs::from_files::<&str, &str>([]));
        let started = Instant::now();
        let err = run("sleep 10", &config, "test", Duration::from_millis(200)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            err.to_string(),
            "test: credential_process `sleep …` did not finish within 200ms and was stopped"
        );
    }

    #[test]
    fn program_hides_arguments() {
        assert_eq!(program("/bin/tool --token s3cr3t"), "/bin/tool …");
        assert_eq!(program(" tool "), "tool");
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
