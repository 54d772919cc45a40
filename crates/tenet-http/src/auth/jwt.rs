//! Compact JWS access tokens (RFC 9068 style): parsing, signature verification with
//! `ring`, and the claim checks a resource server owes (`iss`, `aud`, `exp`, `nbf`).
//!
//! Only asymmetric algorithms on an allow-list are accepted (ES256, RS256). `none` and
//! every HMAC algorithm are refused before any key is looked at, so a token "signed"
//! with the issuer's public key as an HMAC secret can never verify.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::Value;

use super::error::TokenError;

/// The longest token looked at; longer ones are refused unread.
pub(crate) const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A signature algorithm a token may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (keys of 2048 bits or more).
    Rs256,
}

impl Algorithm {
    /// The algorithm named `name` in a JOSE header, if we support it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }
}

/// A public key from a JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// An uncompressed P-256 point.
    Ec(Vec<u8>),
    /// An RSA modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl PublicKey {
    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Ec(_) => Algorithm::Es256,
            PublicKey::Rsa { .. } => Algorithm::Rs256,
        }
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::Ec(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(message, sig).is_ok()
            }
            PublicKey::Rsa { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig).is_ok()
            }
        }
    }
}

/// A token split and decoded, its signature not yet checked.
#[derive(Debug)]
pub(crate) struct Unverified {
    pub alg: Algorithm,
    pub kid: Option<String>,
    signing_input: String,
    signature: Vec<u8>,
    claims: Value,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
}

fn decode_part(part: &str, what: &'static str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed(what))
}

impl Unverified {
    /// Splits and decodes `token`, refusing algorithms not in `allowed`.
    pub(crate) fn parse(token: &str, allowed: &[Algorithm]) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed("token too long"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed("not a compact JWS"));
        };
        let header: Header =
            serde_json::from_slice(&decode_part(h, "header")?).map_err(|_| TokenError::Malformed("header"))?;
        if header.crit.is_some() {
            return Err(TokenError::Malformed("critical header parameters are not understood"));
        }
        let alg = Algorithm::from_name(&header.alg)
            .filter(|a| allowed.contains(a))
            .ok_or_else(|| TokenError::Algorithm(header.alg.clone()))?;
        let claims: Value =
            serde_json::from_slice(&decode_part(c, "claims")?).map_err(|_| TokenError::Malformed("claims"))?;
        if !claims.is_object() {
            return Err(TokenError::Malformed("claims"));
        }
        let signature = decode_part(s, "signature")?;
        let signing_input = token[..h.len() + 1 + c.len()].to_owned();
        Ok(Self { alg, kid: header.kid, signing_input, signature, claims })
    }

    /// Checks the signature with `key`, which must be of the header's algorithm.
    pub(crate) fn verify(self, key: &PublicKey) -> Result<Value, TokenError> {
        if key.algorithm() != self.alg || !key.verify(self.signing_input.as_bytes(), &self.signature) {
            return Err(TokenError::Signature);
        }
        Ok(self.claims)
    }
}

/// What the claims of a verified token must say.
#[derive(Debug, Clone)]
pub(crate) struct Expectations<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub leeway: Duration,
}

/// What a token grants, once its claims check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Granted {
    pub subject: Option<String>,
    pub scope: String,
    /// When the token is valid, leeway included: (`nbf` or 0, `exp`), Unix seconds.
    pub window: (u64, u64),
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Checks `iss`, `aud`, `exp` and `nbf` at `now`; returns the subject and scope.
pub(crate) fn check_claims(claims: &Value, expect: &Expectations<'_>, now: u64) -> Result<Granted, TokenError> {
    if claims.get("iss").and_then(Value::as_str) != Some(expect.issuer) {
        return Err(TokenError::Issuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expect.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expect.audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(TokenError::Audience);
    }
    let leeway = expect.leeway.as_secs();
    let time = |name: &'static str| match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or(TokenError::Malformed(name)),
    };
    let exp = time("exp")?.ok_or(TokenError::Malformed("exp is required"))?;
    if now > exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    let nbf = time("nbf")?.unwrap_or(0);
    if now.saturating_add(leeway) < nbf {
        return Err(TokenError::NotYetValid);
    }
    let scope = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => s.clone(),
        (None, Some(Value::Array(items))) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "),
        (None, Some(Value::String(s))) => s.clone(),
        (None, None) => String::new(),
        _ => return Err(TokenError::Malformed("scope")),
    };
    let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
    Ok(Granted { subject, scope, window: (nbf.saturating_sub(leeway), exp.saturating_add(leeway)) })
}

/// The key a JWK describes, when it is a signing key we can use.
pub(crate) fn key_from_jwk(jwk: &Value) -> Option<PublicKey> {
    if jwk.get("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let field = |name: &str| jwk.get(name).and_then(Value::as_str).and_then(|v| URL_SAFE_NO_PAD.decode(v).ok());
    let key = match jwk.get("kty").and_then(Value::as_str)? {
        "EC" if jwk.get("crv").and_then(Value::as_str) == Some("P-256") => {
            let (x, y) = (field("x")?, field("y")?);
            (x.len() == 32 && y.len() == 32).then(|| PublicKey::Ec([&[4u8][..], &x, &y].concat()))?
        }
        "RSA" => PublicKey::Rsa { n: field("n")?, e: field("e")? },
        _ => return None,
    };
    // A key that names its algorithm is used for that algorithm only.
    match jwk.get("alg").and_then(Value::as_str) {
        Some(alg) if Algorithm::from_name(alg) != Some(key.algorithm()) => None,
        _ => Some(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect() -> Expectations<'static> {
        Expectations {
            issuer: "https://as.example",
            audience: "https://mcp.example/mcp",
            leeway: Duration::from_secs(30),
        }
    }

    #[test]
    fn claims_are_checked_with_leeway() {
        let now = 1_000_000;
        let good = json!({"iss": "https://as.example", "aud": ["x", "https://mcp.example/mcp"], "exp": now - 10, "nbf": now + 10, "scope": "a  b", "sub": "ann"});
        let granted = check_claims(&good, &expect(), now).unwrap();
        assert_eq!(
            granted,
            Granted { subject: Some("ann".into()), scope: "a  b".into(), window: (now + 10 - 30, now - 10 + 30) }
        );
        let expired = json!({"iss": "https://as.example", "aud": "https://mcp.example/mcp", "exp": now - 31});
        assert_eq!(check_claims(&expired, &expect(), now), Err(TokenError::Expired));
        let early =
            json!({"iss": "https://as.example", "aud": "https://mcp.example/mcp", "exp": now + 60, "nbf": now + 31});
        assert_eq!(check_claims(&early, &expect(), now), Err(TokenError::NotYetValid));
        let no_exp = json!({"iss": "https://as.example", "aud": "https://mcp.example/mcp"});
        assert!(matches!(check_claims(&no_exp, &expect(), now), Err(TokenError::Malformed(_))));
        let scp = json!({"iss": "https://as.example", "aud": "https://mcp.example/mcp", "exp": now, "scp": ["a", "b"]});
        assert_eq!(check_claims(&scp, &expect(), now).unwrap().scope, "a b");
    }

    #[test]
    fn unsupported_and_symmetric_algorithms_are_refused_before_any_key() {
        let enc = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let claims = enc(json!({"iss": "x"}));
        for alg in ["none", "HS256", "ES384", "PS256"] {
            let token = format!("{}.{claims}.", enc(json!({"alg": alg})));
            assert_eq!(
                Unverified::parse(&token, &[Algorithm::Es256, Algorithm::Rs256]).unwrap_err(),
                TokenError::Algorithm(alg.into())
            );
        }
        let rs_only = format!("{}.{claims}.AA", enc(json!({"alg": "ES256"})));
        assert!(matches!(Unverified::parse(&rs_only, &[Algorithm::Rs256]), Err(TokenError::Algorithm(_))));
    }

    #[test]
    fn a_jwk_naming_another_algorithm_or_use_is_not_a_key() {
        let x = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let ec = json!({"kty": "EC", "crv": "P-256", "x": x, "y": x});
        assert!(matches!(key_from_jwk(&ec), Some(PublicKey::Ec(_))));
        assert!(key_from_jwk(&json!({"kty": "EC", "crv": "P-256", "x": x, "y": x, "alg": "RS256"})).is_none());
        assert!(key_from_jwk(&json!({"kty": "EC", "crv": "P-256", "x": x, "y": x, "use": "enc"})).is_none());
        assert!(key_from_jwk(&json!({"kty": "oct", "k": x})).is_none());
    }
}
