//! `thumbprint/ALG`: the RFC 7638 JWK thumbprint (`jkt`) of the fixture key: canonical JSON,
//! SHA-256, as dpop-core computes it during every verification.

#[path = "common.rs"]
mod common;

use std::hint::black_box;

use criterion::BenchmarkId;
use dpop_core::Algorithm;

fn main() {
    let mut c = common::criterion();
    let mut group = c.benchmark_group("thumbprint");
    for alg in Algorithm::ALL {
        let f = common::fixture(alg);
        let jwk = *f.rust_key.public_jwk();
        assert_eq!(jwk.thumbprint(), f.jkt);
        group.bench_function(BenchmarkId::from_parameter(alg.name()), |b| {
            b.iter(|| black_box(&jwk).thumbprint());
        });
    }
    group.finish();
    c.final_summary();
}
