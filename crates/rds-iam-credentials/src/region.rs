//! [`resolve_region`]: the configured region, as the AWS SDKs find it.

use crate::profile::{self, FileKind, ProfileFileError};
use crate::{Env, Fs};

/// A region from configuration and where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfiguredRegion {
    /// The region name.
    pub region: String,
    /// Where it was found: `AWS_REGION`, `AWS_DEFAULT_REGION` or `profile NAME in PATH`.
    pub source: String,
}

/// `AWS_REGION` > `AWS_DEFAULT_REGION` > the selected profile's `region` (explicit profile > `AWS_PROFILE` >
/// `default`). `Ok(None)` if none is set; an error only if a profile file cannot be parsed.
///
/// ```
/// use rds_iam_credentials::{resolve_region, Env, Fs};
///
/// let env = Env::from_vars([("HOME", "/h"), ("AWS_DEFAULT_REGION", "eu-west-1")]);
/// let found = resolve_region(&env, &Fs::from_files::<&str, &str>([]), None)?.unwrap();
/// assert_eq!((found.region.as_str(), found.source.as_str()), ("eu-west-1", "AWS_DEFAULT_REGION"));
/// # Ok::<(), rds_iam_credentials::profile::ProfileFileError>(())
/// ```
pub fn resolve_region(
    env: &Env,
    fs: &Fs,
    profile_name: Option<&str>,
) -> Result<Option<ConfiguredRegion>, ProfileFileError> {
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Some(region) = env.get_non_blank(var) {
            return Ok(Some(ConfiguredRegion {
                region: region.trim().to_owned(),
                source: var.to_owned(),
            }));
        }
    }
    let name = profile::selected_profile_name(env, profile_name);
    let files = profile::load(env, fs)?;
    Ok(files
        .get(&name)
        .and_then(|p| p.get("region"))
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|region| ConfiguredRegion {
            region: region.to_owned(),
            source: format!("profile {name} in {}", profile::shown_path(env, FileKind::Config)),
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let fs = Fs::from_files([(
            "/h/.aws/config",
            "[default]\nregion = ap-south-1\n[profile x]\nregion = sa-east-1\n",
        )]);
        let resolve = |vars: &[(&str, &str)], profile| {
            let mut all = vec![("HOME", "/h")];
            all.extend_from_slice(vars);
            resolve_region(&Env::from_vars(all), &fs, profile)
                .unwrap()
                .map(|r| (r.region, r.source))
        };
        let found = |r: &str, s: &str| Some((r.to_owned(), s.to_owned()));
        assert_eq!(
            resolve(&[("AWS_REGION", "a-b-1"), ("AWS_DEFAULT_REGION", "c-d-1")], None),
            found("a-b-1", "AWS_REGION")
        );
        assert_eq!(
            resolve(&[("AWS_DEFAULT_REGION", "c-d-1")], None),
            found("c-d-1", "AWS_DEFAULT_REGION")
        );
        assert_eq!(
            resolve(&[], None),
            found("ap-south-1", "profile default in /h/.aws/config")
        );
        assert_eq!(
            resolve(&[("AWS_PROFILE", "x")], None),
            found("sa-east-1", "profile x in /h/.aws/config")
        );
        assert_eq!(resolve(&[("AWS_PROFILE", "x")], Some("y")), None);
    }
}
