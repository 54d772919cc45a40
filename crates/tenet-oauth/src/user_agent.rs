//! The user-agent step of the authorization code flow, pluggable: a browser, a
//! test double, or the headless agent here.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use url::Url;

use crate::OAuthError;
use crate::http::{build_client, send};

/// A boxed future, so [`UserAgent`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Takes the resource owner through the authorization endpoint.
///
/// Given the full authorization URL, returns the URL the authorization server
/// redirected to (the `redirect_uri` with `code`, `state` and maybe `iss`, or
/// `error`). The authorizer checks everything in it.
pub trait UserAgent: Send + Sync {
    /// Visits `authorization_url` and returns the redirect back to `redirect_uri`.
    fn authorize<'a>(
        &'a self,
        authorization_url: &'a Url,
        redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<Url, OAuthError>>;
}

/// A user agent without a user: GETs the authorization URL, does not follow the
/// redirect, and returns its `Location`. Works with authorization servers that
/// approve at once (test servers, the conformance suite's mock).
#[derive(Debug, Clone)]
pub struct HeadlessUserAgent {
    client: reqwest::Client,
}

impl HeadlessUserAgent {
    /// A headless agent whose request gives up after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, OAuthError> {
        Ok(HeadlessUserAgent { client: build_client(timeout)? })
    }
}

impl UserAgent for HeadlessUserAgent {
    fn authorize<'a>(
        &'a self,
        authorization_url: &'a Url,
        _redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<Url, OAuthError>> {
        Box::pin(async move {
            let response = send(self.client.get(authorization_url.clone()), authorization_url).await?;
            let status = response.status();
            if !status.is_redirection() {
                return Err(OAuthError::UserAgent(format!(
                    "{authorization_url} answered HTTP {} instead of a redirect",
                    status.as_u16()
                )));
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| OAuthError::UserAgent("redirect without a Location header".into()))?;
            authorization_url
                .join(location)
                .map_err(|e| OAuthError::InvalidUrl { url: location.to_owned(), reason: e.to_string() })
        })
    }
}
