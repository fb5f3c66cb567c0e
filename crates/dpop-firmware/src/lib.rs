//! The portable part of the firmware, built in CI for targets QEMU does not run here
//! (`riscv32imc-unknown-none-elf`, `wasm32-unknown-unknown`): key generation from the caller's
//! random source, proof creation and device-limits verification, all without an allocator.
//! Functions are not generic, so a library build compiles every path of dpop-core they use.

#![no_std]

use core::fmt;

use dpop_core::{
    Algorithm, Expected, HttpMethod, Limits, NewProof, ProofId, SigningKey, TargetUri, UnixTime,
    Verifier,
    crypto::{VerifyAlgorithm, rustcrypto},
};

/// The algorithms this build accepts, named one by one: ES256 always, ES384 and ES512 with
/// their features.
const ACCEPTED: &[&dyn VerifyAlgorithm] = &[
    rustcrypto::ES256_VERIFIER,
    #[cfg(feature = "es384")]
    rustcrypto::ES384_VERIFIER,
    #[cfg(feature = "es512")]
    rustcrypto::ES512_VERIFIER,
];

/// A random source given as a function that fills a buffer (a hardware TRNG driver, say) and
/// returns false when it fails.
#[derive(Clone, Copy, Debug)]
pub struct FillRng(pub fn(&mut [u8]) -> bool);

/// The random source failed.
#[derive(Clone, Copy, Debug)]
pub struct RngFailed;

impl fmt::Display for RngFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the random source failed")
    }
}

impl core::error::Error for RngFailed {}

impl rand_core::TryRng for FillRng {
    type Error = RngFailed;

    fn try_next_u32(&mut self) -> Result<u32, RngFailed> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, RngFailed> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RngFailed> {
        if (self.0)(dst) {
            Ok(())
        } else {
            Err(RngFailed)
        }
    }
}

/// The caller vouches that the function is a cryptographically secure source.
impl rand_core::TryCryptoRng for FillRng {}

/// Draws a fresh key from `rng` and writes a proof for `GET uri` at `now` into `out`.
pub fn proof_with_fresh_key<'b>(
    alg: Algorithm,
    rng: &mut FillRng,
    uri: &str,
    now: u64,
    out: &'b mut [u8],
) -> Option<&'b str> {
    let key = SigningKey::generate(alg, rng).ok()?;
    let uri = TargetUri::parse(uri).ok()?;
    let id = ProofId::new("device-1").ok()?;
    NewProof::new(HttpMethod::GET, uri, id, UnixTime::from_secs(now))
        .encode(&key, out)
        .ok()
}

/// Verifies `proof` for `GET uri` at `now` with [`Limits::DEVICE`] and caller scratch.
pub fn verify_on_device(proof: &str, uri: &str, now: u64, scratch: &mut [u8]) -> bool {
    let Ok(uri) = TargetUri::parse(uri) else {
        return false;
    };
    Verifier::new(ACCEPTED)
        .with_limits(Limits::DEVICE)
        .verify_with_scratch(
            proof,
            &Expected::new(HttpMethod::GET, uri),
            UnixTime::from_secs(now),
            scratch,
        )
        .is_ok()
}
