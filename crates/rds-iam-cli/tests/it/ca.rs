//! `rds-iam ca`: verify (exit codes, JSON, retired names), fetch and path against the loopback HTTPS bundle server,
//! and concurrent fetches.

use std::time::Duration;

use expect_test::expect_file;
use rds_iam_testkit::{FakeBundleServer, RdsLikeCa};

use super::*;

fn bundle() -> String {
    [
        RdsLikeCa::root("us-east-1").pem(),
        RdsLikeCa::root("eu-west-1").pem(),
        RdsLikeCa::root("ap-south-1").expired().pem(),
    ]
    .concat()
}

/// A server with the global bundle, and the variables that point `rds-iam ca` at it and at a cache in `home`.
fn server_and_vars(home: &Path) -> (FakeBundleServer, Vec<(String, String)>) {
    let server = FakeBundleServer::start();
    let root = home.join("download-root.pem");
    std::fs::write(&root, server.root_pem()).unwrap();
    let vars = vec![
        ("RDS_IAM_CACHE_DIR".to_owned(), home.join("cache").display().to_string()),
        ("RDS_IAM_CA_BASE_URL".to_owned(), server.url()),
        ("RDS_IAM_CA_DOWNLOAD_ROOT".to_owned(), root.display().to_string()),
    ];
    (server, vars)
}

fn run(home: &Path, args: &[&str], vars: &[(String, String)]) -> Output {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    rds_iam(home, args, &vars)
}

#[test]
fn verify_prints_a_summary_and_exits_0_or_1() {
    let h = home("", "");
    let file = h.path().join("bundle.pem");
    std::fs::write(&file, bundle()).unwrap();
    let file = file.to_str().unwrap();

    let out = rds_iam(h.path(), &["ca", "verify", file, "--at", "2026-01-01T00:00:00Z"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "valid at 2026-01-01T00:00:00Z\n",
        "valid roots:     2\n",
        "expired skipped: 1\n",
        "key types:       ECC384\n",
        "regions (2):    eu-west-1, us-east-1\n",
        "earliest expiry: 2120-01-01T00:00:00Z",
        "warning: skipped Amazon RDS ap-south-1 Root CA ECC384 G1: expired on 2024-01-01",
    ] {
        assert!(text.contains(line), "expected {line:?} in:\n{text}");
    }

    let out = rds_iam(
        h.path(),
        &["ca", "verify", file, "--region", "ap-south-1", "--output", "json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert!(
        json["error"].as_str().unwrap().contains("no valid root for ap-south-1"),
        "{json}"
    );

    let out = rds_iam(h.path(), &["ca", "verify", file, "--output", "json"], &[]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid_roots"], 2);
    assert_eq!(json["expired_skipped"], 1);
    assert_eq!(json["key_types"], serde_json::json!(["ECC384"]));
    assert_eq!(json["regions"], serde_json::json!(["eu-west-1", "us-east-1"]));

    let html = h.path().join("page.pem");
    std::fs::write(&html, "<html><body>Access Denied</body></html>").unwrap();
    let out = rds_iam(h.path(), &["ca", "verify", html.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a PEM certificate bundle (received 39 bytes starting with \"<html>"),
        "{}",
        stderr(&out)
    );

    let out = rds_iam(h.path(), &["ca", "verify", file, "--at", "tomorrow"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not an RFC 3339 time"), "{}", stderr(&out));
}

#[test]
fn retired_bundles_are_explained() {
    let h = home("", "");
    for args in [
        &["ca", "verify", "rds-combined-ca-bundle.pem"][..],
        &["ca", "fetch", "--bundle", "rds-ca-2019-root.pem"],
        &["ca", "path", "--bundle", "rds-combined-ca-bundle.pem"],
    ] {
        let out = rds_iam(h.path(), args, &[]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("expired in 2024"), "{args:?}: {err}");
        assert!(err.contains("rds-iam ca fetch --global"), "{args:?}: {err}");
    }
    // A file by that name is still verified (and fails: its certificates expired), with the note.
    let old = h.path().join("rds-ca-2019-root.pem");
    std::fs::write(&old, RdsLikeCa::root("us-east-1").expired().pem()).unwrap();
    let out = rds_iam(h.path(), &["ca", "verify", old.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("note: rds-ca-2019-root.pem is a retired RDS CA bundle"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fetch_and_path_use_the_cache() {
    let h = home("", "");
    let (server, vars) = server_and_vars(h.path());
    let pem = bundle();
    server.serve_pem("/global/global-bundle.pem", pem.clone(), "\"v1\"");
    let stored = h.path().join("cache/ca/global-bundle.pem");

    let out = run(h.path(), &["ca", "fetch", "--global"], &vars);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with(&format!("{}\n", stored.display())), "{text}");
    assert!(text.contains("the global RDS CA bundle: downloaded\n"), "{text}");
    assert!(text.contains("valid roots:     2\n"), "{text}");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), pem);

    let out = run(h.path(), &["ca", "fetch"], &vars);
    assert!(
        stdout(&out).contains("unchanged (304 Not Modified)"),
        "{}",
        stdout(&out)
    );

    server.clear();
    let out = run(h.path(), &["ca", "path"], &vars);
    assert_eq!(stdout(&out), format!("{}\n", stored.display()));
    assert!(server.requests().is_empty(), "a fresh cached bundle needs no request");

    // A bad download fails the fetch and leaves the file alone.
    server.serve_pem("/global/global-bundle.pem", "<html>maintenance</html>", "\"v2\"");
    let out = run(h.path(), &["ca", "fetch", "--force"], &vars);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error: could not fetch the global RDS CA bundle: the CA bundle from https://127.0.0.1:"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), pem);

    // A region the server does not have.
    let out = run(h.path(), &["ca", "fetch", "--region", "eu-west-1"], &vars);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("answered HTTP 404"), "{}", stderr(&out));
}

#[test]
fn eight_concurrent_fetches_leave_one_valid_file() {
    let h = home("", "");
    let (server, vars) = server_and_vars(h.path());
    let pem = bundle();
    server.serve_reply(
        "/global/global-bundle.pem",
        rds_iam_testkit::Reply::Delay(
            Duration::from_millis(100),
            Box::new(rds_iam_testkit::Reply::text(200, pem.clone())),
        ),
    );
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_rds-iam"))
                .args(["ca", "fetch", "--force"])
                .env_clear()
                .env("HOME", h.path())
                .envs(vars.iter().map(|(k, v)| (k, v)))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_eq!(server.requests().len(), 8);
    let dir = h.path().join("cache/ca");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["global-bundle.pem", "global-bundle.pem.json"],
        "no temporary files left"
    );
    assert_eq!(std::fs::read_to_string(dir.join("global-bundle.pem")).unwrap(), pem);
    let out = run(
        h.path(),
        &["ca", "verify", dir.join("global-bundle.pem").to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn help() {
    let h = home("", "");
    expect_file!["snapshots/ca-help.txt"].assert_eq(&stdout(&rds_iam(h.path(), &["ca", "--help"], &[])));
}

#[test]
fn the_proxy_roots_are_built_in() {
    let h = home("", "");
    let (server, vars) = server_and_vars(h.path());
    let stored = h.path().join("cache/ca/amazon-trust-services.pem");

    let out = run(h.path(), &["ca", "fetch", "--proxy"], &vars);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with(&format!("{}\n", stored.display())), "{text}");
    assert!(
        text.contains("the Amazon Trust Services roots (RDS Proxy): built in\n"),
        "{text}"
    );
    assert!(text.contains("valid roots:     5\n"), "{text}");
    let out = run(h.path(), &["ca", "path", "--proxy"], &vars);
    assert_eq!(stdout(&out), format!("{}\n", stored.display()));
    assert!(
        server.requests().is_empty(),
        "nothing downloaded: {:?}",
        server.requests()
    );

    let out = rds_iam(
        h.path(),
        &["ca", "verify", stored.to_str().unwrap(), "--output", "json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let subjects: Vec<&str> = report["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["subject"].as_str().unwrap())
        .collect();
    for root in [
        "Amazon Root CA 1",
        "Amazon Root CA 4",
        "Starfield Services Root Certificate Authority - G2",
    ] {
        assert!(subjects.iter().any(|s| s.contains(root)), "{root} in {subjects:?}");
    }

    let out = run(h.path(), &["ca", "path", "--proxy", "--region", "eu-west-1"], &vars);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
