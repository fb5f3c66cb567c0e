//! What the commands read and write outside themselves: files, stdin, stdout, the system clock
//! and the OS random number generator.

use std::fs::File;
use std::io::{self, Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use dpop_core::time::UnixTime;
use zeroize::Zeroizing;

use crate::error::CliError;

/// Largest input read from a file or stdin: far above any JWK or proof, small enough that a
/// wrong file (or an endless pipe) fails fast.
const MAX_INPUT_LEN: usize = 64 * 1024;

/// Where an input comes from: a file, or stdin for `-` or no argument.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    /// Standard input.
    Stdin,
    /// A file path.
    File(&'a str),
}

impl<'a> Source<'a> {
    /// Stdin for `None` or `-`, else the file.
    pub(crate) fn from_arg(arg: Option<&'a str>) -> Self {
        match arg {
            None | Some("-") => Self::Stdin,
            Some(path) => Self::File(path),
        }
    }

    /// A short name for messages: the path, or `stdin`.
    pub(crate) fn name(self) -> String {
        match self {
            Self::Stdin => "stdin".to_owned(),
            Self::File(path) => format!("'{path}'"),
        }
    }

    /// Reads the whole input (at most [`MAX_INPUT_LEN`] bytes) into a buffer that is wiped on
    /// drop, since it may hold a private key.
    ///
    /// # Errors
    ///
    /// A runtime error naming the source when it cannot be opened or read, or is too large.
    pub(crate) fn read(self) -> Result<Zeroizing<Vec<u8>>, CliError> {
        // Allocated once at full size: growing the vector would free copies without wiping them.
        let mut buf = Zeroizing::new(Vec::with_capacity(MAX_INPUT_LEN + 1));
        let limit = u64::try_from(MAX_INPUT_LEN + 1).unwrap_or(u64::MAX);
        let read = match self {
            Self::Stdin => io::stdin().lock().take(limit).read_to_end(&mut buf),
            Self::File(path) => File::open(path).and_then(|f| f.take(limit).read_to_end(&mut buf)),
        };
        read.map_err(|e| {
            CliError::runtime(format!("cannot read {}: {}", self.name(), io_reason(&e)))
        })?;
        if buf.len() > MAX_INPUT_LEN {
            return Err(CliError::runtime(format!(
                "{} is larger than {MAX_INPUT_LEN} bytes",
                self.name()
            )));
        }
        Ok(buf)
    }

    /// Reads the input as UTF-8 text without surrounding whitespace.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read), and a runtime error when the input is not UTF-8.
    pub(crate) fn read_trimmed_text(self) -> Result<String, CliError> {
        let bytes = self.read()?;
        let text = core::str::from_utf8(&bytes)
            .map_err(|_| CliError::runtime(format!("{} is not UTF-8 text", self.name())))?;
        Ok(text.trim().to_owned())
    }
}

/// The current time from the system clock.
///
/// # Errors
///
/// A runtime error when the clock is set before 1970.
pub(crate) fn system_now() -> Result<UnixTime, CliError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| UnixTime::from_secs(d.as_secs()))
        .map_err(|_| CliError::runtime("the system clock is set before 1970"))
}

/// The operating system's CSPRNG.
pub(crate) fn os_rng() -> getrandom::SysRng {
    getrandom::SysRng
}

/// Writes `text` and a newline to stdout.
///
/// # Errors
///
/// A runtime error when stdout cannot be written (for example a closed pipe).
pub(crate) fn print_line(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::runtime(format!("cannot write to stdout: {}", io_reason(&e))))
}

/// The OS error text of an I/O error, without Rust's `(os error N)` suffix noise.
pub(crate) fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text.get(..i).unwrap_or(&text).to_owned(),
        None => text,
    }
}
