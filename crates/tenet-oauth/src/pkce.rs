//! PKCE (RFC 7636, S256 only) and the random values of an authorization request.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::OAuthError;
use crate::redact::REDACTED;

/// `n` random bytes, base64url without padding.
pub fn random_string(n: usize) -> Result<String, OAuthError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| OAuthError::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A PKCE verifier and its S256 challenge. `Debug` redacts the verifier.
#[derive(Clone)]
pub struct Pkce {
    /// The secret sent in the token request (43 characters).
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`, sent in the authorization request.
    pub challenge: String,
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkce").field("verifier", &REDACTED).field("challenge", &self.challenge).finish()
    }
}

impl Pkce {
    /// A fresh verifier from 32 random bytes.
    pub fn new() -> Result<Self, OAuthError> {
        let verifier = random_string(32)?;
        let challenge = s256(&verifier);
        Ok(Pkce { verifier, challenge })
    }
}

/// The S256 code challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn debug_of_pkce_redacts_the_verifier() {
        let secret = "s3cr3t-value";
        let pkce = Pkce { verifier: secret.into(), challenge: s256(secret) };
        let shown = format!("{pkce:?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains(&pkce.challenge), "{shown}");

        let fresh = Pkce::new().unwrap();
        let shown = format!("{fresh:?}");
        assert!(!shown.contains(&fresh.verifier) && shown.contains(&fresh.challenge), "{shown}");
    }
}
