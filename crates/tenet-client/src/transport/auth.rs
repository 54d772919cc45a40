//! The hook an authorization client (such as OAuth 2.1) plugs into the HTTP transport.

use futures_util::future::BoxFuture;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, WWW_AUTHENTICATE};

use crate::error::{ClientError, HookError};

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

/// Any answer from the server, as [`AuthHook::response`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct AuthResponse<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The response headers (`WWW-Authenticate`, `DPoP-Nonce`, …).
    pub headers: &'a HeaderMap,
    /// The URL that answered.
    pub url: &'a reqwest::Url,
    /// How many times this request has already been sent again at the hook's request.
    pub attempt: u32,
}

impl AuthResponse<'_> {
    /// Whether the server refused the request (401 or 403).
    pub fn is_refusal(&self) -> bool {
        self.status == 401 || self.status == 403
    }

    /// The refusal as an [`AuthChallenge`].
    pub fn challenge(&self) -> AuthChallenge {
        let www_authenticate =
            self.headers.get(WWW_AUTHENTICATE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        AuthChallenge { status: self.status, www_authenticate, url: self.url.clone(), attempt: self.attempt }
    }
}

/// How many times one request is sent again at its hook's request.
pub(crate) const MAX_AUTH_RETRIES: u32 = 3;

/// What an answer means for a request that may carry credentials: send it again
/// with fresh ones (`Ok(true)`, once the hook asks and retries are left), go on with
/// it (`Ok(false)`), or [`ClientError::Unauthorized`] for a refusal nobody can fix.
///
/// # Errors
/// The hook's own failure, or the refusal.
pub(crate) async fn should_retry(
    auth: Option<&std::sync::Arc<dyn AuthHook>>,
    seen: AuthResponse<'_>,
) -> Result<bool, ClientError> {
    let may_retry = seen.attempt < MAX_AUTH_RETRIES;
    let retry = match auth {
        Some(auth) if may_retry || !seen.is_refusal() => {
            auth.response(seen).await.map_err(ClientError::Auth)? && may_retry
        }
        _ => false,
    };
    if !retry && seen.is_refusal() {
        let AuthChallenge { status, www_authenticate, .. } = seen.challenge();
        return Err(ClientError::Unauthorized { status, www_authenticate });
    }
    Ok(retry)
}

/// Supplies credentials to the HTTP transport, and to the WebSocket upgrade (a
/// `GET`, for which the hook sees the URL with its `http(s)` scheme).
///
/// The simple form implements two methods. Before every HTTP request the transport
/// asks [`AuthHook::authorization`] for the `Authorization` header value. When the
/// server answers 401 or 403 it calls [`AuthHook::challenge`]; if that returns
/// `Ok(true)` the request is sent again (with a fresh `authorization()`), otherwise the
/// call fails with [`crate::ClientError::Unauthorized`]. An `Err` fails the call with
/// [`crate::ClientError::Auth`].
///
/// A hook that needs more than one header per request (DPoP proofs) or sees every
/// response (successes, nonces) also overrides [`AuthHook::request_headers`] and
/// [`AuthHook::response`], whose defaults call the two methods above.
pub trait AuthHook: Send + Sync + 'static {
    /// The `Authorization` header value for a request to `url`, e.g. `"Bearer abc"`;
    /// `None` sends no header.
    fn authorization<'a>(&'a self, url: &'a reqwest::Url) -> BoxFuture<'a, Result<Option<String>, HookError>>;

    /// The server refused a request; return whether to retry it.
    fn challenge<'a>(&'a self, challenge: &'a AuthChallenge) -> BoxFuture<'a, Result<bool, HookError>>;

    /// Every credential header for a `method` request to `url`. The default is the
    /// `Authorization` header from [`AuthHook::authorization`].
    fn request_headers<'a>(
        &'a self,
        method: &'a reqwest::Method,
        url: &'a reqwest::Url,
    ) -> BoxFuture<'a, Result<Vec<(HeaderName, HeaderValue)>, HookError>> {
        let _ = method;
        Box::pin(async move {
            match self.authorization(url).await? {
                Some(value) => Ok(vec![(AUTHORIZATION, HeaderValue::from_str(&value)?)]),
                None => Ok(Vec::new()),
            }
        })
    }

    /// Sees every response and returns whether to send the request again (a request is
    /// sent again at most three times; a refusal after that fails without asking). The
    /// default hands 401 and 403 to [`AuthHook::challenge`] and ignores the rest.
    fn response<'a>(&'a self, response: AuthResponse<'a>) -> BoxFuture<'a, Result<bool, HookError>> {
        Box::pin(async move {
            if !response.is_refusal() {
                return Ok(false);
            }
            self.challenge(&response.challenge()).await
        })
    }
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
