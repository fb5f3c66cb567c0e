//! `dpop proof`: sign a DPoP proof for one request (RFC 9449 section 4.2).

use std::process::ExitCode;

use dpop_core::{CreateError, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, UnixTime};

use crate::cli::ProofArgs;
use crate::error::{CliError, describe_key_error};
use crate::input::{Source, TokenSource, access_token, os_rng, print_line, system_now};

/// Signs the proof with the key of `--key` and prints it on one line.
///
/// # Errors
///
/// A runtime error when the key cannot be read or is not a private EC JWK, or signing fails;
/// a usage error for a claim value that cannot be sent.
pub(crate) fn run(args: &ProofArgs) -> Result<ExitCode, CliError> {
    let source = Source::from_arg(Some(&args.key));
    let stdin_user = matches!(source, Source::Stdin).then_some("--key -");
    let access_token = access_token(
        args.token.access_token.as_deref(),
        args.token.access_token_file.as_deref(),
        stdin_user,
    )?;
    let json = source.read()?;
    let key = SigningKey::from_jwk(json.trim_ascii()).map_err(|e| {
        CliError::runtime(format!("key {}: {}", source.name(), describe_key_error(e)))
    })?;
    drop(json);

    // clap already checked these; the errors below cannot happen but are not worth a panic.
    let method = HttpMethod::parse(&args.method)
        .map_err(|_| CliError::usage(format!("invalid --method '{}'", args.method)))?;
    let uri =
        TargetUri::parse(&args.url).map_err(|e| CliError::usage(format!("invalid --url: {e}")))?;
    let issued_at = match args.iat {
        Some(secs) => UnixTime::from_secs(secs),
        None => system_now()?,
    };
    let mut random_id = [0u8; ProofId::RANDOM_LEN];
    let id = match &args.jti {
        Some(jti) => ProofId::new(jti).map_err(|_| CliError::usage("invalid --jti"))?,
        None => {
            ProofId::random(&mut os_rng(), &mut random_id).map_err(|e| create_error(e, None))?
        }
    };

    let mut proof = NewProof::new(method, uri, id, issued_at);
    if let Some(nonce) = &args.nonce {
        proof = proof.with_nonce(nonce);
    }
    if let Some((token, _)) = &access_token {
        proof = proof.with_access_token(token);
    }
    let token_source = access_token.as_ref().map(|(_, source)| *source);
    let jws = proof
        .encode_to_string(&key)
        .map_err(|e| create_error(e, token_source))?;
    print_line(&jws)?;
    Ok(ExitCode::SUCCESS)
}

/// A value the user gave that cannot be sent is a usage error; anything else is a failure.
/// An access token is named by where it came from, never shown.
fn create_error(e: CreateError, token: Option<TokenSource>) -> CliError {
    match e {
        CreateError::InvalidAccessToken => CliError::usage(format!(
            "the access token from {}: {e}",
            token.map_or("the command line", TokenSource::name)
        )),
        CreateError::InvalidNonce => CliError::usage(format!("--nonce: {e}")),
        CreateError::TooLarge(_) | CreateError::Uri(_) => CliError::usage(e),
        _ => CliError::runtime(format!("cannot create the proof: {e}")),
    }
}
