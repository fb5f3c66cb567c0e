//! Server nonces (RFC 9449 sections 8 and 9).
//!
//! A server that wants proofs to be fresh sends a nonce in the `DPoP-Nonce` header and requires
//! the next proofs to carry it in the `nonce` claim. [`StatelessNonces`] makes nonces that need no
//! server-side state: each one carries the time step it was issued in and an HMAC-SHA-256 tag,
//! so any server instance holding the secret can check it.
//!
//! # Format
//!
//! A nonce is 48 characters of unpadded base64url encoding 36 bytes:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version, `1` |
//! | 1 | key id (see [`NonceKey`]) |
//! | 8 | time step, big-endian: `floor(now / step)` |
//! | 10 | salt: random bytes, so every nonce differs |
//! | 16 | tag: HMAC-SHA-256, truncated to its first 16 bytes |
//!
//! The tag covers a domain label, the first 20 bytes, which bindings are configured and the
//! bound values: the client key's thumbprint ([`with_thumbprint_binding`]) and the canonical target URI
//! ([`with_uri_binding`]). The bound values are not in the nonce; the verifier supplies them from the
//! proof. A 128-bit tag leaves a forger one chance in 2^128 per attempt, and each attempt costs
//! a signed proof and a request; truncating HMAC output to 128 bits is standard (RFC 2104
//! section 5 recommends at least half the hash length).
//!
//! # Unpredictability and the salt
//!
//! RFC 9449 section 8 requires unpredictable nonces. Here that rests on the secret key: without
//! it, the tag of any nonce, and so any valid nonce, cannot be predicted or forged. The salt only
//! makes each nonce distinct. It comes from the operating system (`getrandom`); if that fails,
//! a per-instance counter is used instead, which keeps nonces distinct and, because of the tag,
//! exactly as unpredictable. So [`issue`](NonceSource::issue) never fails.
//!
//! # Validity
//!
//! A nonce is valid in the step it was issued in and the `window - 1` steps after it: with the
//! defaults (60-second steps, window 2) for 60 to 120 seconds. A nonce from the next step is
//! accepted too, so that a nonce issued by an instance whose clock has just entered the next step
//! validates on one still in the previous step; a nonce from further ahead is invalid.
//! [`should_refresh`](NonceSource::should_refresh) says when to send a fresh one.
//!
//! # Freshness
//!
//! The time step is the server's own clock, so a valid nonce vouches for the proof's freshness
//! (RFC 9449 section 4.3 check 11): [`StatelessNonces`] answers
//! [`NonceStatus::Fresh`], and dpop-core then accepts the proof whatever its `iat`, within
//! [`NONCE_IAT_BOUND`] (one day). A client whose clock is minutes off thus succeeds after one nonce round. The nonce is
//! accepted until the last second of step `issued + window - 1` on this server's clock
//! ([`StatelessNonces::accepted_until`]); replay entries live past that.
//!
//! # Key rotation
//!
//! Keys have a one-byte id, written into each nonce. The current key issues; previous keys
//! ([`with_previous_key`]) still validate. To rotate without a flag day: make the new key
//! current and keep the old one as previous for at least `window` steps, then remove it.
//!
//! # Outcome mapping
//!
//! Pass a [`StatelessNonces`] to dpop-core with
//! [`Expected::with_nonce_validator`](dpop_core::Expected::with_nonce_validator). A proof
//! without a nonce then fails with [`VerifyError::NonceRequired`], and one with a stale, forged,
//! unknown-key or wrongly bound nonce with [`VerifyError::NonceInvalid`]. Both have the error
//! code `use_dpop_nonce` ([`VerifyError::error_code`]): the server answers with that error (400
//! from an authorization server, 401 with `WWW-Authenticate: DPoP error="use_dpop_nonce"` from a
//! resource server) and a fresh nonce from [`issue`](NonceSource::issue) in `DPoP-Nonce`, and the
//! client retries once with it (RFC 9449 sections 8 and 9).
//!
//! [`with_thumbprint_binding`]: StatelessNonces::with_thumbprint_binding
//! [`with_uri_binding`]: StatelessNonces::with_uri_binding
//! [`with_previous_key`]: StatelessNonces::with_previous_key
//! [`NONCE_IAT_BOUND`]: dpop_core::consts::NONCE_IAT_BOUND
//! [`VerifyError::NonceRequired`]: dpop_core::VerifyError::NonceRequired
//! [`VerifyError::NonceInvalid`]: dpop_core::VerifyError::NonceInvalid
//! [`VerifyError::error_code`]: dpop_core::VerifyError::error_code

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use base64ct::{Base64UrlUnpadded, Encoding};
use dpop_core::{NonceContext, NonceStatus, NonceValidator, Thumbprint, UnixTime};
use hmac::digest::Key;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroize;

/// What a fresh nonce may be bound to.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct NonceRequest<'a> {
    /// The client key's thumbprint, when known.
    pub thumbprint: Option<&'a Thumbprint>,
    /// The canonical target URI, when known.
    pub htu: Option<&'a str>,
    /// The server's clock.
    pub now: UnixTime,
}

impl<'a> NonceRequest<'a> {
    /// A request for a nonce at `now`, bound to nothing yet.
    #[must_use]
    pub const fn new(now: UnixTime) -> Self {
        Self {
            thumbprint: None,
            htu: None,
            now,
        }
    }

    /// Binds the nonce to a client key.
    #[must_use]
    pub const fn with_thumbprint(mut self, thumbprint: &'a Thumbprint) -> Self {
        self.thumbprint = Some(thumbprint);
        self
    }

    /// Binds the nonce to a target URI (canonical form).
    #[must_use]
    pub const fn with_htu(mut self, htu: &'a str) -> Self {
        self.htu = Some(htu);
        self
    }
}

/// Issues nonces and validates them (through [`NonceValidator`], dpop-core's hook).
pub trait NonceSource: NonceValidator {
    /// A fresh nonce to send in `DPoP-Nonce`.
    fn issue(&self, request: &NonceRequest<'_>) -> String;

    /// True when `nonce`, though still valid, is close enough to expiry that a successful
    /// response should carry a fresh one.
    fn should_refresh(&self, nonce: &str, now: UnixTime) -> bool;
}

/// Why [`StatelessNonces::check`] refused a nonce. Every variant means "answer
/// `use_dpop_nonce` with a fresh nonce"; the distinction is for logs.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceError {
    /// Issued more than one time step after the current one.
    FromFuture,
    /// The tag does not match: forged or altered, or bound to another client key or URI.
    InvalidTag,
    /// Not a nonce of this format: not 48 characters of base64url, or an unknown version.
    Malformed,
    /// Issued more than `window - 1` steps ago.
    Stale,
    /// Issued with a key id this instance does not hold (any more).
    UnknownKey,
}

impl NonceError {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::FromFuture => "nonce_from_future",
            Self::InvalidTag => "nonce_invalid_tag",
            Self::Malformed => "nonce_malformed",
            Self::Stale => "nonce_stale",
            Self::UnknownKey => "nonce_unknown_key",
        }
    }
}

impl fmt::Display for NonceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::FromFuture => "nonce is from a future time step",
            Self::InvalidTag => "nonce tag does not match",
            Self::Malformed => "not a server nonce",
            Self::Stale => "nonce has expired",
            Self::UnknownKey => "nonce key is unknown",
        })
    }
}

impl core::error::Error for NonceError {}

/// Length of a [`StatelessNonces`] nonce, in characters.
pub const NONCE_LEN: usize = 48;
/// Default length of a time step, in seconds.
pub const DEFAULT_STEP: u64 = 60;
/// Default number of steps a nonce is valid in: the current one and the previous one.
pub const DEFAULT_WINDOW: u64 = 2;

const VERSION: u8 = 1;
const RAW_LEN: usize = 36;
/// Version, key id, step and salt: the part of the nonce in front of the tag.
const HEADER_LEN: usize = 20;
const SALT_LEN: usize = 10;
const TAG_LEN: usize = 16;
const DOMAIN: &[u8] = b"dpop-std/nonce/v1";

/// A secret for [`StatelessNonces`], with the one-byte id written into the nonces it issues.
///
/// Use 32 bytes from a secure random source, shared by every server instance that must accept
/// the nonces, and a different secret for each server that issues its own (an authorization
/// server's nonces are not meant for a resource server: RFC 9449 section 9).
///
/// The secret is kept in its own allocation, zeroized when the key is dropped and never shown
/// by `Debug`. The copy passed to [`new`](Self::new) is the caller's to zeroize.
pub struct NonceKey {
    id: u8,
    /// Boxed, so moving the key (into a `Vec` that then grows, say) never leaves copies behind.
    secret: Box<[u8; 32]>,
}

impl NonceKey {
    /// A key with this `id` and `secret`.
    #[must_use]
    pub fn new(id: u8, secret: [u8; 32]) -> Self {
        Self {
            id,
            secret: Box::new(secret),
        }
    }

    /// The key id.
    #[must_use]
    pub const fn id(&self) -> u8 {
        self.id
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC pads keys shorter than the 64-byte block with zeros (RFC 2104 section 2), so the
        // padded block is the same key, and this path has no length error to handle.
        let mut block = Key::<Hmac<Sha256>>::default();
        block[..self.secret.len()].copy_from_slice(self.secret.as_slice());
        let mac = <Hmac<Sha256> as KeyInit>::new(&block);
        block.as_mut_slice().zeroize();
        mac
    }
}

impl Drop for NonceKey {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Stateless server nonces: time step plus HMAC tag, with key rotation and optional binding to
/// the client key and the target URI. See the [module docs](self) for the format.
///
/// ```
/// use dpop_core::{Thumbprint, UnixTime};
/// use dpop_std::nonce::{NonceError, NonceKey, NonceRequest, NonceSource, StatelessNonces};
///
/// let secret = [0x42; 32]; // from your secret store, shared by all instances
/// let nonces = StatelessNonces::new(NonceKey::new(2, secret))
///     .with_previous_key(NonceKey::new(1, [0x41; 32])) // still accepted during rotation
///     .with_thumbprint_binding(true);
///
/// let client = Thumbprint::from_bytes([7; 32]); // the proof key's thumbprint
/// let now = UnixTime::from_secs(1_700_000_000);
/// let nonce = nonces.issue(&NonceRequest::new(now).with_thumbprint(&client));
/// assert_eq!(nonce.len(), 48);
///
/// // dpop-core runs this check (as `NonceValidator::is_valid`) inside `Verifier::verify` when
/// // the request was built with `Expected::with_nonce_validator(&nonces)`.
/// let htu = "https://api.example.com/items";
/// assert_eq!(nonces.check(&nonce, &client, htu, now), Ok(()));
/// // In the next step it is still valid, two steps later it is stale.
/// assert_eq!(nonces.check(&nonce, &client, htu, now.saturating_add(60)), Ok(()));
/// assert_eq!(nonces.check(&nonce, &client, htu, now.saturating_add(120)), Err(NonceError::Stale));
/// // It was bound to `client`: a proof signed by another key cannot use it.
/// let other = Thumbprint::from_bytes([8; 32]);
/// assert_eq!(nonces.check(&nonce, &other, htu, now), Err(NonceError::InvalidTag));
/// assert!(!nonces.should_refresh(&nonce, now));
/// ```
pub struct StatelessNonces {
    /// The current key first, then the previous ones.
    keys: Vec<NonceKey>,
    step: u64,
    window: u64,
    bind_thumbprint: bool,
    bind_uri: bool,
    /// Salt source when the operating system's generator fails.
    counter: AtomicU64,
}

impl StatelessNonces {
    /// Nonces issued with `current`, in 60-second steps, valid in their step and the next one,
    /// bound to nothing.
    #[must_use]
    pub fn new(current: NonceKey) -> Self {
        Self {
            keys: vec![current],
            step: DEFAULT_STEP,
            window: DEFAULT_WINDOW,
            bind_thumbprint: false,
            bind_uri: false,
            counter: AtomicU64::new(0),
        }
    }

    /// Also accepts nonces issued with `key` (an earlier current key), for rotation. Can be
    /// called several times. Key ids should be distinct: for a repeated id only the first key
    /// (the current one, then previous keys in the order added) is tried.
    #[must_use]
    pub fn with_previous_key(mut self, key: NonceKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Sets the length of a time step in seconds (default 60; 0 is treated as 1).
    #[must_use]
    pub fn with_step(mut self, secs: u64) -> Self {
        self.step = secs.max(1);
        self
    }

    /// Sets in how many steps a nonce is valid: its own and the `steps - 1` after it (default 2;
    /// 0 is treated as 1, i.e. only the current step, which makes every nonce expire at the next
    /// step boundary however recently it was issued).
    #[must_use]
    pub fn with_window(mut self, steps: u64) -> Self {
        self.window = steps.max(1);
        self
    }

    /// Binds nonces to the client key: a nonce issued for one thumbprint
    /// ([`NonceRequest::with_thumbprint`]) fails for proofs signed by any other key. A nonce
    /// issued without a thumbprint never validates while this is on.
    #[must_use]
    pub const fn with_thumbprint_binding(mut self, bind: bool) -> Self {
        self.bind_thumbprint = bind;
        self
    }

    /// Binds nonces to the target URI: a nonce issued for one canonical `htu`
    /// ([`NonceRequest::with_htu`], in the canonical form of
    /// [`TargetUri`](dpop_core::TargetUri), as dpop-core compares it) fails for any other.
    /// A nonce issued without a URI never validates while this is on.
    #[must_use]
    pub const fn with_uri_binding(mut self, bind: bool) -> Self {
        self.bind_uri = bind;
        self
    }

    /// The id of the key that issues nonces.
    #[must_use]
    pub fn current_key_id(&self) -> u8 {
        self.keys.first().map_or(0, NonceKey::id)
    }

    /// The step length in seconds.
    #[must_use]
    pub const fn step(&self) -> u64 {
        self.step
    }

    /// The number of steps a nonce is valid in.
    #[must_use]
    pub const fn window(&self) -> u64 {
        self.window
    }

    /// Checks `nonce` at `now` for a proof signed by the key with `thumbprint` for the canonical
    /// target URI `htu` (each used only when bound). [`NonceValidator::is_valid`] is this with
    /// the values of its [`NonceContext`], reduced to a `bool`; the reason is for logs only, as
    /// the client gets `use_dpop_nonce` whatever it is.
    ///
    /// # Errors
    ///
    /// The first failed check, in this order: [`NonceError::Malformed`] (not 48 characters of
    /// base64url, or an unknown version), [`NonceError::FromFuture`] or [`NonceError::Stale`]
    /// (the time step, before the tag is checked), [`NonceError::UnknownKey`], then
    /// [`NonceError::InvalidTag`] (forged or altered, or bound to another client key or URI).
    pub fn check(
        &self,
        nonce: &str,
        thumbprint: &Thumbprint,
        htu: &str,
        now: UnixTime,
    ) -> Result<(), NonceError> {
        self.checked_step(nonce, thumbprint, htu, now).map(|_| ())
    }

    /// [`check`](Self::check), returning the nonce's time step: what
    /// [`accepted_until`](Self::accepted_until) reads, without decoding the nonce again.
    fn checked_step(
        &self,
        nonce: &str,
        thumbprint: &Thumbprint,
        htu: &str,
        now: UnixTime,
    ) -> Result<u64, NonceError> {
        let raw = decode(nonce).ok_or(NonceError::Malformed)?;
        let (header, tag) = raw.split_at(HEADER_LEN);
        let fields = Fields::parse(header).ok_or(NonceError::Malformed)?;
        if fields.version != VERSION {
            return Err(NonceError::Malformed);
        }
        let current = self.current_step(now);
        // One step ahead: an instance whose clock just entered the next step issued it.
        if fields.step > current.saturating_add(1) {
            return Err(NonceError::FromFuture);
        }
        if current.saturating_sub(fields.step) >= self.window {
            return Err(NonceError::Stale);
        }
        let key = self
            .keys
            .iter()
            .find(|k| k.id == fields.key_id)
            .ok_or(NonceError::UnknownKey)?;
        let mac = self.tagged(key, header, Some(thumbprint), Some(htu));
        // Constant-time comparison with the first 16 bytes of the HMAC.
        mac.verify_truncated_left(tag)
            .map_err(|_| NonceError::InvalidTag)?;
        Ok(fields.step)
    }

    /// The last second at which a valid `nonce` is accepted on this server's clock: the end of
    /// step `issued + window - 1`. `None` for text that is not a nonce of this format (its tag
    /// is not checked here).
    #[must_use]
    pub fn accepted_until(&self, nonce: &str) -> Option<UnixTime> {
        let raw = decode(nonce)?;
        let fields = Fields::parse(raw.get(..HEADER_LEN)?)?;
        Some(self.last_second(fields.step))
    }

    fn last_second(&self, issued_step: u64) -> UnixTime {
        let end = issued_step
            .saturating_add(self.window)
            .saturating_mul(self.step);
        UnixTime::from_secs(end.saturating_sub(1))
    }

    fn current_step(&self, now: UnixTime) -> u64 {
        now.as_secs() / self.step
    }

    /// The HMAC over everything the tag covers, ready to finalize or verify.
    fn tagged(
        &self,
        key: &NonceKey,
        header: &[u8],
        thumbprint: Option<&Thumbprint>,
        htu: Option<&str>,
    ) -> Hmac<Sha256> {
        let mut mac = key.mac();
        mac.update(DOMAIN);
        mac.update(header);
        let bindings = u8::from(self.bind_thumbprint) | (u8::from(self.bind_uri) << 1);
        mac.update(&[bindings]);
        if self.bind_thumbprint {
            match thumbprint {
                Some(t) => {
                    mac.update(&[1]);
                    mac.update(t.as_bytes());
                }
                None => mac.update(&[0]),
            }
        }
        if self.bind_uri {
            match htu {
                Some(htu) => {
                    mac.update(&[1]);
                    let len = u64::try_from(htu.len()).unwrap_or(u64::MAX);
                    mac.update(&len.to_be_bytes());
                    mac.update(htu.as_bytes());
                }
                None => mac.update(&[0]),
            }
        }
        mac
    }

    fn salt(&self) -> [u8; SALT_LEN] {
        let mut salt = [0; SALT_LEN];
        if getrandom::fill(&mut salt).is_err() {
            // Distinctness is all the salt provides; the tag makes the nonce unpredictable.
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            salt[..8].copy_from_slice(&n.to_be_bytes());
        }
        salt
    }
}

impl NonceValidator for StatelessNonces {
    fn is_valid(&self, nonce: &str, context: &NonceContext<'_>) -> bool {
        self.check(nonce, context.thumbprint, context.htu, context.now)
            .is_ok()
    }

    /// [`NonceStatus::Fresh`] for a valid nonce, accepted until
    /// [`accepted_until`](StatelessNonces::accepted_until): the nonce's time step is this
    /// server's clock, so it vouches for the proof's freshness.
    fn status(&self, nonce: &str, context: &NonceContext<'_>) -> NonceStatus {
        match self.checked_step(nonce, context.thumbprint, context.htu, context.now) {
            Ok(step) => NonceStatus::Fresh {
                accepted_until: self.last_second(step),
            },
            Err(_) => NonceStatus::Invalid,
        }
    }
}

impl NonceSource for StatelessNonces {
    /// A nonce for the current step, issued with the current key and bound to what
    /// [`with_thumbprint_binding`](StatelessNonces::with_thumbprint_binding) and
    /// [`with_uri_binding`](StatelessNonces::with_uri_binding) select from `request`.
    fn issue(&self, request: &NonceRequest<'_>) -> String {
        let mut raw = [0; RAW_LEN];
        let (header, tag) = raw.split_at_mut(HEADER_LEN);
        header[0] = VERSION;
        header[1] = self.current_key_id();
        header[2..10].copy_from_slice(&self.current_step(request.now).to_be_bytes());
        header[10..].copy_from_slice(&self.salt());
        if let Some(key) = self.keys.first() {
            let full = self
                .tagged(key, header, request.thumbprint, request.htu)
                .finalize();
            tag.copy_from_slice(&full.as_bytes()[..TAG_LEN]);
        }
        let mut text = [0; NONCE_LEN];
        // 36 bytes always encode to exactly 48 characters.
        Base64UrlUnpadded::encode(&raw, &mut text).map_or_else(|_| String::new(), String::from)
    }

    /// True unless `nonce` was issued in the current step: a nonce from an earlier step expires
    /// at a coming step boundary (with the default window, the next one). Also true for text
    /// that is not a nonce of this format. The tag is not checked; call this after verification.
    fn should_refresh(&self, nonce: &str, now: UnixTime) -> bool {
        decode(nonce)
            .and_then(|raw| Fields::parse(&raw[..HEADER_LEN]))
            .is_none_or(|fields| fields.step != self.current_step(now))
    }
}

impl fmt::Debug for StatelessNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(NonceKey::id).collect();
        f.debug_struct("StatelessNonces")
            .field("key_ids", &ids)
            .field("step", &self.step)
            .field("window", &self.window)
            .field("bind_thumbprint", &self.bind_thumbprint)
            .field("bind_uri", &self.bind_uri)
            .finish_non_exhaustive()
    }
}

/// The readable fields of a nonce header.
struct Fields {
    version: u8,
    key_id: u8,
    step: u64,
}

impl Fields {
    fn parse(header: &[u8]) -> Option<Self> {
        let (&version, rest) = header.split_first()?;
        let (&key_id, rest) = rest.split_first()?;
        let (step, _salt) = rest.split_first_chunk::<8>()?;
        Some(Self {
            version,
            key_id,
            step: u64::from_be_bytes(*step),
        })
    }
}

/// The 36 bytes of a well-formed nonce text, or `None`.
fn decode(nonce: &str) -> Option<[u8; RAW_LEN]> {
    if nonce.len() != NONCE_LEN {
        return None;
    }
    let mut raw = [0; RAW_LEN];
    let decoded = Base64UrlUnpadded::decode(nonce, &mut raw).ok()?;
    (decoded.len() == RAW_LEN).then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn nonces() -> StatelessNonces {
        StatelessNonces::new(NonceKey::new(9, [0xAB; 32]))
    }

    #[test]
    fn layout() {
        let nonce = nonces().issue(&NonceRequest::new(NOW));
        assert_eq!(nonce.len(), NONCE_LEN);
        assert!(dpop_core::is_valid_nonce(&nonce));
        let raw = decode(&nonce).unwrap();
        let fields = Fields::parse(&raw[..HEADER_LEN]).unwrap();
        assert_eq!(fields.version, VERSION);
        assert_eq!(fields.key_id, 9);
        assert_eq!(fields.step, NOW.as_secs() / 60);
        assert_eq!(RAW_LEN, HEADER_LEN + TAG_LEN);
        assert_eq!(HEADER_LEN, 2 + 8 + SALT_LEN);
    }

    #[test]
    fn salt_makes_every_nonce_distinct() {
        let n = nonces();
        let a = n.issue(&NonceRequest::new(NOW));
        let b = n.issue(&NonceRequest::new(NOW));
        assert_ne!(a, b);
        assert_eq!(
            n.check(&a, &Thumbprint::from_bytes([0; 32]), "", NOW),
            Ok(())
        );
        assert_eq!(
            n.check(&b, &Thumbprint::from_bytes([0; 32]), "", NOW),
            Ok(())
        );
    }

    #[test]
    fn tag_is_hmac_sha256_over_the_documented_input() {
        let n = nonces().with_uri_binding(true);
        let htu = "https://a.example/x";
        let nonce = n.issue(&NonceRequest::new(NOW).with_htu(htu));
        let raw = decode(&nonce).unwrap();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[0xAB; 32]).unwrap();
        mac.update(b"dpop-std/nonce/v1");
        mac.update(&raw[..HEADER_LEN]);
        mac.update(&[0b10, 1]);
        mac.update(&(htu.len() as u64).to_be_bytes());
        mac.update(htu.as_bytes());
        assert_eq!(&mac.finalize().as_bytes()[..TAG_LEN], &raw[HEADER_LEN..]);
    }

    #[test]
    fn debug_shows_no_secret() {
        let n = nonces().with_previous_key(NonceKey::new(3, [0xCD; 32]));
        let text = format!("{n:?} {:?}", NonceKey::new(4, [0xEF; 32]));
        assert!(
            text.contains("key_ids: [9, 3]") && text.contains("id: 4"),
            "{text}"
        );
        for secret in ["171", "0xab", "AB", "205", "239", "[171"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn zero_step_and_window_are_clamped() {
        let n = nonces().with_step(0).with_window(0);
        assert_eq!((n.step(), n.window()), (1, 1));
        let nonce = n.issue(&NonceRequest::new(NOW));
        let tp = Thumbprint::from_bytes([0; 32]);
        assert_eq!(n.check(&nonce, &tp, "", NOW), Ok(()));
        assert_eq!(
            n.check(&nonce, &tp, "", NOW.saturating_add(1)),
            Err(NonceError::Stale)
        );
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let n = nonces().with_window(u64::MAX);
        let tp = Thumbprint::from_bytes([0; 32]);
        let nonce = n.issue(&NonceRequest::new(UnixTime::EPOCH));
        assert_eq!(
            n.check(&nonce, &tp, "", UnixTime::from_secs(u64::MAX)),
            Ok(())
        );
        let late = n.issue(&NonceRequest::new(UnixTime::from_secs(u64::MAX)));
        assert_eq!(
            n.check(&late, &tp, "", UnixTime::EPOCH),
            Err(NonceError::FromFuture)
        );
    }
}
