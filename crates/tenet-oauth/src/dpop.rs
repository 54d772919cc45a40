//! DPoP (RFC 9449): a per-client key, a fresh proof for every token request and
//! every request to the protected resource, and the server-supplied nonces.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use crate::OAuthError;
use crate::jwt::{Es256Key, jwk_thumbprint, now_secs};
use crate::pkce::random_string;
use crate::redact::REDACTED;

/// The client's DPoP key and the nonces servers asked it to use. `Debug` redacts
/// the key.
pub struct DpopKey {
    key: Es256Key,
    /// Nonces by origin (the token endpoint's and the resource's).
    nonces: Mutex<HashMap<String, String>>,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey").field("key", &REDACTED).field("nonces", &self.nonces).finish()
    }
}

/// `scheme://host[:port]/path` of a URL: what a proof's `htu` holds (RFC 9449 §4.2).
pub fn htu(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

impl DpopKey {
    /// A fresh ES256 key.
    pub fn generate() -> Result<Self, OAuthError> {
        Ok(DpopKey { key: Es256Key::generate()?, nonces: Mutex::default() })
    }

    /// The key's RFC 7638 thumbprint (the `jkt` a bound token carries).
    pub fn thumbprint(&self) -> String {
        jwk_thumbprint(&self.key.jwk()).unwrap_or_default()
    }

    /// A proof for `method` on `url`; with the access token's hash (`ath`) when it
    /// accompanies one, and the nonce last given by `url`'s origin.
    pub fn proof(&self, method: &str, url: &Url, access_token: Option<&str>) -> Result<String, OAuthError> {
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.key.jwk() });
        let mut claims = json!({ "jti": random_string(16)?, "htm": method, "htu": htu(url), "iat": now_secs() });
        if let Some(token) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        if let Some(nonce) = self.nonce(url) {
            claims["nonce"] = json!(nonce);
        }
        self.key.sign_with_header(&header, &claims)
    }

    fn nonces(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.nonces.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The nonce `url`'s origin asked for, if any.
    pub fn nonce(&self, url: &Url) -> Option<String> {
        self.nonces().get(&url.origin().ascii_serialization()).cloned()
    }

    /// Records a `DPoP-Nonce` from `url`'s origin; tells whether it is new.
    pub fn set_nonce(&self, url: &Url, nonce: &str) -> bool {
        let previous = self.nonces().insert(url.origin().ascii_serialization(), nonce.to_owned());
        previous.as_deref() != Some(nonce)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn debug_of_dpop_key_redacts_the_key_but_shows_nonces() {
        let key = DpopKey::generate().unwrap();
        key.set_nonce(&Url::parse("https://as.example.com/token").unwrap(), "nonce-1");
        let shown = format!("{key:?}");
        for line in key.key.to_pem().lines().filter(|l| !l.starts_with("-----")) {
            assert!(!shown.contains(line), "{shown}");
        }
        assert!(shown.contains(r#"key: "<redacted>""#), "{shown}");
        assert!(shown.contains("https://as.example.com") && shown.contains("nonce-1"), "{shown}");
    }
}
