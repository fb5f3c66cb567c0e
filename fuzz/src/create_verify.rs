//! `create_verify`: a proof created from arbitrary claims always verifies.
//!
//! The claims come from structured fuzz data ([`CreateInput`], `arbitrary`): a method from the
//! token charset, a URL assembled from arbitrary parts (kept only when `TargetUri::parse`
//! accepts it), and jti, nonce and access token strings kept only when the library's own
//! constructors accept them. The proof is created with a fixed key of an arbitrary curve and
//! verified with the matching `Expected` at a time inside the acceptance window: it must always
//! verify, and the verified values must be the ones put in.

use arbitrary::{Arbitrary, Unstructured};
use dpop_core::{
    Algorithm, CreateError, Expected, HttpMethod, NewProof, ProofId, TargetUri, UnixTime, Verifier,
    consts::MAX_URI_LEN, crypto::rustcrypto::ALL_VERIFIERS, is_valid_nonce,
};

use crate::fixtures::key;

/// `tchar` of RFC 9110 section 5.6.2.
const TCHAR: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters for host names: unreserved and sub-delims (RFC 3986 section 3.2.2), plus a few
/// that are invalid there, so that rejection is exercised too.
const HOST: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%:@[]";
/// Characters for path segments: pchar (RFC 3986 section 3.3) and a few invalid ones.
const PATH: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%\"<>{}^";
/// Percent-escape targets, unreserved and reserved.
const ESCAPED: &[u8] = b"aZ09-._~/?#[]@!$&'()*+,;=% \x7f\xc3";

/// The structured input.
#[derive(Arbitrary, Debug)]
pub struct CreateInput {
    curve: u8,
    method: Method,
    scheme: Scheme,
    host: Host,
    port: Option<Port>,
    path: Vec<Segment>,
    query: Option<String>,
    fragment: Option<String>,
    jti: String,
    issued_at: u64,
    /// The verifier's clock is `issued_at + age - leeway`, with `age` reduced to the window.
    age: u16,
    nonce: Option<String>,
    access_token: Option<String>,
    bind_key: bool,
    /// Verify against the canonical form of the URI instead of the URI as written.
    request_is_canonical: bool,
}

#[derive(Arbitrary, Debug)]
enum Method {
    Get,
    Post,
    Other(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Scheme {
    Http,
    Https,
    Upper,
    Mixed,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Host {
    Name(Vec<u8>),
    Ipv4([u8; 4]),
    Ipv6([u16; 8]),
    Ipv6Compressed(u16, u16),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Port {
    Number(u16),
    Digits(Vec<u8>),
    Empty,
}

#[derive(Arbitrary, Debug)]
enum Segment {
    Text(Vec<u8>),
    Escape(u8, bool),
    Dot,
    DotDot,
    EscapedDot,
    Empty,
}

/// Maps bytes onto `charset`.
fn from_charset(bytes: &[u8], charset: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| char::from(charset[usize::from(*b) % charset.len()]))
        .collect()
}

impl CreateInput {
    fn method(&self) -> String {
        match &self.method {
            Method::Get => "GET".to_owned(),
            Method::Post => "POST".to_owned(),
            Method::Other(bytes) => from_charset(bytes, TCHAR),
        }
    }

    fn uri(&self) -> String {
        let mut uri = match &self.scheme {
            Scheme::Http => "http".to_owned(),
            Scheme::Https => "https".to_owned(),
            Scheme::Upper => "HTTPS".to_owned(),
            Scheme::Mixed => "hTtP".to_owned(),
            Scheme::Other(s) => s.clone(),
        };
        uri.push_str("://");
        match &self.host {
            Host::Name(bytes) => uri.push_str(&from_charset(bytes, HOST)),
            Host::Ipv4(a) => uri.push_str(&format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])),
            Host::Ipv6(g) => uri.push_str(&format!(
                "[{:x}:{:X}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}]",
                g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
            )),
            Host::Ipv6Compressed(a, b) => uri.push_str(&format!("[{a:x}::{b:X}]")),
            Host::Raw(s) => uri.push_str(s),
        }
        match &self.port {
            None => {}
            Some(Port::Number(n)) => uri.push_str(&format!(":{n}")),
            Some(Port::Digits(d)) => {
                uri.push(':');
                uri.push_str(&from_charset(d, b"0123456789"));
            }
            Some(Port::Empty) => uri.push(':'),
        }
        for segment in &self.path {
            uri.push('/');
            match segment {
                Segment::Text(bytes) => uri.push_str(&from_charset(bytes, PATH)),
                Segment::Escape(b, lower) => {
                    let c = ESCAPED[usize::from(*b) % ESCAPED.len()];
                    if *lower {
                        uri.push_str(&format!("%{c:02x}"));
                    } else {
                        uri.push_str(&format!("%{c:02X}"));
                    }
                }
                Segment::Dot => uri.push('.'),
                Segment::DotDot => uri.push_str(".."),
                Segment::EscapedDot => uri.push_str("%2e"),
                Segment::Empty => {}
            }
        }
        if let Some(q) = &self.query {
            uri.push('?');
            uri.push_str(q);
        }
        if let Some(f) = &self.fragment {
            uri.push('#');
            uri.push_str(f);
        }
        uri
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let _ = created(data);
}

/// Runs the target; the algorithm of the proof when one was created (and verified).
pub fn created(data: &[u8]) -> Option<Algorithm> {
    let Ok(input) = CreateInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return None;
    };
    let alg = Algorithm::ALL[usize::from(input.curve) % 3];
    let key = key(alg);

    let method_text = input.method();
    let Ok(method) = HttpMethod::parse(&method_text) else {
        return None;
    };
    let uri_text = input.uri();
    let Ok(uri) = TargetUri::parse(&uri_text) else {
        return None;
    };
    let Ok(id) = ProofId::new(&input.jti) else {
        return None;
    };
    let nonce = input.nonce.as_deref();
    if nonce.is_some_and(|n| !is_valid_nonce(n)) {
        return None;
    }
    let issued_at = UnixTime::from_secs(input.issued_at);

    let mut proof = NewProof::new(method, uri, id, issued_at);
    if let Some(n) = nonce {
        proof = proof.with_nonce(n);
    }
    if let Some(t) = &input.access_token {
        proof = proof.with_access_token(t);
    }
    let text = match proof.encode_to_string(key) {
        Ok(text) => text,
        Err(CreateError::InvalidAccessToken) => {
            let t = input.access_token.as_deref().unwrap();
            assert!(
                t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()),
                "valid access token {t:?} refused"
            );
            return None;
        }
        Err(e) => panic!("creating a proof from valid claims failed: {e:?}"),
    };
    assert!(text.len() <= proof.max_len(), "max_len is an upper bound");

    // The server's view of the request: the URI as written, or its canonical form.
    let mut canonical = [0u8; MAX_URI_LEN];
    let canonical = uri.write_canonical(&mut canonical).unwrap().to_owned();
    let request_uri = if input.request_is_canonical {
        TargetUri::parse(&canonical).expect("the canonical form parses")
    } else {
        uri
    };
    let jkt = key.public_jwk().thumbprint();
    let mut expected = Expected::new(method, request_uri);
    if let Some(n) = nonce {
        expected = expected.with_nonce(n);
    }
    if let Some(t) = &input.access_token {
        expected = expected.with_access_token(t);
    }
    if input.bind_key {
        expected = expected.with_bound_key(&jkt);
    }

    let verifier = Verifier::new(ALL_VERIFIERS);
    let window = verifier.max_age() + verifier.leeway();
    let now = issued_at
        .saturating_add(u64::from(input.age) % (window + 1))
        .saturating_sub(verifier.leeway());
    let verified = match verifier.verify(&text, &expected, now) {
        Ok(v) => v,
        Err(e) => panic!("a proof we created does not verify: {e:?}\n{input:#?}\n{text}"),
    };
    assert_eq!(verified.algorithm(), alg);
    assert_eq!(verified.id(), input.jti);
    assert_eq!(verified.issued_at(), issued_at);
    assert_eq!(verified.nonce(), nonce);
    assert_eq!(verified.method(), method);
    assert_eq!(verified.thumbprint(), &jkt);
    assert_eq!(verified.public_jwk(), key.public_jwk());
    Some(alg)
}
