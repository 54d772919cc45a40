//! A minimal transport for the tests: GET the protected URL with the authorizer's
//! headers, hand every answer to it, retry while it says so.

#![allow(dead_code)]

use std::time::Duration;

use tenet_oauth::{Authorizer, AuthorizerConfig, OAuthError};

/// The outcome of one logical request.
#[derive(Debug)]
pub struct Outcome {
    /// The final HTTP status.
    pub status: u16,
    /// How many HTTP requests were sent.
    pub sends: u32,
}

/// Sends GET `url` like an MCP transport would, letting `authorizer` handle challenges.
pub async fn call(authorizer: &Authorizer, url: &str) -> Result<Outcome, OAuthError> {
    tenet_oauth::install_crypto_provider();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    let mut sends = 0;
    loop {
        sends += 1;
        let mut request = http.get(url);
        for (name, value) in authorizer.request_headers("GET", url).await {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("resource reachable");
        let status = response.status().as_u16();
        if authorizer.on_response(url, status, response.headers()).await? && sends < 10 {
            continue;
        }
        return Ok(Outcome { status, sends });
    }
}

/// A config with a short timeout, for tests.
pub fn config() -> AuthorizerConfig {
    AuthorizerConfig { timeout: Duration::from_secs(3), ..AuthorizerConfig::default() }
}
