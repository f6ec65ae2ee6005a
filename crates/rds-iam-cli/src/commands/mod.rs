//! One module per `rds-iam` subcommand.

pub(crate) mod token;
