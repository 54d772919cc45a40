//! What the transport calls around each request: the headers to send (refreshing
//! an expired token first) and the handling of the answer.

use std::sync::atomic::Ordering;

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};

use super::{Authorizer, State};
use crate::OAuthError;
use crate::challenge::BearerChallenge;
use crate::flow::token_endpoint;
use crate::http::parse_url;
use crate::token::{ClientAuth, TokenSet, request_token};

impl Authorizer {
    /// The `Authorization` header value for the next request (`Bearer …`), or `None`
    /// before the first authorization. An expired token is refreshed first; when
    /// that fails the token is dropped and `None` returned, so the server's 401
    /// starts a new authorization.
    ///
    /// A DPoP-bound token also needs a proof per request: transports that may meet
    /// DPoP servers use [`request_headers`](Self::request_headers) instead.
    pub async fn authorization(&self) -> Option<String> {
        let mut st = self.state.lock().await;
        self.fresh_token(&mut st).await.map(|t| format!("{} {}", t.token_type, t.access_token))
    }

    /// The headers for a request of `method` to `url`: `Authorization`, and for a
    /// DPoP-bound token a fresh `DPoP` proof (with the token's hash and the
    /// server's latest nonce). Empty before the first authorization.
    pub async fn request_headers(&self, method: &str, url: &str) -> Vec<(&'static str, String)> {
        let mut st = self.state.lock().await;
        let Some(token) = self.fresh_token(&mut st).await else { return Vec::new() };
        let mut headers = vec![("Authorization", format!("{} {}", token.token_type, token.access_token))];
        let key = st.session.as_ref().and_then(|s| s.dpop.clone());
        if let (true, Some(key)) = (token.token_type == "DPoP", key) {
            match parse_url(url).and_then(|u| key.proof(method, &u, Some(&token.access_token))) {
                Ok(proof) => headers.push(("DPoP", proof)),
                Err(e) => tracing::warn!(error = %e, "no DPoP proof for {url}"),
            }
        }
        headers
    }

    /// Handles any answer from `resource_url`: a success resets the retry limit; a
    /// `DPoP-Nonce` is remembered, and a 401 `use_dpop_nonce` is retried once with
    /// it; other 401s and 403s go to [`on_challenge`](Self::on_challenge). Returns
    /// whether to send the request again.
    pub async fn on_response(&self, resource_url: &str, status: u16, headers: &HeaderMap) -> Result<bool, OAuthError> {
        let www = headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok());
        let nonce = headers.get("dpop-nonce").and_then(|v| v.to_str().ok());
        let key = self.state.lock().await.session.as_ref().and_then(|s| s.dpop.clone());
        if let (Some(nonce), Some(key)) = (nonce, key) {
            let fresh = key.set_nonce(&parse_url(resource_url)?, nonce);
            let challenge = www.map(BearerChallenge::parse).transpose()?.flatten();
            if status == 401 && challenge.and_then(|c| c.error).as_deref() == Some("use_dpop_nonce") {
                return Ok(fresh);
            }
        }
        if (200..300).contains(&status) {
            self.record_success().await;
            return Ok(false);
        }
        self.on_challenge(resource_url, status, www).await
    }

    /// The current token, refreshed first when it has expired; `None` (and the
    /// token dropped) when there is none or the refresh fails.
    async fn fresh_token(&self, st: &mut State) -> Option<TokenSet> {
        let expired = st.token.as_ref()?.is_expired(self.config.refresh_skew);
        if expired {
            match self.refresh(st).await {
                Ok(Some(token)) => {
                    st.token = Some(token);
                    self.generation.fetch_add(1, Ordering::SeqCst);
                }
                Ok(None) => st.token = None,
                Err(e) => {
                    tracing::warn!(error = %e, "token expired and could not be refreshed");
                    st.token = None;
                }
            }
        }
        st.token.clone()
    }

    /// Refreshes the token; `Ok(None)` when there is nothing to refresh with.
    pub(super) async fn refresh(&self, st: &State) -> Result<Option<TokenSet>, OAuthError> {
        let (Some(token), Some(session)) = (&st.token, &st.session) else { return Ok(None) };
        let Some(refresh_token) = token.refresh_token.clone() else { return Ok(None) };
        let url = token_endpoint(&session.discovery.metadata)?;
        let auth = ClientAuth {
            creds: &session.creds,
            method: session.method,
            key: self.config.assertion_key.as_deref(),
            issuer: &session.discovery.issuer,
            dpop: session.dpop.as_deref(),
        };
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.clone()),
            ("resource", session.discovery.resource.clone()),
        ];
        let response = request_token(&self.http, &url, &auth, form).await?;
        tracing::debug!(issuer = %session.discovery.issuer, "token refreshed");
        Ok(Some(TokenSet::from_response(response, &token.scopes, Some(refresh_token))))
    }
}
