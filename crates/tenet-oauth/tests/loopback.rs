//! The loopback user agent: a browser (simulated here by an HTTP client) goes to the
//! authorization server and comes back to the listener on 127.0.0.1.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{call, config};
use tenet_oauth::test_support::{AsConfig, AuthServer, ResourceConfig, ResourceServer};
use tenet_oauth::{Authorizer, AuthorizerConfig, LoopbackUserAgent, OAuthError, UserAgent};
use tokio::task::JoinHandle;
use url::Url;

/// The tasks an opener started (the browser's trips), kept so that the test awaits
/// them: a panic in one (a failed assertion) fails the test instead of vanishing
/// with a dropped handle.
#[derive(Clone, Default)]
struct Trips(Arc<Mutex<Vec<JoinHandle<()>>>>);

impl Trips {
    fn start(&self, trip: impl Future<Output = ()> + Send + 'static) {
        self.0.lock().unwrap().push(tokio::spawn(trip));
    }

    /// Waits (5 s at most) for every trip started so far, of which there must be one
    /// at least, and fails with the panic of any that panicked.
    async fn finished(&self) {
        let trips = std::mem::take(&mut *self.0.lock().unwrap());
        assert!(!trips.is_empty(), "the opener was never called");
        for trip in trips {
            match tokio::time::timeout(Duration::from_secs(5), trip).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => std::panic::resume_unwind(e.into_panic()),
                Err(_) => panic!("the browser's trip did not end within 5 s"),
            }
        }
    }
}

/// A "browser": follows the authorization redirect back to wherever it points.
fn browser(trips: Trips) -> tenet_oauth::Opener {
    Box::new(move |url: &Url| {
        let url = url.clone();
        trips.start(async move {
            let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
            let first = http.get(url).send().await.unwrap();
            let location = first.headers()["location"].to_str().unwrap().to_owned();
            let page = http.get(location).send().await.unwrap();
            assert_eq!(page.status(), 200, "the page the loopback listener shows the browser");
        });
        Ok(())
    })
}

#[tokio::test]
async fn the_browser_comes_back_to_the_loopback_listener() {
    tenet_oauth::install_crypto_provider();
    let auth = AuthServer::start(AsConfig::default()).await.unwrap();
    let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
    let trips = Trips::default();
    let agent = LoopbackUserAgent::bind(0, browser(trips.clone())).await.unwrap();
    let redirect_uri = agent.redirect_uri().to_owned();
    assert!(redirect_uri.starts_with("http://127.0.0.1:") && redirect_uri.ends_with("/callback"));
    let c = AuthorizerConfig { redirect_uri: redirect_uri.clone(), ..config() };
    let authorizer = Authorizer::with_user_agent(c, Arc::new(agent)).unwrap();
    assert_eq!(call(&authorizer, &resource.url()).await.unwrap().status, 200);
    assert_eq!(auth.log().registrations()[0]["redirect_uris"][0], redirect_uri.as_str());
    trips.finished().await;
}

#[tokio::test]
async fn stray_requests_are_answered_and_the_wait_goes_on() {
    tenet_oauth::install_crypto_provider();
    let trips = Trips::default();
    let started = trips.clone();
    let opener: tenet_oauth::Opener = Box::new(move |url: &Url| {
        // Another tab asks for something else first, then the real redirect arrives.
        let back = url.query_pairs().find(|(k, _)| k == "redirect_uri").unwrap().1.into_owned();
        started.start(async move {
            let http = reqwest::Client::new();
            let base = Url::parse(&back).unwrap();
            let addr = base.socket_addrs(|| None).unwrap()[0];
            // A speculative connection that never sends anything must not hold the others up.
            let idle = tokio::net::TcpStream::connect(addr).await.unwrap();
            let stray = http.get(base.join("/favicon.ico").unwrap()).send().await.unwrap();
            assert_eq!(stray.status(), 404, "a stray request to the loopback listener");
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
    let back = waited.await;
    // First the browser's own checks: when one failed, the callback never came.
    trips.finished().await;
    let back = back.expect("the idle connection held the callback up").unwrap();
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
