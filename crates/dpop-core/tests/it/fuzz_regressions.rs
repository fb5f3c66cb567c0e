//! Bugs found by the fuzz targets in `fuzz/`, one test each, named after the finding. The
//! minimized fuzz input is in `fuzz/regressions/<target>/<name>`; these tests reproduce the bug
//! through the public API, without the fuzz harness.

use dpop_core::{
    Algorithm, Expected, HttpMethod, NewProof, ProofId, TargetUri, UnixTime, UriError, Verifier,
    crypto::rustcrypto::ALL_VERIFIERS,
};

use crate::common::key;

/// `create_verify`, `fuzz/regressions/create_verify/iat-above-i64-max`: `NewProof` wrote any
/// `u64` as `iat`, but `Verifier` read `iat` through `i64`, so a proof issued after `i64::MAX`
/// seconds was created without complaint and then rejected as `Invalid(Iat)` by the same crate,
/// at the very time it was issued. `Verifier` now reads a `u64`.
#[test]
fn proof_with_iat_above_i64_max_verifies() {
    let uri = TargetUri::parse("https://api.example.com/").unwrap();
    let k = key(Algorithm::Es256);
    let i64_max = i64::MAX.unsigned_abs();
    for secs in [i64_max, i64_max + 1, u64::MAX] {
        let issued_at = UnixTime::from_secs(secs);
        let proof = NewProof::new(HttpMethod::GET, uri, ProofId::new("j").unwrap(), issued_at)
            .encode_to_string(&k)
            .unwrap();
        let verified = Verifier::new(ALL_VERIFIERS)
            .verify(&proof, &Expected::new(HttpMethod::GET, uri), issued_at)
            .unwrap_or_else(|e| panic!("iat {secs}: {e:?}"));
        assert_eq!(verified.issued_at(), issued_at);
    }
}

/// `htu`, `fuzz/regressions/htu/too-long-before-query`: a path of 700 `|` (each written `%7C`,
/// so the canonical form is over `MAX_URI_LEN`) followed by `?`. `parse` said `TooLong`, but
/// `parse_claim` said `QueryOrFragment`, which it documents as the error of a URI otherwise
/// valid up to the `?`. Input errors now come first for claims too.
#[test]
fn claim_too_long_before_its_query_is_too_long() {
    let uri = format!("https://a/{}?", "|".repeat(700));
    assert_eq!(TargetUri::parse(&uri), Err(UriError::TooLong));
    assert_eq!(TargetUri::parse_claim(&uri), Err(UriError::TooLong));
    // Within the limit, the query is still what a claim is refused for.
    let short = format!("https://a/{}?", "|".repeat(600));
    assert!(TargetUri::parse(&short).is_ok());
    assert_eq!(
        TargetUri::parse_claim(&short),
        Err(UriError::QueryOrFragment)
    );
}
