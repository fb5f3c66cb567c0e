//! Stateless server nonces: time window, forgery, binding, key rotation, and the round trip
//! through dpop-core's verifier.

use dpop_core::{
    Algorithm, Expected, HttpMethod, NewProof, ProofId, SigningKey, TargetUri, Thumbprint,
    UnixTime, Verifier, VerifyError,
    crypto::{VerifyAlgorithm, rustcrypto::ES256_VERIFIER},
};
use dpop_std::nonce::{
    NONCE_LEN, NonceError, NonceKey, NonceRequest, NonceSource, StatelessNonces,
};
use proptest::prelude::*;

/// The start of a 60-second step.
const STEP_START: u64 = 1_700_000_040;
const HTU: &str = "https://api.example.com/items";

fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(secs)
}

fn tp(n: u8) -> Thumbprint {
    Thumbprint::from_bytes([n; 32])
}

fn key(id: u8) -> NonceKey {
    NonceKey::new(id, [id.wrapping_mul(31).wrapping_add(1); 32])
}

fn plain() -> StatelessNonces {
    StatelessNonces::new(key(1))
}

#[test]
fn issued_nonce_is_valid_at_once() {
    assert_eq!(STEP_START % 60, 0);
    let nonces = plain();
    for now in [STEP_START, STEP_START + 59, 0, u64::MAX] {
        let nonce = nonces.issue(&NonceRequest::new(at(now)));
        assert_eq!(nonce.len(), NONCE_LEN);
        assert!(dpop_core::is_valid_nonce(&nonce));
        assert!(nonces.check(&nonce, &tp(1), HTU, at(now)).is_ok(), "{now}");
    }
}

#[test]
fn valid_in_the_next_step_stale_two_steps_later_invalid_from_the_future() {
    let nonces = plain();
    let nonce = nonces.issue(&NonceRequest::new(at(STEP_START + 59)));
    let check = |now| nonces.check(&nonce, &tp(1), HTU, at(now));
    assert_eq!(check(STEP_START), Ok(()));
    assert_eq!(check(STEP_START + 60), Ok(()));
    assert_eq!(check(STEP_START + 119), Ok(()));
    assert_eq!(
        check(STEP_START + 120),
        Err(NonceError::Stale),
        "two steps later"
    );
    assert_eq!(check(STEP_START + 10_000), Err(NonceError::Stale));
    // One step ahead is accepted (an instance whose clock just entered the next step); two
    // steps ahead is not.
    assert_eq!(check(STEP_START - 1), Ok(()));
    assert_eq!(check(STEP_START - 60), Ok(()));
    assert_eq!(check(STEP_START - 61), Err(NonceError::FromFuture));
    assert_eq!(check(0), Err(NonceError::FromFuture));
}

#[test]
fn a_nonce_from_an_instance_one_step_ahead_validates() {
    // Instance A's clock has just entered the next step; instance B is a second behind.
    let nonces = plain();
    let from_a = nonces.issue(&NonceRequest::new(at(STEP_START)));
    assert_eq!(
        nonces.check(&from_a, &tp(1), HTU, at(STEP_START - 1)),
        Ok(())
    );
    // Accepted until the end of step `issued + window - 1` on B's clock.
    assert_eq!(nonces.accepted_until(&from_a), Some(at(STEP_START + 119)));
    assert_eq!(
        nonces.check(&from_a, &tp(1), HTU, at(STEP_START + 119)),
        Ok(())
    );
    assert_eq!(
        nonces.check(&from_a, &tp(1), HTU, at(STEP_START + 120)),
        Err(NonceError::Stale)
    );
    assert_eq!(nonces.accepted_until("not a nonce"), None);
}

#[test]
fn a_valid_nonce_vouches_for_freshness_whatever_the_iat() {
    use dpop_core::{NonceContext, NonceStatus, NonceValidator, consts::NONCE_IAT_BOUND};
    let nonces = plain();
    let nonce = nonces.issue(&NonceRequest::new(at(STEP_START + 5)));
    let one = tp(1);
    let context = |now| NonceContext {
        thumbprint: &one,
        htu: HTU,
        method: HttpMethod::GET,
        now: at(now),
    };
    assert_eq!(
        nonces.status(&nonce, &context(STEP_START + 10)),
        NonceStatus::Fresh {
            accepted_until: at(STEP_START + 119)
        }
    );
    assert_eq!(
        nonces.status(&nonce, &context(STEP_START + 120)),
        NonceStatus::Invalid
    );
    // Through dpop-core: a client 90 s fast, then 1000 s slow, succeeds with the nonce.
    let signer = SigningKey::from_bytes(Algorithm::Es256, &[3; 32]).unwrap();
    let nonces = StatelessNonces::new(key(1)).with_thumbprint_binding(true);
    let now = at(STEP_START + 5);
    let nonce =
        nonces.issue(&NonceRequest::new(now).with_thumbprint(&signer.public_jwk().thumbprint()));
    let uri = TargetUri::parse(HTU).unwrap();
    let expected = Expected::new(HttpMethod::GET, uri).with_nonce_validator(&nonces);
    let verifier = Verifier::new(&[ES256_VERIFIER]);
    for iat in [STEP_START + 95, STEP_START + 5 - 1000] {
        let proof = NewProof::new(HttpMethod::GET, uri, ProofId::new("j").unwrap(), at(iat))
            .with_nonce(&nonce)
            .encode_to_string(&signer)
            .unwrap();
        let verified = verifier.verify(&proof, &expected, now).unwrap();
        assert_eq!(verified.nonce_fresh_until(), Some(at(STEP_START + 119)));
        // The same proof without the nonce validator is outside the iat window.
        let bare = Expected::new(HttpMethod::GET, uri);
        assert!(verifier.verify(&proof, &bare, now).is_err());
    }
    let ancient = NewProof::new(
        HttpMethod::GET,
        uri,
        ProofId::new("j").unwrap(),
        at(STEP_START - NONCE_IAT_BOUND),
    )
    .with_nonce(&nonce)
    .encode_to_string(&signer)
    .unwrap();
    assert!(matches!(
        verifier.verify(&ancient, &expected, now),
        Err(VerifyError::TooOld { .. })
    ));
}

#[test]
fn step_and_window_are_configurable() {
    let nonces = plain().with_step(10).with_window(5);
    let nonce = nonces.issue(&NonceRequest::new(at(STEP_START)));
    assert!(
        nonces
            .check(&nonce, &tp(1), HTU, at(STEP_START + 49))
            .is_ok()
    );
    let stale = nonces.check(&nonce, &tp(1), HTU, at(STEP_START + 50));
    assert_eq!(stale, Err(NonceError::Stale));
}

#[test]
fn should_refresh_in_every_step_but_the_current_one() {
    let nonces = plain();
    let nonce = nonces.issue(&NonceRequest::new(at(STEP_START + 30)));
    assert!(!nonces.should_refresh(&nonce, at(STEP_START)));
    assert!(!nonces.should_refresh(&nonce, at(STEP_START + 59)));
    assert!(
        nonces.should_refresh(&nonce, at(STEP_START + 60)),
        "previous step"
    );
    assert!(nonces.should_refresh(&nonce, at(STEP_START + 500)));
    assert!(nonces.should_refresh(&nonce, at(STEP_START - 1)));
    assert!(nonces.should_refresh("not a nonce", at(STEP_START)));
    assert!(nonces.should_refresh("", at(STEP_START)));
}

#[test]
fn any_changed_character_is_rejected() {
    let nonces = plain().with_thumbprint_binding(true).with_uri_binding(true);
    let now = at(STEP_START);
    let nonce = nonces.issue(&NonceRequest::new(now).with_thumbprint(&tp(1)).with_htu(HTU));
    assert!(nonces.check(&nonce, &tp(1), HTU, now).is_ok());
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for i in 0..nonce.len() {
        for &c in ALPHABET {
            let mut forged = nonce.clone().into_bytes();
            if forged[i] == c {
                continue;
            }
            forged[i] = c;
            let forged = String::from_utf8(forged).unwrap();
            assert!(nonces.check(&forged, &tp(1), HTU, now).is_err(), "{forged}");
        }
    }
    // Truncated, extended, padded.
    assert_eq!(
        nonces.check(&nonce[..47], &tp(1), HTU, now),
        Err(NonceError::Malformed)
    );
    assert_eq!(
        nonces.check(&format!("{nonce}A"), &tp(1), HTU, now),
        Err(NonceError::Malformed)
    );
    assert_eq!(
        nonces.check(&format!("{nonce}=="), &tp(1), HTU, now),
        Err(NonceError::Malformed)
    );
}

#[test]
fn bound_to_a_thumbprint() {
    let nonces = plain().with_thumbprint_binding(true);
    let now = at(STEP_START);
    let nonce = nonces.issue(&NonceRequest::new(now).with_thumbprint(&tp(0xA)));
    assert!(nonces.check(&nonce, &tp(0xA), HTU, now).is_ok());
    assert_eq!(
        nonces.check(&nonce, &tp(0xB), HTU, now),
        Err(NonceError::InvalidTag)
    );
    // The URI is not bound, so another URI is fine.
    assert!(
        nonces
            .check(&nonce, &tp(0xA), "https://other.example/", now)
            .is_ok()
    );
    // Issued without a thumbprint: never valid while binding is on.
    let unbound = nonces.issue(&NonceRequest::new(now));
    assert_eq!(
        nonces.check(&unbound, &tp(0xA), HTU, now),
        Err(NonceError::InvalidTag)
    );
}

#[test]
fn bound_to_a_uri() {
    let nonces = plain().with_uri_binding(true);
    let now = at(STEP_START);
    let nonce = nonces.issue(&NonceRequest::new(now).with_htu("https://x.example/a"));
    assert!(
        nonces
            .check(&nonce, &tp(1), "https://x.example/a", now)
            .is_ok()
    );
    assert!(
        nonces
            .check(&nonce, &tp(2), "https://x.example/a", now)
            .is_ok()
    );
    for other in ["https://y.example/a", "https://x.example/a/", ""] {
        let result = nonces.check(&nonce, &tp(1), other, now);
        assert_eq!(result, Err(NonceError::InvalidTag), "{other}");
    }
}

#[test]
fn binding_settings_must_match() {
    let now = at(STEP_START);
    let unbound = plain();
    let bound = plain().with_thumbprint_binding(true);
    let plain_nonce = unbound.issue(&NonceRequest::new(now).with_thumbprint(&tp(1)));
    assert_eq!(
        bound.check(&plain_nonce, &tp(1), HTU, now),
        Err(NonceError::InvalidTag)
    );
    let bound_nonce = bound.issue(&NonceRequest::new(now).with_thumbprint(&tp(1)));
    assert_eq!(
        unbound.check(&bound_nonce, &tp(1), HTU, now),
        Err(NonceError::InvalidTag)
    );
}

#[test]
fn key_rotation_without_a_flag_day() {
    let now = at(STEP_START);
    let before = StatelessNonces::new(key(1));
    let old_nonce = before.issue(&NonceRequest::new(now));

    // Key 2 becomes current; key 1 is kept as previous for a while.
    let during = StatelessNonces::new(key(2)).with_previous_key(key(1));
    assert_eq!(during.current_key_id(), 2);
    assert!(during.check(&old_nonce, &tp(1), HTU, now).is_ok());
    let new_nonce = during.issue(&NonceRequest::new(now));
    assert!(during.check(&new_nonce, &tp(1), HTU, now).is_ok());
    assert!(
        before.check(&new_nonce, &tp(1), HTU, now) == Err(NonceError::UnknownKey),
        "key 2 unknown to the old config"
    );

    // Key 1 removed: its nonces are refused.
    let after = StatelessNonces::new(key(2)).with_previous_key(key(3));
    assert_eq!(
        after.check(&old_nonce, &tp(1), HTU, now),
        Err(NonceError::UnknownKey)
    );
    assert!(after.check(&new_nonce, &tp(1), HTU, now).is_ok());
}

#[test]
fn same_id_with_another_secret_is_a_forgery() {
    let now = at(STEP_START);
    let nonce = plain().issue(&NonceRequest::new(now));
    let impostor = StatelessNonces::new(NonceKey::new(1, [0xEE; 32]));
    assert_eq!(
        impostor.check(&nonce, &tp(1), HTU, now),
        Err(NonceError::InvalidTag)
    );
}

#[test]
fn unknown_key_id_is_rejected() {
    let now = at(STEP_START);
    let nonce = StatelessNonces::new(key(7)).issue(&NonceRequest::new(now));
    let nonces = StatelessNonces::new(key(1)).with_previous_key(key(2));
    assert_eq!(
        nonces.check(&nonce, &tp(1), HTU, now),
        Err(NonceError::UnknownKey)
    );
}

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(Algorithm::Es256, &[7; 32]).expect("valid P-256 scalar")
}

fn proof(nonce: Option<&str>, now: UnixTime) -> String {
    let uri = TargetUri::parse(HTU).expect("valid URI");
    let id = ProofId::new("jti-1").expect("valid jti");
    let proof = NewProof::new(HttpMethod::POST, uri, id, now);
    let proof = match nonce {
        Some(nonce) => proof.with_nonce(nonce),
        None => proof,
    };
    proof.encode_to_string(&signing_key()).expect("signs")
}

#[test]
fn round_trip_through_the_dpop_core_verifier() {
    static ALGS: [&dyn VerifyAlgorithm; 1] = [ES256_VERIFIER];
    let verifier = Verifier::new(&ALGS);
    let nonces = plain().with_thumbprint_binding(true).with_uri_binding(true);
    let client = signing_key().public_jwk().thumbprint();
    let uri = TargetUri::parse(HTU).unwrap();
    let expected = Expected::new(HttpMethod::POST, uri).with_nonce_validator(&nonces);
    let now = at(STEP_START + 5);

    // No nonce yet: the server asks for one.
    let err = verifier
        .verify(&proof(None, now), &expected, now)
        .unwrap_err();
    assert_eq!(err, VerifyError::NonceRequired);
    assert_eq!(err.error_code(), "use_dpop_nonce");

    // The nonce the server hands out, bound to the key and the canonical URI, is accepted.
    let mut canonical = [0; 512];
    let htu = TargetUri::parse(HTU)
        .unwrap()
        .write_canonical(&mut canonical)
        .unwrap();
    let nonce = nonces.issue(
        &NonceRequest::new(now)
            .with_thumbprint(&client)
            .with_htu(htu),
    );
    let verified = verifier
        .verify(&proof(Some(&nonce), now), &expected, now)
        .unwrap();
    assert_eq!(verified.nonce(), Some(nonce.as_str()));
    assert!(!nonces.should_refresh(&nonce, now));

    // A forged nonce is refused with the same error code.
    let mut forged = nonce.clone().into_bytes();
    forged[30] = if forged[30] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let err = verifier
        .verify(&proof(Some(&forged), now), &expected, now)
        .unwrap_err();
    assert_eq!(err, VerifyError::NonceInvalid);
    assert_eq!(err.error_code(), "use_dpop_nonce");

    // A stale one too.
    let later = now.saturating_add(120);
    let err = verifier
        .verify(&proof(Some(&nonce), later), &expected, later)
        .unwrap_err();
    assert_eq!(err, VerifyError::NonceInvalid);

    // A nonce bound to another client key is refused.
    let other = nonces.issue(&NonceRequest::new(now).with_thumbprint(&tp(9)).with_htu(htu));
    let err = verifier
        .verify(&proof(Some(&other), now), &expected, now)
        .unwrap_err();
    assert_eq!(err, VerifyError::NonceInvalid);
}

#[test]
fn types_are_send_and_sync_and_debug_hides_secrets() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<StatelessNonces>();
    assert_send_sync::<NonceKey>();
    let text = format!("{:?}", StatelessNonces::new(NonceKey::new(1, [0x99; 32])));
    assert!(!text.contains("153") && !text.contains("99"), "{text}");
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_and_never_validates(text in ".*", now in any::<u64>()) {
        let nonces = plain().with_thumbprint_binding(true);
        prop_assert!(nonces.check(&text, &tp(1), HTU, at(now)).is_err());
        let _ = nonces.should_refresh(&text, at(now));
    }

    #[test]
    fn nonce_shaped_text_never_validates(text in "[A-Za-z0-9_-]{48}", now in any::<u64>()) {
        let nonces = plain();
        prop_assert!(nonces.check(&text, &tp(1), HTU, at(now)).is_err());
        let _ = nonces.should_refresh(&text, at(now));
    }

    #[test]
    fn issued_nonces_validate_in_their_window(now in any::<u64>(), wait in 0..200_u64) {
        let nonces = plain();
        let nonce = nonces.issue(&NonceRequest::new(at(now)));
        let later = now.saturating_add(wait);
        let same_or_next_step = later / 60 - now / 60 <= 1;
        prop_assert_eq!(nonces.check(&nonce, &tp(1), HTU, at(later)).is_ok(), same_or_next_step);
    }
}
