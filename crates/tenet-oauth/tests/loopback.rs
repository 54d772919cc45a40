//! The loopback user agent: a browser (simulated here by an HTTP client) goes to the
//! authorization server and comes back to the listener on 127.0.0.1.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use crate::support::{call, config};
use tenet_oauth::test_support::{AsConfig, AuthServer, ResourceConfig, ResourceServer};
use tenet_oauth::{Authorizer, AuthorizerConfig, LoopbackUserAgent, OAuthError, UserAgent};
use url::Url;

/// A "browser": follows the authorization redirect back to wherever it points.
fn browser() -> tenet_oauth::Opener {
    Box::new(|url: &Url| {
        let url = url.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
            let first = http.get(url).send().await.unwrap();
            let location = first.headers()["location"].to_str().unwrap().to_owned();
            let page = http.get(location).send().await.unwrap();
            assert_eq!(page.status(), 200);
        });
        Ok(())
    })
}

#[tokio::test]
async fn the_browser_comes_back_to_the_loopback_listener() {
    tenet_oauth::install_crypto_provider();
    let auth = AuthServer::start(AsConfig::default()).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let agent = LoopbackUserAgent::bind(0, browser()).await.unwrap();
    let redirect_uri = agent.redirect_uri().to_owned();
    assert!(redirect_uri.starts_with("http://127.0.0.1:") && redirect_uri.ends_with("/callback"));
    let c = AuthorizerConfig { redirect_uri: redirect_uri.clone(), ..config() };
    let authorizer = Authorizer::with_user_agent(c, Arc::new(agent)).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    assert_eq!(auth.log().registrations()[0]["redirect_uris"][0], redirect_uri.as_str());
}

#[tokio::test]
async fn stray_requests_are_answered_and_the_wait_goes_on() {
    tenet_oauth::install_crypto_provider();
    let opener: tenet_oauth::Opener = Box::new(|url: &Url| {
        // Another tab asks for something else first, then the real redirect arrives.
        let back = url.query_pairs().find(|(k, _)| k == "redirect_uri").unwrap().1.into_owned();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let base = Url::parse(&back).unwrap();
            let addr = base.socket_addrs(|| None).unwrap()[0];
            // A speculative connection that never sends anything must not hold the others up.
            let idle = tokio::net::TcpStream::connect(addr).await.unwrap();
            let stray = http.get(base.join("/favicon.ico").unwrap()).send().await.unwrap();
            assert_eq!(stray.status(), 404);
            let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut raw, b"BREW /pot HTCPCP/1.0\r\n\r\n").await.unwrap();
            http.get(format!("{back}?code=c1&state=s")).send().await.unwrap();
            drop(idle);
        });
        Ok(())
    });
    let agent = LoopbackUserAgent::bind(0, opener).await.unwrap();
    let auth_url = Url::parse(&format!("https://as.example/authorize?redirect_uri={}", agent.redirect_uri())).unwrap();
    let waited = tokio::time::timeout(Duration::from_secs(5), agent.authorize(&auth_url, agent.redirect_uri()));
    let back = waited.await.expect("the idle connection held the callback up").unwrap();
    assert_eq!(back.query(), Some("code=c1&state=s"));
}

#[tokio::test]
async fn no_browser_means_a_timeout_and_an_opener_error_is_reported() {
    let agent =
        LoopbackUserAgent::bind(0, Box::new(|_: &Url| Ok(()))).await.unwrap().with_wait(Duration::from_millis(200));
    let url = Url::parse("https://as.example/authorize").unwrap();
    let err = agent.authorize(&url, agent.redirect_uri()).await.unwrap_err();
    assert!(matches!(err, OAuthError::UserAgent(ref m) if m.contains("no redirect")), "{err}");

    let failing = LoopbackUserAgent::bind(0, Box::new(|_: &Url| Err("no browser found".into()))).await.unwrap();
    let err = failing.authorize(&url, failing.redirect_uri()).await.unwrap_err();
    assert!(matches!(err, OAuthError::UserAgent(ref m) if m == "no browser found"), "{err}");
}
