//! [`OAuthHook`]: the OAuth 2.1 client of `tenet-oauth` as the HTTP transport's
//! [`AuthHook`] (feature `oauth`).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};
use tenet_oauth::Authorizer;

use crate::error::HookError;
use crate::transport::auth::{AuthChallenge, AuthHook, AuthResponse};

/// Authorizes the HTTP transport with an [`Authorizer`]: discovery, registration,
/// the authorization code (or client credentials, or JWT bearer) grant, refresh,
/// scope step-up and DPoP-bound tokens with a fresh proof per request.
///
/// ```no_run
/// use std::sync::Arc;
/// use tenet_client::{Client, OAuthHook};
/// use tenet_client::oauth::{Authorizer, AuthorizerConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = AuthorizerConfig { client_name: "my-app".into(), ..Default::default() };
/// let hook = OAuthHook::new(Arc::new(Authorizer::new(config)?));
/// let client = Client::builder().auth(hook).connect_http("https://example.com/mcp").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OAuthHook {
    authorizer: Arc<Authorizer>,
}

impl OAuthHook {
    /// A hook sharing `authorizer` (which may serve other connections too).
    pub fn new(authorizer: Arc<Authorizer>) -> Self {
        tenet_oauth::install_crypto_provider();
        Self { authorizer }
    }

    /// The authorizer, e.g. to read the granted scopes.
    pub fn authorizer(&self) -> &Arc<Authorizer> {
        &self.authorizer
    }
}

impl std::fmt::Debug for OAuthHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthHook").finish_non_exhaustive()
    }
}

impl AuthHook for OAuthHook {
    fn authorization<'a>(&'a self, _url: &'a reqwest::Url) -> BoxFuture<'a, Result<Option<String>, HookError>> {
        Box::pin(async move { Ok(self.authorizer.authorization().await) })
    }

    fn challenge<'a>(&'a self, c: &'a AuthChallenge) -> BoxFuture<'a, Result<bool, HookError>> {
        Box::pin(async move {
            let retry = self.authorizer.on_challenge(c.url.as_str(), c.status, c.www_authenticate.as_deref()).await?;
            Ok(retry)
        })
    }

    fn request_headers<'a>(
        &'a self,
        method: &'a reqwest::Method,
        url: &'a reqwest::Url,
    ) -> BoxFuture<'a, Result<Vec<(HeaderName, HeaderValue)>, HookError>> {
        Box::pin(async move {
            let headers = self.authorizer.request_headers(method.as_str(), url.as_str()).await;
            let mut out = Vec::with_capacity(headers.len());
            for (name, value) in headers {
                out.push((HeaderName::from_bytes(name.as_bytes())?, HeaderValue::from_str(&value)?));
            }
            Ok(out)
        })
    }

    fn response<'a>(&'a self, r: AuthResponse<'a>) -> BoxFuture<'a, Result<bool, HookError>> {
        Box::pin(async move { Ok(self.authorizer.on_response(r.url.as_str(), r.status, r.headers).await?) })
    }
}
