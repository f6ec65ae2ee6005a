//! `rds-iam-admin`'s CREATE USER SQL run as the master user over TLS against the real RDS-like MariaDB (with the
//! `IDENTIFIED VIA pam` clause it needs): hostile user names are stored exactly as given, nothing else happens,
//! and such a user then logs in with an IAM token. Needs root and `apt-get install -y mariadb-server`.

use std::time::SystemTime;

use rds_iam_admin::{Authentication, CreateUser, Engine, Error, MasterLogin};
use rds_iam_e2e::pam_check_bin;
use rds_iam_testkit::{
    ADMIN_USER, MariaDb, MariaDbOptions, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Tool, require_or_skip,
};
use rds_iam_token::{Credentials, Secret, TokenRequest};

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn hostile_user_names_are_stored_exactly() {
    let Some([_]) = require_or_skip([Tool::MariaDb]) else {
        return;
    };
    let server = MariaDb::start(MariaDbOptions::new(pam_check_bin())).unwrap_or_else(|e| panic!("MariaDB: {e}"));
    let login = || {
        MasterLogin::new(
            "localhost",
            server.port(),
            ADMIN_USER,
            Secret::new(server.admin_password().to_owned()),
            server.ca_path(),
        )
    };
    let hostile = [
        "o'brien",
        r"a\'; DROP USER rds_admin; --",
        "back`tick",
        "dq\"x",
        "semi;colon",
        "%_wild",
        "日本語ユーザー",
        r"trailing\",
    ];
    for name in hostile {
        let sql = CreateUser::new(name, Engine::Mariadb)
            .unwrap()
            .with_authentication(Authentication::MariadbPam {
                service: server.pam_service().to_owned(),
            })
            .unwrap()
            .grant("SELECT ON my_db.*")
            .unwrap();
        login()
            .execute(&sql.statements())
            .unwrap_or_else(|e| panic!("{name:?}: {e}\n{sql}"));
    }
    // HEX() so the client's batch-mode escaping cannot blur what was stored.
    let stored = server.exec_sql_as_root("SELECT HEX(User) FROM mysql.user").unwrap();
    let stored: Vec<&str> = stored.lines().collect();
    for name in hostile.iter().chain(&[ADMIN_USER]) {
        assert!(
            stored.contains(&hex(name).as_str()),
            "{name:?} is not stored as given: {stored:?}"
        );
    }
    // The database-level grant names `my_db` literally (`_` escaped), not the pattern `my?db`.
    let grants = server
        .exec_sql_as_root(&format!(
            "SELECT DISTINCT HEX(Db) FROM mysql.db WHERE HEX(User) = '{}'",
            hex("o'brien")
        ))
        .unwrap();
    assert_eq!(grants.trim(), hex(r"my\_db"));

    // Unwritable names never reach the server.
    for name in ["nul\0byte", &"x".repeat(81)] {
        assert!(CreateUser::new(name, Engine::Mariadb).is_err(), "{name:?} was accepted");
    }

    // A hostile-named user logs in with an IAM token over TLS.
    let user = "o'brien";
    let token = TokenRequest::new(server.signing_host(), server.signing_port(), user, server.region())
        .unwrap()
        .sign(
            &Credentials::new(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY),
            SystemTime::now(),
        )
        .unwrap();
    let out = server
        .client_command(user, token.expose())
        .args(["-e", "SELECT CURRENT_USER()"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\nattempts: {:?}",
        String::from_utf8_lossy(&out.stderr),
        server.attempts()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "o'brien@%");

    // A wrong master password is refused with a message that names the login, not the password; the server's
    // answer is the source.
    let wrong = MasterLogin::new(
        "localhost",
        server.port(),
        ADMIN_USER,
        Secret::new("wrong-pw".to_owned()),
        server.ca_path(),
    )
    .execute(&["SELECT 1".to_owned()])
    .unwrap_err();
    assert!(
        matches!(&wrong, Error::Login { user, .. } if user == ADMIN_USER),
        "{wrong:?}"
    );
    let cause = std::error::Error::source(&wrong)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(cause.contains("1045"), "{cause}");
    let wrong = format!("{wrong}: {cause}");
    assert!(
        wrong.contains("cannot log in") && !wrong.contains("wrong-pw"),
        "{wrong}"
    );

    // A failing statement is named, with the server's error as the source; the ones after it do not run.
    let failed = login()
        .execute(&["SELECT * FROM no_such_db.t".to_owned(), "SELECT 1".to_owned()])
        .unwrap_err();
    assert!(
        matches!(&failed, Error::Statement { statement, .. } if statement == "SELECT * FROM no_such_db.t"),
        "{failed:?}"
    );
    assert!(std::error::Error::source(&failed).is_some(), "{failed:?}");

    // Through a tunnel: dial an address the certificate may not name, check the certificate against the endpoint.
    let through = |endpoint: &str| {
        MasterLogin::new(
            "127.0.0.1",
            server.port(),
            ADMIN_USER,
            Secret::new(server.admin_password().to_owned()),
            server.ca_path(),
        )
        .through_tunnel_to(endpoint, std::env::temp_dir())
        .execute(&["SELECT 1".to_owned()])
    };
    through("localhost").unwrap_or_else(|e| panic!("through a tunnel to localhost: {e}"));
    let refused = through("mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com").unwrap_err();
    assert!(
        matches!(&refused, Error::TunnelRefused { endpoint, .. } if endpoint == "mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com"),
        "{refused:?}"
    );
    let cause = std::error::Error::source(&refused)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(cause.contains("rds-iam proxy:"), "{cause}");
    let wrong = refused.to_string();
    assert!(
        wrong.contains("is not mydb.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com")
            && wrong.contains("the password was not sent"),
        "{wrong}"
    );
}
