//! `BundleStore` against the loopback HTTPS bundle server: every fault leaves the stored bundle byte for byte as it
//! was; ETag revalidation; refresh age; the last good copy after a failed refresh.

use std::path::Path;
use std::time::{Duration, Instant};

use rds_iam_ca::{BundleSource, BundleStore, DownloadSettings, Error, Outcome, Refresh, VerifyError};
use rds_iam_testkit::{FakeBundleServer, Reply};

use super::*;

const PATH: &str = "/us-east-1/us-east-1-bundle.pem";

fn store(server: &FakeBundleServer, dir: &Path) -> BundleStore {
    BundleStore::new(dir)
        .with_base_url(server.url())
        .with_download_settings(
            DownloadSettings::default()
                .with_extra_root_pem(server.root_pem())
                .with_timeouts(Duration::from_secs(2), Duration::from_millis(700))
                .with_max_bytes(64 << 10),
        )
}

fn source() -> BundleSource {
    BundleSource::region("us-east-1").unwrap()
}

fn pem_reply(body: impl Into<Vec<u8>>, content_type: &str) -> Reply {
    Reply::Http {
        status: 200,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: body.into(),
    }
}

/// What must happen to a refresh that meets each fault.
type Check = fn(&Error) -> bool;

fn bad_cases() -> Vec<(&'static str, Reply, Check)> {
    let good = good_bundle();
    // Cut inside the second certificate (a cut between blocks is a shorter bundle, and cannot be told apart).
    let truncated = good[..good.len() / 2].to_owned();
    let mut cut_transfer = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/x-pem-file\r\n\r\n",
        good.len()
    )
    .into_bytes();
    cut_transfer.extend_from_slice(&good.as_bytes()[..good.len() / 2]);
    let cases: Vec<(&'static str, Reply, Check)> = vec![
        ("truncated", pem_reply(truncated, "application/x-pem-file"), |e| {
            matches!(
                e,
                Error::Rejected {
                    source: VerifyError::Malformed { .. },
                    ..
                }
            ) && e.to_string().contains("/us-east-1/us-east-1-bundle.pem")
        }),
        (
            "html page",
            pem_reply(
                "<html><head><title>Login</title></head><body>proxy login</body></html>",
                "text/html",
            ),
            |e| {
                let chain = format!(
                    "{e}: {}",
                    std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_default()
                );
                matches!(
                    e,
                    Error::Rejected {
                        source: VerifyError::NotPem { .. },
                        ..
                    }
                ) && chain.contains("received 70 bytes of text/html starting with \"<html><head><title>Login")
            },
        ),
        (
            "tampered signature",
            pem_reply(
                [
                    RdsLikeCa::root("us-east-1").pem(),
                    RdsLikeCa::root("eu-west-1").tampered_pem(),
                ]
                .concat(),
                "application/x-pem-file",
            ),
            |e| {
                matches!(
                    e,
                    Error::Rejected {
                        source: VerifyError::BadSignature { index: 2, .. },
                        ..
                    }
                )
            },
        ),
        (
            "only expired",
            pem_reply(
                [
                    RdsLikeCa::root("us-east-1").expired().pem(),
                    RdsLikeCa::root("eu-west-1").expired().pem(),
                ]
                .concat(),
                "application/x-pem-file",
            ),
            |e| {
                matches!(
                    e,
                    Error::Rejected {
                        source: VerifyError::NoValidRoot { skipped: 2, .. },
                        ..
                    }
                )
            },
        ),
        (
            "not a CA",
            pem_reply(
                [
                    RdsLikeCa::root("us-east-1").pem(),
                    RdsLikeCa::root("eu-west-1").not_a_ca().pem(),
                ]
                .concat(),
                "application/x-pem-file",
            ),
            |e| {
                matches!(
                    e,
                    Error::Rejected {
                        source: VerifyError::NotCa { .. },
                        ..
                    }
                )
            },
        ),
        (
            "no root for the region",
            pem_reply(RdsLikeCa::root("eu-west-1").pem(), "application/x-pem-file"),
            |e| {
                matches!(
                    e,
                    Error::Rejected {
                        source: VerifyError::RegionMissing { .. },
                        ..
                    }
                )
            },
        ),
        (
            "oversized",
            pem_reply(good.repeat(100), "application/x-pem-file"),
            |e| matches!(e, Error::TooLarge { limit: 65536, .. }),
        ),
        (
            "slow",
            Reply::Delay(
                Duration::from_secs(3),
                Box::new(pem_reply(good.clone(), "application/x-pem-file")),
            ),
            |e| matches!(e, Error::Timeout { .. }),
        ),
        (
            "404",
            Reply::Http {
                status: 404,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<html>Not Found</html>".to_vec(),
            },
            |e| {
                matches!(e, Error::Status { status: 404, .. })
                    && e.to_string()
                        .contains("received 22 bytes of text/html starting with \"<html>Not Found")
            },
        ),
        ("cut transfer", Reply::Raw(cut_transfer), |e| {
            matches!(e, Error::Download { .. })
        }),
        ("500", Reply::text(500, "internal error"), |e| {
            matches!(e, Error::Status { status: 500, .. })
        }),
        ("garbage", Reply::Raw(b"\x00\x01\x02 not http".to_vec()), |e| {
            matches!(e, Error::Download { .. })
        }),
    ];
    cases
}

#[test]
fn every_fault_is_an_error_and_the_stored_bundle_stays_byte_for_byte() {
    let server = FakeBundleServer::start();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&server, dir.path());
    server.serve_pem(PATH, good_bundle(), "\"v1\"");
    let first = store.get(&source(), now()).unwrap();
    assert_eq!(first.outcome, Outcome::Downloaded);
    assert_eq!(first.report.roots.len(), 2);
    let pem_before = std::fs::read(&first.path).unwrap();
    let meta_path = dir.path().join("us-east-1-bundle.pem.json");
    let meta_before = std::fs::read(&meta_path).unwrap();
    assert!(pem_before == good_bundle().as_bytes());

    for (name, reply, expected) in bad_cases() {
        server.serve_reply(PATH, reply.clone());
        for mode in [Refresh::Force, Refresh::IfModified] {
            let started = Instant::now();
            let Err(err) = store.refresh(&source(), now(), mode) else {
                panic!("{name}: {mode:?} succeeded")
            };
            assert!(expected(&err), "{name}: unexpected error {err:?}");
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{name}: took {:?}",
                started.elapsed()
            );
            assert!(
                std::fs::read(&first.path).unwrap() == pem_before,
                "{name}: the stored bundle changed"
            );
            assert!(
                std::fs::read(&meta_path).unwrap() == meta_before,
                "{name}: the sidecar changed"
            );
        }
        // `get` past the refresh age tries again, fails, and hands out the last good copy.
        let later = now() + Duration::from_secs(8 * 86_400);
        let kept = store.get(&source(), later).unwrap();
        assert!(
            matches!(kept.outcome, Outcome::KeptAfterFailedRefresh(_)),
            "{name}: {:?}",
            kept.outcome
        );
        assert_eq!(kept.path, first.path);
        assert!(
            std::fs::read(&first.path).unwrap() == pem_before,
            "{name}: the stored bundle changed"
        );
    }
    // Only the bundle and its sidecar: no temporary files left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["us-east-1-bundle.pem", "us-east-1-bundle.pem.json"]);
}

#[test]
fn etag_revalidation_refresh_age_and_replacement() {
    let server = FakeBundleServer::start();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&server, dir.path()).with_refresh_after(Duration::from_secs(86_400));
    server.serve_pem(PATH, good_bundle(), "\"v1\"");

    let bundle = store.get(&source(), now()).unwrap();
    assert_eq!(bundle.outcome, Outcome::Downloaded);
    assert_eq!(bundle.url.as_deref(), Some(format!("{}{PATH}", server.url()).as_str()));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, PATH);
    assert_eq!(requests[0].header("if-none-match"), None);

    // Within the refresh age: no request.
    server.clear();
    let cached = store.get(&source(), now() + Duration::from_secs(3600)).unwrap();
    assert_eq!(cached.outcome, Outcome::Cached);
    assert!(server.requests().is_empty());

    // Past it: a conditional request; 304 keeps the file and restarts the age.
    let day2 = now() + Duration::from_secs(2 * 86_400);
    let revalidated = store.get(&source(), day2).unwrap();
    assert_eq!(revalidated.outcome, Outcome::NotModified);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("if-none-match"), Some("\"v1\""));
    assert_eq!(
        requests[0].header("if-modified-since"),
        Some("Tue, 01 Apr 2025 00:00:00 GMT")
    );
    assert!(std::fs::read(&revalidated.path).unwrap() == good_bundle().as_bytes());
    server.clear();
    assert_eq!(
        store.get(&source(), day2 + Duration::from_secs(3600)).unwrap().outcome,
        Outcome::Cached
    );
    assert!(server.requests().is_empty());

    // A new bundle behind a new ETag replaces the file.
    let newer = [RdsLikeCa::root("us-east-1").pem(), RdsLikeCa::root("us-west-2").pem()].concat();
    server.serve_pem(PATH, newer.clone(), "\"v2\"");
    let replaced = store.refresh(&source(), day2, Refresh::IfModified).unwrap();
    assert_eq!(replaced.outcome, Outcome::Downloaded);
    assert!(std::fs::read(&replaced.path).unwrap() == newer.as_bytes());
    assert!(replaced.report.regions().contains("us-west-2"));

    // Force ignores the validators.
    server.clear();
    assert_eq!(
        store.refresh(&source(), day2, Refresh::Force).unwrap().outcome,
        Outcome::Downloaded
    );
    assert_eq!(server.requests()[0].header("if-none-match"), None);
}

#[test]
fn a_stored_bundle_that_no_longer_verifies_is_downloaded_again() {
    let server = FakeBundleServer::start();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&server, dir.path());
    let path = store.path(&source());
    std::fs::create_dir_all(dir.path()).unwrap();
    std::fs::write(&path, "<html>corrupt</html>").unwrap();
    assert!(matches!(store.cached(&source(), now()), Err(Error::Rejected { .. })));
    server.serve_pem(PATH, good_bundle(), "\"v1\"");
    let bundle = store.get(&source(), now()).unwrap();
    assert_eq!(bundle.outcome, Outcome::Downloaded);
    assert!(std::fs::read(&path).unwrap() == good_bundle().as_bytes());

    // Nothing stored and nothing downloadable: an error, no file.
    let empty = tempfile::tempdir().unwrap();
    let other = BundleSource::region("eu-west-1").unwrap();
    let err = self::store(&server, empty.path()).get(&other, now()).unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err}");
    assert!(!empty.path().join("eu-west-1-bundle.pem").exists());
}

#[test]
fn downloads_need_https_and_a_trusted_server() {
    let server = FakeBundleServer::start();
    server.serve_pem("/global/global-bundle.pem", good_bundle(), "\"g\"");
    let dir = tempfile::tempdir().unwrap();
    // Without the test root, the server's certificate is not trusted.
    let untrusted = BundleStore::new(dir.path())
        .with_base_url(server.url())
        .get(&BundleSource::global(), now())
        .unwrap_err();
    assert!(matches!(untrusted, Error::Download { .. }), "{untrusted}");
    assert!(
        untrusted.to_string().contains("RDS_IAM_CA_DOWNLOAD_ROOT"),
        "{untrusted}"
    );

    let plain = BundleStore::new(dir.path())
        .with_base_url(server.url().replace("https://", "http://"))
        .get(&BundleSource::global(), now())
        .unwrap_err();
    assert!(matches!(plain, Error::NotHttps { .. }), "{plain}");

    let global = store(&server, dir.path()).get(&BundleSource::global(), now()).unwrap();
    assert_eq!(global.path, dir.path().join("global-bundle.pem"));
    assert_eq!(global.report.regions().len(), 2);
}

#[test]
fn default_dir_honours_the_override() {
    let dir = BundleStore::default_dir(|name| (name == "RDS_IAM_CACHE_DIR").then(|| "/srv/cache".to_owned())).unwrap();
    assert_eq!(dir, Path::new("/srv/cache/ca"));
}

#[test]
fn the_amazon_roots_are_written_without_a_download() {
    let server = FakeBundleServer::start();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&server, dir.path());

    let bundle = store.amazon_trust_services(now()).unwrap();
    assert_eq!(bundle.outcome, Outcome::BuiltIn);
    assert_eq!(bundle.path, dir.path().join(rds_iam_ca::AMAZON_TRUST_SERVICES_FILE));
    assert_eq!(bundle.report.roots.len(), 5);
    let pem = rds_iam_ca::amazon_trust_services_pem();
    assert_eq!(std::fs::read_to_string(&bundle.path).unwrap(), pem);

    // A damaged copy is replaced; pins and a region set for RDS bundles do not apply to these roots.
    std::fs::write(&bundle.path, "garbage").unwrap();
    let pinned = BundleStore::new(dir.path()).with_verify_options(
        rds_iam_ca::VerifyOptions::default()
            .with_region("eu-west-1")
            .with_pin(&"00".repeat(32)),
    );
    pinned.amazon_trust_services(now()).unwrap();
    assert_eq!(std::fs::read_to_string(&bundle.path).unwrap(), pem);
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

/// Rewrites the sidecar's `checked_at` to `value` (any JSON number).
fn set_checked_at(meta_path: &Path, value: serde_json::Value) {
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(meta_path).unwrap()).unwrap();
    json["checked_at"] = value;
    std::fs::write(meta_path, json.to_string()).unwrap();
}

/// Security review, finding 7: a sidecar whose check time is past what `SystemTime` holds (`u64::MAX` seconds)
/// panicked in `UNIX_EPOCH + Duration::from_secs(checked_at)` — an abort in the dist build. It is now no sidecar:
/// the bundle is downloaded again, unconditionally, and the sidecar rewritten; when that download fails, the
/// stored bundle is still used.
#[test]
fn a_sidecar_check_time_past_any_system_time_means_no_sidecar() {
    let server = FakeBundleServer::start();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&server, dir.path());
    server.serve_pem(PATH, good_bundle(), "\"v1\"");
    let first = store.get(&source(), now()).unwrap();
    let meta_path = dir.path().join("us-east-1-bundle.pem.json");

    set_checked_at(&meta_path, u64::MAX.into());
    server.clear();
    let again = store.get(&source(), now() + Duration::from_secs(60)).unwrap();
    assert_eq!(again.outcome, Outcome::Downloaded);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("if-none-match"),
        None,
        "no validators from an unusable sidecar"
    );
    // The sidecar is sane again: the next call within the refresh age uses the stored copy.
    server.clear();
    let later = store.get(&source(), now() + Duration::from_secs(120)).unwrap();
    assert_eq!(later.outcome, Outcome::Cached);
    assert!(server.requests().is_empty());

    // The same damage and a server that fails: the last good copy is kept. Without the network, it is the
    // stored copy, without the sidecar's URL.
    set_checked_at(&meta_path, u64::MAX.into());
    let cached = store.cached(&source(), now()).unwrap().unwrap();
    assert_eq!((cached.path.as_path(), cached.url), (first.path.as_path(), None));
    server.serve_reply(PATH, Reply::text(500, "internal error"));
    let kept = store.get(&source(), now()).unwrap();
    assert!(
        matches!(kept.outcome, Outcome::KeptAfterFailedRefresh(_)),
        "{:?}",
        kept.outcome
    );
    assert!(std::fs::read(&kept.path).unwrap() == good_bundle().as_bytes());
    assert!(store.refresh(&source(), now(), Refresh::IfModified).is_err());
}

/// Security review, finding 7: check times that are numbers but no sensible time — `i64::MAX` seconds (it fits a
/// `SystemTime` on Linux: far in the future), negative, fractional, enormous — never count as fresh and never
/// panic: the bundle is revalidated (or downloaded) and the sidecar rewritten with the real check time.
#[test]
fn a_sidecar_check_time_in_the_far_future_or_malformed_needs_a_refresh() {
    let server = FakeBundleServer::start();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&server, dir.path());
    server.serve_pem(PATH, good_bundle(), "\"v1\"");
    store.get(&source(), now()).unwrap();
    let meta_path = dir.path().join("us-east-1-bundle.pem.json");

    let values: [serde_json::Value; 5] = [
        i64::MAX.into(),
        (-1).into(),
        1.5.into(),
        serde_json::json!(1e300),
        serde_json::json!("1767225600"),
    ];
    for value in values {
        set_checked_at(&meta_path, value.clone());
        server.clear();
        let bundle = store.get(&source(), now()).unwrap();
        assert!(
            matches!(bundle.outcome, Outcome::NotModified | Outcome::Downloaded),
            "{value}: {:?}",
            bundle.outcome
        );
        assert_eq!(server.requests().len(), 1, "{value}");
        assert!(std::fs::read(&bundle.path).unwrap() == good_bundle().as_bytes());
        server.clear();
        assert_eq!(store.get(&source(), now()).unwrap().outcome, Outcome::Cached, "{value}");
        assert!(server.requests().is_empty(), "{value}");
    }
}

/// Security review, finding 10d: the store creates its folder (and missing parents) `0700` and its files `0600`.
#[cfg(unix)]
#[test]
fn a_new_cache_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;

    let server = FakeBundleServer::start();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("cache").join("ca");
    server.serve_pem(PATH, good_bundle(), "\"v1\"");
    let bundle = store(&server, &dir).get(&source(), now()).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&home.path().join("cache")), 0o700);
    assert_eq!(mode(&bundle.path), 0o600);
    assert_eq!(mode(&dir.join("us-east-1-bundle.pem.json")), 0o600);

    let amazon = store(&server, &home.path().join("proxy"))
        .amazon_trust_services(now())
        .unwrap();
    assert_eq!(mode(amazon.path.parent().unwrap()), 0o700);
    assert_eq!(mode(&amazon.path), 0o600);
}

/// Security review, finding 10d: a cache folder that group or others can write is refused by every entry point,
/// before anything in it is read or written — another user could have swapped the bundle TLS trusts. A folder
/// others can only read (`0755`, what earlier versions created) is still used.
#[cfg(unix)]
#[test]
fn a_cache_folder_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let chmod = |path: &Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();

    let server = FakeBundleServer::start();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&server, dir.path());
    server.serve_pem(PATH, good_bundle(), "\"v1\"");
    let first = store.get(&source(), now()).unwrap();
    let pem_before = std::fs::read(&first.path).unwrap();

    for mode in [0o777, 0o1777, 0o775, 0o770, 0o703, 0o722] {
        chmod(dir.path(), mode);
        server.clear();
        let insecure = |result: Result<(), Error>, call: &str| {
            let err = result.unwrap_err();
            assert!(
                matches!(&err, Error::InsecureCacheDir { path, mode: m } if path == dir.path() && *m == mode),
                "{mode:o} {call}: {err:?}"
            );
            let message = err.to_string();
            assert!(message.contains(&format!("mode {mode:04o}")), "{message}");
            assert!(
                message.contains(&format!("chmod go-w {}", dir.path().display())),
                "{message}"
            );
        };
        insecure(store.get(&source(), now()).map(drop), "get");
        insecure(
            store.get(&source(), now() + Duration::from_secs(30 * 86_400)).map(drop),
            "get later",
        );
        insecure(store.refresh(&source(), now(), Refresh::Force).map(drop), "refresh");
        insecure(store.cached(&source(), now()).map(drop), "cached");
        insecure(store.amazon_trust_services(now()).map(drop), "amazon_trust_services");
        assert!(server.requests().is_empty(), "{mode:o}: {:?}", server.requests());
        assert!(std::fs::read(&first.path).unwrap() == pem_before);
        assert!(!dir.path().join(rds_iam_ca::AMAZON_TRUST_SERVICES_FILE).exists());
    }

    // Readable by others is fine: bundles are public; only writing matters.
    chmod(dir.path(), 0o755);
    assert_eq!(store.get(&source(), now()).unwrap().outcome, Outcome::Cached);
    chmod(dir.path(), 0o700);
    assert_eq!(store.get(&source(), now()).unwrap().outcome, Outcome::Cached);
}
