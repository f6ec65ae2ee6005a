//! describe, enable (idempotent) and policy against moto: resources are created with aws-sdk-rds directly.

use std::time::Duration;

use rds_iam_admin::{Apply, DbKind, DbTarget, Enabled, Error, Lookup, NotFound, Policy, RdsAdmin, Wait};
use rds_iam_credentials::{Env, EnvironmentProvider, ProviderConfig};
use rds_iam_testkit::{MotoServer, Tool, require_or_skip};

const REGION: &str = "eu-west-1";

fn env(moto: &MotoServer) -> Env {
    Env::from_vars([
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
        ),
        ("AWS_ENDPOINT_URL_RDS", moto.url()),
    ])
}

fn admin(moto: &MotoServer) -> RdsAdmin {
    let env = env(moto);
    let admin = RdsAdmin::new(
        REGION,
        EnvironmentProvider::new(&ProviderConfig::from_env(env.clone())),
        &env,
    )
    .unwrap();
    assert_eq!(admin.endpoint_url(), Some(moto.url().as_str()));
    admin
}

/// A raw SDK client on moto, to set up what the tests look at.
fn setup(moto: &MotoServer) -> (tokio::runtime::Runtime, aws_sdk_rds::Client) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = aws_sdk_rds::Config::builder()
        .behavior_version(aws_sdk_rds::config::BehaviorVersion::latest())
        .region(aws_sdk_rds::config::Region::new(REGION))
        .credentials_provider(aws_sdk_rds::config::Credentials::new(
            "AKID", "SECRET", None, None, "test",
        ))
        .endpoint_url(moto.url())
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    (runtime, aws_sdk_rds::Client::from_conf(config))
}

fn create_instance(moto: &MotoServer, id: &str, engine: &str, version: &str, iam: bool) {
    let (runtime, client) = setup(moto);
    runtime
        .block_on(
            client
                .create_db_instance()
                .db_instance_identifier(id)
                .engine(engine)
                // moto has no default version for mariadb
                .engine_version(version)
                .db_instance_class("db.t3.micro")
                .master_username("admin")
                .master_user_password("password123")
                .allocated_storage(20)
                .enable_iam_database_authentication(iam)
                .send(),
        )
        .unwrap();
}

fn create_cluster(moto: &MotoServer, id: &str, iam: bool) {
    let (runtime, client) = setup(moto);
    runtime
        .block_on(
            client
                .create_db_cluster()
                .db_cluster_identifier(id)
                .engine("aurora-mysql")
                .master_username("admin")
                .master_user_password("password123")
                .enable_iam_database_authentication(iam)
                .send(),
        )
        .unwrap();
}

#[test]
fn describe_instance_by_id_and_hostname() {
    let Some([_]) = require_or_skip([Tool::Moto]) else {
        return;
    };
    let moto = MotoServer::start();
    create_instance(&moto, "app-db", "mysql", "8.0.40", true);
    let admin = admin(&moto);
    let info = admin.describe(&DbTarget::Instance("app-db".into())).unwrap();
    assert_eq!(info.kind, DbKind::Instance);
    assert_eq!(info.identifier, "app-db");
    assert_eq!(info.engine, "mysql");
    assert!(info.engine_version.is_some());
    assert!(info.iam_auth_enabled);
    assert!(info.resource_id.starts_with("db-"), "{}", info.resource_id);
    assert_eq!(info.region, REGION);
    assert_eq!(info.partition, "aws");
    assert_eq!(info.account.len(), 12, "{}", info.account);
    assert_eq!(info.arn, format!("arn:aws:rds:{REGION}:{}:db:app-db", info.account));
    assert_eq!(info.port, Some(3306));
    let endpoint = info.endpoint.clone().unwrap();
    assert!(
        endpoint.starts_with("app-db.") && endpoint.ends_with(".eu-west-1.rds.amazonaws.com"),
        "{endpoint}"
    );

    let by_host = admin.describe(&DbTarget::Hostname(endpoint)).unwrap();
    assert_eq!(by_host, info);

    let policy = Policy::new(info.partition(), &info.region, &info.account, &info.resource_id, "app").unwrap();
    assert_eq!(
        policy.resource_arn(),
        format!(
            "arn:aws:rds-db:eu-west-1:{}:dbuser:{}/app",
            info.account, info.resource_id
        )
    );

    let missing = admin.describe(&DbTarget::Instance("nope".into())).unwrap_err();
    assert!(
        matches!(&missing, Error::NotFound(NotFound { what: Lookup::Instance, name, region, .. }) if name == "nope" && region == REGION),
        "{missing:?}"
    );
    assert_eq!(
        missing.to_string(),
        "DB instance nope was not found in eu-west-1: check the name, the region and the account"
    );

    let wrong_region = admin
        .describe(&DbTarget::Hostname(
            "app-db.abcdefghijkl.us-east-1.rds.amazonaws.com".into(),
        ))
        .unwrap_err();
    assert!(
        matches!(&wrong_region, Error::RegionMismatch { host_region, client_region, .. } if host_region == "us-east-1" && client_region == REGION),
        "{wrong_region:?}"
    );
    assert_eq!(
        wrong_region.to_string(),
        "app-db.abcdefghijkl.us-east-1.rds.amazonaws.com is in us-east-1, but the RDS client calls eu-west-1"
    );

    // An endpoint that answers nothing: the SDK's error and its causes are the sources.
    let env = Env::from_vars([
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
        ("AWS_ENDPOINT_URL_RDS", "http://127.0.0.1:9".to_owned()),
    ]);
    let unreachable = RdsAdmin::new(
        REGION,
        EnvironmentProvider::new(&ProviderConfig::from_env(env.clone())),
        &env,
    )
    .unwrap()
    .describe(&DbTarget::Instance("app-db".into()))
    .unwrap_err();
    assert!(
        matches!(
            &unreachable,
            Error::Api {
                call: "DescribeDBInstances",
                code: None,
                source: Some(_),
                ..
            }
        ),
        "{unreachable:?}"
    );
    assert_eq!(unreachable.to_string(), "DescribeDBInstances failed");
    let mut chain = Vec::new();
    let mut source = std::error::Error::source(&unreachable);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    assert!(chain.len() >= 2, "{chain:?}");
}

#[test]
fn describe_cluster_by_id_and_hostname() {
    let Some([_]) = require_or_skip([Tool::Moto]) else {
        return;
    };
    let moto = MotoServer::start();
    create_cluster(&moto, "app-cluster", true);
    let admin = admin(&moto);
    let info = admin.describe(&DbTarget::Cluster("app-cluster".into())).unwrap();
    assert_eq!(info.kind, DbKind::Cluster);
    assert_eq!(info.engine, "aurora-mysql");
    assert!(info.iam_auth_enabled);
    assert!(info.resource_id.starts_with("cluster-"), "{}", info.resource_id);
    assert_eq!(
        info.arn,
        format!("arn:aws:rds:{REGION}:{}:cluster:app-cluster", info.account)
    );
    let endpoint = info.endpoint.clone().unwrap();
    assert_eq!(admin.describe(&DbTarget::Hostname(endpoint)).unwrap(), info);
    let again = admin
        .enable_iam_auth(
            &DbTarget::Cluster("app-cluster".into()),
            Apply::Immediately,
            None,
            &mut |_| {},
        )
        .unwrap();
    assert!(matches!(again, Enabled::AlreadyEnabled(_)), "{again:?}");
    if let Some(reader) = info.reader_endpoint.clone() {
        assert_eq!(admin.describe(&DbTarget::Hostname(reader)).unwrap(), info);
    }
}

#[test]
fn enable_on_an_instance_is_idempotent() {
    let Some([_]) = require_or_skip([Tool::Moto]) else {
        return;
    };
    let moto = MotoServer::start();
    create_instance(&moto, "legacy-db", "mariadb", "10.11.8", false);
    let admin = admin(&moto);
    let target = DbTarget::Instance("legacy-db".into());
    assert!(!admin.describe(&target).unwrap().iam_auth_enabled);

    let mut polls = 0;
    let wait = Wait {
        timeout: Duration::from_secs(20),
        interval: Duration::from_millis(100),
    };
    let first = admin
        .enable_iam_auth(&target, Apply::Immediately, Some(wait), &mut |_| polls += 1)
        .unwrap();
    assert!(matches!(first, Enabled::Requested(_)), "{first:?}");
    assert!(first.info().iam_auth_enabled);
    assert!(admin.describe(&target).unwrap().iam_auth_enabled);

    let again = admin
        .enable_iam_auth(&target, Apply::Immediately, None, &mut |_| {})
        .unwrap();
    assert!(matches!(again, Enabled::AlreadyEnabled(_)), "{again:?}");
}

#[test]
fn enable_on_a_cluster() {
    let Some([_]) = require_or_skip([Tool::Moto]) else {
        return;
    };
    let moto = MotoServer::start();
    create_cluster(&moto, "old-cluster", false);
    let admin = admin(&moto);
    let target = DbTarget::Cluster("old-cluster".into());
    assert!(!admin.describe(&target).unwrap().iam_auth_enabled);
    let outcome = admin
        .enable_iam_auth(&target, Apply::Immediately, None, &mut |_| {})
        .unwrap();
    assert!(matches!(outcome, Enabled::Requested(_)), "{outcome:?}");
    // moto accepts ModifyDBCluster but keeps the IAM flag the cluster was created with (it honours the flag only
    // at create time), so the change cannot be seen here; against RDS it shows as enabled or pending.
    let after = admin.describe(&target).unwrap();
    assert_eq!(
        (after.kind, after.identifier.as_str()),
        (DbKind::Cluster, "old-cluster")
    );
}
