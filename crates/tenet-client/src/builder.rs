//! Setting a client up and connecting it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;
use tenet_protocol::{Implementation, LoggingLevel, ProtocolVersion, TASKS_EXTENSION};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::client::{Client, Inner};
use crate::error::{ClientError, Result};
use crate::handler::{ClientHandler, NoHandler};
use crate::inbound::Inbound;
use crate::options::VersionPin;
use crate::transport::auth::AuthHook;
use crate::transport::http::HttpTransport;
use crate::transport::http_client::HttpClient;
use crate::transport::pipe::PipeTransport;
use crate::transport::websocket::{self, WebSocketTransport};
use crate::transport::{Transport, child};

/// Configures a [`Client`], then connects it.
pub struct ClientBuilder {
    handler: Arc<dyn ClientHandler>,
    info: Implementation,
    pin: VersionPin,
    timeout: Duration,
    probe: Duration,
    headers: Vec<(String, String)>,
    /// Variables set (`Some`) or removed (`None`) for a stdio server, in order.
    env: Vec<(String, Option<String>)>,
    /// Whether a stdio server starts without the inherited environment.
    clear_env: bool,
    auth: Option<Arc<dyn AuthHook>>,
    log_level: Option<LoggingLevel>,
    tasks: bool,
    /// Extensions declared in every era ([`ClientBuilder::extension`]).
    extensions: serde_json::Map<String, serde_json::Value>,
    max_message_bytes: usize,
    token_in_subprotocol: bool,
    /// A stdio server's stderr logged under this name, instead of passed through.
    stderr_label: Option<String>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            handler: Arc::new(NoHandler),
            info: Implementation::new("tenet-client", env!("CARGO_PKG_VERSION")),
            pin: VersionPin::Auto,
            timeout: Duration::from_secs(60),
            probe: Duration::from_secs(5),
            headers: Vec::new(),
            env: Vec::new(),
            clear_env: false,
            auth: None,
            log_level: None,
            tasks: false,
            extensions: serde_json::Map::new(),
            max_message_bytes: tenet_transport::DEFAULT_MAX_MESSAGE_BYTES,
            token_in_subprotocol: false,
            stderr_label: None,
        }
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder").field("info", &self.info).field("pin", &self.pin).finish_non_exhaustive()
    }
}

impl Client {
    /// A builder with the defaults: no handler, automatic version, 60 s timeout.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }
}

impl ClientBuilder {
    /// Answers the server's questions and receives its notifications.
    pub fn handler(mut self, handler: impl ClientHandler) -> Self {
        self.handler = Arc::new(handler);
        self
    }

    /// The name and version this client reports.
    pub fn client_info(mut self, info: Implementation) -> Self {
        self.info = info;
        self
    }

    /// Which protocol version or era to speak.
    pub fn version(mut self, pin: VersionPin) -> Self {
        self.pin = pin;
        self
    }

    /// The default timeout of every request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a stdio or WebSocket server may take to answer the `server/discover`
    /// probe before it is taken for a legacy server.
    pub fn probe_timeout(mut self, probe: Duration) -> Self {
        self.probe = probe;
        self
    }

    /// An HTTP header sent with every request, and with the WebSocket upgrade
    /// (ignored on stdio).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Supplies `Authorization` and handles 401/403 on HTTP and on the WebSocket
    /// upgrade (there the hook sees the URL with its `http(s)` scheme).
    pub fn auth(mut self, hook: impl AuthHook) -> Self {
        self.auth = Some(Arc::new(hook));
        self
    }

    /// 2026-07-28: ask for log messages at this level with every request.
    pub fn log_level(mut self, level: LoggingLevel) -> Self {
        self.log_level = Some(level);
        self
    }

    /// 2026-07-28: take part in the tasks extension (`io.modelcontextprotocol/tasks`).
    /// A server may then answer a long request with a task; the client follows it to
    /// its end (polling, answering its input with the handler, cancelling it when the
    /// caller cancels or times out) and returns the result as if no task had been made.
    /// Without it, a tool that runs only as a task is refused by the server (-32021).
    pub fn tasks(mut self) -> Self {
        self.tasks = true;
        self
    }

    /// Declares the extension `id` (e.g. `io.modelcontextprotocol/ui`) with `settings`
    /// (an object; `{}` for none) in `capabilities.extensions`: in a legacy
    /// `initialize`, where hosts negotiate MCP Apps and Skills, and in every 2026-07-28
    /// request. What the server declares is in [`crate::Client::server`]'s capabilities.
    /// For the tasks extension use [`ClientBuilder::tasks`], which also follows tasks.
    pub fn extension(mut self, id: impl Into<String>, settings: serde_json::Value) -> Self {
        self.extensions.insert(id.into(), settings);
        self
    }

    /// The largest message accepted from the server, in bytes: on stdio and pipes a
    /// longer line is skipped; on a WebSocket a longer message closes the connection
    /// (code 1009) and fails the pending requests; over HTTP a longer response body or
    /// SSE event fails its request with [`ClientError::TooLarge`] as soon as it passes
    /// the limit (a body whose `Content-Length` says so, before a byte is read), and
    /// only the first 64 KiB of an error body are read. Default:
    /// [`tenet_transport::DEFAULT_MAX_MESSAGE_BYTES`] (4 MiB).
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// WebSocket: send the bearer token (from [`ClientBuilder::auth`] or an
    /// `Authorization` [`ClientBuilder::header`]) as the browser-style subprotocol
    /// `mcp.auth.<token>` instead of an `Authorization` header. Off by default: the
    /// header is preferred, since proxies and logs treat a subprotocol as no secret.
    /// Connecting fails if the credential is not a bearer token made of token
    /// characters (RFC 7230: letters, digits and ``!#$%&'*+-.^_`|~``).
    pub fn websocket_token_in_subprotocol(mut self) -> Self {
        self.token_in_subprotocol = true;
        self
    }

    /// Sets an environment variable for a server started with
    /// [`ClientBuilder::connect_stdio`] (beside the ones it inherits).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), Some(value.into())));
        self
    }

    /// Keeps a server started with [`ClientBuilder::connect_stdio`] from inheriting the
    /// environment variable `name` (a later [`ClientBuilder::env`] may set it again).
    pub fn env_remove(mut self, name: impl Into<String>) -> Self {
        self.env.push((name.into(), None));
        self
    }

    /// Starts a server with [`ClientBuilder::connect_stdio`] without this process's
    /// environment: only the variables set with [`ClientBuilder::env`] reach it (what a
    /// server needs, such as `PATH`, is then the caller's to pass on).
    ///
    /// ```
    /// let builder = tenet_client::Client::builder().env_clear().env("PATH", "/usr/bin:/bin");
    /// # drop(builder);
    /// ```
    pub fn env_clear(mut self) -> Self {
        self.clear_env = true;
        self
    }

    /// Logs what a server started with [`ClientBuilder::connect_stdio`] writes to its
    /// stderr, line by line (`tracing`, target `tenet_client::stderr`, at info), with
    /// `label` as its `server` field, instead of passing it through to this process's
    /// stderr. (Only to the log: what a server says there may hold secrets, and the
    /// reason a connection ended is shown more widely.)
    pub fn stderr_to_log(mut self, label: impl Into<String>) -> Self {
        self.stderr_label = Some(label.into());
        self
    }

    /// Starts `program` with `args` and talks to it over its stdin and stdout.
    ///
    /// # Errors
    /// When the program cannot start, or negotiation fails (the process is then shut down).
    pub async fn connect_stdio(self, program: &str, args: &[String]) -> Result<Client> {
        let inbound = Arc::new(Inbound::new(Arc::clone(&self.handler)));
        let (process, stdout, stdin) =
            child::spawn(program, args, &self.env, self.clear_env, self.stderr_label.as_deref())?;
        let transport = PipeTransport::new(stdout, stdin, self.max_message_bytes, Arc::clone(&inbound), Some(process));
        self.finish(Box::new(transport), inbound).await
    }

    /// Talks over an already-connected pair of pipes (e.g. `tenet_transport::memory`).
    ///
    /// # Errors
    /// When negotiation fails.
    pub async fn connect_pipe<R, W>(self, read: R, write: W) -> Result<Client>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let inbound = Arc::new(Inbound::new(Arc::clone(&self.handler)));
        let transport = PipeTransport::new(read, write, self.max_message_bytes, Arc::clone(&inbound), None);
        self.finish(Box::new(transport), inbound).await
    }

    /// Talks to the MCP endpoint at `url`: over Streamable HTTP (or HTTP+SSE) for an
    /// `http://` or `https://` URL, over a WebSocket for a `ws://` or `wss://` URL (as
    /// [`ClientBuilder::connect_websocket`]).
    ///
    /// # Errors
    /// A bad URL or header, an unreachable server, or failed negotiation.
    pub async fn connect_http(self, url: &str) -> Result<Client> {
        match endpoint(url)? {
            Endpoint::Http(url) => {
                let inbound = Arc::new(Inbound::new(Arc::clone(&self.handler)));
                let http = HttpClient::new(self.header_map()?, self.auth.clone())?
                    .with_max_message(self.max_message_bytes)
                    .with_url_secrets(&url);
                let transport = HttpTransport::new(url, http, Arc::clone(&inbound));
                self.finish(Box::new(transport), inbound).await
            }
            Endpoint::WebSocket(url) => self.websocket(&url).await,
        }
    }

    /// Talks to the MCP endpoint at a `ws://` or `wss://` `url` over a WebSocket (the
    /// SEP-1288 draft): an upgrade with the subprotocol `mcp`, which the server must
    /// select, then one JSON-RPC message per text frame. The protocol era is
    /// negotiated as on stdio. `wss` checks the server's certificate against the
    /// platform's roots.
    ///
    /// # Errors
    /// A URL that is not ws(s)://, a bad header, an unreachable server, a refused
    /// upgrade ([`ClientError::Http`], [`ClientError::Unauthorized`]), a server that
    /// does not select `mcp` ([`ClientError::Connect`]), or failed negotiation.
    pub async fn connect_websocket(self, url: &str) -> Result<Client> {
        match endpoint(url)? {
            Endpoint::WebSocket(url) => self.websocket(&url).await,
            Endpoint::Http(url) => {
                Err(ClientError::Connect(format!("{} is not a ws(s):// URL", crate::shown_url(url.as_str()))))
            }
        }
    }

    async fn websocket(self, url: &reqwest::Url) -> Result<Client> {
        let settings = websocket::Settings {
            headers: self.header_map()?,
            auth: self.auth.clone(),
            token_in_subprotocol: self.token_in_subprotocol,
            max_message_bytes: self.max_message_bytes,
        };
        let inbound = Arc::new(Inbound::new(Arc::clone(&self.handler)));
        let transport = WebSocketTransport::connect(url, &settings, Arc::clone(&inbound)).await?;
        self.finish(Box::new(transport), inbound).await
    }

    /// The application's headers, checked.
    fn header_map(&self) -> Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ClientError::Connect(format!("header {name:?}: {e}")))?;
            let value =
                HeaderValue::from_str(value).map_err(|e| ClientError::Connect(format!("header {name}: {e}")))?;
            headers.append(name, value);
        }
        Ok(headers)
    }

    async fn finish(self, transport: Box<dyn Transport>, inbound: Arc<Inbound>) -> Result<Client> {
        let mut capabilities = self.handler.capabilities();
        if !self.extensions.is_empty() {
            capabilities.extensions.get_or_insert_default().extend(self.extensions.clone());
        }
        let mut modern_capabilities = capabilities.clone();
        if self.tasks {
            modern_capabilities.extensions.get_or_insert_default().insert(TASKS_EXTENSION.into(), json!({}));
        }
        let client = Client {
            inner: Arc::new(Inner {
                transport,
                inbound,
                written: crate::client::WrittenOnce::new(&self.info, &modern_capabilities),
                info: self.info,
                capabilities,
                modern_capabilities,
                timeout: self.timeout,
                log_level: self.log_level,
                version: std::sync::RwLock::new(ProtocolVersion::LATEST),
                details: std::sync::RwLock::new(None),
                next_id: std::sync::atomic::AtomicI64::new(1),
                renewals: std::sync::atomic::AtomicU64::new(0),
                header_params: std::sync::Mutex::new(Default::default()),
            }),
        };
        if let Err(error) = client.negotiate(self.pin, self.probe).await {
            client.close().await;
            return Err(error);
        }
        Ok(client)
    }
}

/// Where a URL leads.
#[derive(Debug, PartialEq, Eq)]
enum Endpoint {
    /// `http://` or `https://`: Streamable HTTP (or HTTP+SSE).
    Http(reqwest::Url),
    /// `ws://` or `wss://`: WebSocket.
    WebSocket(reqwest::Url),
}

/// Parses `url` and sorts it by scheme; other schemes are refused.
fn endpoint(url: &str) -> Result<Endpoint> {
    // (Not the URL: it may hold credentials, and one refused may not read as one.)
    let parsed = crate::transport::server_url(url).map_err(|e| ClientError::Connect(format!("the URL {e}")))?;
    // (The URL's reading writes its scheme in lower case.)
    match parsed.scheme() {
        "ws" | "wss" => Ok(Endpoint::WebSocket(parsed)),
        _ => Ok(Endpoint::Http(parsed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(url: &str) -> Option<&'static str> {
        match endpoint(url).ok()? {
            Endpoint::Http(_) => Some("http"),
            Endpoint::WebSocket(_) => Some("websocket"),
        }
    }

    #[test]
    fn urls_are_sorted_by_scheme() {
        assert_eq!(kind("http://127.0.0.1:3020/mcp"), Some("http"));
        assert_eq!(kind("https://example.com/mcp"), Some("http"));
        assert_eq!(kind("ws://127.0.0.1:3020/mcp"), Some("websocket"));
        assert_eq!(kind("wss://example.com/mcp"), Some("websocket"));
        assert_eq!(kind("WSS://Example.com/mcp"), Some("websocket"), "schemes are case-insensitive");
        assert_eq!(kind("ftp://example.com/mcp"), None);
        assert_eq!(kind("127.0.0.1:3020/mcp"), None, "no scheme");
        assert_eq!(kind("ws://"), None, "no host");
    }

    #[tokio::test]
    async fn connect_websocket_refuses_an_http_url_and_connect_http_takes_both() {
        let error = Client::builder().connect_websocket("http://127.0.0.1:9/mcp").await.expect_err("refused");
        assert!(error.to_string().contains("is not a ws(s):// URL"), "{error}");
        let error = Client::builder().connect_http("file:///mcp").await.expect_err("refused");
        assert!(error.to_string().contains("not an http(s):// or ws(s):// URL"), "{error}");
        // Port 9 (discard) on loopback refuses: the WebSocket path was taken.
        let error = Client::builder().connect_http("ws://127.0.0.1:9/mcp").await.expect_err("nothing listens");
        assert!(matches!(error, ClientError::Connect(_)), "{error}");
    }
}
