//! ES256 JWT signing with `ring` (already the workspace's TLS crypto): client
//! assertions for `private_key_jwt` (RFC 7523) and, in the test stand-in, access
//! tokens.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::Digest;

use crate::OAuthError;
use crate::pkce::random_string;
use crate::redact::REDACTED;

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// An ES256 (P-256) signing key.
pub struct Es256Key {
    pkcs8: Vec<u8>,
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for Es256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Es256Key").finish_non_exhaustive()
    }
}

impl Es256Key {
    /// A new random key.
    pub fn generate() -> Result<Self, OAuthError> {
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| OAuthError::Random("P-256 key generation failed".into()))?;
        Self::from_pkcs8_der(der.as_ref())
    }

    /// A key from PKCS#8 DER (with the public key included).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, OAuthError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| OAuthError::InvalidKey(format!("not a PKCS#8 P-256 key: {e}")))?;
        Ok(Es256Key { pkcs8: der.to_vec(), pair, rng })
    }

    /// A key from a PEM `PRIVATE KEY` block (PKCS#8).
    pub fn from_pem(pem: &str) -> Result<Self, OAuthError> {
        let begin = "-----BEGIN PRIVATE KEY-----";
        let end = "-----END PRIVATE KEY-----";
        let start = pem.find(begin).ok_or_else(|| OAuthError::InvalidKey("no BEGIN PRIVATE KEY line".into()))?;
        let body = &pem[start + begin.len()..];
        let stop = body.find(end).ok_or_else(|| OAuthError::InvalidKey("no END PRIVATE KEY line".into()))?;
        let b64: String = body[..stop].chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD.decode(b64).map_err(|e| OAuthError::InvalidKey(format!("bad base64: {e}")))?;
        Self::from_pkcs8_der(&der)
    }

    /// The public key as a JWK (`kty` EC, `crv` P-256) with the given `kid`.
    pub fn public_jwk(&self, kid: &str) -> Value {
        let mut jwk = self.jwk();
        jwk["alg"] = json!("ES256");
        jwk["use"] = json!("sig");
        jwk["kid"] = json!(kid);
        jwk
    }

    /// The public key as a bare JWK: `kty`, `crv`, `x`, `y` (what a DPoP proof carries).
    pub fn jwk(&self) -> Value {
        // An uncompressed point: 0x04 || X (32 bytes) || Y (32 bytes).
        let point = self.pair.public_key().as_ref();
        let (x, y) = point.get(1..33).zip(point.get(33..65)).unwrap_or((&[], &[]));
        json!({ "kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y) })
    }

    /// The private key as a PEM `PRIVATE KEY` block (PKCS#8).
    pub fn to_pem(&self) -> String {
        let b64 = STANDARD.encode(&self.pkcs8);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
        format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"))
    }

    /// The public key as an uncompressed P-256 point.
    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// Signs `claims` as a compact JWS with header `{"alg":"ES256","typ":…,"kid":…}`.
    pub fn sign(&self, typ: &str, kid: Option<&str>, claims: &Value) -> Result<String, OAuthError> {
        let mut header = json!({ "alg": "ES256", "typ": typ });
        if let Some(kid) = kid {
            header["kid"] = Value::String(kid.to_owned());
        }
        self.sign_with_header(&header, claims)
    }

    /// Signs `claims` under `header`, which must say `"alg": "ES256"`.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, OAuthError> {
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self
            .pair
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| OAuthError::InvalidKey("ECDSA signing failed".into()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
    }
}

/// The uncompressed P-256 point of an EC JWK (`0x04 || x || y`), if it is one.
pub fn jwk_public_key(jwk: &Value) -> Option<Vec<u8>> {
    if jwk.get("kty")? != "EC" || jwk.get("crv")? != "P-256" {
        return None;
    }
    let x = URL_SAFE_NO_PAD.decode(jwk.get("x")?.as_str()?).ok()?;
    let y = URL_SAFE_NO_PAD.decode(jwk.get("y")?.as_str()?).ok()?;
    (x.len() == 32 && y.len() == 32).then(|| [&[4u8][..], &x, &y].concat())
}

/// The RFC 7638 SHA-256 thumbprint of an EC JWK, base64url.
pub fn jwk_thumbprint(jwk: &Value) -> Option<String> {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk.get("crv")?.as_str()?,
        jwk.get("x")?.as_str()?,
        jwk.get("y")?.as_str()?
    );
    Some(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes())))
}

/// Verifies a compact ES256 JWS against an uncompressed P-256 public key and
/// returns its claims. Refuses any `alg` but `ES256` (no `none`, no HMAC).
pub fn verify_es256(token: &str, public_key: &[u8]) -> Result<Value, OAuthError> {
    let bad = |why: &str| OAuthError::InvalidKey(format!("invalid JWT: {why}"));
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad("not three parts"));
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| bad("bad base64url"));
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| bad("header is not JSON"))?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(bad("alg is not ES256"));
    }
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, public_key);
    key.verify(format!("{h}.{c}").as_bytes(), &decode(s)?).map_err(|_| bad("signature does not verify"))?;
    serde_json::from_slice(&decode(c)?).map_err(|_| bad("claims are not JSON"))
}

/// The key a confidential client signs `private_key_jwt` assertions with. `Debug`
/// redacts the key.
pub struct ClientAssertionKey {
    key: Es256Key,
}

impl fmt::Debug for ClientAssertionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAssertionKey").field("key", &REDACTED).finish()
    }
}

impl ClientAssertionKey {
    /// Loads a PKCS#8 PEM key for `algorithm`; only `ES256` is supported.
    pub fn from_pem(pem: &str, algorithm: &str) -> Result<Self, OAuthError> {
        if algorithm != "ES256" {
            return Err(OAuthError::InvalidKey(format!("unsupported signing algorithm {algorithm:?} (only ES256)")));
        }
        Ok(ClientAssertionKey { key: Es256Key::from_pem(pem)? })
    }

    /// A fresh assertion: `iss` = `sub` = the client, `aud` = the issuer, five minutes.
    pub(crate) fn assertion(&self, client_id: &str, audience: &str) -> Result<String, OAuthError> {
        let now = now_secs();
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": audience,
            "iat": now, "exp": now + 300, "jti": random_string(16)?,
        });
        self.key.sign("JWT", None, &claims)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Asserts that `shown` holds no part of `key`'s private key: neither a line of
    /// its PEM nor the start of its DER bytes as `Debug` would list them.
    fn assert_hides(shown: &str, key: &Es256Key) {
        for line in key.to_pem().lines().filter(|l| !l.starts_with("-----")) {
            assert!(!shown.contains(line), "{shown}");
        }
        let bytes = format!("{:?}", &key.pkcs8[..4]);
        assert!(!shown.contains(bytes.trim_matches(['[', ']'])), "{shown}");
    }

    #[test]
    fn debug_of_signing_keys_hides_the_private_key() {
        let key = Es256Key::generate().unwrap();
        let shown = format!("{key:?}");
        assert_hides(&shown, &key);
        assert!(shown.starts_with("Es256Key"), "{shown}");

        let assertion_key = ClientAssertionKey::from_pem(&key.to_pem(), "ES256").unwrap();
        let shown = format!("{assertion_key:?}");
        assert_hides(&shown, &key);
        assert_eq!(shown, r#"ClientAssertionKey { key: "<redacted>" }"#);
    }
}
