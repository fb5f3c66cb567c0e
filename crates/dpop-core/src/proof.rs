//! DPoP proofs (RFC 9449 section 4): creation and verification.
//!
//! A proof is a compact JWS whose header carries `typ: dpop+jwt`, `alg` and the public `jwk`, and
//! whose payload carries `jti`, `htm`, `htu`, `iat`, and when applicable `ath` and `nonce`.

pub(crate) mod create;
pub(crate) mod verify;

/// The `typ` header value of every DPoP proof (RFC 9449 section 4.2).
pub const TYPE: &str = "dpop+jwt";

/// Hard upper bound of [`Limits::proof`](crate::Limits::proof): the largest proof any verifier accepts. Decoding uses
/// a stack buffer of this size, so no verification allocates.
pub const MAX_PROOF_LEN: usize = 8192;

#[cfg(test)]
#[cfg(any(feature = "es256", feature = "es384", feature = "es512"))]
mod tests {
    use crate::alg::Algorithm;
    use crate::claims::{HttpMethod, ProofId};
    use crate::crypto::rustcrypto::COMPILED_IN as ALL_COMPILED_IN;
    use crate::htu::TargetUri;
    use crate::key::SigningKey;
    use crate::time::UnixTime;

    use crate::{Expected, NewProof, Verifier};

    /// Whatever subset of algorithms is compiled in, each creates and verifies proofs into
    /// caller buffers (this runs in the per-feature CI builds, with and without `alloc`).
    #[test]
    fn each_compiled_in_algorithm_round_trips_without_alloc() {
        for verifier in ALL_COMPILED_IN {
            let alg: Algorithm = verifier.algorithm();
            let mut scalar = [0x42u8; 66];
            scalar[0] = 1;
            let key = SigningKey::from_bytes(alg, &scalar[..alg.curve().coordinate_len()]).unwrap();
            let uri = TargetUri::parse("https://api.example.com/r?x=1").unwrap();
            let now = UnixTime::from_secs(1_700_000_000);
            let mut buf = [0u8; 2048];
            let jws = NewProof::new(HttpMethod::GET, uri, ProofId::new("j").unwrap(), now)
                .with_access_token("t")
                .encode(&key, &mut buf)
                .unwrap();
            let jkt = key.public_jwk().thumbprint();
            let expected = Expected::new(HttpMethod::GET, uri)
                .with_access_token("t")
                .with_bound_key(&jkt);
            let verified = Verifier::new(ALL_COMPILED_IN)
                .verify(jws, &expected, now)
                .unwrap();
            assert_eq!(verified.algorithm(), alg);
            let wrong = Expected::new(HttpMethod::POST, uri);
            assert!(
                Verifier::new(ALL_COMPILED_IN)
                    .verify(jws, &wrong, now)
                    .is_err()
            );
        }
    }

    /// A hash computed once gives the very proof the token gives (signing is deterministic),
    /// and the later of the two setters wins.
    #[test]
    fn access_token_hash_makes_the_same_proof_as_the_token() {
        let verifier = ALL_COMPILED_IN[0];
        let alg: Algorithm = verifier.algorithm();
        let mut scalar = [0x42u8; 66];
        scalar[0] = 1;
        let key = SigningKey::from_bytes(alg, &scalar[..alg.curve().coordinate_len()]).unwrap();
        let uri = TargetUri::parse("https://api.example.com/r").unwrap();
        let now = UnixTime::from_secs(1_700_000_000);
        let base = NewProof::new(HttpMethod::GET, uri, ProofId::new("j").unwrap(), now);
        let (mut a, mut b, mut c, mut d) = ([0u8; 2048], [0u8; 2048], [0u8; 2048], [0u8; 2048]);
        let by_token = base.with_access_token("tok").encode(&key, &mut a).unwrap();
        let ath = crate::AccessTokenHash::of("tok");
        let by_hash = base
            .with_access_token_hash(ath)
            .encode(&key, &mut b)
            .unwrap();
        assert_eq!(by_token, by_hash);
        let replaced = base
            .with_access_token("other")
            .with_access_token_hash(ath)
            .encode(&key, &mut c)
            .unwrap();
        assert_eq!(replaced, by_token);
        let replaced = base
            .with_access_token_hash(crate::AccessTokenHash::of("other"))
            .with_access_token("tok")
            .encode(&key, &mut d)
            .unwrap();
        assert_eq!(replaced, by_token);
    }
}
