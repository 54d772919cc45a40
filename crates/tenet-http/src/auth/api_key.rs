//! Static API keys for teams: each a name, a secret and its scopes, kept only as a
//! SHA-256 digest, and found by the digest of the secret presented.
//!
//! The text form, in a file or an environment variable, has one key per line (or per
//! `;`-separated entry): `name secret [scope ...]`. Blank lines and lines starting
//! with `#` are skipped.

use std::collections::HashMap;
use std::sync::Arc;

use tenet_server::{Grant, Principal};

use super::error::AuthError;

/// One API key: who it belongs to and what it may do.
#[derive(Clone)]
pub struct ApiKey {
    name: String,
    digest: [u8; 32],
    scopes: Vec<String>,
    grant: Arc<Grant>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret, not even its digest.
        f.debug_struct("ApiKey").field("name", &self.name).field("scopes", &self.scopes).finish_non_exhaustive()
    }
}

/// The SHA-256 digest of `bytes`: what a key is kept as.
fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

impl ApiKey {
    /// A key named `name` with secret `secret`, granting `scopes`.
    pub fn new(name: impl Into<String>, secret: &str, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let name = name.into();
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        let grant = Arc::new(Grant::new(scopes.iter().cloned()).with_principal(Principal::ApiKey(name.clone())));
        Self { name, digest: sha256(secret.as_bytes()), scopes, grant }
    }

    /// The key's name (for logs).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scopes it grants.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether `other` has the same secret (a caller presenting it could not be told
    /// from this key's).
    pub fn shares_secret_with(&self, other: &ApiKey) -> bool {
        self.digest == other.digest
    }

    /// What a caller with this key is granted (built once).
    pub fn grant(&self) -> &Arc<Grant> {
        &self.grant
    }

    /// Parses the text form (see the module docs); `source_name` names it in errors.
    ///
    /// # Errors
    /// A line without a secret, a secret shorter than 16 characters, or a name or
    /// secret an earlier line has (two callers merged, or a key that could never be
    /// told from another).
    pub fn parse_list(text: &str, source_name: &str) -> Result<Vec<ApiKey>, AuthError> {
        let mut keys: Vec<ApiKey> = Vec::new();
        let mut lines = Vec::new();
        for (index, line) in text.split(['\n', ';']).enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let error = |reason: &str| AuthError::ApiKey {
                source_name: source_name.to_owned(),
                line: index + 1,
                reason: reason.to_owned(),
            };
            let mut words = line.split_ascii_whitespace();
            let (Some(name), Some(secret)) = (words.next(), words.next()) else {
                return Err(error("expected `name secret [scope ...]`"));
            };
            if secret.len() < 16 {
                return Err(error("the secret must be at least 16 characters"));
            }
            let key = ApiKey::new(name, secret, words);
            if let Some(i) = keys.iter().position(|k| k.name == key.name) {
                return Err(error(&format!("the name {name} is on line {} too: one name, one caller", lines[i])));
            }
            if let Some(i) = keys.iter().position(|k| k.digest == key.digest) {
                return Err(error(&format!("line {} has the same secret: each key needs its own", lines[i])));
            }
            keys.push(key);
            lines.push(index + 1);
        }
        Ok(keys)
    }
}

/// API keys by the digest of their secrets, so that finding the key a request presents
/// costs the same with ten keys or ten thousand.
///
/// No secret is ever compared with another, only digests: the presented secret is
/// hashed, and the digest looked up (in a map whose hashing is keyed at random). What
/// the time of a lookup could tell is something about the presented secret's digest,
/// which helps nobody find a key's secret (that is finding a SHA-256 preimage). So
/// the lookup needs no constant-time comparison, and is one hash and one map probe
/// where comparing every key in turn cost 17 instructions a key per request.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex(HashMap<[u8; 32], usize>);

impl KeyIndex {
    /// The index of `keys` (of two keys with one secret, the first).
    pub(crate) fn new(keys: &[ApiKey]) -> Self {
        let mut index = HashMap::with_capacity(keys.len());
        for (at, key) in keys.iter().enumerate() {
            index.entry(key.digest).or_insert(at);
        }
        Self(index)
    }

    /// The key of `keys` (those this index was made of) whose secret is `presented`.
    pub(crate) fn find<'a>(&self, keys: &'a [ApiKey], presented: &str) -> Option<&'a ApiKey> {
        if self.0.is_empty() {
            return None; // nothing to look up: no need to hash
        }
        self.0.get(&sha256(presented.as_bytes())).and_then(|&at| keys.get(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_match_only_their_own_secret() {
        let text = "# team keys\nalice 0123456789abcdef-alice stdlib:read stdlib:admin\n\n bob 0123456789abcdef-bob\tstdlib:read ; carol 0123456789abcdef-carol";
        let keys = ApiKey::parse_list(text, "keys.txt").unwrap();
        assert_eq!(keys.iter().map(ApiKey::name).collect::<Vec<_>>(), ["alice", "bob", "carol"]);
        let index = KeyIndex::new(&keys);
        assert_eq!(index.find(&keys, "0123456789abcdef-alice").unwrap().scopes(), ["stdlib:read", "stdlib:admin"]);
        assert_eq!(index.find(&keys, "0123456789abcdef-bob").unwrap().name(), "bob");
        assert!(index.find(&keys, "0123456789abcdef-alicE").is_none());
        assert!(index.find(&keys, "").is_none());
        assert!(KeyIndex::new(&[]).find(&[], "0123456789abcdef-alice").is_none());
        // Of two keys with one secret (made in code; a keys file refuses them), the first.
        let twins = [
            ApiKey::new("first", "0123456789abcdef-same", ["a"]),
            ApiKey::new("second", "0123456789abcdef-same", ["b"]),
        ];
        assert_eq!(KeyIndex::new(&twins).find(&twins, "0123456789abcdef-same").unwrap().name(), "first");
        assert!(!format!("{keys:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn bad_lines_are_reported_with_their_place() {
        let e = ApiKey::parse_list("ok 0123456789abcdef\nshort abc", "TENET_API_KEYS").unwrap_err();
        assert_eq!(e.to_string(), "TENET_API_KEYS:2: the secret must be at least 16 characters");
        let e = ApiKey::parse_list("lonely", "f").unwrap_err();
        assert!(e.to_string().starts_with("f:1: expected"));
    }

    #[test]
    fn a_name_or_a_secret_given_twice_is_refused_naming_both_lines() {
        let twice = "alice 0123456789abcdef-one read\n# a comment\nalice 0123456789abcdef-two admin";
        let e = ApiKey::parse_list(twice, "keys.txt").unwrap_err();
        assert_eq!(e.to_string(), "keys.txt:3: the name alice is on line 1 too: one name, one caller");
        let shared = "alice 0123456789abcdef-same read; bob 0123456789abcdef-same admin";
        let e = ApiKey::parse_list(shared, "TENET_API_KEYS").unwrap_err();
        assert_eq!(e.to_string(), "TENET_API_KEYS:2: line 1 has the same secret: each key needs its own");
    }
}
