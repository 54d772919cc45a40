//! WebSocket (the SEP-1288 draft): `GET <url>` with `Upgrade: websocket` and the
//! subprotocol `mcp`, which the server must select; then one JSON-RPC message per
//! text frame in both directions. Server requests and notifications arrive at any
//! time; tungstenite answers pings. Both eras share the socket: the transport only
//! moves messages, as a pipe does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, http};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::Answer;
use super::auth::{AuthHook, AuthResponse, should_retry};
use super::pending::{Pending, route};
use super::secrets::Secrets;
use super::shown_url;
use super::{OUTBOX, Outgoing, Transport};
use crate::error::{ClientError, Result};
use crate::inbound::Inbound;

/// The subprotocol MCP over WebSocket is spoken in.
pub(crate) const SUBPROTOCOL: &str = "mcp";
/// The prefix of the subprotocol that carries a bearer token, browser style.
const AUTH_SUBPROTOCOL_PREFIX: &str = "mcp.auth.";
/// How long connecting (TCP, TLS and the upgrade) may take.
const CONNECT_WAIT: Duration = Duration::from_secs(30);
/// How long closing waits for the queue to drain and for the server's close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How to open the socket.
pub(crate) struct Settings {
    /// Headers sent with the upgrade request.
    pub headers: HeaderMap,
    /// Supplies credentials and handles refusals of the upgrade.
    pub auth: Option<Arc<dyn AuthHook>>,
    /// Carry the bearer token as the `mcp.auth.<token>` subprotocol instead of an
    /// `Authorization` header.
    pub token_in_subprotocol: bool,
    /// The largest message accepted from the server.
    pub max_message_bytes: usize,
}

/// The URL an authorization hook sees for a WebSocket URL: the same with `http` or
/// `https`, since the upgrade is an HTTP request (OAuth discovery and DPoP need that).
pub(crate) fn http_equivalent(url: &Url) -> Url {
    let mut http = url.clone();
    let scheme = if url.scheme() == "wss" { "https" } else { "http" };
    if http.set_scheme(scheme).is_err() {
        tracing::debug!(url = %shown_url(url.as_str()), "cannot give the URL an http scheme");
    }
    http
}

/// The token of an `Authorization: Bearer <token>` value, checked to be usable in a
/// subprotocol name (an RFC 7230 token).
fn bearer_token(value: &HeaderValue) -> Result<String> {
    let value = value.to_str().unwrap_or_default();
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| ClientError::Connect("only a bearer token can be sent as a WebSocket subprotocol".into()))?;
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if token.is_empty() || !token.chars().all(is_tchar) {
        return Err(ClientError::Connect(
            "the bearer token has characters a WebSocket subprotocol cannot carry; send it as a header".into(),
        ));
    }
    Ok(token.to_owned())
}

impl Settings {
    /// The upgrade request: the application's headers, the hook's credentials and the
    /// subprotocol offer.
    async fn request(&self, url: &Url, hook_url: &Url) -> Result<http::Request<()>> {
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| ClientError::Connect(format!("bad WebSocket URL {}: {e}", shown_url(url.as_str()))))?;
        let headers = request.headers_mut();
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        if let Some(auth) = &self.auth {
            for (name, value) in
                auth.request_headers(&reqwest::Method::GET, hook_url).await.map_err(ClientError::Auth)?
            {
                headers.insert(name, value);
            }
        }
        let mut offer = SUBPROTOCOL.to_owned();
        if self.token_in_subprotocol
            && let Some(value) = headers.remove(AUTHORIZATION)
        {
            offer = format!("{SUBPROTOCOL}, {AUTH_SUBPROTOCOL_PREFIX}{}", bearer_token(&value)?);
        }
        let offer = HeaderValue::from_str(&offer).map_err(|e| ClientError::Connect(format!("subprotocol: {e}")))?;
        headers.insert(SEC_WEBSOCKET_PROTOCOL, offer);
        Ok(request)
    }

    /// Connects and upgrades, asking the hook for credentials and trying again after a
    /// refusal it accepts; checks that the server selected `mcp`.
    async fn open(&self, url: &Url, secrets: &Secrets) -> Result<Socket> {
        let hook_url = http_equivalent(url);
        let config = WebSocketConfig::default()
            .max_message_size(Some(self.max_message_bytes))
            .max_frame_size(Some(self.max_message_bytes));
        // wss: rustls with ring (as for HTTP), certificates checked against the
        // platform's roots.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut attempt = 0;
        loop {
            let request = self.request(url, &hook_url).await?;
            for sent in [AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL] {
                if let Some(value) = request.headers().get(&sent) {
                    secrets.saw(&sent, value);
                }
            }
            let connecting = tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, None);
            let refusal = match tokio::time::timeout(CONNECT_WAIT, connecting).await {
                Err(_) => {
                    let url = shown_url(url.as_str());
                    return Err(ClientError::Connect(format!("{url}: no WebSocket within {CONNECT_WAIT:?}")));
                }
                Ok(Ok((socket, response))) => {
                    check_subprotocol(url, response.headers().get(SEC_WEBSOCKET_PROTOCOL))?;
                    return Ok(socket);
                }
                Ok(Err(WsError::Http(refusal))) => refusal,
                Ok(Err(error)) => return Err(handshake_error(url, &error)),
            };
            let status = refusal.status().as_u16();
            let seen = AuthResponse { status, headers: refusal.headers(), url: &hook_url, attempt };
            if !should_retry(self.auth.as_ref(), seen).await.map_err(|e| secrets.clean(e))? {
                let body = refusal.body().as_deref().unwrap_or_default();
                return Err(super::http_client::failure_cleaned(secrets, status, body));
            }
            attempt += 1;
        }
    }
}

/// Fails unless the server selected exactly `mcp`.
fn check_subprotocol(url: &Url, selected: Option<&HeaderValue>) -> Result<()> {
    let shown = shown_url(url.as_str());
    match selected.map(|v| v.to_str().unwrap_or("(not text)")) {
        Some(SUBPROTOCOL) => Ok(()),
        Some(other) => Err(ClientError::Connect(format!(
            "{shown} selected the WebSocket subprotocol {other:?}, not \"{SUBPROTOCOL}\": it does not speak MCP over WebSocket"
        ))),
        None => Err(no_subprotocol(url)),
    }
}

fn no_subprotocol(url: &Url) -> ClientError {
    let url = shown_url(url.as_str());
    ClientError::Connect(format!(
        "{url} accepted the WebSocket but did not select the \"{SUBPROTOCOL}\" subprotocol: it does not speak MCP over WebSocket"
    ))
}

/// Why connecting failed, in words.
fn handshake_error(url: &Url, error: &WsError) -> ClientError {
    let shown = shown_url(url.as_str());
    match error {
        WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(SubProtocolError::NoSubProtocol)) => {
            no_subprotocol(url)
        }
        WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(problem)) => {
            ClientError::Connect(format!("{shown}: the server's WebSocket subprotocol is wrong: {problem}"))
        }
        WsError::Protocol(problem) => {
            ClientError::Connect(format!("{shown} did not upgrade to a WebSocket: {problem}"))
        }
        other => super::connect_error(url.as_str(), other),
    }
}

/// The transport over an open WebSocket.
pub(crate) struct WebSocketTransport {
    sender: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
    /// Asks the writer to close the socket with this frame.
    farewell: mpsc::Sender<CloseFrame>,
    pending: Arc<Pending>,
    reader: Mutex<Option<JoinHandle<()>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    secrets: Secrets,
}

impl WebSocketTransport {
    /// Opens the socket at `url` (ws:// or wss://) and starts reading it.
    pub(crate) async fn connect(url: &Url, settings: &Settings, inbound: Arc<Inbound>) -> Result<Self> {
        // What it sends, taken out of what the server says back (a refusal, an error).
        let secrets = Secrets::of(&settings.headers).with_url(url);
        let socket = settings.open(url, &secrets).await?;
        let (sink, stream) = socket.split();
        let (tx, outbox) = mpsc::channel(OUTBOX);
        let (farewell, farewells) = mpsc::channel(1);
        let pending = Arc::new(Pending::default());
        let writer = tokio::spawn(write_loop(sink, outbox, farewells, Arc::clone(&pending)));
        let reader = Reader {
            pending: Arc::clone(&pending),
            inbound,
            replies: tx.clone(),
            farewell: farewell.clone(),
            limit: settings.max_message_bytes,
        };
        let reader = tokio::spawn(reader.run(stream));
        Ok(Self {
            sender: Mutex::new(Some(tx)),
            farewell,
            pending,
            reader: Mutex::new(Some(reader)),
            writer: Mutex::new(Some(writer)),
            secrets,
        })
    }

    async fn send(&self, message: Vec<u8>) -> Result<()> {
        let sender = self.sender.lock().ok().and_then(|s| s.clone());
        let sender = sender.ok_or_else(|| ClientError::Closed("the client was closed".into()))?;
        sender.send(message).await.map_err(|_| ClientError::Closed("the WebSocket is closed".into()))
    }
}

/// One message as a text frame: the encoder's trailing newline removed.
fn text_frame(mut message: Vec<u8>) -> Option<Message> {
    while message.last().is_some_and(u8::is_ascii_whitespace) {
        message.pop();
    }
    match String::from_utf8(message) {
        Ok(text) => Some(Message::text(text)),
        Err(_) => {
            tracing::warn!("dropped an outgoing message that is not UTF-8");
            None
        }
    }
}

fn normal_closure() -> CloseFrame {
    CloseFrame { code: CloseCode::Normal, reason: "".into() }
}

/// Writes queued messages, a batch per flush, until asked to close (or every sender
/// is gone); then drains the queue and sends the close frame.
async fn write_loop(
    mut sink: SplitSink<Socket, Message>,
    mut outbox: mpsc::Receiver<Vec<u8>>,
    mut farewells: mpsc::Receiver<CloseFrame>,
    pending: Arc<Pending>,
) {
    let written: Result<(), WsError> = async {
        loop {
            tokio::select! {
                biased;
                frame = farewells.recv() => {
                    while let Ok(message) = outbox.try_recv() {
                        if let Some(frame) = text_frame(message) {
                            sink.feed(frame).await?;
                        }
                    }
                    return sink.send(Message::Close(Some(frame.unwrap_or_else(normal_closure)))).await;
                }
                message = outbox.recv() => {
                    let Some(message) = message else {
                        return sink.send(Message::Close(Some(normal_closure()))).await;
                    };
                    if let Some(frame) = text_frame(message) {
                        sink.feed(frame).await?;
                    }
                    while let Ok(more) = outbox.try_recv() {
                        if let Some(frame) = text_frame(more) {
                            sink.feed(frame).await?;
                        }
                    }
                    sink.flush().await?;
                }
            }
        }
    }
    .await;
    if let Err(error) = written {
        tracing::debug!(%error, "writing to the WebSocket failed");
        pending.close(&format!("writing to the server failed: {error}"));
    }
}

/// How the reading ended.
enum Ending {
    /// The server sent a close frame.
    Closed(Option<CloseFrame>),
    /// The connection failed or ended without one.
    Lost(String),
}

/// Reads the socket: routes every text frame; fails every pending request when the
/// socket closes or breaks.
struct Reader {
    pending: Arc<Pending>,
    inbound: Arc<Inbound>,
    replies: mpsc::Sender<Vec<u8>>,
    farewell: mpsc::Sender<CloseFrame>,
    limit: usize,
}

impl Reader {
    async fn run(self, mut stream: SplitStream<Socket>) {
        let ending = loop {
            match stream.next().await {
                Some(Ok(Message::Text(text))) => route(text.as_bytes(), &self.pending, &self.inbound, &self.replies),
                Some(Ok(Message::Binary(_))) => {
                    // SEP-1288: MCP messages are text frames; a binary one ends the connection.
                    let reason = "MCP messages are text frames".into();
                    let _ = self.farewell.try_send(CloseFrame { code: CloseCode::Unsupported, reason });
                    break Ending::Lost("the server sent a binary frame (MCP over WebSocket uses text frames)".into());
                }
                Some(Ok(Message::Close(frame))) => break Ending::Closed(frame),
                // Pings are answered by tungstenite as it reads.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Err(WsError::Capacity(error))) => {
                    let reason = format!("messages are limited to {} bytes", self.limit).into();
                    let _ = self.farewell.try_send(CloseFrame { code: CloseCode::Size, reason });
                    break Ending::Lost(format!(
                        "a message from the server is over the limit of {} bytes ({error})",
                        self.limit
                    ));
                }
                Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) | None => {
                    break Ending::Lost("the server dropped the connection without closing the WebSocket".into());
                }
                Some(Err(error)) => break Ending::Lost(format!("the WebSocket failed: {error}")),
            }
        };
        match ending {
            Ending::Closed(frame) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.to_string()));
                tracing::debug!(code, %reason, "the server closed the WebSocket");
                self.pending.close_with(move || ClientError::WebSocketClosed { code, reason: reason.clone() });
            }
            Ending::Lost(reason) => self.pending.close(&reason),
        }
        // Keep reading briefly, so tungstenite answers a close frame and sees the end.
        drop(self);
        let _ = tokio::time::timeout(CLOSE_GRACE, async { while let Some(Ok(_)) = stream.next().await {} }).await;
    }
}

impl Transport for WebSocketTransport {
    fn request(&self, outgoing: Outgoing) -> BoxFuture<'_, Result<Answer>> {
        Box::pin(async move { self.pending.exchange(&outgoing.id, self.send(outgoing.body)).await })
    }

    fn clean(&self, error: ClientError) -> ClientError {
        self.secrets.clean(error)
    }

    fn notify(&self, _method: String, body: Vec<u8>, _modern: bool) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.send(body))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.pending.close("the client was closed");
            self.sender.lock().ok().and_then(|mut s| s.take());
            let _ = self.farewell.try_send(normal_closure());
            let writer = self.writer.lock().ok().and_then(|mut w| w.take());
            if let Some(writer) = writer
                && tokio::time::timeout(CLOSE_GRACE, writer).await.is_err()
            {
                tracing::debug!("the WebSocket's queue did not drain in time");
            }
            let reader = self.reader.lock().ok().and_then(|mut r| r.take());
            if let Some(mut reader) = reader
                && tokio::time::timeout(CLOSE_GRACE, &mut reader).await.is_err()
            {
                tracing::debug!("the server did not answer the close frame in time");
                reader.abort();
            }
        })
    }
}

impl Drop for WebSocketTransport {
    fn drop(&mut self) {
        // The writer ends by itself once every sender is gone, with a close frame.
        if let Some(reader) = self.reader.get_mut().ok().and_then(Option::take) {
            reader.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_told_by_its_cause_without_credentials() {
        // A port just released: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        for scheme in ["ws", "http"] {
            let url = format!("{scheme}://me:secret@127.0.0.1:{port}/mcp?key=k");
            let builder = crate::Client::builder();
            let connected = match scheme {
                "ws" => builder.connect_websocket(&url).await,
                _ => builder.connect_http(&url).await,
            };
            let Err(ClientError::Connect(message)) = connected else { panic!("{scheme}: connected") };
            let expected = format!("{scheme}://127.0.0.1:{port}/mcp: ");
            assert!(message.starts_with(&expected), "{message}");
            assert!(message.contains("Connection refused"), "{message}");
            assert!(!message.contains("secret") && !message.contains("key=k"), "{message}");
        }
    }

    #[test]
    fn the_hook_sees_the_http_form_of_the_url() {
        let url = |s: &str| Url::parse(s).expect("a URL");
        assert_eq!(http_equivalent(&url("ws://127.0.0.1:3020/mcp?x=1")).as_str(), "http://127.0.0.1:3020/mcp?x=1");
        assert_eq!(http_equivalent(&url("wss://example.com/mcp")).as_str(), "https://example.com/mcp");
    }

    #[test]
    fn only_a_bearer_token_of_token_characters_goes_into_a_subprotocol() {
        let token = |v: &'static str| bearer_token(&HeaderValue::from_static(v));
        assert_eq!(token("Bearer abc.DEF-123_~").expect("a token"), "abc.DEF-123_~");
        assert_eq!(token("bearer xyz").expect("the scheme is case-insensitive"), "xyz");
        assert!(token("Basic dXNlcjpwYXNz").is_err(), "not a bearer token");
        assert!(token("Bearer a/b=").is_err(), "'/' and '=' cannot be in a subprotocol");
        assert!(token("Bearer").is_err(), "no token");
    }

    #[test]
    fn the_server_must_select_mcp() {
        let url = Url::parse("ws://127.0.0.1/mcp").expect("a URL");
        assert!(check_subprotocol(&url, Some(&HeaderValue::from_static("mcp"))).is_ok());
        let other = check_subprotocol(&url, Some(&HeaderValue::from_static("mcp.auth.x"))).expect_err("refused");
        assert!(other.to_string().contains("\"mcp.auth.x\""), "{other}");
        let none = check_subprotocol(&url, None).expect_err("refused");
        assert!(none.to_string().contains("did not select"), "{none}");
    }

    #[test]
    fn frames_are_text_without_the_newline() {
        let frame = text_frame(b"{\"jsonrpc\":\"2.0\"}\n".to_vec()).expect("a frame");
        assert_eq!(frame, Message::text("{\"jsonrpc\":\"2.0\"}"));
        assert!(text_frame(vec![0xff, b'\n']).is_none());
    }
}
