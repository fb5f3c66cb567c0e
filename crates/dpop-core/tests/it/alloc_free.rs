//! Creating into a buffer and verifying allocate nothing: a counting global allocator
//! (`allocation-counter`, per thread) counts the allocations of each call.

use dpop_core::{
    Algorithm, Expected, HttpMethod, NewProof, ProofId, TargetUri, UnixTime, Verifier,
    crypto::rustcrypto::ALL_VERIFIERS,
};

use crate::common::{NOW, key};

/// Runs `f`, returning its result and the number of heap allocations it made on this thread.
fn count<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let mut out = None;
    let info = allocation_counter::measure(|| out = Some(f()));
    (out.expect("closure ran"), info.count_total)
}

#[test]
fn the_counter_counts() {
    // Guards against a vacuous pass: the counting allocator must be installed.
    let (_, n) = count(|| std::hint::black_box(Box::new(7u32)));
    assert_eq!(n, 1);
}

#[test]
fn create_and_verify_allocate_nothing() {
    for alg in Algorithm::ALL {
        let k = key(alg);
        let uri = TargetUri::parse("https://api.example.com/v1/items?x=1").unwrap();
        let mut buf = [0u8; 4096];
        let (jws, created) = count(|| {
            NewProof::new(
                HttpMethod::GET,
                uri,
                ProofId::new("jti-1").unwrap(),
                UnixTime::from_secs(NOW),
            )
            .with_access_token("token")
            .with_nonce("nonce")
            .encode(&k, &mut buf)
            .map(str::len)
        });
        let len = jws.unwrap();
        assert_eq!(created, 0, "{alg:?} creation allocated");
        let proof = std::str::from_utf8(&buf[..len]).unwrap();
        let jkt = k.public_jwk().thumbprint();
        let (verified, allocations) = count(|| {
            let e = Expected::new(HttpMethod::GET, uri)
                .with_access_token("token")
                .with_nonce("nonce")
                .with_bound_key(&jkt);
            Verifier::new(ALL_VERIFIERS)
                .verify(proof, &e, UnixTime::from_secs(NOW))
                .is_ok()
        });
        assert!(verified);
        assert_eq!(allocations, 0, "{alg:?} verification allocated");
        // rejections allocate nothing either
        let (rejected, allocations) = count(|| {
            let e = Expected::new(HttpMethod::POST, uri);
            Verifier::new(ALL_VERIFIERS)
                .verify(proof, &e, UnixTime::from_secs(NOW))
                .is_err()
        });
        assert!(rejected);
        assert_eq!(allocations, 0);
    }
}
