//! [`KeyringStore`]: the session in the operating system's keyring (feature `keyring`).

use core::fmt;

use zeroize::Zeroizing;

use super::{KeyringError, MAX_SESSION_LEN, StoreError, TokenStore};

/// A [`TokenStore`] in the operating system's keyring: the Secret Service on Linux and the
/// BSDs (GNOME Keyring, KDE Wallet and others, over the session D-Bus), the Keychain on macOS,
/// the Credential Manager on Windows.
///
/// The entry holds the same session document a [`FileStore`](super::FileStore) writes (the
/// tokens and the private key they are bound to), one entry per `(service, account)` pair
/// you name: the service is your application (`"my-cli"`), the account the identity the
/// session is for (a user, a profile, an environment). Two stores with different accounts
/// never see each other's session.
///
/// - No entry is no session ([`load`](TokenStore::load) gives `None`), not an error.
/// - A keyring that cannot be reached (no Secret Service on the session bus, no session bus)
///   is [`KeyringError::Unavailable`]; a locked one, or one whose user refused access, is
///   [`KeyringError::Locked`]. The store then fails; it never falls back to a file.
/// - `Debug` shows the service and account only; the store keeps no copy of the session.
///
/// The platform keyring is opened once per process, on first use: a keyring that was not
/// reachable then stays [`KeyringError::Unavailable`] for the life of the process. Calls block
/// the calling thread for a D-Bus (or system) round trip, or, when the keyring asks its user to
/// unlock it, until the user answers.
///
/// Windows' Credential Manager limits a secret to 2,560 bytes: a larger session (long JWT
/// access tokens) is refused there with [`KeyringError::Rejected`].
#[derive(Clone)]
pub struct KeyringStore {
    service: String,
    account: String,
}

impl KeyringStore {
    /// The entry for `service` and `account`; nothing is touched until the first load or save.
    #[must_use]
    pub fn new(service: impl Into<String>, account: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            account: account.into(),
        }
    }

    /// The service (application) name.
    #[must_use]
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The account name.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    fn entry(&self) -> Result<::keyring::Entry, StoreError> {
        ::keyring::Entry::new(&self.service, &self.account).map_err(map_error)
    }
}

impl fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringStore")
            .field("service", &self.service)
            .field("account", &self.account)
            .finish()
    }
}

impl TokenStore for KeyringStore {
    fn load(&self) -> Result<Option<Zeroizing<String>>, StoreError> {
        match self.entry()?.get_password() {
            Ok(document) => {
                let document = Zeroizing::new(document);
                if document.len() > MAX_SESSION_LEN {
                    return Err(StoreError::TooLarge);
                }
                Ok(Some(document))
            }
            Err(::keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    fn save(&self, document: &str) -> Result<(), StoreError> {
        // The keyring replaces the entry's secret in one operation.
        self.entry()?.set_password(document).map_err(map_error)
    }

    fn clear(&self) -> Result<(), StoreError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(::keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e)),
        }
    }
}

/// The keyring's error as ours. The keyring's own error is dropped here: it may hold the
/// secret's bytes (`BadEncoding`, `BadDataFormat`), which are wiped.
fn map_error(error: ::keyring::Error) -> StoreError {
    use ::keyring::Error as E;
    let kind = match error {
        E::BadEncoding(bytes) | E::BadDataFormat(bytes, _) => {
            drop(Zeroizing::new(bytes));
            return StoreError::Malformed;
        }
        E::NoDefaultStore => KeyringError::Unavailable,
        E::NoStorageAccess(_) => KeyringError::Locked,
        E::TooLong(..) | E::Invalid(..) => KeyringError::Rejected,
        E::Ambiguous(_) => KeyringError::Ambiguous,
        _ => KeyringError::Platform,
    };
    StoreError::Keyring(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service name no other run uses, so tests neither see nor clobber other entries.
    fn service() -> String {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).unwrap();
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        format!("dpop-reqwest-test-{suffix}")
    }

    #[test]
    fn keyring_errors_map_to_typed_store_errors() {
        use ::keyring::Error as E;
        let platform = || -> Box<dyn std::error::Error + Send + Sync> { "detail".into() };
        assert_eq!(
            map_error(E::NoDefaultStore),
            StoreError::Keyring(KeyringError::Unavailable)
        );
        assert_eq!(
            map_error(E::NoStorageAccess(platform())),
            StoreError::Keyring(KeyringError::Locked)
        );
        assert_eq!(
            map_error(E::PlatformFailure(platform())),
            StoreError::Keyring(KeyringError::Platform)
        );
        assert_eq!(
            map_error(E::TooLong("secret".into(), 2560)),
            StoreError::Keyring(KeyringError::Rejected)
        );
        assert_eq!(
            map_error(E::Ambiguous(Vec::new())),
            StoreError::Keyring(KeyringError::Ambiguous)
        );
        assert_eq!(map_error(E::BadEncoding(vec![0xff])), StoreError::Malformed);
        // The error text names the failure, never the entry's content.
        let text = StoreError::Keyring(KeyringError::Locked).to_string();
        assert!(text.contains("locked"), "{text}");
    }

    #[test]
    fn debug_names_the_entry_only() {
        let store = KeyringStore::new("my-cli", "alice@example.com");
        assert_eq!(
            format!("{store:?}"),
            r#"KeyringStore { service: "my-cli", account: "alice@example.com" }"#
        );
        assert_eq!(
            (store.service(), store.account()),
            ("my-cli", "alice@example.com")
        );
    }

    #[test]
    #[cfg_attr(
        dpop_skip_keyring,
        ignore = "no Secret Service on the session D-Bus: see the README, Run it"
    )]
    fn round_trip_overwrite_and_delete() {
        let store = KeyringStore::new(service(), "alice");
        assert_eq!(store.load().unwrap(), None, "a missing entry is no session");
        store.save(r#"{"session":1}"#).unwrap();
        assert_eq!(
            store.load().unwrap().as_deref().map(String::as_str),
            Some(r#"{"session":1}"#)
        );
        store.save(r#"{"session":2}"#).unwrap();
        assert_eq!(
            store.load().unwrap().as_deref().map(String::as_str),
            Some(r#"{"session":2}"#)
        );
        // A second store on the same entry sees it (another run of the same tool).
        let again = KeyringStore::new(store.service(), "alice");
        assert_eq!(
            again.load().unwrap().as_deref().map(String::as_str),
            Some(r#"{"session":2}"#)
        );
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
        assert_eq!(again.load().unwrap(), None);
        // Clearing nothing is not an error.
        store.clear().unwrap();
    }

    #[test]
    #[cfg_attr(
        dpop_skip_keyring,
        ignore = "no Secret Service on the session D-Bus: see the README, Run it"
    )]
    fn a_missing_entry_loads_as_none() {
        let store = KeyringStore::new(service(), "nobody");
        assert_eq!(store.load().unwrap(), None);
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
    }

    #[test]
    #[cfg_attr(
        dpop_skip_keyring,
        ignore = "no Secret Service on the session D-Bus: see the README, Run it"
    )]
    fn two_accounts_are_independent() {
        let service = service();
        let alice = KeyringStore::new(&service, "alice");
        let bob = KeyringStore::new(&service, "bob");
        alice.save("alice's session").unwrap();
        assert_eq!(bob.load().unwrap(), None);
        bob.save("bob's session").unwrap();
        assert_eq!(
            alice.load().unwrap().as_deref().map(String::as_str),
            Some("alice's session")
        );
        alice.clear().unwrap();
        assert_eq!(alice.load().unwrap(), None);
        assert_eq!(
            bob.load().unwrap().as_deref().map(String::as_str),
            Some("bob's session")
        );
        // The same account under another service is another entry too.
        assert_eq!(
            KeyringStore::new(service + "-other", "bob").load().unwrap(),
            None
        );
        bob.clear().unwrap();
    }

    /// Without a reachable Secret Service the store fails with a typed error. The keyring is
    /// opened once per process, so this runs in a child process (this test binary again)
    /// whose session bus address leads nowhere.
    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn an_unreachable_keyring_is_a_typed_error() {
        if std::env::var_os("DPOP_KEYRING_CHILD").is_some() {
            let store = KeyringStore::new(service(), "alice");
            assert_eq!(
                store.load(),
                Err(StoreError::Keyring(KeyringError::Unavailable))
            );
            assert_eq!(
                store.save("{}"),
                Err(StoreError::Keyring(KeyringError::Unavailable))
            );
            return;
        }
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::os_keyring::tests::an_unreachable_keyring_is_a_typed_error",
                "--nocapture",
            ])
            .env("DPOP_KEYRING_CHILD", "1")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/dpop-reqwest-test-bus",
            )
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "child: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A locked keyring is a typed error, not a hang or a panic: the test binary again, in a
    /// session bus of its own whose Secret Service (GNOME Keyring, started by the bus on the
    /// first call) has no unlocked keyring and no display to ask on.
    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    #[cfg_attr(
        dpop_skip_keyring_daemon,
        ignore = "dbus-run-session or gnome-keyring-daemon is not installed: \
                  sudo apt-get install -y dbus-daemon gnome-keyring"
    )]
    fn a_locked_keyring_is_a_typed_error() {
        if std::env::var_os("DPOP_KEYRING_CHILD").is_some_and(|v| v == "locked") {
            let store = KeyringStore::new(service(), "alice");
            assert_eq!(
                store.save("{}"),
                Err(StoreError::Keyring(KeyringError::Locked))
            );
            return;
        }
        let data = std::env::temp_dir().join(service());
        std::fs::create_dir(&data).unwrap();
        let output = std::process::Command::new("dbus-run-session")
            .arg("--")
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::os_keyring::tests::a_locked_keyring_is_a_typed_error",
                "--nocapture",
            ])
            .env("DPOP_KEYRING_CHILD", "locked")
            // A keyring directory of its own, and no display for an unlock prompt.
            .env("XDG_DATA_HOME", &data)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        std::fs::remove_dir_all(&data).unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "child: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
