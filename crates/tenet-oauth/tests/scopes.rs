//! Scope selection, `offline_access`, step-up with its retry limit, refresh and
//! authorization-server migration, against the loopback stand-ins.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::support::{call, config};
use tenet_oauth::test_support::{AsConfig, AuthServer, Event, ResourceConfig, ResourceServer};
use tenet_oauth::{Authorizer, AuthorizerConfig};

async fn requested_scopes(a: AsConfig, r: ResourceConfig, c: AuthorizerConfig) -> Vec<Option<String>> {
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(r, &auth).await.unwrap();
    let authorizer = Authorizer::new(c).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    auth.log().authorizations().iter().map(|e| e.param("scope").map(str::to_owned)).collect()
}

fn scopes(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|s| s.to_string()).collect())
}

#[tokio::test]
async fn challenge_scope_wins_over_scopes_supported() {
    let r = ResourceConfig {
        challenge_scope: Some("mcp:basic".into()),
        scopes_supported: scopes(&["mcp:basic", "mcp:read"]),
        ..Default::default()
    };
    assert_eq!(requested_scopes(AsConfig::default(), r, config()).await, [Some("mcp:basic".into())]);
}

#[tokio::test]
async fn scopes_supported_is_the_fallback() {
    let r = ResourceConfig { scopes_supported: scopes(&["mcp:basic", "mcp:read", "mcp:write"]), ..Default::default() };
    assert_eq!(requested_scopes(AsConfig::default(), r, config()).await, [Some("mcp:basic mcp:read mcp:write".into())]);
}

#[tokio::test]
async fn offline_access_only_when_the_authorization_server_lists_it() {
    let r = || ResourceConfig { scopes_supported: scopes(&["mcp:basic"]), ..Default::default() };
    let offers = AsConfig { scopes_supported: scopes(&["mcp:basic", "offline_access"]), ..AsConfig::default() };
    let lacks = AsConfig { scopes_supported: scopes(&["mcp:basic", "mcp:read"]), ..AsConfig::default() };
    let no_thanks = AuthorizerConfig { request_offline_access: false, ..config() };
    assert_eq!(requested_scopes(offers.clone(), r(), config()).await, [Some("mcp:basic offline_access".into())]);
    assert_eq!(requested_scopes(lacks, r(), config()).await, [Some("mcp:basic".into())]);
    assert_eq!(requested_scopes(offers, r(), no_thanks).await, [Some("mcp:basic".into())]);
}

#[tokio::test]
async fn step_up_requests_the_union_of_old_and_new_scopes() {
    let r = ResourceConfig {
        challenge_scope: Some("mcp:basic".into()),
        required_scopes: vec!["mcp:write".into()],
        ..Default::default()
    };
    let auth = AuthServer::start(AsConfig::default()).await.unwrap();
    let resource = ResourceServer::start(r, &auth).await.unwrap();
    let authorizer = Authorizer::new(config()).unwrap();
    let out = call(&authorizer, &resource.url()).await.unwrap();
    assert_eq!((out.status, out.sends), (200, 3), "401, then 403, then 200");
    let asked: Vec<_> = auth.log().authorizations().iter().map(|e| e.param("scope").map(str::to_owned)).collect();
    assert_eq!(asked, [Some("mcp:basic".into()), Some("mcp:basic mcp:write".into())]);
    assert_eq!(authorizer.granted_scopes().await, ["mcp:basic", "mcp:write"]);
    // One registration serves both authorizations.
    assert_eq!(auth.log().registrations().len(), 1);
}

#[tokio::test]
async fn step_up_that_never_succeeds_stops_at_the_retry_limit() {
    let a = AsConfig { grantable_scopes: Some(Vec::new()), ..AsConfig::default() };
    let r = ResourceConfig {
        scopes_supported: scopes(&["mcp:admin"]),
        required_scopes: vec!["mcp:admin".into()],
        ..Default::default()
    };
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(r, &auth).await.unwrap();
    let authorizer = Authorizer::new(config()).unwrap();
    let out = call(&authorizer, &resource.url()).await.unwrap();
    assert_eq!(out.status, 403);
    assert_eq!(auth.log().authorizations().len(), 3, "max_attempts authorizations, then give up");
    // A 403 that is not about scope is not retried at all.
    let plain = authorizer.on_challenge(&resource.url(), 403, Some(r#"Bearer error="invalid_token""#)).await.unwrap();
    assert!(!plain);
}

#[tokio::test]
async fn expired_token_is_refreshed_with_the_resource() {
    let a = AsConfig { token_lifetime: 2, later_token_lifetime: Some(3600), ..AsConfig::default() };
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let authorizer = Authorizer::new(AuthorizerConfig { refresh_skew: Duration::ZERO, ..config() }).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    let first = authorizer.authorization().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let out = call(&authorizer, &resource.url()).await.unwrap();
    assert_eq!((out.status, out.sends), (200, 1), "refreshed before sending, no new challenge");
    assert_ne!(authorizer.authorization().await.unwrap(), first);
    let tokens = auth.log().tokens();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[1].param("grant_type"), Some("refresh_token"));
    assert_eq!(tokens[1].param("resource"), Some(resource.resource_id().as_str()));
    assert_eq!(auth.log().authorizations().len(), 1);
}

#[tokio::test]
async fn a_401_on_a_token_thought_valid_is_answered_by_refreshing() {
    // The server says an hour, the token says three seconds: the client learns from the
    // 401. (Three, not one: on a loaded machine the first call alone took over a second,
    // and refreshed within it.)
    let a = AsConfig {
        token_lifetime: 3,
        later_token_lifetime: Some(3600),
        expires_in_override: Some(3600),
        ..AsConfig::default()
    };
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let authorizer = Authorizer::new(config()).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let out = call(&authorizer, &resource.url()).await.unwrap();
    assert_eq!((out.status, out.sends), (200, 2), "401, refresh, 200");
    assert_eq!(auth.log().authorizations().len(), 1, "no new authorization (no browser)");
    assert_eq!(auth.log().tokens()[1].param("grant_type"), Some("refresh_token"));
}

#[tokio::test]
async fn failed_refresh_drops_the_token_and_the_next_challenge_reauthorizes() {
    // The first token lives three seconds (on a loaded machine the first call alone took
    // over one, and refreshed within it to a token of an hour).
    let a = AsConfig { token_lifetime: 3, later_token_lifetime: Some(3600), ..AsConfig::default() };
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let authorizer = Authorizer::new(AuthorizerConfig { refresh_skew: Duration::ZERO, ..config() }).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    assert_eq!(auth.log().tokens().len(), 1, "one token so far");
    auth.revoke_refresh_tokens();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(authorizer.authorization().await, None, "the refresh is refused, so no header");
    let out = call(&authorizer, &resource.url()).await.unwrap();
    assert_eq!((out.status, out.sends), (200, 2), "a new authorization after the 401");
    assert_eq!(auth.log().authorizations().len(), 2);
}

#[tokio::test]
async fn moving_to_another_authorization_server_registers_again() {
    let first = AuthServer::start(AsConfig::default()).await.unwrap();
    let second = AuthServer::start(AsConfig::default()).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &first).await.unwrap();
    let authorizer = Authorizer::new(config()).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    let old_id = authorizer.client_for(&first.issuer()).await.unwrap().client_id;

    resource.trust(&second);
    let out = call(&authorizer, &resource.url()).await.unwrap();
    assert_eq!((out.status, out.sends), (200, 2), "the old token is refused once, then the new server's works");
    assert_eq!(second.log().registrations().len(), 1);
    let new_id = authorizer.client_for(&second.issuer()).await.unwrap().client_id;
    assert_ne!(new_id, old_id);
    for e in second.log().events() {
        if let Event::Authorize(_) | Event::Token { .. } = e {
            assert_ne!(e.param("client_id"), Some(old_id.as_str()), "old client id shown to the new server");
        }
    }
}
