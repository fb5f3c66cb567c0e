//! `proof_claims`: fuzzes the header and claim checks behind the signature.
//!
//! The verifier is given TEST-ONLY algorithms ([`FakeAlgorithm`]) that accept exactly one
//! signature value per algorithm (every byte `0x01`), as rustls-fuzzing-provider does for TLS.
//! The fuzzer then writes the two JSON documents itself and reaches every check of RFC 9449
//! section 4.3 after the signature, which it could never reach with real ECDSA.
//!
//! Input layout (raw, so the seeds are readable JSON and libFuzzer's mutators and dictionary
//! work on the documents directly):
//!
//! ```text
//! [flags: 1 byte] [header JSON] 0xFF [payload JSON]
//! ```
//!
//! 0xFF never occurs in UTF-8, so it never splits a valid document. The flags pick the request
//! context and the verifier policy, see [`Flags`]. When the proof verifies, it is re-read
//! independently ([`crate::oracle::check_verified`]): jti non-empty, iat in the window, htm
//! equal to the expected method, and so on.

use std::cell::RefCell;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::{
    Algorithm, Limits, PublicJwk, SignatureCheckError, Thumbprint, Verifier,
    crypto::VerifyAlgorithm,
};

use crate::fixtures::{CONTEXTS, key, rfc_jwk};
use crate::oracle::check_verified;

/// The one signature byte value the fake algorithms accept.
pub const GOOD_SIGNATURE_BYTE: u8 = 0x01;

/// A test-only verifier: accepts exactly the signature of `signature_len` bytes `0x01`, and
/// checks that dpop-core calls it the way the [`VerifyAlgorithm`] contract says.
#[derive(Debug)]
pub struct FakeAlgorithm(pub Algorithm);

thread_local! {
    /// The `header.payload` the current proof was built from.
    static SIGNING_INPUT: RefCell<String> = const { RefCell::new(String::new()) };
}

impl VerifyAlgorithm for FakeAlgorithm {
    fn algorithm(&self) -> Algorithm {
        self.0
    }

    fn verify(
        &self,
        key: &PublicJwk,
        signing_input: &[&[u8]],
        signature: &[u8],
    ) -> Result<(), SignatureCheckError> {
        // The verifier hands over only keys of the algorithm's curve (the point is not checked
        // here: these fake algorithms have no curve arithmetic).
        assert_eq!(key.curve(), self.0.curve(), "key of another curve");
        // The signature covers exactly the received `header.payload`.
        let input: Vec<u8> = signing_input.concat();
        SIGNING_INPUT.with(|want| {
            assert_eq!(input, want.borrow().as_bytes(), "wrong signing input");
        });
        let good = signature.len() == self.0.signature_len()
            && signature.iter().all(|b| *b == GOOD_SIGNATURE_BYTE);
        if good {
            Ok(())
        } else {
            Err(SignatureCheckError::InvalidSignature)
        }
    }
}

static FAKE_ES256: FakeAlgorithm = FakeAlgorithm(Algorithm::Es256);
static FAKE_ES384: FakeAlgorithm = FakeAlgorithm(Algorithm::Es384);
static FAKE_ES512: FakeAlgorithm = FakeAlgorithm(Algorithm::Es512);
/// The fake verifiers, one per algorithm.
pub static FAKES: [&dyn VerifyAlgorithm; 3] = [&FAKE_ES256, &FAKE_ES384, &FAKE_ES512];

/// The flags byte.
///
/// | bits | meaning |
/// |---|---|
/// | 0-1 | request context: index into [`CONTEXTS`] |
/// | 2-3 | signature: 0, 1, 2 = the good one for ES256, ES384, ES512; 3 = a wrong one |
/// | 4 | require the RFC example key (`cnf.jkt`) |
/// | 5 | require the fixed ES256 key (`cnf.jkt`); bit 4 wins |
/// | 6 | tight limits: proof 1024, jti 16, nonce 16 bytes |
/// | 7 | no tolerance: `max_age` 0 and `leeway` 0 |
#[derive(Clone, Copy, Debug)]
pub struct Flags(pub u8);

impl Flags {
    /// Builds the flags byte.
    #[must_use]
    pub const fn new(context: u8, signature: u8) -> Self {
        Self((context & 3) | ((signature & 3) << 2))
    }

    fn bit(self, n: u8) -> bool {
        self.0 & (1 << n) != 0
    }

    fn signature(self) -> Vec<u8> {
        match (self.0 >> 2) & 3 {
            0 => vec![GOOD_SIGNATURE_BYTE; 64],
            1 => vec![GOOD_SIGNATURE_BYTE; 96],
            2 => vec![GOOD_SIGNATURE_BYTE; 132],
            _ => vec![GOOD_SIGNATURE_BYTE.wrapping_add(1); 64],
        }
    }
}

/// Builds a target input from its parts (for seeds and tests).
#[must_use]
pub fn input(flags: Flags, header: &str, payload: &str) -> Vec<u8> {
    let mut data = vec![flags.0];
    data.extend_from_slice(header.as_bytes());
    data.push(0xFF);
    data.extend_from_slice(payload.as_bytes());
    data
}

/// The target.
pub fn run(data: &[u8]) {
    let _ = verifies(data);
}

/// Runs the target; true when the proof verified.
pub fn verifies(data: &[u8]) -> bool {
    let Some((&flags, rest)) = data.split_first() else {
        return false;
    };
    let flags = Flags(flags);
    let (header, payload) = match rest.iter().position(|b| *b == 0xFF) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let signing_input = format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(header),
        Base64UrlUnpadded::encode_string(payload)
    );
    let proof = format!(
        "{signing_input}.{}",
        Base64UrlUnpadded::encode_string(&flags.signature())
    );
    SIGNING_INPUT.with(|s| *s.borrow_mut() = signing_input);

    let ctx = &CONTEXTS[usize::from(flags.0 & 3)];
    let bound: Option<Thumbprint> = if flags.bit(4) {
        Some(rfc_jwk().thumbprint())
    } else if flags.bit(5) {
        Some(key(Algorithm::Es256).public_jwk().thumbprint())
    } else {
        None
    };
    let mut verifier = Verifier::new(&FAKES);
    if flags.bit(6) {
        verifier =
            verifier.with_limits(Limits::DEFAULT.with_proof(1024).with_jti(16).with_nonce(16));
    }
    if flags.bit(7) {
        verifier = verifier.with_max_age(0).with_leeway(0);
    }

    match verifier.verify(&proof, &ctx.expected(bound.as_ref()), ctx.now()) {
        Ok(verified) => {
            check_verified(&proof, ctx, bound.as_ref(), &verifier, &verified);
            let limits = verifier.limits();
            assert!(proof.len() <= limits.proof, "proof limit");
            assert!(verified.id().len() <= limits.jti, "jti limit");
            assert!(
                verified.nonce().is_none_or(|n| n.len() <= limits.nonce),
                "nonce limit"
            );
            true
        }
        Err(e) => {
            let _ = e.error_code();
            let _ = e.name();
            assert!(!e.to_string().is_empty());
            false
        }
    }
}
