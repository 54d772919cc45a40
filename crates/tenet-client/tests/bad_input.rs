//! Servers that misbehave: garbage lines, answers to nobody, answers that never come,
//! processes that exit at once, HTTP errors at each step, SSE streams that drop. Each
//! must give a clear error quickly, never a hang.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tenet_client::protocol::ProtocolVersion;
use tenet_client::{Client, ClientError, VersionPin};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// Every test must end well within this.
const LIMIT: Duration = Duration::from_secs(20);

fn discover_result(id: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "result": {
        "resultType": "complete", "supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}},
        "ttlMs": 0, "cacheScope": "private"
    }})
    .to_string()
}

/// A stdio-like server on an in-memory pipe that answers through `reply` (which may
/// write any lines) and records what it received.
fn scripted<F>(reply: F) -> (tokio::io::DuplexStream, Arc<Mutex<Vec<Value>>>)
where
    F: Fn(&Value) -> Vec<String> + Send + 'static,
{
    let (client_end, server_end) = tenet_transport::memory::pair();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        let (read, mut write) = tokio::io::split(server_end);
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(message) = serde_json::from_str::<Value>(&line) else { continue };
            log.lock().await.push(message.clone());
            for out in reply(&message) {
                if write.write_all(format!("{out}\n").as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    });
    (client_end, seen)
}

async fn connect(end: tokio::io::DuplexStream, timeout: Duration) -> tenet_client::Result<Client> {
    let (read, write) = tokio::io::split(end);
    Client::builder().timeout(timeout).connect_pipe(read, write).await
}

#[tokio::test]
async fn garbage_lines_and_answers_to_nobody_are_skipped() {
    let (end, _seen) = scripted(|m| match m["method"].as_str() {
        Some("server/discover") => vec![
            "this is not json".into(),
            "{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":{}}".into(),
            "[1,2".into(),
            discover_result(&m["id"]),
        ],
        Some("tools/list") => vec![
            json!({"jsonrpc": "2.0", "id": m["id"], "result": {"tools": [], "resultType": "complete"}}).to_string(),
        ],
        _ => vec![],
    });
    let client =
        tokio::time::timeout(LIMIT, connect(end, Duration::from_secs(5))).await.expect("no hang").expect("connects");
    assert_eq!(client.version(), ProtocolVersion::V2026_07_28);
    assert!(client.list_tools(None).await.expect("tools").tools.is_empty());
}

/// Issue 60: a server that pages a flood (a 300 MB `tools/list` as pages under the
/// message limit) is not read whole: the listing fails once its pages pass 32 MiB,
/// having asked for no more.
#[tokio::test]
async fn a_list_that_floods_across_pages_fails_once_past_its_bound() {
    let tool = json!({"name": "t", "description": "x".repeat(1 << 20), "inputSchema": {"type": "object"}});
    let (end, seen) = scripted(move |m| match m["method"].as_str() {
        Some("server/discover") => vec![discover_result(&m["id"])],
        Some("tools/list") => {
            let page = m["params"]["cursor"].as_str().map_or(0, |c| c.parse::<u32>().unwrap_or(0)) + 1;
            let tools: Vec<Value> = (0..3).map(|_| tool.clone()).collect();
            vec![
                json!({"jsonrpc": "2.0", "id": m["id"], "result": {"tools": tools, "nextCursor": page.to_string(),
                    "resultType": "complete", "ttlMs": 0, "cacheScope": "private"}})
                .to_string(),
            ]
        }
        _ => vec![],
    });
    let client = connect(end, Duration::from_secs(10)).await.expect("connects");
    let error = tokio::time::timeout(LIMIT, client.list_all_tools()).await.expect("no hang").expect_err("refused");
    assert!(error.to_string().contains("more than 32 MiB across its pages"), "{error}");
    let asked = seen.lock().await.iter().filter(|m| m["method"] == "tools/list").count();
    assert!((10..=12).contains(&asked), "3 MiB pages: about 11 asked for, then none: {asked}");
}

#[tokio::test]
async fn a_response_that_never_comes_times_out_and_cancels_the_request() {
    let (end, seen) = scripted(|m| match m["method"].as_str() {
        Some("server/discover") => vec![discover_result(&m["id"])],
        _ => vec![],
    });
    let client = connect(end, Duration::from_millis(300)).await.expect("connects");
    let error = tokio::time::timeout(LIMIT, client.list_tools(None)).await.expect("no hang").expect_err("times out");
    assert!(matches!(error, ClientError::Timeout(_)), "{error}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = seen.lock().await;
    let asked = seen.iter().find(|m| m["method"] == "tools/list").expect("the request was sent");
    let cancelled = seen.iter().find(|m| m["method"] == "notifications/cancelled").expect("a cancellation");
    assert_eq!(cancelled["params"]["requestId"], asked["id"]);
}

#[tokio::test]
async fn a_silent_stdio_server_is_taken_for_legacy_after_the_probe() {
    let (end, seen) = scripted(|m| match m["method"].as_str() {
        Some("initialize") => vec![
            json!({"jsonrpc": "2.0", "id": m["id"], "result": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "old", "version": "1"}
            }})
            .to_string(),
        ],
        _ => vec![],
    });
    let (read, write) = tokio::io::split(end);
    let connecting = Client::builder().probe_timeout(Duration::from_millis(200)).connect_pipe(read, write);
    let client = tokio::time::timeout(LIMIT, connecting).await.expect("no hang").expect("connects");
    assert_eq!(client.version(), ProtocolVersion::V2025_06_18);
    let deadline = tokio::time::Instant::now() + LIMIT;
    let methods = loop {
        let methods: Vec<Value> = seen.lock().await.iter().map(|m| m["method"].clone()).collect();
        if methods.contains(&json!("notifications/initialized")) || tokio::time::Instant::now() > deadline {
            break methods;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(methods, ["server/discover", "initialize", "notifications/initialized"]);
}

#[tokio::test]
async fn a_server_that_exits_at_start_is_a_clear_error() {
    let args = ["-c".to_owned(), "echo starting >&2; exit 3".to_owned()];
    let connecting = Client::builder().connect_stdio("sh", &args);
    let error = tokio::time::timeout(LIMIT, connecting).await.expect("no hang").expect_err("no server");
    assert!(matches!(error, ClientError::Closed(_)), "{error}");
    assert!(error.to_string().contains("the server exited (exit status: 3)"), "how it ended: {error}");
    // Its stderr logged instead of passed through, line by line (a `\r` ends one too).
    let logged = Logged::default();
    let subscriber = tracing_subscriber::fmt().with_writer(logged.clone()).with_ansi(false).finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let script = "echo starting >&2; printf 'half\\rdone\\nno config' >&2; exit 4";
    let args = ["-c".to_owned(), script.to_owned()];
    let connecting = Client::builder().stderr_to_log("db").connect_stdio("sh", &args);
    let error = tokio::time::timeout(LIMIT, connecting).await.expect("no hang").expect_err("no server");
    assert!(error.to_string().ends_with("the server exited (exit status: 4)"), "how it ended: {error}");
    let lines = logged.lines();
    let said: Vec<&str> =
        lines.iter().filter(|l| l.contains("server=db")).map(|l| l.split(" INFO ").nth(1).unwrap_or(l)).collect();
    assert_eq!(said.len(), 4, "{lines:?}");
    for (line, text) in said.iter().zip(["starting", "half", "done", "no config"]) {
        assert!(line.contains(text), "{text} in {line:?}");
    }
    let missing = Client::builder().connect_stdio("/nonexistent/tenet-server", &[]).await.expect_err("no program");
    assert!(matches!(missing, ClientError::Connect(_)), "{missing}");
}

/// What a test's tracing subscriber writes, kept.
#[derive(Clone, Default)]
struct Logged(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logged {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).lines().map(str::to_owned).collect()
    }
}

impl std::io::Write for Logged {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logged {
    type Writer = Logged;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A one-shot HTTP server: every request gets `respond(method, head, body)` as the raw
/// response, and the connection closes.
async fn http_server<F>(respond: F) -> String
where
    F: Fn(&str, &str, &str) -> String + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let respond = Arc::clone(&respond);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body) = loop {
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buffer).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if body.len() >= length {
                            break (head.to_owned(), body.to_owned());
                        }
                    }
                };
                let method = head.split(' ').next().unwrap_or_default().to_owned();
                let _ = socket.write_all(respond(&method, &head.to_ascii_lowercase(), &body).as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

fn json_reply(body: &str, session: Option<&str>) -> String {
    let session = session.map(|s| format!("mcp-session-id: {s}\r\n")).unwrap_or_default();
    let length = body.len();
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{session}content-length: {length}\r\nconnection: close\r\n\r\n{body}"
    )
}

fn status(code: u16, reason: &str) -> String {
    format!("HTTP/1.1 {code} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
}

#[tokio::test]
async fn http_errors_at_each_step_are_reported_with_their_status() {
    for (code, reason) in [(500, "Internal Server Error"), (404, "Not Found"), (405, "Method Not Allowed")] {
        let url = http_server(move |_, _, _| status(code, reason)).await;
        for pin in [VersionPin::Auto, VersionPin::Legacy, VersionPin::Modern] {
            let connecting = Client::builder().version(pin).connect_http(&url);
            let error = tokio::time::timeout(LIMIT, connecting).await.expect("no hang").expect_err("refused");
            assert!(matches!(error, ClientError::Http { status, .. } if status == code), "{pin:?} {code}: {error}");
        }
    }
}

#[tokio::test]
async fn an_error_after_the_handshake_is_reported_too() {
    let url = http_server(|method, _, body| {
        if method == "POST" && body.contains("server/discover") {
            let id = serde_json::from_str::<Value>(body).map(|v| v["id"].clone()).unwrap_or_default();
            json_reply(&discover_result(&id), None)
        } else {
            status(500, "Internal Server Error")
        }
    })
    .await;
    let client = Client::builder().connect_http(&url).await.expect("connects");
    let error = client.list_tools(None).await.expect_err("500");
    assert!(matches!(error, ClientError::Http { status: 500, .. }), "{error}");
}

#[tokio::test]
async fn an_sse_stream_that_drops_mid_response_fails_clearly() {
    let url = http_server(|_, _, _| {
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\nevent: message\ndata: {\"jsonrpc\":\"2.0\",".to_owned()
    })
    .await;
    let connecting = Client::builder().version(VersionPin::Modern).connect_http(&url);
    let error = tokio::time::timeout(LIMIT, connecting).await.expect("no hang").expect_err("dropped");
    assert!(matches!(error, ClientError::Closed(_)), "{error}");
}

/// A shell "server" that writes its pid to `pid_file`, answers `initialize`, then runs
/// `rest` (which decides how it treats EOF and SIGTERM).
fn shell_server(pid_file: &std::path::Path, rest: &str) -> Vec<String> {
    let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"sh","version":"1"}}}"#;
    let script = format!("echo $$ > '{}'; read line; echo '{answer}'; {rest}", pid_file.display());
    vec!["-c".to_owned(), script]
}

fn gone(pid_file: &std::path::Path) -> bool {
    let pid = std::fs::read_to_string(pid_file).expect("the pid file");
    !std::path::Path::new(&format!("/proc/{}", pid.trim())).exists()
}

/// Connects to a [`shell_server`] and returns how long closing took.
async fn connect_and_close(pid_file: &std::path::Path, rest: &str) -> Duration {
    let args = shell_server(pid_file, rest);
    let client = Client::builder().version(VersionPin::Legacy).connect_stdio("sh", &args).await.expect("connects");
    let started = std::time::Instant::now();
    tokio::time::timeout(LIMIT, client.close()).await.expect("close returns");
    started.elapsed()
}

#[tokio::test]
async fn close_ends_the_child_process_gently_or_not() {
    let dir = std::env::temp_dir().join(format!("tenet-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");

    let polite = dir.join("polite.pid");
    assert!(connect_and_close(&polite, "cat > /dev/null").await < Duration::from_secs(2), "exits on EOF: no signal");
    assert!(gone(&polite));
    let stubborn = dir.join("stubborn.pid");
    let rest = "trap '' TERM; while :; do sleep 1; done";
    assert!(connect_and_close(&stubborn, rest).await >= Duration::from_secs(4), "EOF and SIGTERM each got their grace");
    assert!(gone(&stubborn), "SIGKILL ended it");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Records the notifications it gets.
struct Heard(Arc<std::sync::Mutex<Vec<tenet_client::ServerNotification>>>);

impl tenet_client::ClientHandler for Heard {
    fn on_notification(&self, notification: tenet_client::ServerNotification) {
        self.0.lock().expect("lock").push(notification);
    }
}

#[tokio::test]
async fn what_a_server_writes_as_its_input_ends_is_read_before_close_returns() {
    let dir = std::env::temp_dir().join(format!("tenet-client-last-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let (pid, written) = (dir.join("last.pid"), dir.join("written"));
    // At the end of its input the server writes a last line and notes that the write
    // went through: a pipe closed under it would end it (SIGPIPE) before the note.
    let last = r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
    let rest = format!("cat > /dev/null; echo '{last}' && echo yes > '{}'", written.display());
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let client = Client::builder()
        .version(VersionPin::Legacy)
        .handler(Heard(Arc::clone(&heard)))
        .connect_stdio("sh", &shell_server(&pid, &rest))
        .await
        .expect("connects");
    tokio::time::timeout(LIMIT, client.close()).await.expect("close returns");
    assert!(gone(&pid));
    assert!(written.exists(), "the server's last write found its output open");
    let heard = heard.lock().expect("lock");
    assert!(matches!(heard[..], [tenet_client::ServerNotification::ToolsListChanged]), "{heard:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_close_given_up_half_way_leaves_no_reader_behind() {
    let dir = std::env::temp_dir().join(format!("tenet-client-halfway-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    // After its input ends it ignores SIGTERM and keeps telling of list changes.
    let note = r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
    let rest = format!("trap '' TERM; cat > /dev/null; while :; do echo '{note}'; sleep 0.02; done");
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let client = Client::builder()
        .version(VersionPin::Legacy)
        .handler(Heard(Arc::clone(&heard)))
        .connect_stdio("sh", &shell_server(&dir.join("halfway.pid"), &rest))
        .await
        .expect("connects");
    // Closing waits for it to exit; its caller gives up first.
    assert!(tokio::time::timeout(Duration::from_millis(300), client.close()).await.is_err());
    let count = heard.lock().expect("lock").len();
    assert!(count > 0, "it was read while closing");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(heard.lock().expect("lock").len(), count, "nothing read once the close was dropped");
    drop(client);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_ended_legacy_session_is_started_again_once() {
    let sessions = Arc::new(std::sync::Mutex::new(0u32));
    let url = http_server({
        let sessions = Arc::clone(&sessions);
        move |method, head, body| {
            let request: Value = serde_json::from_str(body).unwrap_or_default();
            let mut count = sessions.lock().expect("lock");
            match (method, request["method"].as_str()) {
                ("POST", Some("initialize")) => {
                    *count += 1;
                    let result = json!({"jsonrpc": "2.0", "id": request["id"], "result": {
                        "protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "s", "version": "1"}
                    }});
                    json_reply(&result.to_string(), Some(&format!("s{count}")))
                }
                ("POST", Some("tools/list")) if !head.contains(&format!("mcp-session-id: s{count}")) || *count < 2 => {
                    status(404, "Not Found")
                }
                ("POST", Some("tools/list")) => {
                    json_reply(&json!({"jsonrpc": "2.0", "id": request["id"], "result": {"tools": []}}).to_string(), None)
                }
                ("POST", _) => "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                _ => status(405, "Method Not Allowed"),
            }
        }
    })
    .await;
    let client = Client::builder().version(VersionPin::Legacy).connect_http(&url).await.expect("connects");
    let tools =
        tokio::time::timeout(LIMIT, client.list_tools(None)).await.expect("no hang").expect("after a new session");
    assert!(tools.tools.is_empty());
    assert_eq!(*sessions.lock().expect("lock"), 2, "exactly one new session");
}

#[tokio::test]
async fn a_legacy_stream_that_drops_is_resumed_after_retry_with_last_event_id() {
    let pending = Arc::new(std::sync::Mutex::new(None::<Value>));
    let url = http_server({
        let pending = Arc::clone(&pending);
        move |method, head, body| {
            let request: Value = serde_json::from_str(body).unwrap_or_default();
            match (method, request["method"].as_str()) {
                ("POST", Some("initialize")) => {
                    let result = json!({"jsonrpc": "2.0", "id": request["id"], "result": {
                        "protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "s", "version": "1"}
                    }});
                    json_reply(&result.to_string(), Some("s1"))
                }
                ("POST", Some("tools/list")) => {
                    *pending.lock().expect("lock") = Some(request["id"].clone());
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\nid: e1\nretry: 150\ndata: \n\n"
                        .to_owned()
                }
                ("POST", _) => "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                ("GET", _) if head.contains("last-event-id: e1") => {
                    let id = pending.lock().expect("lock").clone().unwrap_or_default();
                    let answer = json!({"jsonrpc": "2.0", "id": id, "result": {"tools": [{"name": "resumed", "inputSchema": {"type": "object"}}]}});
                    format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\nid: e2\ndata: {answer}\n\n")
                }
                _ => status(405, "Method Not Allowed"),
            }
        }
    })
    .await;
    let client = Client::builder().version(VersionPin::Legacy).connect_http(&url).await.expect("connects");
    let started = std::time::Instant::now();
    let tools = tokio::time::timeout(LIMIT, client.list_tools(None)).await.expect("no hang").expect("resumed");
    assert_eq!(tools.tools[0].name, "resumed");
    assert!(started.elapsed() >= Duration::from_millis(150), "waited for the server's retry");
}

/// Issue 60: a 300 MB `tools/list` from an HTTP upstream was read whole (the gateway
/// above 1 GB), where stdio lines and WebSocket frames are bounded. An answer over the
/// client's `max_message_bytes` now fails that request with [`ClientError::TooLarge`],
/// whether the body says its length, says none, or is an SSE event; the connection
/// stays usable for the next request.
#[tokio::test]
async fn an_http_answer_over_the_limit_fails_its_request_and_nothing_more() {
    const LIMIT_BYTES: usize = 64 * 1024;
    let big = format!(r#"{{"jsonrpc":"2.0","id":2,"result":{{"tools":[],"pad":"{}"}}}}"#, "x".repeat(200 * 1024));
    for shape in ["announced", "unannounced", "sse"] {
        let big = big.clone();
        let url = http_server(move |method, _, body| {
            let request: Value = serde_json::from_str(body).unwrap_or_default();
            if method == "POST" && request["method"] == "server/discover" {
                return json_reply(&discover_result(&request["id"]), None);
            }
            let big = big.replace(r#""id":2"#, &format!(r#""id":{}"#, request["id"]));
            match (request["method"].as_str(), shape) {
                (Some("tools/list"), "announced") => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    300_000_000,
                    &big[..1000]
                ),
                (Some("tools/list"), "unannounced") => {
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{big}")
                }
                (Some("tools/list"), _) => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\nevent: message\ndata: {big}\n\n"
                ),
                _ => json_reply(&format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, request["id"]), None),
            }
        })
        .await;
        let connecting =
            Client::builder().version(VersionPin::Modern).max_message_bytes(LIMIT_BYTES).connect_http(&url);
        let client = tokio::time::timeout(LIMIT, connecting).await.expect("no hang").expect("connects");
        let error =
            tokio::time::timeout(LIMIT, client.list_tools(None)).await.expect("no hang").expect_err("too large");
        assert!(matches!(error, ClientError::TooLarge { limit: LIMIT_BYTES }), "{shape}: {error}");
        // The client goes on: its next request is answered.
        let options = tenet_client::RequestOptions::default();
        let next = client.request_raw("prompts/list", serde_json::json!({}), &options);
        let next = tokio::time::timeout(LIMIT, next).await.expect("no hang");
        assert!(next.is_ok(), "{shape}: {next:?}");
    }
}

/// An error body is read only as far as an error needs (64 KiB): a 500 that announces
/// 100 MB, sends 100 KiB and then nothing more is reported at once, by its status and
/// the start of its body (reading it to its end would wait for good).
#[tokio::test]
async fn an_endless_error_body_is_not_read_to_its_end() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 100000000\r\n\r\n";
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&vec![b'e'; 100 * 1024]).await;
                // Then nothing, with the connection open.
                tokio::time::sleep(Duration::from_secs(600)).await;
            });
        }
    });
    let connecting = Client::builder().version(VersionPin::Modern).connect_http(&url);
    let error = tokio::time::timeout(LIMIT, connecting).await.expect("not read to its end").expect_err("refused");
    let ClientError::Http { status: 500, body } = error else { panic!("{error}") };
    assert!(body.len() <= 300 && body.starts_with("eee"), "{}", body.len());
}

/// Issue 60: an upstream whose error body or `WWW-Authenticate` reflected the request's
/// headers handed the configured `Authorization` value to whoever read the error (a
/// gateway's callers, its `/upstreams`, its log). What the client sends is now taken
/// out of what a server says back: a 500 body, a 401 challenge, a JSON-RPC error in a
/// 400 body.
#[tokio::test]
async fn a_server_that_reflects_the_credentials_gets_them_shown_to_nobody() {
    const TOKEN: &str = "s3cret-gateway-t0ken-0123";
    for (status, shape) in [(500, "body"), (401, "challenge"), (400, "json-rpc")] {
        let url = http_server(move |_, head, _| {
            // The request's head as the server saw it, escaped for a JSON string.
            let seen = head.replace('\\', "\\\\").replace('"', "'").replace("\r\n", " | ");
            match shape {
                "body" => {
                    let body = format!("internal error; you sent: {seen}");
                    format!("HTTP/1.1 500 Oops\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
                }
                "challenge" => format!(
                    "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer error=\"invalid_token\", error_description=\"{seen}\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                ),
                _ => {
                    let body = format!(
                        r#"{{"jsonrpc":"2.0","id":null,"error":{{"code":-32600,"message":"bad request from {seen}","data":{{"head":"{seen}"}}}}}}"#
                    );
                    format!(
                        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                }
            }
        })
        .await;
        let connecting = Client::builder()
            .version(VersionPin::Modern)
            .header("Authorization", format!("Bearer {TOKEN}"))
            .connect_http(&url);
        let error = tokio::time::timeout(LIMIT, connecting).await.expect("no hang").expect_err("refused");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(TOKEN), "{shape}: {shown}");
        assert!(shown.contains("[redacted]"), "{shape}: the server did reflect it: {shown}");
        assert!(shown.contains(&status.to_string()) || matches!(error, ClientError::Server(_)), "{shape}: {shown}");
    }
}

/// The same for a JSON-RPC error in a 200 answer, the usual way a server errs: its
/// message and data never show the credentials sent.
#[tokio::test]
async fn a_json_rpc_error_that_reflects_the_credentials_shows_them_to_nobody() {
    const TOKEN: &str = "s3cret-gateway-t0ken-4567";
    let url = http_server(|method, head, body| {
        let request: Value = serde_json::from_str(body).unwrap_or_default();
        if method == "POST" && request["method"] == "server/discover" {
            return json_reply(&discover_result(&request["id"]), None);
        }
        let seen = head.replace('\\', "\\\\").replace('"', "'").replace("\r\n", " | ");
        let error = format!(
            r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":-32603,"message":"failed for {seen}","data":{{"head":"{seen}"}}}}}}"#,
            request["id"]
        );
        json_reply(&error, None)
    })
    .await;
    let connecting = Client::builder()
        .version(VersionPin::Modern)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .connect_http(&url);
    let client = tokio::time::timeout(LIMIT, connecting).await.expect("no hang").expect("connects");
    let error = tokio::time::timeout(LIMIT, client.list_tools(None)).await.expect("no hang").expect_err("an error");
    let ClientError::Server(e) = &error else { panic!("{error}") };
    let shown = format!("{} {:?}", e.message, e.data);
    assert!(!shown.contains(TOKEN) && shown.contains("[redacted]"), "{shown}");
}

/// Answers `roots/list` only after a long while.
struct SlowRoots;

impl tenet_client::ClientHandler for SlowRoots {
    fn list_roots(
        &self,
    ) -> futures_util::future::BoxFuture<'_, Result<tenet_client::protocol::ListRootsResult, tenet_jsonrpc::ErrorObject>>
    {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(tenet_client::protocol::ListRootsResult { roots: Vec::new() })
        })
    }
}

/// Issue 60: each request a server sent got a task of its own, however many. A
/// connection now answers 64 at once; the rest are refused at once with an error, and
/// the connection still serves the client's own requests.
#[tokio::test]
async fn a_server_that_floods_requests_gets_refusals_past_the_connections_turns() {
    let (end, seen) = scripted(|m| match m["method"].as_str() {
        Some("initialize") => {
            let mut lines = vec![
                json!({"jsonrpc": "2.0", "id": m["id"], "result": {"protocolVersion": "2025-11-25",
                    "capabilities": {"tools": {}}, "serverInfo": {"name": "flood", "version": "1"}}})
                .to_string(),
            ];
            lines.extend(
                (0..100).map(|n| json!({"jsonrpc": "2.0", "id": format!("r{n}"), "method": "roots/list"}).to_string()),
            );
            lines
        }
        Some("tools/list") => vec![json!({"jsonrpc": "2.0", "id": m["id"], "result": {"tools": []}}).to_string()],
        _ => vec![],
    });
    let (read, write) = tokio::io::split(end);
    let client = Client::builder()
        .version(VersionPin::Exact(ProtocolVersion::V2025_11_25))
        .handler(SlowRoots)
        .connect_pipe(read, write)
        .await
        .expect("connects");
    let deadline = tokio::time::Instant::now() + LIMIT;
    let refused = loop {
        let refused: Vec<Value> = seen.lock().await.iter().filter(|m| m.get("error").is_some()).cloned().collect();
        if refused.len() >= 36 || tokio::time::Instant::now() > deadline {
            break refused;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(refused.len(), 36, "64 answered in turn, the rest refused: {refused:?}");
    assert!(refused[0]["error"]["message"].as_str().unwrap().contains("at most 64 requests"), "{}", refused[0]);
    assert!(tokio::time::timeout(LIMIT, client.list_tools(None)).await.expect("no hang").is_ok());
}
