//! `dpop inspect`: decode a proof's header and claims for debugging, without verifying them.
//!
//! The report is pretty JSON:
//! `{"verified": false, "warning": "...", "header": {..}, "payload": {..}, "signature_bytes": N,
//! "jkt": "..."}`, with `"jkt": null` and a `"jkt_error"` when the header's `jwk` is absent or
//! not a valid public EC key. Private key members in the header's `jwk` are redacted.

use std::process::ExitCode;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::PublicJwk;
use dpop_core::crypto::{CryptoProvider as _, rustcrypto};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::InspectArgs;
use crate::error::CliError;
use crate::input::{Source, print_line};

/// Marks every report: nothing in it has been checked.
const WARNING: &str = "signature and claims NOT verified";

/// JWK members that hold private or symmetric key material (RFC 7518 section 6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/// What replaces a private JWK member in the report.
const REDACTED: &str = "(redacted private key material)";

/// The report; field order is the output order.
#[derive(Debug, Serialize)]
struct Report {
    verified: bool,
    warning: &'static str,
    header: Value,
    payload: Value,
    signature_bytes: usize,
    jkt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jkt_error: Option<String>,
}

/// Decodes the proof and prints the report.
///
/// # Errors
///
/// A runtime error when the proof cannot be read or is not three base64url segments of which
/// the first two are JSON objects.
pub(crate) fn run(args: &InspectArgs) -> Result<ExitCode, CliError> {
    let proof = match args.proof.as_deref() {
        Some(text) if text != "-" => text.trim().to_owned(),
        _ => Source::Stdin.read_trimmed_text()?,
    };
    let report = inspect(&proof).map_err(CliError::runtime)?;
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| CliError::runtime(format!("cannot write JSON: {e}")))?;
    print_line(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Decodes a compact JWS into a report.
fn inspect(proof: &str) -> Result<Report, String> {
    let segments: Vec<&str> = proof.split('.').collect();
    let [header, payload, signature] = segments[..] else {
        return Err(format!(
            "not a compact JWS: expected 3 dot-separated segments, found {}",
            segments.len()
        ));
    };
    let mut header = json_object(header, "header")?;
    let payload = json_object(payload, "payload")?;
    let signature = Base64UrlUnpadded::decode_vec(signature)
        .map_err(|_| "the signature segment is not unpadded base64url".to_owned())?;

    let (jkt, jkt_error) = match header.get("jwk") {
        None => (None, Some("the header has no jwk".to_owned())),
        // Parsing checks structure; the point is checked by the RustCrypto provider.
        Some(jwk) => match PublicJwk::from_json(jwk.to_string().as_bytes())
            .and_then(|jwk| rustcrypto::PROVIDER.validate_public_key(&jwk).map(|()| jwk))
        {
            Ok(jwk) => (Some(jwk.thumbprint().to_string()), None),
            Err(e) => (None, Some(format!("invalid jwk: {e}"))),
        },
    };
    if let Some(Value::Object(jwk)) = header.get_mut("jwk") {
        redact(jwk);
    }

    Ok(Report {
        verified: false,
        warning: WARNING,
        header: Value::Object(header),
        payload: Value::Object(payload),
        signature_bytes: signature.len(),
        jkt,
        jkt_error,
    })
}

/// Decodes one base64url segment holding a JSON object.
fn json_object(segment: &str, what: &str) -> Result<Map<String, Value>, String> {
    let bytes = Base64UrlUnpadded::decode_vec(segment)
        .map_err(|_| format!("the {what} segment is not unpadded base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(format!("the {what} is JSON but not an object")),
        Err(e) => Err(format!("the {what} is not JSON: {e}")),
    }
}

/// Replaces private key members, so that a leaked key is not copied into logs.
fn redact(jwk: &mut Map<String, Value>) {
    for (name, value) in jwk.iter_mut() {
        if PRIVATE_MEMBERS.contains(&name.as_str()) {
            *value = Value::String(REDACTED.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        Base64UrlUnpadded::encode_string(text.as_bytes())
    }

    #[test]
    fn rejects_what_is_not_a_compact_jws() {
        let header = b64(r#"{"typ":"dpop+jwt"}"#);
        let payload = b64("{}");
        for bad in [
            String::new(),
            "a.b".to_owned(),
            format!("{header}.{payload}.sig.extra"),
            format!("{header}.{}.sig", b64("[1]")),
            format!("{header}.{}.sig", b64("not json")),
            format!("{header}.{payload}=.sig"),
            format!("{header}.{payload}.s+g"),
        ] {
            assert!(inspect(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redacts_private_members_and_explains_the_jwk() {
        let header = b64(r#"{"jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"SECRET"}}"#);
        let report = inspect(&format!("{header}.{}.", b64("{}"))).unwrap();
        let text = serde_json::to_string(&report).unwrap();
        assert!(!text.contains("SECRET"), "{text}");
        assert!(report.jkt.is_none());
        assert!(report.jkt_error.unwrap().contains("private"));
        assert_eq!(report.signature_bytes, 0);
    }
}
