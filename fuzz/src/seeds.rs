//! The seed corpora, generated from the test vectors: `fuzz/seeds/<target>/<name>`.
//!
//! `tests/replay.rs` checks that the files on disk are exactly what [`all`] generates, and
//! rewrites them when run with `DPOP_FUZZ_WRITE_SEEDS=1`:
//!
//! ```sh
//! DPOP_FUZZ_WRITE_SEEDS=1 cargo test --manifest-path fuzz/Cargo.toml
//! ```

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::{Algorithm, consts::MAX_JWK_JSON_LEN};

use dpop_core::{HttpMethod, NewProof, ProofId, TargetUri, UnixTime};

use crate::fixtures::{
    CONTEXTS, GENERATED_CONTEXT, NOW, RFC_TOKEN, key, known_proofs, rfc_jwk_json,
};
use crate::proof_claims::Flags;
use crate::{create_verify, http_text, nonce_validate, proof_claims};

/// dpop-core's htu module: its documentation table lists typical and edge-case URIs.
const HTU_SOURCE: &str = include_str!("../../crates/dpop-core/src/htu.rs");

/// One seed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seed {
    /// The target (directory).
    pub target: &'static str,
    /// The file name.
    pub name: String,
    /// The contents.
    pub data: Vec<u8>,
}

/// Every seed of every target.
#[must_use]
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut add = |target: &'static str, name: &str, data: Vec<u8>| {
        seeds.push(Seed {
            target,
            name: name.to_owned(),
            data,
        });
    };

    // proof_verify: the known valid proofs, as they are.
    for known in known_proofs() {
        add(
            "proof_verify",
            &known.name,
            known.proof.clone().into_bytes(),
        );
    }

    // proof_claims: their decoded header and payload, with the matching flags; then a few
    // variants that exercise optional claims and escapes.
    for known in known_proofs() {
        let (header, payload) = decode(&known.proof);
        let alg = Algorithm::ALL
            .iter()
            .position(|a| header.contains(a.name()))
            .unwrap();
        let flags = Flags::new(known.context as u8, alg as u8);
        add(
            "proof_claims",
            &known.name,
            proof_claims::input(flags, &header, &payload),
        );
    }
    let es256 = known_proofs()
        .iter()
        .find(|k| k.name == "generated-es256")
        .unwrap();
    let (header, _) = decode(&es256.proof);
    let ath = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo";
    let nonce = crate::fixtures::NONCE;
    let generated = Flags::new(GENERATED_CONTEXT as u8, 0);
    add(
        "proof_claims",
        "exp-and-bound-key",
        proof_claims::input(
            Flags(generated.0 | 1 << 5),
            &header,
            &format!(
                r#"{{"jti":"j","htm":"GET","htu":"https://api.example.com/v1/~items/list","iat":{NOW},"exp":{},"ath":"{ath}","nonce":"{nonce}"}}"#,
                NOW + 60
            ),
        ),
    );
    add(
        "proof_claims",
        "escaped-names-and-values",
        proof_claims::input(
            generated,
            &header.replace(r#""typ":"dpop+jwt""#, r#""\u0074yp":"dpop\u002bjwt""#),
            &format!(
                r#"{{"\u006a\u0074\u0069":"\ud83d\ude00 \"q\" \\","htm":"G\u0045T","htu":"https:\/\/api.example.com\/v1\/%7Eitems\/list","iat":{NOW},"ath":"{ath}","nonce":"{nonce}"}}"#
            ),
        ),
    );

    // jwk_roundtrip: the RFC key, each fixed key, and one with extra and escaped members.
    add("jwk_roundtrip", "rfc9449", rfc_jwk_json().into_bytes());
    for alg in Algorithm::ALL {
        let mut buf = [0u8; MAX_JWK_JSON_LEN];
        let json = key(alg).public_jwk().write_json(&mut buf).unwrap();
        add(
            "jwk_roundtrip",
            &alg.name().to_ascii_lowercase(),
            json.as_bytes().to_vec(),
        );
    }
    let rfc = rfc_jwk_json();
    add(
        "jwk_roundtrip",
        "extra-members",
        rfc.replacen(
            '{',
            r#"{ "kid" : "k1", "use":"sig", "key_ops":["verify"], "alg":"ES256", "ext":true, "n":null, "\u006bty2":1.5e3,"#,
            1,
        )
        .replace(r#""crv":"P-256""#, r#""crv":"P\u002d256""#)
        .into_bytes(),
    );

    // htu: the inputs of dpop-core's htu table, two per file (the target compares the pair).
    let table = htu_table_inputs();
    for (i, pair) in table.chunks(2).enumerate() {
        add(
            "htu",
            &format!("table-{i:02}"),
            pair.join("\n").into_bytes(),
        );
    }
    add(
        "htu",
        "equal-pair",
        format!(
            "{}\n{}",
            CONTEXTS[GENERATED_CONTEXT].uri, "https://api.example.com/v1/~items/list"
        )
        .into_bytes(),
    );

    // json_vs_serde: every decoded header and payload, the key, and documents with every kind
    // of value, escape and number.
    for known in known_proofs()
        .iter()
        .filter(|k| k.context == 0 || k.name.ends_with("es256"))
    {
        let (header, payload) = decode(&known.proof);
        add(
            "json_vs_serde",
            &format!("{}-header", known.name),
            header.into_bytes(),
        );
        add(
            "json_vs_serde",
            &format!("{}-payload", known.name),
            payload.into_bytes(),
        );
    }
    add(
        "json_vs_serde",
        "values",
        br#" {"a":[null,true,false,0,-0,1.5,-2e-3,1E+2,123456789012345678901234567890,[],{}],
"s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 \u0000","o":{"":{"x":[[[]]]}},"n":-9223372036854775808}
"#
        .to_vec(),
    );
    add(
        "json_vs_serde",
        "huge-number",
        br#"{"big":1e400,"small":-1e-400}"#.to_vec(),
    );

    // create_verify: structured inputs found by a fixed pseudo-random search, one per curve.
    for (alg, data) in create_verify_seeds() {
        add("create_verify", &alg.name().to_ascii_lowercase(), data);
    }

    // nonce_validate: structured inputs (same search) in which nonces are issued and accepted.
    for (i, data) in search(|data| nonce_validate::accepted(data) > 0, 3)
        .into_iter()
        .enumerate()
    {
        add("nonce_validate", &format!("accepting-{i}"), data);
    }

    // authorization_header: requests to the two servers, with valid proofs.
    let proof = |alg: Algorithm, method: &str, url: &str, token: Option<&str>| {
        let mut p = NewProof::new(
            HttpMethod::parse(method).unwrap(),
            TargetUri::parse(url).unwrap(),
            ProofId::new("req-1").unwrap(),
            UnixTime::from_secs(NOW),
        );
        if let Some(t) = token {
            p = p.with_access_token(t);
        }
        p.encode_to_string(key(alg)).unwrap()
    };
    let items = "https://api.example.com/v1/items";
    let token_url = "https://api.example.com/token";
    let dpop_auth = format!("DPoP {RFC_TOKEN}");
    let resource_proof = proof(Algorithm::Es256, "GET", items, Some(RFC_TOKEN));
    add(
        "authorization_header",
        "resource-dpop",
        http_text::write(
            "GET /v1/items?page=2",
            &[
                ("host", "api.example.com"),
                ("authorization", &dpop_auth),
                ("dpop", &resource_proof),
            ],
            "",
        ),
    );
    add(
        "authorization_header",
        "resource-other-key",
        http_text::write(
            "GET /v1/items",
            &[
                ("host", "api.example.com"),
                ("authorization", &format!("dpop  {RFC_TOKEN}")),
                (
                    "dpop",
                    &proof(Algorithm::Es384, "GET", items, Some(RFC_TOKEN)),
                ),
            ],
            "",
        ),
    );
    add(
        "authorization_header",
        "token-request",
        http_text::write(
            "POST /token",
            &[
                ("host", "api.example.com"),
                ("content-type", "application/x-www-form-urlencoded"),
                ("dpop", &proof(Algorithm::Es512, "POST", token_url, None)),
            ],
            "grant_type=refresh_token&refresh_token=x",
        ),
    );
    add(
        "authorization_header",
        "bearer",
        http_text::write(
            "GET /v1/items",
            &[
                ("host", "api.example.com:443"),
                ("authorization", "Bearer mF_9.B5f-4.1JqM+/a=="),
            ],
            "",
        ),
    );
    add(
        "authorization_header",
        "forwarded",
        http_text::write(
            "GET /backend/v1/./items/../items?x",
            &[
                ("host", "10.0.0.5:8080"),
                (
                    "forwarded",
                    "for=192.0.2.60;proto=http, for=10.0.0.1;proto=https;host=\"api.example.com\"",
                ),
                ("authorization", &dpop_auth),
                ("dpop", &resource_proof),
            ],
            "",
        ),
    );
    add(
        "authorization_header",
        "x-forwarded-absolute-form",
        http_text::write(
            "POST http://10.0.0.5/backend/token",
            &[
                ("x-forwarded-proto", "http, https"),
                ("x-forwarded-host", "api.example.com"),
                ("authorization", "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
                ("authorization", &dpop_auth),
                ("dpop", &proof(Algorithm::Es256, "POST", token_url, None)),
            ],
            "",
        ),
    );

    // www_authenticate: responses to a client request.
    add(
        "www_authenticate",
        "rfc9449-resource-nonce",
        http_text::write(
            "401",
            &[
                (
                    "www-authenticate",
                    r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#,
                ),
                ("dpop-nonce", "eyJ7S_zG.eyJH0-Z.HX4w-7v"),
            ],
            "",
        ),
    );
    add(
        "www_authenticate",
        "rfc9449-as-nonce",
        http_text::write(
            "400",
            &[
                ("content-type", "application/json"),
                ("dpop-nonce", "eyJ7S_zG.eyJH0-Z.HX4w-7v"),
            ],
            r#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#,
        ),
    );
    add(
        "www_authenticate",
        "several-challenges",
        http_text::write(
            "401",
            &[
                (
                    "www-authenticate",
                    r#"Bearer realm="api", error="invalid_token", Basic abc==, DPoP realm="api",algs="ES256 PS256", error=use_dpop_nonce"#,
                ),
                (
                    "www-authenticate",
                    r#"DPoP error="invalid_dpop_proof", error_description="proof is too old: iat 1, server time 1700000123 \"q\"""#,
                ),
                ("dpop-nonce", "n-1"),
                ("date", "Tue, 14 Nov 2023 22:13:20 GMT"),
            ],
            "",
        ),
    );
    add(
        "www_authenticate",
        "ok-with-nonce-and-date",
        http_text::write(
            "200",
            &[
                ("dpop-nonce", "!#[]~"),
                ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ],
            "{}",
        ),
    );

    // token_response: RFC 9449 section 5 and variants, an error body, a cnf claim.
    for (name, json) in [
        (
            "rfc9449-section5",
            r#"{"access_token":"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU","token_type":"DPoP","expires_in":2677,"refresh_token":"Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g"}"#,
        ),
        (
            "dpop-with-scope",
            r#"{"access_token":"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU","token_type":"dpop","expires_in":2677,"scope":"read write","refresh_token":"r","session_id":"s\u00e9"}"#,
        ),
        (
            "bearer",
            r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600,"scope":"","example_parameter":"example_value"}"#,
        ),
        ("minimal", r#"{"access_token":"at","token_type":"DPoP"}"#),
        (
            "extensions",
            r#"{"access_token":"at","expires_in":"600","token_type":"DPoP","scope":null,"id_token":"a.b.c","n":{"x":[1,2.5e-3,null,true]}}"#,
        ),
        (
            "error",
            r#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#,
        ),
        (
            "cnf",
            r#"{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}"#,
        ),
    ] {
        add("token_response", name, json.as_bytes().to_vec());
    }
    seeds
}

/// The decoded header and payload text of a compact proof.
fn decode(proof: &str) -> (String, String) {
    let mut segments = proof.split('.');
    let mut next = || {
        let bytes = Base64UrlUnpadded::decode_vec(segments.next().unwrap()).unwrap();
        String::from_utf8(bytes).unwrap()
    };
    (next(), next())
}

/// The input column of the table in dpop-core's htu module docs.
#[must_use]
pub fn htu_table_inputs() -> Vec<String> {
    HTU_SOURCE
        .lines()
        .filter_map(|line| line.strip_prefix("/// | "))
        .filter_map(|row| row.split_once(" | ").map(|(input, _)| input))
        .filter_map(|cell| {
            // A code span, `x` or `` x `` (for text with a backtick); `\|` is an escaped `|`.
            cell.strip_prefix("`` ")
                .and_then(|c| c.strip_suffix(" ``"))
                .or_else(|| cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')))
                .map(|c| c.replace("\\|", "|"))
        })
        .collect()
}

/// Deterministic pseudo-random inputs (xorshift64, 96 bytes each).
fn random_inputs() -> impl Iterator<Item = Vec<u8>> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..1_000_000).map(move |_| {
        (0..96)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect()
    })
}

/// The first `n` pseudo-random inputs for which `wanted` holds.
fn search(wanted: impl Fn(&[u8]) -> bool, n: usize) -> Vec<Vec<u8>> {
    random_inputs().filter(|d| wanted(d)).take(n).collect()
}

/// Deterministic inputs of `create_verify` that create a proof, one per algorithm.
fn create_verify_seeds() -> Vec<(Algorithm, Vec<u8>)> {
    let mut found: Vec<(Algorithm, Vec<u8>)> = Vec::new();
    for data in random_inputs() {
        if let Some(alg) = create_verify::created(&data)
            && !found.iter().any(|(a, _)| *a == alg)
        {
            found.push((alg, data));
            if found.len() == Algorithm::ALL.len() {
                break;
            }
        }
    }
    found.sort_by_key(|(a, _)| a.name());
    found
}
