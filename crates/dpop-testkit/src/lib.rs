//! Fixtures shared by the workspace's tests and benchmarks: test keys, proofs made with
//! dpop-core's creation API, `http` requests, a signer that counts its signatures, and a
//! `block_on` for futures that are ready at once. Not published; used as a dev-dependency.
//!
//! Every function panics on a broken fixture (an invalid method, URL or `jti` written in a
//! test): in test code that is the error report.

use core::future::Future;
use core::pin::pin;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll, Waker};
use std::sync::Arc;

use dpop_core::crypto::ProofSigner;
use dpop_core::{
    Algorithm, HttpMethod, NewProof, ProofId, PublicJwk, SignError, SigningKey, TargetUri,
    Thumbprint, UnixTime,
};
use http::Request;

/// The time the fixtures are made at, in seconds since the epoch (2023-11-14T22:13:20Z).
pub const NOW: u64 = 1_700_000_000;

/// The ES256 test key whose private scalar is 32 bytes of `seed`.
///
/// # Panics
///
/// For seed 0 (not a valid scalar).
#[must_use]
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(Algorithm::Es256, &[seed; 32]).expect("a nonzero seed is a valid key")
}

/// The RFC 7638 thumbprint of `key` (the `jkt` a token is bound to).
#[must_use]
pub fn jkt(key: &SigningKey) -> Thumbprint {
    key.public_jwk().thumbprint()
}

/// A proof made with dpop-core's creation API: method, URL and `jti`, issued at [`NOW`] unless
/// [`iat`](Self::iat) says otherwise, with an optional access token (`ath`) and nonce.
#[derive(Clone, Copy, Debug)]
#[must_use]
pub struct TestProof<'a> {
    key: &'a SigningKey,
    method: &'a str,
    url: &'a str,
    jti: &'a str,
    iat: u64,
    token: Option<&'a str>,
    nonce: Option<&'a str>,
}

impl<'a> TestProof<'a> {
    /// A proof of `key` for `method` and `url` with identifier `jti`, issued at [`NOW`].
    pub const fn new(key: &'a SigningKey, method: &'a str, url: &'a str, jti: &'a str) -> Self {
        Self {
            key,
            method,
            url,
            jti,
            iat: NOW,
            token: None,
            nonce: None,
        }
    }

    /// Binds the proof to `token` (`ath`).
    pub const fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    /// Carries `nonce`.
    pub const fn nonce(mut self, nonce: &'a str) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Issued at `iat` seconds since the epoch.
    pub const fn iat(mut self, iat: u64) -> Self {
        self.iat = iat;
        self
    }

    /// The compact JWS.
    ///
    /// # Panics
    ///
    /// When the method, URL or `jti` is not one dpop-core accepts.
    #[must_use]
    pub fn build(&self) -> String {
        let mut proof = NewProof::new(
            HttpMethod::parse(self.method).expect("fixture method is valid"),
            TargetUri::parse(self.url).expect("fixture URL is valid"),
            ProofId::new(self.jti).expect("fixture jti is valid"),
            UnixTime::from_secs(self.iat),
        );
        if let Some(token) = self.token {
            proof = proof.with_access_token(token);
        }
        if let Some(nonce) = self.nonce {
            proof = proof.with_nonce(nonce);
        }
        proof
            .encode_to_string(self.key)
            .expect("a fixture proof encodes")
    }
}

/// A request with `method`, `uri` and `headers`, and an empty body.
///
/// # Panics
///
/// When a part is not valid HTTP.
#[must_use]
pub fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).expect("fixture request is valid HTTP")
}

/// Polls `future` to completion on this thread, yielding between polls: for futures that are
/// ready at once or soon (the in-memory replay cache), without a runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// A [`ProofSigner`] that counts its signatures in a shared counter, around any other signer:
/// tests and benchmarks check with it that one request makes exactly one signature.
#[derive(Debug)]
pub struct CountingSigner<S> {
    inner: S,
    count: Arc<AtomicUsize>,
}

impl<S: ProofSigner> CountingSigner<S> {
    /// `inner`, adding one to `count` per signature.
    pub fn new(inner: S, count: &Arc<AtomicUsize>) -> Self {
        Self {
            inner,
            count: Arc::clone(count),
        }
    }
}

impl<S: ProofSigner> ProofSigner for CountingSigner<S> {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }

    fn public_jwk(&self) -> &PublicJwk {
        self.inner.public_jwk()
    }

    fn try_sign(&self, signing_input: &[&[u8]], out: &mut [u8]) -> Result<usize, SignError> {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.inner.try_sign(signing_input, out)
    }
}
