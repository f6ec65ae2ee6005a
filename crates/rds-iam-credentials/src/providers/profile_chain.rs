//! Profile credential chains: [`plan`] turns the profiles into a base source and a list of role hops (no I/O),
//! [`execute`] loads the base credentials and assumes each role in turn.
//!
//! The rules follow aws-config (`profile/credentials/repr.rs`), checked by smithy-rs's `assume-role-tests.json`:
//!
//! - A profile with `role_arn` (and no `web_identity_token_file`) is a hop; its credentials come from
//!   `source_profile` (followed) or `credential_source` (a named source), never both.
//! - A profile without `role_arn` is the base: `credential_source`, then `web_identity_token_file` + `role_arn`,
//!   then `sso_*`, then `credential_process`, then static keys.
//! - A source profile that has static keys is used for its keys even if it also has `role_arn`; the selected
//!   profile's own keys are ignored when it has `role_arn` + `source_profile` (unless it names itself).
//! - A loop of `source_profile`s is an error naming the loop.

use std::path::Path;

#[cfg(feature = "conformance")]
use serde_json::{Map, Value};

use super::sso::SsoConfig;
use super::{named_source, process, sso, web_identity};
use crate::profile::{Profile, ProfileSet};
use crate::sts::{AssumeRoleParams, Sts, default_session_name};
use crate::{Credentials, CredentialsError, ProviderConfig};

/// Where a chain starts: a source that needs no other credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Base {
    /// `aws_access_key_id` + `aws_secret_access_key` (+ `aws_session_token`).
    AccessKey {
        credentials: Credentials,
        account_id: Option<String>,
    },
    /// `credential_source = Environment | Ec2InstanceMetadata | EcsContainer`.
    NamedSource(String),
    /// `web_identity_token_file` + `role_arn` (+ `role_session_name`).
    WebIdentity {
        role_arn: String,
        token_file: String,
        session_name: Option<String>,
    },
    /// `sso_*` or `sso_session`.
    Sso(SsoConfig),
    /// `credential_process`.
    Process(String),
}

/// One `AssumeRole` call, made with the previous step's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RoleHop {
    pub(crate) profile: String,
    pub(crate) role_arn: String,
    pub(crate) external_id: Option<String>,
    pub(crate) session_name: Option<String>,
    pub(crate) duration_seconds: Option<u32>,
}

/// The resolved chain: the base (and the profile it is in), then the roles, innermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) base_profile: String,
    pub(crate) base: Base,
    pub(crate) roles: Vec<RoleHop>,
}

/// Why no plan: `Empty` (the selected profile has no credential settings: a chain moves on) or `Invalid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PlanError {
    Empty(String),
    Invalid(String),
}

impl PlanError {
    #[cfg(feature = "conformance")]
    fn message(&self) -> &str {
        match self {
            PlanError::Empty(m) | PlanError::Invalid(m) => m,
        }
    }
}

enum Next<'a> {
    SelfReference,
    Named(&'a str),
}

/// Resolves the chain for `selected` in `set`. No I/O.
pub(crate) fn plan(set: &ProfileSet, selected: &str) -> Result<Plan, PlanError> {
    if set.is_empty() {
        return Err(PlanError::Invalid(
            "no profiles were defined in the config or credentials file".into(),
        ));
    }
    let mut name = selected;
    let mut visited: Vec<&str> = Vec::new();
    let mut roles = Vec::new();
    let base = loop {
        let Some(profile) = set.get(name) else {
            let from = visited
                .last()
                .map_or("the selected profile".to_owned(), |p| p.to_string());
            return Err(PlanError::Invalid(format!(
                "could not find source profile {name} referenced from {from}: add a [profile {name}] section or \
                 fix source_profile"
            )));
        };
        if visited.contains(&name) {
            let cycle: Vec<&str> = visited.iter().copied().chain([name]).collect();
            return Err(PlanError::Invalid(format!(
                "profile formed an infinite loop: {}; point one of these source_profile settings elsewhere",
                cycle.join(" -> ")
            )));
        }
        visited.push(name);
        // Past the selected profile, static keys win over a role (aws-config's rule).
        if visited.len() > 1
            && let Ok(Some(credentials)) = static_keys(profile)
        {
            break (name, access_key(profile, credentials));
        }
        match role_hop(profile) {
            None => break (name, base(set, profile, visited.len() == 1)?),
            Some(hop) => {
                let (hop, next) = hop?;
                roles.push(hop);
                match next {
                    Next::SelfReference => break (name, base(set, profile, false)?),
                    Next::Named(next) => name = next,
                }
            }
        }
    };
    roles.reverse();
    Ok(Plan {
        base_profile: base.0.to_owned(),
        base: base.1,
        roles,
    })
}

fn get<'a>(profile: &'a Profile, key: &str) -> Option<&'a str> {
    profile.get(key).map(str::trim).filter(|v| !v.is_empty())
}

fn access_key(profile: &Profile, credentials: Credentials) -> Base {
    Base::AccessKey {
        credentials,
        account_id: get(profile, "aws_account_id").map(str::to_owned),
    }
}

/// `Some` if the profile assumes a role with credentials from elsewhere.
fn role_hop(profile: &Profile) -> Option<Result<(RoleHop, Next<'_>), PlanError>> {
    if get(profile, "web_identity_token_file").is_some() {
        return None; // a web identity profile is a base, not a hop
    }
    let role_arn = get(profile, "role_arn")?;
    let name = profile.name();
    let duration_seconds = match get(profile, "duration_seconds").map(str::parse::<u32>) {
        None => None,
        Some(Ok(seconds)) => Some(seconds),
        Some(Err(_)) => {
            return Some(Err(PlanError::Invalid(format!(
                "profile `{name}`: duration_seconds must be a whole number of seconds (900 to 43200)"
            ))));
        }
    };
    let hop = RoleHop {
        profile: name.to_owned(),
        role_arn: role_arn.to_owned(),
        external_id: get(profile, "external_id").map(str::to_owned),
        session_name: get(profile, "role_session_name").map(str::to_owned),
        duration_seconds,
    };
    let next = match (get(profile, "source_profile"), get(profile, "credential_source")) {
        (Some(_), Some(_)) => Err(PlanError::Invalid(format!(
            "profile `{name}` is invalid: the profile contained both source_profile and credential_source; keep one"
        ))),
        (None, None) => Err(PlanError::Invalid(format!(
            "profile `{name}` sets role_arn, so the profile must contain `source_profile` (a profile with \
             credentials) or `credential_source` (Environment, Ec2InstanceMetadata or EcsContainer)"
        ))),
        (Some(source), None) if source == name => Ok(Next::SelfReference),
        (Some(source), None) => Ok(Next::Named(source)),
        (None, Some(_)) => Ok(Next::SelfReference),
    };
    Some(next.map(|next| (hop, next)))
}

/// The base source of `profile`. `selected` says whether it is the profile the user chose (an empty one is then
/// "nothing here" rather than a broken chain).
fn base(set: &ProfileSet, profile: &Profile, selected: bool) -> Result<Base, PlanError> {
    if let Some(source) = get(profile, "credential_source") {
        return Ok(Base::NamedSource(source.to_owned()));
    }
    if let Some(base) = web_identity(profile) {
        return base;
    }
    if let Some(base) = sso(set, profile) {
        return base;
    }
    if let Some(command) = get(profile, "credential_process") {
        return Ok(Base::Process(command.to_owned()));
    }
    match static_keys(profile)? {
        Some(credentials) => Ok(access_key(profile, credentials)),
        None => {
            let message = format!(
                "profile `{}` did not contain credential information (static keys, credential_process, sso_session \
                 or sso_start_url, web_identity_token_file, or role_arn)",
                profile.name()
            );
            Err(if selected {
                PlanError::Empty(message)
            } else {
                PlanError::Invalid(message)
            })
        }
    }
}

fn web_identity(profile: &Profile) -> Option<Result<Base, PlanError>> {
    let token_file = get(profile, "web_identity_token_file")?;
    Some(match get(profile, "role_arn") {
        Some(role_arn) => Ok(Base::WebIdentity {
            role_arn: role_arn.to_owned(),
            token_file: token_file.to_owned(),
            session_name: get(profile, "role_session_name").map(str::to_owned),
        }),
        None => Err(PlanError::Invalid(format!(
            "profile `{}` sets `web_identity_token_file` but `role_arn` was missing: add the role to assume",
            profile.name()
        ))),
    })
}

fn sso(set: &ProfileSet, profile: &Profile) -> Option<Result<Base, PlanError>> {
    let keys = [
        "sso_account_id",
        "sso_region",
        "sso_role_name",
        "sso_start_url",
        "sso_session",
    ];
    if keys.iter().all(|key| get(profile, key).is_none()) {
        return None;
    }
    let name = profile.name();
    let invalid = |message: String| Some(Err(PlanError::Invalid(format!("profile `{name}`: {message}"))));
    let mut region = get(profile, "sso_region");
    let mut start_url = get(profile, "sso_start_url");
    let session_name = get(profile, "sso_session");
    if let Some(session_name) = session_name {
        let Some(session) = set.sso_session(session_name) else {
            return Some(Err(PlanError::Invalid(format!(
                "sso-session named `{session_name}` (referenced by profile `{name}`) was not found: add a \
                 [sso-session {session_name}] section to the config file"
            ))));
        };
        for (key, in_profile) in [("sso_region", region), ("sso_start_url", start_url)] {
            match (in_profile, get(session, key)) {
                (Some(a), Some(b)) if a != b => {
                    return invalid(format!(
                        "if `{key}` is set in both the profile and the [sso-session] config, they must be the same"
                    ));
                }
                (Some(_), None) => {
                    return invalid(format!(
                        "`{key}` can only be specified in the [sso-session] config when a session name is given"
                    ));
                }
                _ => {}
            }
        }
        region = get(session, "sso_region");
        start_url = get(session, "sso_start_url");
    }
    let account_id = get(profile, "sso_account_id");
    let role_name = get(profile, "sso_role_name");
    match (account_id, role_name) {
        (Some(_), None) => return invalid("if `sso_account_id` is set, then `sso_role_name` must also be set".into()),
        (None, Some(_)) => return invalid("if `sso_role_name` is set, then `sso_account_id` must also be set".into()),
        _ => {}
    }
    let where_ = if session_name.is_some() {
        "the [sso-session] section"
    } else {
        "the profile"
    };
    let Some(region) = region else {
        return invalid(format!("`sso_region` is missing: add it to {where_}"));
    };
    let Some(start_url) = start_url else {
        return invalid(format!("`sso_start_url` is missing: add it to {where_}"));
    };
    Some(Ok(Base::Sso(SsoConfig {
        session_name: session_name.map(str::to_owned),
        start_url: start_url.to_owned(),
        region: region.to_owned(),
        account_id: account_id.map(str::to_owned),
        role_name: role_name.map(str::to_owned),
    })))
}

/// `Ok(None)` if the profile has no static key settings at all; an error if only half of them.
fn static_keys(profile: &Profile) -> Result<Option<Credentials>, PlanError> {
    let key = get(profile, "aws_access_key_id");
    let secret = get(profile, "aws_secret_access_key");
    let token = get(profile, "aws_session_token");
    let name = profile.name();
    match (key, secret) {
        (None, None) if token.is_none() => Ok(None),
        (Some(key), Some(secret)) => {
            let mut credentials = Credentials::new(key, secret);
            if let Some(token) = token {
                credentials = credentials.with_session_token(token);
            }
            Ok(Some(credentials))
        }
        (None, _) => Err(PlanError::Invalid(format!(
            "profile `{name}` is incomplete: profile missing aws_access_key_id; add it next to aws_secret_access_key"
        ))),
        (Some(_), None) => Err(PlanError::Invalid(format!(
            "profile `{name}` is incomplete: profile missing aws_secret_access_key; add it next to aws_access_key_id"
        ))),
    }
}

/// Runs `plan`: loads the base credentials, then assumes each role with the previous credentials.
pub(crate) fn execute(
    config: &ProviderConfig,
    set: &ProfileSet,
    selected: &str,
    plan: &Plan,
) -> Result<Credentials, CredentialsError> {
    let source_name = format!("profile {selected}");
    let base_source = if plan.base_profile == selected {
        source_name.clone()
    } else {
        format!("{source_name} (via source_profile {})", plan.base_profile)
    };
    let sts = || Sts::new(config, Some(set));
    let mut credentials = match &plan.base {
        Base::AccessKey { credentials, .. } => credentials.clone().with_source(&base_source),
        Base::NamedSource(name) => {
            let provider = named_source(name, config)?;
            provider.provide().map_err(|e| match e {
                CredentialsError::NotFound {
                    source_name: inner,
                    reason,
                } => CredentialsError::invalid(
                    &base_source,
                    format!("credential_source = {name}, but {inner} has no credentials: {reason}"),
                ),
                other => other,
            })?
        }
        Base::WebIdentity {
            role_arn,
            token_file,
            session_name,
        } => web_identity::assume_role_with_web_identity(
            config,
            &sts(),
            &base_source,
            role_arn,
            Path::new(token_file),
            session_name.as_deref(),
        )?
        .with_source(&base_source),
        Base::Sso(sso) => sso::provide(config, sso, &plan.base_profile, &base_source)?,
        Base::Process(command) => process::run(command, config, &base_source, process::TIMEOUT)?,
    };
    if plan.roles.is_empty() {
        return Ok(credentials);
    }
    let sts = sts();
    for hop in &plan.roles {
        let session_name = hop
            .session_name
            .clone()
            .unwrap_or_else(|| default_session_name(config.clock().now()));
        let params = AssumeRoleParams {
            role_arn: &hop.role_arn,
            session_name: &session_name,
            external_id: hop.external_id.as_deref(),
            duration_seconds: hop.duration_seconds,
        };
        let hop_source = if hop.profile == selected {
            source_name.clone()
        } else {
            format!("{source_name} (via profile {})", hop.profile)
        };
        credentials = sts
            .assume_role(&credentials, &params)
            .map_err(|message| CredentialsError::failed(&hop_source, message))?
            .with_source(format!("{source_name} (role {})", hop.role_arn));
    }
    Ok(credentials)
}

/// Checks `plan` against one case of smithy-rs's `assume-role-tests.json` (see `profile::conformance`).
#[cfg(feature = "conformance")]
pub(crate) fn plan_for_conformance(set: &ProfileSet, selected: &str, expected: &Value) -> Result<(), String> {
    let result = plan(set, selected);
    if let Some(wanted) = expected["Error"].as_str() {
        // aws-config's messages start with a capital at times; ours are lowercase.
        return match result {
            Err(e) if e.message().to_lowercase().contains(&wanted.to_lowercase()) => Ok(()),
            Err(e) => Err(format!(
                "expected an error containing {wanted:?}, got {:?}",
                e.message()
            )),
            Ok(plan) => Err(format!("expected an error containing {wanted:?}, got {plan:?}")),
        };
    }
    let plan = result.map_err(|e| format!("unexpected error: {}", e.message()))?;
    let mut actual = vec![base_json(&plan.base)];
    for hop in &plan.roles {
        let mut role = Map::new();
        role.insert("role_arn".into(), hop.role_arn.clone().into());
        insert_some(&mut role, "external_id", &hop.external_id);
        insert_some(&mut role, "role_session_name", &hop.session_name);
        actual.push(one("AssumeRole", role));
    }
    let actual = Value::Array(actual);
    if actual == expected["ProfileChain"] {
        Ok(())
    } else {
        Err(format!("expected {}, got {actual}", expected["ProfileChain"]))
    }
}

#[cfg(feature = "conformance")]
fn base_json(base: &Base) -> Value {
    let mut map = Map::new();
    match base {
        Base::AccessKey {
            credentials,
            account_id,
        } => {
            map.insert("access_key_id".into(), credentials.access_key_id().into());
            map.insert(
                "secret_access_key".into(),
                credentials.secret_access_key().expose().as_str().into(),
            );
            insert_some(&mut map, "account_id", account_id);
            one("AccessKey", map)
        }
        Base::NamedSource(name) => serde_json::json!({ "NamedSource": name }),
        Base::WebIdentity {
            role_arn,
            token_file,
            session_name,
        } => {
            map.insert("role_arn".into(), role_arn.clone().into());
            map.insert("web_identity_token_file".into(), token_file.clone().into());
            insert_some(&mut map, "role_session_name", session_name);
            one("WebIdentityToken", map)
        }
        Base::Sso(sso) => {
            insert_some(&mut map, "sso_session", &sso.session_name);
            map.insert("sso_region".into(), sso.region.clone().into());
            map.insert("sso_start_url".into(), sso.start_url.clone().into());
            insert_some(&mut map, "sso_account_id", &sso.account_id);
            insert_some(&mut map, "sso_role_name", &sso.role_name);
            one("Sso", map)
        }
        Base::Process(command) => serde_json::json!({ "CredentialProcess": command }),
    }
}

#[cfg(feature = "conformance")]
fn one(kind: &str, map: Map<String, Value>) -> Value {
    let mut outer = Map::new();
    outer.insert(kind.into(), Value::Object(map));
    Value::Object(outer)
}

#[cfg(feature = "conformance")]
fn insert_some(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(value) = value {
        map.insert(key.into(), value.clone().into());
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::profile::{self, Source};

    fn set(config: &str) -> ProfileSet {
        profile::parse(
            Some(Source {
                path: Path::new("config"),
                contents: config,
            }),
            None,
        )
        .unwrap()
    }

    #[test]
    fn two_hops_and_durations() {
        let set = set(
            "[profile a]\nrole_arn = arn:a\nsource_profile = b\nduration_seconds = 3600\nexternal_id = x\n\
             [profile b]\nrole_arn = arn:b\nsource_profile = c\nrole_session_name = s\n\
             [profile c]\ncredential_process = /bin/creds --flag\n",
        );
        let plan = plan(&set, "a").unwrap();
        assert_eq!(plan.base_profile, "c");
        assert_eq!(plan.base, Base::Process("/bin/creds --flag".into()));
        let arns: Vec<_> = plan.roles.iter().map(|r| r.role_arn.as_str()).collect();
        assert_eq!(arns, ["arn:b", "arn:a"]);
        assert_eq!(plan.roles[1].duration_seconds, Some(3600));
        assert_eq!(plan.roles[1].external_id.as_deref(), Some("x"));
        assert_eq!(plan.roles[0].session_name.as_deref(), Some("s"));
    }

    #[test]
    fn credential_process_beats_static_keys_in_the_same_profile() {
        // aws-config's order; botocore would take keys from the credentials file first (docs/differences.md).
        let set =
            set("[profile p]\ncredential_process = /bin/creds\naws_access_key_id = k\naws_secret_access_key = s\n");
        assert_eq!(plan(&set, "p").unwrap().base, Base::Process("/bin/creds".into()));
    }

    #[test]
    fn errors() {
        let err = |config: &str, selected: &str| plan(&set(config), selected).unwrap_err();
        let looped = err(
            "[profile a]\nrole_arn = arn:a\nsource_profile = b\n[profile b]\nrole_arn = arn:b\nsource_profile = a\n",
            "a",
        );
        assert_eq!(
            looped,
            PlanError::Invalid(
                "profile formed an infinite loop: a -> b -> a; point one of these source_profile settings elsewhere"
                    .into()
            )
        );
        assert!(matches!(err("[profile a]\nregion = x\n", "a"), PlanError::Empty(_)));
        let empty_source = err(
            "[profile a]\nrole_arn = r\nsource_profile = b\n[profile b]\nregion = x\n",
            "a",
        );
        assert!(matches!(empty_source, PlanError::Invalid(_)), "{empty_source:?}");
        let duration = err(
            "[profile a]\nrole_arn = r\ncredential_source = Environment\nduration_seconds = 1h\n",
            "a",
        );
        assert!(duration.message().contains("duration_seconds"), "{duration:?}");
        let region = err(
            "[profile a]\nsso_session = s\n[sso-session s]\nsso_start_url = u\n",
            "a",
        );
        assert!(
            region
                .message()
                .contains("`sso_region` is missing: add it to the [sso-session] section")
        );
    }
}
