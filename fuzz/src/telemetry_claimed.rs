//! `telemetry_claimed` (dpop-std): the unverified `claimed_htu`, `claimed_htm` and `iat` a
//! rejection event reports from a proof that did not verify.
//!
//! Input: a first byte; if it is `0`, the rest is a proof's payload JSON, put between a fixed
//! header and signature after base64url encoding (so the fuzzer reaches the JSON); otherwise
//! the whole input is the proof text (lossy UTF-8).
//!
//! Checked: nothing of a proof longer than the limit is read; `claimed_htu` is at most 256
//! characters of printable ASCII (no control characters, no newlines: an attacker's text in a
//! log line), `claimed_htm` at most 32 of them; and all three equal a model that decodes the
//! second segment with base64ct and reads the JSON with serde_json (`htu` and `htm` strings
//! with other characters replaced by `?`, `iat` an integer that fits `i64`).

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_std::__fuzzing::{CLAIMED_LIMITS, claimed};
use serde_json::Value;

fn bounded(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect()
}

fn model(proof: &str) -> (Option<String>, Option<String>, Option<i64>) {
    let (max_htu, max_proof) = CLAIMED_LIMITS;
    let read = || -> Option<(Option<String>, Option<String>, Option<i64>)> {
        if proof.len() > max_proof {
            return None;
        }
        let payload = proof.split('.').nth(1)?;
        let json = Base64UrlUnpadded::decode_vec(payload).ok()?;
        let value: Value = serde_json::from_slice(&json).ok()?;
        let text = |name: &str| value.get(name)?.as_str().map(|s| bounded(s, max_htu));
        Some((
            text("htu"),
            text("htm").map(|m| m.chars().take(32).collect()),
            value.get("iat").and_then(Value::as_i64),
        ))
    };
    read().unwrap_or_default()
}

/// The target.
pub fn run(data: &[u8]) {
    let proof = match data.split_first() {
        Some((0, payload)) => format!(
            "eyJ0eXAiOiJkcG9wK2p3dCJ9.{}.c2ln",
            Base64UrlUnpadded::encode_string(payload)
        ),
        _ => String::from_utf8_lossy(data).into_owned(),
    };
    let (htu, htm, iat) = claimed(&proof);
    let (max_htu, max_proof) = CLAIMED_LIMITS;
    if proof.len() > max_proof {
        assert_eq!(
            (&htu, &htm, iat),
            (&None, &None, None),
            "read an oversized proof"
        );
    }
    for (text, max) in [(&htu, max_htu), (&htm, 32)] {
        if let Some(text) = text {
            assert!(text.chars().count() <= max, "{} characters", text.len());
            assert!(
                text.bytes().all(|b| (b' '..=b'~').contains(&b)),
                "non-printable character in {text:?}"
            );
        }
    }
    assert_eq!((htu, htm, iat), model(&proof), "claimed of {proof:?}");
}
