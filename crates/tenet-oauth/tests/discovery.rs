//! The pure parts of discovery and client authentication: well-known URLs,
//! resource matching, canonical URIs, auth-method choice, scope strings.

#![allow(clippy::unwrap_used)]

use tenet_oauth::{
    AuthMethod, ClientCredentials, canonical_resource, choose_auth_method, origin_issuer, resource_matches,
    resource_metadata_urls, scope, server_metadata_urls,
};
use url::Url;

fn urls(list: Vec<Url>) -> Vec<String> {
    list.into_iter().map(String::from).collect()
}

#[test]
fn resource_metadata_urls_insert_the_path_then_try_the_root() {
    let u = Url::parse("https://r.example:8443/api/mcp/?x=1#f").unwrap();
    assert_eq!(
        urls(resource_metadata_urls(&u)),
        [
            "https://r.example:8443/.well-known/oauth-protected-resource/api/mcp",
            "https://r.example:8443/.well-known/oauth-protected-resource",
        ]
    );
    let root = Url::parse("https://r.example/").unwrap();
    assert_eq!(urls(resource_metadata_urls(&root)), ["https://r.example/.well-known/oauth-protected-resource"]);
}

#[test]
fn server_metadata_urls_follow_the_spec_order() {
    let with_path = Url::parse("https://as.example/tenant1/").unwrap();
    assert_eq!(
        urls(server_metadata_urls(&with_path)),
        [
            "https://as.example/.well-known/oauth-authorization-server/tenant1",
            "https://as.example/.well-known/openid-configuration/tenant1",
            "https://as.example/tenant1/.well-known/openid-configuration",
        ]
    );
    let root = Url::parse("https://as.example").unwrap();
    assert_eq!(
        urls(server_metadata_urls(&root)),
        [
            "https://as.example/.well-known/oauth-authorization-server",
            "https://as.example/.well-known/openid-configuration"
        ]
    );
}

#[test]
fn resource_must_be_the_server_or_a_parent_path_on_the_same_origin() {
    let server = Url::parse("http://localhost:3000/mcp").unwrap();
    for ok in
        ["http://localhost:3000/mcp", "http://localhost:3000/mcp/", "http://localhost:3000", "http://LOCALHOST:3000/"]
    {
        assert!(resource_matches(&server, ok), "{ok}");
    }
    for bad in [
        "https://evil.example.com/mcp",
        "http://localhost:3001/mcp",
        "https://localhost:3000/mcp",
        "http://localhost:3000/mcp2",
        "http://localhost:3000/other",
        "http://localhost:3000/mcp#frag",
        "not a url",
    ] {
        assert!(!resource_matches(&server, bad), "{bad}");
    }
}

#[test]
fn canonical_uris_and_origin_issuers() {
    assert_eq!(canonical_resource(&Url::parse("HTTPS://Mcp.Example.com/#x").unwrap()), "https://mcp.example.com");
    assert_eq!(canonical_resource(&Url::parse("https://mcp.example.com/mcp").unwrap()), "https://mcp.example.com/mcp");
    assert_eq!(origin_issuer(&Url::parse("http://localhost:3000/mcp").unwrap()), "http://localhost:3000");
    assert_eq!(origin_issuer(&Url::parse("https://a.example:443/x").unwrap()), "https://a.example");
}

#[test]
fn auth_method_prefers_the_registration_then_the_servers_list() {
    let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let secret = ClientCredentials::new("c", Some("s".into()));
    let public = ClientCredentials::new("c", None);
    let registered =
        ClientCredentials { token_endpoint_auth_method: Some("client_secret_post".into()), ..secret.clone() };
    assert_eq!(
        choose_auth_method(&registered, Some(&list(&["client_secret_basic"]))).unwrap(),
        AuthMethod::ClientSecretPost
    );
    assert_eq!(choose_auth_method(&secret, None).unwrap(), AuthMethod::ClientSecretBasic);
    assert_eq!(
        choose_auth_method(&secret, Some(&list(&["none", "client_secret_post"]))).unwrap(),
        AuthMethod::ClientSecretPost
    );
    assert_eq!(choose_auth_method(&secret, Some(&list(&["none"]))).unwrap(), AuthMethod::None);
    assert_eq!(choose_auth_method(&public, None).unwrap(), AuthMethod::None);
    assert!(choose_auth_method(&public, Some(&list(&["client_secret_basic"]))).is_err());
}

#[test]
fn scope_strings() {
    assert_eq!(scope::split("  a\tb  a\nc "), ["a", "b", "c"]);
    let (a, b) = (scope::split("x y"), scope::split("y z"));
    assert_eq!(scope::union(&a, &b), ["x", "y", "z"]);
    assert_eq!(scope::join(&[]), None);
    assert_eq!(scope::join(&a).as_deref(), Some("x y"));
}
