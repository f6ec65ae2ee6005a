//! Runners for the smithy-rs profile conformance suites (`profile-parser-tests.json`,
//! `file-location-tests.json`, `assume-role-tests.json`), called by `cargo xtask conformance` and by this crate's
//! tests.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::location::{Platform, file_path};
use super::{FileKind, Profile, ProfileSet, Source, parse, selected_profile_name};
use crate::Env;

/// The outcome of one conformance case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's `name` from the suite.
    pub name: String,
    /// `Err` says why the case failed.
    pub outcome: Result<(), String>,
}

/// Runs every case of `profile-parser-tests.json`.
pub fn conformance_profile_parser(json: &str) -> Vec<CaseResult> {
    run_suite(json, "profile-parser-tests.json", "name", parser_case)
}

/// Runs every case of `file-location-tests.json`, each with the rules of its `platform`.
pub fn conformance_file_location(json: &str) -> Vec<CaseResult> {
    run_suite(json, "file-location-tests.json", "name", location_case)
}

/// Runs every case of `assume-role-tests.json` (a top-level array): profiles → the planned chain of sources.
pub fn conformance_assume_role(json: &str) -> Vec<CaseResult> {
    let cases = match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(cases)) => cases,
        Ok(_) => return vec![failed_suite("assume-role-tests.json", "not a JSON array".into())],
        Err(e) => return vec![failed_suite("assume-role-tests.json", format!("not JSON: {e}"))],
    };
    cases
        .iter()
        .enumerate()
        .map(|(i, case)| CaseResult {
            name: case["docs"]
                .as_str()
                .map_or_else(|| format!("assume-role-tests.json case {i}"), str::to_owned),
            outcome: assume_role_case(case),
        })
        .collect()
}

fn failed_suite(suite: &str, why: String) -> CaseResult {
    CaseResult {
        name: suite.to_owned(),
        outcome: Err(why),
    }
}

fn assume_role_case(case: &Value) -> Result<(), String> {
    let input = &case["input"];
    let to_profiles = |value: &Value| -> Result<BTreeMap<String, Profile>, String> {
        let sections = if value.is_null() {
            Sections::new()
        } else {
            sections_of(value)?
        };
        Ok(sections
            .into_iter()
            .map(|(name, properties)| {
                let properties = properties
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect();
                (name.clone(), Profile { name, properties })
            })
            .collect())
    };
    let set = ProfileSet {
        profiles: to_profiles(&input["profiles"])?,
        sso_sessions: to_profiles(&input["sso_sessions"])?,
        services: BTreeMap::new(),
    };
    let selected = input["selected_profile"].as_str().ok_or("no `selected_profile`")?;
    crate::providers::plan_for_conformance(&set, selected, &case["output"])
}

/// Runs `run` on every case of a `{"tests": [...]}` suite, naming each case by its `name_field`.
pub(crate) fn run_suite(
    json: &str,
    suite: &str,
    name_field: &str,
    run: fn(&Value) -> Result<(), String>,
) -> Vec<CaseResult> {
    let tests = serde_json::from_str::<Value>(json)
        .map_err(|e| format!("not JSON: {e}"))
        .and_then(|v| match v.get("tests") {
            Some(Value::Array(tests)) => Ok(tests.clone()),
            _ => Err("no `tests` array".to_owned()),
        });
    match tests {
        Ok(tests) => tests
            .iter()
            .enumerate()
            .map(|(i, case)| CaseResult {
                name: case[name_field]
                    .as_str()
                    .map_or_else(|| format!("{suite} case {i}"), str::to_owned),
                outcome: run(case),
            })
            .collect(),
        Err(why) => vec![CaseResult {
            name: suite.to_owned(),
            outcome: Err(why),
        }],
    }
}

type Sections = BTreeMap<String, BTreeMap<String, String>>;

fn parser_case(case: &Value) -> Result<(), String> {
    let input = &case["input"];
    let source = |key: &str, path: &'static str| {
        input[key].as_str().map(|contents| Source {
            path: Path::new(path),
            contents,
        })
    };
    let result = parse(
        source("configFile", "~/.aws/config"),
        source("credentialsFile", "~/.aws/credentials"),
    );
    let output = &case["output"];
    if let Some(expected) = output["errorContaining"].as_str() {
        return match result {
            Err(e) if e.to_string().contains(expected) => Ok(()),
            Err(e) => Err(format!(
                "expected an error containing {expected:?}, got {:?}",
                e.to_string()
            )),
            Ok(set) => Err(format!("expected an error containing {expected:?}, got {set:?}")),
        };
    }
    let set = result.map_err(|e| format!("unexpected error: {e}"))?;
    let expected = &output["config"];
    let actual = sections(&set.profiles);
    compare("profiles", sections_of(&expected["profiles"])?, actual)?;
    if !expected["sso_sessions"].is_null() {
        let actual = sections(&set.sso_sessions);
        compare("sso_sessions", sections_of(&expected["sso_sessions"])?, actual)?;
    }
    Ok(())
}

fn compare(what: &str, expected: Sections, actual: Sections) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}"))
    }
}

fn sections(map: &BTreeMap<String, Profile>) -> Sections {
    map.iter()
        .map(|(name, profile)| (name.clone(), profile.properties.clone()))
        .collect()
}

fn sections_of(value: &Value) -> Result<Sections, String> {
    let bad = || format!("expected an object of objects of strings, found {value}");
    let mut sections = Sections::new();
    for (name, properties) in value.as_object().ok_or_else(bad)? {
        let mut map = BTreeMap::new();
        for (key, value) in properties.as_object().ok_or_else(bad)? {
            map.insert(key.clone(), value.as_str().ok_or_else(bad)?.to_owned());
        }
        sections.insert(name.clone(), map);
    }
    Ok(sections)
}

fn location_case(case: &Value) -> Result<(), String> {
    let platform = match case["platform"].as_str() {
        Some("windows") => Platform::Windows,
        Some("linux" | "macos") => Platform::Unix,
        other => return Err(format!("unknown platform {other:?}")),
    };
    let vars = case["environment"]
        .as_object()
        .ok_or("no `environment` object")?
        .iter()
        .map(|(k, v)| Ok((k.clone(), v.as_str().ok_or("non-string variable")?.to_owned())))
        .collect::<Result<Vec<_>, String>>()?;
    let env = Env::from_vars(vars);
    for (kind, key) in [
        (FileKind::Config, "configLocation"),
        (FileKind::Credentials, "credentialsLocation"),
    ] {
        let actual = file_path(&env, platform, kind)
            .map_or_else(|| "(not read: no home)".into(), |p| p.to_string_lossy().into_owned());
        if Some(actual.as_ref()) != case[key].as_str() {
            return Err(format!("{key}: expected {}, got {actual:?}", case[key]));
        }
    }
    if let Some(expected) = case["profile"].as_str() {
        let actual = selected_profile_name(&env, None);
        if actual != expected {
            return Err(format!("profile: expected {expected:?}, got {actual:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_reports_failures() {
        let json = r#"{"tests":[
            {"name":"ok","input":{"configFile":"[profile a]"},"output":{"config":{"profiles":{"a":{}}}}},
            {"name":"bad","input":{"configFile":"[profile a]"},"output":{"config":{"profiles":{}}}},
            {"name":"err","input":{"configFile":"x"},"output":{"errorContaining":"nope"}}
        ]}"#;
        let results = conformance_profile_parser(json);
        let outcomes: Vec<_> = results.iter().map(|r| (r.name.as_str(), r.outcome.is_ok())).collect();
        assert_eq!(outcomes, [("ok", true), ("bad", false), ("err", false)]);
        assert!(conformance_file_location("{")[0].outcome.is_err());
        assert!(conformance_assume_role("{}")[0].outcome.is_err());
    }
}
