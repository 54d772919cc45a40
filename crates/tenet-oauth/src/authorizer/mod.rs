//! [`Authorizer`]: the object an HTTP transport asks for an `Authorization` header
//! and tells about 401 and 403 answers.

mod requests;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;
use url::Url;

use crate::challenge::BearerChallenge;
use crate::dpop::DpopKey;
use crate::flow::{GrantInput, discover, run_grant};
use crate::http::{build_client, parse_url};
use crate::metadata::Discovery;
use crate::registration::obtain_client;
use crate::scope;
use crate::token::{AuthMethod, ClientCredentials, TokenSet};
use crate::{AuthorizerConfig, Grant, HeadlessUserAgent, OAuthError, UserAgent};

/// What the current token was obtained with, for refreshing it.
struct Session {
    discovery: Discovery,
    creds: ClientCredentials,
    method: AuthMethod,
    /// The key the token is bound to, for a DPoP token.
    dpop: Option<Arc<DpopKey>>,
}

#[derive(Default)]
struct State {
    token: Option<TokenSet>,
    session: Option<Session>,
    /// Client identities per issuer: never shown to another authorization server.
    registrations: HashMap<String, ClientCredentials>,
    /// Authorizations per requested scope set since the last success.
    attempts: HashMap<String, u32>,
    /// The scopes of the last authorization request, for step-up unions.
    requested: Vec<String>,
    /// The DPoP key, made when a server first accepts DPoP and kept after.
    dpop_key: Option<Arc<DpopKey>>,
    /// A 401 was answered by refreshing, and no request has succeeded since.
    refreshed_after_401: bool,
}

/// An OAuth 2.1 client for one MCP server (or several behind the same transport).
///
/// The transport adds [`request_headers`](Self::request_headers) to each request
/// and passes each answer to [`on_response`](Self::on_response); when that returns
/// `true` it sends the request again. It is `Send + Sync`: share it in an `Arc`.
///
/// `Debug` shows the configuration (with its secrets redacted), never the tokens,
/// client secrets or keys the authorizer holds.
pub struct Authorizer {
    config: AuthorizerConfig,
    http: reqwest::Client,
    user_agent: Arc<dyn UserAgent>,
    state: Mutex<State>,
    /// Bumped whenever a new token is stored, so a challenge that waited for
    /// another one's authorization can just retry with its token.
    generation: AtomicU64,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Authorizer {
    /// An authorizer with the [`HeadlessUserAgent`].
    pub fn new(config: AuthorizerConfig) -> Result<Self, OAuthError> {
        let agent = HeadlessUserAgent::new(config.timeout)?;
        Self::with_user_agent(config, Arc::new(agent))
    }

    /// An authorizer that sends the resource owner through `user_agent`.
    pub fn with_user_agent(config: AuthorizerConfig, user_agent: Arc<dyn UserAgent>) -> Result<Self, OAuthError> {
        let http = build_client(config.timeout)?;
        Ok(Authorizer { config, http, user_agent, state: Mutex::new(State::default()), generation: AtomicU64::new(0) })
    }

    /// The settings this authorizer was built with.
    pub fn config(&self) -> &AuthorizerConfig {
        &self.config
    }

    /// Handles a 401 or 403 from `resource_url`: discovers the authorization server,
    /// registers if needed, obtains a token for the right scopes and returns `true`
    /// when the request should be sent again.
    ///
    /// Returns `false` for other statuses, for a 403 that is not
    /// `insufficient_scope`, and once `max_attempts` authorizations for the same
    /// scopes have not helped. Errors say why authorization failed; the caller
    /// reports them and does not retry.
    pub async fn on_challenge(
        &self,
        resource_url: &str,
        status: u16,
        www_authenticate: Option<&str>,
    ) -> Result<bool, OAuthError> {
        if status != 401 && status != 403 {
            return Ok(false);
        }
        let challenge = match www_authenticate.map(|h| (h, BearerChallenge::parse(h))) {
            Some((_, Ok(Some(c)))) => c,
            // Challenges, but none for OAuth (only `Basic`, say): nothing to do here.
            Some((h, Ok(None))) if !h.trim().is_empty() => {
                tracing::debug!(challenge = h, "no Bearer or DPoP challenge");
                return Ok(false);
            }
            Some((_, Err(e))) => return Err(e),
            _ => BearerChallenge::default(),
        };
        if status == 403 && challenge.error.as_deref() != Some("insufficient_scope") {
            return Ok(false);
        }
        let server = parse_url(resource_url)?;
        let seen = self.generation.load(Ordering::SeqCst);
        let mut st = self.state.lock().await;
        if self.generation.load(Ordering::SeqCst) != seen && st.token.is_some() {
            // Another challenge authorized while this one waited: retry with its token.
            return Ok(true);
        }
        let discovery = self.discover(&server, &challenge).await?;
        if status == 401 {
            if self.refresh_after_401(&mut st, &discovery).await {
                return Ok(true);
            }
            st.token = None;
        }
        let scopes = self.select_scopes(&st, status, &challenge, &discovery);
        let key = {
            let mut sorted = scopes.clone();
            sorted.sort();
            sorted.join(" ")
        };
        let count = st.attempts.entry(key).or_insert(0);
        if *count >= self.config.max_attempts {
            tracing::warn!(status, scopes = %scopes.join(" "), "authorization retry limit reached");
            return Ok(false);
        }
        *count += 1;

        self.obtain_token(&mut st, discovery, scopes).await?;
        Ok(true)
    }

    /// Finds the authorization server for `server`: the configured one alone, when
    /// the configuration names one.
    async fn discover(&self, server: &Url, challenge: &BearerChallenge) -> Result<Discovery, OAuthError> {
        let discovery = discover(&self.http, server, challenge).await?;
        match &self.config.authorization_server {
            Some(expected) if *expected != discovery.issuer => {
                Err(OAuthError::UnexpectedAuthorizationServer { expected: expected.clone(), found: discovery.issuer })
            }
            _ => Ok(discovery),
        }
    }

    /// Gets a client identity for the issuer (reusing the one registered there,
    /// never another server's), runs the grant and stores the token.
    async fn obtain_token(&self, st: &mut State, discovery: Discovery, scopes: Vec<String>) -> Result<(), OAuthError> {
        let creds = match st.registrations.get(&discovery.issuer) {
            Some(c) => c.clone(),
            None => {
                let (creds, kind) = obtain_client(&self.http, &self.config, &discovery.metadata).await?;
                tracing::debug!(issuer = %discovery.issuer, ?kind, "client identity obtained");
                st.registrations.insert(discovery.issuer.clone(), creds.clone());
                creds
            }
        };
        let dpop = self.dpop_key_for(st, &discovery)?;
        let input = GrantInput {
            http: &self.http,
            config: &self.config,
            user_agent: self.user_agent.as_ref(),
            discovery: &discovery,
            creds: &creds,
            scope: scope::join(&scopes),
            dpop: dpop.as_deref(),
        };
        let (response, method) = run_grant(&input).await?;
        let mut token = TokenSet::from_response(response, &scopes, None);
        if matches!(self.config.grant, Grant::TokenExchange(_)) {
            // Exchanged again, with the user's token of the moment, rather than
            // refreshed: a refresh would go on acting for a user whose own token ended.
            token.refresh_token = None;
        }
        st.token = Some(token);
        st.requested = scopes;
        st.session = Some(Session { discovery, creds, method, dpop });
        st.refreshed_after_401 = false;
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// After a 401 on a token that the same authorization server can refresh:
    /// refresh instead of authorizing anew (no browser for a person), once until a
    /// request succeeds.
    async fn refresh_after_401(&self, st: &mut State, d: &Discovery) -> bool {
        let same_server = st.session.as_ref().is_some_and(|s| s.discovery.issuer == d.issuer);
        if !same_server || st.refreshed_after_401 {
            return false;
        }
        st.refreshed_after_401 = true;
        match self.refresh(st).await {
            Ok(Some(token)) => {
                st.token = Some(token);
                self.generation.fetch_add(1, Ordering::SeqCst);
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::debug!(error = %e, "refresh after a 401 failed; authorizing anew");
                false
            }
        }
    }

    /// The DPoP key to bind tokens to, when wanted and the server takes ES256 proofs.
    fn dpop_key_for(&self, st: &mut State, discovery: &Discovery) -> Result<Option<Arc<DpopKey>>, OAuthError> {
        let algs = discovery.metadata.dpop_signing_alg_values_supported.as_deref().unwrap_or_default();
        if !self.config.use_dpop || !algs.iter().any(|a| a == "ES256") {
            return Ok(None);
        }
        if st.dpop_key.is_none() {
            st.dpop_key = Some(Arc::new(DpopKey::generate()?));
        }
        Ok(st.dpop_key.clone())
    }

    /// The scopes to request: the challenge's, else the resource's
    /// `scopes_supported`, else none; a step-up adds what was asked before; and
    /// `offline_access` when wanted and the authorization server lists it.
    fn select_scopes(&self, st: &State, status: u16, challenge: &BearerChallenge, d: &Discovery) -> Vec<String> {
        let mut scopes = match (&challenge.scope, &d.resource_scopes) {
            (Some(s), _) => scope::split(s),
            (None, Some(list)) => list.clone(),
            (None, None) => Vec::new(),
        };
        if status == 403 {
            let before: Vec<String> = st.requested.iter().filter(|s| *s != "offline_access").cloned().collect();
            scopes = scope::union(&before, &scopes);
        }
        let as_offers_offline =
            d.metadata.scopes_supported.as_ref().is_some_and(|s| s.iter().any(|x| x == "offline_access"));
        let wants_offline = self.config.request_offline_access && matches!(self.config.grant, Grant::AuthorizationCode);
        if wants_offline && as_offers_offline {
            scopes = scope::union(&scopes, &["offline_access".to_owned()]);
        } else {
            scopes.retain(|s| s != "offline_access" || as_offers_offline);
        }
        scopes
    }

    /// Tells the authorizer a request went through, which resets the retry limit.
    pub async fn record_success(&self) {
        let mut st = self.state.lock().await;
        st.attempts.clear();
        st.refreshed_after_401 = false;
    }

    /// The scopes of the current token (empty without one).
    pub async fn granted_scopes(&self) -> Vec<String> {
        self.state.lock().await.token.as_ref().map(|t| t.scopes.clone()).unwrap_or_default()
    }

    /// The client identity used with `issuer`, if one was obtained.
    pub async fn client_for(&self, issuer: &str) -> Option<ClientCredentials> {
        self.state.lock().await.registrations.get(issuer).cloned()
    }

    /// Obtains a token with the client credentials grant without waiting for a
    /// challenge (machine-to-machine clients know they need one).
    pub async fn authorize_now(&self, resource_url: &str) -> Result<(), OAuthError> {
        let server: Url = parse_url(resource_url)?;
        let mut st = self.state.lock().await;
        let discovery = self.discover(&server, &BearerChallenge::default()).await?;
        let scopes = self.select_scopes(&st, 401, &BearerChallenge::default(), &discovery);
        self.obtain_token(&mut st, discovery, scopes).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SECRET: &str = "s3cr3t-value";

    #[test]
    fn debug_of_authorizer_shows_no_secrets() {
        let config = AuthorizerConfig {
            pre_registered: Some(ClientCredentials::new("client-42", Some(SECRET.into()))),
            ..AuthorizerConfig::default()
        };
        let authorizer = Authorizer::new(config).unwrap();
        {
            let mut st = authorizer.state.try_lock().unwrap();
            st.token = Some(TokenSet {
                access_token: SECRET.into(),
                token_type: "Bearer".into(),
                refresh_token: Some(SECRET.into()),
                expires_at: None,
                scopes: vec!["read".into()],
            });
            st.registrations
                .insert("https://as.example.com".into(), ClientCredentials::new("dyn", Some(SECRET.into())));
            st.dpop_key = Some(Arc::new(DpopKey::generate().unwrap()));
        }
        let shown = format!("{authorizer:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("client-42"), "{shown}");
        assert!(shown.contains(r#"client_secret: Some("<redacted>")"#), "{shown}");
    }
}
