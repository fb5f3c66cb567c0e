//! The command line: subcommands, flags, argument syntax, and one-line usage errors.
//!
//! Arguments with a syntax (algorithm, method, URL, thumbprint, `jti`, nonce) are checked here
//! with the same parsers dpop-core uses, so a malformed one is a usage error (exit status 2)
//! before any work is done.
//!
//! Values that may begin with `-` take `allow_hyphen_values`: a base64url thumbprint or `jti`
//! does so one time in 64 (the RFC 9449 example `jti` is `-BwC3ESc6acc2lTc`), and a tool
//! that passes them as separate arguments must not fail then.

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory as _, Parser, Subcommand};
use dpop_core::{Algorithm, HttpMethod, ProofId, TargetUri, Thumbprint};

use crate::error::USAGE;

/// Make keys, sign, verify and inspect DPoP proofs (OAuth 2.0 Demonstrating Proof of
/// Possession, RFC 9449).
#[derive(Debug, Parser)]
#[command(name = "dpop", version)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a private EC key as a JWK (kty, crv, x, y, d).
    Keygen(KeygenArgs),
    /// Print the RFC 7638 thumbprint (jkt) of a public or private EC JWK.
    Thumbprint(ThumbprintArgs),
    /// Sign a DPoP proof for one HTTP request and print it on one line.
    #[command(after_help = ACCESS_TOKEN_HELP)]
    Proof(ProofArgs),
    /// Verify a DPoP proof against a request; print the outcome as one line of JSON.
    ///
    /// Exits 0 for a valid proof, 1 for a rejected one, 2 for a usage error.
    #[command(after_help = ACCESS_TOKEN_HELP)]
    Verify(VerifyArgs),
    /// Decode a proof's header and claims WITHOUT verifying anything, for debugging.
    Inspect(InspectArgs),
    /// Walk through keys, proofs and verification on the console.
    #[cfg(feature = "demo")]
    Demo,
    /// Run a strict local DPoP token endpoint and resource on 127.0.0.1, for trying clients.
    #[cfg(feature = "serve")]
    Serve(crate::commands::serve::ServeArgs),
}

/// How to pass an access token without showing it to other users of the machine.
const ACCESS_TOKEN_HELP: &str = "\
Access token: --access-token puts it in the process list and the shell history. Prefer
--access-token-file FILE (or - for stdin), or the DPOP_ACCESS_TOKEN environment variable, which
is read when neither flag is given. The two flags cannot be combined.";

/// `dpop keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Signature algorithm: ES256 (P-256), ES384 (P-384) or ES512 (P-521).
    #[arg(long, value_name = "ALG", default_value = "ES256", value_parser = parse_algorithm)]
    pub(crate) alg: Algorithm,
    /// Write the private JWK to this new file (mode 0600; an existing file is never
    /// overwritten) instead of stdout.
    #[arg(long, allow_hyphen_values = true, value_name = "FILE")]
    pub(crate) out: Option<String>,
}

/// `dpop thumbprint`.
#[derive(Debug, Args)]
pub(crate) struct ThumbprintArgs {
    /// JWK file, public or private; stdin when - or absent.
    #[arg(value_name = "FILE|-")]
    pub(crate) file: Option<String>,
}

/// The two ways to give an access token, shared by `proof` and `verify`; each command sets the
/// help texts (the `ath` it adds or checks, where stdin is free).
#[derive(Debug, Args)]
pub(crate) struct AccessTokenArgs {
    /// The access token itself.
    #[arg(long, allow_hyphen_values = true, value_name = "T")]
    pub(crate) access_token: Option<String>,
    /// A file holding the access token.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "FILE",
        conflicts_with = "access_token"
    )]
    pub(crate) access_token_file: Option<String>,
}

/// `dpop proof`.
#[derive(Debug, Args)]
#[command(
    mut_arg("access_token", |arg| arg.help(
        "Access token sent with the request; adds its hash as ath. Shows in the process list \
         and shell history: prefer --access-token-file or DPOP_ACCESS_TOKEN",
    )),
    mut_arg("access_token_file", |arg| arg.help(
        "Read the access token from FILE (- for stdin; one trailing newline is dropped). \
         Without this flag and --access-token, the DPOP_ACCESS_TOKEN environment variable is \
         used when set",
    ))
)]
pub(crate) struct ProofArgs {
    /// Private JWK file of the signing key; - reads stdin.
    #[arg(long, allow_hyphen_values = true, value_name = "FILE")]
    pub(crate) key: String,
    /// HTTP method of the request (htm), case-sensitive.
    #[arg(long, value_name = "M", value_parser = parse_method)]
    pub(crate) method: String,
    /// Target URI of the request; query and fragment are left out of htu.
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub(crate) url: String,
    // --access-token and --access-token-file, with this command's help texts.
    #[command(flatten)]
    pub(crate) token: AccessTokenArgs,
    /// Server-provided nonce (DPoP-Nonce).
    #[arg(long, allow_hyphen_values = true, value_name = "N", value_parser = parse_nonce)]
    pub(crate) nonce: Option<String>,
    /// Issue time (iat) in Unix seconds [default: now].
    #[arg(long, value_name = "UNIX")]
    pub(crate) iat: Option<u64>,
    /// Proof identifier (jti) [default: 128 random bits, base64url].
    #[arg(long, allow_hyphen_values = true, value_name = "ID", value_parser = parse_jti)]
    pub(crate) jti: Option<String>,
}

/// `dpop verify`.
#[derive(Debug, Args)]
#[command(
    mut_arg("access_token", |arg| arg.help(
        "Access token of the request; the proof's ath must be its hash. Shows in the process \
         list and shell history: prefer --access-token-file or DPOP_ACCESS_TOKEN",
    )),
    mut_arg("access_token_file", |arg| arg.help(
        "Read the access token from FILE (- for stdin, if the proof is given as an argument; \
         one trailing newline is dropped). Without this flag and --access-token, the \
         DPOP_ACCESS_TOKEN environment variable is used when set",
    ))
)]
pub(crate) struct VerifyArgs {
    /// HTTP method of the request, case-sensitive.
    #[arg(long, value_name = "M", value_parser = parse_method)]
    pub(crate) method: String,
    /// Target URI of the request; its query and fragment are ignored.
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub(crate) url: String,
    // --access-token and --access-token-file, with this command's help texts.
    #[command(flatten)]
    pub(crate) token: AccessTokenArgs,
    /// Nonce the server expects.
    #[arg(long, allow_hyphen_values = true, value_name = "N")]
    pub(crate) nonce: Option<String>,
    /// Thumbprint the access token is bound to (cnf.jkt).
    #[arg(long, allow_hyphen_values = true, value_name = "JKT", value_parser = parse_thumbprint)]
    pub(crate) jkt: Option<Thumbprint>,
    /// Verifier's clock in Unix seconds [default: now].
    #[arg(long, value_name = "UNIX")]
    pub(crate) now: Option<u64>,
    /// Oldest acceptable proof, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = dpop_core::consts::DEFAULT_MAX_AGE)]
    pub(crate) max_age: u64,
    /// Tolerated clock difference, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = dpop_core::consts::DEFAULT_LEEWAY)]
    pub(crate) leeway: u64,
    /// The compact proof; stdin when - or absent.
    #[arg(value_name = "PROOF|-")]
    pub(crate) proof: Option<String>,
}

/// `dpop inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The compact proof; stdin when - or absent.
    #[arg(value_name = "PROOF|-")]
    pub(crate) proof: Option<String>,
}

/// Prints a parse error (or the help or version clap was asked for) and returns the exit
/// status: 0 for help and version, 2 for a usage error. `args` are the program's arguments, to
/// name the subcommand whose help to look at.
pub(crate) fn report_parse_error(e: &clap::Error, args: &[OsString]) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Help goes to stdout (status 0), or to stderr when a subcommand is missing
            // (status 2); nothing is left to do when that stream is gone.
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(USAGE))
        }
        _ => {
            let rendered = redacted_message(e).unwrap_or_else(|| e.to_string());
            let line = usage_error_line(&rendered, subcommand(args));
            let _ = writeln!(std::io::stderr().lock(), "dpop: error: {line}");
            ExitCode::from(USAGE)
        }
    }
}

/// Arguments whose values carry no secret, and may be repeated in an error message.
const ECHOED: [&str; 6] = [
    "--alg",
    "--method",
    "--iat",
    "--now",
    "--max-age",
    "--leeway",
];

/// The message of a parse error whose rendering would repeat a value the user typed, with that
/// value left out; `None` when clap's rendering holds no value (or only an [`ECHOED`] one).
///
/// Any value may be a secret: an access token, a URL with user information
/// (`https://user:password@host/`), or a token typed after a misspelt flag, which clap then
/// reports as an unexpected argument.
fn redacted_message(e: &clap::Error) -> Option<String> {
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => Some(arg.as_str()),
        _ => None,
    };
    let echoed = arg.is_some_and(|a| ECHOED.iter().any(|f| a.split(' ').next() == Some(*f)));
    match e.kind() {
        ErrorKind::MissingRequiredArgument
        | ErrorKind::ArgumentConflict
        | ErrorKind::MissingSubcommand
        | ErrorKind::InvalidUtf8 => None,
        ErrorKind::InvalidValue | ErrorKind::ValueValidation if echoed => None,
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let reason = core::error::Error::source(e)
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            Some(format!(
                "invalid value for '{}' (not shown){reason}",
                arg.unwrap_or("an argument")
            ))
        }
        ErrorKind::UnknownArgument => Some(match arg {
            // a flag: its name, without any `=value`
            Some(flag) if flag.starts_with('-') => format!(
                "unexpected argument '{}' found",
                flag.split('=').next().unwrap_or(flag)
            ),
            _ => "unexpected argument found (a value without its flag; not shown)".to_owned(),
        }),
        ErrorKind::InvalidSubcommand => Some(
            "unrecognized subcommand (not shown); the subcommands are listed by --help".to_owned(),
        ),
        _ => Some(match arg {
            Some(arg) => format!("invalid use of '{}' (value not shown)", arg),
            None => "invalid arguments (values not shown)".to_owned(),
        }),
    }
}

/// The subcommand named by the first argument, if it names one.
fn subcommand(args: &[OsString]) -> Option<&str> {
    let first = args.get(1)?.to_str()?;
    Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == first)
        .then_some(first)
}

/// Condenses clap's rendered error (message, tips, usage, hint) into one line: the message,
/// then where to find help.
fn usage_error_line(rendered: &str, subcommand: Option<&str>) -> String {
    let message = rendered.split("\n\n").next().unwrap_or(rendered);
    let mut line = String::new();
    for part in message.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') { " " } else { "; " });
        }
        line.push_str(part);
    }
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    match subcommand {
        Some(name) => format!("{line} (see 'dpop {name} --help')"),
        None => format!("{line} (see 'dpop --help')"),
    }
}

fn parse_algorithm(text: &str) -> Result<Algorithm, String> {
    Algorithm::from_name(&text.to_ascii_uppercase())
        .ok_or_else(|| "expected ES256, ES384 or ES512".to_owned())
}

fn parse_method(text: &str) -> Result<String, String> {
    HttpMethod::parse(text)
        .map(|_| text.to_owned())
        .map_err(|_| "not an HTTP method token (e.g. GET, POST)".to_owned())
}

fn parse_url(text: &str) -> Result<String, String> {
    TargetUri::parse(text)
        .map(|_| text.to_owned())
        .map_err(|e| e.to_string())
}

fn parse_thumbprint(text: &str) -> Result<Thumbprint, String> {
    Thumbprint::from_base64url(text).map_err(|e| e.to_string())
}

fn parse_jti(text: &str) -> Result<String, String> {
    ProofId::new(text).map(|_| text.to_owned()).map_err(|_| {
        format!(
            "must be 1 to {} bytes without control characters",
            dpop_core::consts::MAX_JTI_LEN
        )
    })
}

fn parse_nonce(text: &str) -> Result<String, String> {
    if dpop_core::is_valid_nonce(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "must be 1 to {} printable ASCII characters other than space, '\"' and '\\'",
            dpop_core::consts::MAX_NONCE_LEN
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_fit_on_one_line() {
        let e = Cli::try_parse_from(["dpop", "verify", "--url", "https://a.example/"])
            .expect_err("--method is required");
        let line = usage_error_line(&e.to_string(), Some("verify"));
        assert_eq!(
            line,
            "the following required arguments were not provided: --method <M> \
             (see 'dpop verify --help')"
        );
        let e = Cli::try_parse_from(["dpop", "keygen", "--alg", "RS256"]).expect_err("bad alg");
        assert_eq!(redacted_message(&e), None);
        let line = usage_error_line(&e.to_string(), None);
        assert_eq!(
            line,
            "invalid value 'RS256' for '--alg <ALG>': expected ES256, ES384 or ES512 \
             (see 'dpop --help')"
        );
    }

    /// What a usage error says, as printed.
    fn usage_line(args: &[&str]) -> String {
        let e = Cli::try_parse_from(args).expect_err("a usage error");
        usage_error_line(&redacted_message(&e).unwrap_or_else(|| e.to_string()), None)
    }

    #[test]
    fn usage_errors_never_repeat_a_value_that_may_be_secret() {
        let secret = "s3cr3t";
        let url = format!("https://user:{secret}@api.example.com/x");
        for args in [
            vec!["dpop", "verify", "--method", "GET", "--url", &url, "p"],
            vec![
                "dpop", "proof", "--key", "k", "--method", "GET", "--url", &url,
            ],
            vec![
                "dpop",
                "proof",
                "--key",
                "k",
                "--method",
                "GET",
                "--url",
                "https://a.example/",
                "--acess-token",
                secret,
            ],
            vec![
                "dpop",
                "proof",
                "--key",
                "k",
                "--method",
                "GET",
                "--url",
                "https://a.example/",
                secret,
            ],
            vec![
                "dpop",
                "proof",
                "--key",
                "k",
                "--method",
                "GET",
                "--url",
                "https://a.example/",
                &format!("--acess-token={secret}"),
            ],
            vec![
                "dpop",
                "verify",
                "--method",
                "GET",
                "--url",
                "https://a.example/",
                "--access-token",
                secret,
                "p",
                "q",
            ],
            vec!["dpop", secret],
            vec![
                "dpop",
                "verify",
                "--method",
                "GET",
                "--url",
                "https://a.example/",
                "--jkt",
                secret,
                "p",
            ],
            vec![
                "dpop",
                "proof",
                "--key",
                "k",
                "--method",
                "GET",
                "--url",
                "https://a.example/",
                "--nonce",
                &format!("{secret} x"),
            ],
        ] {
            let line = usage_line(&args);
            assert!(!line.contains(secret), "{args:?}: {line}");
            assert!(line.len() > 20, "{line}");
        }
        // the reason is kept, and the flag is named
        let line = usage_line(&["dpop", "verify", "--method", "GET", "--url", &url, "p"]);
        assert_eq!(
            line,
            "invalid value for '--url <URL>' (not shown): uri contains userinfo (see 'dpop --help')"
        );
        // harmless values are still repeated
        let line = usage_line(&[
            "dpop",
            "verify",
            "--method",
            "GET /",
            "--url",
            "https://a/",
            "p",
        ]);
        assert!(line.contains("'GET /'"), "{line}");
    }

    #[test]
    fn access_token_flags_exclude_each_other() {
        let line = usage_line(&[
            "dpop",
            "proof",
            "--key",
            "k",
            "--method",
            "GET",
            "--url",
            "https://a.example/",
            "--access-token",
            "t",
            "--access-token-file",
            "f",
        ]);
        assert!(line.contains("cannot be used with"), "{line}");
        assert!(!line.contains("'t'"), "{line}");
    }

    #[test]
    fn subcommand_is_found_in_the_arguments() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            subcommand(&args(&["dpop", "verify", "--x"])),
            Some("verify")
        );
        assert_eq!(subcommand(&args(&["dpop", "--x", "verify"])), None);
        assert_eq!(subcommand(&args(&["dpop", "frob"])), None);
        assert_eq!(subcommand(&args(&["dpop"])), None);
    }

    #[test]
    fn argument_syntax_is_checked() {
        assert_eq!(parse_algorithm("es384"), Ok(Algorithm::Es384));
        assert!(parse_algorithm("RS256").is_err());
        assert!(parse_method("GET /").is_err());
        assert!(parse_url("not a url").is_err());
        assert!(parse_thumbprint("abc").is_err());
        assert!(parse_jti("").is_err());
        assert!(parse_nonce("a b").is_err());
    }
}
