//! The JWT bearer grant: workload identity federation (a platform JWT) and
//! enterprise-managed authorization (an ID-JAG from token exchange at the
//! identity provider), against the stand-ins.

#![allow(clippy::unwrap_used)]

use crate::support::{call, config};
use serde_json::json;
use tenet_oauth::test_support::{AsConfig, AuthServer, Event, ResourceConfig, ResourceServer};
use tenet_oauth::{
    AssertionSource, Authorizer, AuthorizerConfig, ClientCredentials, Es256Key, Grant, IdJagExchange, OAuthError,
    now_secs,
};

const PLATFORM: &str = "https://platform.example.test";

fn jwt(key: &Es256Key, iss: &str, aud: &str, lifetime: i64) -> String {
    let exp = now_secs() as i64 + lifetime;
    key.sign("JWT", None, &json!({ "iss": iss, "sub": "workload-7", "aud": aud, "exp": exp })).unwrap()
}

type MakeJwt = Box<dyn Fn(&Es256Key, &str) -> String>;

/// Runs a workload-identity client whose JWT `make` signs (given the platform key
/// the authorization server trusts and that server's issuer).
async fn workload_run(make: MakeJwt) -> (AuthServer, ResourceServer, Result<u16, OAuthError>) {
    let platform_key = Es256Key::generate().unwrap();
    let a = AsConfig {
        registration: false,
        pre_registered: vec![("wif-client".into(), None)],
        trusted_issuers: vec![(PLATFORM.into(), platform_key.public_key())],
        ..AsConfig::default()
    };
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let c = AuthorizerConfig {
        grant: Grant::JwtBearer(AssertionSource::Jwt(make(&platform_key, &auth.issuer()))),
        pre_registered: Some(ClientCredentials::new("wif-client", None)),
        ..config()
    };
    let authorizer = Authorizer::new(c).unwrap();
    let result = call(&authorizer, &resource.url()).await.map(|o| o.status);
    (auth, resource, result)
}

#[tokio::test]
async fn workload_jwt_is_exchanged_for_an_access_token() {
    let (auth, resource, result) = workload_run(Box::new(|key, aud| jwt(key, PLATFORM, aud, 60))).await;
    assert_eq!(result.unwrap(), 200);
    assert!(auth.log().authorizations().is_empty());
    let token = auth.log().tokens().remove(0);
    assert_eq!(token.param("grant_type"), Some("urn:ietf:params:oauth:grant-type:jwt-bearer"));
    assert_eq!(token.param("client_id"), Some("wif-client"));
    assert_eq!(token.param("resource"), Some(resource.resource_id().as_str()));
}

#[tokio::test]
async fn rejected_workload_jwts_fail_once_without_retrying() {
    let cases: [(&str, MakeJwt); 4] = [
        ("expired", Box::new(|key, aud| jwt(key, PLATFORM, aud, -60))),
        ("for another audience", Box::new(|key, _| jwt(key, PLATFORM, "https://wrong.example", 60))),
        ("signed by an unknown key", Box::new(|_, aud| jwt(&Es256Key::generate().unwrap(), PLATFORM, aud, 60))),
        ("malformed", Box::new(|_, _| "not.a.jwt".to_owned())),
    ];
    for (what, make) in cases {
        let (auth, _resource, result) = workload_run(make).await;
        assert!(
            matches!(result, Err(OAuthError::TokenRejected { ref error, .. }) if error == "invalid_grant"),
            "{what}"
        );
        assert_eq!(auth.log().tokens().len(), 1, "{what}: one token request, no retry or other grant");
    }
}

struct Enterprise {
    idp: AuthServer,
    auth: AuthServer,
    resource: ResourceServer,
    user_key: Es256Key,
}

const CORP: &str = "https://login.corp.example.test";

async fn enterprise() -> Enterprise {
    let user_key = Es256Key::generate().unwrap();
    let idp = AuthServer::start(AsConfig {
        registration: false,
        pre_registered: vec![("idp-client".into(), None)],
        trusted_issuers: vec![(CORP.into(), user_key.public_key())],
        ..AsConfig::default()
    })
    .await
    .unwrap();
    let auth = AuthServer::start(AsConfig {
        registration: false,
        token_endpoint_auth_methods: vec!["client_secret_basic".into()],
        pre_registered: vec![("mcp-client".into(), Some("mcp-secret".into()))],
        trusted_issuers: vec![(idp.issuer(), idp.public_key())],
        ..AsConfig::default()
    })
    .await
    .unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    Enterprise { idp, auth, resource, user_key }
}

fn enterprise_config(e: &Enterprise, id_token: String) -> AuthorizerConfig {
    let exchange = IdJagExchange {
        token_endpoint: format!("{}/token", e.idp.issuer()),
        client_id: "idp-client".into(),
        client_secret: None,
        id_token,
    };
    AuthorizerConfig {
        grant: Grant::JwtBearer(AssertionSource::IdJag(exchange)),
        pre_registered: Some(ClientCredentials::new("mcp-client", Some("mcp-secret".into()))),
        ..config()
    }
}

#[tokio::test]
async fn enterprise_id_token_becomes_an_id_jag_then_an_access_token() {
    let e = enterprise().await;
    let id_token = jwt(&e.user_key, CORP, "idp-client", 3600);
    let authorizer = Authorizer::new(enterprise_config(&e, id_token)).unwrap();
    assert_eq!(call(&authorizer, &e.resource.url()).await.unwrap().status, 200);

    let exchange = e.idp.log().tokens().remove(0);
    assert_eq!(exchange.param("grant_type"), Some("urn:ietf:params:oauth:grant-type:token-exchange"));
    assert_eq!(exchange.param("requested_token_type"), Some("urn:ietf:params:oauth:token-type:id-jag"));
    assert_eq!(exchange.param("audience"), Some(e.auth.issuer().as_str()));
    assert_eq!(exchange.param("resource"), Some(e.resource.resource_id().as_str()));
    let Event::Token { form, authorization } = e.auth.log().tokens().remove(0) else { unreachable!() };
    assert!(authorization.unwrap().starts_with("Basic "), "client_secret_basic at the MCP server's AS");
    assert!(form.iter().any(|(k, v)| k == "grant_type" && v.ends_with(":jwt-bearer")));
}

#[tokio::test]
async fn enterprise_exchange_refused_by_the_identity_provider() {
    let e = enterprise().await;
    let forged = jwt(&Es256Key::generate().unwrap(), CORP, "idp-client", 3600);
    let authorizer = Authorizer::new(enterprise_config(&e, forged)).unwrap();
    let err = call(&authorizer, &e.resource.url()).await.unwrap_err();
    assert!(matches!(err, OAuthError::TokenRejected { ref url, .. } if url.starts_with(&e.idp.issuer())), "{err}");
    assert!(e.auth.log().tokens().is_empty(), "nothing reached the MCP server's authorization server");
}
