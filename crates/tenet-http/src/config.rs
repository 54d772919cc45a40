//! Settings for the HTTP endpoint: where it listens and every limit it enforces.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// How the HTTP endpoint listens, what it accepts, and its limits.
///
/// The defaults are safe for a local server: loopback only, `Host` and `Origin`
/// checked against local names, bounded bodies, connections and sessions.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The address to bind (default `127.0.0.1`).
    pub host: IpAddr,
    /// The port to bind (default 3020; 0 picks a free one).
    pub port: u16,
    /// The path of the MCP endpoint (default `/mcp`).
    pub path: String,
    /// Whether to serve HTTP+SSE (2024-11-05) for old clients (default on).
    pub legacy_sse: bool,
    /// Where HTTP+SSE clients open their stream (default `/sse`).
    pub sse_path: String,
    /// Where HTTP+SSE clients POST their messages (default `/messages`).
    pub sse_messages_path: String,
    /// Origins allowed besides local ones, e.g. `https://app.example` (exact, case-insensitive).
    pub allowed_origins: Vec<String>,
    /// Origins browsers may call the endpoint from (CORS). Empty (the default) turns
    /// CORS off; each one listed is also allowed past the `Origin` check.
    pub cors_origins: Vec<String>,
    /// Host names allowed besides local ones (without port). When the server is bound to
    /// a non-loopback address and this is empty, `Host` is not checked.
    pub allowed_hosts: Vec<String>,
    /// The largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Connections served at once; past it new ones get 503 and are closed.
    pub max_connections: usize,
    /// Connections one client address (an IPv6 client by its /64) may hold at once,
    /// counted when accepted, before any request is read; past it its new ones get 429
    /// and are closed, and nobody else's do. `None` (the default): a quarter of
    /// `max_connections`, at least 64 ([`HttpConfig::connections_per_address`]). Behind
    /// a reverse proxy every connection comes from the proxy's address: name the
    /// proxy in [`HttpConfig::trusted_proxies`], which it does not apply to.
    pub max_connections_per_address: Option<usize>,
    /// The reverse proxies trusted to name their clients (networks, e.g.
    /// `10.0.0.0/8`; a single address as `/32` or `/128`): a request from one of them
    /// counts against the client its `X-Forwarded-For` names (the last hop no trusted
    /// proxy wrote), for every bound and rate limit kept by address, and a trusted
    /// proxy may hold any number of connections. Empty (the default): every peer is
    /// its own address, whatever headers it sends.
    pub trusted_proxies: Vec<IpNet>,
    /// Legacy sessions alive at once; past it `initialize` gets 503.
    pub max_sessions: usize,
    /// Legacy sessions one caller (a principal, or a client address without
    /// authorization) may hold at once; past it its `initialize` gets 429, and nobody
    /// else's does.
    pub max_sessions_per_caller: usize,
    /// Long-lived streams one caller may hold open at once: legacy GET streams (a
    /// session's own and resumed ones), HTTP+SSE connections, `subscriptions/listen`
    /// streams, the web page's `/events` and WebSocket sockets. Each holds a connection
    /// however idle it is; past the bound the caller's next one gets 429 with
    /// `Retry-After` (a listen request, JSON-RPC error -32004), and nobody else's does.
    /// Whatever the callers, the streams that hold HTTP connections take at most three
    /// quarters of `max_connections` (past it, 503). A caller with no name (a router
    /// mounted with no [`crate::ClientAddr`] and no authorization) is bounded by that
    /// total alone. Default 128, an eighth of the default `max_connections`.
    pub max_streams_per_caller: usize,
    /// A legacy session unused this long is ended.
    pub session_idle_timeout: Duration,
    /// How long a client may take to send its request headers (slowloris guard).
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request body, from its headers on; past it
    /// the request gets 408 and the connection is closed (a body sent a byte at a time
    /// would otherwise hold a connection slot for good).
    pub body_read_timeout: Duration,
    /// How long graceful shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// The `retry` a 2025-11-25 SSE stream advises (in its priming event) before a
    /// client reconnects; older versions define no priming event and get none.
    pub sse_retry: Duration,
    /// Events kept per legacy SSE stream for replay after `Last-Event-ID`.
    pub replay_events: usize,
    /// Finished legacy SSE streams whose events are kept per session, for replay.
    pub replay_streams: usize,
    /// Who may call the MCP endpoint (OAuth 2.1 resource server or API keys); `None`
    /// lets everyone in. With it, HTTP+SSE (2024-11-05) is not served.
    pub auth: Option<std::sync::Arc<crate::auth::Auth>>,
    /// Where legacy sessions are shared with the other replicas of this server behind
    /// one load balancer, so that any of them serves any session (`None`, the
    /// default: sessions live in this process only).
    pub session_store: Option<std::sync::Arc<dyn tenet_server::store::SessionStore>>,
    /// Where `GET` serves the server's Prometheus metrics (default `/metrics`; `None`
    /// turns it off). Like `/health` and `/ready` it sits outside the MCP endpoint and
    /// is not behind [`HttpConfig::auth`]: a Prometheus scraper holds no MCP token and
    /// scrapes from inside the network. The `Host`/`Origin` guard still applies. The
    /// metrics name methods and counts, never tools' arguments, tokens or documents;
    /// turn the path off (or keep the port off the internet) where even counts are
    /// private. A path that one of the MCP paths already uses is not mounted.
    pub metrics_path: Option<String>,
    /// The WebSocket transport on the MCP path (`GET` with `Upgrade: websocket`).
    pub websocket: WebSocketConfig,
    /// Plain HTTP beside MCP for callers that do not speak it (default off):
    /// `GET /mcp/tools`, `POST /mcp/call`, `POST /tools/{name}` and `GET /openapi.json`,
    /// behind the same authorization, rate limits and `Host`/`Origin` guard as the MCP
    /// endpoint, every call served as a 2026-07-28 `tools/call`.
    pub rest: bool,
    /// A web page served beside the endpoint (Tenet's standards page), outside its
    /// authorization but behind the same `Host`/`Origin` guard. Paths the endpoint
    /// already serves are not given to it: then it is not mounted, with a warning.
    pub page: Option<Page>,
    /// What else the server reports beside `/health` (a gateway's upstreams): its
    /// pages, and whether it is ready. Like the metrics, outside the MCP endpoint.
    pub status: Option<std::sync::Arc<dyn StatusSource>>,
}

/// Routes served beside the endpoint, and the paths they take.
#[derive(Debug, Clone)]
pub struct Page {
    /// The routes.
    pub router: axum::Router,
    /// Every path `router` serves, as given to it (`/standards/{language}/{domain}`).
    pub paths: Vec<String>,
    /// The paths that do what an MCP request does (a page's search runs the engine
    /// behind a search tool), and the request each stands for: held to the server's
    /// rate limits for that request, in the caller's own bucket, as if it came to the
    /// MCP endpoint (past them, 429 with `Retry-After`).
    pub calls: Vec<PageCall>,
}

/// A path of a [`Page`] that stands for an MCP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCall {
    /// The path, as the router serves it (`/search`).
    pub path: String,
    /// The request's method (`tools/call`).
    pub method: String,
    /// What it names (`search_stdlib`), if anything.
    pub target: Option<String>,
}

/// Operational state beyond the MCP endpoint, served by the HTTP endpoint: JSON pages
/// at their own paths (`GET /upstreams`), and a say in `/ready`.
pub trait StatusSource: Send + Sync + 'static {
    /// The paths of its pages (absolute, such as `/upstreams`).
    fn paths(&self) -> Vec<String>;
    /// The JSON body of the page at `path`.
    fn page(&self, path: &str) -> Option<String>;
    /// Why the server is not ready yet (`/ready` answers 503 with it), or `None`.
    fn not_ready(&self) -> Option<String>;
}

impl std::fmt::Debug for dyn StatusSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusSource").field("paths", &self.paths()).finish()
    }
}

/// The WebSocket transport: one JSON-RPC message per text frame, subprotocol `mcp`.
#[derive(Debug, Clone)]
pub struct WebSocketConfig {
    /// Whether to accept WebSocket upgrades (default on).
    pub enabled: bool,
    /// Sockets open at once; past it an upgrade gets 503 before it happens. An
    /// upgraded socket leaves the HTTP connection count (`max_connections`) and is
    /// counted here alone, so the two caps add up to the most connections held.
    pub max_sockets: usize,
    /// How often the server pings a socket; one that sends nothing at all (not even a
    /// pong) for two intervals is closed.
    pub ping_interval: Duration,
    /// A socket with no message either way and no request in flight for this long is
    /// closed (1000).
    pub idle_timeout: Duration,
    /// How long one write (a frame, or the socket's buffer of queued frames) may wait
    /// for a client that does not read; then the socket is closed, so that a stalled
    /// client holds no memory.
    pub send_timeout: Duration,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_sockets: 4096,
            ping_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30 * 60),
            send_timeout: Duration::from_secs(30),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 3020,
            path: "/mcp".into(),
            legacy_sse: true,
            sse_path: "/sse".into(),
            sse_messages_path: "/messages".into(),
            allowed_origins: Vec::new(),
            cors_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024,
            max_connections: 1024,
            max_connections_per_address: None,
            trusted_proxies: Vec::new(),
            max_sessions: 10_000,
            max_sessions_per_caller: 1_000,
            max_streams_per_caller: 128,
            session_idle_timeout: Duration::from_secs(30 * 60),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            sse_retry: Duration::from_secs(3),
            replay_events: 64,
            replay_streams: 8,
            auth: None,
            session_store: None,
            metrics_path: Some("/metrics".into()),
            websocket: WebSocketConfig::default(),
            rest: false,
            page: None,
            status: None,
        }
    }
}

impl HttpConfig {
    /// [`HttpConfig::max_connections_per_address`] as it applies: the configured bound,
    /// else a quarter of `max_connections` but never under 64 (one client's pool of
    /// connections, a browser's six) or all of them when there are fewer; at least one.
    ///
    /// ```
    /// use tenet_http::HttpConfig;
    /// let with = |max| HttpConfig { max_connections: max, ..HttpConfig::default() }.connections_per_address();
    /// assert_eq!((with(1024), with(10_000), with(100), with(8)), (256, 2500, 64, 8));
    /// let set = HttpConfig { max_connections_per_address: Some(3), ..HttpConfig::default() };
    /// assert_eq!(set.connections_per_address(), 3);
    /// ```
    pub fn connections_per_address(&self) -> usize {
        let default = || (self.max_connections / 4).max(self.max_connections.min(64));
        self.max_connections_per_address.unwrap_or_else(default).max(1)
    }

    /// The default configuration on `port`.
    pub fn on_port(port: u16) -> Self {
        Self { port, ..Self::default() }
    }
}
