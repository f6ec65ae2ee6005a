//! `cargo xtask conformance [DIR]`: the external suites, run through the crates' real code paths.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rds_iam_ca::{KeyType, VerifyOptions, verify_bundle};
use rds_iam_credentials::profile::conformance::{self, CaseResult};
use rds_iam_credentials::providers_conformance;
use rds_iam_token::{Credentials, TokenRequest};
use serde_json::Value;

use crate::Result;
use crate::tools::root;

/// One suite's outcome: cases run and the failures, each with its reason.
struct Suite {
    name: &'static str,
    total: usize,
    failures: Vec<String>,
}

pub(crate) fn run(dir: Option<&str>) -> Result {
    let dir = dir
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/conformance"));
    if !dir.is_dir() {
        return Err(format!(
            "the conformance folder {} does not exist: check out ../shared beside the project or pass its path \
             (`cargo xtask conformance DIR`)",
            dir.display()
        ));
    }
    let suites = [
        token_vectors(&dir)?,
        from_runner(
            &dir,
            "profile-parser-tests.json",
            conformance::conformance_profile_parser,
        )?,
        from_runner(&dir, "file-location-tests.json", conformance::conformance_file_location)?,
        from_runner(
            &dir,
            "imds-endpoint-tests.json",
            providers_conformance::conformance_imds_endpoint,
        )?,
        from_runner(&dir, "ecs-tests.json", providers_conformance::conformance_ecs)?,
        from_runner(
            &dir,
            "more/assume-role-tests.json",
            conformance::conformance_assume_role,
        )?,
        rds_bundle(&dir)?,
    ];
    let (mut passed, mut failed) = (0, 0);
    for suite in &suites {
        let ok = suite.total - suite.failures.len();
        println!("{:<28} {ok}/{} passed", suite.name, suite.total);
        for failure in &suite.failures {
            println!("  FAIL {failure}");
        }
        if suite.total == 0 {
            return Err(format!(
                "{} has no cases: is {} the right folder?",
                suite.name,
                dir.display()
            ));
        }
        passed += ok;
        failed += suite.failures.len();
    }
    println!("conformance: {passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} conformance cases failed"))
    }
}

fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// A suite whose runner lives in the crate it tests (so it goes through the crate's real code paths).
fn from_runner(dir: &Path, name: &'static str, runner: fn(&str) -> Vec<CaseResult>) -> Result<Suite> {
    let results = runner(&read(dir, name)?);
    let failures = results
        .iter()
        .filter_map(|r| r.outcome.as_ref().err().map(|why| format!("{}: {why}", r.name)))
        .collect();
    Ok(Suite {
        name,
        total: results.len(),
        failures,
    })
}

/// `token-vectors.jsonl`: tokens botocore produced at a fixed time; ours must be byte-identical.
fn token_vectors(dir: &Path) -> Result<Suite> {
    let mut suite = Suite {
        name: "token-vectors.jsonl",
        total: 0,
        failures: Vec::new(),
    };
    for line in read(dir, "token-vectors.jsonl")?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        suite.total += 1;
        let case: Value = serde_json::from_str(line).map_err(|e| format!("token-vectors.jsonl: {e}"))?;
        let name = case["name"].as_str().unwrap_or("?").to_owned();
        if let Err(why) = token_case(&case) {
            suite.failures.push(format!("{name}: {why}"));
        }
    }
    Ok(suite)
}

fn token_case(case: &Value) -> std::result::Result<(), String> {
    let text = |key: &str| case[key].as_str().ok_or_else(|| format!("field {key} missing"));
    let mut creds = Credentials::new(text("access_key")?, text("secret_key")?);
    if let Some(token) = case["session_token"].as_str() {
        creds = creds.with_session_token(token);
    }
    let port = case["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .ok_or("field port missing")?;
    let now = amz_time(text("time")?)?;
    let request = TokenRequest::new(text("host")?, port, text("user")?, text("region")?).map_err(|e| e.to_string())?;
    let token = request.sign(&creds, now).map_err(|e| e.to_string())?;
    let expected = text("token")?;
    if token.expose() == expected {
        Ok(())
    } else {
        Err(format!(
            "token differs\n    ours:     {}\n    botocore: {expected}",
            token.expose()
        ))
    }
}

/// `YYYYMMDDTHHMMSSZ` → time.
pub(crate) fn amz_time(s: &str) -> std::result::Result<SystemTime, String> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(s, &format)
        .map(|t| t.assume_utc().into())
        .map_err(|e| format!("time {s:?}: {e}"))
}

/// The real April 2025 global bundle (`../shared/data`), verified by `rds-iam-ca` at 2025-06-01: 96 valid roots,
/// nothing expired, RSA2048 + RSA4096 + ECC384, each region with all three. Prints what it covers.
fn rds_bundle(dir: &Path) -> Result<Suite> {
    const NAME: &str = "rds-global-bundle-2025-04.pem";
    let path = dir.join("../data").join(NAME);
    let pem = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let at = amz_time("20250601T000000Z")?;
    let mut suite = Suite {
        name: NAME,
        total: 0,
        failures: Vec::new(),
    };
    let mut check = |name: &str, ok: bool, detail: String| {
        suite.total += 1;
        if !ok {
            suite.failures.push(format!("{name}: {detail}"));
        }
    };
    let report = match verify_bundle(&pem, at, &VerifyOptions::default()) {
        Ok(report) => report,
        Err(e) => {
            check("verifies", false, e.to_string());
            return Ok(suite);
        }
    };
    check("verifies", true, String::new());
    check(
        "96 valid roots",
        report.roots.len() == 96,
        format!("{} valid roots", report.roots.len()),
    );
    check(
        "nothing expired",
        report.expired.is_empty() && report.not_yet_valid.is_empty(),
        format!(
            "{} expired, {} not yet valid",
            report.expired.len(),
            report.not_yet_valid.len()
        ),
    );
    let types: Vec<KeyType> = report.key_types().into_iter().collect();
    check(
        "three key types",
        types == [KeyType::Rsa2048, KeyType::Rsa4096, KeyType::Ecc384],
        format!("{types:?}"),
    );
    let regions = report.regions();
    let incomplete: Vec<&String> = regions
        .iter()
        .filter(|region| {
            let of_region: std::collections::BTreeSet<&KeyType> = report
                .roots
                .iter()
                .filter(|r| r.region.as_ref() == Some(*region))
                .map(|r| &r.key_type)
                .collect();
            of_region.len() != 3
        })
        .collect();
    check(
        "every region has all three key types",
        incomplete.is_empty(),
        format!("{incomplete:?}"),
    );
    check("no warnings", report.warnings.is_empty(), report.warnings.join("; "));
    println!("{NAME}: verified at 2025-06-01T00:00:00Z");
    for line in report.to_string().lines() {
        println!("  {line}");
    }
    Ok(suite)
}
