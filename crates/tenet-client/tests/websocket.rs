//! The WebSocket transport against small in-test servers (tokio-tungstenite's
//! `accept_hdr_async`): the subprotocol `mcp`, both eras, server → client requests,
//! credentials on the upgrade, close codes, a server that vanishes mid-request, the
//! message size limit; and Tenet's own server bridged onto a socket, every era.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tenet_client::protocol::ProtocolVersion;
use tenet_client::{Client, ClientError, StaticAuth, VersionPin};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";

/// How an in-test server behaves.
#[derive(Clone, Copy, Default)]
struct Behaviour {
    /// Answers `server/discover` (2026-07-28) besides `initialize`.
    modern: bool,
    /// Selects no subprotocol in the upgrade.
    no_subprotocol: bool,
    /// Refuses the upgrade with 401 unless `Authorization: Bearer secret` (or the
    /// `mcp.auth.secret` subprotocol) comes with it.
    require_token: bool,
    /// Before answering `tools/call`, sends a WebSocket ping frame and a `ping`
    /// request, and waits for the request's answer.
    ping_first: bool,
    /// Answers `tools/call` by closing with 1009.
    close_on_call: bool,
    /// Answers `tools/call` by dropping the TCP connection, without a close frame.
    vanish_on_call: bool,
    /// Answers `tools/call` with a result of this many bytes of text.
    big_answer: Option<usize>,
}

/// What the server saw.
#[derive(Default)]
struct Seen {
    /// Each upgrade's `Authorization` and `Sec-WebSocket-Protocol` headers.
    upgrades: Vec<(Option<String>, Option<String>)>,
    /// Every request's method and `_meta` protocol version.
    requests: Vec<(String, Option<String>)>,
    /// The answer to the server's ping request.
    ping_answer: Option<Value>,
    /// The payload of the pong that answered the server's ping frame.
    pong: Option<Vec<u8>>,
    /// A close frame from the client.
    client_close: Option<(u16, String)>,
}

struct TestServer {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

async fn start(behaviour: Behaviour) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("ws://{}/mcp", listener.local_addr().expect("an address"));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = Arc::clone(&shared);
            tokio::spawn(async move {
                if let Some(socket) = upgrade(stream, behaviour, &seen).await {
                    converse(socket, behaviour, &seen).await;
                }
            });
        }
    });
    TestServer { url, seen }
}

/// The upgrade: checks the `mcp` offer (and the token, if required) and selects `mcp`.
#[allow(clippy::result_large_err, reason = "tungstenite's callback returns its error response by value")]
async fn upgrade<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    behaviour: Behaviour,
    seen: &Mutex<Seen>,
) -> Option<WebSocketStream<S>> {
    let callback = |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (authorization, offer) = (header("authorization"), header("sec-websocket-protocol"));
        seen.lock().expect("lock").upgrades.push((authorization.clone(), offer.clone()));
        let offered: Vec<String> = offer.unwrap_or_default().split(',').map(|p| p.trim().to_owned()).collect();
        let token_ok =
            authorization.as_deref() == Some("Bearer secret") || offered.iter().any(|p| p == "mcp.auth.secret");
        if behaviour.require_token && !token_ok {
            let mut refusal = ErrorResponse::new(Some("no token".into()));
            *refusal.status_mut() = StatusCode::UNAUTHORIZED;
            refusal.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer realm=\"mcp\""));
            return Err(refusal);
        }
        assert!(offered.iter().any(|p| p == "mcp"), "the client offers mcp: {offered:?}");
        if !behaviour.no_subprotocol {
            response.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("mcp"));
        }
        Ok(response)
    };
    tokio_tungstenite::accept_hdr_async(stream, callback).await.ok()
}

fn reply(id: &Value, result: Value) -> Message {
    Message::text(json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string())
}

fn error(id: &Value, code: i64, message: &str) -> Message {
    Message::text(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string())
}

/// A minimal MCP server: `initialize`, `server/discover`, `tools/list`, `tools/call`.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    mut socket: WebSocketStream<S>,
    behaviour: Behaviour,
    seen: &Mutex<Seen>,
) {
    let mut stalled_call: Option<(Value, Value)> = None;
    while let Some(Ok(frame)) = socket.next().await {
        let text = match frame {
            Message::Text(text) => text,
            Message::Pong(payload) => {
                seen.lock().expect("lock").pong = Some(payload.to_vec());
                continue;
            }
            Message::Close(frame) => {
                let frame = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                seen.lock().expect("lock").client_close = frame;
                continue;
            }
            _ => continue,
        };
        let message: Value = serde_json::from_str(text.as_str()).expect("one JSON-RPC message per frame");
        let id = message["id"].clone();
        let Some(method) = message["method"].as_str() else {
            // The answer to our ping: now answer the call it held up.
            seen.lock().expect("lock").ping_answer = Some(message.clone());
            if let Some((call_id, arguments)) = stalled_call.take() {
                let text = format!("pong seen, {}", arguments["text"].as_str().unwrap_or_default());
                let _ = socket.send(reply(&call_id, json!({"content": [{"type": "text", "text": text}]}))).await;
            }
            continue;
        };
        let version = message["params"]["_meta"][PROTOCOL_VERSION_KEY].as_str().map(str::to_owned);
        if id.is_null() {
            continue; // a notification
        }
        seen.lock().expect("lock").requests.push((method.to_owned(), version.clone()));
        let answer = match method {
            "initialize" => reply(
                &id,
                json!({
                    "protocolVersion": message["params"]["protocolVersion"],
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "ws-test", "version": "1.0.0"}
                }),
            ),
            "server/discover" if behaviour.modern => reply(
                &id,
                json!({
                    "supportedVersions": ["2026-07-28"],
                    "capabilities": {"tools": {}},
                    "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "ws-test", "version": "1.0.0"}}
                }),
            ),
            "tools/list" => reply(&id, json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]})),
            "tools/call" if behaviour.close_on_call => {
                let frame = CloseFrame { code: CloseCode::Size, reason: "message too big for this test".into() };
                let _ = socket.close(Some(frame)).await;
                continue;
            }
            "tools/call" if behaviour.vanish_on_call => return, // the socket is dropped: no close frame
            "tools/call" if behaviour.ping_first => {
                stalled_call = Some((id, message["params"]["arguments"].clone()));
                if socket.send(Message::Ping("heartbeat".into())).await.is_err() {
                    return;
                }
                Message::text(json!({"jsonrpc": "2.0", "id": "s1", "method": "ping"}).to_string())
            }
            "tools/call" => {
                let text = match behaviour.big_answer {
                    Some(size) => "x".repeat(size),
                    None => message["params"]["arguments"]["text"].as_str().unwrap_or_default().to_owned(),
                };
                let mut result = json!({"content": [{"type": "text", "text": text}]});
                if version.is_some() {
                    result["resultType"] = json!("complete");
                }
                reply(&id, result)
            }
            other => error(&id, -32601, &format!("no method {other}")),
        };
        if socket.send(answer).await.is_err() {
            return;
        }
    }
}

fn text_of(result: &tenet_client::protocol::CallToolResult) -> String {
    serde_json::to_value(&result.content[0]).expect("json")["text"].as_str().expect("text").to_owned()
}

#[tokio::test]
async fn a_legacy_server_gets_an_initialize_session_over_the_socket() {
    let server = start(Behaviour::default()).await;
    let client = Client::builder().connect_http(&server.url).await.expect("connects");
    assert_eq!(client.version(), ProtocolVersion::LATEST_LEGACY, "discover failed, initialize worked");
    assert_eq!(client.server().expect("details").server_info.expect("info").name, "ws-test");
    let tools = client.list_all_tools().await.expect("tools");
    assert_eq!(tools[0].name, "echo");
    let result = client.call_tool("echo", json!({"text": "hi"})).await.expect("a result");
    assert_eq!(text_of(&result), "hi");
    client.close().await;

    let seen = server.seen.lock().expect("lock");
    let methods: Vec<&str> = seen.requests.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["server/discover", "initialize", "tools/list", "tools/call"]);
    assert!(seen.requests[2..].iter().all(|(_, v)| v.is_none()), "legacy requests carry no version in _meta");
    assert_eq!(seen.upgrades.len(), 1, "one socket for the whole session");
    assert_eq!(seen.client_close, Some((1000, String::new())), "close() closes the socket normally");
}

#[tokio::test]
async fn a_modern_server_gets_self_describing_requests_over_the_socket() {
    let server = start(Behaviour { modern: true, ..Behaviour::default() }).await;
    let client = Client::builder().connect_websocket(&server.url).await.expect("connects");
    assert_eq!(client.version(), ProtocolVersion::V2026_07_28);
    let result = client.call_tool("echo", json!({"text": "modern"})).await.expect("a result");
    assert_eq!(text_of(&result), "modern");
    client.close().await;

    let seen = server.seen.lock().expect("lock");
    let methods: Vec<&str> = seen.requests.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["server/discover", "tools/call"], "no initialize");
    assert!(seen.requests.iter().all(|(_, v)| v.as_deref() == Some("2026-07-28")), "{:?}", seen.requests);
}

#[tokio::test]
async fn the_legacy_pin_uses_initialize_even_when_the_server_is_modern() {
    let server = start(Behaviour { modern: true, ..Behaviour::default() }).await;
    let client = Client::builder().version(VersionPin::Legacy).connect_http(&server.url).await.expect("connects");
    assert_eq!(client.version(), ProtocolVersion::LATEST_LEGACY);
    client.close().await;
    assert_eq!(server.seen.lock().expect("lock").requests[0].0, "initialize");
}

#[tokio::test]
async fn a_server_request_and_a_ping_frame_on_the_socket_are_answered_before_the_call_completes() {
    let server = start(Behaviour { ping_first: true, ..Behaviour::default() }).await;
    let client = Client::builder().connect_http(&server.url).await.expect("connects");
    let result = client.call_tool("echo", json!({"text": "after"})).await.expect("a result");
    assert_eq!(text_of(&result), "pong seen, after");
    client.close().await;
    let seen = server.seen.lock().expect("lock");
    let answer = seen.ping_answer.clone().expect("the ping request was answered");
    assert_eq!(answer, json!({"jsonrpc": "2.0", "id": "s1", "result": {}}));
    assert_eq!(seen.pong.as_deref(), Some(&b"heartbeat"[..]), "the ping frame was answered with a pong");
}

#[tokio::test]
async fn a_server_that_does_not_select_mcp_is_refused() {
    let server = start(Behaviour { no_subprotocol: true, ..Behaviour::default() }).await;
    let error = Client::builder().connect_http(&server.url).await.expect_err("refused");
    assert!(matches!(error, ClientError::Connect(_)), "{error}");
    assert!(error.to_string().contains("did not select the \"mcp\" subprotocol"), "{error}");
    assert!(server.seen.lock().expect("lock").requests.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_close_frame_fails_the_pending_call_with_its_code_and_reason() {
    let server = start(Behaviour { close_on_call: true, ..Behaviour::default() }).await;
    let client = Client::builder().connect_http(&server.url).await.expect("connects");
    let error = client.call_tool("echo", json!({"text": "x"})).await.expect_err("closed");
    match &error {
        ClientError::WebSocketClosed { code, reason } => {
            assert_eq!(*code, 1009);
            assert_eq!(reason, "message too big for this test");
        }
        other => panic!("not a close: {other}"),
    }
    assert!(error.is_connection());
    assert_eq!(
        error.to_string(),
        "the server closed the WebSocket: 1009 (message too big): message too big for this test"
    );
    let again = client.list_tools(None).await.expect_err("still closed");
    assert!(matches!(again, ClientError::WebSocketClosed { code: 1009, .. }), "{again}");
    client.close().await;
}

#[tokio::test]
async fn a_server_that_vanishes_mid_request_fails_the_call_promptly() {
    let server = start(Behaviour { vanish_on_call: true, ..Behaviour::default() }).await;
    let client = Client::builder().timeout(Duration::from_secs(60)).connect_http(&server.url).await.expect("connects");
    let started = Instant::now();
    let error = client.call_tool("echo", json!({"text": "x"})).await.expect_err("the server is gone");
    assert!(started.elapsed() < Duration::from_secs(5), "failed after {:?}", started.elapsed());
    assert!(matches!(error, ClientError::Closed(_)), "{error}");
    assert!(error.to_string().contains("without closing the WebSocket"), "{error}");
    client.close().await;
}

#[tokio::test]
async fn an_over_long_message_closes_the_socket_with_1009() {
    let server = start(Behaviour { big_answer: Some(8 * 1024), ..Behaviour::default() }).await;
    let client = Client::builder().max_message_bytes(4 * 1024).connect_http(&server.url).await.expect("connects");
    let error = client.call_tool("echo", json!({})).await.expect_err("too long");
    assert!(error.to_string().contains("over the limit of 4096 bytes"), "{error}");
    client.close().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some((code, _)) = &server.seen.lock().expect("lock").client_close {
            assert_eq!(*code, 1009, "the client said why");
            break;
        }
        assert!(Instant::now() < deadline, "the client sent no close frame");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn credentials_go_in_the_authorization_header_or_on_request_in_the_subprotocol() {
    let server = start(Behaviour { require_token: true, ..Behaviour::default() }).await;
    let refused = Client::builder().connect_http(&server.url).await.expect_err("no token");
    match refused {
        ClientError::Unauthorized { status, www_authenticate } => {
            assert_eq!(status, 401);
            assert_eq!(www_authenticate.as_deref(), Some("Bearer realm=\"mcp\""));
        }
        other => panic!("not a refusal: {other}"),
    }

    let client = Client::builder().auth(StaticAuth("Bearer secret".into())).connect_http(&server.url).await;
    client.expect("the header is accepted").close().await;

    let client = Client::builder()
        .header("Authorization", "Bearer secret")
        .websocket_token_in_subprotocol()
        .connect_http(&server.url)
        .await;
    client.expect("the subprotocol is accepted").close().await;

    let seen = server.seen.lock().expect("lock");
    assert_eq!(seen.upgrades[0], (None, Some("mcp".into())), "headers only when asked");
    assert_eq!(seen.upgrades[1], (Some("Bearer secret".into()), Some("mcp".into())));
    assert_eq!(seen.upgrades[2], (None, Some("mcp, mcp.auth.secret".into())), "the token left the header");
}

#[tokio::test]
async fn wss_speaks_tls_and_fails_clearly_against_a_plain_server() {
    let server = start(Behaviour::default()).await;
    let url = server.url.replacen("ws://", "wss://", 1);
    let error = Client::builder().connect_http(&url).await.expect_err("not TLS");
    assert!(matches!(error, ClientError::Connect(_)), "{error}");
    assert!(error.to_string().to_lowercase().contains("tls"), "the TLS handshake is what failed: {error}");
}

/// The server's side of TLS with a self-signed certificate for 127.0.0.1 and
/// localhost, subject "tenet-client test server" (made with `openssl req -x509
/// -newkey ec … -addext basicConstraints=critical,CA:FALSE`): no root trusts it
/// unless `SSL_CERT_FILE` names it.
fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(include_bytes!("fixtures/self-signed.cert.pem"))
        .collect::<Result<Vec<_>, _>>()
        .expect("the certificate");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("fixtures/self-signed.key.pem")).expect("the key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// [`start`], behind TLS.
async fn start_tls(behaviour: Behaviour) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("wss://{}/mcp", listener.local_addr().expect("an address"));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = Arc::clone(&seen);
    let acceptor = tls_acceptor();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (seen, acceptor) = (Arc::clone(&shared), acceptor.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else { return };
                if let Some(socket) = upgrade(stream, behaviour, &seen).await {
                    converse(socket, behaviour, &seen).await;
                }
            });
        }
    });
    TestServer { url, seen }
}

#[tokio::test]
async fn wss_refuses_a_certificate_no_root_trusts() {
    let server = start_tls(Behaviour::default()).await;
    let error = Client::builder().connect_websocket(&server.url).await.expect_err("untrusted");
    assert!(matches!(error, ClientError::Connect(_)), "{error}");
    assert!(error.to_string().contains("invalid peer certificate"), "{error}");
}

/// This module's path as the test harness names it: without the binary's crate name.
fn module_of_test() -> &'static str {
    module_path!().split_once("::").expect("a module of the test binary").1
}

/// Set in the copy of this test binary that trusts the test certificate.
const TRUSTING: &str = "TENET_TEST_WSS_TRUSTING";

#[tokio::test]
async fn wss_works_with_a_certificate_the_platform_roots_trust() {
    if std::env::var_os(TRUSTING).is_none() {
        // The roots are read from the environment (SSL_CERT_FILE), which a test may
        // not change in its own process: run this test again in a child that trusts
        // the test certificate.
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/self-signed.cert.pem");
        let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                &format!("{}::wss_works_with_a_certificate_the_platform_roots_trust", module_of_test()),
                "--nocapture",
            ])
            .env(TRUSTING, "1")
            .env("SSL_CERT_FILE", fixture)
            .env_remove("SSL_CERT_DIR")
            .output()
            .expect("the test binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("1 passed"), "the child ran the test: {stdout}");
        return;
    }
    let server = start_tls(Behaviour { modern: true, ..Behaviour::default() }).await;
    let client = Client::builder().connect_websocket(&server.url).await.expect("connects over TLS");
    assert_eq!(client.version(), ProtocolVersion::V2026_07_28);
    let result = client.call_tool("echo", json!({"text": "over tls"})).await.expect("a result");
    assert_eq!(text_of(&result), "over tls");
    client.close().await;
    // localhost resolves and matches the certificate's DNS name too.
    let localhost = server.url.replacen("127.0.0.1", "localhost", 1);
    let client = Client::builder().connect_websocket(&localhost).await.expect("connects by name");
    client.close().await;
}

/// Tenet's own server, its line pipe bridged onto each accepted socket.
async fn bridged_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("ws://{}/mcp", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = Mutex::new(Seen::default());
            let Some(socket) = upgrade(stream, Behaviour::default(), &seen).await else { continue };
            let (client_end, server_end) = tenet_transport::memory::pair();
            let (read, write) = tokio::io::split(server_end);
            let server = common::server();
            tokio::spawn(async move { server.serve(read, write, Default::default()).await });
            let (read, mut write) = tokio::io::split(client_end);
            let (mut sink, mut stream) = socket.split();
            tokio::spawn(async move {
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if sink.send(Message::text(line)).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                // Reading on after the client's close frame answers it; then the
                // server's input ends, and so does the server.
                while let Some(Ok(message)) = stream.next().await {
                    if let Message::Text(text) = message
                        && write.write_all(format!("{}\n", text.as_str()).as_bytes()).await.is_err()
                    {
                        break;
                    }
                }
                let _ = write.shutdown().await;
            });
        }
    });
    url
}

#[tokio::test]
async fn tenets_server_over_a_socket_in_every_era_with_server_requests() {
    let url = bridged_server().await;
    for (pin, expected) in [
        (VersionPin::Auto, ProtocolVersion::V2026_07_28),
        (VersionPin::Legacy, ProtocolVersion::LATEST_LEGACY),
        (VersionPin::Exact(ProtocolVersion::V2025_06_18), ProtocolVersion::V2025_06_18),
    ] {
        let answers = common::Answers::default();
        let client =
            Client::builder().handler(answers.clone()).version(pin).connect_http(&url).await.expect("connects");
        assert_eq!(client.version(), expected);
        assert_eq!(client.list_all_tools().await.expect("every page").len(), 6, "{expected}");
        let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
        assert_eq!(text_of(&sum), "5");
        // Elicitation: a server → client request in the legacy era, an input round in 2026.
        let asked = client.call_tool("ask", json!({})).await.expect("ask");
        let content: Value = serde_json::from_str(&text_of(&asked)).expect("json");
        assert_eq!(content, json!({"name": "Ada", "colour": "teal"}), "{expected}");
        assert_eq!(answers.0.load(std::sync::atomic::Ordering::SeqCst), 1, "{expected}");
        client.close().await;
    }
}
