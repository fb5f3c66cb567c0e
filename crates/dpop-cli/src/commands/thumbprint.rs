//! `dpop thumbprint`: the RFC 7638 SHA-256 thumbprint (`jkt`) of an EC JWK.

use std::process::ExitCode;

use dpop_core::crypto::{CryptoProvider as _, rustcrypto};
use dpop_core::{JwkError, PublicJwk, SigningKey, Thumbprint};

use crate::cli::ThumbprintArgs;
use crate::error::{CliError, describe_key_error};
use crate::input::{Source, print_line};

/// Reads a public or private JWK and prints its thumbprint and a newline.
///
/// # Errors
///
/// A runtime error when the input cannot be read or is not a valid EC JWK.
pub(crate) fn run(args: &ThumbprintArgs) -> Result<ExitCode, CliError> {
    let source = Source::from_arg(args.file.as_deref());
    let json = source.read()?;
    let jkt = thumbprint_of(json.trim_ascii())
        .map_err(|e| CliError::runtime(format!("{}: {e}", source.name())))?;
    print_line(&jkt.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// The thumbprint of a public JWK, or of the public half of a private one.
///
/// A private JWK is the one case where [`PublicJwk::from_json`] fails with
/// [`JwkError::PrivateMember`] and [`SigningKey::from_jwk`] succeeds; the latter also checks
/// that `d` belongs to `(x, y)`, so a mismatched key is reported rather than thumbprinted. A
/// public JWK's point is checked with the RustCrypto provider (parsing checks structure only),
/// so a key that is not on its curve is reported too.
///
/// # Errors
///
/// The reason the JWK was rejected, as one line without key material.
pub(crate) fn thumbprint_of(json: &[u8]) -> Result<Thumbprint, String> {
    match PublicJwk::from_json(json) {
        Ok(jwk) => match rustcrypto::PROVIDER.validate_public_key(&jwk) {
            Ok(()) => Ok(jwk.thumbprint()),
            Err(e) => Err(format!("invalid jwk: {e}")),
        },
        Err(JwkError::PrivateMember) => SigningKey::from_jwk(json)
            .map(|key| key.public_jwk().thumbprint())
            .map_err(describe_key_error),
        Err(e) => Err(format!("invalid jwk: {e}")),
    }
}
