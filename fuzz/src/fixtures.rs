//! Fixed keys, request contexts and the proofs known to be valid.
//!
//! Everything here is deterministic: the keys are fixed scalars and ECDSA signing is RFC 6979, so
//! the generated proofs (and the seeds made from them) are the same on every run.

use std::sync::OnceLock;

use dpop_core::{
    Algorithm, Expected, HttpMethod, NewProof, ProofId, PublicJwk, SigningKey, TargetUri,
    Thumbprint, UnixTime,
};

/// The RFC 9449 examples, as transcribed for dpop-core's own tests.
pub const RFC9449_VECTORS: &str =
    include_str!("../../crates/dpop-core/tests/vectors/rfc9449-examples.json");

/// The RFC 9449 example access token (section 7).
pub const RFC_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";

/// The time of the generated proofs' context.
pub const NOW: u64 = 1_700_000_000;

/// A server nonce (RFC 9449 section 8 syntax).
pub const NONCE: &str = "eyJ7S_zG.eyJH0-Z.HX4w-7v";

/// What one request expects of its proof.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// Request method.
    pub method: &'static str,
    /// Request URI as the server sees it: may be non-canonical and carry a query.
    pub uri: &'static str,
    /// The verifier's clock.
    pub now: u64,
    /// The access token sent with the request, checked against `ath`.
    pub access_token: Option<&'static str>,
    /// The nonce the server requires.
    pub nonce: Option<&'static str>,
}

/// The request contexts: the three RFC 9449 examples, then the one of the generated proofs.
pub const CONTEXTS: [Context; 4] = [
    // RFC 9449 section 4.1 (token request) ...
    Context {
        method: "POST",
        uri: "https://server.example.com/token",
        now: 1_562_262_621,
        access_token: None,
        nonce: None,
    },
    // ... section 5 (refresh request, same jti) ...
    Context {
        method: "POST",
        uri: "https://server.example.com/token",
        now: 1_562_265_301,
        access_token: None,
        nonce: None,
    },
    // ... and section 7 (resource request with `ath`).
    Context {
        method: "GET",
        uri: "https://resource.example.org/protectedresource",
        now: 1_562_262_623,
        access_token: Some(RFC_TOKEN),
        nonce: None,
    },
    // Generated proofs: a non-canonical request URI, a nonce and an access token.
    Context {
        method: "GET",
        uri: "HTTPS://API.Example.com:443/v1/%7eitems/./list?page=2#top",
        now: NOW,
        access_token: Some(RFC_TOKEN),
        nonce: Some(NONCE),
    },
];

/// Index of the generated proofs' context in [`CONTEXTS`].
pub const GENERATED_CONTEXT: usize = 3;

impl Context {
    /// The [`Expected`] of this context, optionally with a bound key.
    #[must_use]
    pub fn expected<'a>(&self, bound_key: Option<&'a Thumbprint>) -> Expected<'a> {
        let method = HttpMethod::parse(self.method).unwrap();
        let uri = TargetUri::parse(self.uri).unwrap();
        let mut expected = Expected::new(method, uri);
        if let Some(nonce) = self.nonce {
            expected = expected.with_nonce(nonce);
        }
        if let Some(token) = self.access_token {
            expected = expected.with_access_token(token);
        }
        if let Some(jkt) = bound_key {
            expected = expected.with_bound_key(jkt);
        }
        expected
    }

    /// The verifier's clock.
    #[must_use]
    pub const fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.now)
    }
}

/// The fixed signing key of `alg` (the same scalar pattern as dpop-core's integration tests).
#[must_use]
pub fn key(alg: Algorithm) -> &'static SigningKey {
    static KEYS: OnceLock<[SigningKey; 3]> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        Algorithm::ALL.map(|alg| {
            let mut scalar = vec![0x5Au8; alg.curve().coordinate_len()];
            scalar[0] = 0x01;
            SigningKey::from_bytes(alg, &scalar).unwrap()
        })
    });
    let index = Algorithm::ALL.iter().position(|a| *a == alg).unwrap();
    &keys[index]
}

/// One proof known to verify, with the index of its context in [`CONTEXTS`].
#[derive(Clone, Debug)]
pub struct KnownProof {
    /// A short name, used for seed file names.
    pub name: String,
    /// The compact JWS.
    pub proof: String,
    /// Index into [`CONTEXTS`].
    pub context: usize,
}

impl KnownProof {
    /// `header.payload`: what the signature covers.
    #[must_use]
    pub fn signing_input(&self) -> &str {
        signing_input(&self.proof)
    }
}

/// The part of a compact JWS before the last `.`.
#[must_use]
pub fn signing_input(proof: &str) -> &str {
    proof.rsplit_once('.').map_or(proof, |(input, _)| input)
}

/// The three RFC 9449 example proofs, then one generated proof per curve.
#[must_use]
pub fn known_proofs() -> &'static [KnownProof] {
    static PROOFS: OnceLock<Vec<KnownProof>> = OnceLock::new();
    PROOFS.get_or_init(|| {
        let vectors: serde_json::Value = serde_json::from_str(RFC9449_VECTORS).unwrap();
        let mut proofs: Vec<KnownProof> = vectors["proofs"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(context, p)| KnownProof {
                name: p["id"].as_str().unwrap().to_owned(),
                proof: p["proof"].as_str().unwrap().to_owned(),
                context,
            })
            .collect();
        assert_eq!(proofs.len(), 3, "the RFC has three example proofs");
        for alg in Algorithm::ALL {
            proofs.push(KnownProof {
                name: format!("generated-{}", alg.name().to_ascii_lowercase()),
                proof: generated_proof(alg),
                context: GENERATED_CONTEXT,
            });
        }
        proofs
    })
}

/// A proof for the generated context, signed with the fixed key of `alg`.
fn generated_proof(alg: Algorithm) -> String {
    let ctx = CONTEXTS[GENERATED_CONTEXT];
    let id = format!("fuzz-seed-{}", alg.name().to_ascii_lowercase());
    NewProof::new(
        HttpMethod::parse(ctx.method).unwrap(),
        TargetUri::parse(ctx.uri).unwrap(),
        ProofId::new(&id).unwrap(),
        UnixTime::from_secs(ctx.now - 5),
    )
    .with_nonce(NONCE)
    .with_access_token(RFC_TOKEN)
    .encode_to_string(key(alg))
    .unwrap()
}

/// The RFC 9449 example public key, as JSON (members in the RFC's order).
#[must_use]
pub fn rfc_jwk_json() -> String {
    let vectors: serde_json::Value = serde_json::from_str(RFC9449_VECTORS).unwrap();
    let key = &vectors["key"];
    format!(
        r#"{{"kty":"EC","x":{},"y":{},"crv":{}}}"#,
        key["x"], key["y"], key["crv"]
    )
}

/// The RFC 9449 example public key.
#[must_use]
pub fn rfc_jwk() -> &'static PublicJwk {
    static JWK: OnceLock<PublicJwk> = OnceLock::new();
    JWK.get_or_init(|| PublicJwk::from_json(rfc_jwk_json().as_bytes()).unwrap())
}
