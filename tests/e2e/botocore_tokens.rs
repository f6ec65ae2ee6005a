//! Differential test: `rds-iam-token` against botocore's `generate_db_auth_token` on generated cases.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use rds_iam_e2e::{Rng, python, root, seed_of};
use rds_iam_testkit::{Tool, require_or_skip};
use rds_iam_token::{Credentials, Partition, TokenRequest};
use serde_json::{Value, json};

const CASES: usize = 600;

/// Regions of every partition botocore knows, with the DNS suffix their endpoints use.
const REGIONS: [&str; 16] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-2",
    "ap-northeast-1",
    "ap-southeast-5",
    "sa-east-1",
    "me-central-1",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-west-1",
    "us-gov-east-1",
    "us-iso-east-1",
    "us-isob-east-1",
    "eusc-de-east-1",
    "il-central-1",
];

/// User name character classes: plain, RFC 3986 unreserved, reserved and sub-delims, space, percent, UTF-8.
const USER_ALPHABETS: [&str; 6] = [
    "abcdefghijklmnopqrstuvwxyz0123456789_",
    "ABCXYZabc019-_.~",
    "+@&=/%:;,?#[]!$'()*",
    " a b",
    "äéñøßユーザー名데이터😀",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+@&=/% ユ😀\"'\\`^{}|<>",
];

const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

fn host(rng: &mut Rng, region: &str) -> String {
    let len = rng.range(1, 30) as usize;
    let name = rng.string("abcdefghijklmnopqrstuvwxyz0123456789-", len);
    let name = format!("d{name}");
    let id = rng.string("abcdefghijklmnopqrstuvwxyz0123456789", 12);
    let suffix = Partition::from_region(region).dns_suffix();
    let host = match rng.range(0, 9) {
        0 => format!("{name}.cluster-{id}.{region}.rds.{suffix}"),
        1 => format!("{name}.cluster-ro-{id}.{region}.rds.{suffix}"),
        2 => format!("{name}.cluster-custom-{id}.{region}.rds.{suffix}"),
        3 => format!("{name}.proxy-{id}.{region}.rds.{suffix}"),
        4 => format!("{name}.endpoint.proxy-{id}.{region}.rds.{suffix}"),
        5 if region.starts_with("cn-") => format!("{name}.{id}.rds.{region}.{suffix}"),
        6 => format!(
            "{}.{}",
            rng.range(1, 254),
            [rng.range(0, 255), rng.range(0, 255), rng.range(1, 254)]
                .map(|n| n.to_string())
                .join(".")
        ),
        7 => format!("{name}.example.internal"),
        _ => format!("{name}.{id}.{region}.rds.{suffix}"),
    };
    // Mixed case: botocore signs the lowercased host but keeps the case in the token.
    if rng.range(0, 7) == 0 {
        host.to_ascii_uppercase()
    } else {
        host
    }
}

fn case(rng: &mut Rng) -> Value {
    let region = *rng.pick(&REGIONS);
    let any_port = rng.range(1, 65535);
    let port = *rng.pick(&[3306, 3306, 443, 80, 1, 13306, 65535, any_port]);
    let user = {
        let alphabet = *rng.pick(&USER_ALPHABETS);
        let len = rng.range(1, 32) as usize;
        rng.string(alphabet, len)
    };
    let temporary = rng.range(0, 1) == 1;
    let access_key = format!(
        "{}{}",
        if temporary { "ASIA" } else { "AKIA" },
        rng.string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    );
    let secret_key = rng.string(B64, 40);
    let session_token = temporary.then(|| {
        let len = rng.range(100, 1200) as usize;
        rng.string(B64, len)
    });
    // 2015-01-01 .. 2035-12-31
    let time = rng.range(1_420_070_400, 2_082_758_399);
    json!({
        "host": host(rng, region), "port": port, "user": user, "region": region,
        "access_key": access_key, "secret_key": secret_key, "session_token": session_token, "time": time,
    })
}

fn ours(case: &Value) -> String {
    let text = |k: &str| case[k].as_str().unwrap().to_owned();
    let mut creds = Credentials::new(text("access_key"), text("secret_key"));
    if let Some(token) = case["session_token"].as_str() {
        creds = creds.with_session_token(token);
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(case["time"].as_u64().unwrap());
    let port = u16::try_from(case["port"].as_u64().unwrap()).unwrap();
    TokenRequest::new(text("host"), port, text("user"), text("region"))
        .unwrap()
        .sign(&creds, now)
        .unwrap()
        .expose()
        .to_owned()
}

fn botocore(cases: &[Value]) -> Vec<String> {
    let mut child = Command::new(python())
        .arg(root().join("tests/py/botocore_tokens.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    let input: String = cases.iter().map(|c| format!("{c}\n")).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python ran");
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "botocore_tokens.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn generated_cases_match_botocore_byte_for_byte() {
    let Some([_]) = require_or_skip([Tool::Botocore]) else {
        return;
    };
    let mut rng = Rng::from_env();
    let seed = seed_of(&rng);
    let cases: Vec<Value> = (0..CASES).map(|_| case(&mut rng)).collect();
    let expected = botocore(&cases);
    assert_eq!(
        expected.len(),
        CASES,
        "botocore answered {} of {CASES} cases (seed {seed})",
        expected.len()
    );
    let mut failures = Vec::new();
    for (case, expected) in cases.iter().zip(&expected) {
        let ours = ours(case);
        if &ours != expected {
            failures.push(format!("case {case}\n  ours:     {ours}\n  botocore: {expected}"));
        }
    }
    // Coverage of what the issue asks for, so a generator change cannot quietly drop a class.
    let count = |f: &dyn Fn(&Value) -> bool| cases.iter().filter(|c| f(c)).count();
    assert!(count(&|c| c["session_token"].is_string()) > 100);
    for needle in [" ", "+", "@", "&", "=", "/", "%", "~", "ユ"] {
        assert!(
            count(&|c| c["user"].as_str().unwrap().contains(needle)) > 0,
            "no user with {needle:?} (seed {seed})"
        );
    }
    for region in REGIONS {
        assert!(
            count(&|c| c["region"] == region) > 0,
            "no case in {region} (seed {seed})"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {CASES} tokens differ from botocore's; reproduce with RDS_IAM_TEST_SEED={seed}\n{}",
        failures.len(),
        failures.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// The MariaDB test bed's SigV4 check (testkit, written from the spec, not our signer's code) must accept what
/// botocore signs: otherwise the E2E logins would only prove that our signer agrees with itself.
#[test]
fn the_test_beds_validator_accepts_botocore_tokens() {
    let Some([_]) = require_or_skip([Tool::Botocore]) else {
        return;
    };
    use rds_iam_testkit::sigv4_check::{Expectation, validate_token};

    let mut rng = Rng::from_env();
    let seed = seed_of(&rng);
    let cases: Vec<Value> = (0..100).map(|_| case(&mut rng)).collect();
    let tokens = botocore(&cases);
    for (case, token) in cases.iter().zip(&tokens) {
        let text = |k: &str| case[k].as_str().unwrap();
        let port = u16::try_from(case["port"].as_u64().unwrap()).unwrap();
        let mut expect = Expectation::new(
            text("host"),
            port,
            text("user"),
            text("region"),
            text("access_key"),
            text("secret_key"),
        );
        if let Some(session) = case["session_token"].as_str() {
            expect = expect.with_session_token(session);
        }
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(case["time"].as_u64().unwrap() + 60);
        let verdict = validate_token(token, &expect, now);
        assert!(verdict.is_ok(), "seed {seed}: {verdict:?} for {case}\n{token}");
    }
}

/// `rds_iam_token::is_region` (the one region rule of the token request, endpoint parsing and the CA bundle)
/// accepts every region botocore's `partitions.json` lists, and none of its `aws-global`-style pseudo regions.
#[test]
fn every_botocore_region_is_a_region() {
    let Some([_]) = require_or_skip([Tool::Botocore]) else {
        return;
    };
    let script = "import json, botocore.loaders\n\
                  data = botocore.loaders.Loader().load_data('partitions')\n\
                  print(json.dumps([r for p in data['partitions'] for r in p['regions']]))";
    let out = Command::new(python())
        .args(["-c", script])
        .output()
        .expect("start python");
    assert!(
        out.status.success(),
        "reading botocore's partitions failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    let (pseudo, regions): (Vec<&String>, Vec<&String>) = names.iter().partition(|r| r.ends_with("-global"));
    assert!(regions.len() > 30, "botocore lists only {regions:?}");
    for region in regions {
        assert!(
            rds_iam_token::is_region(region),
            "botocore's {region} is not a region to rds-iam"
        );
    }
    for name in pseudo {
        assert!(!rds_iam_token::is_region(name), "{name} is not a region");
    }
}
