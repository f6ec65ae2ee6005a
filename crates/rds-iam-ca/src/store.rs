//! [`BundleStore`]: the on-disk bundle cache — verified before it is written, written atomically, revalidated
//! with ETag / Last-Modified after a refresh age, and kept when a refresh fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::amazon::{AMAZON_TRUST_SERVICES_FILE, amazon_trust_services_pem};
use crate::download::{DownloadSettings, Downloaded, Downloader, Validators};
use crate::verify::{BundleReport, VerifyOptions, hex, verify_bundle};
use crate::{BundleSource, Error};

/// The environment variable that overrides the cache directory (bundles go to its `ca/` folder).
pub const CACHE_DIR_VAR: &str = "RDS_IAM_CACHE_DIR";

/// A verified bundle on disk: the path to hand a TLS client, and what verification found.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Bundle {
    /// The PEM file (verified at the time given to the call that returned this).
    pub path: PathBuf,
    /// What verification found.
    pub report: BundleReport,
    /// Where it came from this time.
    pub outcome: Outcome,
    /// The URL it was downloaded from (as recorded when it was stored).
    pub url: Option<String>,
}

/// How a [`Bundle`] was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Downloaded now, verified and stored.
    Downloaded,
    /// The server said the stored copy is current (`304 Not Modified`).
    NotModified,
    /// The stored copy was recent enough; no network.
    Cached,
    /// A refresh failed (download or verification); the last good copy is used. The reason is kept.
    KeptAfterFailedRefresh(String),
    /// Built into this program (the Amazon Trust Services roots), written out now or already on disk.
    BuiltIn,
}

/// How [`BundleStore::refresh`] asks the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refresh {
    /// With the stored ETag / Last-Modified: `304` keeps the stored copy.
    IfModified,
    /// Unconditionally: always downloads the whole bundle.
    Force,
}

/// The on-disk cache of RDS CA bundles.
///
/// [`BundleStore::get`] is what a connect path calls: it returns a verified file, downloading it when absent,
/// revalidating it when older than the refresh age (7 days by default), and keeping the last good copy when a
/// refresh fails. A bundle is verified before it is written, and written atomically (temporary file in the same
/// folder, then rename), so readers — other processes included — see the old file or the new one, never a mix,
/// and never a bundle that failed verification.
///
/// # Permissions
///
/// The bundle is what TLS trusts, so whoever can write the folder can intercept the IAM tokens sent under it. On
/// Unix the store creates its folder (and any missing parent) with mode `0700`, and refuses a folder that group
/// or others can write ([`Error::InsecureCacheDir`]), as OpenSSH refuses a group-writable `~/.ssh`: such a
/// folder lets another user swap the bundle or plant one before it is first written. Refusing rather than
/// warning, because a warning on a connect path goes unread while the swapped bundle is used. A folder that is
/// only readable by others (`0755`, what earlier versions created with the usual umask) is accepted: bundles
/// are public data. Files are written `0600` (the temporary files they are renamed from are created so); the
/// folder's mode is what keeps others out. Parent folders are not checked. On other platforms the folder's
/// access control list is left to the system.
///
/// ```no_run
/// use rds_iam_ca::{BundleSource, BundleStore};
///
/// let dir = BundleStore::default_dir(|name| std::env::var(name).ok())?;
/// let bundle = BundleStore::new(dir).get(&BundleSource::global(), std::time::SystemTime::now())?;
/// println!("{} ({} roots)", bundle.path.display(), bundle.report.roots.len());
/// # Ok::<(), rds_iam_ca::Error>(())
/// ```
#[derive(Debug)]
pub struct BundleStore {
    dir: PathBuf,
    base_url: Option<String>,
    refresh_after: Duration,
    verify: VerifyOptions,
    downloader: Downloader,
}

/// What is stored beside a bundle (`{file}.json`).
#[derive(Debug)]
struct Meta {
    url: Option<String>,
    validators: Validators,
    /// When the server last confirmed (or sent) this copy; stored as seconds since the epoch. A sidecar whose
    /// value is no time this system can hold is no sidecar.
    checked_at: SystemTime,
    /// SHA-256 of the PEM this describes: a sidecar that does not match (two writers raced) is ignored.
    sha256: String,
}

/// A stored bundle that verified.
struct Stored {
    report: BundleReport,
    meta: Option<Meta>,
}

impl BundleStore {
    /// A store in `dir` (created when first written), downloading from AWS with default settings.
    pub fn new(dir: impl Into<PathBuf>) -> BundleStore {
        BundleStore {
            dir: dir.into(),
            base_url: None,
            refresh_after: Duration::from_secs(7 * 86_400),
            verify: VerifyOptions::default(),
            downloader: Downloader::new(DownloadSettings::default()),
        }
    }

    /// The default folder: `$RDS_IAM_CACHE_DIR/ca` if set, else the platform cache folder's `rds-iam/ca`
    /// (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows).
    /// `env` looks up a variable; the platform folder is found by the `directories` crate.
    pub fn default_dir(env: impl Fn(&str) -> Option<String>) -> Result<PathBuf, Error> {
        if let Some(dir) = env(CACHE_DIR_VAR).filter(|d| !d.trim().is_empty()) {
            return Ok(PathBuf::from(dir).join("ca"));
        }
        directories::ProjectDirs::from("", "", "rds-iam")
            .map(|dirs| dirs.cache_dir().join("ca"))
            .ok_or(Error::NoCacheDir)
    }

    /// Downloads from `base` (`https://…`, a mirror or test server laid out like AWS's) instead of AWS.
    pub fn with_base_url(mut self, base: impl Into<String>) -> Self {
        self.base_url = Some(base.into());
        self
    }

    /// Download settings (timeouts, size cap, extra trust roots for the download).
    pub fn with_download_settings(mut self, settings: DownloadSettings) -> Self {
        self.downloader = Downloader::new(settings);
        self
    }

    /// Revalidate a stored bundle older than this (default 7 days).
    pub fn with_refresh_after(mut self, age: Duration) -> Self {
        self.refresh_after = age;
        self
    }

    /// Verification options (expiry warnings, pins). The region is set per bundle from its source.
    pub fn with_verify_options(mut self, options: VerifyOptions) -> Self {
        self.verify = options;
        self
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `source`'s bundle is (or would be) stored.
    pub fn path(&self, source: &BundleSource) -> PathBuf {
        let name = source.file_name();
        match (source.partition(), source.region_name()) {
            // A global bundle per partition; regional names are unique already.
            (rds_iam_token::Partition::Aws, _) | (_, Some(_)) => self.dir.join(name),
            (partition, None) => self.dir.join(format!("{}-{name}", partition.as_str())),
        }
    }

    fn meta_path(&self, source: &BundleSource) -> PathBuf {
        let mut path = self.path(source).into_os_string();
        path.push(".json");
        PathBuf::from(path)
    }

    fn options(&self, source: &BundleSource) -> VerifyOptions {
        let mut options = self.verify.clone();
        options.region = source.region_name().map(str::to_owned);
        options
    }

    /// A verified bundle for `source` at `now`: the stored one if younger than the refresh age; else revalidated
    /// or downloaded. When a refresh fails but a stored copy still verifies, that copy is returned
    /// ([`Outcome::KeptAfterFailedRefresh`]).
    pub fn get(&self, source: &BundleSource, now: SystemTime) -> Result<Bundle, Error> {
        self.check_dir()?;
        match self.stored(source, now) {
            Ok(Some(stored)) => {
                // A check time after `now` (a clock moved back, a damaged sidecar) is not fresh either.
                let fresh = stored
                    .meta
                    .as_ref()
                    .and_then(|m| now.duration_since(m.checked_at).ok())
                    .is_some_and(|age| age < self.refresh_after);
                if fresh {
                    return Ok(self.bundle(source, stored, Outcome::Cached));
                }
                let url = stored.meta.as_ref().and_then(|m| m.url.clone());
                let report = stored.report.clone();
                match self.download(source, now, Some(stored)) {
                    Ok(bundle) => Ok(bundle),
                    Err(error) => {
                        tracing::warn!(%error, "refreshing the CA bundle failed; using the stored copy");
                        Ok(Bundle {
                            path: self.path(source),
                            report,
                            outcome: Outcome::KeptAfterFailedRefresh(error_chain(&error)),
                            url,
                        })
                    }
                }
            }
            Ok(None) => self.download(source, now, None),
            Err(error) => {
                tracing::warn!(%error, "the stored CA bundle does not verify; downloading it again");
                self.download(source, now, None)
            }
        }
    }

    /// The Amazon Trust Services roots as a bundle file, for RDS Proxy endpoints (whose certificates chain to
    /// Amazon Root CA 1–4, not to an RDS CA). Built in, so no network: verified at `now` (region and pins do not
    /// apply) and written to [`AMAZON_TRUST_SERVICES_FILE`] in the store's folder unless it already holds exactly
    /// these bytes.
    pub fn amazon_trust_services(&self, now: SystemTime) -> Result<Bundle, Error> {
        self.check_dir()?;
        let pem = amazon_trust_services_pem();
        let options = VerifyOptions {
            warn_within: self.verify.warn_within,
            ..VerifyOptions::default()
        };
        let report = verify_bundle(pem.as_bytes(), now, &options).map_err(|e| Error::Rejected {
            from: "the built-in Amazon Trust Services roots".to_owned(),
            source: e,
        })?;
        let path = self.dir.join(AMAZON_TRUST_SERVICES_FILE);
        if std::fs::read(&path).ok().as_deref() != Some(pem.as_bytes()) {
            self.write_atomically(&path, pem.as_bytes())?;
        }
        Ok(Bundle {
            path,
            report,
            outcome: Outcome::BuiltIn,
            url: None,
        })
    }

    /// Asks the server now. Fails if the download or verification fails — the stored copy, if any, is then left
    /// exactly as it was.
    pub fn refresh(&self, source: &BundleSource, now: SystemTime, mode: Refresh) -> Result<Bundle, Error> {
        self.check_dir()?;
        let stored = match mode {
            Refresh::Force => None,
            Refresh::IfModified => self.stored(source, now).ok().flatten(),
        };
        self.download(source, now, stored)
    }

    /// The stored bundle, verified at `now`, without any network: `None` if there is none.
    pub fn cached(&self, source: &BundleSource, now: SystemTime) -> Result<Option<Bundle>, Error> {
        self.check_dir()?;
        Ok(self
            .stored(source, now)?
            .map(|stored| self.bundle(source, stored, Outcome::Cached)))
    }

    fn bundle(&self, source: &BundleSource, stored: Stored, outcome: Outcome) -> Bundle {
        Bundle {
            path: self.path(source),
            report: stored.report,
            outcome,
            url: stored.meta.and_then(|m| m.url),
        }
    }

    /// Reads and verifies the stored copy. `Ok(None)`: nothing stored.
    fn stored(&self, source: &BundleSource, now: SystemTime) -> Result<Option<Stored>, Error> {
        let path = self.path(source);
        let pem = match std::fs::read(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    action: "reading",
                    path,
                    source,
                });
            }
        };
        let report = verify_bundle(&pem, now, &self.options(source)).map_err(|e| Error::Rejected {
            from: path.display().to_string(),
            source: e,
        })?;
        let sha256 = sha256_hex(&pem);
        let meta = std::fs::read(self.meta_path(source))
            .ok()
            .and_then(|bytes| parse_meta(&bytes))
            .filter(|m| m.sha256 == sha256);
        Ok(Some(Stored { report, meta }))
    }

    fn download(&self, source: &BundleSource, now: SystemTime, stored: Option<Stored>) -> Result<Bundle, Error> {
        let url = source.url(self.base_url.as_deref())?;
        let validators = stored
            .as_ref()
            .and_then(|s| s.meta.as_ref())
            .map(|m| m.validators.clone());
        match self.downloader.get(&url, validators.as_ref())? {
            Downloaded::NotModified => {
                let (Some(stored), Some(validators)) = (stored, validators) else {
                    return Err(Error::UnexpectedNotModified { url });
                };
                let sha256 = stored.meta.as_ref().map(|m| m.sha256.clone()).unwrap_or_default();
                // Only the check time changes; failing to record it just means asking again next time.
                let meta = Meta {
                    url: Some(url.clone()),
                    validators,
                    checked_at: now,
                    sha256,
                };
                if let Err(error) = self.write_atomically(&self.meta_path(source), meta_json(&meta).as_bytes()) {
                    tracing::warn!(%error, "could not record the bundle's check time");
                }
                Ok(Bundle {
                    path: self.path(source),
                    report: stored.report,
                    outcome: Outcome::NotModified,
                    url: Some(url),
                })
            }
            Downloaded::Body {
                body,
                content_type,
                validators,
            } => {
                let report = verify_bundle(&body, now, &self.options(source)).map_err(|e| Error::Rejected {
                    from: url.clone(),
                    source: e.with_content_type(content_type.as_deref()),
                })?;
                let path = self.path(source);
                self.write_atomically(&path, &body)?;
                let meta = Meta {
                    url: Some(url.clone()),
                    validators,
                    checked_at: now,
                    sha256: sha256_hex(&body),
                };
                self.write_atomically(&self.meta_path(source), meta_json(&meta).as_bytes())?;
                tracing::debug!(path = %path.display(), roots = report.roots.len(), "CA bundle stored");
                Ok(Bundle {
                    path,
                    report,
                    outcome: Outcome::Downloaded,
                    url: Some(url),
                })
            }
        }
    }

    /// Temporary file in the same folder, flushed to disk, then renamed over `path`.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), Error> {
        let io = |action, path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { action, path, source }
        };
        let mut folder = std::fs::DirBuilder::new();
        folder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
        folder.create(&self.dir).map_err(io("creating", &self.dir))?;
        // A folder that already existed keeps its mode: check it before writing into it.
        self.check_dir()?;
        let mut file = tempfile::Builder::new()
            .prefix(".rds-iam-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(io("creating a temporary file in", &self.dir))?;
        file.write_all(bytes).map_err(io("writing", file.path()))?;
        file.as_file().sync_all().map_err(io("flushing", path))?;
        file.persist(path).map_err(|e| Error::Io {
            action: "replacing",
            path: path.to_owned(),
            source: e.error,
        })?;
        Ok(())
    }

    /// Refuses a folder that group or others can write (Unix); an absent folder is fine (it is created `0700`).
    /// Other failures to read its metadata are left to the read or write that follows, which reports them.
    fn check_dir(&self) -> Result<(), Error> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(&self.dir)
                && meta.is_dir()
            {
                let mode = meta.permissions().mode() & 0o7777;
                if mode & 0o022 != 0 {
                    return Err(Error::InsecureCacheDir {
                        path: self.dir.clone(),
                        mode,
                    });
                }
            }
        }
        Ok(())
    }
}

fn seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

fn meta_json(meta: &Meta) -> String {
    serde_json::json!({
        "url": meta.url,
        "etag": meta.validators.etag,
        "last_modified": meta.validators.last_modified,
        "checked_at": seconds(meta.checked_at),
        "sha256": meta.sha256,
    })
    .to_string()
}

fn parse_meta(bytes: &[u8]) -> Option<Meta> {
    let json: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let text = |key: &str| json[key].as_str().map(str::to_owned);
    Some(Meta {
        url: text("url"),
        validators: Validators {
            etag: text("etag"),
            last_modified: text("last_modified"),
        },
        // From disk: a value past what `SystemTime` holds (u64::MAX seconds) makes the sidecar unusable, not a panic.
        checked_at: UNIX_EPOCH.checked_add(Duration::from_secs(json["checked_at"].as_u64()?))?,
        sha256: text("sha256")?,
    })
}

/// `a: b: c`, like anyhow's `{:#}`.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        out.push_str(": ");
        out.push_str(&next.to_string());
        cause = next.source();
    }
    out
}
