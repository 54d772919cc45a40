//! The axum [`Router`]: the MCP endpoint plus `/health`, `/ready` and `/metrics`, and
//! the task that expires idle sessions.

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{any, get, post};
use tenet_server::metrics::SessionKind;
use tenet_server::{CancellationToken, Server};

use crate::config::HttpConfig;
use crate::cors;
use crate::guard::Guard;
use crate::session::Sessions;
use crate::shared::Shared;
use crate::{door, endpoint};
use crate::{response, sse_transport};

/// An MCP endpoint serving one [`Server`] to clients of both eras.
///
/// Build its [`Router`] with [`Endpoint::router`] to serve it yourself or mount it in
/// your own axum app. Clones share everything.
#[derive(Clone)]
pub struct Endpoint {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("path", &self.shared.config.path).finish_non_exhaustive()
    }
}

impl Endpoint {
    /// An endpoint for `server`. When called inside a tokio runtime it starts the task
    /// that expires idle sessions; the task ends with `shutdown` or when the endpoint
    /// and its routers are dropped.
    pub fn new(server: Server, config: HttpConfig, shutdown: CancellationToken) -> Self {
        let metrics = server.metrics();
        let shared = Arc::new(Shared {
            guard: Guard::new(&config),
            sessions: Sessions::new(&config, metrics.sessions(SessionKind::StreamableHttp)),
            legacy_sse: crate::sse_connections::Connections::new(metrics.sessions(SessionKind::Sse)),
            sockets: crate::sockets::Sockets::new(metrics),
            streams: Arc::new(crate::streams::Streams::new(config.max_connections)),
            server,
            config,
            shutdown,
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(sweep(Arc::downgrade(&shared), shared.shutdown.clone(), shared.config.session_idle_timeout));
            if let Some(sessions) = &shared.sessions.shared {
                // Tasks and announcements too are shared, under this replica's name: only
                // where its inbox is read (and its lease held), or others would take its
                // tasks for dead.
                shared.server.share(sessions.store.clone(), sessions.replica.clone(), shared.shutdown.clone());
                let letters = sessions.store.inbox(&sessions.replica);
                runtime.spawn(read_inbox(Arc::downgrade(&shared), shared.shutdown.clone(), letters));
            }
        }
        Self { shared }
    }

    /// The router: the MCP endpoint at `config.path`, the HTTP+SSE endpoints for
    /// 2024-11-05 clients (`config.sse_path`, `config.sse_messages_path`, unless turned
    /// off), `GET /health` (liveness), `GET /ready` (503 once shutting down) and the
    /// Prometheus metrics at `config.metrics_path`.
    ///
    /// With `config.auth`, the MCP endpoint and both HTTP+SSE endpoints need a valid
    /// bearer token or API key (401/403 with a `WWW-Authenticate` challenge otherwise),
    /// and the Protected Resource Metadata is served at
    /// `/.well-known/oauth-protected-resource…`; `/health`, `/ready`, the metrics and
    /// the metadata stay open. The server's rate limits hold for every request, whatever
    /// route it came by.
    /// Without auth, nothing asks for credentials.
    ///
    /// With `config.cors_origins`, CORS for those browser origins on every route, auth
    /// or not: preflights are answered before the auth check, and refusals (401, 403,
    /// 429) carry the CORS headers so the page can read them.
    ///
    /// When you serve the router yourself, turn on `TCP_NODELAY` for every accepted
    /// connection, or each streamed (SSE) response can stall ~40 ms on Nagle's
    /// algorithm and delayed ACKs (`tenet_http::serve` does this for you):
    ///
    /// ```no_run
    /// # use tenet_http::axum::{self, serve::ListenerExt};
    /// # async fn run(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
    /// axum::serve(listener.tap_io(|tcp| { let _ = tcp.set_nodelay(true); }), app).await
    /// # }
    /// ```
    pub fn router(&self) -> Router {
        let config = &self.shared.config;
        let path = if config.path.starts_with('/') { config.path.clone() } else { format!("/{}", config.path) };
        let mut router = Router::new().route(&path, any(|s, r| door::admit(s, r, endpoint::serve)));
        if config.legacy_sse {
            router = router
                .route(&config.sse_path, get(|s, r| door::admit(s, r, sse_transport::open)))
                .route(&config.sse_messages_path, post(|s, r| door::admit(s, r, sse_transport::message)));
        }
        let gate =
            config.auth.clone().map(|auth| crate::gate::Gate { auth, metrics: self.shared.server.metrics().clone() });
        if let Some(gate) = gate.clone() {
            // `route_layer` covers only the routes added so far: the MCP endpoint and
            // HTTP+SSE. The metadata, /health, /ready and /metrics come after and stay
            // open; the status pages get a gate of their own.
            router = router.route_layer(axum::middleware::from_fn_with_state(gate, crate::gate::check));
        }
        if config.rest {
            let mut rest = crate::rest::routes(&[&path, &config.sse_path, &config.sse_messages_path]);
            if let Some(gate) = gate.clone() {
                // Authorization as for MCP; a call's rate limit is taken at the server's
                // door, as for MCP, once the route has read the tool from the path or body.
                rest = rest.route_layer(axum::middleware::from_fn_with_state(gate, crate::gate::check));
            }
            router = router.merge(rest);
        }
        if let Some(auth) = &config.auth {
            router = router.merge(crate::auth::metadata_router(auth));
        }
        let (router, taken) = self.operations(router, &path, gate.as_ref());
        let mut router = router.with_state(self.shared.clone());
        if let Some(page) = &config.page {
            match page.paths.iter().find(|p| taken.contains(p)) {
                Some(clash) => tracing::warn!(path = %clash, "the web page is not served: the path is already in use"),
                None => {
                    let guarded = page.router.clone().route_layer(axum::middleware::from_fn_with_state(
                        (self.shared.clone(), Arc::new(page.calls.clone())),
                        page_door,
                    ));
                    router = router.merge(guarded);
                }
            }
        }
        // Outside the gate, so that it answers preflights before the gate and marks its refusals.
        let router = match cors::layer(&config.cors_origins) {
            Some(cors) => router.layer(cors),
            None => router,
        };
        // Outermost: every layer and handler that tells callers apart by address sees
        // the client a trusted proxy names (and none of this runs without one).
        match crate::forwarded::Trusted::new(&config.trusted_proxies) {
            Some(trusted) => router.layer(axum::middleware::from_fn_with_state(trusted, crate::forwarded::layer)),
            None => router,
        }
    }

    /// `/health`, `/ready` and the metrics path, beside the MCP endpoint at `path`;
    /// and every path served so far.
    /// With authorization on (`gate`), the status pages are behind it and need
    /// [`STATUS_SCOPE`]: they list the servers and nodes behind this one.
    fn operations(
        &self,
        router: Router<Arc<Shared>>,
        path: &str,
        gate: Option<&crate::gate::Gate>,
    ) -> (Router<Arc<Shared>>, Vec<String>) {
        let router = router.route("/health", get(health)).route("/ready", get(ready));
        let config = &self.shared.config;
        let mut taken = vec![path, &config.sse_path, &config.sse_messages_path, "/health", "/ready"];
        if config.rest {
            taken.extend(crate::rest::PATHS);
        }
        if let Some(auth) = &config.auth {
            taken.extend(crate::auth::metadata_paths(auth));
        }
        let pages: Vec<String> = config.status.iter().flat_map(|status| status.paths()).collect();
        let mut status = Router::new();
        let mut any = false;
        for page in &pages {
            if !page.starts_with('/') || taken.contains(&page.as_str()) {
                tracing::warn!(page, "status page not served: the path is not absolute or is already in use");
                continue;
            }
            let at = page.clone();
            status = status.route(page, get(move |state, request| status_page(state, request, at)));
            any = true;
        }
        if let (Some(gate), true) = (gate, any) {
            status = status.route_layer(axum::middleware::from_fn_with_state(gate.clone(), crate::gate::check));
        }
        let router = router.merge(status);
        let mut served: Vec<String> = taken.iter().map(|p| (*p).to_owned()).chain(pages.iter().cloned()).collect();
        let Some(metrics_path) = config.metrics_path.as_deref() else { return (router, served) };
        if !metrics_path.starts_with('/') || served.iter().any(|p| p == metrics_path) {
            tracing::warn!(metrics_path, "metrics not served: the path is not absolute or is already in use");
            return (router, served);
        }
        served.push(metrics_path.to_owned());
        (router.route(metrics_path, get(metrics)), served)
    }

    /// How many legacy sessions are alive.
    pub fn session_count(&self) -> usize {
        self.shared.sessions.len()
    }

    /// Waits until every WebSocket socket has closed (they close by themselves once
    /// the shutdown token fires, after answering the requests in flight).
    pub async fn sockets_closed(&self) {
        self.shared.sockets.tasks.close();
        self.shared.sockets.tasks.wait().await;
    }

    /// Ends every legacy session now (their streams close).
    pub fn close(&self) {
        self.shared.sessions.close_all();
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.shared.config
    }
}

/// The router of a new [`Endpoint`] (see there).
pub fn router(server: Server, config: HttpConfig, shutdown: CancellationToken) -> Router {
    Endpoint::new(server, config, shutdown).router()
}

/// What every request to the web page passes: the Host and Origin checks of the MCP
/// endpoint; for a path that stands for an MCP request ([`crate::PageCall`]), the rate
/// limits of that request in the caller's bucket; and the caller's share of open
/// streams (the page's event stream counts in it).
async fn page_door(
    State((shared, calls)): State<(Arc<Shared>, Arc<Vec<crate::PageCall>>)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(refused) = door::guard(&shared, request.headers()) {
        return refused;
    }
    let caller: Arc<str> = crate::caller::key(request.extensions()).into();
    if let Some(call) = calls.iter().find(|call| call.path == request.uri().path())
        && let Err(e) = shared.server.throttle(&caller, &call.method, call.target.as_deref()).await
    {
        return response::rate_limited(&e);
    }
    shared.seated(caller, next.run(request).await)
}

async fn health() -> Response {
    response::json(StatusCode::OK, r#"{"status":"ok"}"#)
}

async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    if shared.shutdown.is_cancelled() {
        return response::json(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"shutting down"}"#);
    }
    match shared.config.status.as_ref().and_then(|status| status.not_ready()) {
        Some(reason) => {
            let body = serde_json::json!({ "status": "not ready", "reason": reason }).to_string();
            response::json(StatusCode::SERVICE_UNAVAILABLE, body)
        }
        None => response::json(StatusCode::OK, r#"{"status":"ready"}"#),
    }
}

/// A [`crate::StatusSource`] page, behind the same `Host`/`Origin` guard as the metrics.
async fn status_page(State(shared): State<Arc<Shared>>, request: axum::extract::Request, path: String) -> Response {
    if let Some(refused) = door::guard(&shared, request.headers()) {
        return refused;
    }
    if shared.config.auth.is_some() {
        let grant = request.extensions().get::<Arc<tenet_server::Grant>>();
        if !grant.is_some_and(|g| g.has(STATUS_SCOPE)) {
            return status_refused(grant.map(AsRef::as_ref));
        }
    }
    match shared.config.status.as_ref().and_then(|status| status.page(&path)) {
        Some(body) => response::json(StatusCode::OK, body),
        None => response::transport(StatusCode::NOT_FOUND, "no such page".to_owned()),
    }
}

/// The scope a caller needs for the status pages (`/upstreams`, `/peers`) when
/// authorization is on.
pub const STATUS_SCOPE: &str = "tenet:status";

/// The 403 for a caller without [`STATUS_SCOPE`]: a JSON-RPC error -32003 whose
/// `data.scope` (what it holds, and the status scope) the step-up challenge names.
fn status_refused(grant: Option<&tenet_server::Grant>) -> Response {
    let mut scopes: Vec<&str> = grant.map(|g| g.scopes().collect()).unwrap_or_default();
    if !scopes.contains(&STATUS_SCOPE) {
        scopes.push(STATUS_SCOPE);
    }
    let error = serde_json::json!({"code": tenet_server::INSUFFICIENT_SCOPE.0,
        "message": format!("Insufficient scope: the status pages require {STATUS_SCOPE}"),
        "data": {"scope": scopes.join(" "), "requiredScopes": [STATUS_SCOPE]}});
    response::json(StatusCode::FORBIDDEN, serde_json::json!({"jsonrpc": "2.0", "id": null, "error": error}).to_string())
}

/// The server's metrics in the OpenMetrics text format, for a Prometheus scraper.
async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(refused) = door::guard(&shared, &headers) {
        return refused;
    }
    let mut response = Response::new(shared.server.metrics().encode().into());
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(tenet_server::metrics::CONTENT_TYPE));
    response
}

/// Expires idle sessions every so often until shutdown or until nobody holds the endpoint.
async fn sweep(shared: Weak<Shared>, shutdown: CancellationToken, idle: Duration) {
    let period = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
        let Some(shared) = shared.upgrade() else { return };
        let expired = shared.sessions.sweep();
        if expired > 0 {
            tracing::debug!(expired, "expired idle sessions");
        }
        shared.sessions.keep_alive().await;
    }
}

/// Hands the letters other replicas send this one (clients' responses to requests
/// sent from here) to the sessions they are for, until shutdown or until nobody holds
/// the endpoint.
async fn read_inbox(
    shared: Weak<Shared>,
    shutdown: CancellationToken,
    mut letters: futures_util::stream::BoxStream<'static, tenet_server::store::Letter>,
) {
    use futures_util::StreamExt;
    let mut check = tokio::time::interval(Duration::from_secs(5));
    loop {
        let letter = tokio::select! {
            () = shutdown.cancelled() => return,
            letter = letters.next() => match letter {
                Some(letter) => letter,
                None => return,
            },
            // Nobody holds the endpoint any more: stop reading (the store's reader stops
            // when this stream is dropped).
            _ = check.tick() => if shared.strong_count() == 0 { return } else { continue },
        };
        let Some(shared) = shared.upgrade() else { return };
        if letter.message.is_empty() {
            // Word to read a session again: a store round trip, off the reading of the
            // inbox, so that clients' answers behind it are not held up.
            tokio::spawn(async move { shared.sessions.deliver(&shared.server, &letter).await });
        } else {
            shared.sessions.deliver(&shared.server, &letter).await;
        }
    }
}
