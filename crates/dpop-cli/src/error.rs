//! The one error type of the commands, and how it maps to an exit status.

use core::fmt;
use std::io::Write as _;

use dpop_core::{JwkError, KeyError};
use std::process::ExitCode;

/// Exit status of a usage error (clap's default, kept for errors found after parsing).
pub(crate) const USAGE: u8 = 2;
/// Exit status of a runtime failure, and of `verify` for a rejected proof.
pub(crate) const FAILURE: u8 = 1;

/// A command failed. The message is one line and never holds secret key material.
#[derive(Debug)]
pub(crate) enum CliError {
    /// A malformed argument found after parsing: exit status 2.
    Usage(String),
    /// Anything else (I/O, invalid key, malformed input): exit status 1.
    Runtime(String),
}

impl CliError {
    /// A usage error.
    pub(crate) fn usage(message: impl fmt::Display) -> Self {
        Self::Usage(message.to_string())
    }

    /// A runtime failure.
    pub(crate) fn runtime(message: impl fmt::Display) -> Self {
        Self::Runtime(message.to_string())
    }

    /// Prints `dpop: error: <message>` on stderr and returns the exit status.
    pub(crate) fn report(&self) -> ExitCode {
        let (message, status) = match self {
            Self::Usage(m) => (m, USAGE),
            Self::Runtime(m) => (m, FAILURE),
        };
        // Nothing sensible is left to do if stderr itself is gone.
        let _ = writeln!(
            std::io::stderr().lock(),
            "dpop: error: {}",
            one_line(message)
        );
        ExitCode::from(status)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m) | Self::Runtime(m) => f.write_str(m),
        }
    }
}

/// Why a private JWK was rejected, in words that fit the file the user gave.
///
/// [`KeyError`]'s text names the JWK rule that failed; a key of another type (an RSA private
/// key has `p` and `q`) fails on its private members, which is said more plainly here.
pub(crate) fn describe_key_error(e: KeyError) -> String {
    match e {
        KeyError::Jwk(JwkError::PrivateMember) => {
            "not a private EC JWK: it has private members other than d".to_owned()
        }
        _ => e.to_string(),
    }
}

/// Joins the lines of `text` with `; ` so that every error is a single line.
pub(crate) fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_one_line() {
        assert_eq!(one_line("a\n  b\n\nc"), "a; b; c");
        assert_eq!(one_line("plain"), "plain");
    }
}
