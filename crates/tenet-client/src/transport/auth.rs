//! The hook an authorization client (such as OAuth 2.1) plugs into the HTTP transport.

use futures_util::future::BoxFuture;

use crate::error::HookError;

/// A refusal from the server: what an authorization client needs to decide what to do.
#[derive(Clone, Debug)]
pub struct AuthChallenge {
    /// 401 or 403.
    pub status: u16,
    /// The `WWW-Authenticate` header, as sent (it may be malformed).
    pub www_authenticate: Option<String>,
    /// The URL that refused.
    pub url: reqwest::Url,
    /// How many times this request has already been retried after a challenge (0 on
    /// the first refusal), so a hook can bound step-up loops.
    pub attempt: u32,
}

/// Supplies credentials to the HTTP transport.
///
/// Before every HTTP request the transport asks [`AuthHook::authorization`] for the
/// `Authorization` header value. When the server answers 401 or 403 it calls
/// [`AuthHook::challenge`]; if that returns `Ok(true)` the request is sent again (with
/// a fresh `authorization()`), otherwise the call fails with
/// [`crate::ClientError::Unauthorized`]. An `Err` fails the call with
/// [`crate::ClientError::Auth`].
pub trait AuthHook: Send + Sync + 'static {
    /// The `Authorization` header value for a request to `url`, e.g. `"Bearer abc"`;
    /// `None` sends no header.
    fn authorization<'a>(&'a self, url: &'a reqwest::Url) -> BoxFuture<'a, Result<Option<String>, HookError>>;

    /// The server refused a request; return whether to retry it.
    fn challenge<'a>(&'a self, challenge: &'a AuthChallenge) -> BoxFuture<'a, Result<bool, HookError>>;
}

/// A fixed `Authorization` value (e.g. a bearer token from the environment); it never
/// retries.
#[derive(Clone, Debug)]
pub struct StaticAuth(pub String);

impl AuthHook for StaticAuth {
    fn authorization<'a>(&'a self, _url: &'a reqwest::Url) -> BoxFuture<'a, Result<Option<String>, HookError>> {
        Box::pin(async move { Ok(Some(self.0.clone())) })
    }

    fn challenge<'a>(&'a self, _challenge: &'a AuthChallenge) -> BoxFuture<'a, Result<bool, HookError>> {
        Box::pin(async { Ok(false) })
    }
}
