//! Runners for the smithy-rs metadata-endpoint suites (`imds-endpoint-tests.json`, `ecs-tests.json`), called by
//! `cargo xtask conformance`; they drive the providers' real endpoint resolution.

use std::path::Path;

use serde_json::Value;

use super::{EcsProvider, EndpointMode, ImdsProvider};
use crate::profile::conformance::{CaseResult, run_suite};
use crate::{Env, Fs, ProviderConfig};

/// The home directory of every case, so that no case can see the real one.
const HOME: &str = "/conformance-home";

/// Runs every case of `imds-endpoint-tests.json`: environment, files and builder settings → the token URL or an
/// error containing the expected text.
pub fn conformance_imds_endpoint(json: &str) -> Vec<CaseResult> {
    run_suite(json, "imds-endpoint-tests.json", "docs", imds_case)
}

/// Runs every case of `ecs-tests.json`: environment → the credentials URL or an error containing the expected text
/// (compared case-insensitively: our messages start in lower case).
pub fn conformance_ecs(json: &str) -> Vec<CaseResult> {
    run_suite(json, "ecs-tests.json", "docs", ecs_case)
}

fn strings(value: &Value, what: &str) -> Result<Vec<(String, String)>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(v) => Ok((k.clone(), v.to_owned())),
                None => Err(format!("`{what}.{k}` is not a string")),
            })
            .collect(),
        _ => Err(format!("`{what}` is not an object")),
    }
}

/// The case's environment with `HOME` set to the fake home unless the case sets it.
fn env(case: &Value) -> Result<Env, String> {
    let mut vars = strings(&case["env"], "env")?;
    if !vars.iter().any(|(k, _)| k == "HOME") {
        vars.push(("HOME".to_owned(), HOME.to_owned()));
    }
    Ok(Env::from_vars(vars))
}

/// Compares an outcome with `{Ok: url}` or `{Err | ErrorContains: text}`.
fn check(expected: &Value, actual: Result<String, String>, case_insensitive: bool) -> Result<(), String> {
    if let Some(url) = expected["Ok"].as_str() {
        return match actual {
            Ok(actual) if actual == url => Ok(()),
            Ok(actual) => Err(format!("expected {url}, got {actual}")),
            Err(e) => Err(format!("expected {url}, got the error {e:?}")),
        };
    }
    let Some(text) = expected["Err"].as_str().or(expected["ErrorContains"].as_str()) else {
        return Err(format!("unknown `result` {expected}"));
    };
    match actual {
        Err(e) if e.contains(text) => Ok(()),
        Err(e) if case_insensitive && e.to_lowercase().contains(&text.to_lowercase()) => Ok(()),
        Err(e) => Err(format!("expected an error containing {text:?}, got {e:?}")),
        Ok(url) => Err(format!("expected an error containing {text:?}, got {url}")),
    }
}

fn imds_case(case: &Value) -> Result<(), String> {
    let env = env(case)?;
    // Files as the case names them (relative paths, as `AWS_CONFIG_FILE` gives them) and under the fake home.
    let mut files = Vec::new();
    for (path, contents) in strings(&case["fs"], "fs")? {
        if Path::new(&path).is_relative() {
            files.push((Path::new(HOME).join(&path), contents.clone()));
        }
        files.push((path.into(), contents));
    }
    let mut provider = ImdsProvider::new(&ProviderConfig::new(env, Fs::from_files(files)));
    if let Some(endpoint) = case["endpoint_override"].as_str() {
        provider = provider.with_endpoint(endpoint);
    }
    if let Some(mode) = case["mode_override"].as_str() {
        provider = provider.with_endpoint_mode(mode.parse::<EndpointMode>()?);
    }
    check(&case["result"], provider.token_url().map_err(|e| e.to_string()), false)
}

fn ecs_case(case: &Value) -> Result<(), String> {
    let config = ProviderConfig::new(env(case)?, Fs::from_files::<&str, &str>([]));
    let url = EcsProvider::new(&config).credentials_url().map_err(|e| e.to_string());
    check(&case["result"], url, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runners_report_failures() {
        let json = r#"{"tests":[
            {"docs":"ok","env":{},"fs":{},"result":{"Ok":"http://169.254.169.254/latest/api/token"}},
            {"docs":"wrong","env":{},"fs":{},"result":{"Ok":"http://x/latest/api/token"}},
            {"docs":"err","env":{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE":"v5"},"fs":{},"result":{"Err":"`v5` is not"}}
        ]}"#;
        let outcomes: Vec<_> = conformance_imds_endpoint(json)
            .iter()
            .map(|r| (r.name.clone(), r.outcome.is_ok()))
            .collect();
        assert_eq!(
            outcomes,
            [("ok".into(), true), ("wrong".into(), false), ("err".into(), true)]
        );
        let ecs = conformance_ecs(r#"{"tests":[{"docs":"d","env":{},"result":{"ErrorContains":"NO ENVIRONMENT"}}]}"#);
        assert_eq!(ecs[0].outcome, Ok(()));
        assert!(conformance_ecs("[]")[0].outcome.is_err());
    }
}
