//! Every limit at the limit and one past it, and the order of work: a counting
//! `VerifyAlgorithm` shows, without timing, that oversized and structurally invalid proofs never
//! reach signature verification, and that a well-formed proof reaches it exactly once.
//!
//! | limit | value | at the limit | one past it |
//! |---|---|---|---|
//! | proof ([`Limits::proof`]) | 8192 bytes | verifies | `TooLarge(Proof)`, 0 signatures |
//! | `jti` ([`Limits::jti`]) | 256 bytes, decoded | verifies | `TooLarge(Jti)`, 1 signature |
//! | `nonce` ([`Limits::nonce`]) | 512 bytes, decoded | verifies | `TooLarge(Nonce)`, 1 signature |
//! | `htu` ([`MAX_URI_LEN`]) | 2048 bytes, decoded | verifies | `TooLarge(Htu)`, 1 signature |
//! | JSON depth | 16, header and payload | verifies | `Malformed(Nesting)`, 0 signatures |
//! | JSON members | 64 per object | verifies | `Malformed(Nesting)`, 0 signatures |
//! | `htm` ([`MAX_METHOD_LEN`]) | 32 bytes | verifies | cannot be expected: `Mismatch(Htm)` |
//!
//! The claim limits (`jti`, `nonce`, `htu`) are checked after the signature (RFC 9449 section
//! 4.3 order: signature, then claims), so a validly signed proof with an oversized claim costs
//! one signature verification; its size is bounded by the proof limit, which is checked first.

use core::sync::atomic::{AtomicUsize, Ordering};

use dpop_core::{
    Algorithm,
    crypto::VerifyAlgorithm,
    crypto::rustcrypto::{ES256_VERIFIER, ES384_VERIFIER},
};
use dpop_core::{
    Claim, Expected, JwkError, Limit, Limits, Malformed, SignatureCheckError, Verifier,
    VerifyError, consts::MAX_PROOF_LEN,
};
use dpop_core::{
    HttpMethod,
    consts::{MAX_JTI_LEN, MAX_METHOD_LEN, MAX_NONCE_LEN},
};
use dpop_core::{PublicJwk, UnixTime};
use dpop_core::{TargetUri, UriError, consts::MAX_URI_LEN};

use crate::common::{ATH, NOW, TOKEN, URL, b64, header_for, jwk_json, key, sign_raw};

/// ES256 through the public trait, counting the signatures it is asked to verify.
#[derive(Debug, Default)]
struct Counting {
    calls: AtomicUsize,
}

impl VerifyAlgorithm for Counting {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }

    fn verify(
        &self,
        key: &PublicJwk,
        signing_input: &[&[u8]],
        signature: &[u8],
    ) -> Result<(), SignatureCheckError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        ES256_VERIFIER.verify(key, signing_input, signature)
    }
}

/// What a request expects; by default GET [`URL`] with no nonce and no access token.
#[derive(Clone, Copy)]
struct Req<'a> {
    method: &'a str,
    url: &'a str,
    nonce: Option<&'a str>,
    token: Option<&'a str>,
    limits: Limits,
}

const GET: Req<'static> = Req {
    method: "GET",
    url: URL,
    nonce: None,
    token: None,
    limits: Limits::DEFAULT,
};

/// Verifies with a fresh counting ES256 verifier; returns the outcome and how many signatures
/// were verified.
fn run(proof: &str, req: Req<'_>) -> (Result<(), VerifyError>, usize) {
    let counting = Counting::default();
    let accepted: [&dyn VerifyAlgorithm; 1] = [&counting];
    let verifier = Verifier::new(&accepted).with_limits(req.limits);
    let mut expected = Expected::new(
        HttpMethod::parse(req.method).unwrap(),
        TargetUri::parse(req.url).unwrap(),
    );
    if let Some(nonce) = req.nonce {
        expected = expected.with_nonce(nonce);
    }
    if let Some(token) = req.token {
        expected = expected.with_access_token(token);
    }
    let result = verifier
        .verify(proof, &expected, UnixTime::from_secs(NOW))
        .map(|_| ());
    (result, counting.calls.load(Ordering::SeqCst))
}

fn es256_header() -> String {
    header_for(&key(Algorithm::Es256))
}

/// An ES256 proof with the default header and these claims.
fn signed(payload: &str) -> String {
    sign_raw(&key(Algorithm::Es256), &es256_header(), payload)
}

/// Claims valid for [`GET`]: `jti`, `htm`, `htu`, `iat` and `extra` members (comma first).
fn claims(extra: &str) -> String {
    format!(r#"{{"jti":"j-1","htm":"GET","htu":"{URL}","iat":{NOW}{extra}}}"#)
}

/// `n` members `"m0":0, "m1":0, ...`, each preceded by a comma.
fn members(n: usize) -> String {
    (0..n).map(|i| format!(r#","m{i}":0"#)).collect()
}

/// A valid ES256 proof for [`GET`] of exactly `total` bytes: the payload carries a padding
/// claim, and the header a `kid` where the base64url lengths need it.
fn proof_of_len(total: usize) -> String {
    let k = key(Algorithm::Es256);
    let jwk = jwk_json(&k);
    let encoded = |n: usize| n / 3 * 4 + [0, 2, 3][n % 3];
    for kid in 0..4 {
        let header = if kid == 0 {
            es256_header()
        } else {
            format!(
                r#"{{"typ":"dpop+jwt","alg":"ES256","kid":"{}","jwk":{jwk}}}"#,
                "k".repeat(kid)
            )
        };
        let fixed = encoded(header.len()) + 2 + encoded(64);
        let base = claims(r#","pad":"""#).len();
        for pad in 0..total {
            let len = encoded(base + pad);
            if fixed + len == total {
                let proof = sign_raw(
                    &k,
                    &header,
                    &claims(&format!(r#","pad":"{}""#, "p".repeat(pad))),
                );
                assert_eq!(proof.len(), total);
                return proof;
            }
            if fixed + len > total {
                break;
            }
        }
    }
    unreachable!("some kid length gives every total");
}

#[test]
fn a_well_formed_proof_is_verified_exactly_once() {
    assert_eq!(run(&signed(&claims("")), GET), (Ok(()), 1));
    // One verification per proof, whatever else the verifier accepts.
    let counting = Counting::default();
    let accepted: [&dyn VerifyAlgorithm; 2] = [ES384_VERIFIER, &counting];
    let verifier = Verifier::new(&accepted);
    let expected = Expected::new(HttpMethod::GET, TargetUri::parse(URL).unwrap());
    for n in 1..=3 {
        assert!(
            verifier
                .verify(&signed(&claims("")), &expected, UnixTime::from_secs(NOW))
                .is_ok()
        );
        assert_eq!(counting.calls.load(Ordering::SeqCst), n);
    }
}

#[test]
fn proof_size_at_and_past_the_limit() {
    // The hard maximum: a valid proof of exactly 8192 bytes verifies; one byte more is refused
    // for its size alone, before any decoding or signature work.
    let at = proof_of_len(MAX_PROOF_LEN);
    assert_eq!(run(&at, GET), (Ok(()), 1));
    let past = proof_of_len(MAX_PROOF_LEN + 1);
    assert_eq!(
        run(&past, GET),
        (Err(VerifyError::TooLarge(Limit::Proof)), 0)
    );
    // Size wins over every other defect: 8193 bytes that are not even base64url.
    let junk = "!".repeat(MAX_PROOF_LEN + 1);
    assert_eq!(
        run(&junk, GET),
        (Err(VerifyError::TooLarge(Limit::Proof)), 0)
    );
    // A configured limit, and the clamp to the hard maximum.
    for limit in [600, 1000, 4096] {
        let req = Req {
            limits: Limits::DEFAULT.with_proof(limit),
            ..GET
        };
        assert_eq!(run(&proof_of_len(limit), req), (Ok(()), 1), "{limit}");
        assert_eq!(
            run(&proof_of_len(limit + 1), req),
            (Err(VerifyError::TooLarge(Limit::Proof)), 0),
            "{limit}"
        );
    }
    assert_eq!(Limits::DEFAULT.with_proof(usize::MAX).proof, MAX_PROOF_LEN);
    let clamped = Req {
        limits: Limits::DEFAULT.with_proof(MAX_PROOF_LEN * 4),
        ..GET
    };
    assert_eq!(
        run(&past, clamped),
        (Err(VerifyError::TooLarge(Limit::Proof)), 0)
    );
}

#[test]
fn jti_at_and_past_the_limit() {
    let jti = |text: &str| {
        signed(&format!(
            r#"{{"jti":"{text}","htm":"GET","htu":"{URL}","iat":{NOW}}}"#
        ))
    };
    assert_eq!(MAX_JTI_LEN, 256);
    assert_eq!(run(&jti(&"j".repeat(256)), GET), (Ok(()), 1));
    assert_eq!(
        run(&jti(&"j".repeat(257)), GET),
        (Err(VerifyError::TooLarge(Limit::Jti)), 1)
    );
    // The limit is on the decoded text: 256 escaped characters are 256, not 1536 bytes.
    assert_eq!(run(&jti(&r"\u006a".repeat(256)), GET), (Ok(()), 1));
    assert_eq!(
        run(&jti(&r"\u006a".repeat(257)), GET),
        (Err(VerifyError::TooLarge(Limit::Jti)), 1)
    );
    // Multi-byte UTF-8 counts in bytes: 128 x 2 bytes is at the limit.
    assert_eq!(run(&jti(&"é".repeat(128)), GET), (Ok(()), 1));
    assert_eq!(
        run(&jti(&format!("{}j", "é".repeat(128))), GET),
        (Err(VerifyError::TooLarge(Limit::Jti)), 1)
    );
    // A configured limit, and the clamp.
    let tight = Req {
        limits: Limits::DEFAULT.with_jti(16),
        ..GET
    };
    assert_eq!(run(&jti(&"j".repeat(16)), tight), (Ok(()), 1));
    assert_eq!(
        run(&jti(&"j".repeat(17)), tight),
        (Err(VerifyError::TooLarge(Limit::Jti)), 1)
    );
    assert_eq!(Limits::DEFAULT.with_jti(10_000).jti, MAX_JTI_LEN);
}

#[test]
fn nonce_at_and_past_the_limit() {
    assert_eq!(MAX_NONCE_LEN, 512);
    let at = "n".repeat(512);
    let past = "n".repeat(513);
    let with_nonce = |n: &str| signed(&claims(&format!(r#","nonce":"{n}""#)));
    let expecting_at = Req {
        nonce: Some(&at),
        ..GET
    };
    assert_eq!(run(&with_nonce(&at), expecting_at), (Ok(()), 1));
    assert_eq!(
        run(&with_nonce(&past), expecting_at),
        (Err(VerifyError::TooLarge(Limit::Nonce)), 1)
    );
    // An oversized nonce is refused even where none is expected.
    assert_eq!(
        run(&with_nonce(&past), GET),
        (Err(VerifyError::TooLarge(Limit::Nonce)), 1)
    );
    let tight = Req {
        nonce: Some("12345678"),
        limits: Limits::DEFAULT.with_nonce(8),
        ..GET
    };
    assert_eq!(run(&with_nonce("12345678"), tight), (Ok(()), 1));
    assert_eq!(
        run(&with_nonce("123456789"), tight),
        (Err(VerifyError::TooLarge(Limit::Nonce)), 1)
    );
    assert_eq!(Limits::DEFAULT.with_nonce(10_000).nonce, MAX_NONCE_LEN);
}

#[test]
fn htu_at_and_past_the_limit() {
    assert_eq!(MAX_URI_LEN, 2048);
    let base = "https://api.example.com/";
    let at = format!("{base}{}", "a".repeat(MAX_URI_LEN - base.len()));
    let past = format!("{at}a");
    assert_eq!(at.len(), 2048);
    assert!(TargetUri::parse(&at).is_ok());
    assert_eq!(TargetUri::parse(&past).unwrap_err(), UriError::TooLong);
    let with_htu = |htu: &str| {
        signed(&format!(
            r#"{{"jti":"j","htm":"GET","htu":"{htu}","iat":{NOW}}}"#
        ))
    };
    let req = Req { url: &at, ..GET };
    assert_eq!(run(&with_htu(&at), req), (Ok(()), 1));
    assert_eq!(
        run(&with_htu(&past), req),
        (Err(VerifyError::TooLarge(Limit::Htu)), 1)
    );
    // Decoded length again: an escaped slash is one byte.
    let escaped = at.replacen('/', r"\/", 3);
    assert_eq!(run(&with_htu(&escaped), req), (Ok(()), 1));
}

#[test]
fn json_depth_at_and_past_the_limit() {
    // The top-level object is depth 1, so 15 nested arrays reach 16.
    let nested = |depth: usize| {
        format!(
            r#","x":{}1{}"#,
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    };
    let nested_objects = |depth: usize| {
        format!(
            r#","x":{}1{}"#,
            r#"{"a":"#.repeat(depth - 1),
            "}".repeat(depth - 1)
        )
    };
    for make in [nested, nested_objects] {
        assert_eq!(run(&signed(&claims(&make(16))), GET), (Ok(()), 1));
        assert_eq!(
            run(&signed(&claims(&make(17))), GET),
            (Err(VerifyError::Malformed(Malformed::Nesting)), 0)
        );
        // In the header too (which holds the jwk at depth 2).
        let header = |extra: String| {
            es256_header().replacen(r#""alg":"ES256""#, &format!(r#""alg":"ES256"{extra}"#), 1)
        };
        let k = key(Algorithm::Es256);
        assert_eq!(
            run(&sign_raw(&k, &header(make(16)), &claims("")), GET),
            (Ok(()), 1)
        );
        assert_eq!(
            run(&sign_raw(&k, &header(make(17)), &claims("")), GET),
            (Err(VerifyError::Malformed(Malformed::Nesting)), 0)
        );
    }
}

#[test]
fn json_members_at_and_past_the_limit() {
    let k = key(Algorithm::Es256);
    let jwk = jwk_json(&k);
    // Payload: 4 claims + 60 = 64 members.
    assert_eq!(run(&signed(&claims(&members(60))), GET), (Ok(()), 1));
    assert_eq!(
        run(&signed(&claims(&members(61))), GET),
        (Err(VerifyError::Malformed(Malformed::Nesting)), 0)
    );
    // Header: typ, alg, jwk + 61 = 64.
    let header = |n: usize| {
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}{}}}"#,
            members(n)
        )
    };
    assert_eq!(
        run(&sign_raw(&k, &header(61), &claims("")), GET),
        (Ok(()), 1)
    );
    assert_eq!(
        run(&sign_raw(&k, &header(62), &claims("")), GET),
        (Err(VerifyError::Malformed(Malformed::Nesting)), 0)
    );
    // The jwk object: crv, kty, x, y + 60 = 64 (other members are ignored).
    let jwk_with = |n: usize| {
        let extra = members(n);
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#,
            jwk.replacen('}', &format!("{extra}}}"), 1)
        )
    };
    assert_eq!(
        run(&sign_raw(&k, &jwk_with(60), &claims("")), GET),
        (Ok(()), 1)
    );
    assert_eq!(
        run(&sign_raw(&k, &jwk_with(61), &claims("")), GET),
        (Err(VerifyError::Malformed(Malformed::Nesting)), 0)
    );
    // Array elements are not members: a long array is bounded by the proof size only.
    let long_array = format!(r#","x":[{}0]"#, "0,".repeat(1000));
    assert_eq!(run(&signed(&claims(&long_array)), GET), (Ok(()), 1));
}

#[test]
fn method_at_and_past_the_limit() {
    assert_eq!(MAX_METHOD_LEN, 32);
    let at = "M".repeat(32);
    let past = "M".repeat(33);
    assert!(HttpMethod::parse(&at).is_ok());
    assert!(HttpMethod::parse(&past).is_err());
    let with_htm = |m: &str| {
        signed(&format!(
            r#"{{"jti":"j","htm":"{m}","htu":"{URL}","iat":{NOW}}}"#
        ))
    };
    let req = Req { method: &at, ..GET };
    assert_eq!(run(&with_htm(&at), req), (Ok(()), 1));
    // A 33-byte method can never be expected, so a proof claiming one matches no request.
    assert_eq!(
        run(&with_htm(&past), req),
        (Err(VerifyError::Mismatch(Claim::Htm)), 1)
    );
    assert_eq!(
        run(&with_htm(&past), GET),
        (Err(VerifyError::Mismatch(Claim::Htm)), 1)
    );
}

#[test]
fn structurally_invalid_proofs_never_reach_the_signature() {
    let k = key(Algorithm::Es256);
    let jwk = jwk_json(&k);
    let good = signed(&claims(""));
    let (h, rest) = good.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let sig: Vec<u8> = <base64ct::Base64UrlUnpadded as base64ct::Encoding>::decode_vec(s).unwrap();
    let with_header = |header: String| sign_raw(&k, &header, &claims(""));
    let p384 = key(Algorithm::Es384);
    let mut bad_trailing_bits = s.to_string();
    let last = bad_trailing_bits.pop().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    bad_trailing_bits.push(char::from(
        alphabet.as_bytes()[alphabet.find(last).unwrap() ^ 1],
    ));
    let cases: Vec<(&str, String, VerifyError)> = vec![
        (
            "empty",
            String::new(),
            VerifyError::Malformed(Malformed::Segments),
        ),
        (
            "two segments",
            format!("{h}.{p}"),
            VerifyError::Malformed(Malformed::Segments),
        ),
        (
            "four segments",
            format!("{h}.{p}.{s}.{s}"),
            VerifyError::Malformed(Malformed::Segments),
        ),
        (
            "empty payload",
            format!("{h}..{s}"),
            VerifyError::Malformed(Malformed::Segments),
        ),
        (
            "empty signature",
            format!("{h}.{p}."),
            VerifyError::Malformed(Malformed::Segments),
        ),
        (
            "JWS JSON serialization",
            format!(r#"{{"protected":"{h}","payload":"{p}","signature":"{s}"}}"#),
            VerifyError::Malformed(Malformed::JwsJsonSerialization),
        ),
        (
            "padded header",
            format!("{h}=.{p}.{s}"),
            VerifyError::Malformed(Malformed::Base64),
        ),
        (
            "base64, not base64url",
            format!("{}.{p}.{s}", h.replacen('e', "+", 1)),
            VerifyError::Malformed(Malformed::Base64),
        ),
        (
            "non-canonical signature bits",
            format!("{h}.{p}.{bad_trailing_bits}"),
            VerifyError::Malformed(Malformed::Base64),
        ),
        (
            "header not JSON",
            format!("{}.{p}.{s}", b64(b"typ=dpop+jwt")),
            VerifyError::Malformed(Malformed::Json),
        ),
        (
            "header not an object",
            format!("{}.{p}.{s}", b64(b"[1]")),
            VerifyError::Malformed(Malformed::NotAnObject),
        ),
        (
            "header not UTF-8",
            format!("{}.{p}.{s}", b64(b"{\"typ\":\"\xff\"}")),
            VerifyError::Malformed(Malformed::Utf8),
        ),
        (
            "duplicate header member",
            with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":{jwk}}}"#
            )),
            VerifyError::Malformed(Malformed::DuplicateMember),
        ),
        (
            "payload not JSON",
            sign_raw(&k, &es256_header(), "jti=1"),
            VerifyError::Malformed(Malformed::Json),
        ),
        (
            "duplicate claim",
            signed(&claims(r#","jti":"j-2""#)),
            VerifyError::Malformed(Malformed::DuplicateMember),
        ),
        (
            "typ missing",
            with_header(format!(r#"{{"alg":"ES256","jwk":{jwk}}}"#)),
            VerifyError::Missing(Claim::Typ),
        ),
        (
            "typ JWT",
            with_header(format!(r#"{{"typ":"JWT","alg":"ES256","jwk":{jwk}}}"#)),
            VerifyError::Invalid(Claim::Typ),
        ),
        (
            "crit",
            with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"ES256","crit":["b64"],"b64":false,"jwk":{jwk}}}"#
            )),
            VerifyError::CriticalHeader,
        ),
        (
            "alg missing",
            with_header(format!(r#"{{"typ":"dpop+jwt","jwk":{jwk}}}"#)),
            VerifyError::Missing(Claim::Alg),
        ),
        (
            "alg none",
            with_header(format!(r#"{{"typ":"dpop+jwt","alg":"none","jwk":{jwk}}}"#)),
            VerifyError::UnsupportedAlgorithm,
        ),
        (
            "alg HS256",
            with_header(format!(r#"{{"typ":"dpop+jwt","alg":"HS256","jwk":{jwk}}}"#)),
            VerifyError::UnsupportedAlgorithm,
        ),
        // ES384 is a real algorithm, but not in this verifier's list.
        (
            "alg not in the allow-list",
            sign_raw(&p384, &header_for(&p384), &claims("")),
            VerifyError::UnsupportedAlgorithm,
        ),
        (
            "alg of another curve",
            with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#,
                jwk_json(&p384)
            )),
            VerifyError::AlgorithmMismatch,
        ),
        (
            "jwk missing",
            with_header(r#"{"typ":"dpop+jwt","alg":"ES256"}"#.to_owned()),
            VerifyError::Missing(Claim::Jwk),
        ),
        (
            "jwk private",
            with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#,
                jwk.replacen('}', r#","d":"AAAA"}"#, 1)
            )),
            VerifyError::Jwk(JwkError::PrivateMember),
        ),
        (
            "jwk RSA",
            with_header(
                r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}"#
                    .to_owned(),
            ),
            VerifyError::Jwk(JwkError::UnsupportedKeyType),
        ),
        (
            "jwk coordinate too short",
            with_header(format!(
                concat!(
                    r#"{{"typ":"dpop+jwt","alg":"ES256","#,
                    r#""jwk":{{"kty":"EC","crv":"P-256","x":"{z}","y":"{z}"}}}}"#
                ),
                z = "A".repeat(42)
            )),
            VerifyError::Jwk(JwkError::CoordinateLength(dpop_core::JwkMember::X)),
        ),
        (
            "signature one byte short",
            format!("{h}.{p}.{}", b64(&sig[..63])),
            VerifyError::InvalidSignature,
        ),
        (
            "signature one byte long",
            format!("{h}.{p}.{}", b64(&[&sig[..], &[0]].concat())),
            VerifyError::InvalidSignature,
        ),
        (
            "signature of another curve's size",
            format!("{h}.{p}.{}", b64(&[0x42; 96])),
            VerifyError::InvalidSignature,
        ),
    ];
    for (name, proof, error) in cases {
        assert_eq!(run(&proof, GET), (Err(error), 0), "{name}");
    }
    // The point check is the backend's (a `PublicJwk` is structural only): a key that is not
    // on its curve reaches the verifier once, which rejects it before any signature arithmetic,
    // with the precise error.
    let off_curve = with_header(format!(
        concat!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","#,
            r#""jwk":{{"kty":"EC","crv":"P-256","x":"{z}","y":"{z}"}}}}"#
        ),
        z = "A".repeat(43)
    ));
    assert_eq!(
        run(&off_curve, GET),
        (Err(VerifyError::Jwk(JwkError::NotOnCurve)), 1),
        "jwk not on the curve"
    );
}

#[test]
fn failures_after_the_signature_cost_exactly_one_verification() {
    let good = signed(&claims(""));
    let (input, s) = good.rsplit_once('.').unwrap();
    let mut sig: Vec<u8> =
        <base64ct::Base64UrlUnpadded as base64ct::Encoding>::decode_vec(s).unwrap();
    sig[10] ^= 1;
    let (h, _) = input.split_once('.').unwrap();
    let with_token = Req {
        token: Some(TOKEN),
        ..GET
    };
    let cases: Vec<(&str, String, Req<'_>, VerifyError)> = vec![
        (
            "signature bit flipped",
            format!("{input}.{}", b64(&sig)),
            GET,
            VerifyError::InvalidSignature,
        ),
        (
            "signature zero",
            format!("{input}.{}", b64(&[0; 64])),
            GET,
            VerifyError::InvalidSignature,
        ),
        (
            "payload changed after signing",
            format!("{h}.{}.{s}", b64(claims(r#","x":1"#).as_bytes())),
            GET,
            VerifyError::InvalidSignature,
        ),
        (
            "jti missing",
            signed(&format!(r#"{{"htm":"GET","htu":"{URL}","iat":{NOW}}}"#)),
            GET,
            VerifyError::Missing(Claim::Jti),
        ),
        (
            "htm wrong",
            signed(&claims("").replace("\"GET\"", "\"PUT\"")),
            GET,
            VerifyError::Mismatch(Claim::Htm),
        ),
        (
            "htu wrong",
            signed(&claims("").replace("/items", "/other")),
            GET,
            VerifyError::Mismatch(Claim::Htu),
        ),
        (
            "ath missing",
            signed(&claims("")),
            with_token,
            VerifyError::Missing(Claim::Ath),
        ),
        (
            "ath wrong",
            signed(&claims(&format!(r#","ath":"{}""#, ATH.replace('f', "g")))),
            with_token,
            VerifyError::Mismatch(Claim::Ath),
        ),
    ];
    for (name, proof, req, error) in cases {
        assert_eq!(run(&proof, req), (Err(error), 1), "{name}");
    }
    // The baseline with an access token verifies.
    assert_eq!(
        run(&signed(&claims(&format!(r#","ath":"{ATH}""#))), with_token),
        (Ok(()), 1)
    );
}
