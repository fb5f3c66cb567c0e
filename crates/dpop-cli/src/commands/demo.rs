//! `dpop demo`: a walk-through on the console, in two parts.
//!
//! 1. Keys, proofs and verification with dpop-core alone.
//! 2. The platform flow over HTTP: a local server on 127.0.0.1 (a free port) built with
//!    dpop-axum ([`platform`]) and a client built with dpop-reqwest ([`flow`]): sign-in with an
//!    API key (Bearer without a proof, DPoP-bound with one), the protected resource, replay,
//!    downgrade and key-substitution refusals, a nonce round, and refresh.
//!
//! Every step prints its outcome, `ok:` when it is the expected one (a rejection where a
//! rejection is expected) and `FAILED:` otherwise. The command exits 0 only when every outcome
//! is the expected one. It uses the system clock and the OS CSPRNG.

mod flow;
mod platform;
mod signin;

use std::process::ExitCode;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::{
    Algorithm, Expected, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, UnixTime, Verifier,
    VerifyError, crypto::rustcrypto::ALL_VERIFIERS,
};

use crate::error::{CliError, FAILURE};
use crate::input::{os_rng, print_line, system_now};

/// The token endpoint of RFC 9449 section 5.
const TOKEN_URL: &str = "https://server.example.com/token";
/// The protected resource of RFC 9449 section 7.
const RESOURCE_URL: &str = "https://resource.example.org/protectedresource";
/// The access token of RFC 9449 section 7.1.
const ACCESS_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";

/// Runs the walk-through.
///
/// # Errors
///
/// A runtime error when the clock cannot be read or stdout cannot be written. Steps that do
/// not behave as expected are reported on stdout and make the exit status 1.
pub(crate) fn run() -> Result<ExitCode, CliError> {
    let mut demo = Walkthrough::default();
    offline(&mut demo)?;
    platform_flow(&mut demo)?;
    demo.finish()
}

/// Part 2: the server and the client, over HTTP on the loopback interface.
///
/// # Errors
///
/// A runtime error when stdout cannot be written. A server that cannot start is a failed
/// outcome.
fn platform_flow(demo: &mut Walkthrough) -> Result<(), CliError> {
    print_line("\nPart 2: the platform flow over HTTP (dpop-axum server, dpop-reqwest client)")?;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return demo.outcome(false, &format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(e) => return demo.outcome(false, &format!("cannot listen on 127.0.0.1: {e}")),
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(e) => return demo.outcome(false, &format!("no local address: {e}")),
        };
        let app = match platform::router(addr) {
            Ok(app) => app,
            Err(e) => return demo.outcome(false, &format!("cannot build the server: {e}")),
        };
        // The server runs until the runtime is dropped at the end of the flow.
        drop(tokio::spawn(
            async move { axum::serve(listener, app).await },
        ));
        print_line(&format!("server listening on http://{addr}"))?;
        flow::run(demo, &format!("http://{addr}")).await
    })
}

/// Part 1: keys, proofs and verification, without a network.
///
/// # Errors
///
/// A runtime error when the clock cannot be read or stdout cannot be written.
fn offline(demo: &mut Walkthrough) -> Result<(), CliError> {
    let now = system_now()?;
    print_line("DPoP walk-through (RFC 9449)")?;
    print_line("\nPart 1: keys, proofs and verification (dpop-core)")?;

    demo.step("Keys, one per curve, with their RFC 7638 thumbprints (jkt)")?;
    let mut keys = Vec::new();
    for algorithm in Algorithm::ALL {
        match SigningKey::generate(algorithm, &mut os_rng()) {
            Ok(key) => {
                let jkt = key.public_jwk().thumbprint();
                demo.outcome(
                    true,
                    &format!(
                        "{} ({}) jkt {jkt}",
                        algorithm.name(),
                        algorithm.curve().name()
                    ),
                )?;
                keys.push(key);
            }
            Err(e) => demo.outcome(
                false,
                &format!("{}: cannot generate: {e}", algorithm.name()),
            )?,
        }
    }

    demo.step(&format!(
        "Token request proofs, POST {TOKEN_URL}, one per key"
    ))?;
    for key in &keys {
        let name = key.algorithm().name();
        let outcome = sign(key, "POST", TOKEN_URL, now, None).and_then(|proof| {
            let expected = Expected::new(HttpMethod::POST, parse_uri(TOKEN_URL)?);
            verify(&proof, &expected, now)
        });
        match outcome {
            Ok(summary) => demo.outcome(true, &format!("{name} proof verified: {summary}"))?,
            Err(e) => demo.outcome(false, &format!("{name} proof rejected: {e}"))?,
        }
    }

    let Some(key) = keys.first() else {
        return demo.outcome(false, "no key to continue with");
    };
    let jkt = key.public_jwk().thumbprint();
    demo.step(&format!("Resource request, GET {RESOURCE_URL}"))?;
    demo.note(&format!(
        "access token bound to cnf.jkt {jkt}, its hash sent as ath"
    ))?;
    let resource_proof = sign(key, "GET", RESOURCE_URL, now, Some(ACCESS_TOKEN));
    let outcome = resource_proof
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|proof| {
            let expected = Expected::new(HttpMethod::GET, parse_uri(RESOURCE_URL)?)
                .with_access_token(ACCESS_TOKEN)
                .with_bound_key(&jkt);
            verify(proof, &expected, now)
        });
    match outcome {
        Ok(summary) => {
            demo.outcome(true, &format!("verified with ath and cnf.jkt: {summary}"))?;
        }
        Err(e) => demo.outcome(false, &format!("rejected: {e}"))?,
    }

    demo.step("Tampered proof: htm changed from GET to PUT after signing")?;
    let tampered = resource_proof.and_then(|proof| tamper(&proof));
    let outcome = tampered.and_then(|proof| {
        let expected = Expected::new(
            HttpMethod::parse("PUT").map_err(|e| e.to_string())?,
            parse_uri(RESOURCE_URL)?,
        )
        .with_access_token(ACCESS_TOKEN)
        .with_bound_key(&jkt);
        Ok(verify_error(&proof, &expected, now))
    });
    match outcome {
        Ok(Some(e @ VerifyError::InvalidSignature)) => {
            demo.outcome(true, &format!("rejected as expected: {} ({e})", e.name()))?;
        }
        Ok(Some(e)) => demo.outcome(
            false,
            &format!("rejected for the wrong reason: {} ({e})", e.name()),
        )?,
        Ok(None) => demo.outcome(false, "the tampered proof was accepted")?,
        Err(e) => demo.outcome(false, &e)?,
    }
    Ok(())
}

/// Counts steps and unexpected outcomes.
#[derive(Debug, Default)]
struct Walkthrough {
    steps: usize,
    failures: usize,
}

impl Walkthrough {
    /// Starts the next numbered step.
    fn step(&mut self, title: &str) -> Result<(), CliError> {
        self.steps += 1;
        print_line(&format!("\n{}. {title}", self.steps))
    }

    /// Prints a detail of the current step.
    fn note(&self, text: &str) -> Result<(), CliError> {
        print_line(&format!("   {text}"))
    }

    /// Prints one outcome of the current step.
    fn outcome(&mut self, expected: bool, text: &str) -> Result<(), CliError> {
        if !expected {
            self.failures += 1;
        }
        print_line(&format!(
            "   {} {text}",
            if expected { "ok:" } else { "FAILED:" }
        ))
    }

    /// Prints the summary and returns the exit status.
    fn finish(self) -> Result<ExitCode, CliError> {
        if self.failures == 0 {
            print_line(&format!("\nall {} steps behaved as expected", self.steps))?;
            Ok(ExitCode::SUCCESS)
        } else {
            print_line(&format!(
                "\n{} outcome(s) were not the expected ones",
                self.failures
            ))?;
            Ok(ExitCode::from(FAILURE))
        }
    }
}

fn parse_uri(url: &str) -> Result<TargetUri<'_>, String> {
    TargetUri::parse(url).map_err(|e| e.to_string())
}

/// Signs a proof with a random `jti`, issued `now`.
fn sign(
    key: &SigningKey,
    method: &str,
    url: &str,
    now: UnixTime,
    access_token: Option<&str>,
) -> Result<String, String> {
    let method = HttpMethod::parse(method).map_err(|e| e.to_string())?;
    let mut id = [0u8; ProofId::RANDOM_LEN];
    let id = ProofId::random(&mut os_rng(), &mut id).map_err(|e| e.to_string())?;
    let mut proof = NewProof::new(method, parse_uri(url)?, id, now);
    if let Some(token) = access_token {
        proof = proof.with_access_token(token);
    }
    proof
        .encode_to_string(key)
        .map_err(|e| format!("cannot sign: {e}"))
}

/// Verifies with every algorithm accepted; a short summary of the proof, or why it failed.
fn verify(proof: &str, expected: &Expected<'_>, now: UnixTime) -> Result<String, String> {
    match Verifier::new(ALL_VERIFIERS).verify(proof, expected, now) {
        Ok(verified) => Ok(format!(
            "alg {}, jti {}, iat {}, {} bytes",
            verified.algorithm().name(),
            verified.id(),
            verified.issued_at(),
            proof.len()
        )),
        Err(e) => Err(format!("{} ({e})", e.name())),
    }
}

/// The error verification returns, or `None` when the proof is accepted.
fn verify_error(proof: &str, expected: &Expected<'_>, now: UnixTime) -> Option<VerifyError> {
    Verifier::new(ALL_VERIFIERS)
        .verify(proof, expected, now)
        .err()
}

/// Rewrites `"htm":"GET"` to `"htm":"PUT"` in the payload, keeping header and signature.
fn tamper(proof: &str) -> Result<String, String> {
    let mut segments = proof.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err("the proof is not three segments".to_owned());
    };
    let claims = Base64UrlUnpadded::decode_vec(payload)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or("the payload is not base64url text")?;
    let changed = claims.replace(r#""htm":"GET""#, r#""htm":"PUT""#);
    if changed == claims {
        return Err("the payload has no \"htm\":\"GET\" to change".to_owned());
    }
    let payload = Base64UrlUnpadded::encode_string(changed.as_bytes());
    Ok(format!("{header}.{payload}.{signature}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampering_keeps_header_and_signature() {
        let payload = Base64UrlUnpadded::encode_string(br#"{"htm":"GET"}"#);
        let tampered = tamper(&format!("h.{payload}.s")).unwrap();
        let expected = Base64UrlUnpadded::encode_string(br#"{"htm":"PUT"}"#);
        assert_eq!(tampered, format!("h.{expected}.s"));
        assert!(tamper("h.e30.s").is_err());
        assert!(tamper("h.e30").is_err());
    }
}
