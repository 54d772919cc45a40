//! The stand-in's tokens are real: ES256 JWTs with `iss`, `aud`, `exp` and `scope`,
//! verifiable with the JWKS it publishes (what the server-side auth tests need).

#![allow(clippy::unwrap_used)]

use crate::support::{call, config};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tenet_oauth::test_support::{AsConfig, AuthServer, ResourceConfig, ResourceServer};
use tenet_oauth::{Authorizer, OAuthError, now_secs, verify_es256};

async fn get_json(url: &str) -> Value {
    tenet_oauth::install_crypto_provider();
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn access_tokens_verify_against_the_published_jwks() {
    let auth = AuthServer::start(AsConfig::default()).await.unwrap();
    let r = ResourceConfig { challenge_scope: Some("mcp:read".into()), ..Default::default() };
    let resource = ResourceServer::start(r, &auth).await.unwrap();
    let authorizer = Authorizer::new(config()).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    let header = authorizer.authorization().await.unwrap();
    let token = header.strip_prefix("Bearer ").unwrap();

    let meta = get_json(&format!("{}/.well-known/oauth-authorization-server", auth.issuer())).await;
    let jwks = get_json(meta["jwks_uri"].as_str().unwrap()).await;
    let jwk = &jwks["keys"][0];
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str()),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());

    let claims = verify_es256(token, &point).unwrap();
    assert_eq!(claims["iss"], auth.issuer());
    assert_eq!(claims["aud"], resource.resource_id());
    assert_eq!(claims["scope"], "mcp:read");
    assert!(claims["exp"].as_u64().unwrap() > now_secs());
    let head: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(head["kid"], jwk["kid"]);

    // Tampering with the claims breaks the signature; another key does not verify.
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(br#"{"iss":"x","scope":"admin"}"#);
    parts[1] = &forged;
    assert!(matches!(verify_es256(&parts.join("."), &point), Err(OAuthError::InvalidKey(_))));
    let other = AuthServer::start(AsConfig::default()).await.unwrap();
    assert!(verify_es256(token, &other.public_key()).is_err());
}

#[test]
fn unsigned_and_garbage_tokens_are_refused() {
    let key = tenet_oauth::Es256Key::generate().unwrap();
    let none_alg =
        format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode(br#"{"iss":"a"}"#));
    for bad in [none_alg.as_str(), "", "a.b", "a.b.c.d", "!!.??.**"] {
        assert!(verify_es256(bad, &key.public_key()).is_err(), "{bad:?}");
    }
}
