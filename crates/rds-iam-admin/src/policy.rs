//! [`Policy`]: the least-privilege IAM policy that lets a principal log in as one DB user, and the AWS CLI command
//! that attaches it to a role.

use std::fmt;

use rds_iam_token::Partition;

use crate::Error;
use crate::error::InputProblem;

/// What a DB resource id names: the `rds-db:connect` ARN takes the resource id, not the DB's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceKind {
    /// A DB instance: `db-ABCDEFGHIJKL…` (`DbiResourceId`).
    Instance,
    /// An Aurora cluster: `cluster-ABCDEFGHIJKL…` (`DbClusterResourceId`).
    Cluster,
    /// An RDS Proxy: `prx-0123456789abcdef…` (the last part of the proxy's ARN).
    Proxy,
}

impl ResourceKind {
    /// The kind a resource id names, from its prefix (`db-`, `cluster-`, `prx-`).
    pub fn of(resource_id: &str) -> Option<ResourceKind> {
        [
            ("db-", ResourceKind::Instance),
            ("cluster-", ResourceKind::Cluster),
            ("prx-", ResourceKind::Proxy),
        ]
        .into_iter()
        .find(|(prefix, _)| resource_id.starts_with(prefix) && resource_id.len() > prefix.len())
        .map(|(_, kind)| kind)
    }

    /// `instance`, `cluster` or `proxy`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Instance => "instance",
            ResourceKind::Cluster => "cluster",
            ResourceKind::Proxy => "proxy",
        }
    }
}

/// The least-privilege policy for `rds-db:connect` as one DB user on one DB (instance, cluster or proxy).
///
/// ```
/// use rds_iam_admin::Policy;
/// use rds_iam_token::Partition;
///
/// let policy = Policy::new(Partition::Aws, "eu-west-1", "123456789012", "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ", "app")?;
/// assert_eq!(
///     policy.resource_arn(),
///     "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXYZ/app"
/// );
/// assert!(policy.to_json().contains(r#""Action":"rds-db:connect""#));
/// # Ok::<(), rds_iam_admin::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    partition: Partition,
    region: String,
    account: String,
    resource_id: String,
    kind: ResourceKind,
    user: String,
}

impl Policy {
    /// Checks the parts (a 12-digit account, a region, a `db-` / `cluster-` / `prx-` resource id, a user without
    /// characters that would change the ARN's meaning) and builds the policy.
    pub fn new(
        partition: Partition,
        region: &str,
        account: &str,
        resource_id: &str,
        user: &str,
    ) -> Result<Policy, Error> {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("account id", account, InputProblem::NotAccountId));
        }
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::invalid("region", region, InputProblem::NotRegion));
        }
        let Some(kind) = ResourceKind::of(resource_id) else {
            return Err(Error::invalid("resource id", resource_id, InputProblem::NotResourceId));
        };
        if !resource_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::invalid("resource id", resource_id, InputProblem::BadCharacters));
        }
        if user.is_empty() {
            return Err(Error::invalid("DB user name", user, InputProblem::Empty));
        }
        // `*` and `?` are IAM wildcards: a user named `*` would grant every user. Control characters and quotes have
        // no place in an ARN.
        if let Some(c) = user
            .chars()
            .find(|c| matches!(c, '*' | '?' | '"' | '\\') || c.is_control())
        {
            return Err(Error::invalid("DB user name", user, InputProblem::PolicyCharacter(c)));
        }
        Ok(Policy {
            partition,
            region: region.to_owned(),
            account: account.to_owned(),
            resource_id: resource_id.to_owned(),
            kind,
            user: user.to_owned(),
        })
    }

    /// `arn:PARTITION:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/USER`.
    pub fn resource_arn(&self) -> String {
        format!(
            "arn:{}:rds-db:{}:{}:dbuser:{}/{}",
            self.partition.as_str(),
            self.region,
            self.account,
            self.resource_id,
            self.user
        )
    }

    /// Whether the resource is an instance, a cluster or a proxy.
    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    /// The DB user the policy lets a principal log in as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The policy document as compact JSON (keys in the order AWS's documentation shows them).
    pub fn to_json(&self) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"rds-db:connect","Resource":{}}}]}}"#,
            serde_json::Value::String(self.resource_arn())
        )
    }

    /// The policy document, indented for reading (same keys and order as [`Policy::to_json`]).
    pub fn to_pretty_json(&self) -> String {
        format!(
            "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Effect\": \"Allow\",\n      \
             \"Action\": \"rds-db:connect\",\n      \"Resource\": {}\n    }}\n  ]\n}}",
            serde_json::Value::String(self.resource_arn())
        )
    }

    /// A policy name for `put-role-policy`: `rds-iam-connect-RESOURCE_ID-USER`, with characters IAM does not allow
    /// in policy names (`[\w+=,.@-]`, at most 128) replaced by `_`.
    pub fn default_name(&self) -> String {
        let raw = format!("rds-iam-connect-{}-{}", self.resource_id, self.user);
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .take(128)
            .collect()
    }

    /// `aws iam put-role-policy --role-name ROLE --policy-name NAME --policy-document '…'`, quoted for a POSIX
    /// shell.
    pub fn put_role_policy_command(&self, role_name: &str) -> String {
        format!(
            "aws iam put-role-policy --role-name {} --policy-name {} --policy-document {}",
            shell_quote(role_name),
            shell_quote(&self.default_name()),
            shell_quote(&self.to_json())
        )
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

/// `word` as one POSIX shell word: bare when it is made of safe characters, else in single quotes (a `'` inside
/// becomes `'\''`).
pub fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-/:".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    #[test]
    fn arns_for_every_kind_and_partition() {
        let cases = [
            (
                Partition::Aws,
                "us-east-1",
                "db-ABCDEFGHIJKLMNOPQRSTUVWXY1",
                "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY1/app",
            ),
            (
                Partition::Aws,
                "eu-west-1",
                "cluster-ABCDEFGHIJKLMNOPQRSTUVWXY2",
                "arn:aws:rds-db:eu-west-1:123456789012:dbuser:cluster-ABCDEFGHIJKLMNOPQRSTUVWXY2/app",
            ),
            (
                Partition::Aws,
                "ap-northeast-1",
                "prx-0123456789abcdef0",
                "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0123456789abcdef0/app",
            ),
            (
                Partition::AwsCn,
                "cn-north-1",
                "db-ABCDEFGHIJKLMNOPQRSTUVWXY1",
                "arn:aws-cn:rds-db:cn-north-1:123456789012:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY1/app",
            ),
            (
                Partition::AwsCn,
                "cn-northwest-1",
                "cluster-ABCDEFGHIJKLMNOPQRSTUVWXY2",
                "arn:aws-cn:rds-db:cn-northwest-1:123456789012:dbuser:cluster-ABCDEFGHIJKLMNOPQRSTUVWXY2/app",
            ),
            (
                Partition::AwsCn,
                "cn-north-1",
                "prx-0123456789abcdef0",
                "arn:aws-cn:rds-db:cn-north-1:123456789012:dbuser:prx-0123456789abcdef0/app",
            ),
            (
                Partition::AwsUsGov,
                "us-gov-west-1",
                "db-ABCDEFGHIJKLMNOPQRSTUVWXY1",
                "arn:aws-us-gov:rds-db:us-gov-west-1:123456789012:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY1/app",
            ),
            (
                Partition::AwsUsGov,
                "us-gov-east-1",
                "cluster-ABCDEFGHIJKLMNOPQRSTUVWXY2",
                "arn:aws-us-gov:rds-db:us-gov-east-1:123456789012:dbuser:cluster-ABCDEFGHIJKLMNOPQRSTUVWXY2/app",
            ),
            (
                Partition::AwsUsGov,
                "us-gov-west-1",
                "prx-0123456789abcdef0",
                "arn:aws-us-gov:rds-db:us-gov-west-1:123456789012:dbuser:prx-0123456789abcdef0/app",
            ),
        ];
        for (partition, region, resource, arn) in cases {
            let policy = Policy::new(partition, region, ACCOUNT, resource, "app").unwrap();
            assert_eq!(policy.resource_arn(), arn);
            assert_eq!(
                policy.to_json(),
                format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"rds-db:connect","Resource":"{arn}"}}]}}"#
                )
            );
            let parsed: serde_json::Value = serde_json::from_str(&policy.to_pretty_json()).unwrap();
            assert_eq!(parsed["Statement"][0]["Resource"], arn);
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(ResourceKind::of("db-X"), Some(ResourceKind::Instance));
        assert_eq!(ResourceKind::of("cluster-X"), Some(ResourceKind::Cluster));
        assert_eq!(ResourceKind::of("prx-0a"), Some(ResourceKind::Proxy));
        assert_eq!(ResourceKind::of("db-"), None);
        assert_eq!(ResourceKind::of("mydb"), None);
    }

    #[test]
    fn rejects_what_would_widen_or_break_the_arn() {
        let new = |account, resource, user| Policy::new(Partition::Aws, "us-east-1", account, resource, user);
        let problem = |result: Result<Policy, Error>| match result {
            Err(Error::InvalidInput { what, problem, .. }) => (what, problem),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            problem(new("12345678901", "db-A", "app")),
            ("account id", InputProblem::NotAccountId)
        );
        assert_eq!(
            problem(new("12345678901x", "db-A", "app")),
            ("account id", InputProblem::NotAccountId)
        );
        assert_eq!(
            problem(new(ACCOUNT, "mydb", "app")),
            ("resource id", InputProblem::NotResourceId)
        );
        assert_eq!(
            problem(new(ACCOUNT, "db-A/B", "app")),
            ("resource id", InputProblem::BadCharacters)
        );
        for (user, expected) in [
            ("", InputProblem::Empty),
            ("*", InputProblem::PolicyCharacter('*')),
            ("app*", InputProblem::PolicyCharacter('*')),
            ("a?b", InputProblem::PolicyCharacter('?')),
            ("a\"b", InputProblem::PolicyCharacter('"')),
            ("a\\b", InputProblem::PolicyCharacter('\\')),
            ("a\nb", InputProblem::PolicyCharacter('\n')),
        ] {
            assert_eq!(
                problem(new(ACCOUNT, "db-A", user)),
                ("DB user name", expected),
                "{user:?}"
            );
            let err = new(ACCOUNT, "db-A", user).unwrap_err();
            assert!(err.to_string().contains("user"), "{user:?}: {err}");
        }
        assert_eq!(
            problem(Policy::new(Partition::Aws, "US-EAST-1", ACCOUNT, "db-A", "app")),
            ("region", InputProblem::NotRegion)
        );
        // Quotes and spaces are legal in MySQL user names and in ARNs; JSON escaping handles the quote.
        let odd = new(ACCOUNT, "db-A", "o'brien x").unwrap();
        assert_eq!(
            odd.resource_arn(),
            "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-A/o'brien x"
        );
    }

    #[test]
    fn put_role_policy_command() {
        let policy = Policy::new(Partition::Aws, "eu-west-1", ACCOUNT, "db-ABC", "o'brien").unwrap();
        assert_eq!(
            policy.put_role_policy_command("app-role"),
            r#"aws iam put-role-policy --role-name app-role --policy-name rds-iam-connect-db-ABC-o_brien --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-ABC/o'\''brien"}]}'"#
        );
        assert_eq!(
            policy.to_pretty_json(),
            r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "rds-db:connect",
      "Resource": "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-ABC/o'brien"
    }
  ]
}"#
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote(""), "''");
    }
}
