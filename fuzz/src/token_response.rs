//! `token_response`: dpop-std's wire types read from arbitrary bytes (serde_json).
//!
//! When `TokenResponse`, `ErrorBody` or `Confirmation` parses, writing it and reading it back
//! gives an equal value and the same text again (extension members included);
//! `TokenResponse::to_response` never fails; and `Client::read_token_response` accepts exactly
//! the `DPoP` token responses.

use std::sync::OnceLock;

use dpop_core::Algorithm;
use dpop_std::client::{Client, TokenError};
use dpop_std::wire::{Confirmation, ErrorBody, TokenResponse, TokenType};

use crate::fixtures::key;

fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| Client::new(key(Algorithm::Es256)))
}

/// The target.
pub fn run(data: &[u8]) {
    if let Ok(response) = TokenResponse::from_json(data) {
        let json = response.to_json().expect("a token response serializes");
        let again = TokenResponse::from_json(json.as_bytes()).expect("own output parses");
        assert!(again == response, "token response round trip");
        assert_eq!(again.to_json().unwrap(), json, "stable serialization");
        let http = response.to_response().expect("to_response");
        assert_eq!(http.body(), &json);
        // Debug must not show the tokens: it is the same for other tokens of the same length.
        let mut other = response.clone();
        other.access_token = "#".repeat(other.access_token.len());
        other.refresh_token = other.refresh_token.map(|t| "#".repeat(t.len()));
        assert_eq!(
            format!("{response:?}"),
            format!("{other:?}"),
            "Debug shows a token"
        );
        match client().read_token_response(data) {
            Ok(set) => {
                assert_eq!(response.token_type, TokenType::Dpop);
                assert_eq!(set.access_token(), response.access_token);
                assert_eq!(set.expires_in(), response.expires_in);
                assert_eq!(set.refresh_token(), response.refresh_token.as_deref());
                assert_eq!(set.scope(), response.scope.as_deref());
                assert_eq!(set.extras(), response.extras());
            }
            Err(TokenError::Binding(_)) => assert_eq!(response.token_type, TokenType::Bearer),
            Err(e) => panic!("read_token_response refuses a valid token response: {e:?}"),
        }
    } else {
        assert!(
            matches!(
                client().read_token_response(data),
                Err(TokenError::Malformed(_) | TokenError::InvalidMember(_))
            ),
            "read_token_response accepts what TokenResponse::from_json refuses"
        );
    }

    if let Ok(body) = ErrorBody::from_json(data) {
        let json = body.to_json().expect("an error body serializes");
        let again = ErrorBody::from_json(json.as_bytes()).expect("own output parses");
        assert_eq!(again, body, "error body round trip");
        assert_eq!(again.to_json().unwrap(), json);
    }

    if let Ok(cnf) = serde_json::from_slice::<Confirmation>(data) {
        let json = serde_json::to_string(&cnf).unwrap();
        let again: Confirmation = serde_json::from_str(&json).expect("own output parses");
        assert_eq!(again, cnf, "cnf round trip");
        assert_eq!(json, format!(r#"{{"jkt":"{}"}}"#, cnf.jkt));
    }
}
