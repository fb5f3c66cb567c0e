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

    // Found by fuzzing: escapes that push the canonical form to the limit, with a query.
    add(
        "htu",
        "escapes-at-the-limit",
        format!(
            "https://a/{}?q\nhttps://a/{}%7C",
            "|".repeat(679),
            "|".repeat(678)
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
    new_target_seeds(&mut add);
    seeds
}

/// RFC 7517 appendix A.1's RSA modulus, for a JWKS entry.
const RSA_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

/// Seeds of the targets for dpop-reqwest, dpop-axum and dpop-std's telemetry.
fn new_target_seeds(add: &mut impl FnMut(&'static str, &str, Vec<u8>)) {
    // redirect: `METHOD FROM REPLAYABLE`, then `STATUS LOCATION[\tLOCATION...]` per response.
    for (name, text) in [
        (
            "get-302-307-200",
            "GET https://api.example/a/b 1\n302 /c\n307 ../d?x=1\n200",
        ),
        (
            "post-303",
            "POST https://api.example/token 0\n303 https://api.example/done",
        ),
        (
            "post-302-becomes-get",
            "POST https://api.example/x 1\n302 /y\n308 /z",
        ),
        (
            "post-307-not-replayable",
            "POST https://api.example/x 0\n307 /y",
        ),
        (
            "put-301-keeps",
            "PUT https://api.example/x 1\n301 /y\n303 /z",
        ),
        ("head-303", "HEAD https://a.example/ 0\n303 /x"),
        (
            "downgrade",
            "GET https://api.example/ 1\n301 http://api.example/",
        ),
        (
            "cross-origin",
            "GET https://api.example/ 1\n302 https://evil.example/",
        ),
        (
            "other-port",
            "GET http://127.0.0.1:8080/a 1\n302 //127.0.0.1:8081/b",
        ),
        (
            "default-port",
            "GET https://api.example/a 1\n302 HTTPS://API.EXAMPLE:443/%7e/b",
        ),
        (
            "ipv6",
            "GET http://[::1]:8080/a 1\n302 http://[0:0::1]:8080/b",
        ),
        (
            "too-many",
            "GET https://a.example/0 1\n302 /1\n302 /2\n302 /3\n302 /4\n302 /5\n302 /6",
        ),
        ("two-locations", "GET https://a.example/ 1\n302 /x\t/y"),
        ("fragment", "GET https://a.example/ 1\n302 /x#f"),
        (
            "javascript",
            "GET https://a.example/ 1\n302 javascript:alert(1)",
        ),
        ("no-location", "GET https://a.example/ 1\n302"),
        (
            "path-specials",
            "GET https://a.example/ 1\n307 /auth0|1/{x}",
        ),
        // URL-parser corners: userinfo, backslashes as slashes, encoded dot segments.
        (
            "userinfo",
            "GET https://api.example/ 1\n302 https://user:pw@api.example/x",
        ),
        (
            "backslash-authority",
            "GET https://api.example/ 1\n302 \\\\evil.example\\x",
        ),
        (
            "encoded-dot-segments",
            "GET https://api.example/a/b 1\n302 /%2e%2e/%2E/c/..%2f",
        ),
    ] {
        add("redirect", name, text.as_bytes().to_vec());
    }
    add(
        "redirect",
        "obs-text-location",
        b"GET https://a.example/ 1\n302 /caf\xe9".to_vec(),
    );

    // challenges: header values (`\n` between headers); `#` + bytes: a generated list.
    for (name, text) in [
        (
            "dpop-invalid-token",
            r#"DPoP error="invalid_token", error_description="The access token expired""#,
        ),
        (
            "several",
            r#"Bearer realm="api", error="invalid_token", Basic abc==, DPoP realm="api",algs="ES256 PS256", error=use_dpop_nonce"#,
        ),
        ("token68", "Negotiate abc==, DPoP error=use_dpop_nonce"),
        ("two-headers", "Basic realm=x\nBearer error=invalid_token"),
        ("escapes", r#"DPoP error="inv\"alid", realm="a\\b""#),
        ("empty-members", "Basic realm=\"x\", , ,Bearer"),
        ("spaces-around-equals", r#"bearer ERROR = "invalid_token""#),
        ("slash-scheme", "Bea/rer error=invalid_token, DPoP a=b/c"),
        ("unterminated", r#"DPoP error="invalid_token"#),
    ] {
        add("challenges", name, text.as_bytes().to_vec());
    }
    for (i, data) in random_inputs().take(3).enumerate() {
        let mut seed = vec![b'#'];
        seed.extend_from_slice(&data);
        add("challenges", &format!("generated-{i}"), seed);
    }

    // grant_responses: status byte (300 + byte), then the body.
    for (name, status, body) in [
        (
            "oauth-error",
            100u8,
            r#"{"error":"invalid_grant","error_description":"refresh token expired"}"#,
        ),
        (
            "authorization-pending",
            100,
            r#"{"error":"authorization_pending"}"#,
        ),
        ("not-json", 200, "<html>bad gateway</html>"),
        (
            "rfc8628-device",
            0,
            r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT","expires_in":1800,"interval":5}"#,
        ),
        (
            "device-nulls-and-unknown",
            0,
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://e/d","verification_uri_complete":null,"expires_in":600,"interval":null,"x":1e400}"#,
        ),
        (
            "device-array",
            0,
            r#"["d","u","https://e/d",null,600,null]"#,
        ),
        (
            "device-duplicate",
            0,
            r#"{"device_code":"a","device_code":"b","user_code":"u","verification_uri":"v","expires_in":1}"#,
        ),
        (
            "device-float-expiry",
            0,
            r#"{"device_code":"d","user_code":"u","verification_uri":"v","expires_in":1800.0}"#,
        ),
    ] {
        let mut data = vec![status];
        data.extend_from_slice(body.as_bytes());
        add("grant_responses", name, data);
    }

    // resolver_claims: introspection responses and claim sets.
    for (name, json) in [
        (
            "rfc7662-active",
            r#"{"active":true,"client_id":"l238j323ds-23ij4","username":"jdoe","scope":"read write dolphin","sub":"Z5O3upPC88QrAjx00dis","aud":"https://protected.example.net/resource","iss":"https://server.example.com/","exp":4102444800,"iat":1419350238,"extension_field":"twenty-seven"}"#,
        ),
        (
            "dpop-bound",
            r#"{"active":true,"token_type":"DPoP","cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},"aud":["https://rs.example",7],"exp":4102444800.5}"#,
        ),
        ("dpop-unbound", r#"{"active":true,"token_type":"dpop"}"#),
        (
            "mtls-bound",
            r#"{"active":true,"cnf":{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}"#,
        ),
        ("inactive", r#"{"active":false,"exp":4102444800}"#),
        ("expired", r#"{"active":true,"exp":1}"#),
        ("not-yet-valid", r#"{"active":true,"nbf":4102444800}"#),
        (
            "dates",
            r#"{"exp":-0.0,"iat":9007199254740993,"nbf":1.5e3,"x":18446744073709551615,"y":18446744073709551616,"z":-1}"#,
        ),
        (
            "urls",
            r#"{"jwks_uri":"http://localhost/jwks","a":"http://[::1]:8080/","b":"http://127.0.0.2/","c":"http://example.com/","d":"HTTPS://AS.EXAMPLE/","e":"http://[::ffff:127.0.0.1]/","f":"http://0x7f.1/","g":"http://localhost./"}"#,
        ),
        ("array", "[1]"),
    ] {
        add("resolver_claims", name, json.as_bytes().to_vec());
    }

    // telemetry_claimed: 0 + payload JSON, or a proof as text.
    let long_htu = format!(
        r#"{{"htu":"https://a.example/{}","htm":"{}"}}"#,
        "x".repeat(300),
        "M".repeat(40)
    );
    for (name, json) in [
        (
            "rfc9449-payload",
            r#"{"jti":"-BwC3ESc6acc2lTc","htm":"POST","htu":"https://server.example.com/token","iat":1562262616}"#,
        ),
        (
            "control-characters",
            r#"{"htu":"https://a/\n\u001b[31mred\u00e9","htm":"GET\u0000","iat":-5}"#,
        ),
        ("fractional-iat", r#"{"htu":7,"iat":1.5}"#),
        ("long", long_htu.as_str()),
    ] {
        let mut data = vec![0u8];
        data.extend_from_slice(json.as_bytes());
        add("telemetry_claimed", name, data);
    }
    if let Some(known) = known_proofs().first() {
        add(
            "telemetry_claimed",
            "known-proof",
            known.proof.clone().into_bytes(),
        );
    }
    add("telemetry_claimed", "not-base64", b"a.b!.c".to_vec());

    // jwt_claims: access token claims and JWKS entries.
    let jwks = format!(
        r#"{{"keys":[{ec},{{"kty":"RSA","n":"{RSA_N}","e":"AQAB","kid":"r1","alg":"RS256","use":"sig"}},{{"kty":"oct","k":"c2VjcmV0"}},{{"kty":"RSA","n":"{RSA_N}","e":"AQAB","use":"enc"}},{{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}]}}"#,
        ec = rfc_jwk_json()
    );
    for (name, json) in [
        (
            "rfc9068-claims",
            r#"{"iss":"https://as.example","sub":"u","aud":["https://rs.example",7],"exp":4102444800,"iat":1700000000.9,"jti":"j","client_id":"c","scope":"read write","cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}"#,
        ),
        ("no-exp", r#"{"iss":"https://as.example","aud":"x"}"#),
        ("jwks", jwks.as_str()),
    ] {
        add("jwt_claims", name, json.as_bytes().to_vec());
    }
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
