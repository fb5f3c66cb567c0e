//! DPoP proofs (RFC 9449 section 4): creation and verification.
//!
//! A proof is a compact JWS whose header carries `typ: dpop+jwt`, `alg` and the public `jwk`, and
//! whose payload carries `jti`, `htm`, `htu`, `iat`, and when applicable `ath` and `nonce`.

pub mod create;
pub mod verify;

pub use create::NewProof;
pub use verify::{
    Expected, Limits, NonceContext, NonceValidator, ReplayKey, VerifiedProof, Verifier,
};

/// The `typ` header value of every DPoP proof (RFC 9449 section 4.2).
pub const TYPE: &str = "dpop+jwt";

/// Hard upper bound of [`Limits::proof`]: the largest proof any verifier accepts. Decoding uses
/// a stack buffer of this size, so no verification allocates.
pub const MAX_PROOF_LEN: usize = 8192;
