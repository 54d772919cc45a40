//! Bad input and failures: insecure endpoints, servers that are down or silent,
//! bad redirects; and the client credentials grant.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{call, config};
use tenet_oauth::test_support::{AsConfig, AuthServer, Event, ResourceConfig, ResourceServer};
use tenet_oauth::{
    Authorizer, AuthorizerConfig, BoxFuture, ClientAssertionKey, ClientCredentials, Es256Key, Grant, HeadlessUserAgent,
    OAuthError, ServerMetadata, UserAgent, check_redirect,
};
use url::Url;

#[tokio::test]
async fn plain_http_token_endpoint_on_a_public_host_is_refused_before_any_redirect() {
    let a = AsConfig { token_endpoint_override: Some("http://auth.example.com/token".into()), ..AsConfig::default() };
    let auth = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let authorizer = Authorizer::new(config()).unwrap();
    let err = call(&authorizer, &resource.url()).await.unwrap_err();
    assert!(matches!(err, OAuthError::InsecureEndpoint { what: "token endpoint", .. }), "{err}");
    assert!(auth.log().authorizations().is_empty(), "no code is obtained for an endpoint we will not use");
}

#[test]
fn only_https_or_loopback_http_is_secure() {
    for ok in ["https://as.example.com/token", "http://localhost:8080/t", "http://127.0.0.1/t", "http://[::1]:9/t"] {
        assert!(tenet_oauth::require_secure("token endpoint", &Url::parse(ok).unwrap()).is_ok(), "{ok}");
    }
    for bad in ["http://as.example.com/token", "http://10.0.0.1/t", "ftp://localhost/t", "http://localhost.evil.com/t"]
    {
        assert!(tenet_oauth::require_secure("token endpoint", &Url::parse(bad).unwrap()).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn authorization_server_down_is_a_network_error() {
    let auth = AuthServer::start(AsConfig::default()).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    // A port that was just free: nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let err = tenet_oauth::discover_server_metadata(&reqwest_client(), &format!("http://{closed}")).await.unwrap_err();
    assert!(matches!(err, OAuthError::Network { .. }), "{err}");
    // And through the authorizer: the resource still lists a live server, so it works.
    assert_eq!(call(&Authorizer::new(config()).unwrap(), &resource.url()).await.unwrap().status, 200);
}

fn reqwest_client() -> reqwest::Client {
    tenet_oauth::install_crypto_provider();
    reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap()
}

#[tokio::test]
async fn a_silent_server_times_out_instead_of_hanging() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let authorizer =
        Authorizer::new(AuthorizerConfig { timeout: Duration::from_millis(500), ..AuthorizerConfig::default() })
            .unwrap();
    let started = Instant::now();
    let err = authorizer.on_challenge(&format!("http://{addr}/mcp"), 401, Some("Bearer")).await.unwrap_err();
    assert!(matches!(err, OAuthError::Network { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    hold.abort();
}

#[tokio::test]
async fn malformed_challenge_is_an_error_not_a_retry() {
    let authorizer = Authorizer::new(config()).unwrap();
    let err = authorizer.on_challenge("http://127.0.0.1:9/mcp", 401, Some("Bearer scope=\"open")).await.unwrap_err();
    assert!(matches!(err, OAuthError::MalformedChallenge { .. }), "{err}");
    assert!(!authorizer.on_challenge("http://127.0.0.1:9/mcp", 500, None).await.unwrap());
    // A 401 that only offers other schemes is not ours to answer (and fetches nothing).
    assert!(!authorizer.on_challenge("http://127.0.0.1:9/mcp", 401, Some(r#"Basic realm="x""#)).await.unwrap());
}

#[test]
fn redirects_are_checked() {
    let meta = ServerMetadata { issuer: "https://as.example".into(), ..ServerMetadata::default() };
    let back = "http://127.0.0.1/callback";
    let check = |url: &str| check_redirect(&Url::parse(url).unwrap(), back, "s1", &meta);
    assert_eq!(check("http://127.0.0.1/callback?code=c&state=s1").unwrap(), "c");
    assert!(matches!(check("http://127.0.0.1/callback?code=c&state=s2"), Err(OAuthError::InvalidRedirect(_))));
    assert!(matches!(check("http://127.0.0.1/callback?code=c"), Err(OAuthError::InvalidRedirect(_))));
    assert!(matches!(check("http://127.0.0.1/callback?state=s1"), Err(OAuthError::InvalidRedirect(_))));
    assert!(matches!(check("http://evil.example/callback?code=c&state=s1"), Err(OAuthError::InvalidRedirect(_))));
    let denied = check("http://127.0.0.1/callback?error=access_denied&error_description=no&state=s1");
    assert!(matches!(denied, Err(OAuthError::AuthorizationDenied { ref error, .. }) if error == "access_denied"));
    let wrong_iss = check("http://127.0.0.1/callback?code=c&state=s1&iss=https%3A%2F%2Fas.example%2F");
    assert!(matches!(wrong_iss, Err(OAuthError::IssMismatch { .. })));
    // Native apps' custom schemes have opaque origins; they still compare.
    let custom = |url: &str| check_redirect(&Url::parse(url).unwrap(), "com.example.app:/cb", "s1", &meta);
    assert_eq!(custom("com.example.app:/cb?code=c&state=s1").unwrap(), "c");
    assert!(custom("com.evil.app:/cb?code=c&state=s1").is_err());
}

async fn client_credentials_run(a: AsConfig, c: AuthorizerConfig) -> (AuthServer, Result<u16, OAuthError>) {
    let auth = AuthServer::start(a).await.unwrap();
    let r = ResourceConfig { scopes_supported: Some(vec!["mcp:tools".into()]), ..Default::default() };
    let resource = ResourceServer::start(r, &auth).await.unwrap();
    let authorizer = Authorizer::new(c).unwrap();
    let result = call(&authorizer, &resource.url()).await.map(|o| o.status);
    (auth, result)
}

#[tokio::test]
async fn client_credentials_with_a_secret() {
    let a = AsConfig {
        registration: false,
        token_endpoint_auth_methods: vec!["client_secret_basic".into()],
        pre_registered: vec![("machine".into(), Some("s3cret".into()))],
        ..AsConfig::default()
    };
    let c = AuthorizerConfig {
        grant: Grant::ClientCredentials,
        pre_registered: Some(ClientCredentials::new("machine", Some("s3cret".into()))),
        ..config()
    };
    let (auth, result) = client_credentials_run(a.clone(), c.clone()).await;
    assert_eq!(result.unwrap(), 200);
    assert!(auth.log().authorizations().is_empty());
    assert_eq!(auth.log().tokens().len(), 1);
    // A machine client can also get its token before the first request.
    let auth2 = AuthServer::start(a).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth2).await.unwrap();
    let authorizer = Authorizer::new(c).unwrap();
    authorizer.authorize_now(&resource.url()).await.unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().sends, 1);
    let Event::Token { form, authorization } = auth.log().tokens().remove(0) else { unreachable!() };
    assert!(authorization.unwrap().starts_with("Basic "));
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("grant_type").as_deref(), Some("client_credentials"));
    assert_eq!(get("scope").as_deref(), Some("mcp:tools"));
    assert!(get("resource").is_some());
}

#[tokio::test]
async fn client_credentials_with_a_private_key_jwt() {
    // A throwaway key made by `openssl genpkey` (the suite hands out keys in this form).
    let key = Es256Key::from_pem(include_str!("fixtures/openssl-p256-test-key.pem")).unwrap();
    let a = AsConfig {
        registration: false,
        token_endpoint_auth_methods: vec!["private_key_jwt".into()],
        assertion_keys: vec![("machine".into(), key.public_key())],
        ..AsConfig::default()
    };
    let assertion_key = ClientAssertionKey::from_pem(&key.to_pem(), "ES256").unwrap();
    let c = AuthorizerConfig {
        grant: Grant::ClientCredentials,
        pre_registered: Some(ClientCredentials::new("machine", None)),
        assertion_key: Some(Arc::new(assertion_key)),
        ..config()
    };
    let (auth, result) = client_credentials_run(a.clone(), c).await;
    assert_eq!(result.unwrap(), 200);
    assert!(auth.log().tokens()[0].param("client_assertion").is_some());

    // A key the server does not know is refused with invalid_client.
    let stranger = ClientAssertionKey::from_pem(&Es256Key::generate().unwrap().to_pem(), "ES256").unwrap();
    let c = AuthorizerConfig {
        grant: Grant::ClientCredentials,
        pre_registered: Some(ClientCredentials::new("machine", None)),
        assertion_key: Some(Arc::new(stranger)),
        ..config()
    };
    let (_auth, result) = client_credentials_run(a, c).await;
    assert!(
        matches!(result, Err(OAuthError::TokenRejected { status: 401, ref error, .. }) if error == "invalid_client")
    );
}

#[test]
fn assertion_keys_reject_bad_input() {
    assert!(matches!(ClientAssertionKey::from_pem("not a key", "ES256"), Err(OAuthError::InvalidKey(_))));
    let pem = "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n";
    assert!(matches!(ClientAssertionKey::from_pem(pem, "ES256"), Err(OAuthError::InvalidKey(_))));
    let good = Es256Key::generate().unwrap().to_pem();
    assert!(matches!(ClientAssertionKey::from_pem(&good, "RS256"), Err(OAuthError::InvalidKey(_))));
}

#[tokio::test]
async fn the_authorizer_is_shared_across_spawned_tasks() {
    // tokio::spawn needs Send futures: this is how a transport uses one authorizer.
    let auth = AuthServer::start(AsConfig::default()).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let authorizer = Arc::new(Authorizer::new(config()).unwrap());
    let url = resource.url();
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (authorizer, url) = (authorizer.clone(), url.clone());
            tokio::spawn(async move { call(&authorizer, &url).await.map(|o| o.status) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
    // However the challenges interleaved, one registration serves them all.
    assert_eq!(auth.log().registrations().len(), 1);
    assert!(authorizer.authorization().await.is_some());
}

/// A user agent that takes its time, like a person at a browser.
struct SlowAgent(HeadlessUserAgent);

impl UserAgent for SlowAgent {
    fn authorize<'a>(&'a self, url: &'a Url, redirect_uri: &'a str) -> BoxFuture<'a, Result<Url, OAuthError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            self.0.authorize(url, redirect_uri).await
        })
    }
}

#[tokio::test]
async fn a_challenge_that_waited_for_another_authorization_reuses_its_token() {
    let auth = AuthServer::start(AsConfig::default()).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let agent = SlowAgent(HeadlessUserAgent::new(Duration::from_secs(3)).unwrap());
    let authorizer = Arc::new(Authorizer::with_user_agent(config(), Arc::new(agent)).unwrap());
    let url = resource.url();
    let first = {
        let (authorizer, url) = (authorizer.clone(), url.clone());
        tokio::spawn(async move { authorizer.on_challenge(&url, 401, None).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // This one arrives while the first is at the (slow) user agent.
    assert!(authorizer.on_challenge(&url, 401, None).await.unwrap());
    assert!(first.await.unwrap().unwrap());
    assert_eq!(auth.log().authorizations().len(), 1, "the second challenge did not authorize again");
    assert_eq!(call(&authorizer, &url).await.unwrap().sends, 1);
}
