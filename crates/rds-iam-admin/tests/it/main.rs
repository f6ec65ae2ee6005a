//! Integration tests of `rds-iam-admin` against moto's RDS API on loopback (`MotoServer`).
#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic says where"
)]

mod moto;
