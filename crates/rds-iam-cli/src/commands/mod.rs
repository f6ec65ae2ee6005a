//! One module per `rds-iam` subcommand.

/// `print!` that ends quietly when the reader went away (see [`print_out`]); for functions returning `Result`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::print_out(&format!($($arg)*))?
    };
}

/// `println!` that ends quietly when the reader went away (see [`print_out`]); for functions returning `Result`.
macro_rules! outln {
    () => {
        $crate::commands::print_out("\n")?
    };
    ($($arg:tt)*) => {
        $crate::commands::print_out(&format!("{}\n", format_args!($($arg)*)))?
    };
}

pub(crate) mod admin;
pub(crate) mod ca;
pub(crate) mod completions;
pub(crate) mod connect;
pub(crate) mod credentials;
pub(crate) mod doctor;
pub(crate) mod mysql_client;
pub(crate) mod proxy;
pub(crate) mod token;

use std::time::Duration;

use clap::ValueEnum;
/// `2019-01-01T00:15:00Z` (whole seconds): the workspace's one time format, shared with the libraries' messages.
pub(crate) use rds_iam_token::rfc3339;

/// `--output` of the commands that report to people or scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// Lines for people.
    Text,
    /// One JSON object, for scripts.
    Json,
}

/// Writes `text` to standard output. A reader that went away (`rds-iam … | head`) is not an error: `print!` would
/// panic.
pub(crate) fn print_out(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `2d 3h`, `1h 5m`, `14m 59s`, `7s`.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match () {
        () if days > 0 => format!("{days}d {hours}h"),
        () if hours > 0 => format!("{hours}h {minutes}m"),
        () if minutes > 0 => format!("{minutes}m {seconds}s"),
        () => format!("{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(899)), "14m 59s");
        assert_eq!(human(Duration::from_secs(7)), "7s");
        assert_eq!(human(Duration::from_secs(3 * 3600 + 120)), "3h 2m");
        assert_eq!(human(Duration::from_secs(2 * 86_400 + 3600)), "2d 1h");
    }
}
