//! RFC 7638 thumbprints: the RFC's canonical member rules on EC keys of every curve.

use dpop_core::{Algorithm, PublicJwk};
use sha2::{Digest, Sha256};

use crate::common::{jwk_json, key};

#[test]
fn canonical_input_is_crv_kty_x_y_without_whitespace() {
    for alg in Algorithm::ALL {
        let k = key(alg);
        let json = jwk_json(&k);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let expected = format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            v["crv"].as_str().unwrap(),
            v["x"].as_str().unwrap(),
            v["y"].as_str().unwrap()
        );
        assert_eq!(json, expected);
        let digest: [u8; 32] = Sha256::digest(expected.as_bytes()).into();
        assert_eq!(k.public_jwk().thumbprint().as_bytes(), &digest);
    }
}

#[test]
fn thumbprint_ignores_member_order_whitespace_and_extra_members() {
    for alg in Algorithm::ALL {
        let k = key(alg);
        let v: serde_json::Value = serde_json::from_str(&jwk_json(&k)).unwrap();
        let reordered = format!(
            "{{ \"y\" : \"{}\",\n \"kid\":\"key-1\", \"use\":\"sig\", \"x\":\"{}\", \"kty\":\"EC\", \"crv\":\"{}\", \"alg\":\"{}\" }}",
            v["y"].as_str().unwrap(),
            v["x"].as_str().unwrap(),
            v["crv"].as_str().unwrap(),
            alg.name()
        );
        let parsed = PublicJwk::from_json(reordered.as_bytes()).unwrap();
        assert_eq!(parsed.thumbprint(), k.public_jwk().thumbprint());
    }
}
