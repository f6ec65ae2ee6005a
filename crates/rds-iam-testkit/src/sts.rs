//! [`FakeSts`]: an STS stand-in whose answers are a pure function of the request, so two clients that make the
//! same calls (rds-iam and botocore) get the same credentials and can be compared byte for byte.

use crate::{FakeHttpServer, Recorded, Reply};

/// Answers `AssumeRole` and `AssumeRoleWithWebIdentity` with credentials derived from the role ARN and the
/// caller: the signing access key id (`AssumeRole`) or the web identity token (`AssumeRoleWithWebIdentity`).
/// The session name is left out on purpose: SDKs generate different default names.
///
/// ```
/// use rds_iam_testkit::FakeSts;
///
/// let sts = FakeSts::start();
/// let (key, _secret, _token) = FakeSts::credentials_for("arn:aws:iam::123456789012:role/app", "AKIDSOURCE");
/// assert!(key.starts_with("ASIA"));
/// assert!(sts.url().starts_with("http://127.0.0.1:"));
/// ```
pub struct FakeSts {
    server: FakeHttpServer,
}

impl FakeSts {
    /// Starts the server on a free loopback port.
    pub fn start() -> FakeSts {
        FakeSts {
            server: FakeHttpServer::start(answer),
        }
    }

    /// The endpoint URL (for `AWS_ENDPOINT_URL_STS`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// `(access key id, secret key, session token)` the server returns for `role_arn` assumed by `caller`.
    pub fn credentials_for(role_arn: &str, caller: &str) -> (String, String, String) {
        let h = fnv(&format!("{role_arn}\n{caller}"));
        (
            format!("ASIA{:016X}", h),
            format!("secret{h:016x}/+="),
            format!("token{h:016x}+/=="),
        )
    }
}

fn answer(request: &Recorded) -> Reply {
    let form = crate::http::form_pairs(&request.body);
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if get("Action") == Some("GetCallerIdentity") {
        return caller_identity(request);
    }
    let (Some(action), Some(role_arn)) = (get("Action"), get("RoleArn")) else {
        return sts_error(400, "MissingParameter", "Action and RoleArn are required");
    };
    let caller = match action {
        "AssumeRole" => match request.header("authorization").and_then(signing_key) {
            Some(key) => key,
            None => {
                return sts_error(
                    403,
                    "MissingAuthenticationToken",
                    "Request is missing Authentication Token",
                );
            }
        },
        "AssumeRoleWithWebIdentity" => match get("WebIdentityToken") {
            Some(token) => token.to_owned(),
            None => return sts_error(400, "MissingParameter", "WebIdentityToken is required"),
        },
        other => return sts_error(400, "InvalidAction", &format!("Could not find operation {other}")),
    };
    if role_arn.contains(":role/denied") {
        return sts_error(
            403,
            "AccessDenied",
            &format!("User: {caller} is not authorized to perform: sts:{action} on resource: {role_arn}"),
        );
    }
    let (key, secret, token) = FakeSts::credentials_for(role_arn, &caller);
    let body = format!(
        "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result>\
         <Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>\
         <SessionToken>{token}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
         <AssumedRoleUser><AssumedRoleId>AROAFAKE:session</AssumedRoleId>\
         <Arn>arn:aws:sts::123456789012:assumed-role/fake/session</Arn></AssumedRoleUser>\
         </{action}Result><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>\
         </ResponseMetadata></{action}Response>"
    );
    Reply::text(200, body).with_header("Content-Type", "text/xml")
}

/// `GetCallerIdentity`: a user for a long-term key (`AKIA…`), an assumed role otherwise, named after the key.
fn caller_identity(request: &Recorded) -> Reply {
    let Some(key) = request.header("authorization").and_then(signing_key) else {
        return sts_error(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        );
    };
    let arn = if key.starts_with("AKIA") {
        format!("arn:aws:iam::123456789012:user/{key}")
    } else {
        format!("arn:aws:sts::123456789012:assumed-role/fake/{key}")
    };
    let body = format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
         <Arn>{arn}</Arn><UserId>AIDAFAKE</UserId><Account>123456789012</Account></GetCallerIdentityResult>\
         </GetCallerIdentityResponse>"
    );
    Reply::text(200, body).with_header("Content-Type", "text/xml")
}

fn sts_error(status: u16, code: &str, message: &str) -> Reply {
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
    );
    Reply::text(status, body).with_header("Content-Type", "text/xml")
}

/// The access key id in `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/sts/aws4_request, …`.
fn signing_key(authorization: &str) -> Option<String> {
    let credential = authorization.split("Credential=").nth(1)?;
    Some(credential.split('/').next()?.to_owned())
}

/// FNV-1a, 64 bits: stable across runs and platforms.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_deterministic() {
        assert_eq!(FakeSts::credentials_for("r", "k"), FakeSts::credentials_for("r", "k"));
        assert_ne!(
            FakeSts::credentials_for("r", "k").0,
            FakeSts::credentials_for("r", "j").0
        );
        assert_eq!(
            signing_key("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sts/aws4_request, SignedHeaders=host"),
            Some("AKID".into())
        );
    }
}
