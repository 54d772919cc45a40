//! Static API keys for small teams: each a name, a secret and its scopes, kept only as
//! a SHA-256 digest and compared in constant time.
//!
//! The text form, in a file or an environment variable, has one key per line (or per
//! `;`-separated entry): `name secret [scope ...]`. Blank lines and lines starting
//! with `#` are skipped.

use std::sync::Arc;

use tenet_server::Grant;

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
        let grant = Arc::new(Grant::new(scopes.iter().cloned()).with_subject(name.clone()));
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

    /// What a caller with this key is granted (built once).
    pub fn grant(&self) -> &Arc<Grant> {
        &self.grant
    }

    /// Parses the text form (see the module docs); `source_name` names it in errors.
    ///
    /// # Errors
    /// A line without a secret, or a secret shorter than 16 characters.
    pub fn parse_list(text: &str, source_name: &str) -> Result<Vec<ApiKey>, AuthError> {
        let mut keys = Vec::new();
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
            keys.push(ApiKey::new(name, secret, words));
        }
        Ok(keys)
    }
}

/// The key whose secret is `presented`. Every key is compared, each in constant time,
/// so the time taken says nothing about which key (or how much of one) matched.
pub(crate) fn find<'a>(keys: &'a [ApiKey], presented: &str) -> Option<&'a ApiKey> {
    if keys.is_empty() {
        return None; // nothing to compare against: no need to hash
    }
    let wanted = sha256(presented.as_bytes());
    let mut found = None;
    for key in keys {
        let difference = key.digest.iter().zip(&wanted).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if difference == 0 && found.is_none() {
            found = Some(key);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_match_only_their_own_secret() {
        let text = "# team keys\nalice 0123456789abcdef-alice stdlib:read stdlib:admin\n\n bob 0123456789abcdef-bob\tstdlib:read ; carol 0123456789abcdef-carol";
        let keys = ApiKey::parse_list(text, "keys.txt").unwrap();
        assert_eq!(keys.iter().map(ApiKey::name).collect::<Vec<_>>(), ["alice", "bob", "carol"]);
        assert_eq!(find(&keys, "0123456789abcdef-alice").unwrap().scopes(), ["stdlib:read", "stdlib:admin"]);
        assert_eq!(find(&keys, "0123456789abcdef-bob").unwrap().name(), "bob");
        assert!(find(&keys, "0123456789abcdef-alicE").is_none());
        assert!(find(&keys, "").is_none());
        assert!(!format!("{keys:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn bad_lines_are_reported_with_their_place() {
        let e = ApiKey::parse_list("ok 0123456789abcdef\nshort abc", "TENET_API_KEYS").unwrap_err();
        assert_eq!(e.to_string(), "TENET_API_KEYS:2: the secret must be at least 16 characters");
        let e = ApiKey::parse_list("lonely", "f").unwrap_err();
        assert!(e.to_string().starts_with("f:1: expected"));
    }
}
