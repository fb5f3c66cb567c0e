//! Where a [`TokenManager`](crate::tokens::TokenManager) keeps its session between runs: the
//! tokens and, beside them, the DPoP key they are bound to (a bound refresh token is useless
//! without it, RFC 9449 section 5).
//!
//! A store holds one secret document (the session, as JSON) and knows nothing of its format:
//! [`FileStore`] writes it to a file, `KeyringStore` (feature `keyring`) to the operating
//! system's keyring, and your own store can put it in a secrets service.

use core::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

#[cfg(feature = "keyring")]
mod os_keyring;
#[cfg(feature = "keyring")]
#[cfg_attr(docsrs, doc(cfg(feature = "keyring")))]
pub use os_keyring::KeyringStore;

/// Largest session document read: a key, tokens and extension members fit in far less.
pub const MAX_SESSION_LEN: usize = 256 * 1024;

/// Keeps one session document (secret: tokens and a private key) between runs.
pub trait TokenStore: Send + Sync {
    /// The stored document, or `None` when there is none yet.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the document exists but cannot be read safely.
    fn load(&self) -> Result<Option<Zeroizing<String>>, StoreError>;

    /// Replaces the stored document with `document`, all at once: a reader sees the old one
    /// or the new one, never a mix.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when it cannot be written.
    fn save(&self, document: &str) -> Result<(), StoreError>;

    /// Removes the stored document (signing out). Removing nothing is not an error.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when it exists and cannot be removed.
    fn clear(&self) -> Result<(), StoreError>;
}

/// A session document could not be loaded, saved or removed. Never contains its content.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The file could not be read, written, synced or renamed.
    Io(ErrorKind),
    /// The path is a symbolic link (or not a regular file): it is never followed.
    NotARegularFile,
    /// On Unix, the file can be read or written by others than its owner (mode not within
    /// 0600): the secret may have been exposed, so it is not used.
    Permissions(u32),
    /// The file is larger than [`MAX_SESSION_LEN`].
    TooLarge,
    /// The document is not a session this crate wrote (bad JSON, a missing member, an invalid
    /// key or token response).
    Malformed,
    /// The operating system's keyring failed (`KeyringStore`, feature `keyring`).
    Keyring(KeyringError),
}

/// Why the operating system's keyring could not load, save or remove a session.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyringError {
    /// Several entries match the service and account (written by another program).
    Ambiguous,
    /// The keyring is locked, or its user refused access.
    Locked,
    /// Any other failure the platform reported (a D-Bus error, a keychain error).
    Platform,
    /// The keyring refused the entry: a name or the session is too long for it (Windows'
    /// Credential Manager takes at most 2,560 bytes), or a name is invalid.
    Rejected,
    /// No keyring can be reached: on Linux, no Secret Service on the session D-Bus (or no
    /// session bus at all).
    Unavailable,
}

impl KeyringError {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ambiguous => "keyring_ambiguous",
            Self::Locked => "keyring_locked",
            Self::Platform => "keyring_platform_error",
            Self::Rejected => "keyring_rejected",
            Self::Unavailable => "keyring_unavailable",
        }
    }
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ambiguous => "several keyring entries match the service and account",
            Self::Locked => "the keyring is locked or refused access",
            Self::Platform => "the keyring reported a platform error",
            Self::Rejected => "the keyring refused the entry (too long or an invalid name)",
            Self::Unavailable => "no keyring is available (no Secret Service on the session bus?)",
        })
    }
}

impl StoreError {
    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Io(_) => "io_error",
            Self::NotARegularFile => "not_a_regular_file",
            Self::Permissions(_) => "permissions",
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::Keyring(e) => e.name(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(kind) => write!(f, "session file i/o error: {kind}"),
            Self::NotARegularFile => {
                f.write_str("session path is a symbolic link or not a regular file")
            }
            Self::Permissions(mode) => write!(
                f,
                "session file mode {mode:o} lets others read or write it (want 600)"
            ),
            Self::TooLarge => write!(f, "session file is larger than {MAX_SESSION_LEN} bytes"),
            Self::Malformed => f.write_str("session document is malformed"),
            Self::Keyring(e) => write!(f, "session keyring: {e}"),
        }
    }
}

impl core::error::Error for StoreError {}

/// A [`TokenStore`] in one file.
///
/// - Written with mode 0600 (on Unix), by atomic replacement: a new temporary file in the same
///   directory (created exclusively, so never through an existing file or link), written,
///   synced, then renamed over the path, and the directory synced.
/// - Never follows a symbolic link at the path: loading opens with `O_NOFOLLOW` and checks
///   that it got a regular file; saving refuses a link at the path. (The directories above
///   it are the caller's to trust.)
/// - Refuses, on Unix, a file others can read or write ([`StoreError::Permissions`]), as SSH
///   does with private keys.
#[derive(Clone, Debug)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store at `path`; nothing is touched until the first load or save.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_not_a_link(&self) -> Result<bool, StoreError> {
        match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_file() => Ok(true),
            Ok(_) => Err(StoreError::NotARegularFile),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::Io(e.kind())),
        }
    }

    /// A temporary path beside the file, with a random part.
    fn temp_path(&self) -> Result<PathBuf, StoreError> {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|_| StoreError::Io(ErrorKind::Other))?;
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let name = self
            .path
            .file_name()
            .ok_or(StoreError::NotARegularFile)?
            .to_string_lossy();
        Ok(self.path.with_file_name(format!(".{name}.{suffix}.tmp")))
    }
}

fn io(e: &std::io::Error) -> StoreError {
    StoreError::Io(e.kind())
}

impl TokenStore for FileStore {
    fn load(&self) -> Result<Option<Zeroizing<String>>, StoreError> {
        let mut options = OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.custom_flags(libc::O_NOFOLLOW);
        }
        let file = match options.open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            // O_NOFOLLOW on a link: ELOOP.
            #[cfg(unix)]
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(StoreError::NotARegularFile);
            }
            Err(e) => return Err(io(&e)),
        };
        let meta = file.metadata().map_err(|e| io(&e))?;
        if !meta.file_type().is_file() {
            return Err(StoreError::NotARegularFile);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(StoreError::Permissions(mode));
            }
        }
        if meta.len() > MAX_SESSION_LEN as u64 {
            return Err(StoreError::TooLarge);
        }
        // One buffer of the final size, wiped on drop (growing one would free unwiped copies).
        let mut buf = Zeroizing::new(vec![0u8; MAX_SESSION_LEN + 1]);
        let mut filled = 0;
        let mut file = file;
        while let Some(spare) = buf.get_mut(filled..).filter(|s| !s.is_empty()) {
            match file.read(spare) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(io(&e)),
            }
        }
        if filled > MAX_SESSION_LEN {
            return Err(StoreError::TooLarge);
        }
        let text = buf.get(..filled).ok_or(StoreError::TooLarge)?;
        let text = core::str::from_utf8(text).map_err(|_| StoreError::Malformed)?;
        Ok(Some(Zeroizing::new(text.to_owned())))
    }

    fn save(&self, document: &str) -> Result<(), StoreError> {
        // A link (or a directory, a FIFO ...) at the path is refused, not replaced.
        self.check_not_a_link()?;
        let temp = self.temp_path()?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let mut file = options.open(&temp).map_err(|e| io(&e))?;
        let written = file
            .write_all(document.as_bytes())
            .and_then(|()| file.sync_all());
        drop(file);
        let renamed = written.and_then(|()| {
            // Checked once more right before the rename, which replaces a link rather than
            // writing through it in any case.
            self.check_not_a_link()
                .map_err(|_| std::io::Error::from(ErrorKind::AlreadyExists))?;
            fs::rename(&temp, &self.path)
        });
        if let Err(e) = renamed {
            // Best effort: the first error is the one to report.
            let _ = fs::remove_file(&temp);
            return Err(match self.check_not_a_link() {
                Err(link) => link,
                Ok(_) => io(&e),
            });
        }
        // The rename itself is durable once the directory is synced.
        #[cfg(unix)]
        if let Some(dir) = self.path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io(&e))?;
        }
        Ok(())
    }

    fn clear(&self) -> Result<(), StoreError> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&e)),
        }
    }
}

/// A [`TokenStore`] in memory, for tests and for processes that only want the in-process
/// cache to be shared by several managers.
#[derive(Debug, Default)]
pub struct MemoryStore {
    document: std::sync::Mutex<Option<Zeroizing<String>>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Zeroizing<String>>> {
        self.document
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TokenStore for MemoryStore {
    fn load(&self) -> Result<Option<Zeroizing<String>>, StoreError> {
        Ok(self.lock().clone())
    }

    fn save(&self, document: &str) -> Result<(), StoreError> {
        *self.lock() = Some(Zeroizing::new(document.to_owned()));
        Ok(())
    }

    fn clear(&self) -> Result<(), StoreError> {
        *self.lock() = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).unwrap();
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("dpop-store-{suffix}"));
        fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn round_trip_and_replace() {
        let dir = dir();
        let store = FileStore::new(dir.join("session.json"));
        assert_eq!(store.load().unwrap(), None);
        store.save("first").unwrap();
        assert_eq!(
            store.load().unwrap().as_deref().map(String::as_str),
            Some("first")
        );
        store.save("second").unwrap();
        assert_eq!(
            store.load().unwrap().as_deref().map(String::as_str),
            Some("second")
        );
        // no temporary file is left behind
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        store.clear().unwrap();
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn mode_0600_and_replaced_not_rewritten() {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let dir = dir();
        let path = dir.join("session.json");
        let store = FileStore::new(&path);
        store.save("one").unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        // Atomic replacement: a new inode, so a reader holding the old file sees it whole.
        let mut old = File::open(&path).unwrap();
        store.save("two").unwrap();
        let mut text = String::new();
        old.read_to_string(&mut text).unwrap();
        assert_eq!(text, "one");
        assert_ne!(fs::metadata(&path).unwrap().ino(), meta.ino());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn group_or_world_access_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = dir();
        let path = dir.join("session.json");
        let store = FileStore::new(&path);
        store.save("secret").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(store.load(), Err(StoreError::Permissions(0o644)));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(store.load().unwrap().is_some());
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_are_never_followed() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = dir();
        let target = dir.join("elsewhere.json");
        fs::write(&target, "theirs").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.join("session.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let store = FileStore::new(&link);
        assert_eq!(store.load(), Err(StoreError::NotARegularFile));
        assert_eq!(store.save("mine"), Err(StoreError::NotARegularFile));
        // the target is untouched, the link still a link, and no temporary file is left
        assert_eq!(fs::read_to_string(&target).unwrap(), "theirs");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
        // a dangling link too
        fs::remove_file(&target).unwrap();
        assert_eq!(store.save("mine"), Err(StoreError::NotARegularFile));
        assert!(!target.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn too_large_is_refused() {
        let dir = dir();
        let store = FileStore::new(dir.join("session.json"));
        store.save(&"x".repeat(MAX_SESSION_LEN + 1)).unwrap();
        assert_eq!(store.load(), Err(StoreError::TooLarge));
        fs::remove_dir_all(dir).unwrap();
    }
}
