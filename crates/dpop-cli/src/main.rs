//! `dpop`: make keys, sign, verify and inspect DPoP proofs (RFC 9449) from the command line.
//!
//! Every failure prints one line, `dpop: error: ...`, on stderr and exits with status 2 for a
//! usage error (bad flag, malformed argument) or 1 for a runtime failure (unreadable file, bad
//! key, rejected proof). Secret key material never appears in a message.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;
mod error;
mod input;

use cli::{Cli, Command};
use error::CliError;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return cli::report_parse_error(&e, &args),
    };
    let result = match cli.command {
        Command::Keygen(args) => commands::keygen::run(&args),
        Command::Thumbprint(args) => commands::thumbprint::run(&args),
        Command::Proof(args) => commands::proof::run(&args),
        Command::Verify(args) => commands::verify::run(&args),
        Command::Inspect(args) => commands::inspect::run(&args),
        #[cfg(feature = "demo")]
        Command::Demo => commands::demo::run(),
        #[cfg(feature = "serve")]
        Command::Serve(args) => commands::serve::run(&args),
    };
    result.unwrap_or_else(|e: CliError| e.report())
}
