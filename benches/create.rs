//! Creation benchmarks, in one binary:
//!
//! - `raw_sign/ALG/BACKEND`: the floor, the backend's bare ECDSA signature of the fixture's
//!   signing input with the key already loaded (RustCrypto: deterministic RFC 6979; aws-lc-rs:
//!   random nonce);
//! - `core_create/ALG/BACKEND`: `NewProof::encode` of the same claims into a caller buffer:
//!   header with the JWK, payload with `ath` (SHA-256 of a 1000-byte token), base64url, the
//!   signature; signed by dpop-core's `SigningKey` or `AwsLcSigningKey`.

#![allow(
    clippy::unwrap_used,
    reason = "benchmark code: a broken fixture should stop the run"
)]

#[path = "common.rs"]
mod common;

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair,
};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};
use dpop_core::{Algorithm, UnixTime, crypto::ProofSigner};

use common::{CpuTime, Fixture, NOW, Paired, fixture, new_proof, scalar};

fn main() {
    let mut c = common::criterion();
    let fixtures = Algorithm::ALL.map(fixture);
    raw_sign(&mut c, &fixtures);
    core_create(&mut c, &fixtures);
    c.final_summary();
    paired(&fixtures);
}

macro_rules! rustcrypto_raw {
    ($group:expr, $f:expr, $krate:ident) => {{
        use $krate::ecdsa::signature::{Signer as _, Verifier as _};
        let key = $krate::ecdsa::SigningKey::from_slice(&scalar($f.alg)).unwrap();
        let message = &$f.signing_input[..];
        let signature: $krate::ecdsa::Signature = key.sign(message);
        // Deterministic: the same signature as in the fixture proof.
        assert_eq!(&signature.to_bytes()[..], &$f.signature[..]);
        assert!(key.verifying_key().verify(message, &signature).is_ok());
        $group.bench_function(BenchmarkId::new($f.alg.name(), "rustcrypto"), |b| {
            b.iter(|| -> $krate::ecdsa::Signature { key.sign(black_box(message)) });
        });
    }};
}

/// The aws-lc-rs key pair of the fixture's scalar.
fn aws_key_pair(f: &Fixture) -> EcdsaKeyPair {
    let signing = [
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &ECDSA_P384_SHA384_FIXED_SIGNING,
        &ECDSA_P521_SHA512_FIXED_SIGNING,
    ][Algorithm::ALL.iter().position(|a| *a == f.alg).unwrap()];
    let jwk = f.rust_key.public_jwk();
    let point = [&[0x04][..], jwk.x(), jwk.y()].concat();
    EcdsaKeyPair::from_private_key_and_public_key(signing, &scalar(f.alg), &point).unwrap()
}

fn raw_sign(c: &mut Criterion<CpuTime>, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("raw_sign");
    for f in fixtures {
        match f.alg {
            Algorithm::Es256 => rustcrypto_raw!(&mut group, f, p256),
            Algorithm::Es384 => rustcrypto_raw!(&mut group, f, p384),
            _ => rustcrypto_raw!(&mut group, f, p521),
        }
        let pair = aws_key_pair(f);
        let rng = SystemRandom::new();
        let message = &f.signing_input[..];
        assert_eq!(
            pair.sign(&rng, message).unwrap().as_ref().len(),
            f.alg.signature_len()
        );
        group.bench_function(BenchmarkId::new(f.alg.name(), "aws-lc-rs"), |b| {
            b.iter(|| pair.sign(&rng, black_box(message)).unwrap());
        });
    }
    group.finish();
}

fn bench_create(
    group: &mut BenchmarkGroup<'_, CpuTime>,
    f: &Fixture,
    name: &str,
    signer: &dyn ProofSigner,
) {
    let proof = new_proof("e1j3V_bKic8-LAEB", UnixTime::from_secs(NOW), &f.token, None);
    let mut buf = vec![0u8; proof.max_len()];
    let jws = proof.encode(signer, &mut buf).unwrap();
    // Same claims, same header: the same signing input as the raw benchmarks.
    assert_eq!(
        jws.rsplit_once('.').unwrap().0.as_bytes(),
        &f.signing_input[..]
    );
    group.bench_function(BenchmarkId::new(f.alg.name(), name), |b| {
        b.iter(|| proof.encode(signer, black_box(&mut buf)).map(str::len));
    });
}

fn core_create(c: &mut Criterion<CpuTime>, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("core_create");
    for f in fixtures {
        bench_create(&mut group, f, "rustcrypto", &f.rust_key);
        bench_create(&mut group, f, "aws-lc-rs", &f.aws_key);
    }
    group.finish();
}

/// `core_create/raw_sign/ALG/BACKEND`, measured interleaved (see `common::Paired`).
fn paired(fixtures: &[Fixture]) {
    if !Paired::enabled() {
        return;
    }
    let mut paired = Paired::new("paired-create.json");
    for f in fixtures {
        let proof = new_proof("e1j3V_bKic8-LAEB", UnixTime::from_secs(NOW), &f.token, None);
        let mut buf = vec![0u8; proof.max_len()];
        let message = &f.signing_input[..];
        macro_rules! rustcrypto_pair {
            ($krate:ident) => {{
                use $krate::ecdsa::signature::Signer as _;
                let key = $krate::ecdsa::SigningKey::from_slice(&scalar(f.alg)).unwrap();
                paired.measure(
                    &format!("core_create/raw_sign/{}/rustcrypto", f.alg.name()),
                    || {
                        let s: $krate::ecdsa::Signature = key.sign(black_box(message));
                        black_box(s);
                    },
                    || {
                        black_box(proof.encode(&f.rust_key, black_box(&mut buf)).map(str::len))
                            .unwrap();
                    },
                );
            }};
        }
        match f.alg {
            Algorithm::Es256 => rustcrypto_pair!(p256),
            Algorithm::Es384 => rustcrypto_pair!(p384),
            _ => rustcrypto_pair!(p521),
        }
        let pair = aws_key_pair(f);
        let rng = SystemRandom::new();
        paired.measure(
            &format!("core_create/raw_sign/{}/aws-lc-rs", f.alg.name()),
            || {
                black_box(pair.sign(&rng, black_box(message)).unwrap());
            },
            || {
                black_box(proof.encode(&f.aws_key, black_box(&mut buf)).map(str::len)).unwrap();
            },
        );
    }
    paired.write();
}
