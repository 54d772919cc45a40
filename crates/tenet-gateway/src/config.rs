//! What the operator writes: one `[[upstream]]` table per MCP server, and the
//! gateway's own settings, checked before anything starts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use tenet_client::VersionPin;
use tenet_protocol::ProtocolVersion;
use tenet_server::{Rate, ToolDef};

use crate::name::{Glob, is_namespace};

/// One upstream MCP server, as a config file's `[[upstream]]` table describes it.
///
/// ```
/// let upstream: tenet_gateway::UpstreamConfig = toml::from_str(r#"
///     name = "everything"
///     command = ["npx", "-y", "@modelcontextprotocol/server-everything"]
///     tools = { deny = ["dangerous_*"] }
/// "#).unwrap();
/// assert_eq!(upstream.name, "everything");
/// ```
///
/// Its `Debug` output holds no credentials: the URL as [`UpstreamConfig::target`]
/// shows it, the names of `env` variables and headers without their values, and the
/// command's program without its arguments.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The namespace its tools, prompts and resources are listed under
    /// (`[A-Za-z0-9_-]`, at most 64 characters). Empty only for a peer whose namespace
    /// is the node id it announces.
    pub name: String,
    /// A stdio server: the program and its arguments.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// A server on the network: `http(s)://` (Streamable HTTP of either era, or
    /// HTTP+SSE) or `ws(s)://`.
    #[serde(default)]
    pub url: Option<String>,
    /// Environment variables for a stdio server.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The gateway's environment variables a stdio server gets, beside
    /// [`INHERITED_ENV`] and its own `env`: names, `*` for any run of characters
    /// (`["AWS_*"]`; `["*"]`: all of them, less shell functions and what
    /// [`GatewayOptions::unset_env`] names). Nothing else of the gateway's environment
    /// reaches it, so that one server's credentials (an OAuth secret in a variable, a
    /// token another server's `env` does not name) are not every server's.
    #[serde(default)]
    pub inherit_env: Vec<String>,
    /// Headers sent with every HTTP request or WebSocket upgrade (static credentials).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Seconds a call may take before it is cancelled upstream (default 30).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Which of its tools are offered.
    #[serde(default)]
    pub tools: ToolFilter,
    /// Whether the gateway is ready only once this upstream is up (default true).
    #[serde(default = "yes")]
    pub required: bool,
    /// Scopes a caller needs for every tool of this upstream, when authorization is on;
    /// none given, [`UpstreamConfig::default_scope`] unless `open`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// With authorization on and no `scopes`: every authorized caller may use its
    /// tools, which then need no scope of their own. Off by default.
    #[serde(default)]
    pub open: bool,
    /// The protocol to speak: `auto` (default: 2026-07-28 if the server speaks it,
    /// else the legacy handshake), `legacy`, `stateless`, or an exact version such as
    /// `2025-06-18`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// How many times in a row a stdio server that fails within a minute of
    /// starting is restarted (default 5); at the next such failure (a crash loop) it
    /// is not started again. 0: never restarted.
    #[serde(default)]
    pub max_restarts: Option<u32>,
    /// OAuth client credentials for a server at a URL that asks for a token: the
    /// gateway gets its own, with the client credentials grant, and refreshes it.
    #[serde(default)]
    pub oauth: Option<OAuthClient>,
    /// The rate each caller may call each of its tools at, `PER_SECOND[/BURST]` (`"2/5"`:
    /// two a second, five at once): a bucket per caller and tool, whatever transport the
    /// call came by. None by default; a server-wide `--rate-limit-for` naming the tool
    /// wins over it.
    #[serde(default)]
    pub rate_limit: Option<String>,
    /// How many calls of each of its tools run at once, every caller's together (at
    /// least 1); past it a call waits for a turn for up to half its timeout, then is
    /// refused. The server's `--tool-concurrency` by default.
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// How callers' calls reach it: `per-caller` (the default for a server that keeps
    /// sessions: a stdio server, or one at a URL speaking the legacy protocol) opens a
    /// session of its own for each caller, a process of its own for a stdio server;
    /// `per-conversation` one for each of a caller's conversations; `shared` sends every
    /// caller's calls on the gateway's one connection, for a server the operator knows
    /// keeps nothing per session. A 2026-07-28 server keeps no sessions: its calls are
    /// always sent as `shared`.
    #[serde(default)]
    pub session: Option<SessionMode>,
    /// The most callers' sessions open there at once (default 32); past it the least
    /// recently used idle one is closed, and with none idle a new caller waits up to
    /// 5 s, then is refused.
    #[serde(default)]
    pub max_sessions: Option<usize>,
    /// Seconds a caller's session may stay idle before it is closed (default 300).
    #[serde(default)]
    pub session_idle_timeout: Option<u64>,
    /// The largest message taken from it, in bytes (default 4 MiB, at most 256 MiB): a
    /// larger one fails the call it answers, and the gateway's memory stays bounded.
    #[serde(default)]
    pub max_message_bytes: Option<usize>,
    /// Whether it is a peer: another Tenet node (a `[[peer]]` table), which must
    /// announce its node id, and whose items are marked as imported through it.
    #[serde(skip)]
    pub peer: bool,
}

/// Another Tenet node, as a config file's `[[peer]]` table describes it: what this
/// node imports from it is listed under its namespace, its node id unless `name` says
/// otherwise.
///
/// ```
/// let peer: tenet_gateway::PeerConfig = toml::from_str(r#"
///     url = "http://127.0.0.1:9003/mcp"
///     headers = { Authorization = "Bearer …" }
/// "#).unwrap();
/// let peer = peer.into_upstream();
/// assert!(peer.peer && peer.name.is_empty() && !peer.required);
/// ```
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The namespace its items are listed under; by default, the node id it announces
    /// (learned when it is first met, and kept while Tenet runs).
    #[serde(default)]
    pub name: Option<String>,
    /// Where it serves MCP: `http(s)://…` or `ws(s)://…`.
    pub url: String,
    /// Headers sent with every request (its API key, say).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Seconds a call may take before it is cancelled there (default 30).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Which of its tools are imported.
    #[serde(default)]
    pub tools: ToolFilter,
    /// Whether this node is ready only once the peer is up (default false: nodes
    /// start in any order).
    #[serde(default)]
    pub required: bool,
    /// Scopes a caller needs for every item imported from it, when authorization is on;
    /// none given, [`UpstreamConfig::default_scope`] unless `open`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// As an upstream's `open`.
    #[serde(default)]
    pub open: bool,
    /// The protocol to speak, as for an upstream (default `auto`).
    #[serde(default)]
    pub protocol: Option<String>,
    /// OAuth client credentials, as for an upstream.
    #[serde(default)]
    pub oauth: Option<OAuthClient>,
    /// As an upstream's `rate_limit`, for each item imported from it.
    #[serde(default)]
    pub rate_limit: Option<String>,
    /// As an upstream's `max_concurrency`.
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// As an upstream's `max_message_bytes`.
    #[serde(default)]
    pub max_message_bytes: Option<usize>,
}

impl PeerConfig {
    /// The peer as the gateway runs it: an upstream at a URL, marked as a peer.
    pub fn into_upstream(self) -> UpstreamConfig {
        UpstreamConfig {
            name: self.name.unwrap_or_default(),
            command: None,
            url: Some(self.url),
            env: BTreeMap::new(),
            inherit_env: Vec::new(),
            headers: self.headers,
            timeout: self.timeout,
            tools: self.tools,
            required: self.required,
            scopes: self.scopes,
            open: self.open,
            protocol: self.protocol,
            max_restarts: None,
            oauth: self.oauth,
            rate_limit: self.rate_limit,
            max_concurrency: self.max_concurrency,
            session: None,
            max_sessions: None,
            session_idle_timeout: None,
            max_message_bytes: self.max_message_bytes,
            peer: true,
        }
    }
}

impl std::fmt::Debug for PeerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.clone().into_upstream().fmt(f)
    }
}

impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |map: &BTreeMap<String, String>| map.keys().cloned().collect::<Vec<_>>();
        f.debug_struct("UpstreamConfig")
            .field("name", &self.name)
            .field("target", &self.target())
            .field("env", &names(&self.env))
            .field("inherit_env", &self.inherit_env)
            .field("headers", &names(&self.headers))
            .field("timeout", &self.timeout)
            .field("tools", &self.tools)
            .field("required", &self.required)
            .field("scopes", &self.scopes)
            .field("open", &self.open)
            .field("protocol", &self.protocol)
            .field("max_restarts", &self.max_restarts)
            .field("oauth", &self.oauth)
            .field("rate_limit", &self.rate_limit)
            .field("max_concurrency", &self.max_concurrency)
            .field("session", &self.session)
            .field("max_sessions", &self.max_sessions)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("peer", &self.peer)
            .finish()
    }
}

/// How callers' calls reach an upstream (an `[[upstream]]` table's `session`).
///
/// ```
/// let upstream: tenet_gateway::UpstreamConfig = toml::from_str(r#"
///     name = "files"
///     command = ["files-server"]
///     session = "per-conversation"
/// "#).unwrap();
/// assert_eq!(upstream.session, Some(tenet_gateway::SessionMode::PerConversation));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionMode {
    /// A session of its own for each caller (an API key, a token's subject, or a
    /// client address without authorization).
    PerCaller,
    /// A session of its own for each conversation of each caller (a legacy
    /// downstream session, or a conversation a 2026-07-28 client names).
    PerConversation,
    /// The gateway's one connection for every caller.
    Shared,
}

impl SessionMode {
    /// Its name in a config file and in `/upstreams`.
    pub fn label(self) -> &'static str {
        match self {
            Self::PerCaller => "per-caller",
            Self::PerConversation => "per-conversation",
            Self::Shared => "shared",
        }
    }
}

/// An `[upstream.oauth]` table: the gateway's own client at the upstream's
/// authorization server, found from the upstream's challenge (RFC 9728 metadata).
/// It authenticates with a secret, or with a `private_key_jwt` assertion signed by an
/// ES256 key. With `token_exchange = true`, a caller's calls go with a token of the
/// caller's own, got by token exchange (RFC 8693) for the OAuth token it presented to
/// the gateway, on a session of its own; the gateway's own connection (for listing)
/// keeps the client credentials grant.
///
/// ```
/// let upstream: tenet_gateway::UpstreamConfig = toml::from_str(r#"
///     name = "tickets"
///     url = "https://tickets.example.com/mcp"
///     oauth = { client_id = "tenet-gateway", client_secret_env = "TICKETS_SECRET" }
/// "#).unwrap();
/// assert_eq!(upstream.oauth.unwrap().client_id, "tenet-gateway");
/// ```
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OAuthClient {
    /// The client's id, registered at the authorization server.
    pub client_id: String,
    /// Its secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The environment variable that holds its secret (keeps it out of the file).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// A PKCS#8 PEM file with the ES256 key it signs `private_key_jwt` assertions with.
    #[serde(default)]
    pub private_key_file: Option<std::path::PathBuf>,
    /// Calls act for their caller: each caller's OAuth token is exchanged (RFC 8693) at
    /// the upstream's authorization server for a token of the caller's there, cached per
    /// caller and exchanged again when it expires. A caller without an OAuth token (an
    /// API key, no authentication) cannot call the upstream.
    #[serde(default)]
    pub token_exchange: bool,
    /// The one authorization server (its issuer) the client may use: when the upstream
    /// names another, the gateway sends it nothing. Required with `token_exchange`,
    /// where callers' tokens are sent: the upstream must not choose where they go.
    #[serde(default)]
    pub authorization_server: Option<String>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("client_secret_env", &self.client_secret_env)
            .field("private_key_file", &self.private_key_file)
            .field("token_exchange", &self.token_exchange)
            .field("authorization_server", &self.authorization_server)
            .finish()
    }
}

/// How an [`OAuthClient`] proves who it is.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientSecret {
    /// A secret.
    Secret(String),
    /// A `private_key_jwt` assertion key, PEM.
    KeyPem(String),
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Secret(_) => "Secret(…)",
            Self::KeyPem(_) => "KeyPem(…)",
        })
    }
}

/// The `private_key_jwt` assertion key in `pem`: ES256, the one algorithm the gateway
/// signs with.
pub(crate) fn assertion_key(pem: &str) -> Result<tenet_client::oauth::ClientAssertionKey, String> {
    tenet_client::oauth::ClientAssertionKey::from_pem(pem, "ES256").map_err(|e| e.to_string())
}

impl OAuthClient {
    /// The secret or key it authenticates with, read from where the config says.
    ///
    /// # Errors
    /// Not exactly one of `client_secret`, `client_secret_env` and
    /// `private_key_file`, an unset variable or an unreadable file; the message
    /// names the key.
    pub fn credential(&self) -> Result<ClientSecret, (&'static str, String)> {
        match (&self.client_secret, &self.client_secret_env, &self.private_key_file) {
            (Some(secret), None, None) => Ok(ClientSecret::Secret(secret.clone())),
            (None, Some(var), None) => match std::env::var(var) {
                Ok(secret) if !secret.is_empty() => Ok(ClientSecret::Secret(secret)),
                _ => Err(("client_secret_env", format!("the environment variable {var} is not set"))),
            },
            (None, None, Some(path)) => std::fs::read_to_string(path)
                .map(ClientSecret::KeyPem)
                .map_err(|e| ("private_key_file", format!("cannot read {}: {e}", path.display()))),
            _ => Err(("", "give exactly one of client_secret, client_secret_env and private_key_file".to_owned())),
        }
    }
}

fn yes() -> bool {
    true
}

/// Which of an upstream's tools are offered: those matching an `allow` pattern and
/// no `deny` pattern. Patterns are tool names (before namespacing) where `*` stands
/// for any run of characters.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ToolFilter {
    /// Tools offered (default: all).
    #[serde(default = "all")]
    pub allow: Vec<String>,
    /// Tools never offered, even when allowed.
    #[serde(default)]
    pub deny: Vec<String>,
}

fn all() -> Vec<String> {
    vec!["*".to_owned()]
}

impl Default for ToolFilter {
    fn default() -> Self {
        Self { allow: all(), deny: Vec::new() }
    }
}

impl ToolFilter {
    /// Whether the tool `name` is offered.
    pub fn offers(&self, name: &str) -> bool {
        self.allow.iter().any(|p| Glob(p).matches(name)) && !self.deny.iter().any(|p| Glob(p).matches(name))
    }
}

/// How the gateway names and watches its upstreams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayOptions {
    /// Between an upstream's name and its tool's: `everything__echo`.
    pub separator: String,
    /// List a single upstream's tools under their own names (a transparent gateway).
    pub prefixless: bool,
    /// How often each upstream is sent a heartbeat.
    pub heartbeat: Duration,
    /// Heartbeats missed in a row before an upstream is down.
    pub failures: u32,
    /// The first wait before reconnecting; it doubles up to [`GatewayOptions::max_backoff`].
    pub backoff: Duration,
    /// The longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// How long an upstream may take to start: its process or connection, the
    /// handshake and the first listing.
    pub connect_timeout: Duration,
    /// How long an upstream must stay up for its next failure to count as the first
    /// in a row (backoff and the crash-loop limit start over).
    pub stable_after: Duration,
    /// This gateway's node id: relayed requests carry it on their node path
    /// (`_meta["io.tenet/path"]`), and a request that has passed through it already,
    /// or through the upstream's node, is not relayed again.
    pub node: Option<tenet_protocol::NodeId>,
    /// The most nodes a relayed request may pass through, this one included (1 to
    /// [`tenet_protocol::MAX_NODE_PATH`]).
    pub max_hops: usize,
    /// Environment variables that upstream processes do not inherit from the gateway
    /// (those that say who the gateway is: a child is a node of its own). An
    /// upstream's own `env` may still set them.
    pub unset_env: Vec<String>,
}

/// The most nodes a relayed request may pass through, unless configured.
pub const DEFAULT_MAX_HOPS: usize = 8;

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            separator: "__".to_owned(),
            prefixless: false,
            heartbeat: Duration::from_secs(15),
            failures: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            stable_after: Duration::from_secs(60),
            node: None,
            max_hops: DEFAULT_MAX_HOPS,
            unset_env: Vec::new(),
        }
    }
}

/// A config that cannot run, with the path of the key at fault
/// (`upstream[1].name: …`, `peer[0].url: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
#[non_exhaustive]
pub struct ConfigError {
    /// Where: `upstream[INDEX].KEY` or `peer[INDEX].KEY` (the index among the
    /// upstreams, or among the peers), or a gateway option (`gateway.separator`).
    pub key: String,
    /// The faulty upstream's or peer's position in the list given to [`validate`],
    /// when the fault is in one: a caller that put the list together from several
    /// places (a file, flags) says which.
    pub upstream: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Where an upstream or peer is: its position in the list given to [`validate`], and
/// the path of its table (`upstream[2]`, `peer[0]`).
struct Place {
    index: usize,
    table: String,
}

impl Place {
    fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let key = if key.is_empty() { self.table.clone() } else { format!("{}.{key}", self.table) };
        ConfigError { key, upstream: Some(self.index), message: message.into() }
    }
}

impl ConfigError {
    fn option(key: &str, message: String) -> Self {
        Self { key: key.to_owned(), upstream: None, message }
    }
}

/// Checks a list of upstreams and peers as a whole: names valid and distinct, exactly
/// one of `command` and `url` (a peer has only `url`), a command that exists, a URL
/// Tenet's client can reach, `env` only for stdio, a timeout above zero.
///
/// # Errors
/// The first fault, with the path of its key.
pub fn validate(upstreams: &[UpstreamConfig], options: &GatewayOptions) -> Result<(), ConfigError> {
    let (mut upstream_count, mut peer_count) = (0, 0);
    let places: Vec<Place> = upstreams
        .iter()
        .enumerate()
        .map(|(index, u)| {
            let count = if u.peer { &mut peer_count } else { &mut upstream_count };
            *count += 1;
            Place { index, table: format!("{}[{}]", if u.peer { "peer" } else { "upstream" }, *count - 1) }
        })
        .collect();
    for (upstream, at) in upstreams.iter().zip(&places) {
        check(upstream, at)?;
        if let Some(first) = upstreams[..at.index].iter().position(|u| !u.name.is_empty() && u.name == upstream.name) {
            return Err(at.error("name", format!("{:?} is already the name of {}", upstream.name, places[first].table)));
        }
    }
    if options.prefixless && (upstreams.len() > 1 || peer_count > 0) {
        let what = if peer_count > 0 { "and no peers".to_owned() } else { format!("not {}", upstreams.len()) };
        return Err(ConfigError::option("gateway.prefixless", format!("needs exactly one upstream, {what}")));
    }
    if options.separator.is_empty()
        || !options.separator.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Err(ConfigError::option(
            "gateway.separator",
            format!("{:?} must be characters a tool name may hold (A-Z, a-z, 0-9, _, -, .)", options.separator),
        ));
    }
    if !(1..=tenet_protocol::MAX_NODE_PATH).contains(&options.max_hops) {
        return Err(ConfigError::option(
            "node.max_hops",
            format!("{} must be 1 to {} (nodes on a request's path)", options.max_hops, tenet_protocol::MAX_NODE_PATH),
        ));
    }
    Ok(())
}

/// Checks one upstream's or peer's table on its own.
fn check(upstream: &UpstreamConfig, at: &Place) -> Result<(), ConfigError> {
    let named_by_its_node = upstream.peer && upstream.name.is_empty();
    if !named_by_its_node && !is_namespace(&upstream.name) {
        return Err(
            at.error("name", format!("{:?} must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -", upstream.name))
        );
    }
    if upstream.command.is_some() && upstream.oauth.is_some() {
        return Err(at.error("oauth", "is for servers at a url, not stdio servers (command)"));
    }
    match (&upstream.command, &upstream.url) {
        (Some(_), Some(_)) => return Err(at.error("", "give either command or url, not both")),
        (None, None) => return Err(at.error("", "give command (a stdio server) or url")),
        (Some(command), None) => {
            let Some(program) = command.first().filter(|p| !p.is_empty()) else {
                return Err(at.error("command", "is empty"));
            };
            // `NAME=value server` as a shell writes it: the value may be a secret, and is
            // never repeated.
            if let Some((name, _)) = program.split_once('=').filter(|(name, _)| !name.contains('/')) {
                return Err(at.error(
                    "command",
                    format!("begins with a variable ({name}=…), not a program: give variables in the table's env"),
                ));
            }
            if !program_exists(program) {
                return Err(at.error("command", format!("{program:?} is not an executable file or on PATH")));
            }
            if !upstream.headers.is_empty() {
                return Err(at.error(
                    "headers",
                    "are for servers at a url, not stdio servers (command); give a stdio server its credentials in env",
                ));
            }
            if let Some(name) = upstream.inherit_env.iter().find(|name| !is_env_pattern(name)) {
                return Err(at.error(
                    "inherit_env",
                    format!("{name:?} must be a variable's name (A-Z, a-z, 0-9, _), * for any run of characters"),
                ));
            }
        }
        (None, Some(url)) => {
            // As the client will read it; what is wrong is told without the URL.
            if let Err(e) = tenet_client::check_server_url(url) {
                return Err(at.error("url", e.to_string()));
            }
            if !upstream.env.is_empty() {
                return Err(at.error("env", "is for stdio servers (command), not url"));
            }
            if !upstream.inherit_env.is_empty() {
                return Err(at.error("inherit_env", "is for stdio servers (command), not url"));
            }
            if let Some(oauth) = &upstream.oauth {
                check_oauth(upstream, oauth, at)?;
            }
            if upstream.max_restarts.is_some() {
                return Err(at.error(
                    "max_restarts",
                    "is for stdio servers (command): a server at a url is reconnected to until it answers",
                ));
            }
        }
    }
    if upstream.timeout == Some(0) {
        return Err(at.error("timeout", "must be at least 1 second"));
    }
    if let Some(rate) = &upstream.rate_limit
        && let Err(e) = rate.parse::<Rate>()
    {
        return Err(at.error("rate_limit", format!("{e}; expected PER_SECOND[/BURST], e.g. \"2/5\"")));
    }
    if upstream.max_concurrency == Some(0) {
        return Err(at.error("max_concurrency", "must be at least 1"));
    }
    if upstream.max_sessions == Some(0) {
        return Err(at.error("max_sessions", "must be at least 1"));
    }
    if upstream.session_idle_timeout == Some(0) {
        return Err(at.error("session_idle_timeout", "must be at least 1 second"));
    }
    if upstream.max_message_bytes.is_some_and(|n| !(1024..=MAX_UPSTREAM_MESSAGE_BYTES).contains(&n)) {
        return Err(at.error("max_message_bytes", "must be from 1024 to 268435456 (256 MiB)"));
    }
    if let Some(protocol) = &upstream.protocol
        && upstream.pin().is_none()
    {
        return Err(at.error(
            "protocol",
            format!("{protocol:?} is not auto, legacy, stateless or a protocol version Tenet speaks"),
        ));
    }
    Ok(())
}

/// Checks an `oauth` table: a client id, exactly one credential that can be read, and
/// no `Authorization` header beside it.
fn check_oauth(upstream: &UpstreamConfig, oauth: &OAuthClient, at: &Place) -> Result<(), ConfigError> {
    let key = |key: &str| if key.is_empty() { "oauth".to_owned() } else { format!("oauth.{key}") };
    if oauth.client_id.is_empty() {
        return Err(at.error(&key("client_id"), "is empty"));
    }
    match oauth.credential() {
        Err((name, message)) => return Err(at.error(&key(name), message)),
        Ok(ClientSecret::KeyPem(pem)) => {
            if let Err(e) = assertion_key(&pem) {
                return Err(at.error(&key("private_key_file"), e));
            }
        }
        Ok(ClientSecret::Secret(_)) => {}
    }
    if upstream.headers.keys().any(|h| h.eq_ignore_ascii_case("authorization")) {
        return Err(at.error("headers.Authorization", "the token comes from oauth: give one or the other"));
    }
    if oauth.token_exchange && oauth.authorization_server.is_none() {
        return Err(at.error(
            &key("authorization_server"),
            "is required with token_exchange: callers' tokens go to the authorization server the operator names, \
             not to one the upstream names",
        ));
    }
    if oauth.token_exchange && upstream.session == Some(SessionMode::Shared) {
        return Err(at.error(
            &key("token_exchange"),
            "acts for each caller on a session of its own: it cannot go with session = \"shared\"",
        ));
    }
    Ok(())
}

/// The largest `max_message_bytes` an upstream's table may set.
const MAX_UPSTREAM_MESSAGE_BYTES: usize = 256 << 20;

impl UpstreamConfig {
    /// The largest message taken from it ([`UpstreamConfig::max_message_bytes`]).
    pub fn message_limit(&self) -> usize {
        self.max_message_bytes.unwrap_or(tenet_transport::DEFAULT_MAX_MESSAGE_BYTES)
    }

    /// The scope its tools need when authorization is on and its table names none (and
    /// does not set `open`): `upstream:<name>`, `peer:<name>`, or `peer:*` for a peer
    /// named by the node id it announces.
    pub fn default_scope(&self) -> String {
        match (self.peer, self.name.as_str()) {
            (false, name) => format!("upstream:{name}"),
            (true, "") => "peer:*".to_owned(),
            (true, name) => format!("peer:{name}"),
        }
    }

    /// The protocol to speak, as `protocol` says; `None` when it names none.
    pub fn pin(&self) -> Option<VersionPin> {
        match self.protocol.as_deref() {
            None | Some("auto") => Some(VersionPin::Auto),
            Some("legacy") => Some(VersionPin::Legacy),
            Some("stateless") => Some(VersionPin::Modern),
            Some(version) => ProtocolVersion::parse(version).map(VersionPin::Exact),
        }
    }

    /// How many times in a row a stdio server that fails soon after starting is
    /// restarted before Tenet gives up on it; `None` for a server at a URL, which is
    /// retried for as long as Tenet runs.
    pub fn restart_limit(&self) -> Option<u32> {
        self.command.as_ref().map(|_| self.max_restarts.unwrap_or(5))
    }

    /// The variables of this process's environment a stdio server gets from it: those
    /// [`INHERITED_ENV`] or `inherit_env` names, in Unicode, and not a shell function
    /// (a value that starts with `()`, as bash exports them).
    pub fn inherited_env(&self) -> Vec<(String, String)> {
        let named = |name: &str| {
            INHERITED_ENV
                .iter()
                .copied()
                .chain(self.inherit_env.iter().map(String::as_str))
                .any(|p| Glob(p).matches(name))
        };
        std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(name, value)| !value.starts_with("()") && named(name))
            .collect()
    }

    /// `def`, one of its tools, with the rules this table sets for each: its rate per
    /// caller and its cap on calls at once.
    pub fn rules(&self, def: ToolDef) -> ToolDef {
        let def = match self.rate_limit.as_deref().map(str::parse::<Rate>) {
            Some(Ok(rate)) => def.rate_limit(rate),
            // Refused by `validate`, which every table loaded from a file passes.
            Some(Err(e)) => {
                tracing::warn!(upstream = %self.name, "rate_limit left out: {e}");
                def
            }
            None => def,
        };
        match self.max_concurrency {
            Some(max) => def.max_concurrency(max),
            None => def,
        }
    }

    /// The most callers' sessions open at once.
    pub fn max_sessions(&self) -> usize {
        self.max_sessions.unwrap_or(32)
    }

    /// How long a caller's session may stay idle before it is closed.
    pub fn session_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.session_idle_timeout.unwrap_or(300))
    }

    /// How long a call may take.
    pub fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.unwrap_or(30))
    }

    /// Where it is, for logs and `/upstreams`: the URL without credentials or query
    /// (which may hold tokens), or the program's name and argument count.
    pub fn target(&self) -> String {
        match (&self.url, &self.command) {
            (Some(url), _) => tenet_client::shown_url(url),
            (None, Some(command)) => match command.split_first() {
                Some((program, [])) => program.clone(),
                Some((program, args)) => format!("{program} (+{} arguments)", args.len()),
                None => String::new(),
            },
            (None, None) => String::new(),
        }
    }
}

/// The variables of the gateway's environment every stdio server gets (beside its
/// table's `inherit_env` and `env`): where to find programs, whose they are, the terminal
/// and the locale, where to put temporary files and the user's runtime files, which
/// certificate authorities to trust.
pub const INHERITED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "LC_*",
    "TZ",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
];

/// Whether `program` names an executable: a path to one, or a name found on `PATH`.
fn program_exists(program: &str) -> bool {
    let path = Path::new(program);
    if path.components().count() > 1 {
        return is_executable(path);
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| is_executable(&dir.join(path))))
}

/// Whether `pattern` names environment variables, as `inherit_env` takes them:
/// letters, digits, `_`, and `*` for any run of characters.
///
/// ```
/// assert!(tenet_gateway::is_env_pattern("AWS_*"));
/// assert!(!tenet_gateway::is_env_pattern("A=B"));
/// ```
pub fn is_env_pattern(pattern: &str) -> bool {
    !pattern.is_empty() && pattern.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '*')
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<UpstreamConfig> {
        #[derive(Deserialize)]
        struct File {
            upstream: Vec<UpstreamConfig>,
        }
        toml::from_str::<File>(text).map(|f| f.upstream).unwrap_or_else(|e| panic!("{e}"))
    }

    fn fault(text: &str) -> ConfigError {
        validate(&parse(text), &GatewayOptions::default()).expect_err("the config should be refused")
    }

    /// Issue 60: the largest message taken from an upstream is its table's to set, within
    /// bounds; the default is the transports' own.
    #[test]
    fn an_upstreams_message_limit_is_set_within_bounds() {
        let table =
            |limit: &str| format!("[[upstream]]\nname = \"a\"\nurl = \"http://h\"\nmax_message_bytes = {limit}\n");
        for bad in ["0", "1023", "268435457"] {
            assert_eq!(fault(&table(bad)).key, "upstream[0].max_message_bytes", "{bad}");
        }
        let set = parse(&table("65536")).remove(0);
        validate(std::slice::from_ref(&set), &GatewayOptions::default()).unwrap();
        assert_eq!(set.message_limit(), 65536);
        let unset = parse("[[upstream]]\nname = \"a\"\nurl = \"http://h\"\n").remove(0);
        assert_eq!(unset.message_limit(), tenet_transport::DEFAULT_MAX_MESSAGE_BYTES);
    }

    #[test]
    fn a_stdio_and_an_http_upstream_pass() {
        let upstreams = parse(
            r#"
            [[upstream]]
            name = "shell"
            command = ["sh", "-c", "true"]
            env = { TOKEN = "x" }
            max_restarts = 2
            [[upstream]]
            name = "remote-1"
            url = "http://127.0.0.1:9000/mcp"
            headers = { Authorization = "Bearer t" }
            timeout = 5
            tools = { allow = ["read_*"], deny = ["read_secret"] }
            protocol = "2025-06-18"
            "#,
        );
        validate(&upstreams, &GatewayOptions::default()).unwrap();
        assert_eq!(upstreams[0].pin(), Some(VersionPin::Auto));
        assert_eq!(upstreams[1].pin(), Some(VersionPin::Exact(ProtocolVersion::V2025_06_18)));
        assert_eq!(upstreams[1].call_timeout(), Duration::from_secs(5));
        assert!(upstreams[1].tools.offers("read_file"));
        assert!(!upstreams[1].tools.offers("read_secret"));
        assert!(!upstreams[1].tools.offers("write_file"));
        assert!(upstreams[0].required);
        assert_eq!((upstreams[0].restart_limit(), upstreams[1].restart_limit()), (Some(2), None));
    }

    #[test]
    fn debug_output_holds_no_credentials() {
        let upstream: UpstreamConfig = toml::from_str(
            r#"
            name = "wiki"
            url = "https://user:s3cr3t-pass@wiki.example/mcp?token=s3cr3t-query"
            headers = { Authorization = "Bearer s3cr3t-header" }
            env = { TOKEN = "s3cr3t-env" }
            "#,
        )
        .expect("a valid table");
        let shown = format!("{upstream:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(
            shown.contains("wiki.example") && shown.contains("Authorization") && shown.contains("TOKEN"),
            "{shown}"
        );
        let stdio: UpstreamConfig = toml::from_str(
            r#"name = "x"
command = ["server", "--token", "s3cr3t-arg"]"#,
        )
        .expect("a valid table");
        let shown = format!("{stdio:?}");
        assert!(!shown.contains("s3cr3t") && shown.contains("server (+2 arguments)"), "{shown}");
    }

    #[test]
    fn targets_shown_to_operators_hold_no_credentials() {
        let with = |url: &str| UpstreamConfig {
            url: Some(url.into()),
            ..parse("[[upstream]]\nname = \"a\"\nurl = \"http://h\"\n").remove(0)
        };
        assert_eq!(with("https://user:secret@host:8443/mcp?token=t#x").target(), "https://host:8443/mcp");
        assert_eq!(with("ws://host").target(), "ws://host/");
        assert_eq!(with("http://u:p@host").target(), "http://host/");
        assert_eq!(with("http:///u:p@host/mcp").target(), "http://host/mcp", "as the URL reads");
        let command = UpstreamConfig {
            url: None,
            command: Some(vec!["npx".into(), "-y".into(), "--token=s".into()]),
            ..with("http://h")
        };
        assert_eq!(command.target(), "npx (+2 arguments)");
    }

    #[test]
    fn a_duplicate_name_is_refused_with_both_places() {
        let e = fault(
            "[[upstream]]\nname = \"a\"\nurl = \"ws://h/mcp\"\n[[upstream]]\nname = \"a\"\nurl = \"http://h/mcp\"\n",
        );
        assert_eq!(e.key, "upstream[1].name");
        assert!(e.message.contains("upstream[0]"), "{e}");
    }

    #[test]
    fn names_outside_the_namespace_alphabet_are_refused() {
        for name in ["", "has space", "dots.no", "slash/no", &"x".repeat(65)] {
            let e = fault(&format!("[[upstream]]\nname = {name:?}\nurl = \"http://h/mcp\"\n"));
            assert_eq!(e.key, "upstream[0].name", "{name:?}");
        }
    }

    #[test]
    fn a_command_that_does_not_exist_is_refused() {
        let e = fault("[[upstream]]\nname = \"a\"\ncommand = [\"no-such-program-tenet\"]\n");
        assert_eq!(e.key, "upstream[0].command");
        assert!(e.message.contains("no-such-program-tenet"), "{e}");
        let e = fault("[[upstream]]\nname = \"a\"\ncommand = []\n");
        assert_eq!(e.key, "upstream[0].command");
        // A variable written as a shell writes it is no program, and its value (maybe a
        // secret) is not repeated.
        let e = fault("[[upstream]]\nname = \"a\"\ncommand = [\"API_KEY=sk-secret\", \"server\"]\n");
        assert_eq!(e.key, "upstream[0].command");
        assert!(e.message.contains("API_KEY=…") && e.message.contains("env"), "{e}");
        assert!(!e.to_string().contains("sk-secret"), "{e}");
    }

    #[test]
    fn inherit_env_is_for_stdio_servers_and_holds_names_or_patterns() {
        let e = fault("[[upstream]]\nname = \"a\"\nurl = \"http://h\"\ninherit_env = [\"AWS_*\"]\n");
        assert_eq!(e.key, "upstream[0].inherit_env");
        for bad in ["", "A=B", "two words", "PATH-X"] {
            let e = fault(&format!("[[upstream]]\nname = \"a\"\ncommand = [\"sh\"]\ninherit_env = [{bad:?}]\n"));
            assert_eq!(e.key, "upstream[0].inherit_env", "{bad:?}");
            assert!(e.message.contains("variable's name"), "{e}");
        }
        let ok = parse("[[upstream]]\nname = \"a\"\ncommand = [\"sh\"]\ninherit_env = [\"AWS_*\", \"HTTPS_PROXY\"]\n");
        assert_eq!(ok[0].inherit_env, ["AWS_*", "HTTPS_PROXY"]);
    }

    #[test]
    fn a_stdio_server_inherits_the_named_variables_alone() {
        let stdio = parse("[[upstream]]\nname = \"a\"\ncommand = [\"sh\"]\n").remove(0);
        let inherited = stdio.inherited_env();
        // PATH is set wherever these tests run; what is passed is this process's value.
        let path = std::env::var("PATH").unwrap();
        assert!(inherited.iter().any(|(name, value)| name == "PATH" && *value == path), "{inherited:?}");
        let named = |name: &str| INHERITED_ENV.iter().any(|p| Glob(p).matches(name));
        assert!(inherited.iter().all(|(name, _)| named(name)), "{inherited:?}");
        // All of it, when the table says so.
        let all = UpstreamConfig { inherit_env: vec!["*".into()], ..stdio };
        let everything = std::env::vars_os()
            .filter(|(name, value)| name.to_str().is_some() && value.to_str().is_some_and(|v| !v.starts_with("()")))
            .count();
        assert_eq!(all.inherited_env().len(), everything);
    }

    #[test]
    fn command_and_url_are_exclusive_and_one_is_needed() {
        assert_eq!(fault("[[upstream]]\nname = \"a\"\n").key, "upstream[0]");
        assert_eq!(fault("[[upstream]]\nname = \"a\"\ncommand = [\"sh\"]\nurl = \"http://h\"\n").key, "upstream[0]");
    }

    #[test]
    fn bad_urls_env_with_url_and_zero_timeouts_are_refused() {
        assert_eq!(fault("[[upstream]]\nname = \"a\"\nurl = \"ftp://h\"\n").key, "upstream[0].url");
        assert_eq!(
            fault("[[upstream]]\nname = \"a\"\nurl = \"http://h\"\nenv = { A = \"1\" }\n").key,
            "upstream[0].env"
        );
        assert_eq!(fault("[[upstream]]\nname = \"a\"\nurl = \"http://h\"\ntimeout = 0\n").key, "upstream[0].timeout");
        let e = fault("[[upstream]]\nname = \"a\"\ncommand = [\"sh\"]\nheaders = { Authorization = \"Bearer x\" }\n");
        assert_eq!(e.key, "upstream[0].headers");
        assert!(e.message.contains("env"), "{e}");
        let e = fault("[[upstream]]\nname = \"a\"\nurl = \"http://h\"\nmax_restarts = 3\n");
        assert_eq!(e.key, "upstream[0].max_restarts");
        assert!(e.message.contains("stdio"), "{e}");
        for protocol in ["2026", "modern", "2024-10-07", ""] {
            let e = fault(&format!("[[upstream]]\nname = \"a\"\nurl = \"http://h\"\nprotocol = {protocol:?}\n"));
            assert_eq!(e.key, "upstream[0].protocol", "{protocol:?}");
        }
    }

    #[test]
    fn oauth_needs_a_url_one_credential_that_can_be_read_and_no_authorization_header() {
        let at = |extra: &str| fault(&format!("[[upstream]]\nname = \"a\"\nurl = \"https://h/mcp\"\n{extra}\n")).key;
        assert_eq!(
            fault(
                "[[upstream]]\nname = \"a\"\ncommand = [\"sh\"]\noauth = { client_id = \"c\", client_secret = \"s\" }\n"
            )
            .key,
            "upstream[0].oauth"
        );
        assert_eq!(at("oauth = { client_id = \"c\" }"), "upstream[0].oauth");
        assert_eq!(
            at("oauth = { client_id = \"c\", client_secret = \"s\", client_secret_env = \"V\" }"),
            "upstream[0].oauth"
        );
        assert_eq!(at("oauth = { client_id = \"\", client_secret = \"s\" }"), "upstream[0].oauth.client_id");
        assert_eq!(
            at("oauth = { client_id = \"c\", client_secret_env = \"TENET_TEST_NO_SUCH_VARIABLE\" }"),
            "upstream[0].oauth.client_secret_env"
        );
        assert_eq!(
            at("oauth = { client_id = \"c\", private_key_file = \"/no/such/key.pem\" }"),
            "upstream[0].oauth.private_key_file"
        );
        let dir = tempfile::tempdir().unwrap();
        let not_a_key = dir.path().join("key.pem");
        std::fs::write(&not_a_key, "not a key").unwrap();
        assert_eq!(
            at(&format!("oauth = {{ client_id = \"c\", private_key_file = {:?} }}", not_a_key.display().to_string())),
            "upstream[0].oauth.private_key_file"
        );
        assert_eq!(
            at("headers = { authorization = \"Bearer t\" }\noauth = { client_id = \"c\", client_secret = \"s\" }"),
            "upstream[0].headers.Authorization"
        );
        let fine = parse(
            "[[upstream]]\nname = \"a\"\nurl = \"wss://h/mcp\"\noauth = { client_id = \"c\", client_secret = \"s\" }\n",
        );
        validate(&fine, &GatewayOptions::default()).unwrap();
        assert_eq!(fine[0].oauth.as_ref().unwrap().credential(), Ok(ClientSecret::Secret("s".into())));
        // Token exchange acts for each caller on a session of its own.
        let exchange = "oauth = { client_id = \"c\", client_secret = \"s\", token_exchange = true, \
                        authorization_server = \"https://as\" }";
        assert_eq!(at(&format!("session = \"shared\"\n{exchange}")), "upstream[0].oauth.token_exchange");
        assert_eq!(
            at("oauth = { client_id = \"c\", client_secret = \"s\", token_exchange = true }"),
            "upstream[0].oauth.authorization_server"
        );
        let fine = parse(&format!("[[upstream]]\nname = \"a\"\nurl = \"https://h/mcp\"\n{exchange}\n"));
        validate(&fine, &GatewayOptions::default()).unwrap();
        assert!(fine[0].oauth.as_ref().unwrap().token_exchange);
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct File {
            upstream: Vec<UpstreamConfig>,
        }
        let e =
            toml::from_str::<File>("[[upstream]]\nname = \"a\"\nurl = \"http://h\"\ncomand = [\"x\"]\n").unwrap_err();
        assert!(e.to_string().contains("comand"), "{e}");
    }

    #[test]
    fn prefixless_needs_one_upstream_and_separators_stay_valid() {
        let two =
            parse("[[upstream]]\nname = \"a\"\nurl = \"http://h\"\n[[upstream]]\nname = \"b\"\nurl = \"http://h\"\n");
        let options = GatewayOptions { prefixless: true, ..GatewayOptions::default() };
        assert_eq!(validate(&two, &options).unwrap_err().key, "gateway.prefixless");
        let options = GatewayOptions { separator: "/".into(), ..GatewayOptions::default() };
        assert_eq!(validate(&two, &options).unwrap_err().key, "gateway.separator");
    }
}
