//! Public EC keys as JWKs (RFC 7517, RFC 7518 section 6.2), strictly parsed.
//!
//! Accepted: `kty` exactly `EC`; `crv` `P-256`, `P-384` or `P-521`; `x` and `y` unpadded
//! base64url of exactly 32, 48 or 66 bytes (RFC 7518 section 6.2.1.2). Rejected, each with its
//! own [`JwkError`]: a private member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`, `oth`), another
//! `kty` (`RSA`, `OKP`, `oct`), a missing member, a bad coordinate length. Other members (`kid`,
//! `use`, `alg`, `key_ops`, ...) are ignored. The checks are structural only: whether the point
//! is on the curve is the crypto backend's question (see [`crate::crypto`]).

// Attacker-controlled input flows through here: no indexing that could panic.
#![deny(clippy::indexing_slicing)]

use core::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroize as _;

use crate::alg::Algorithm;
use crate::base64url;
use crate::curve::Curve;
use crate::error::{BufferTooSmall, JwkError, JwkMember, KeyError};
use crate::json::{self, JsonStr, Object, Value};
use crate::thumbprint::Thumbprint;
use crate::writer::Writer;

/// Largest coordinate or private scalar (P-521).
pub(crate) const MAX_COORDINATE_LEN: usize = 66;

/// Members that only private (or symmetric) JWKs have (RFC 7518 sections 6.2.2, 6.3.2, 6.4).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/// Longest canonical serialization: `{"crv":"P-521","kty":"EC","x":"<88>","y":"<88>"}`.
pub const MAX_JWK_JSON_LEN: usize = 216;

/// A public EC key: a curve and the affine coordinates of a point, each exactly the curve's
/// size.
///
/// Making one checks structure only (the members, the exact lengths, canonical base64url), so
/// it needs no curve arithmetic and works with every curve feature off (an HSM signer describes
/// its key with [`from_coordinates`](Self::from_coordinates)). Whether the point is on the curve
/// is checked by the crypto backend: during every verification (a proof whose key is not a
/// valid point is rejected as [`VerifyError::Jwk`](crate::VerifyError::Jwk)`(`
/// [`JwkError::NotOnCurve`]`)`), or on request with
/// [`CryptoProvider::validate_public_key`](crate::crypto::CryptoProvider::validate_public_key).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicJwk {
    curve: Curve,
    x: [u8; MAX_COORDINATE_LEN],
    y: [u8; MAX_COORDINATE_LEN],
}

impl PublicJwk {
    /// Parses a public JWK from its JSON text.
    ///
    /// ```
    /// use dpop_core::PublicJwk;
    /// let jwk = PublicJwk::from_json(br#"{"kty":"EC","crv":"P-256",
    ///     "x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
    ///     "y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#)?;
    /// assert_eq!(jwk.thumbprint().to_string(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    /// # Ok::<(), dpop_core::JwkError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`JwkError`] naming the first rule the text breaks.
    pub fn from_json(json: &[u8]) -> Result<Self, JwkError> {
        let object = json::parse_object(json).map_err(|_| JwkError::Json)?;
        Self::from_object(&object, false).map(|(jwk, _)| jwk)
    }

    /// Makes a key from raw big-endian affine coordinates (each exactly
    /// [`Curve::coordinate_len`] bytes). Structural only, like [`from_json`](Self::from_json):
    /// it needs no curve feature.
    ///
    /// ```
    /// use dpop_core::{Curve, JwkError, JwkMember, PublicJwk};
    /// let jwk = PublicJwk::from_coordinates(Curve::P256, &[1u8; 32], &[2u8; 32])?;
    /// assert_eq!(jwk.x(), &[1u8; 32]);
    /// assert_eq!(
    ///     PublicJwk::from_coordinates(Curve::P384, &[1u8; 32], &[2u8; 32]),
    ///     Err(JwkError::CoordinateLength(JwkMember::X))
    /// );
    /// # Ok::<(), JwkError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`JwkError::CoordinateLength`] for a wrong length.
    pub fn from_coordinates(curve: Curve, x: &[u8], y: &[u8]) -> Result<Self, JwkError> {
        let n = curve.coordinate_len();
        let mut jwk = Self {
            curve,
            x: [0; MAX_COORDINATE_LEN],
            y: [0; MAX_COORDINATE_LEN],
        };
        jwk.x
            .get_mut(..n)
            .filter(|_| x.len() == n)
            .ok_or(JwkError::CoordinateLength(JwkMember::X))?
            .copy_from_slice(x);
        jwk.y
            .get_mut(..n)
            .filter(|_| y.len() == n)
            .ok_or(JwkError::CoordinateLength(JwkMember::Y))?
            .copy_from_slice(y);
        Ok(jwk)
    }

    /// Parses the members of an EC JWK object. With `allow_private`, `d` is returned instead of
    /// rejected (other private members are always rejected).
    pub(crate) fn from_object<'a>(
        object: &Object<'a>,
        allow_private: bool,
    ) -> Result<(Self, Option<JsonStr<'a>>), JwkError> {
        let mut private_scalar = None;
        let mut fields = [None; 4];
        for (name, value) in object.members() {
            if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| name.eq_str(m)) {
                match value {
                    Value::String(d) if allow_private && *member == "d" => private_scalar = Some(d),
                    _ => return Err(JwkError::PrivateMember),
                }
            } else if let Some(slot) = ["kty", "crv", "x", "y"]
                .iter()
                .position(|n| name.eq_str(n))
                .and_then(|i| fields.get_mut(i))
            {
                *slot = Some(value);
            }
        }
        let [f_kty, f_crv, f_x, f_y] = fields;
        let member = |v: Option<Value<'a>>, m: JwkMember| match v {
            None => Err(JwkError::Missing(m)),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(JwkError::Invalid(m)),
        };
        let kty = member(f_kty, JwkMember::Kty)?;
        if !kty.eq_str("EC") {
            return Err(JwkError::UnsupportedKeyType);
        }
        let crv = member(f_crv, JwkMember::Crv)?;
        let curve = [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| crv.eq_str(c.name()))
            .ok_or(JwkError::UnsupportedCurve)?;
        let mut x = [0u8; MAX_COORDINATE_LEN];
        let mut y = [0u8; MAX_COORDINATE_LEN];
        let n = curve.coordinate_len();
        decode_field(member(f_x, JwkMember::X)?, JwkMember::X, n, &mut x)?;
        decode_field(member(f_y, JwkMember::Y)?, JwkMember::Y, n, &mut y)?;
        Ok((Self { curve, x, y }, private_scalar))
    }

    /// The curve.
    #[must_use]
    pub const fn curve(&self) -> Curve {
        self.curve
    }

    /// The algorithm that signs with this key's curve.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.curve.algorithm()
    }

    /// The big-endian x coordinate, [`Curve::coordinate_len`] bytes.
    #[must_use]
    pub fn x(&self) -> &[u8] {
        self.x.get(..self.curve.coordinate_len()).unwrap_or(&self.x)
    }

    /// The big-endian y coordinate, [`Curve::coordinate_len`] bytes.
    #[must_use]
    pub fn y(&self) -> &[u8] {
        self.y.get(..self.curve.coordinate_len()).unwrap_or(&self.y)
    }

    /// The RFC 7638 SHA-256 thumbprint (`jkt`).
    #[must_use]
    pub fn thumbprint(&self) -> Thumbprint {
        let mut buf = [0u8; MAX_JWK_JSON_LEN];
        let mut hasher = Sha256::new();
        match self.write_json(&mut buf) {
            Ok(json) => hasher.update(json.as_bytes()),
            // Unreachable: MAX_JWK_JSON_LEN is the longest canonical form (tested for every
            // curve). Hash the parts directly rather than ever hashing a truncated text.
            Err(BufferTooSmall) => {
                hasher.update(b"{\"crv\":\"");
                hasher.update(self.curve.name().as_bytes());
                hasher.update(b"\",\"kty\":\"EC\",\"x\":\"");
                hash_base64url(&mut hasher, self.x());
                hasher.update(b"\",\"y\":\"");
                hash_base64url(&mut hasher, self.y());
                hasher.update(b"\"}");
            }
        }
        Thumbprint::from_bytes(hasher.finalize().into())
    }

    /// Writes the canonical JSON form, which is also the RFC 7638 thumbprint input: exactly
    /// `crv`, `kty`, `x`, `y` in that order, no whitespace. At most [`MAX_JWK_JSON_LEN`] bytes.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] when `out` is too small.
    pub fn write_json<'b>(&self, out: &'b mut [u8]) -> Result<&'b str, BufferTooSmall> {
        let mut w = Writer::new(out);
        w.push(b"{\"crv\":\"")?;
        w.push(self.curve.name().as_bytes())?;
        w.push(b"\",\"kty\":\"EC\",\"x\":\"")?;
        w.base64url(self.x())?;
        w.push(b"\",\"y\":\"")?;
        w.base64url(self.y())?;
        w.push(b"\"}")?;
        w.finish()
    }
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; MAX_JWK_JSON_LEN];
        match self.write_json(&mut buf) {
            Ok(json) => write!(f, "PublicJwk({json})"),
            Err(_) => f.write_str("PublicJwk"),
        }
    }
}

fn hash_base64url(hasher: &mut Sha256, bytes: &[u8]) {
    let mut buf = [0u8; 88];
    if let Ok(text) = base64url::encode(bytes, &mut buf) {
        hasher.update(text.as_bytes());
    }
}

/// Decodes a base64url member of exactly `len` bytes into `out`.
///
/// The member may be the private scalar `d`: the temporaries it passes through are wiped on
/// every path (see [`decode_field_using`]).
pub(crate) fn decode_field(
    text: JsonStr<'_>,
    member: JwkMember,
    len: usize,
    out: &mut [u8],
) -> Result<(), JwkError> {
    decode_field_using(text, member, len, out, &mut Scratch::new())
}

/// The temporaries of [`decode_field`]: the unescaped text and the decoded bytes.
struct Scratch {
    unescaped: [u8; 128],
    decoded: [u8; 96],
}

impl Scratch {
    const fn new() -> Self {
        Self {
            unescaped: [0; 128],
            decoded: [0; 96],
        }
    }

    fn wipe(&mut self) {
        self.unescaped.zeroize();
        self.decoded.zeroize();
    }
}

/// [`decode_field`] with caller-provided temporaries, wiped before it returns, whatever the
/// outcome: for `d` they hold the private scalar and its text.
fn decode_field_using(
    text: JsonStr<'_>,
    member: JwkMember,
    len: usize,
    out: &mut [u8],
    scratch: &mut Scratch,
) -> Result<(), JwkError> {
    let result = decode_into(text, member, len, out, scratch);
    scratch.wipe();
    result
}

fn decode_into(
    text: JsonStr<'_>,
    member: JwkMember,
    len: usize,
    out: &mut [u8],
    scratch: &mut Scratch,
) -> Result<(), JwkError> {
    // Escapes are legal JSON, so decode them first; base64url never needs them.
    let encoded = match text.as_borrowed() {
        Some(s) => s,
        None => text
            .decode_into(&mut scratch.unescaped)
            .map_err(|_| JwkError::Invalid(member))?,
    };
    // The length is known from the curve, so a wrong length is reported as such even when the
    // text would not decode either (RFC 7518 section 6.2.1.2: the full coordinate size).
    if encoded.len() != base64url::encoded_len(len) {
        return Err(JwkError::CoordinateLength(member));
    }
    let bytes = base64url::decode(encoded.as_bytes(), &mut scratch.decoded)
        .map_err(|_| JwkError::Invalid(member))?;
    if bytes.len() != len {
        return Err(JwkError::CoordinateLength(member));
    }
    out.get_mut(..len)
        .ok_or(JwkError::CoordinateLength(member))?
        .copy_from_slice(bytes);
    Ok(())
}

/// Parses a private EC JWK (`kty`, `crv`, `x`, `y`, `d`) structurally: the public key, and the
/// scalar `d` decoded into the front of `scalar` (its length is returned). The caller wipes
/// `scalar`; the temporaries used here are wiped before this returns.
pub(crate) fn parse_private(
    json: &[u8],
    scalar: &mut [u8; MAX_COORDINATE_LEN],
) -> Result<(PublicJwk, usize), KeyError> {
    let object = json::parse_object(json).map_err(|_| JwkError::Json)?;
    let (public, d) = PublicJwk::from_object(&object, true)?;
    let d = match (d, object.get("d")) {
        (Some(d), _) => d,
        (None, Some(_)) => return Err(JwkError::Invalid(JwkMember::D).into()),
        (None, None) => return Err(JwkError::Missing(JwkMember::D).into()),
    };
    let n = public.curve().coordinate_len();
    decode_field(d, JwkMember::D, n, scalar)?;
    Ok((public, n))
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    const RFC9449_KEY: &str = r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#;
    /// The RFC 9449 key with the last bit of `y` flipped: not on the curve.
    const OFF_CURVE_P256: &str = r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDE"}"#;
    /// `(0, 0)`: the encoding some libraries use for the identity; not on the curve.
    const IDENTITY_P256: &str = r#"{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#;

    /// The temporaries that held a decoded `d` are wiped when decoding returns, on success and
    /// on every error path, escaped text included.
    #[test]
    fn decoding_wipes_its_temporaries() {
        let d = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE";
        let escaped = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eA\\u0045";
        for (text, len, ok) in [
            (d, 32, true),
            (escaped, 32, true),
            (d, 48, false),
            ("870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eA!", 32, false),
            (
                "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eA\\u0021",
                32,
                false,
            ),
        ] {
            let json = std::format!(r#"{{"d":"{text}"}}"#);
            let object = json::parse_object(json.as_bytes()).unwrap();
            let Some(Value::String(value)) = object.get("d") else {
                panic!("a string")
            };
            let mut scratch = Scratch::new();
            let mut out = [0u8; 66];
            let result = decode_field_using(value, JwkMember::D, len, &mut out, &mut scratch);
            assert_eq!(result.is_ok(), ok, "{text}");
            assert!(scratch.unescaped.iter().all(|&b| b == 0), "{text}");
            assert!(scratch.decoded.iter().all(|&b| b == 0), "{text}");
            if ok {
                assert!(out.iter().any(|&b| b != 0));
            }
        }
        // and without wiping, the scalar would still be there: the check above can fail
        let mut scratch = Scratch::new();
        let json = std::format!(r#"{{"d":"{escaped}"}}"#);
        let object = json::parse_object(json.as_bytes()).unwrap();
        let Some(Value::String(value)) = object.get("d") else {
            panic!("a string")
        };
        decode_into(value, JwkMember::D, 32, &mut [0u8; 66], &mut scratch).unwrap();
        assert!(scratch.decoded.iter().any(|&b| b != 0));
        assert!(scratch.unescaped.iter().any(|&b| b != 0));
    }

    #[test]
    fn rfc9449_example_key_and_thumbprint() {
        let jwk = PublicJwk::from_json(RFC9449_KEY.as_bytes()).unwrap();
        assert_eq!(jwk.curve(), Curve::P256);
        assert_eq!(
            jwk.thumbprint().to_string(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
        let mut buf = [0u8; MAX_JWK_JSON_LEN];
        assert_eq!(
            jwk.write_json(&mut buf).unwrap(),
            r#"{"crv":"P-256","kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#
        );
    }

    fn with(member: &str) -> std::string::String {
        RFC9449_KEY.replacen('{', &std::format!("{{{member},"), 1)
    }

    #[test]
    fn extra_members_are_ignored() {
        for extra in [
            r#""kid":"k1""#,
            r#""use":"sig""#,
            r#""alg":"ES256""#,
            r#""key_ops":["verify"]"#,
        ] {
            assert!(
                PublicJwk::from_json(with(extra).as_bytes()).is_ok(),
                "{extra}"
            );
        }
    }

    #[test]
    fn private_members_are_rejected() {
        for m in PRIVATE_MEMBERS {
            let json = with(&std::format!(r#""{m}":"AAAA""#));
            assert_eq!(
                PublicJwk::from_json(json.as_bytes()),
                Err(JwkError::PrivateMember),
                "{m}"
            );
        }
        // even when escaped
        let json = with(r#""\u0064":"AAAA""#);
        assert_eq!(
            PublicJwk::from_json(json.as_bytes()),
            Err(JwkError::PrivateMember)
        );
    }

    #[test]
    fn each_rule_has_its_error() {
        let cases: &[(&str, JwkError)] = &[
            (
                r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#,
                JwkError::UnsupportedKeyType,
            ),
            (
                r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#,
                JwkError::UnsupportedKeyType,
            ),
            (r#"{"kty":"oct"}"#, JwkError::UnsupportedKeyType),
            (
                r#"{"kty":"ec","crv":"P-256","x":"","y":""}"#,
                JwkError::UnsupportedKeyType,
            ),
            (
                r#"{"crv":"P-256","x":"","y":""}"#,
                JwkError::Missing(JwkMember::Kty),
            ),
            (r#"{"kty":1}"#, JwkError::Invalid(JwkMember::Kty)),
            (
                r#"{"kty":"EC","x":"","y":""}"#,
                JwkError::Missing(JwkMember::Crv),
            ),
            (
                r#"{"kty":"EC","crv":"secp256k1","x":"","y":""}"#,
                JwkError::UnsupportedCurve,
            ),
            (
                r#"{"kty":"EC","crv":"P-256","y":""}"#,
                JwkError::Missing(JwkMember::X),
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs"}"#,
                JwkError::Missing(JwkMember::Y),
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBF","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#,
                JwkError::CoordinateLength(JwkMember::X),
            ),
            (
                r#"{"kty":"EC","crv":"P-384","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#,
                JwkError::CoordinateLength(JwkMember::X),
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs=","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#,
                JwkError::CoordinateLength(JwkMember::X),
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx+34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#,
                JwkError::Invalid(JwkMember::X),
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDB"}"#,
                JwkError::Invalid(JwkMember::Y),
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":5,"y":""}"#,
                JwkError::Invalid(JwkMember::X),
            ),
            (r#"{"kty":"EC""#, JwkError::Json),
            (r#"{"kty":"EC","kty":"EC"}"#, JwkError::Json),
            ("[]", JwkError::Json),
        ];
        for (json, err) in cases {
            assert_eq!(PublicJwk::from_json(json.as_bytes()), Err(*err), "{json}");
        }
    }

    /// The point check is the backend's: a structurally valid key that is not on the curve
    /// parses (and is rejected by every backend's verification and `validate_public_key`, see
    /// the tests of `crypto::rustcrypto` and dpop-aws-lc-rs).
    #[test]
    fn parsing_is_structural_and_needs_no_curve_feature() {
        for json in [OFF_CURVE_P256, IDENTITY_P256] {
            let jwk = PublicJwk::from_json(json.as_bytes()).unwrap();
            assert_eq!(jwk.curve(), Curve::P256);
        }
        for (curve, n) in [(Curve::P256, 32), (Curve::P384, 48), (Curve::P521, 66)] {
            let jwk = PublicJwk::from_coordinates(curve, &std::vec![1; n], &std::vec![2; n]);
            assert_eq!(jwk.unwrap().x().len(), n);
            assert_eq!(
                PublicJwk::from_coordinates(curve, &std::vec![1; n + 1], &std::vec![2; n]),
                Err(JwkError::CoordinateLength(JwkMember::X))
            );
            assert_eq!(
                PublicJwk::from_coordinates(curve, &std::vec![1; n], &std::vec![2; n - 1]),
                Err(JwkError::CoordinateLength(JwkMember::Y))
            );
        }
    }

    #[test]
    fn escaped_members_decode() {
        let json = r#"{"kty":"E\u0043","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRD\u0041"}"#;
        let jwk = PublicJwk::from_json(json.as_bytes()).unwrap();
        assert_eq!(
            jwk.thumbprint().to_string(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn round_trip_is_stable() {
        let jwk = PublicJwk::from_json(RFC9449_KEY.as_bytes()).unwrap();
        let mut buf = [0u8; MAX_JWK_JSON_LEN];
        let text = jwk.write_json(&mut buf).unwrap().to_string();
        let again = PublicJwk::from_json(text.as_bytes()).unwrap();
        assert_eq!(again, jwk);
        let mut small = [0u8; 20];
        assert_eq!(jwk.write_json(&mut small), Err(BufferTooSmall));
        assert!(std::format!("{jwk:?}").contains("P-256"));
    }
}
