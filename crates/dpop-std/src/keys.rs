//! Client keys: generated with the OS CSPRNG, saved and loaded as a private JWK file or as
//! PKCS#8 PEM, or held outside the process behind [`ProofSigner`](dpop_core::crypto::ProofSigner).
//!
//! Files are created with mode 0600 (on Unix) and never overwritten: writing to a path that
//! exists, a symbolic link included, fails with [`KeyFileError::AlreadyExists`]. Key text is kept
//! in buffers that are wiped when dropped, and no error or `Debug` output contains key material.
//!
//! ```no_run
//! use dpop_core::Algorithm;
//! use dpop_std::keys;
//!
//! let key = keys::generate(Algorithm::Es256)?;
//! keys::write_jwk_file(&key, "client-key.json")?; // 0600, fails if the file exists
//! let again = keys::read_jwk_file("client-key.json")?;
//! assert_eq!(again.public_jwk(), key.public_jwk());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Keys outside the process (HSM, KMS)
//!
//! The client signs through dpop-core's [`ProofSigner`](dpop_core::crypto::ProofSigner) trait:
//! an algorithm, the public JWK, and `try_sign` over the signing input, returning the raw
//! `r||s` signature (64, 96 or 132 bytes; RFC 7518 section 3.4). A key in an HSM, a KMS or a
//! platform keystore plugs in by implementing it; the private key never enters the process.
//! `try_sign` is synchronous: call a remote service with a blocking client (or
//! `tokio::task::block_in_place`), and convert a DER-encoded ECDSA signature, as most KMS APIs
//! return, to `r||s`.
//!
//! ```
//! use dpop_core::{Algorithm, PublicJwk, SignError, crypto::ProofSigner};
//! use dpop_std::client::Client;
//!
//! /// A signer whose key lives elsewhere; `remote_sign` stands for the HSM or KMS call.
//! struct KmsSigner {
//!     public: PublicJwk,
//!     key_id: String,
//! }
//!
//! impl ProofSigner for KmsSigner {
//!     fn algorithm(&self) -> Algorithm {
//!         self.public.algorithm()
//!     }
//!     fn public_jwk(&self) -> &PublicJwk {
//!         &self.public
//!     }
//!     fn try_sign(&self, signing_input: &[&[u8]], out: &mut [u8]) -> Result<usize, SignError> {
//!         let message: Vec<u8> = signing_input.concat();
//!         let signature = remote_sign(&self.key_id, &message).map_err(|_| SignError)?;
//!         let out = out.get_mut(..signature.len()).ok_or(SignError)?;
//!         out.copy_from_slice(&signature);
//!         Ok(signature.len())
//!     }
//! }
//!
//! # // A stand-in for the remote service, so that the example runs.
//! # static KEY: std::sync::LazyLock<dpop_core::SigningKey> = std::sync::LazyLock::new(|| {
//! #     dpop_core::SigningKey::from_bytes(Algorithm::Es256, &[7; 32]).unwrap()
//! # });
//! # fn remote_sign(_key_id: &str, message: &[u8]) -> Result<Vec<u8>, ()> {
//! #     let mut sig = [0u8; 64];
//! #     KEY.try_sign(&[message], &mut sig).map_err(|_| ())?;
//! #     Ok(sig.to_vec())
//! # }
//! # let public = *KEY.public_jwk();
//! // The public key comes from the HSM or KMS (its `GetPublicKey` call).
//! let signer = KmsSigner { public, key_id: "dpop-client-1".into() };
//! let client = Client::new(signer);
//! let attempt = client.prepare(&http::Method::GET, "https://api.example.com/x", None)?;
//! assert_eq!(attempt.proof().split('.').count(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write as _};
use std::path::Path;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use dpop_core::{Algorithm, KeyError, SigningKey, consts::MAX_PRIVATE_JWK_LEN};
use zeroize::Zeroizing;

/// Largest key file read: far above any EC JWK or PEM, small enough to fail fast on a wrong
/// file.
pub const MAX_KEY_FILE_LEN: usize = 16 * 1024;

/// Generates a key for `algorithm` with the OS CSPRNG (`getrandom`).
///
/// # Errors
///
/// [`KeyError::Rng`] when the OS generator fails, [`KeyError::UnsupportedAlgorithm`] when the
/// algorithm's feature is off.
pub fn generate(algorithm: Algorithm) -> Result<SigningKey, KeyError> {
    SigningKey::generate(algorithm, &mut getrandom::SysRng)
}

/// The private JWK text of `key`, `{"kty":"EC","crv":..,"x":..,"y":..,"d":..}`, in a buffer
/// wiped on drop.
///
/// # Errors
///
/// [`KeyFileError::Encoding`] if dpop-core cannot write the key (it always can).
pub fn to_jwk(key: &SigningKey) -> Result<Zeroizing<String>, KeyFileError> {
    let mut buf = Zeroizing::new([0u8; MAX_PRIVATE_JWK_LEN]);
    let text = key
        .write_private_jwk(&mut buf[..])
        .map_err(|_| KeyFileError::Encoding)?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Parses a private EC JWK.
///
/// # Errors
///
/// [`KeyFileError::Key`] with dpop-core's reason.
pub fn from_jwk(text: &str) -> Result<SigningKey, KeyFileError> {
    SigningKey::from_jwk(text.trim().as_bytes()).map_err(KeyFileError::Key)
}

/// Writes `key` as a private JWK to a new file `path` (mode 0600 on Unix).
///
/// # Errors
///
/// [`KeyFileError::AlreadyExists`] when `path` exists (it is never overwritten), else
/// [`KeyFileError::Io`].
pub fn write_jwk_file(key: &SigningKey, path: impl AsRef<Path>) -> Result<(), KeyFileError> {
    write_new_file(path.as_ref(), &to_jwk(key)?)
}

/// Reads a private JWK file.
///
/// # Errors
///
/// [`KeyFileError::Io`], [`KeyFileError::TooLarge`], [`KeyFileError::NotUtf8`], or
/// [`KeyFileError::Key`] for an invalid key.
pub fn read_jwk_file(path: impl AsRef<Path>) -> Result<SigningKey, KeyFileError> {
    from_jwk(&read_file(path.as_ref())?)
}

/// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 5208 / RFC 5915 /
/// RFC 7468), as `openssl genpkey` writes it, in a buffer wiped on drop.
///
/// # Errors
///
/// [`KeyFileError::Key`]`(`[`KeyError::UnsupportedAlgorithm`]`)` when PEM support for the
/// key's curve is not compiled in (feature `pem` and the algorithm's feature);
/// [`KeyFileError::Encoding`] if encoding fails.
#[cfg(feature = "pem")]
pub fn to_pkcs8_pem(key: &SigningKey) -> Result<Zeroizing<String>, KeyFileError> {
    let scalar = scalar_of(key)?;
    pem::encode(key.algorithm(), &scalar)
}

/// Parses an unencrypted PKCS#8 PEM EC private key on P-256, P-384 or P-521.
///
/// # Errors
///
/// [`KeyFileError::Pem`] when the text is not such a key (or its curve is not compiled in).
#[cfg(feature = "pem")]
pub fn from_pkcs8_pem(text: &str) -> Result<SigningKey, KeyFileError> {
    pem::decode(text)
}

/// Writes `key` as PKCS#8 PEM to a new file `path` (mode 0600 on Unix).
///
/// # Errors
///
/// As [`to_pkcs8_pem`] and [`write_jwk_file`].
#[cfg(feature = "pem")]
pub fn write_pem_file(key: &SigningKey, path: impl AsRef<Path>) -> Result<(), KeyFileError> {
    write_new_file(path.as_ref(), &to_pkcs8_pem(key)?)
}

/// Reads a PKCS#8 PEM key file.
///
/// # Errors
///
/// As [`read_jwk_file`], with [`KeyFileError::Pem`] for an invalid key.
#[cfg(feature = "pem")]
pub fn read_pem_file(path: impl AsRef<Path>) -> Result<SigningKey, KeyFileError> {
    from_pkcs8_pem(&read_file(path.as_ref())?)
}

/// A key could not be saved or loaded. Never contains key material. Variants are listed
/// alphabetically.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFileError {
    /// The file exists; key files are never overwritten.
    AlreadyExists,
    /// The key could not be encoded.
    Encoding,
    /// The file could not be created, read or written.
    Io(ErrorKind),
    /// The JWK is not a valid private EC key.
    Key(KeyError),
    /// Not an unencrypted PKCS#8 PEM EC private key on a supported curve.
    Pem,
    /// The file is larger than [`MAX_KEY_FILE_LEN`].
    TooLarge,
    /// The file is not UTF-8 text.
    NotUtf8,
}

impl KeyFileError {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::AlreadyExists => "already_exists",
            Self::Encoding => "encoding_failed",
            Self::Io(_) => "io_error",
            Self::Key(e) => e.name(),
            Self::Pem => "invalid_pem",
            Self::TooLarge => "too_large",
            Self::NotUtf8 => "not_utf8",
        }
    }
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyExists => f.write_str("key file exists; refusing to overwrite it"),
            Self::Encoding => f.write_str("cannot encode the key"),
            Self::Io(kind) => write!(f, "key file i/o error: {kind}"),
            Self::Key(e) => write!(f, "invalid key: {e}"),
            Self::Pem => f.write_str("not an unencrypted PKCS#8 EC private key in PEM"),
            Self::TooLarge => write!(f, "key file is larger than {MAX_KEY_FILE_LEN} bytes"),
            Self::NotUtf8 => f.write_str("key file is not UTF-8 text"),
        }
    }
}

impl core::error::Error for KeyFileError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Key(e) => Some(e),
            _ => None,
        }
    }
}

/// Creates `path` (0600 on Unix, never following or replacing an existing file or link) and
/// writes `text` and a newline; a partly written file is removed.
fn write_new_file(path: &Path, text: &str) -> Result<(), KeyFileError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        ErrorKind::AlreadyExists => KeyFileError::AlreadyExists,
        kind => KeyFileError::Io(kind),
    })?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        // Best effort: the write error is the one to report.
        let _ = fs::remove_file(path);
        return Err(KeyFileError::Io(e.kind()));
    }
    Ok(())
}

/// Reads at most [`MAX_KEY_FILE_LEN`] bytes of UTF-8 text into a buffer wiped on drop.
fn read_file(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    let buf = File::open(path)
        .and_then(|f| read_bounded(f, MAX_KEY_FILE_LEN))
        .map_err(|e| KeyFileError::Io(e.kind()))?;
    if buf.len() > MAX_KEY_FILE_LEN {
        return Err(KeyFileError::TooLarge);
    }
    let text = core::str::from_utf8(&buf).map_err(|_| KeyFileError::NotUtf8)?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Reads `reader` to its end, or to `limit + 1` bytes, into one buffer allocated once at full
/// size and wiped on drop (its whole capacity). Growing a vector would free unwiped copies, and
/// `Read::read_to_end` may pass bytes through a small stack buffer of its own; this loop reads
/// only into the buffer.
fn read_bounded(mut reader: impl Read, limit: usize) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(vec![0u8; limit.saturating_add(1)]);
    let mut filled = 0;
    while let Some(spare) = buf.get_mut(filled..).filter(|s| !s.is_empty()) {
        match reader.read(spare) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// The raw private scalar of `key` (32, 48 or 66 bytes), read back from its private JWK:
/// dpop-core exposes the scalar only there.
#[cfg_attr(not(feature = "pem"), allow(dead_code))]
fn scalar_of(key: &SigningKey) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let jwk = to_jwk(key)?;
    const MARK: &str = "\"d\":\"";
    let start = jwk.rfind(MARK).ok_or(KeyFileError::Encoding)? + MARK.len();
    let d = jwk.get(start..).ok_or(KeyFileError::Encoding)?;
    let d = d.get(..d.find('"').ok_or(KeyFileError::Encoding)?);
    let d = d.ok_or(KeyFileError::Encoding)?;
    let mut buf = Zeroizing::new([0u8; 66]);
    let scalar = Base64UrlUnpadded::decode(d, &mut buf[..]).map_err(|_| KeyFileError::Encoding)?;
    if scalar.len() != key.algorithm().curve().coordinate_len() {
        return Err(KeyFileError::Encoding);
    }
    Ok(Zeroizing::new(scalar.to_vec()))
}

#[cfg(feature = "pem")]
mod pem {
    //! PKCS#8 through the RustCrypto curve crates, one per compiled-in algorithm.

    use zeroize::Zeroize as _;

    use super::{Algorithm, KeyError, KeyFileError, SigningKey, Zeroizing};

    /// PEM of the raw `scalar` on `algorithm`'s curve.
    pub(super) fn encode(
        algorithm: Algorithm,
        scalar: &[u8],
    ) -> Result<Zeroizing<String>, KeyFileError> {
        macro_rules! encode_with {
            ($curve:ident) => {{
                use $curve::pkcs8::EncodePrivateKey as _;
                let secret =
                    $curve::SecretKey::from_slice(scalar).map_err(|_| KeyFileError::Encoding)?;
                secret
                    .to_pkcs8_pem($curve::pkcs8::LineEnding::LF)
                    .map_err(|_| KeyFileError::Encoding)
            }};
        }
        match algorithm {
            #[cfg(feature = "es256")]
            Algorithm::Es256 => encode_with!(p256),
            #[cfg(feature = "es384")]
            Algorithm::Es384 => encode_with!(p384),
            #[cfg(feature = "es512")]
            Algorithm::Es512 => encode_with!(p521),
            #[allow(unreachable_patterns)]
            _ => Err(KeyFileError::Key(KeyError::UnsupportedAlgorithm)),
        }
    }

    /// The key of a PKCS#8 PEM document, trying each compiled-in curve (the curve OID decides).
    pub(super) fn decode(text: &str) -> Result<SigningKey, KeyFileError> {
        macro_rules! try_curve {
            ($curve:ident, $algorithm:expr) => {{
                use $curve::pkcs8::DecodePrivateKey as _;
                if let Ok(secret) = $curve::SecretKey::from_pkcs8_pem(text.trim()) {
                    let mut bytes = secret.to_bytes();
                    let key = SigningKey::from_bytes($algorithm, &bytes);
                    bytes.as_mut_slice().zeroize();
                    return key.map_err(KeyFileError::Key);
                }
            }};
        }
        #[cfg(feature = "es256")]
        try_curve!(p256, Algorithm::Es256);
        #[cfg(feature = "es384")]
        try_curve!(p384, Algorithm::Es384);
        #[cfg(feature = "es512")]
        try_curve!(p521, Algorithm::Es512);
        Err(KeyFileError::Pem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_round_trips_through_from_bytes() {
        for algorithm in Algorithm::ALL {
            let key = generate(algorithm).unwrap();
            let scalar = scalar_of(&key).unwrap();
            let again = SigningKey::from_bytes(algorithm, &scalar).unwrap();
            assert_eq!(again.public_jwk(), key.public_jwk());
        }
    }

    #[test]
    fn key_files_are_read_into_one_buffer_that_never_grows() {
        let data = [42u8; 300];
        let buf = read_bounded(&data[..], 1000).unwrap();
        assert_eq!(buf.as_slice(), &data[..]);
        assert_eq!(buf.capacity(), 1001);
        let buf = read_bounded(&data[..], 100).unwrap();
        assert_eq!((buf.len(), buf.capacity()), (101, 101));
    }

    #[test]
    fn errors_show_no_key_material() {
        let key = SigningKey::from_bytes(Algorithm::Es256, &[9; 32]).unwrap();
        let jwk = to_jwk(&key).unwrap();
        let broken = jwk.replace("\"kty\":\"EC\"", "\"kty\":\"RSA\"");
        let error = from_jwk(&broken).unwrap_err();
        let d = &jwk[jwk.rfind("\"d\":\"").unwrap() + 5..jwk.len() - 2];
        assert!(!error.to_string().contains(d));
        assert!(!format!("{error:?}").contains(d));
    }
}
