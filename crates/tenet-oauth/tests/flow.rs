//! The authorization code flow end to end against the loopback stand-ins:
//! discovery, registration, PKCE, `resource`, `iss`, auth methods.

#![allow(clippy::unwrap_used)]

use crate::support::{call, config};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tenet_oauth::test_support::{
    AsConfig, AuthServer, Event, IssMode, MetadataLocation, PrmLocation, ResourceConfig, ResourceServer,
};
use tenet_oauth::{Authorizer, AuthorizerConfig, ClientCredentials, OAuthError, s256};

async fn servers(a: AsConfig, r: ResourceConfig) -> (AuthServer, ResourceServer) {
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(r, &auth).await.unwrap();
    (auth, resource)
}

fn only(events: Vec<Event>) -> Event {
    assert_eq!(events.len(), 1, "{events:?}");
    events.into_iter().next().unwrap()
}

#[tokio::test]
async fn default_flow_registers_uses_pkce_state_and_resource() {
    let (auth, resource) = servers(AsConfig::default(), ResourceConfig::default()).await;
    let authorizer = Authorizer::new(config()).unwrap();
    let out = call(&authorizer, &resource.url()).await.unwrap();
    assert_eq!((out.status, out.sends), (200, 2));

    let reg = only_value(auth.log().registrations());
    assert_eq!(reg["application_type"], "native");
    assert!(reg["grant_types"].as_array().unwrap().iter().any(|g| g == "refresh_token"));
    assert_eq!(reg["redirect_uris"][0], "http://127.0.0.1/callback");

    let authz = only(auth.log().authorizations());
    assert_eq!(authz.param("code_challenge_method"), Some("S256"));
    assert_eq!(authz.param("resource"), Some(resource.resource_id().as_str()));
    assert_eq!(authz.param("scope"), None, "no scope anywhere: omitted");
    assert!(authz.param("state").is_some_and(|s| s.len() >= 16));

    let token = only(auth.log().tokens());
    assert_eq!(token.param("resource"), authz.param("resource"));
    let verifier = token.param("code_verifier").unwrap();
    assert_eq!(Some(s256(verifier).as_str()), authz.param("code_challenge"));
    assert!(resource.log().metadata_paths().iter().all(|p| p == "/.well-known/oauth-protected-resource/mcp"));
    // The next request reuses the token without any new authorization.
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().sends, 1);
}

fn only_value(values: Vec<serde_json::Value>) -> serde_json::Value {
    assert_eq!(values.len(), 1, "{values:?}");
    values.into_iter().next().unwrap()
}

#[tokio::test]
async fn metadata_locations_are_tried_in_the_spec_order() {
    // PRM at the root without a header; AS metadata only at the path-appended OIDC URL.
    let a = AsConfig {
        route_prefix: "/tenant1".into(),
        metadata_location: MetadataLocation::OidcAppended,
        ..AsConfig::default()
    };
    let r = ResourceConfig { prm_location: PrmLocation::Root, prm_in_header: false, ..ResourceConfig::default() };
    let (auth, resource) = servers(a, r).await;
    let authorizer = Authorizer::new(config()).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    assert_eq!(
        resource.log().metadata_paths(),
        ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]
    );
    assert_eq!(
        auth.log().metadata_paths(),
        [
            "/.well-known/oauth-authorization-server/tenant1",
            "/.well-known/openid-configuration/tenant1",
            "/tenant1/.well-known/openid-configuration",
        ]
    );
}

#[tokio::test]
async fn root_issuer_falls_back_to_openid_configuration_and_custom_prm_url_is_followed() {
    let a = AsConfig { metadata_location: MetadataLocation::OidcInserted, ..AsConfig::default() };
    let r = ResourceConfig { prm_location: PrmLocation::Custom("/custom/metadata.json".into()), ..Default::default() };
    let (auth, resource) = servers(a, r).await;
    let authorizer = Authorizer::new(config()).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    assert_eq!(resource.log().metadata_paths(), ["/custom/metadata.json"]);
    assert_eq!(
        auth.log().metadata_paths(),
        ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
    );
}

#[tokio::test]
async fn resource_mismatch_stops_before_authorization() {
    let r = ResourceConfig { resource_override: Some("https://evil.example.com/mcp".into()), ..Default::default() };
    let (auth, resource) = servers(AsConfig::default(), r).await;
    let authorizer = Authorizer::new(config()).unwrap();
    let err = call(&authorizer, &resource.url()).await.unwrap_err();
    assert!(matches!(err, OAuthError::ResourceMismatch { ref found, .. } if found == "https://evil.example.com/mcp"));
    assert!(auth.log().authorizations().is_empty());
}

#[tokio::test]
async fn metadata_issuer_mismatch_is_refused_and_its_endpoints_unused() {
    let a = AsConfig { issuer_override: Some("https://attacker.example.com".into()), ..AsConfig::default() };
    let (auth, resource) = servers(a, ResourceConfig::default()).await;
    let authorizer = Authorizer::new(config()).unwrap();
    let err = call(&authorizer, &resource.url()).await.unwrap_err();
    assert!(matches!(err, OAuthError::IssuerMismatch { ref found, .. } if found == "https://attacker.example.com"));
    let log = auth.log();
    assert_eq!(log.metadata_paths().len(), 1);
    assert!(log.registrations().is_empty() && log.authorizations().is_empty() && log.tokens().is_empty());
}

#[tokio::test]
async fn iss_parameter_rules() {
    // (advertised, what the redirect carries, accepted?)
    let cases = [
        (Some(true), IssMode::Correct, true),
        (None, IssMode::Omit, true),
        (Some(false), IssMode::Correct, true),
        (Some(true), IssMode::Omit, false),
        (Some(true), IssMode::Wrong, false),
        (None, IssMode::Wrong, false),
        (Some(true), IssMode::Normalized, false),
    ];
    for (advertised, mode, accepted) in cases {
        let a = AsConfig { iss_parameter_supported: advertised, iss_in_redirect: mode, ..AsConfig::default() };
        let (auth, resource) = servers(a, ResourceConfig::default()).await;
        let authorizer = Authorizer::new(config()).unwrap();
        let result = call(&authorizer, &resource.url()).await;
        assert_eq!(auth.log().authorizations().len(), 1, "{advertised:?} {mode:?}");
        if accepted {
            assert_eq!(result.unwrap().status, 200, "{advertised:?} {mode:?}");
        } else {
            assert!(matches!(result, Err(OAuthError::IssMismatch { .. })), "{advertised:?} {mode:?}: {result:?}");
            assert!(auth.log().tokens().is_empty(), "no token request after a bad iss");
        }
    }
}

#[tokio::test]
async fn token_endpoint_auth_methods_follow_the_server() {
    for method in ["client_secret_basic", "client_secret_post", "none"] {
        let a = AsConfig { token_endpoint_auth_methods: vec![method.into()], ..AsConfig::default() };
        let (auth, resource) = servers(a, ResourceConfig::default()).await;
        let authorizer = Authorizer::new(config()).unwrap();
        assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200, "{method}");
        let Event::Token { form, authorization } = only(auth.log().tokens()) else { unreachable!() };
        let has_secret = form.iter().any(|(k, _)| k == "client_secret");
        let basic = authorization.as_deref().is_some_and(|a| a.starts_with("Basic "));
        assert_eq!((basic, has_secret), (method == "client_secret_basic", method == "client_secret_post"), "{method}");
    }
}

#[tokio::test]
async fn pre_registered_credentials_come_first() {
    let a = AsConfig {
        registration: false,
        cimd_supported: true,
        token_endpoint_auth_methods: vec!["client_secret_basic".into()],
        pre_registered: vec![("pre-registered-client".into(), Some("pre:secret".into()))],
        ..AsConfig::default()
    };
    let (auth, resource) = servers(a, ResourceConfig::default()).await;
    let authorizer = Authorizer::new(AuthorizerConfig {
        pre_registered: Some(ClientCredentials::new("pre-registered-client", Some("pre:secret".into()))),
        client_metadata_url: Some("https://client.example/meta.json".into()),
        ..config()
    })
    .unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    let Event::Token { authorization, .. } = only(auth.log().tokens()) else { unreachable!() };
    let decoded = STANDARD.decode(authorization.unwrap().trim_start_matches("Basic ")).unwrap();
    // RFC 6749 §2.3.1: both parts are form-encoded before base64.
    assert_eq!(String::from_utf8(decoded).unwrap(), "pre-registered-client:pre%3Asecret");
}

#[tokio::test]
async fn client_id_metadata_document_is_preferred_to_registration() {
    let a = AsConfig { cimd_supported: true, ..AsConfig::default() };
    let (auth, resource) = servers(a, ResourceConfig::default()).await;
    let url = "https://client.example/meta.json";
    let authorizer = Authorizer::new(AuthorizerConfig { client_metadata_url: Some(url.into()), ..config() }).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    assert!(auth.log().registrations().is_empty());
    assert_eq!(only(auth.log().authorizations()).param("client_id"), Some(url));
}

#[tokio::test]
async fn no_way_to_register_is_a_clear_error() {
    let a = AsConfig { registration: false, ..AsConfig::default() };
    let (_auth, resource) = servers(a, ResourceConfig::default()).await;
    let authorizer = Authorizer::new(config()).unwrap();
    let err = call(&authorizer, &resource.url()).await.unwrap_err();
    assert!(matches!(err, OAuthError::NoRegistration { .. }), "{err}");
}

#[tokio::test]
async fn missing_pkce_support_is_refused() {
    let a = AsConfig { pkce_methods: None, ..AsConfig::default() };
    let (auth, resource) = servers(a, ResourceConfig::default()).await;
    let authorizer = Authorizer::new(config()).unwrap();
    let err = call(&authorizer, &resource.url()).await.unwrap_err();
    assert!(matches!(err, OAuthError::PkceUnsupported { .. }), "{err}");
    assert!(auth.log().authorizations().is_empty());
}

#[tokio::test]
async fn legacy_server_is_its_own_authorization_server() {
    for location in [MetadataLocation::OAuth, MetadataLocation::None] {
        let r = ResourceConfig { prm_location: PrmLocation::None, ..Default::default() };
        let a = AsConfig { metadata_location: location, ..AsConfig::default() };
        let (auth, resource) = ResourceServer::start_same_origin(r, a).await.unwrap();
        let authorizer = Authorizer::new(config()).unwrap();
        assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200, "{location:?}");
        assert_eq!(auth.log().registrations().len(), 1);
        assert_eq!(only(auth.log().tokens()).param("resource"), Some(resource.url().as_str()));
    }
}
