//! Where provider keys live. Keys are read through a [`SecretStore`]; the engine never logs
//! them, never returns them from an API and never writes them to a file.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

/// The keychain service name every Switchyard secret is stored under.
pub const KEYCHAIN_SERVICE: &str = "switchyard";

/// A secret value. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wrap a value, trimming the whitespace and newlines a paste or `echo` adds.
    pub fn new(value: &str) -> Result<Self, SecretError> {
        let v = value.trim();
        if v.is_empty() {
            return Err(SecretError::Invalid("the key is empty".into()));
        }
        if v.chars().any(|c| c.is_control() || !c.is_ascii()) {
            return Err(SecretError::Invalid(
                "the key contains control or non-ASCII characters; it cannot be sent in an HTTP header"
                    .into(),
            ));
        }
        Ok(Secret(v.into()))
    }

    /// The value, for building an upstream request header. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters, for showing a person which key is set.
    pub fn hint(&self) -> String {
        let n = self.0.chars().count();
        if n <= 8 {
            "…".into()
        } else {
            format!("…{}", &self.0[self.0.len() - 4..])
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What can go wrong with a secret store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    /// The store could not be reached (no Secret Service, locked keychain, ...).
    #[error("the OS keychain is not available: {0}")]
    Unavailable(String),
    /// The value is not usable as a key.
    #[error("invalid key: {0}")]
    Invalid(String),
    /// The store refused (e.g. read-only env store).
    #[error("{0}")]
    Refused(String),
}

/// A place keys are kept, by name (a provider id, or `access-token`).
pub trait SecretStore: Send + Sync + 'static {
    /// The secret for `name`, `Ok(None)` if there is none.
    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError>;
    /// Store or replace the secret for `name`.
    fn set(&self, name: &str, secret: &Secret) -> Result<(), SecretError>;
    /// Remove the secret for `name`; `Ok(false)` if there was none.
    fn delete(&self, name: &str) -> Result<bool, SecretError>;
    /// A short description for messages ("OS keychain", "memory").
    fn describe(&self) -> &'static str;
}

/// The OS keychain through the `keyring` crate: Secret Service on Linux, Keychain on macOS,
/// Credential Manager on Windows. Service [`KEYCHAIN_SERVICE`], user = the name.
#[derive(Debug, Default)]
pub struct KeychainStore;

impl KeychainStore {
    fn entry(name: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(KEYCHAIN_SERVICE, name)
            .map_err(|e| SecretError::Unavailable(e.to_string()))
    }
}

impl SecretStore for KeychainStore {
    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        match Self::entry(name)?.get_password() {
            Ok(v) => Secret::new(&v).map(Some),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(SecretError::Unavailable(e.to_string())),
        }
    }
    fn set(&self, name: &str, secret: &Secret) -> Result<(), SecretError> {
        Self::entry(name)?
            .set_password(secret.expose())
            .map_err(|e| SecretError::Unavailable(e.to_string()))
    }
    fn delete(&self, name: &str) -> Result<bool, SecretError> {
        match Self::entry(name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(SecretError::Unavailable(e.to_string())),
        }
    }
    fn describe(&self) -> &'static str {
        "OS keychain"
    }
}

/// Secrets held in memory: for tests and for headless runs that take keys from elsewhere.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<HashMap<String, Secret>>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        Ok(self.0.lock().get(name).cloned())
    }
    fn set(&self, name: &str, secret: &Secret) -> Result<(), SecretError> {
        self.0.lock().insert(name.to_string(), secret.clone());
        Ok(())
    }
    fn delete(&self, name: &str) -> Result<bool, SecretError> {
        Ok(self.0.lock().remove(name).is_some())
    }
    fn describe(&self) -> &'static str {
        "memory"
    }
}

/// Read a key from an environment variable.
pub fn from_env(var: &str) -> Result<Option<Secret>, SecretError> {
    match std::env::var(var) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Secret::new(&v).map(Some),
        Err(_) => Ok(None),
    }
}

/// How long "no key stored" is believed before asking the store again, so a key added with
/// the CLI while the engine runs is picked up.
const MISS_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// A read-through cache in front of a store, so the request path does not make a D-Bus call
/// per request. Writes go through and refresh the cache.
pub struct CachedStore {
    inner: Arc<dyn SecretStore>,
    cache: Mutex<HashMap<String, (Option<Secret>, std::time::Instant)>>,
}

impl CachedStore {
    /// Wrap a store.
    pub fn new(inner: Arc<dyn SecretStore>) -> Self {
        CachedStore {
            inner,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Forget cached values (after the user changed keys elsewhere, e.g. with the CLI).
    pub fn invalidate(&self) {
        self.cache.lock().clear();
    }

    /// Forget one cached value (e.g. after the upstream refused it).
    pub fn invalidate_one(&self, name: &str) {
        self.cache.lock().remove(name);
    }

    /// The cached answer, if fresh: `Some(value)` without touching the store.
    pub fn cached(&self, name: &str) -> Option<Option<Secret>> {
        let g = self.cache.lock();
        let (v, at) = g.get(name)?;
        if v.is_none() && at.elapsed() > MISS_TTL {
            return None;
        }
        Some(v.clone())
    }
}

impl SecretStore for CachedStore {
    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        if let Some(v) = self.cached(name) {
            return Ok(v);
        }
        let v = self.inner.get(name)?;
        self.cache
            .lock()
            .insert(name.to_string(), (v.clone(), std::time::Instant::now()));
        Ok(v)
    }
    fn set(&self, name: &str, secret: &Secret) -> Result<(), SecretError> {
        self.inner.set(name, secret)?;
        self.cache.lock().insert(
            name.to_string(),
            (Some(secret.clone()), std::time::Instant::now()),
        );
        Ok(())
    }
    fn delete(&self, name: &str) -> Result<bool, SecretError> {
        let existed = self.inner.delete(name)?;
        self.cache
            .lock()
            .insert(name.to_string(), (None, std::time::Instant::now()));
        Ok(existed)
    }
    fn describe(&self) -> &'static str {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_trimmed_validated_and_redacted() {
        let s = Secret::new("  sk-abcdef123456\n").expect("valid");
        assert_eq!(s.expose(), "sk-abcdef123456");
        assert_eq!(s.hint(), "…3456");
        assert!(!format!("{s:?}").contains("abc"));
        assert!(Secret::new(" \n").is_err());
        assert!(Secret::new("sk-a\rb").is_err());
    }

    #[test]
    fn cached_store_reads_through_and_writes_through() {
        let mem = Arc::new(MemoryStore::new());
        let cached = CachedStore::new(mem.clone());
        assert!(cached.get("p").expect("get").is_none());
        mem.set("p", &Secret::new("k1").expect("k")).expect("set");
        // A cached miss holds until invalidated (or MISS_TTL passes).
        assert!(cached.get("p").expect("get").is_none());
        cached.invalidate();
        assert_eq!(
            cached
                .get("p")
                .expect("get")
                .map(|s| s.expose().to_string()),
            Some("k1".into())
        );
        cached
            .set("p", &Secret::new("k2").expect("k"))
            .expect("set");
        assert_eq!(
            mem.get("p").expect("get").map(|s| s.expose().to_string()),
            Some("k2".into())
        );
        assert!(cached.delete("p").expect("del"));
        assert!(cached.get("p").expect("get").is_none());
    }
}
