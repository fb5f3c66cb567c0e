//! Keys, dpop-core proofs, and proofs broken in exactly one way, shared by the peer tests.

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::{
    AccessTokenHash, Algorithm, Claim, Expected, HttpMethod, JwkError, Malformed, NewProof,
    ProofId, SigningKey, TargetUri, UnixTime, VerifiedProof, Verifier, VerifyError,
    consts::MAX_JWK_JSON_LEN,
    crypto::{ProofSigner, rustcrypto::ALL_VERIFIERS},
};

/// The issue time of dpop-core's proofs, and the verifiers' clock for them.
pub(crate) const NOW: u64 = 1_700_000_000;
pub(crate) const URL: &str = "https://api.example.com/v1/items";
/// The RFC 9449 section 7.1 example access token.
pub(crate) const TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
/// A server nonce (RFC 9449 section 8 syntax).
pub(crate) const NONCE: &str = "eyJ7S_zG.eyJH0-Z.HX4w-7v";

/// A fixed key: the scalar `01 seed seed ...` is below the group order of every curve.
pub(crate) fn key(alg: Algorithm, seed: u8) -> SigningKey {
    let mut scalar = vec![seed; alg.curve().coordinate_len()];
    scalar[0] = 0x01;
    SigningKey::from_bytes(alg, &scalar).unwrap()
}

/// A key whose scalar is `01 hi lo 5A 5A ...`, for `counter = hi lo`.
pub(crate) fn key_with_counter(alg: Algorithm, counter: u16) -> SigningKey {
    let mut scalar = vec![0x5A; alg.curve().coordinate_len()];
    scalar[0] = 0x01;
    scalar[1..3].copy_from_slice(&counter.to_be_bytes());
    SigningKey::from_bytes(alg, &scalar).unwrap()
}

/// [`key_with_counter`] arguments whose public x or y starts with a zero byte (for P-521, two
/// zero bytes: its first byte holds a single bit). Found by search; `leading_zero_keys_are_so`
/// checks them.
pub(crate) const LEADING_ZERO_KEYS: [(Algorithm, u16); 6] = [
    (Algorithm::Es256, 61),
    (Algorithm::Es256, 170),
    (Algorithm::Es384, 1058),
    (Algorithm::Es384, 132),
    (Algorithm::Es512, 330),
    (Algorithm::Es512, 2068),
];

pub(crate) fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

pub(crate) fn unb64(text: &str) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(text).unwrap()
}

pub(crate) fn jwk_json(key: &SigningKey) -> String {
    let mut buf = [0u8; MAX_JWK_JSON_LEN];
    key.public_jwk().write_json(&mut buf).unwrap().to_owned()
}

pub(crate) fn ath(token: &str) -> String {
    AccessTokenHash::of(token).to_string()
}

/// A proof made by dpop-core's creation API: GET [`URL`] at [`NOW`].
pub(crate) fn ours(
    key: &SigningKey,
    jti: &str,
    nonce: Option<&str>,
    token: Option<&str>,
) -> String {
    let uri = TargetUri::parse(URL).unwrap();
    let mut proof = NewProof::new(
        HttpMethod::GET,
        uri,
        ProofId::new(jti).unwrap(),
        UnixTime::from_secs(NOW),
    );
    if let Some(nonce) = nonce {
        proof = proof.with_nonce(nonce);
    }
    if let Some(token) = token {
        proof = proof.with_access_token(token);
    }
    proof.encode_to_string(key).unwrap()
}

/// What a request expects of its proof.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) url: &'a str,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) token: Option<&'a str>,
    pub(crate) now: u64,
}

impl Request<'static> {
    /// GET [`URL`] at [`NOW`], with the access token [`TOKEN`].
    pub(crate) const DEFAULT: Self = Self {
        method: "GET",
        url: URL,
        nonce: None,
        token: Some(TOKEN),
        now: NOW,
    };
}

/// Verifies with dpop-core, accepting ES256, ES384 and ES512.
pub(crate) fn verify_ours<'a>(
    proof: &str,
    request: &Request<'a>,
) -> Result<VerifiedProof<'a>, VerifyError> {
    let method = HttpMethod::parse(request.method).unwrap();
    let uri = TargetUri::parse(request.url).unwrap();
    let mut expected = Expected::new(method, uri);
    if let Some(nonce) = request.nonce {
        expected = expected.with_nonce(nonce);
    }
    if let Some(token) = request.token {
        expected = expected.with_access_token(token);
    }
    Verifier::new(ALL_VERIFIERS).verify(proof, &expected, UnixTime::from_secs(request.now))
}

/// Signs arbitrary header and payload text with `key`, so a proof can break one rule and keep
/// a valid signature.
pub(crate) fn sign_raw(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let mut sig = [0u8; 132];
    let n = key.try_sign(&[input.as_bytes()], &mut sig).unwrap();
    format!("{input}.{}", b64(&sig[..n]))
}

/// dpop-core's header for `key`.
pub(crate) fn header(key: &SigningKey) -> String {
    format!(
        r#"{{"typ":"dpop+jwt","alg":"{}","jwk":{}}}"#,
        key.algorithm().name(),
        jwk_json(key)
    )
}

/// A payload valid for [`Request::DEFAULT`], plus `extra` members (start it with a comma).
pub(crate) fn payload(extra: &str) -> String {
    format!(
        r#"{{"jti":"j-1","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{}"{extra}}}"#,
        ath(TOKEN)
    )
}

/// The group order of each curve, big-endian, full coordinate length.
fn order(alg: Algorithm) -> Vec<u8> {
    let hex = match alg {
        Algorithm::Es256 => "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
        Algorithm::Es384 => concat!(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
            "C7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973"
        ),
        Algorithm::Es512 => {
            concat!(
                "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA",
                "51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409"
            )
        }
        _ => unreachable!("a new algorithm needs its group order here"),
    };
    assert_eq!(hex.len(), 2 * alg.curve().coordinate_len());
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// The other valid encoding of the same ECDSA signature: `(r, n - s)`. Exactly one of the two
/// has `s > n / 2` ("high S").
pub(crate) fn other_s(proof: &str, alg: Algorithm) -> String {
    let (input, sig) = proof.rsplit_once('.').unwrap();
    let raw = unb64(sig);
    let half = raw.len() / 2;
    let n = order(alg);
    // n - s, big-endian, equal lengths (n > s)
    let mut s_neg = vec![0u8; half];
    let mut borrow = 0u16;
    for i in (0..half).rev() {
        let a = u16::from(n[i]);
        let b = u16::from(raw[half + i]) + borrow;
        let (d, next) = if a >= b { (a - b, 0) } else { (a + 256 - b, 1) };
        s_neg[i] = u8::try_from(d).unwrap();
        borrow = next;
    }
    assert_eq!(borrow, 0, "s must be below the group order");
    let mut flipped = raw[..half].to_vec();
    flipped.extend_from_slice(&s_neg);
    format!("{input}.{}", b64(&flipped))
}

/// What a peer does with a proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    Accepts,
    Rejects,
}

/// A proof broken in one way (or a valid proof in an unusual but legal form), what dpop-core
/// answers, and what a generic JWS verifier that knows nothing of DPoP claims answers.
#[derive(Debug)]
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) proof: String,
    pub(crate) ours: Result<(), VerifyError>,
    /// `jose`'s `jwtVerify(proof, EmbeddedJWK, {typ: 'dpop+jwt', algorithms})`.
    pub(crate) jose: Peer,
    /// `jsonwebtoken::decode` with the header's `jwk` and `Validation::new(alg)`; `None` where
    /// the case tests something jsonwebtoken does not look at (`typ`, private JWK members).
    pub(crate) jsonwebtoken: Option<Peer>,
}

/// Proofs signed by `key` that break one rule each: header, key, signature, or (valid JWS,
/// wrong DPoP claims) claims only a DPoP verifier checks. Valid for [`Request::DEFAULT`]
/// except for the one defect.
#[allow(clippy::too_many_lines, reason = "one table, one row per case")]
pub(crate) fn cases(key: &SigningKey) -> Vec<Case> {
    use Peer::{Accepts, Rejects};
    let alg = key.algorithm().name();
    let jwk = jwk_json(key);
    let good_header = header(key);
    let good = sign_raw(key, &good_header, &payload(""));
    let (h, rest) = good.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let with_header = |header: String| sign_raw(key, &header, &payload(""));
    let with_payload = |payload: String| sign_raw(key, &good_header, &payload);
    let mut flipped_sig = unb64(s);
    flipped_sig[3] ^= 0x01;
    let private_jwk = {
        let mut buf = [0u8; 320];
        key.write_private_jwk(&mut buf).unwrap().to_owned()
    };
    let other_alg = if alg == "ES256" { "ES384" } else { "ES256" };
    let jwk_value: serde_json::Value = serde_json::from_str(&jwk).unwrap();
    let off_curve = {
        let mut v = jwk_value.clone();
        let mut y = unb64(v["y"].as_str().unwrap());
        *y.last_mut().unwrap() ^= 0x01;
        v["y"] = b64(&y).into();
        v.to_string()
    };
    let jwk_with = |member: &str, value: serde_json::Value| {
        let mut v = jwk_value.clone();
        v[member] = value;
        v.to_string()
    };
    let sig_bytes = unb64(s);
    let der = der_signature(
        &sig_bytes[..sig_bytes.len() / 2],
        &sig_bytes[sig_bytes.len() / 2..],
    );

    let mut cases = vec![
        Case {
            name: "valid",
            proof: good.clone(),
            ours: Ok(()),
            jose: Accepts,
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "valid, other S of the same signature",
            proof: other_s(&good, key.algorithm()),
            ours: Ok(()),
            jose: Accepts,
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "valid, extra header and jwk members (kid)",
            proof: with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"{alg}","kid":"k1","jwk":{}}}"#,
                jwk_with("kid", "k1".into())
            )),
            ours: Ok(()),
            jose: Accepts,
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "typ JWT",
            proof: with_header(format!(r#"{{"typ":"JWT","alg":"{alg}","jwk":{jwk}}}"#)),
            ours: Err(VerifyError::Invalid(Claim::Typ)),
            jose: Rejects,
            jsonwebtoken: None,
        },
        Case {
            name: "typ missing",
            proof: with_header(format!(r#"{{"alg":"{alg}","jwk":{jwk}}}"#)),
            ours: Err(VerifyError::Missing(Claim::Typ)),
            jose: Rejects,
            jsonwebtoken: None,
        },
        Case {
            name: "alg none, signature kept",
            proof: format!(
                "{}.{p}.{s}",
                b64(format!(r#"{{"typ":"dpop+jwt","alg":"none","jwk":{jwk}}}"#).as_bytes())
            ),
            ours: Err(VerifyError::UnsupportedAlgorithm),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "alg none, empty signature",
            proof: format!(
                "{}.{p}.",
                b64(format!(r#"{{"typ":"dpop+jwt","alg":"none","jwk":{jwk}}}"#).as_bytes())
            ),
            ours: Err(VerifyError::Malformed(Malformed::Segments)),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "alg HS256 keyed with the public JWK text",
            proof: with_header(format!(r#"{{"typ":"dpop+jwt","alg":"HS256","jwk":{jwk}}}"#)),
            ours: Err(VerifyError::UnsupportedAlgorithm),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "alg of another curve than the jwk",
            proof: with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"{other_alg}","jwk":{jwk}}}"#
            )),
            ours: Err(VerifyError::AlgorithmMismatch),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "private jwk (member d)",
            proof: with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"{alg}","jwk":{private_jwk}}}"#
            )),
            ours: Err(VerifyError::Jwk(JwkError::PrivateMember)),
            jose: Rejects,
            jsonwebtoken: None,
        },
        Case {
            name: "jwk missing",
            proof: with_header(format!(r#"{{"typ":"dpop+jwt","alg":"{alg}"}}"#)),
            ours: Err(VerifyError::Missing(Claim::Jwk)),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "jwk point not on the curve",
            proof: with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"{alg}","jwk":{off_curve}}}"#
            )),
            ours: Err(VerifyError::Jwk(JwkError::NotOnCurve)),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "crit header with an unknown extension",
            proof: with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"{alg}","crit":["x-ext"],"x-ext":1,"jwk":{jwk}}}"#
            )),
            ours: Err(VerifyError::CriticalHeader),
            jose: Rejects,
            // jsonwebtoken 11 ignores `crit`, though RFC 7515 section 4.1.11 says to reject
            // a JWS with an extension the recipient does not understand.
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "signature bit flipped",
            proof: format!("{h}.{p}.{}", b64(&flipped_sig)),
            ours: Err(VerifyError::InvalidSignature),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "payload changed after signing",
            proof: format!("{h}.{}.{s}", b64(payload(r#","x":1"#).as_bytes())),
            ours: Err(VerifyError::InvalidSignature),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "header changed after signing",
            proof: format!(
                "{}.{p}.{s}",
                b64(
                    format!(r#"{{"typ":"dpop+jwt","alg":"{alg}","kid":"x","jwk":{jwk}}}"#)
                        .as_bytes()
                )
            ),
            ours: Err(VerifyError::InvalidSignature),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "DER-encoded signature",
            proof: format!("{h}.{p}.{}", b64(&der)),
            ours: Err(VerifyError::InvalidSignature),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "signature truncated by one byte",
            proof: format!("{h}.{p}.{}", b64(&sig_bytes[..sig_bytes.len() - 1])),
            ours: Err(VerifyError::InvalidSignature),
            jose: Rejects,
            jsonwebtoken: Some(Rejects),
        },
        Case {
            name: "exp in the past",
            proof: with_payload(payload(&format!(r#","exp":{}"#, NOW - 3600))),
            ours: Err(VerifyError::Expired {
                expires_at: UnixTime::from_secs(NOW - 3600),
                now: UnixTime::from_secs(NOW),
            }),
            jose: Rejects,
            jsonwebtoken: Some(Accepts), // validate_exp is off, as the issue asks
        },
        // Valid JWS, wrong DPoP claims: only a DPoP verifier can reject these.
        Case {
            name: "wrong htm",
            proof: with_payload(payload("").replace(r#""htm":"GET""#, r#""htm":"POST""#)),
            ours: Err(VerifyError::Mismatch(Claim::Htm)),
            jose: Accepts,
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "wrong htu",
            proof: with_payload(payload("").replace("/v1/items", "/v1/other")),
            ours: Err(VerifyError::Mismatch(Claim::Htu)),
            jose: Accepts,
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "wrong ath",
            proof: with_payload(payload("").replace(&ath(TOKEN), &ath("another-token"))),
            ours: Err(VerifyError::Mismatch(Claim::Ath)),
            jose: Accepts,
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "ath missing",
            proof: with_payload(format!(
                r#"{{"jti":"j-1","htm":"GET","htu":"{URL}","iat":{NOW}}}"#
            )),
            ours: Err(VerifyError::Missing(Claim::Ath)),
            jose: Accepts,
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "jti missing",
            proof: with_payload(format!(
                r#"{{"htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{}"}}"#,
                ath(TOKEN)
            )),
            ours: Err(VerifyError::Missing(Claim::Jti)),
            jose: Accepts,
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "iat an hour old",
            proof: with_payload(payload("").replace(&NOW.to_string(), &(NOW - 3600).to_string())),
            ours: Err(VerifyError::TooOld {
                issued_at: UnixTime::from_secs(NOW - 3600),
                now: UnixTime::from_secs(NOW),
                earliest: UnixTime::from_secs(NOW - 360),
            }),
            jose: Accepts,
            jsonwebtoken: Some(Accepts),
        },
        // Interop leniencies the standards allow, which jose shares.
        Case {
            name: "typ in another case (media types are case-insensitive)",
            proof: with_header(format!(r#"{{"typ":"DPoP+JWT","alg":"{alg}","jwk":{jwk}}}"#)),
            ours: Ok(()),
            jose: Accepts,
            jsonwebtoken: None,
        },
        Case {
            name: "typ with the application/ prefix (RFC 7515 section 4.1.9)",
            proof: with_header(format!(
                r#"{{"typ":"application/dpop+jwt","alg":"{alg}","jwk":{jwk}}}"#
            )),
            ours: Ok(()),
            jose: Accepts,
            jsonwebtoken: None,
        },
        Case {
            name: "non-integer iat (RFC 7519 NumericDate allows it)",
            proof: with_payload(payload("").replace(&NOW.to_string(), &format!("{NOW}.5"))),
            ours: Ok(()),
            jose: Accepts,
            jsonwebtoken: Some(Accepts),
        },
        // Where the implementations disagree (listed in the crate docs).
        Case {
            name: "DISAGREE: duplicate htm (JSON.parse keeps the last)",
            proof: with_payload(
                payload(r#","htm":"GET""#).replace(r#""htm":"GET","htu""#, r#""htm":"POST","htu""#),
            ),
            ours: Err(VerifyError::Malformed(Malformed::DuplicateMember)),
            jose: Accepts,
            // The claims are decoded into a `serde_json::Value` map, which keeps the last too.
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "DISAGREE: nbf in the future",
            proof: with_payload(payload(&format!(r#","nbf":{}"#, NOW + 3600))),
            ours: Ok(()),
            jose: Rejects,
            jsonwebtoken: Some(Accepts), // validate_nbf is off by default
        },
        Case {
            name: "DISAGREE: jwk use enc",
            proof: with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"{alg}","jwk":{}}}"#,
                jwk_with("use", "enc".into())
            )),
            ours: Ok(()),
            jose: Rejects,
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "DISAGREE: jwk key_ops without verify",
            proof: with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"{alg}","jwk":{}}}"#,
                jwk_with("key_ops", serde_json::json!(["sign"]))
            )),
            ours: Ok(()),
            jose: Rejects,
            jsonwebtoken: Some(Accepts),
        },
        Case {
            name: "DISAGREE: jwk alg member naming another algorithm",
            proof: with_header(format!(
                r#"{{"typ":"dpop+jwt","alg":"{alg}","jwk":{}}}"#,
                jwk_with("alg", other_alg.into())
            )),
            ours: Ok(()),
            jose: Rejects,
            jsonwebtoken: Some(Accepts),
        },
    ];
    // An ES256 signature (64 bytes) ends in a base64url character with 4 unused bits; 96 and
    // 132 bytes leave none. Setting one gives another text for the same signature bytes.
    if !sig_bytes.len().is_multiple_of(3) {
        let mut non_canonical = s.to_string();
        let last = non_canonical.pop().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(last).unwrap();
        non_canonical.push(char::from(alphabet.as_bytes()[index ^ 1]));
        cases.push(Case {
            name: "DISAGREE: non-zero unused bits in the last signature character",
            proof: format!("{h}.{p}.{non_canonical}"),
            ours: Err(VerifyError::Malformed(Malformed::Base64)),
            jose: Accepts,
            jsonwebtoken: Some(Rejects), // the base64 crate checks the trailing bits too
        });
    }
    cases
}

/// An ASN.1 DER `ECDSA-Sig-Value` (what many KMS APIs return; JWS requires raw `r||s`).
fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn integer(v: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = v.iter().copied().skip_while(|&b| b == 0).collect();
        if v.first().is_some_and(|&b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02];
        push_len(&mut out, v.len());
        out.extend(v);
        out
    }
    fn push_len(out: &mut Vec<u8>, len: usize) {
        let len = u8::try_from(len).unwrap();
        if len >= 0x80 {
            out.push(0x81);
        }
        out.push(len);
    }
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30];
    push_len(&mut out, body.len());
    out.extend(body);
    out
}

#[test]
fn leading_zero_keys_are_so() {
    let mut x_seen = [false; 3];
    let mut y_seen = [false; 3];
    for &(alg, counter) in &LEADING_ZERO_KEYS {
        let key = key_with_counter(alg, counter);
        let jwk = key.public_jwk();
        let zeros = if alg == Algorithm::Es512 { 2 } else { 1 };
        let i = Algorithm::ALL.iter().position(|a| *a == alg).unwrap();
        x_seen[i] |= jwk.x()[..zeros].iter().all(|&b| b == 0);
        y_seen[i] |= jwk.y()[..zeros].iter().all(|&b| b == 0);
    }
    assert_eq!((x_seen, y_seen), ([true; 3], [true; 3]));
}
