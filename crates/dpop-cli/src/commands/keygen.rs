//! `dpop keygen`: a fresh private EC key from the OS CSPRNG, as a JWK.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::process::ExitCode;

use dpop_core::{SigningKey, consts::MAX_PRIVATE_JWK_LEN};
use zeroize::Zeroizing;

use crate::cli::KeygenArgs;
use crate::error::CliError;
use crate::input::{io_reason, os_rng, print_secret_line};

/// Generates the key and writes its private JWK (and a newline) to `--out` or stdout.
///
/// # Errors
///
/// A runtime error when the RNG fails, or the file exists or cannot be written.
pub(crate) fn run(args: &KeygenArgs) -> Result<ExitCode, CliError> {
    let key = SigningKey::generate(args.alg, &mut os_rng())
        .map_err(|e| CliError::runtime(format!("cannot generate a key: {e}")))?;
    // The text holds the secret scalar: keep it in a buffer that is wiped on drop.
    let mut buf = Zeroizing::new([0u8; MAX_PRIVATE_JWK_LEN]);
    let jwk = key
        .write_private_jwk(&mut buf[..])
        .map_err(|e| CliError::runtime(format!("cannot write the key: {e}")))?;
    match &args.out {
        None => print_secret_line(jwk)?,
        Some(path) => write_new_file(path, jwk)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` (mode 0600 on Unix) and writes `contents` and a newline. An existing file,
/// or a symbolic link, is never followed or overwritten; a partly written file is removed.
fn write_new_file(path: &str, contents: &str) -> Result<(), CliError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            CliError::runtime(format!("'{path}' already exists; refusing to overwrite it"))
        } else {
            CliError::runtime(format!("cannot create '{path}': {}", io_reason(&e)))
        }
    })?;
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        // Best effort: the write error is what the user needs to see.
        let _ = fs::remove_file(path);
        return Err(CliError::runtime(format!(
            "cannot write '{path}': {}",
            io_reason(&e)
        )));
    }
    Ok(())
}
