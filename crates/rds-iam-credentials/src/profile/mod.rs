//! Shared AWS config and credentials files (`~/.aws/config`, `~/.aws/credentials`): parsing and loading.
//!
//! The grammar and merge rules follow aws-config (smithy-rs); its parser test suite is the spec:
//!
//! - `[profile NAME]` (or `[default]`) in the config file, `[NAME]` in the credentials file; other config
//!   sections are ignored, except `[sso-session NAME]` and `[services NAME]`. `[profile default]` beats
//!   `[default]` in the config file.
//! - The credentials file wins per key over the config file for the same profile.
//! - Keys are case-insensitive (stored lower-cased), profile names are case-sensitive. Profiles and keys
//!   with invalid names (allowed: ASCII letters, digits and `-/.%@_:+`) are ignored.
//! - `#` and `;` start a comment at the start of a line, anywhere in a section header, and after
//!   whitespace in a property value (`value ; comment` is `value`, `value;x` is kept whole). An indented
//!   `# x` is a continuation, not a comment.
//! - Indented lines continue the previous value (`"a\nb"`); under an empty value (`s3 =`) they are
//!   sub-properties, kept raw and readable with [`Profile::sub_property`].
//!
//! ```
//! use std::path::Path;
//! use rds_iam_credentials::profile::{self, Source};
//!
//! let config = "[profile dev]\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 20\n";
//! let credentials = "[dev]\naws_access_key_id = AKIDEXAMPLE\n";
//! let set = profile::parse(
//!     Some(Source { path: Path::new("~/.aws/config"), contents: config }),
//!     Some(Source { path: Path::new("~/.aws/credentials"), contents: credentials }),
//! )?;
//! let dev = set.get("dev").expect("dev is defined");
//! assert_eq!(dev.get("Region"), Some("eu-west-1"));
//! assert_eq!(dev.get("aws_access_key_id"), Some("AKIDEXAMPLE"));
//! assert_eq!(dev.sub_property("s3", "max_concurrent_requests"), Some("20"));
//! # Ok::<(), profile::ProfileFileError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

#[cfg(feature = "conformance")]
#[doc(hidden)]
pub mod conformance;
mod location;
mod parser;

pub(crate) use location::{NO_HOME, home, shown_path};
pub use location::{config_path, credentials_path, load, selected_profile_name};

/// One profile file's contents and the path used in error messages.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    /// Where the contents came from; only used in error messages.
    pub path: &'a Path,
    /// The file's text.
    pub contents: &'a str,
}

impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The contents may hold secret keys: show the size only.
        f.debug_struct("Source")
            .field("path", &self.path)
            .field("len", &self.contents.len())
            .finish()
    }
}

/// Which of the two files a source is; they name sections differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Config,
    Credentials,
}

/// An error reading or parsing a profile file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileFileError {
    /// A line that is not a section header, `key = value`, continuation, comment or blank.
    #[error("{} line {line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong (never includes the line's value, which may be a secret).
        message: String,
    },
    /// The file exists but could not be read (permissions, not UTF-8, ...).
    #[error("could not read profile file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// The profiles (and `sso-session` / `services` sections) of a config and a credentials file, merged.
#[derive(Clone, Debug, Default)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Profile>,
    sso_sessions: BTreeMap<String, Profile>,
    services: BTreeMap<String, Profile>,
}

impl ProfileSet {
    /// The profile called `name` (case-sensitive).
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// The names of all profiles, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// The `[sso-session NAME]` section called `name`, with the same accessors as a profile.
    pub fn sso_session(&self, name: &str) -> Option<&Profile> {
        self.sso_sessions.get(name)
    }

    /// The `[services NAME]` section called `name`; its keys are service ids with sub-properties.
    pub fn services(&self, name: &str) -> Option<&Profile> {
        self.services.get(name)
    }

    /// True when there are no profiles (`sso-session` and `services` sections do not count).
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }
}

/// A named set of properties: a profile, or an `sso-session` or `services` section.
///
/// `Debug` lists the keys only; values may be secret keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Profile {
    name: String,
    properties: BTreeMap<String, String>,
}

impl Profile {
    fn new(name: &str) -> Profile {
        Profile {
            name: name.to_owned(),
            properties: BTreeMap::new(),
        }
    }

    /// The profile's (or section's) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of `key` (case-insensitive). A sub-property block is returned raw (`"\nk = v"`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(&key.to_ascii_lowercase()).map(String::as_str)
    }

    /// The sub-property `sub` of `key` (both case-insensitive): `key =` followed by indented
    /// `sub = value` lines. The last definition wins.
    pub fn sub_property(&self, key: &str, sub: &str) -> Option<&str> {
        self.get(key)?
            .lines()
            .rev()
            .filter_map(|line| parser::split_property(line).ok())
            .find(|(name, _)| name.eq_ignore_ascii_case(sub))
            .map(|(_, value)| value)
    }

    /// All properties as `(lower-cased key, value)`, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("keys", &self.properties.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Parses and merges a config file and a credentials file (either may be absent).
///
/// Sections and keys with invalid names are skipped silently, as aws-config does; lines that fit
/// no rule of the grammar are an error naming the file and line.
pub fn parse(config: Option<Source<'_>>, credentials: Option<Source<'_>>) -> Result<ProfileSet, ProfileFileError> {
    let mut set = ProfileSet::default();
    if let Some(source) = config {
        let sections = parser::parse_file(&source, FileKind::Config)?;
        let sections: Vec<_> = sections
            .iter()
            .filter_map(|s| config_section(s.header).map(|kind| (kind, &s.properties)))
            .collect();
        let has_prefixed_default = sections
            .iter()
            .any(|(kind, _)| *kind == ConfigSection::Profile("default"));
        for (kind, properties) in sections {
            let (map, name) = match kind {
                ConfigSection::Default if has_prefixed_default => continue,
                ConfigSection::Default => (&mut set.profiles, "default"),
                ConfigSection::Profile(name) => (&mut set.profiles, name),
                ConfigSection::SsoSession(name) => (&mut set.sso_sessions, name),
                ConfigSection::Services(name) => (&mut set.services, name),
            };
            merge(map, name, properties);
        }
    }
    if let Some(source) = credentials {
        for section in parser::parse_file(&source, FileKind::Credentials)? {
            let name = section.header.trim_matches(parser::WHITESPACE);
            merge(&mut set.profiles, name, &section.properties);
        }
    }
    Ok(set)
}

/// What a config-file section header means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConfigSection<'a> {
    /// `[default]`, which loses to `[profile default]`.
    Default,
    Profile(&'a str),
    SsoSession(&'a str),
    Services(&'a str),
}

/// Classifies a config-file header; `None` for sections we ignore (`[foo]`, `[profilefoo]`).
fn config_section(header: &str) -> Option<ConfigSection<'_>> {
    let header = header.trim_matches(parser::WHITESPACE);
    if header == "default" {
        return Some(ConfigSection::Default);
    }
    let named = |prefix: &str| {
        let rest = header.strip_prefix(prefix)?;
        rest.starts_with(parser::WHITESPACE)
            .then(|| rest.trim_matches(parser::WHITESPACE))
    };
    if let Some(name) = named("profile") {
        Some(ConfigSection::Profile(name))
    } else if let Some(name) = named("sso-session") {
        Some(ConfigSection::SsoSession(name))
    } else {
        named("services").map(ConfigSection::Services)
    }
}

/// Adds `properties` to the section `name` (later values win); skips invalid names.
fn merge(map: &mut BTreeMap<String, Profile>, name: &str, properties: &[(String, String)]) {
    if !is_identifier(name) {
        return;
    }
    let profile = map.entry(name.to_owned()).or_insert_with(|| Profile::new(name));
    for (key, value) in properties.iter().filter(|(key, _)| is_identifier(key)) {
        profile.properties.insert(key.clone(), value.clone());
    }
}

/// Profile names and keys: ASCII letters, digits and `-/.%@_:+`.
fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-/.%@_:+".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(contents: &str) -> Result<ProfileSet, ProfileFileError> {
        let path = Path::new("~/.aws/config");
        parse(Some(Source { path, contents }), None)
    }

    fn both(config: &str, credentials: &str) -> ProfileSet {
        parse(
            Some(Source {
                path: Path::new("config"),
                contents: config,
            }),
            Some(Source {
                path: Path::new("credentials"),
                contents: credentials,
            }),
        )
        .unwrap()
    }

    fn error(contents: &str) -> String {
        config(contents).unwrap_err().to_string()
    }

    #[test]
    fn prefixes_per_file() {
        let set = both(
            "[profile a]\nx = 1\n[b]\nx = 2\n[default]\nx = 3",
            "[c]\nx = 4\n[profile d]\nx = 5",
        );
        assert_eq!(set.names().collect::<Vec<_>>(), ["a", "c", "default"]);
        assert_eq!(set.get("default").unwrap().get("x"), Some("3"));
        assert!(!set.is_empty());
        assert!(config("").unwrap().is_empty());
    }

    #[test]
    fn profile_default_beats_default() {
        let set = config("[default]\nx = 1\ny = 1\n[profile default]\nx = 2").unwrap();
        let default = set.get("default").unwrap();
        assert_eq!(default.get("x"), Some("2"));
        assert_eq!(default.get("y"), None);
    }

    #[test]
    fn credentials_win_per_key() {
        let set = both("[profile p]\nregion = r\nkey = config", "[p]\nkey = creds");
        let p = set.get("p").unwrap();
        assert_eq!(p.name(), "p");
        assert_eq!(p.get("key"), Some("creds"));
        assert_eq!(p.get("region"), Some("r"));
        assert_eq!(p.iter().collect::<Vec<_>>(), [("key", "creds"), ("region", "r")]);
    }

    #[test]
    fn keys_case_insensitive_names_case_sensitive() {
        let set = config("[profile Dev]\nRegion = r").unwrap();
        assert!(set.get("dev").is_none());
        let dev = set.get("Dev").unwrap();
        assert_eq!(dev.get("REGION"), Some("r"));
        assert_eq!(dev.iter().next(), Some(("region", "r")));
    }

    #[test]
    fn comments() {
        let set = config("# c\n; c\n[profile p] # c\na = 1 ; c\nb = 2;x\nc = 3 # c").unwrap();
        let p = set.get("p").unwrap();
        assert_eq!(
            (p.get("a"), p.get("b"), p.get("c")),
            (Some("1"), Some("2;x"), Some("3"))
        );
    }

    #[test]
    fn continuations_and_sub_properties() {
        let set = config("[profile p]\na = x\n  y\ns3 =\n  Max_Rate = 10 # c\n\n  other = o\n").unwrap();
        let p = set.get("p").unwrap();
        assert_eq!(p.get("a"), Some("x\ny"));
        assert_eq!(p.get("s3"), Some("\nMax_Rate = 10 # c\nother = o"));
        assert_eq!(p.sub_property("S3", "max_rate"), Some("10"));
        assert_eq!(p.sub_property("s3", "other"), Some("o"));
        assert_eq!(p.sub_property("s3", "missing"), None);
        assert_eq!(p.sub_property("a", "x"), None);
    }

    #[test]
    fn sso_sessions_and_services() {
        let set = config(
            "[sso-session corp]\nsso_region = eu-west-1\n[services local]\nsts =\n  endpoint_url = http://127.0.0.1\n",
        )
        .unwrap();
        assert_eq!(set.sso_session("corp").unwrap().get("sso_region"), Some("eu-west-1"));
        let services = set.services("local").unwrap();
        assert_eq!(services.sub_property("sts", "endpoint_url"), Some("http://127.0.0.1"));
        assert!(set.is_empty());
    }

    #[test]
    fn invalid_names_are_ignored() {
        let set = config("[profile in valid]\na = 1\n[profile ok]\nin valid = 1\nb = 2").unwrap();
        assert_eq!(set.names().collect::<Vec<_>>(), ["ok"]);
        assert_eq!(set.get("ok").unwrap().iter().count(), 1);
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(
            error("[profile p]\n\nkey : value"),
            "~/.aws/config line 3: Expected an '=' sign defining a property: \
             a line is `[profile NAME]`, `key = value`, an indented continuation or a comment"
        );
        assert_eq!(
            error("[profile p"),
            "~/.aws/config line 1: Profile definition must end with ']'"
        );
        assert!(error("# c\nregion = x").starts_with("~/.aws/config line 2: Expected a profile definition"));
        assert!(error("[profile p]\n  x").starts_with("~/.aws/config line 2: Expected a property definition"));
        assert!(error("[profile p]\n= x").contains("line 2: Property did not have a name"));
        assert!(
            error("[profile p]\ns3 =\n x").contains("line 3: Expected an '=' sign defining a sub-property of `s3`")
        );
        assert!(error("[profile p]\ns3 =\n = x").contains("line 3: Sub-property did not have a name"));
    }

    #[test]
    fn errors_never_show_values() {
        let err = error("[profile p]\naws_secret_access_key = s3cr3t\n  = s3cr3t2\nbad s3cr3t3");
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = error("[profile p]\nbad s3cr3t3");
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn credentials_error_hint() {
        let err = parse(
            None,
            Some(Source {
                path: Path::new("/c"),
                contents: "k = v",
            }),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`[NAME]`"), "{err}");
    }

    #[test]
    fn debug_hides_values() {
        let set = config("[profile p]\naws_secret_access_key = s3cr3t").unwrap();
        let shown = format!("{set:?}");
        assert!(
            shown.contains("aws_secret_access_key") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        let source = Source {
            path: Path::new("/c"),
            contents: "s3cr3t",
        };
        assert!(!format!("{source:?}").contains("s3cr3t"));
    }
}
