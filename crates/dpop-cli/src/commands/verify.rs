//! `dpop verify`: check a proof against a request (RFC 9449 section 4.3) and report the outcome
//! as one line of JSON.
//!
//! A valid proof prints
//! `{"valid":true,"alg":..,"jkt":..,"jti":..,"iat":<number>,"htm":..,"htu":..}` and exits 0; a
//! rejected one prints `{"valid":false,"error":..,"code":..,"description":..}` and exits 1.
//! Members always come in this order.

use std::process::ExitCode;

use dpop_core::{
    Expected, HttpMethod, TargetUri, UnixTime, VerifiedProof, Verifier, VerifyError,
    consts::MAX_URI_LEN, crypto::rustcrypto::ALL_VERIFIERS,
};
use serde::Serialize;

use crate::cli::VerifyArgs;
use crate::error::{CliError, FAILURE};
use crate::input::{Source, access_token, print_line, system_now};

/// The report for a valid proof; field order is the output order.
#[derive(Debug, Serialize)]
struct Valid<'a> {
    valid: bool,
    alg: &'a str,
    jkt: String,
    jti: &'a str,
    iat: u64,
    htm: &'a str,
    htu: &'a str,
}

/// The report for a rejected proof; field order is the output order.
#[derive(Debug, Serialize)]
struct Rejected {
    valid: bool,
    error: &'static str,
    code: &'static str,
    description: String,
}

/// Verifies the proof and prints the report.
///
/// # Errors
///
/// A usage error for a malformed `--method` or `--url`, a runtime error when the proof cannot
/// be read or stdout cannot be written. A rejected proof is not an error: it is reported on
/// stdout with exit status 1.
pub(crate) fn run(args: &VerifyArgs) -> Result<ExitCode, CliError> {
    let proof_from_stdin = args.proof.as_deref().is_none_or(|p| p == "-");
    // Read before the proof, so that `--access-token-file -` with a proof on stdin is refused
    // before stdin is read.
    let access_token = access_token(
        args.token.access_token.as_deref(),
        args.token.access_token_file.as_deref(),
        proof_from_stdin.then_some("the proof"),
    )?;
    let proof = match args.proof.as_deref() {
        Some(text) if text != "-" => text.trim().to_owned(),
        _ => Source::Stdin.read_trimmed_text()?,
    };
    // clap already checked these; the errors below cannot happen but are not worth a panic.
    let method = HttpMethod::parse(&args.method)
        .map_err(|_| CliError::usage(format!("invalid --method '{}'", args.method)))?;
    let uri =
        TargetUri::parse(&args.url).map_err(|e| CliError::usage(format!("invalid --url: {e}")))?;
    let now = match args.now {
        Some(secs) => UnixTime::from_secs(secs),
        None => system_now()?,
    };

    let mut expected = Expected::new(method, uri);
    if let Some(nonce) = &args.nonce {
        expected = expected.with_nonce(nonce);
    }
    if let Some((token, _)) = &access_token {
        expected = expected.with_access_token(token);
    }
    if let Some(jkt) = &args.jkt {
        expected = expected.with_bound_key(jkt);
    }
    let verifier = Verifier::new(ALL_VERIFIERS)
        .with_max_age(args.max_age)
        .with_leeway(args.leeway);

    match verifier.verify(&proof, &expected, now) {
        Ok(verified) => {
            print_line(&valid_json(&verified)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            print_line(&rejected_json(e)?)?;
            Ok(ExitCode::from(FAILURE))
        }
    }
}

/// The one-line report of a valid proof.
///
/// # Errors
///
/// A runtime error if the report cannot be serialized.
fn valid_json(verified: &VerifiedProof<'_>) -> Result<String, CliError> {
    let mut htu = [0u8; MAX_URI_LEN + 1];
    let htu = verified
        .uri()
        .write_canonical(&mut htu)
        .map_err(|e| CliError::runtime(format!("cannot write htu: {e}")))?;
    let report = Valid {
        valid: true,
        alg: verified.algorithm().name(),
        jkt: verified.thumbprint().to_string(),
        jti: verified.id(),
        iat: verified.issued_at().as_secs(),
        htm: verified.method().as_str(),
        htu,
    };
    to_json(&report)
}

/// The one-line report of a rejected proof.
///
/// # Errors
///
/// A runtime error if the report cannot be serialized.
fn rejected_json(error: VerifyError) -> Result<String, CliError> {
    let report = Rejected {
        valid: false,
        error: error.name(),
        code: error.error_code(),
        description: error.to_string(),
    };
    to_json(&report)
}

fn to_json<T: Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string(value).map_err(|e| CliError::runtime(format!("cannot write JSON: {e}")))
}
