//! DPoP (RFC 9449): tokens bound to the client's key, a fresh proof per request,
//! and the nonces of the token endpoint and the resource.

#![allow(clippy::unwrap_used)]

use crate::support::{call, config};
use tenet_oauth::test_support::{AsConfig, AuthServer, Event, ResourceConfig, ResourceServer};
use tenet_oauth::{Authorizer, AuthorizerConfig, verify_es256};

fn dpop_as() -> AsConfig {
    AsConfig { dpop: true, ..AsConfig::default() }
}

fn resource_schemes(resource: &ResourceServer) -> Vec<String> {
    let events = resource.log().events();
    let headers = events.iter().filter_map(|e| match e {
        Event::Resource(Some(h)) => Some(h.split(' ').next().unwrap_or_default().to_owned()),
        _ => None,
    });
    headers.collect()
}

#[tokio::test]
async fn tokens_are_bound_and_every_request_carries_a_fresh_proof() {
    let auth = AuthServer::start(dpop_as()).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let authorizer = Authorizer::new(config()).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    // The resource refuses a replayed proof, so a second success means a new one.
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().sends, 1);
    assert_eq!(resource_schemes(&resource), ["DPoP", "DPoP"]);

    let headers = authorizer.request_headers("GET", &resource.url()).await;
    assert_eq!(headers.iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["Authorization", "DPoP"]);
    let token = headers[0].1.strip_prefix("DPoP ").unwrap();
    let claims = verify_es256(token, &auth.public_key()).unwrap();
    assert!(claims["cnf"]["jkt"].is_string(), "the access token is bound to a key: {claims}");
}

#[tokio::test]
async fn nonces_from_the_token_endpoint_and_the_resource_are_used() {
    let a = AsConfig { dpop_nonce: Some("as-nonce".into()), ..dpop_as() };
    let r = ResourceConfig { dpop_nonce: Some("rs-nonce".into()), ..ResourceConfig::default() };
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(r, &auth).await.unwrap();
    let authorizer = Authorizer::new(config()).unwrap();
    let out = call(&authorizer, &resource.url()).await.unwrap();
    assert_eq!((out.status, out.sends), (200, 3), "401, then use_dpop_nonce, then 200");
    assert_eq!(auth.log().tokens().len(), 2, "the token request is retried once with the nonce");
    assert_eq!(auth.log().authorizations().len(), 1);
    // Later requests carry the nonce from the start.
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().sends, 1);
}

#[tokio::test]
async fn a_nonce_that_never_satisfies_the_server_is_not_retried_forever() {
    let a = AsConfig { dpop_nonce: Some("as-nonce".into()), ..dpop_as() };
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let authorizer = Authorizer::new(config()).unwrap();
    call(&authorizer, &resource.url()).await.unwrap();
    // The resource now keeps asking for the same nonce it already got.
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("www-authenticate", r#"DPoP error="use_dpop_nonce""#.parse().unwrap());
    headers.insert("dpop-nonce", "n1".parse().unwrap());
    assert!(authorizer.on_response(&resource.url(), 401, &headers).await.unwrap(), "a new nonce: retry");
    assert!(!authorizer.on_response(&resource.url(), 401, &headers).await.unwrap(), "the same nonce again: stop");
}

#[tokio::test]
async fn dpop_can_be_turned_off() {
    let auth = AuthServer::start(dpop_as()).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let authorizer = Authorizer::new(AuthorizerConfig { use_dpop: false, ..config() }).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    assert_eq!(resource_schemes(&resource), ["Bearer"]);
}

#[tokio::test]
async fn refreshed_tokens_stay_bound() {
    let a = AsConfig { token_lifetime: 2, later_token_lifetime: Some(3600), ..dpop_as() };
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let c = AuthorizerConfig { refresh_skew: std::time::Duration::ZERO, ..config() };
    let authorizer = Authorizer::new(c).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().sends, 1, "refreshed, still accepted");
    assert_eq!(auth.log().tokens()[1].param("grant_type"), Some("refresh_token"));
    assert_eq!(resource_schemes(&resource), ["DPoP", "DPoP"]);
}
