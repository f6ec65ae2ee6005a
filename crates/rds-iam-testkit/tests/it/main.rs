//! testkit's own integration tests, one binary: the in-process RDS-like server with the real `mysql` client, and
//! the RDS-like MariaDB with the real `mariadb` client.

mod mariadb;
mod mysql_server;
