//! Compact JWS access tokens (RFC 9068 style), checked by the `jsonwebtoken` crate:
//! the signature (its math done by `ring`, [`super::ring_verify`]), and the claims a
//! resource server owes (`iss`, `aud`, `exp`, `nbf`).
//!
//! Only asymmetric algorithms on an allow-list are accepted (ES256, RS256). `none` and
//! every HMAC algorithm are refused before any key is looked at, and a key is used
//! only for the algorithm of its JWK, so a token "signed" with the issuer's public key
//! as an HMAC secret can never verify.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::error::TokenError;

/// The longest token looked at; longer ones are refused unread.
pub(crate) const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

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

    fn jose(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
        }
    }
}

/// A signing key from a JWKS, for the one algorithm its key type serves.
#[derive(Debug, Clone)]
pub(crate) struct PublicKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

impl PublicKey {
    pub(crate) fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// What every token's claims are checked against, built once: per accepted
/// algorithm (`jsonwebtoken` checks one key family at a time).
#[derive(Debug, Clone)]
pub(crate) struct Expectations {
    validations: Vec<(Algorithm, Validation)>,
    leeway: Duration,
}

impl Expectations {
    /// Tokens from `issuer` for `audience`, signed with one of `algorithms`, with
    /// `exp` required and `exp`/`nbf` checked with `leeway`.
    pub(crate) fn new(issuer: &str, audience: &str, algorithms: &[Algorithm], leeway: Duration) -> Self {
        // Installed at start, before any token: `jsonwebtoken` has no backend of its own.
        super::ring_verify::install();
        let validation = |alg: Algorithm| {
            let mut validation = Validation::new(alg.jose());
            validation.set_issuer(&[issuer]);
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            validation.validate_nbf = true;
            validation.leeway = leeway.as_secs();
            (alg, validation)
        };
        Self { validations: algorithms.iter().map(|a| validation(*a)).collect(), leeway }
    }
}

/// A token whose header names an accepted algorithm; its signature and claims are not
/// checked yet.
#[derive(Debug)]
pub(crate) struct Unverified<'t> {
    pub alg: Algorithm,
    pub kid: Option<String>,
    token: &'t str,
}

impl<'t> Unverified<'t> {
    /// Reads the header of `token`, refusing algorithms not in `allowed` and critical
    /// header parameters (none is understood here).
    pub(crate) fn parse(token: &'t str, allowed: &[Algorithm]) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed("token too long"));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| refusal(e.kind()))?;
        if header.crit.is_some() {
            return Err(TokenError::Malformed("critical header parameters are not understood"));
        }
        let alg = [Algorithm::Es256, Algorithm::Rs256]
            .into_iter()
            .find(|a| a.jose() == header.alg && allowed.contains(a))
            .ok_or_else(|| TokenError::Algorithm(format!("{:?}", header.alg)))?;
        Ok(Self { alg, kid: header.kid, token })
    }

    /// Checks the signature with `key` (which must be of the header's algorithm) and
    /// the claims against `expect`; returns the claims.
    pub(crate) fn verify(self, key: &PublicKey, expect: &Expectations) -> Result<Value, TokenError> {
        let Some((_, validation)) = expect.validations.iter().find(|(alg, _)| *alg == self.alg) else {
            return Err(TokenError::Algorithm(self.alg.name().into()));
        };
        if key.algorithm != self.alg {
            return Err(TokenError::Signature);
        }
        super::ring_verify::install();
        jsonwebtoken::decode::<Value>(self.token, &key.key, validation)
            .map(|data| data.claims)
            .map_err(|e| refusal(e.kind()))
    }
}

/// The refusal for what `jsonwebtoken` found wrong.
fn refusal(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidAlgorithm => TokenError::Signature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::Issuer,
        ErrorKind::InvalidAudience => TokenError::Audience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "iss" => TokenError::Issuer,
            "aud" => TokenError::Audience,
            _ => TokenError::Malformed("exp is required"),
        },
        ErrorKind::InvalidClaimFormat(_) => TokenError::Malformed("claims"),
        ErrorKind::Json(_) => TokenError::Malformed("header or claims are not the JSON of a JWT"),
        ErrorKind::Base64(_) | ErrorKind::Utf8(_) => TokenError::Malformed("not base64url"),
        _ => TokenError::Malformed("not a compact JWS"),
    }
}

/// What a token grants, once its signature and claims check out.
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

/// The subject, scope (`scope`, or an `scp` list) and validity window of verified
/// `claims`.
pub(crate) fn granted(claims: &Value, expect: &Expectations) -> Result<Granted, TokenError> {
    let time = |name: &'static str| match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or(TokenError::Malformed(name)),
    };
    let exp = time("exp")?.ok_or(TokenError::Malformed("exp is required"))?;
    let nbf = time("nbf")?.unwrap_or(0);
    let scope = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => s.clone(),
        (None, Some(Value::Array(items))) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "),
        (None, Some(Value::String(s))) => s.clone(),
        (None, None) => String::new(),
        _ => return Err(TokenError::Malformed("scope")),
    };
    let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
    let leeway = expect.leeway.as_secs();
    Ok(Granted { subject, scope, window: (nbf.saturating_sub(leeway), exp.saturating_add(leeway)) })
}

/// The key a JWK describes, when it is a signing key we can use: P-256 for ES256, RSA
/// of 2048 bits or more for RS256. A key that names its algorithm or use is taken
/// only for that algorithm and for signatures.
pub(crate) fn key_from_jwk(jwk: &Value) -> Option<PublicKey> {
    let jwk = Jwk::deserialize(jwk).ok()?;
    if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Algorithm::Es256,
        AlgorithmParameters::RSA(rsa) if modulus_bits(&rsa.n)? >= MIN_RSA_BITS => Algorithm::Rs256,
        _ => return None,
    };
    let named = match algorithm {
        Algorithm::Es256 => KeyAlgorithm::ES256,
        Algorithm::Rs256 => KeyAlgorithm::RS256,
    };
    if jwk.common.key_algorithm.is_some_and(|alg| alg != named) {
        return None;
    }
    Some(PublicKey { algorithm, key: DecodingKey::from_jwk(&jwk).ok()? })
}

/// The size of a base64url big-endian RSA modulus, in bits.
fn modulus_bits(n: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(n).ok()?;
    let first = bytes.iter().position(|b| *b != 0)?;
    Some((bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize)
}

/// What the bearer fuzz target drives: the header read, then the claims decoded with
/// no check of the signature and read for a grant; the scope granted.
#[cfg(fuzzing)]
pub(crate) fn fuzz_token(token: &str) -> Result<String, TokenError> {
    let unverified = Unverified::parse(token, &[Algorithm::Es256, Algorithm::Rs256])?;
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(unverified.token).map_err(|e| refusal(e.kind()))?;
    let expect = Expectations::new(
        "https://issuer.example",
        "https://tenet.example/mcp",
        &[unverified.alg],
        Duration::from_secs(60),
    );
    Ok(granted(&claims.claims, &expect)?.scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect() -> Expectations {
        Expectations::new("https://as.example", "https://mcp.example/mcp", &[Algorithm::Es256], Duration::from_secs(30))
    }

    #[test]
    fn the_grant_reads_scope_subject_and_window_with_leeway() {
        let now = 1_000_000;
        let good = json!({"iss": "https://as.example", "aud": ["x", "https://mcp.example/mcp"], "exp": now - 10, "nbf": now + 10, "scope": "a  b", "sub": "ann"});
        assert_eq!(
            granted(&good, &expect()).unwrap(),
            Granted { subject: Some("ann".into()), scope: "a  b".into(), window: (now + 10 - 30, now - 10 + 30) }
        );
        let no_exp = json!({"iss": "https://as.example", "aud": "https://mcp.example/mcp"});
        assert!(matches!(granted(&no_exp, &expect()), Err(TokenError::Malformed(_))));
        let scp = json!({"exp": now, "scp": ["a", "b"]});
        assert_eq!(granted(&scp, &expect()).unwrap().scope, "a b");
        assert!(matches!(granted(&json!({"exp": now, "scope": 3}), &expect()), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn unsupported_and_symmetric_algorithms_are_refused_before_any_key() {
        let enc = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let claims = enc(json!({"iss": "x"}));
        for alg in ["HS256", "ES384", "PS256", "EdDSA"] {
            let token = format!("{}.{claims}.", enc(json!({"alg": alg})));
            assert_eq!(
                Unverified::parse(&token, &[Algorithm::Es256, Algorithm::Rs256]).unwrap_err(),
                TokenError::Algorithm(alg.into())
            );
        }
        // `none` is no algorithm at all to the parser: the header is refused.
        let none = format!("{}.{claims}.", enc(json!({"alg": "none"})));
        assert!(matches!(Unverified::parse(&none, &[Algorithm::Es256]), Err(TokenError::Malformed(_))));
        let rs_only = format!("{}.{claims}.AA", enc(json!({"alg": "ES256"})));
        assert!(matches!(Unverified::parse(&rs_only, &[Algorithm::Rs256]), Err(TokenError::Algorithm(_))));
        let critical = format!("{}.{claims}.AA", enc(json!({"alg": "ES256", "crit": ["b64"], "b64": false})));
        assert!(matches!(Unverified::parse(&critical, &[Algorithm::Es256]), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn a_jwk_naming_another_algorithm_or_use_is_not_a_key() {
        let x = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let ec = json!({"kty": "EC", "crv": "P-256", "x": x, "y": x});
        assert_eq!(key_from_jwk(&ec).map(|k| k.algorithm()), Some(Algorithm::Es256));
        assert!(key_from_jwk(&json!({"kty": "EC", "crv": "P-256", "x": x, "y": x, "alg": "RS256"})).is_none());
        assert!(key_from_jwk(&json!({"kty": "EC", "crv": "P-256", "x": x, "y": x, "use": "enc"})).is_none());
        assert!(key_from_jwk(&json!({"kty": "EC", "crv": "P-384", "x": x, "y": x})).is_none());
        assert!(key_from_jwk(&json!({"kty": "oct", "k": x})).is_none());
    }

    #[test]
    fn rsa_keys_under_2048_bits_are_not_keys() {
        let e = URL_SAFE_NO_PAD.encode([1u8, 0, 1]);
        let rsa = |bytes: &[u8]| json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(bytes), "e": e});
        let mut n = vec![0u8; 257];
        n[1] = 0x80; // a leading zero byte, then 2048 bits
        assert_eq!(key_from_jwk(&rsa(&n)).map(|k| k.algorithm()), Some(Algorithm::Rs256));
        n[1] = 0x7f; // 2047 bits
        assert!(key_from_jwk(&rsa(&n)).is_none());
        assert!(key_from_jwk(&rsa(&[0xff; 128])).is_none(), "1024 bits");
    }
}
