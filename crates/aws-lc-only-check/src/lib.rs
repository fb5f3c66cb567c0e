//! No code: the tests in `tests/` create and verify DPoP proofs with the aws-lc-rs backend,
//! with dpop-core built without any RustCrypto curve feature (see `Cargo.toml`).
