//! What the commands read and write outside themselves: files, stdin, stdout, the system clock
//! and the OS random number generator.

use std::fs::File;
use std::io::{self, Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use dpop_core::UnixTime;
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
    /// drop, since it may hold a private key or an access token.
    ///
    /// # Errors
    ///
    /// A runtime error naming the source when it cannot be opened or read, or is too large.
    pub(crate) fn read(self) -> Result<Zeroizing<Vec<u8>>, CliError> {
        let read = match self {
            Self::Stdin => stdin_reader().and_then(|r| read_bounded(r, MAX_INPUT_LEN)),
            Self::File(path) => File::open(path).and_then(|f| read_bounded(f, MAX_INPUT_LEN)),
        };
        let buf = read.map_err(|e| {
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

/// Reads `reader` to its end, or to `limit + 1` bytes (the caller tells "too large" from
/// that), into one buffer allocated once at full size and wiped on drop (its whole capacity).
/// Growing a vector would free unwiped copies, and `Read::read_to_end` may read through a
/// small stack buffer of its own; this loop reads only into the buffer.
fn read_bounded(mut reader: impl Read, limit: usize) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(vec![0u8; limit.saturating_add(1)]);
    let mut filled = 0;
    while let Some(spare) = buf.get_mut(filled..).filter(|s| !s.is_empty()) {
        match reader.read(spare) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Standard input, unbuffered: `io::stdin()` reads through a process-wide buffer that is never
/// wiped, and a key or token read through it would stay there. On Unix the file descriptor is
/// duplicated and read directly.
fn stdin_reader() -> io::Result<Box<dyn Read>> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        let fd = io::stdin().as_fd().try_clone_to_owned()?;
        Ok(Box::new(File::from(fd)))
    }
    #[cfg(not(unix))]
    {
        Ok(Box::new(io::stdin()))
    }
}

/// The environment variable `dpop proof` and `dpop verify` read the access token from, when
/// neither `--access-token` nor `--access-token-file` is given.
pub(crate) const ACCESS_TOKEN_ENV: &str = "DPOP_ACCESS_TOKEN";

/// Where the access token came from, for messages (never the token itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenSource {
    /// `--access-token T`.
    Flag,
    /// `--access-token-file FILE` (or `-`).
    File,
    /// The [`ACCESS_TOKEN_ENV`] environment variable.
    Env,
}

impl TokenSource {
    /// The flag or variable, as the user wrote it.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Flag => "--access-token",
            Self::File => "--access-token-file",
            Self::Env => ACCESS_TOKEN_ENV,
        }
    }
}

/// The access token of `dpop proof` or `dpop verify`, in a buffer wiped on drop: from
/// `--access-token`, else from `--access-token-file` (clap makes the two exclusive), else from
/// the environment variable [`ACCESS_TOKEN_ENV`] when it is set and not empty. A file or stdin
/// loses one trailing newline (`\n` or `\r\n`), as `echo` and editors add one; nothing else
/// is trimmed. `stdin_user` names the other argument that reads stdin, if any.
///
/// # Errors
///
/// A usage error when the file is `-` and stdin is already taken, or when the token read is
/// empty or not UTF-8; a runtime error when the file cannot be read. No message holds the
/// token.
pub(crate) fn access_token(
    flag: Option<&str>,
    file: Option<&str>,
    stdin_user: Option<&str>,
) -> Result<Option<(Zeroizing<String>, TokenSource)>, CliError> {
    if let Some(token) = flag {
        return Ok(Some((Zeroizing::new(token.to_owned()), TokenSource::Flag)));
    }
    if let Some(path) = file {
        let source = Source::from_arg(Some(path));
        if let (Source::Stdin, Some(other)) = (source, stdin_user) {
            return Err(CliError::usage(format!(
                "--access-token-file - and {other} cannot both read stdin"
            )));
        }
        let bytes = source.read()?;
        let text = core::str::from_utf8(&bytes).map_err(|_| {
            CliError::usage(format!(
                "--access-token-file: {} is not UTF-8",
                source.name()
            ))
        })?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.is_empty() {
            return Err(CliError::usage(format!(
                "--access-token-file: {} holds no access token",
                source.name()
            )));
        }
        return Ok(Some((Zeroizing::new(text.to_owned()), TokenSource::File)));
    }
    match std::env::var_os(ACCESS_TOKEN_ENV) {
        Some(value) if !value.is_empty() => {
            let text = value
                .into_string()
                .map_err(|_| CliError::usage(format!("{ACCESS_TOKEN_ENV} is not UTF-8")))?;
            Ok(Some((Zeroizing::new(text), TokenSource::Env)))
        }
        _ => Ok(None),
    }
}

/// Writes `text` (which holds a secret) and a newline to stdout in one write, bypassing the
/// process-wide stdout buffer that is never wiped; the line is built in a buffer wiped on drop.
///
/// # Errors
///
/// A runtime error when stdout cannot be written.
pub(crate) fn print_secret_line(text: &str) -> Result<(), CliError> {
    let mut line = Zeroizing::new(Vec::with_capacity(text.len() + 1));
    line.extend_from_slice(text.as_bytes());
    line.push(b'\n');
    let written = {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd as _;
            // Anything printed before through `io::stdout()` goes first.
            io::stdout().lock().flush().and_then(|()| {
                let fd = io::stdout().as_fd().try_clone_to_owned()?;
                File::from(fd).write_all(&line)
            })
        }
        #[cfg(not(unix))]
        {
            let mut out = io::stdout().lock();
            out.write_all(&line).and_then(|()| out.flush())
        }
    };
    written.map_err(|e| CliError::runtime(format!("cannot write to stdout: {}", io_reason(&e))))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads in small pieces, with an interruption, like a pipe.
    struct Trickle<'a>(&'a [u8], bool);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if !self.1 {
                self.1 = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = self.0.len().min(out.len()).min(7);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn bounded_reads_fill_one_buffer_that_never_grows() {
        let data: Vec<u8> = (0..100u8).collect();
        let buf = read_bounded(Trickle(&data, false), 100).unwrap();
        assert_eq!(buf.as_slice(), data.as_slice());
        // allocated once, at full size: no reallocation left an unwiped copy behind
        assert_eq!(buf.capacity(), 101);
        // one byte more than the limit tells the caller it is too large
        let long = vec![7u8; 300];
        let buf = read_bounded(Trickle(&long, false), 100).unwrap();
        assert_eq!(buf.len(), 101);
        assert_eq!(buf.capacity(), 101);
        assert!(read_bounded(io::empty(), 10).unwrap().is_empty());
    }
}
