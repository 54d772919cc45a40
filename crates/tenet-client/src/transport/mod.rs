//! How messages reach the server: a line pipe (stdio child process or in-memory),
//! Streamable HTTP, the 2024-11-05 HTTP+SSE transport, or a WebSocket.

pub(crate) mod auth;
pub(crate) mod child;
pub(crate) mod http;
pub(crate) mod http_client;
pub(crate) mod legacy_sse;
pub(crate) mod pending;
pub(crate) mod pipe;
pub(crate) mod secrets;
pub(crate) mod sse;
pub(crate) mod websocket;

use std::borrow::Cow;

use futures_util::future::BoxFuture;
use tenet_jsonrpc::Id;
use tenet_jsonrpc::RawObject;
use tenet_protocol::ProtocolVersion;

use crate::error::{ClientError, Result};

/// `url` as logs and errors may show it: without its user information (a password),
/// query and fragment (which may hold tokens), nor any path segment that looks like a
/// key (16 characters or more, letters and digits both: the capability URLs some
/// services hand out, `https://h/mcp/sk8f…/sse`), which shows as `********`; as the URL reads
/// (`http://h` shows as `http://h/`). A URL that does not read, or reads without a
/// host, shows only its scheme: `me:pw@h/mcp` reads as a URL of the scheme `me`.
///
/// ```
/// assert_eq!(tenet_client::shown_url("https://me:pw@h.example/mcp?key=k#f"), "https://h.example/mcp");
/// assert_eq!(tenet_client::shown_url("ws://[::1]:9000/mcp"), "ws://[::1]:9000/mcp");
/// assert_eq!(tenet_client::shown_url("http:///me:pw@h.example/mcp"), "http://h.example/mcp");
/// assert_eq!(tenet_client::shown_url("https://me:p/w@h.example/mcp"), "https://… (not a valid URL)");
/// assert_eq!(tenet_client::shown_url("me:pw@h.example/mcp?r=https://x"), "me:… (no host)");
/// assert_eq!(tenet_client::shown_url("https://h.example/mcp/a8Fk2Lq9Zx7Vb3Nm/sse"), "https://h.example/mcp/********/sse");
/// assert_eq!(tenet_client::shown_url("https://h.example/v1/mcp"), "https://h.example/v1/mcp");
/// ```
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.host().is_none() => format!("{}:… (no host)", parsed.scheme()),
        Ok(mut parsed) => {
            // (Neither fails for a URL with a host, the only kind with user information.)
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            let segments: Option<Vec<&str>> = parsed.path_segments().map(Iterator::collect);
            if let Some(segments) = segments.filter(|s| s.iter().any(|segment| looks_like_a_key(segment))) {
                let shown: Vec<&str> =
                    segments.iter().map(|segment| if looks_like_a_key(segment) { MASK } else { segment }).collect();
                parsed.set_path(&shown.join("/"));
            }
            parsed.into()
        }
        Err(_) => match scheme_of(url) {
            Some(scheme) => format!("{scheme}://… (not a valid URL)"),
            None => "(not a valid URL)".to_owned(),
        },
    }
}

/// What a hidden secret is shown as, wherever one is shown ([`shown_url`], `tenet config
/// check`).
pub const MASK: &str = "********";

/// Whether a URL's path segment may be a key: 16 characters or more, with letters and
/// digits both. Some ordinary names match too (`release-2024-11-30`); they are hidden as
/// well, which only shortens what a log shows.
fn looks_like_a_key(segment: &str) -> bool {
    segment.len() >= 16
        && segment.bytes().any(|b| b.is_ascii_digit())
        && segment.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Why a URL is not one a client connects to ([`check_server_url`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Its scheme is not one the client speaks: the scheme (`ftp://`), or `no scheme`.
    #[error("is not an http(s):// or ws(s):// URL ({0})")]
    Scheme(String),
    /// It does not read as a URL, and why. Never the URL itself: one that does not read
    /// may hold a password where it cannot be told apart (an unescaped `/`, say).
    #[error("is not a valid URL ({0}); escape special characters with %")]
    Invalid(String),
}

/// Whether `text` names a server by URL, told by its scheme alone: `http://`,
/// `https://`, `ws://` or `wss://`, in any case. Anything else (a command, a path) is
/// not one.
///
/// ```
/// assert!(tenet_client::is_server_url("WSS://h.example/mcp"));
/// assert!(!tenet_client::is_server_url("npx -y server --url http://h"));
/// ```
pub fn is_server_url(text: &str) -> bool {
    scheme_of(text).is_some_and(is_server_scheme)
}

/// Whether `scheme` is one a client connects to, in any case.
fn is_server_scheme(scheme: &str) -> bool {
    SCHEMES.iter().any(|known| scheme.eq_ignore_ascii_case(known))
}

/// The schemes a client connects to.
const SCHEMES: [&str; 4] = ["http", "https", "ws", "wss"];

/// `url` checked as a client reads it when connecting: a scheme it speaks
/// ([`is_server_url`]) and a URL that reads.
///
/// ```
/// use tenet_client::{UrlError, check_server_url};
///
/// assert_eq!(check_server_url("http://127.0.0.1:3020/mcp"), Ok(()));
/// assert_eq!(check_server_url("ftp://h/mcp"), Err(UrlError::Scheme("ftp://".into())));
/// assert_eq!(check_server_url("127.0.0.1:3020/mcp"), Err(UrlError::Scheme("no scheme".into())));
/// // What stands before `://` is named only when it is a scheme.
/// let odd = check_server_url("http:/u:pw@h/cb?t=secret&r=https://x");
/// assert_eq!(odd, Err(UrlError::Scheme("no scheme".into())));
/// assert!(matches!(check_server_url("http://h:99999/mcp"), Err(UrlError::Invalid(_))));
/// ```
///
/// # Errors
/// What is wrong with it, without the URL.
pub fn check_server_url(url: &str) -> Result<(), UrlError> {
    server_url(url).map(drop)
}

/// What stands before `://` in `text`, when it is a URL scheme (RFC 3986: a letter,
/// then letters, digits, `+`, `-` and `.`); else (no `://`, or `u:pw@h/cb?r=https://…`)
/// `None`.
fn scheme_of(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    is_scheme.then_some(scheme)
}

/// `url` read as a server's URL: see [`check_server_url`].
pub(crate) fn server_url(url: &str) -> Result<reqwest::Url, UrlError> {
    match scheme_of(url) {
        Some(scheme) if is_server_scheme(scheme) => {
            reqwest::Url::parse(url).map_err(|e| UrlError::Invalid(e.to_string()))
        }
        Some(scheme) => Err(UrlError::Scheme(format!("{}://", scheme.to_ascii_lowercase()))),
        None => Err(UrlError::Scheme("no scheme".to_owned())),
    }
}

/// `error` reaching `url`, told by its deepest cause ("Connection refused", a
/// certificate's fault, a name not found): the layers above it name the URL again or
/// say little ("client error (Connect)", "tcp connect error").
pub(crate) fn connect_error(url: &str, error: &(dyn std::error::Error + 'static)) -> crate::ClientError {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    crate::ClientError::Connect(format!("{}: {cause}", shown_url(url)))
}

/// A request's result as it came: raw JSON, which the client reads once, with where
/// its members are.
pub(crate) type Answer = RawObject;

/// How many encoded messages may wait for the writer of a transport with one stream
/// out (a pipe, a WebSocket): four times a server's default `--max-concurrent-requests`.
/// A gateway relays a burst of a client's requests in one turn of its runtime, before
/// the writer runs; at 64, under pipelined load nearly every relayed request found the
/// queue full, waited for room and was polled once more (5 % more work per call,
/// counted with callgrind). A request that waits for room holds its line in its
/// future, so a longer queue adds only the lines of requests abandoned meanwhile.
pub(crate) const OUTBOX: usize = 1024;

/// One request, encoded, with what HTTP needs to know about it.
pub(crate) struct Outgoing {
    /// Its id.
    pub id: Id,
    /// Its method (not copied when it is one the protocol names).
    pub method: Cow<'static, str>,
    /// The encoded request (one line).
    pub body: Vec<u8>,
    /// Extra HTTP headers (`Mcp-Name`, `Mcp-Param-*`); ignored by pipes.
    pub headers: Vec<(String, String)>,
    /// Whether it is a 2026 (stateless) request.
    pub modern: bool,
}

/// A way to send requests and notifications and get answers.
pub(crate) trait Transport: Send + Sync {
    /// Sends a request and waits for its answer (the result, or the server's error).
    /// Dropping the future abandons the request (on HTTP, closes its stream).
    fn request(&self, outgoing: Outgoing) -> BoxFuture<'_, Result<Answer>>;

    /// Sends a notification.
    fn notify(&self, method: String, body: Vec<u8>, modern: bool) -> BoxFuture<'_, Result<()>>;

    /// The version the later messages use (HTTP's `MCP-Protocol-Version`); message
    /// transports carry none.
    fn set_version(&self, _version: Option<ProtocolVersion>) {}

    /// Whether this is an HTTP transport (negotiation differs).
    fn is_http(&self) -> bool {
        false
    }

    /// `error` with the credentials this transport sends taken out of what the server
    /// wrote in it ([`secrets::Secrets::clean`]); every error a request ends with
    /// passes here.
    fn clean(&self, error: ClientError) -> ClientError {
        error
    }

    /// Switches to an older transport (Streamable HTTP → HTTP+SSE); `false` if none.
    fn downgrade(&self) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async { Ok(false) })
    }

    /// A legacy session began (HTTP opens its standalone stream).
    fn session_started(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Ends the connection: ends the HTTP session, closes the WebSocket, or shuts the
    /// child process down.
    fn close(&self) -> BoxFuture<'_, ()>;
}
