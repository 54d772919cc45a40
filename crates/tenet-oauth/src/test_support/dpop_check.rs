//! Checking DPoP proofs (RFC 9449 §4.3) in the stand-ins.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::jwt::{jwk_public_key, jwk_thumbprint, now_secs, verify_es256};

/// A proof that passed: the key's thumbprint and the proof's claims.
pub(super) struct Proof {
    pub jkt: String,
    pub claims: Value,
}

/// Checks one proof for `method` on `url`, bound to `access_token` when given.
pub(super) fn check_proof(
    proof: Option<&str>,
    method: &str,
    url: &str,
    access_token: Option<&str>,
) -> Result<Proof, &'static str> {
    let proof = proof.ok_or("no DPoP proof")?;
    let head = proof.split('.').next().ok_or("malformed proof")?;
    let header: Value = URL_SAFE_NO_PAD
        .decode(head)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("malformed proof header")?;
    if header["typ"] != "dpop+jwt" {
        return Err("typ is not dpop+jwt");
    }
    if header["jwk"].get("d").is_some() {
        return Err("the jwk carries a private key");
    }
    let key = jwk_public_key(&header["jwk"]).ok_or("jwk is not a P-256 key")?;
    let claims = verify_es256(proof, &key).map_err(|_| "proof signature does not verify")?;
    if claims["htm"] != method || claims["htu"] != url || !claims["jti"].is_string() {
        return Err("htm, htu or jti wrong");
    }
    if claims["iat"].as_u64().is_none_or(|iat| iat.abs_diff(now_secs()) > 300) {
        return Err("iat out of range");
    }
    if let Some(token) = access_token {
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if claims["ath"] != ath.as_str() {
            return Err("ath does not match the token");
        }
    }
    let jkt = jwk_thumbprint(&header["jwk"]).ok_or("no thumbprint")?;
    Ok(Proof { jkt, claims })
}
