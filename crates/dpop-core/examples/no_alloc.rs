//! Creates and verifies a DPoP proof with no allocator: caller buffers only, and `?` into the
//! one umbrella [`dpop_core::Error`].
//!
//! ```text
//! cargo run -p dpop-core --example no_alloc
//! ```
//!
//! The example counts the heap allocations of the whole flow (a counting global allocator, as
//! the crate's tests use) and fails if there is a single one.

use dpop_core::crypto::rustcrypto;
use dpop_core::{
    Algorithm, Error, Expected, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, UnixTime,
    Verifier,
};

/// The whole flow of one request: the client signs a proof, the server verifies it.
fn create_and_verify(proof_buf: &mut [u8]) -> Result<usize, Error> {
    // Client: a key (from a CSPRNG with `SigningKey::generate` in practice) and a proof.
    let key = SigningKey::from_bytes(Algorithm::Es256, &[42u8; 32])?;
    let now = UnixTime::from_secs(1_700_000_000);
    let uri = TargetUri::parse("https://api.example.com/orders?page=2")?;
    let proof = NewProof::new(HttpMethod::GET, uri, ProofId::new("6b9f0e1c")?, now)
        .with_access_token("eyJhbGciOiJFUzI1NiJ9.e30.sig")
        .encode(&key, proof_buf)?;

    // Server: the algorithms it accepts, named with their backend; the request it received.
    let verifier = Verifier::new(&[rustcrypto::ES256_VERIFIER]);
    let bound_key = key.public_jwk().thumbprint(); // the access token's `cnf.jkt`
    let expected = Expected::new(
        HttpMethod::GET,
        TargetUri::parse("https://api.example.com/orders")?,
    )
    .with_access_token("eyJhbGciOiJFUzI1NiJ9.e30.sig")
    .with_bound_key(&bound_key);
    let verified = verifier.verify(proof, &expected, now)?;
    assert_eq!(verified.thumbprint(), &bound_key);

    // The same proof for another method is rejected, with a precise error.
    let wrong = Expected::new(HttpMethod::POST, uri);
    match verifier.verify(proof, &wrong, now) {
        Err(err) => assert_eq!(Error::from(err).name(), "htm_mismatch"),
        Ok(_) => panic!("a proof for GET verified for POST"),
    }
    Ok(proof.len())
}

fn main() -> Result<(), Error> {
    let mut buf = [0u8; 1024];
    let mut result = None;
    let allocations = allocation_counter::measure(|| result = Some(create_and_verify(&mut buf)));
    let len = result.expect("the flow ran")?;
    assert_eq!(allocations.count_total, 0, "the flow allocated");
    println!("created and verified a {len}-byte proof with 0 heap allocations");
    Ok(())
}
