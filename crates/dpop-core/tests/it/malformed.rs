//! One test per rejection rule of RFC 9449 section 4.3: each proof is broken in exactly one way
//! and otherwise validly signed, and the exact error variant is asserted.

use dpop_core::{
    Algorithm,
    crypto::rustcrypto::{ALL_VERIFIERS, ES256_VERIFIER},
};
use dpop_core::{Claim, Expected, JwkError, Limit, Limits, Malformed, Verifier, VerifyError};
use dpop_core::{HttpMethod, TargetUri, Thumbprint, UnixTime};

use crate::common::{ATH, NOW, TOKEN, URL, b64, header_for, jwk_json, key, payload, sign_raw};

fn verify(proof: &str) -> Result<(), VerifyError> {
    let uri = TargetUri::parse(URL).unwrap();
    let expected = Expected::new(HttpMethod::GET, uri).with_access_token(TOKEN);
    Verifier::new(ALL_VERIFIERS)
        .verify(proof, &expected, UnixTime::from_secs(NOW))
        .map(|_| ())
}

fn signed(header: &str, payload: &str) -> String {
    sign_raw(&key(Algorithm::Es256), header, payload)
}

fn with_payload(p: &str) -> String {
    signed(&header_for(&key(Algorithm::Es256)), p)
}

fn with_header(h: &str) -> String {
    signed(h, &payload())
}

fn claims(extra: &str) -> String {
    format!(r#"{{"jti":"j-1","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}"{extra}}}"#)
}

#[test]
fn the_baseline_proof_is_valid() {
    assert_eq!(verify(&with_payload(&payload())), Ok(()));
    assert_eq!(
        verify(&with_payload(&claims(r#","extra":{"a":[1,2,null,true]}"#))),
        Ok(())
    );
}

#[test]
fn header_rules() {
    let k = key(Algorithm::Es256);
    let jwk = jwk_json(&k);
    let cases: Vec<(String, VerifyError)> = vec![
        (format!(r#"{{"alg":"ES256","jwk":{jwk}}}"#), VerifyError::Missing(Claim::Typ)),
        (format!(r#"{{"typ":"JWT","alg":"ES256","jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Typ)),
        (format!(r#"{{"typ":1,"alg":"ES256","jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Typ)),
        (format!(r#"{{"typ":"application/jwt","alg":"ES256","jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Typ)),
        (format!(r#"{{"typ":"application/dpop+jwt; charset=utf-8","alg":"ES256","jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Typ)),
        (format!(r#"{{"typ":"text/dpop+jwt","alg":"ES256","jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Typ)),
        (format!(r#"{{"typ":"application/application/dpop+jwt","alg":"ES256","jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Typ)),
        (format!(r#"{{"typ":"application/","alg":"ES256","jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Typ)),
        (format!(r#"{{"typ":" dpop+jwt","alg":"ES256","jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Typ)),
        (format!(r#"{{"typ":"dpop+jwtx","alg":"ES256","jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Typ)),
        (format!(r#"{{"typ":"","alg":"ES256","jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Typ)),
        (format!(r#"{{"typ":"dpop+jwt","alg":"ES256","crit":["exp"],"jwk":{jwk}}}"#), VerifyError::CriticalHeader),
        (format!(r#"{{"typ":"dpop+jwt","jwk":{jwk}}}"#), VerifyError::Missing(Claim::Alg)),
        (format!(r#"{{"typ":"dpop+jwt","alg":["ES256"],"jwk":{jwk}}}"#), VerifyError::Invalid(Claim::Alg)),
        (format!(r#"{{"typ":"dpop+jwt","alg":"none","jwk":{jwk}}}"#), VerifyError::UnsupportedAlgorithm),
        (format!(r#"{{"typ":"dpop+jwt","alg":"HS256","jwk":{jwk}}}"#), VerifyError::UnsupportedAlgorithm),
        (format!(r#"{{"typ":"dpop+jwt","alg":"RS256","jwk":{jwk}}}"#), VerifyError::UnsupportedAlgorithm),
        (format!(r#"{{"typ":"dpop+jwt","alg":"EdDSA","jwk":{jwk}}}"#), VerifyError::UnsupportedAlgorithm),
        (format!(r#"{{"typ":"dpop+jwt","alg":"ES256K","jwk":{jwk}}}"#), VerifyError::UnsupportedAlgorithm),
        (format!(r#"{{"typ":"dpop+jwt","alg":"es256","jwk":{jwk}}}"#), VerifyError::UnsupportedAlgorithm),
        (format!(r#"{{"typ":"dpop+jwt","alg":"ES384","jwk":{jwk}}}"#), VerifyError::AlgorithmMismatch),
        (r#"{"typ":"dpop+jwt","alg":"ES256"}"#.to_string(), VerifyError::Missing(Claim::Jwk)),
        (r#"{"typ":"dpop+jwt","alg":"ES256","jwk":"key"}"#.to_string(), VerifyError::Invalid(Claim::Jwk)),
        (
            format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#, jwk.replace('}', r#","d":"AAAA"}"#)),
            VerifyError::Jwk(JwkError::PrivateMember),
        ),
        (
            r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}"#.to_string(),
            VerifyError::Jwk(JwkError::UnsupportedKeyType),
        ),
        (
            r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#.to_string(),
            VerifyError::Jwk(JwkError::NotOnCurve),
        ),
    ];
    for (header, err) in cases {
        assert_eq!(verify(&with_header(&header)), Err(err), "{header}");
    }
}

#[test]
fn an_algorithm_outside_the_allow_list_is_rejected_even_when_compiled_in() {
    for alg in [Algorithm::Es384, Algorithm::Es512] {
        let k = key(alg);
        let proof = sign_raw(&k, &header_for(&k), &payload());
        let uri = TargetUri::parse(URL).unwrap();
        let e = Expected::new(HttpMethod::GET, uri);
        assert_eq!(
            Verifier::new(&[ES256_VERIFIER])
                .verify(&proof, &e, UnixTime::from_secs(NOW))
                .unwrap_err(),
            VerifyError::UnsupportedAlgorithm
        );
        assert!(
            Verifier::new(ALL_VERIFIERS)
                .verify(&proof, &e, UnixTime::from_secs(NOW))
                .is_ok()
        );
    }
}

#[test]
fn signature_rules() {
    let good = with_payload(&payload());
    let (input, sig) = good.rsplit_once('.').unwrap();
    let mut raw = <base64ct::Base64UrlUnpadded as base64ct::Encoding>::decode_vec(sig).unwrap();
    // one flipped bit
    raw[10] ^= 1;
    assert_eq!(
        verify(&format!("{input}.{}", b64(&raw))),
        Err(VerifyError::InvalidSignature)
    );
    raw[10] ^= 1;
    // truncated and extended
    assert_eq!(
        verify(&format!("{input}.{}", b64(&raw[..63]))),
        Err(VerifyError::InvalidSignature)
    );
    let mut longer = raw.clone();
    longer.push(0);
    assert_eq!(
        verify(&format!("{input}.{}", b64(&longer))),
        Err(VerifyError::InvalidSignature)
    );
    // the same signature DER-encoded
    let der = der_encode(&raw[..32], &raw[32..]);
    assert_eq!(
        verify(&format!("{input}.{}", b64(&der))),
        Err(VerifyError::InvalidSignature)
    );
    // all zero r and s
    assert_eq!(
        verify(&format!("{input}.{}", b64(&[0u8; 64]))),
        Err(VerifyError::InvalidSignature)
    );
    // signed by another key than the one in the header
    let other = key(Algorithm::Es384);
    let mut sig2 = [0u8; 132];
    let n =
        dpop_core::crypto::ProofSigner::try_sign(&other, &[input.as_bytes()], &mut sig2).unwrap();
    assert_eq!(
        verify(&format!("{input}.{}", b64(&sig2[..n]))),
        Err(VerifyError::InvalidSignature)
    );
    // signature over a payload that was then changed
    let (h, _) = input.split_once('.').unwrap();
    let changed = format!("{h}.{}.{sig}", b64(claims(r#","x":1"#).as_bytes()));
    assert_eq!(verify(&changed), Err(VerifyError::InvalidSignature));
}

#[test]
fn high_s_signatures_are_accepted() {
    // n - s is an equally valid signature: RFC 9449 does not require low-S and many signers
    // (WebCrypto among them) produce high-S half the time.
    let good = with_payload(&payload());
    let (input, sig) = good.rsplit_once('.').unwrap();
    let raw = <base64ct::Base64UrlUnpadded as base64ct::Encoding>::decode_vec(sig).unwrap();
    let n = hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
    let s_neg = sub_be(&n, &raw[32..]);
    let mut flipped = raw[..32].to_vec();
    flipped.extend_from_slice(&s_neg);
    assert_ne!(flipped, raw);
    assert_eq!(verify(&format!("{input}.{}", b64(&flipped))), Ok(()));
}

#[test]
fn structure_rules() {
    let good = with_payload(&payload());
    let (h, rest) = good.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let cases: Vec<(String, VerifyError)> = vec![
        (
            format!("{h}.{p}"),
            VerifyError::Malformed(Malformed::Segments),
        ),
        (
            format!("{h}.{p}.{s}.{s}"),
            VerifyError::Malformed(Malformed::Segments),
        ),
        (
            format!("{h}..{s}"),
            VerifyError::Malformed(Malformed::Segments),
        ),
        (
            format!(r#"{{"protected":"{h}","payload":"{p}","signature":"{s}"}}"#),
            VerifyError::Malformed(Malformed::JwsJsonSerialization),
        ),
        (
            format!("{h}=.{p}.{s}"),
            VerifyError::Malformed(Malformed::Base64),
        ),
        (format!("{h}.{p}.{s}="), VerifyError::InvalidSignature),
        (
            format!("+{}.{p}.{s}", &h[1..]),
            VerifyError::Malformed(Malformed::Base64),
        ),
        (
            format!(" {h}.{p}.{s}"),
            VerifyError::Malformed(Malformed::Base64),
        ),
        (format!("{h}.{p}.{s}\n"), VerifyError::InvalidSignature),
    ];
    for (proof, err) in cases {
        assert_eq!(verify(&proof), Err(err), "{proof}");
    }
    // non-zero trailing bits in the signature segment's last character
    let mut bad_sig = s.to_string();
    let last = bad_sig.pop().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(last).unwrap();
    bad_sig.push(alphabet.as_bytes()[idx ^ 1] as char);
    assert_eq!(
        verify(&format!("{h}.{p}.{bad_sig}")),
        Err(VerifyError::Malformed(Malformed::Base64))
    );
}

#[test]
fn json_rules() {
    let header = header_for(&key(Algorithm::Es256));
    let cases: Vec<(String, Result<(), VerifyError>)> = vec![
        (
            claims(r#","jti":"again""#),
            Err(VerifyError::Malformed(Malformed::DuplicateMember)),
        ),
        (
            claims(r#","\u006ati":"again""#),
            Err(VerifyError::Malformed(Malformed::DuplicateMember)),
        ),
        (format!("{} ", claims("")), Ok(())),
        (
            format!("{}x", claims("")),
            Err(VerifyError::Malformed(Malformed::Json)),
        ),
        (
            format!("{}{{}}", claims("")),
            Err(VerifyError::Malformed(Malformed::Json)),
        ),
        (
            claims(",\"x\":\"a\tb\""),
            Err(VerifyError::Malformed(Malformed::Json)),
        ),
        (
            claims(r#","x":"\q""#),
            Err(VerifyError::Malformed(Malformed::Json)),
        ),
        (
            claims(r#","x":"\ud800""#),
            Err(VerifyError::Malformed(Malformed::Json)),
        ),
        (
            claims(r#","x":01"#),
            Err(VerifyError::Malformed(Malformed::Json)),
        ),
        (
            claims(r#","x":'a'"#),
            Err(VerifyError::Malformed(Malformed::Json)),
        ),
        (
            "[]".to_string(),
            Err(VerifyError::Malformed(Malformed::NotAnObject)),
        ),
        (
            "\"claims\"".to_string(),
            Err(VerifyError::Malformed(Malformed::NotAnObject)),
        ),
        (
            claims(&format!(r#","x":{}1{}"#, "[".repeat(40), "]".repeat(40))),
            Err(VerifyError::Malformed(Malformed::Nesting)),
        ),
    ];
    for (payload, err) in cases {
        assert_eq!(verify(&signed(&header, &payload)), err, "{payload}");
    }
    // invalid UTF-8 in the payload
    let mut bytes = claims("").into_bytes();
    let pos = bytes.iter().position(|&b| b == b'j').unwrap() + 4;
    bytes.insert(pos, 0xFF);
    let input = format!("{}.{}", b64(header.as_bytes()), b64(&bytes));
    let k = key(Algorithm::Es256);
    let mut sig = [0u8; 64];
    dpop_core::crypto::ProofSigner::try_sign(&k, &[input.as_bytes()], &mut sig).unwrap();
    assert_eq!(
        verify(&format!("{input}.{}", b64(&sig))),
        Err(VerifyError::Malformed(Malformed::Utf8))
    );
}

#[test]
fn claim_rules() {
    let long_jti = "j".repeat(257);
    let cases: Vec<(String, VerifyError)> = vec![
        (
            format!(r#"{{"htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Missing(Claim::Jti),
        ),
        (
            format!(r#"{{"jti":"j","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Missing(Claim::Htm),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Missing(Claim::Htu),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","ath":"{ATH}"}}"#),
            VerifyError::Missing(Claim::Iat),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW}}}"#),
            VerifyError::Missing(Claim::Ath),
        ),
        (
            format!(r#"{{"jti":7,"htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Jti),
        ),
        (
            format!(r#"{{"jti":"","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Jti),
        ),
        (
            format!(
                r#"{{"jti":"{long_jti}","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#
            ),
            VerifyError::TooLarge(Limit::Jti),
        ),
        (
            format!(r#"{{"jti":"j","htm":null,"htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Htm),
        ),
        (
            format!(r#"{{"jti":"j","htm":"get","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Mismatch(Claim::Htm),
        ),
        (
            format!(r#"{{"jti":"j","htm":"POST","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Mismatch(Claim::Htm),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":{{}},"iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Htu),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}?a=1","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Htu),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}#f","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Htu),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"/v1/items","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Htu),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}/","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Mismatch(Claim::Htu),
        ),
        (
            format!(
                r#"{{"jti":"j","htm":"GET","htu":"https://api.example.com:8443/v1/items","iat":{NOW},"ath":"{ATH}"}}"#
            ),
            VerifyError::Mismatch(Claim::Htu),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":"{NOW}","ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Iat),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":-1,"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Iat),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":-{NOW}.5,"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Iat),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":1e20,"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Iat),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":true,"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Iat),
        ),
        (
            format!(
                r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}","exp":-1.5}}"#
            ),
            VerifyError::Invalid(Claim::Exp),
        ),
        (
            format!(r#"{{"jti":"j\u0007","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Jti),
        ),
        (
            format!(r#"{{"jti":"a\nb","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Jti),
        ),
        (
            format!(r#"{{"jti":"a\u0085b","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}"}}"#),
            VerifyError::Invalid(Claim::Jti),
        ),
        (
            format!(
                r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}","exp":"soon"}}"#
            ),
            VerifyError::Invalid(Claim::Exp),
        ),
        (
            format!(
                r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}","exp":{}}}"#,
                NOW - 61
            ),
            VerifyError::Expired {
                expires_at: UnixTime::from_secs(NOW - 61),
                now: UnixTime::from_secs(NOW),
            },
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW},"ath":5}}"#),
            VerifyError::Invalid(Claim::Ath),
        ),
        (
            format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}="}}"#),
            VerifyError::Invalid(Claim::Ath),
        ),
        (
            format!(
                r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{}"}}"#,
                &ATH[1..]
            ),
            VerifyError::Invalid(Claim::Ath),
        ),
        (
            format!(
                r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#
            ),
            VerifyError::Mismatch(Claim::Ath),
        ),
        (
            format!(
                r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}","nonce":5}}"#
            ),
            VerifyError::Invalid(Claim::Nonce),
        ),
    ];
    for (payload, err) in cases {
        assert_eq!(verify(&with_payload(&payload)), Err(err), "{payload}");
    }
}

#[test]
fn escaped_claims_are_decoded() {
    let escaped_url = URL.replace('/', "\\/");
    let p = format!(
        r#"{{"jti":"j\u002d1","ht\u006d":"G\u0045T","htu":"{escaped_url}","iat":{NOW},"ath":"{ATH}"}}"#
    );
    assert_eq!(verify(&with_payload(&p)), Ok(()));
}

#[test]
fn typ_is_a_case_insensitive_media_type() {
    let jwk = jwk_json(&key(Algorithm::Es256));
    for typ in [
        "dpop+jwt",
        "DPoP+JWT",
        "DPOP+jwt",
        "application/dpop+jwt",
        "Application/DPoP+JWT",
        "APPLICATION/dpop+jwt",
        r"application\/dpop\u002bjwt",
    ] {
        let header = format!(r#"{{"typ":"{typ}","alg":"ES256","jwk":{jwk}}}"#);
        assert_eq!(verify(&with_header(&header)), Ok(()), "{typ}");
    }
}

#[test]
fn numeric_dates_may_be_non_integer() {
    // RFC 7519 section 2: a NumericDate is a JSON number; its integer part is used.
    for iat in [
        format!("{NOW}.5"),
        format!("{NOW}.999"),
        format!("{NOW}.0"),
        format!("{}e1", NOW / 10),
        format!("{}.{}e9", NOW / 1_000_000_000, NOW % 1_000_000_000),
        format!("{NOW}0e-1"),
    ] {
        let p = format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{iat},"ath":"{ATH}"}}"#);
        assert_eq!(verify(&with_payload(&p)), Ok(()), "{iat}");
    }
    let uri = TargetUri::parse(URL).unwrap();
    let expected = Expected::new(HttpMethod::GET, uri).with_access_token(TOKEN);
    let p = format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW}.75,"ath":"{ATH}"}}"#);
    let verified = Verifier::new(ALL_VERIFIERS)
        .verify(&with_payload(&p), &expected, UnixTime::from_secs(NOW))
        .unwrap();
    assert_eq!(verified.issued_at(), UnixTime::from_secs(NOW));
    // exp too: a float in the past is expired, one in the future is fine
    let exp = |exp: &str| {
        with_payload(&format!(
            r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{NOW},"ath":"{ATH}","exp":{exp}}}"#
        ))
    };
    assert_eq!(verify(&exp(&format!("{}.9", NOW + 10))), Ok(()));
    assert_eq!(
        verify(&exp(&format!("{}.9", NOW - 61))),
        Err(VerifyError::Expired {
            expires_at: UnixTime::from_secs(NOW - 61),
            now: UnixTime::from_secs(NOW),
        })
    );
}

#[test]
fn an_empty_expected_nonce_is_a_configuration_error() {
    let uri = TargetUri::parse(URL).unwrap();
    let now = UnixTime::from_secs(NOW);
    let v = Verifier::new(&[ES256_VERIFIER]);
    let e = Expected::new(HttpMethod::GET, uri).with_nonce("");
    for proof in [
        with_payload(&claims(r#","nonce":"""#)),
        with_payload(&claims(r#","nonce":"n""#)),
        with_payload(&claims("")),
        String::from("garbage"),
    ] {
        let error = v.verify(&proof, &e, now).unwrap_err();
        assert_eq!(error, VerifyError::EmptyExpectedNonce);
        assert!(error.is_configuration_error());
    }
    assert!(!VerifyError::NonceInvalid.is_configuration_error());
}

/// Vouches for freshness of "fresh" nonces until `NOW + 30`; accepts "plain" without vouching.
#[derive(Debug)]
struct Stamped;
impl dpop_core::NonceValidator for Stamped {
    fn is_valid(&self, nonce: &str, _: &dpop_core::NonceContext<'_>) -> bool {
        nonce == "fresh" || nonce == "plain"
    }
    fn status(&self, nonce: &str, context: &dpop_core::NonceContext<'_>) -> dpop_core::NonceStatus {
        match nonce {
            "fresh" => dpop_core::NonceStatus::Fresh {
                accepted_until: UnixTime::from_secs(NOW + 30),
            },
            _ if self.is_valid(nonce, context) => dpop_core::NonceStatus::Valid,
            _ => dpop_core::NonceStatus::Invalid,
        }
    }
}

#[test]
fn a_fresh_nonce_replaces_the_iat_window_within_a_day() {
    use dpop_core::consts::NONCE_IAT_BOUND;
    let uri = TargetUri::parse(URL).unwrap();
    let now = UnixTime::from_secs(NOW);
    let v = Verifier::new(&[ES256_VERIFIER]);
    let e = Expected::new(HttpMethod::GET, uri).with_nonce_validator(&Stamped);
    let at = |iat: u64, nonce: &str| {
        with_payload(&format!(
            r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{iat},"nonce":"{nonce}"}}"#
        ))
    };
    // 90 s fast and 1000 s slow: outside the iat window, fresh by the nonce.
    for iat in [
        NOW + 90,
        NOW - 1000,
        NOW + NONCE_IAT_BOUND,
        NOW - NONCE_IAT_BOUND,
    ] {
        let verified = v.verify(&at(iat, "fresh"), &e, now).unwrap();
        assert_eq!(
            verified.nonce_fresh_until(),
            Some(UnixTime::from_secs(NOW + 30))
        );
    }
    // beyond the sanity bound
    assert!(matches!(
        v.verify(&at(NOW + NONCE_IAT_BOUND + 1, "fresh"), &e, now),
        Err(VerifyError::IssuedInFuture { .. })
    ));
    assert!(matches!(
        v.verify(&at(NOW - NONCE_IAT_BOUND - 1, "fresh"), &e, now),
        Err(VerifyError::TooOld { .. })
    ));
    // a valid nonce that does not vouch keeps the iat window
    assert!(matches!(
        v.verify(&at(NOW + 90, "plain"), &e, now),
        Err(VerifyError::IssuedInFuture { .. })
    ));
    let plain = v.verify(&at(NOW, "plain"), &e, now).unwrap();
    assert_eq!(plain.nonce_fresh_until(), None);
    // without a validator nothing changes
    let none = Expected::new(HttpMethod::GET, uri);
    assert!(matches!(
        v.verify(&at(NOW + 90, "fresh"), &none, now),
        Err(VerifyError::IssuedInFuture { .. })
    ));
}

#[test]
fn iat_window_boundaries() {
    let verifier = Verifier::new(&[ES256_VERIFIER])
        .with_max_age(300)
        .with_leeway(60);
    let uri = TargetUri::parse(URL).unwrap();
    let e = Expected::new(HttpMethod::GET, uri);
    let now = UnixTime::from_secs(NOW);
    let at = |iat: u64| {
        let p = format!(r#"{{"jti":"j","htm":"GET","htu":"{URL}","iat":{iat}}}"#);
        verifier.verify(&with_payload(&p), &e, now).map(|_| ())
    };
    assert_eq!(at(NOW - 360), Ok(()));
    assert_eq!(
        at(NOW - 361),
        Err(VerifyError::TooOld {
            issued_at: UnixTime::from_secs(NOW - 361),
            now,
            earliest: UnixTime::from_secs(NOW - 360)
        })
    );
    assert_eq!(at(NOW + 60), Ok(()));
    assert_eq!(
        at(NOW + 61),
        Err(VerifyError::IssuedInFuture {
            issued_at: UnixTime::from_secs(NOW + 61),
            now,
            latest: UnixTime::from_secs(NOW + 60)
        })
    );
    assert_eq!(verifier.acceptance_window(), 360);
}

#[test]
fn nonce_rules() {
    let uri = TargetUri::parse(URL).unwrap();
    let now = UnixTime::from_secs(NOW);
    let v = Verifier::new(&[ES256_VERIFIER]);
    let with_nonce = with_payload(&claims(r#","nonce":"eyJ7S_zG.eyJH0-Z.HX4w-7v""#));
    let e = Expected::new(HttpMethod::GET, uri).with_nonce("eyJ7S_zG.eyJH0-Z.HX4w-7v");
    assert_eq!(
        v.verify(&with_nonce, &e, now).unwrap().nonce(),
        Some("eyJ7S_zG.eyJH0-Z.HX4w-7v")
    );
    let e = Expected::new(HttpMethod::GET, uri).with_nonce("other");
    assert_eq!(
        v.verify(&with_nonce, &e, now).unwrap_err(),
        VerifyError::NonceInvalid
    );
    let e = Expected::new(HttpMethod::GET, uri).with_nonce("eyJ7S_zG.eyJH0-Z.HX4w-7v");
    assert_eq!(
        v.verify(&with_payload(&payload()), &e, now).unwrap_err(),
        VerifyError::NonceRequired
    );
    // a nonce the server did not ask for is carried but not required
    let e = Expected::new(HttpMethod::GET, uri);
    assert!(v.verify(&with_nonce, &e, now).is_ok());
    let long = with_payload(&claims(&format!(r#","nonce":"{}""#, "n".repeat(513))));
    assert_eq!(
        v.verify(&long, &e, now).unwrap_err(),
        VerifyError::TooLarge(Limit::Nonce)
    );
    let limited = v.with_limits(Limits::default().with_nonce(10));
    let e = Expected::new(HttpMethod::GET, uri);
    assert_eq!(
        limited.verify(&with_nonce, &e, now).unwrap_err(),
        VerifyError::TooLarge(Limit::Nonce)
    );
}

#[derive(Debug)]
struct Even;
impl dpop_core::NonceValidator for Even {
    fn is_valid(&self, nonce: &str, context: &dpop_core::NonceContext<'_>) -> bool {
        nonce.len().is_multiple_of(2) && context.htu == URL && context.method == HttpMethod::GET
    }
}

#[test]
fn nonce_validator_hook_decides() {
    let uri = TargetUri::parse(URL).unwrap();
    let now = UnixTime::from_secs(NOW);
    let v = Verifier::new(&[ES256_VERIFIER]);
    let e = Expected::new(HttpMethod::GET, uri).with_nonce_validator(&Even);
    assert!(
        v.verify(&with_payload(&claims(r#","nonce":"ab""#)), &e, now)
            .is_ok()
    );
    assert_eq!(
        v.verify(&with_payload(&claims(r#","nonce":"abc""#)), &e, now)
            .unwrap_err(),
        VerifyError::NonceInvalid
    );
    assert_eq!(
        v.verify(&with_payload(&claims("")), &e, now).unwrap_err(),
        VerifyError::NonceRequired
    );
}

#[test]
fn bound_key_rule() {
    let uri = TargetUri::parse(URL).unwrap();
    let now = UnixTime::from_secs(NOW);
    let proof = with_payload(&payload());
    let right = key(Algorithm::Es256).public_jwk().thumbprint();
    let wrong = key(Algorithm::Es384).public_jwk().thumbprint();
    let v = Verifier::new(&[ES256_VERIFIER]);
    assert!(
        v.verify(
            &proof,
            &Expected::new(HttpMethod::GET, uri).with_bound_key(&right),
            now
        )
        .is_ok()
    );
    assert_eq!(
        v.verify(
            &proof,
            &Expected::new(HttpMethod::GET, uri).with_bound_key(&wrong),
            now
        )
        .unwrap_err(),
        VerifyError::BoundKeyMismatch
    );
    let _: Thumbprint = right;
}

#[test]
fn size_limits_apply_before_decoding() {
    let v = Verifier::new(&[ES256_VERIFIER]);
    let uri = TargetUri::parse(URL).unwrap();
    let e = Expected::new(HttpMethod::GET, uri);
    let now = UnixTime::from_secs(NOW);
    // 8193 bytes of garbage: rejected for its size, not for its content
    let big = "!".repeat(8193);
    assert_eq!(
        v.verify(&big, &e, now).unwrap_err(),
        VerifyError::TooLarge(Limit::Proof)
    );
    let at_limit = "!".repeat(8192);
    assert_eq!(
        v.verify(&at_limit, &e, now).unwrap_err(),
        VerifyError::Malformed(Malformed::Segments)
    );
    let proof = with_payload(&payload());
    let tight = v.with_limits(Limits::default().with_proof(proof.len()));
    assert!(tight.verify(&proof, &e, now).is_ok());
    let tighter = v.with_limits(Limits::default().with_proof(proof.len() - 1));
    assert_eq!(
        tighter.verify(&proof, &e, now).unwrap_err(),
        VerifyError::TooLarge(Limit::Proof)
    );
    // jti at and past its limit
    let jti_limited = v.with_limits(Limits::default().with_jti(3));
    let p3 = with_payload(&format!(
        r#"{{"jti":"abc","htm":"GET","htu":"{URL}","iat":{NOW}}}"#
    ));
    let p4 = with_payload(&format!(
        r#"{{"jti":"abcd","htm":"GET","htu":"{URL}","iat":{NOW}}}"#
    ));
    assert!(jti_limited.verify(&p3, &e, now).is_ok());
    assert_eq!(
        jti_limited.verify(&p4, &e, now).unwrap_err(),
        VerifyError::TooLarge(Limit::Jti)
    );
    // the default jti limit: 256 accepted, 257 rejected
    let p256 = with_payload(&format!(
        r#"{{"jti":"{}","htm":"GET","htu":"{URL}","iat":{NOW}}}"#,
        "j".repeat(256)
    ));
    assert!(v.verify(&p256, &e, now).is_ok());
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// a - b for equal-length big-endian numbers with a > b.
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = d as u8;
    }
    out
}

fn der_encode(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = v.iter().copied().skip_while(|&b| b == 0).collect();
        if v.first().is_some_and(|&b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let body: Vec<u8> = [int(r), int(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}
