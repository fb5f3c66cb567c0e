//! `proof_verify`: arbitrary bytes as a proof, verified with the real algorithms (all three)
//! against each known request context.
//!
//! Must never panic, and must never accept a proof we did not sign: the fuzzer cannot forge
//! ECDSA, so an accepted proof has to carry the signing input (`header.payload`) of one of the
//! known valid proofs. (Not necessarily the same bytes: ECDSA signatures are malleable, `(r, s)`
//! and `(r, n - s)` both verify, which is why replay detection keys on `jti`.) An accepted proof
//! is then re-read independently ([`crate::oracle::check_verified`]).

use dpop_core::{Claim, Limit, Verifier, VerifyError, crypto::rustcrypto::ALL_VERIFIERS};

use crate::fixtures::{CONTEXTS, known_proofs, signing_input};
use crate::oracle::check_verified;

/// The target.
pub fn run(data: &[u8]) {
    let _ = accepted(data);
}

/// Runs the target; true when the proof was accepted for some context.
pub fn accepted(data: &[u8]) -> bool {
    let mut accepted = false;
    // Invalid UTF-8 is mapped to U+FFFD, so such inputs still exercise the verifier.
    let proof = String::from_utf8_lossy(data);
    let verifier = Verifier::new(ALL_VERIFIERS);
    for ctx in &CONTEXTS {
        match verifier.verify(&proof, &ctx.expected(None), ctx.now()) {
            Ok(verified) => {
                let input = signing_input(&proof);
                assert!(
                    known_proofs().iter().any(|k| k.signing_input() == input),
                    "accepted a proof we did not sign: {proof:?}"
                );
                check_verified(&proof, ctx, None, &verifier, &verified);
                accepted = true;
            }
            Err(e) => {
                // Neither may panic, nor echo the proof.
                let _ = e.error_code();
                let message = e.to_string();
                assert!(!message.is_empty());
                // Errors from before the claim checks do not depend on the context.
                if !depends_on_context(e) {
                    break;
                }
            }
        }
    }
    accepted
}

/// True for the errors of RFC 9449 section 4.3 checks that run after the signature and may
/// pass with another request context.
fn depends_on_context(e: VerifyError) -> bool {
    match e {
        VerifyError::Missing(c) | VerifyError::Invalid(c) | VerifyError::Mismatch(c) => matches!(
            c,
            Claim::Jti
                | Claim::Htm
                | Claim::Htu
                | Claim::Iat
                | Claim::Exp
                | Claim::Nonce
                | Claim::Ath
        ),
        VerifyError::TooLarge(l) => l != Limit::Proof,
        VerifyError::IssuedInFuture { .. }
        | VerifyError::TooOld { .. }
        | VerifyError::Expired { .. }
        | VerifyError::NonceInvalid
        | VerifyError::NonceRequired
        | VerifyError::BoundKeyMismatch => true,
        _ => false,
    }
}
