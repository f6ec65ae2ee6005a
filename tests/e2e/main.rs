//! End-to-end tests against the reference implementations. One test binary for link speed; a module each.
#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic says where"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "tests run the real programs with the real environment and clock"
)]

mod admin_create_user;
mod awscli;
mod botocore_tokens;
mod credentials_botocore;
mod doctor;
mod leak_audit;
mod mariadb_connect;
mod mariadb_token;
mod proxy;
