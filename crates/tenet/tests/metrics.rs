//! `GET /metrics` on the real `tenet serve --transport http`: requests counted by
//! method and outcome with latency buckets, the session gauge following initialize and
//! DELETE, a 429 counted, and the knowledge base's index gauges.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";

/// `tenet serve --transport http` on a free loopback port; killed on drop.
struct Server {
    /// The process, killed when the server is dropped.
    _child: common::Killed,
    port: u16,
    /// Its log lines after the one naming the port, as they come.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// The server binds a port of the system's choosing and names it in its log: a
    /// port picked here and let go before the server binds it could be taken by another
    /// test's server in between, and this test would talk to that one.
    fn start(extra: &[&str]) -> Self {
        let mut child = common::tenet_command()
            .args(["serve", "--transport", "http", "--port", "0", "--no-watch", "--log-format", "json"])
            .args(extra)
            .env_remove("TENET_CONFIG")
            .env_remove("TENET_ROOTS")
            .env_remove("TENET_NO_BUILTIN")
            .env_remove("TENET_PORT")
            .env_remove("TENET_LOG_LEVEL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let port = loop {
            let line = lines.next().expect("tenet serve ended before it listened").unwrap();
            let message =
                serde_json::from_str::<Value>(&line).ok().and_then(|l| l["message"].as_str().map(str::to_owned));
            if let Some(url) =
                message.as_deref().and_then(|m| m.strip_prefix("serving MCP over HTTP at http://127.0.0.1:"))
            {
                break url.split('/').next().unwrap().parse::<u16>().unwrap();
            }
        };
        // The rest of the log is read and kept, so that the server never blocks on it.
        let log: std::sync::Arc<std::sync::Mutex<Vec<String>>> = std::sync::Arc::default();
        let kept = std::sync::Arc::clone(&log);
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| kept.lock().unwrap().push(l)));
        Self { _child: common::Killed(child), port, log }
    }

    /// One HTTP/1.1 exchange: status, headers (names lower-cased), body.
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut request = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\nconnection: close\r\n", self.port);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Reply { status, headers, body: body.to_owned() }
    }

    /// A stateless POST of `method` (naming `name` in `Mcp-Name`, if given).
    fn modern(&self, id: u32, method: &str, name: Option<&str>, mut params: Value) -> Reply {
        params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {}});
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        let mut headers = vec![
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", MODERN),
            ("mcp-method", method),
        ];
        if let Some(name) = name {
            headers.push(("mcp-name", name));
        }
        self.send("POST", "/mcp", &headers, &body)
    }

    fn scrape(&self) -> Exposition {
        let reply = self.send("GET", "/metrics", &[], "");
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.headers["content-type"], "application/openmetrics-text; version=1.0.0; charset=utf-8");
        Exposition::parse(&reply.body)
    }
}

struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

/// A parsed OpenMetrics text exposition: every sample by name and label set.
struct Exposition {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
    types: BTreeMap<String, String>,
}

impl Exposition {
    fn parse(text: &str) -> Self {
        assert!(text.ends_with("# EOF\n"), "no EOF marker:\n{text}");
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample line {line:?}"));
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => {
                    let inner = rest.strip_suffix('}').unwrap_or_else(|| panic!("bad labels in {line:?}"));
                    let labels = inner
                        .split(',')
                        .map(|pair| {
                            let (k, v) = pair.split_once('=').unwrap();
                            (k.to_owned(), v.trim_matches('"').to_owned())
                        })
                        .collect();
                    (name, labels)
                }
            };
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            samples.push((name.to_owned(), labels, value));
        }
        Self { samples, types }
    }

    /// The sample `name` whose labels include all of `labels`; `None` if absent.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(v)))
            .map(|(_, _, v)| *v)
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
    }

    fn requests(&self, method: &str, outcome: &str) -> f64 {
        self.get("tenet_requests_total", &[("method", method), ("outcome", outcome)]).unwrap_or(0.0)
    }

    /// The latency buckets of `method`, by upper bound.
    fn buckets(&self, method: &str) -> Vec<(f64, f64)> {
        let mut buckets: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter(|(n, l, _)| {
                n == "tenet_request_duration_seconds_bucket" && l.get("method").map(String::as_str) == Some(method)
            })
            .map(|(_, l, v)| (l["le"].parse().unwrap_or(f64::INFINITY), *v))
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
    }
}

#[test]
fn metrics_count_requests_sessions_refusals_and_the_index() {
    let server = Server::start(&["--rate-limit-for", "tools/list=0.001/2"]);
    let before = server.scrape();
    assert!(before.get("tenet_requests_total", &[]).is_none(), "no request yet, no series");
    assert_eq!(before.value("tenet_requests_in_flight", &[]), 0.0);
    assert_eq!(before.value("tenet_rate_limited_total", &[]), 0.0);
    assert!(before.value("tenet_index_documents", &[]) > 10.0, "the built-in corpus is served");
    assert!(before.value("tenet_index_sections", &[]) > before.value("tenet_index_documents", &[]));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let loaded = before.value("tenet_index_last_update_timestamp_seconds", &[]);
    assert!((now - 300.0..=now).contains(&loaded), "loaded at {loaded}, now {now}");

    for id in 1..=2 {
        let listed = server.modern(id, "tools/call", Some("list_stdlib"), json!({"name": "list_stdlib"}));
        assert_eq!(listed.status, 200, "{}", listed.body);
    }
    let unknown = server.modern(3, "tools/call", Some("no_such_tool"), json!({"name": "no_such_tool"}));
    assert_eq!(serde_json::from_str::<Value>(&unknown.body).unwrap()["error"]["code"], -32602, "{}", unknown.body);
    let statuses: Vec<u16> = (4..=6).map(|id| server.modern(id, "tools/list", None, json!({})).status).collect();
    assert_eq!(statuses, [200, 200, 429], "the third tools/list is over its burst of 2");

    let init = json!({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {"protocolVersion": "2025-11-25",
        "capabilities": {}, "clientInfo": {"name": "metrics-e2e", "version": "0"}}});
    let json_headers = [("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
    let initialized = server.send("POST", "/mcp", &json_headers, &init.to_string());
    assert_eq!(initialized.status, 200, "{}", initialized.body);
    let session = initialized.headers["mcp-session-id"].clone();
    let during = server.scrape();
    assert_eq!(during.value("tenet_sessions", &[("transport", "streamable_http")]), 1.0);

    let deleted = server.send("DELETE", "/mcp", &[("mcp-session-id", &session)], "");
    assert_eq!(deleted.status, 200);
    let after = server.scrape();
    assert_eq!(after.value("tenet_sessions", &[("transport", "streamable_http")]), 0.0);
    assert_eq!(after.requests("tools/call", "ok"), 2.0);
    assert_eq!(after.requests("tools/call", "invalid_params"), 1.0);
    assert_eq!(after.requests("tools/list", "ok"), 2.0);
    assert_eq!(after.requests("initialize", "ok"), 1.0);
    assert_eq!(after.value("tenet_rate_limited_total", &[]), 1.0);
    assert_eq!(after.value("tenet_requests_in_flight", &[]), 0.0);
    // list_stdlib is cacheable: the first call missed, the second was answered from the cache.
    assert_eq!(after.value("tenet_cache_misses_total", &[]), 1.0);
    assert_eq!(after.value("tenet_cache_hits_total", &[]), 1.0);

    assert_eq!(after.types["tenet_requests"], "counter");
    assert_eq!(after.types["tenet_request_duration_seconds"], "histogram");
    let buckets = after.buckets("tools/call");
    assert!(buckets.len() > 10, "{buckets:?}");
    assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, 3.0), "every call falls in +Inf");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "buckets are cumulative: {buckets:?}");
    assert_eq!(after.value("tenet_request_duration_seconds_count", &[("method", "tools/call")]), 3.0);
    assert!(after.value("tenet_request_duration_seconds_sum", &[("method", "tools/call")]) > 0.0);
}

/// Issue 62: which questions the standards leave unanswered, counted by outcome across
/// the MCP tool and the web page; the words themselves logged only when the operator
/// opts in.
#[test]
fn searches_are_counted_by_outcome_and_their_words_logged_only_when_asked() {
    for opted_in in [false, true] {
        let server = Server::start(if opted_in { &["--log-weak-searches"] } else { &[] });
        let search = |id: u32, query: &str| {
            let arguments = json!({"name": "search_stdlib", "arguments": {"query": query}});
            let reply = server.modern(id, "tools/call", Some("search_stdlib"), arguments);
            assert_eq!(reply.status, 200, "{}", reply.body);
        };
        search(1, "goroutine leak");
        search(2, "zqxjvw");
        // One word of three said, the two rarest not: weak.
        search(3, "goroutine zqxjvw kwyjibo");
        assert_eq!(server.send("GET", "/search?q=zqxjvw+plugh", &[], "").status, 200);
        // What the page asks as the user types is not counted.
        assert_eq!(server.send("GET", "/search.json?q=zqxjv", &[], "").status, 200);
        let scraped = server.scrape();
        let count = |outcome: &str| scraped.value("tenet_searches_total", &[("outcome", outcome)]);
        assert_eq!((count("answered"), count("weak"), count("none")), (1.0, 1.0, 2.0), "opted in: {opted_in}");
        assert_eq!(scraped.types["tenet_searches"], "counter");
        // The log is written as the searches are answered: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(5);
        let logged = |words: &str| server.log.lock().unwrap().iter().any(|l| l.contains(words));
        while opted_in && !logged("zqxjvw plugh") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        for words in ["zqxjvw", "goroutine zqxjvw kwyjibo", "zqxjvw plugh"] {
            assert_eq!(logged(words), opted_in, "{words:?} logged: {:#?}", server.log.lock().unwrap());
        }
        assert!(!logged("goroutine leak"), "an answered search is never logged");
    }
}

#[test]
fn metrics_can_be_moved_or_turned_off() {
    let moved = Server::start(&["--metrics-path", "/internal/metrics"]);
    assert_eq!(moved.send("GET", "/internal/metrics", &[], "").status, 200);
    assert_eq!(moved.send("GET", "/metrics", &[], "").status, 404);
    let off = Server::start(&["--no-metrics"]);
    assert_eq!(off.send("GET", "/metrics", &[], "").status, 404);
    let clash = common::tenet_command()
        .args(["serve", "--transport", "http", "--port", "0", "--metrics-path", "/mcp"])
        .env_remove("TENET_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(clash.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&clash.stderr).contains("--metrics-path /mcp"));
}

/// Issue 59's first finding: a 2025-11-25 HTTP session sends no `Mcp-Name`, and its
/// per-tool limit held only for clients that did. The server's door reads the tool
/// from the message, for every era and transport.
#[test]
fn a_per_tool_rate_limit_holds_in_a_legacy_http_session() {
    let server = Server::start(&["--rate-limit-for", "tools/call:search_stdlib=0.1/2"]);
    let json_headers = [("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
    let init =
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::initialize_params("2025-11-25")});
    let initialized = server.send("POST", "/mcp", &json_headers, &init.to_string());
    assert_eq!(initialized.status, 200, "{}", initialized.body);
    let session = initialized.headers["mcp-session-id"].clone();
    let in_session =
        [json_headers[0], json_headers[1], ("mcp-session-id", &session), ("mcp-protocol-version", "2025-11-25")];
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(server.send("POST", "/mcp", &in_session, &note.to_string()).status, 202);
    let replies: Vec<Reply> = (2..=6)
        .map(|id| {
            let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "search_stdlib", "arguments": {"query": "errors"}}});
            server.send("POST", "/mcp", &in_session, &call.to_string())
        })
        .collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 429, 429, 429], "two calls in the burst, the rest refused");
    let refused: Value = serde_json::from_str(&replies[2].body).unwrap();
    assert_eq!(refused["error"]["code"], -32004, "{refused}");
    assert!(replies[2].headers.contains_key("retry-after"));
    // Another tool has no such limit.
    let other =
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "list_stdlib", "arguments": {}}});
    assert_eq!(server.send("POST", "/mcp", &in_session, &other.to_string()).status, 200);
    assert_eq!(server.scrape().value("tenet_rate_limited_total", &[]), 3.0);
}

/// Issue 59: the web page's search runs search_stdlib's engine, and went round the
/// door: `--rate-limit-for tools/call:search_stdlib` held on MCP and not on `/search`.
/// The page's searches now take from the same bucket as the caller's MCP calls.
#[test]
fn a_search_on_the_web_page_is_held_to_the_search_tools_rate_limit() {
    let server = Server::start(&["--rate-limit-for", "tools/call:search_stdlib=0.1/2"]);
    let statuses: Vec<u16> = ["/search.json?q=errors", "/search?q=errors"]
        .iter()
        .map(|path| server.send("GET", path, &[], "").status)
        .collect();
    assert_eq!(statuses, [200, 200], "the burst");
    let refused = server.send("GET", "/search.json?q=errors", &[], "");
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.headers.contains_key("retry-after"));
    let body: Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(body["error"]["code"], -32004, "{body}");
    assert_eq!(server.send("GET", "/search?q=errors", &[], "").status, 429);
    // One bucket for the caller, whichever door: its MCP search is refused too.
    let headers = [("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "search_stdlib", "arguments": {"query": "errors"}, "_meta": common::meta()}});
    let mut modern = headers.to_vec();
    modern.extend([("mcp-protocol-version", MODERN), ("mcp-method", "tools/call"), ("mcp-name", "search_stdlib")]);
    assert_eq!(server.send("POST", "/mcp", &modern, &call.to_string()).status, 429);
    // The rest of the page is not a search.
    assert_eq!(server.send("GET", "/standards/rust/testing", &[], "").status, 200);
    assert_eq!(server.scrape().value("tenet_rate_limited_total", &[]), 3.0);
}

/// Issue 59's session flood: one API key opened 10 000 legacy sessions and every other
/// client got 503 until they idled out. Each caller now holds at most its share
/// (`--max-sessions-per-caller`); past it that caller alone gets 429, and an ended
/// session gives the room back.
#[test]
fn one_caller_cannot_take_every_legacy_session() {
    let keys = "ann 0123456789abcdef-ann stdlib:read; bob 0123456789abcdef-bob stdlib:read";
    let server = Server::start(&["--max-sessions-per-caller", "3", "--max-sessions", "100", "--api-keys", keys]);
    let init =
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::initialize_params("2025-11-25")})
            .to_string();
    let open = |secret: &str| {
        let bearer = format!("Bearer {secret}");
        let headers = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("authorization", bearer.as_str()),
        ];
        server.send("POST", "/mcp", &headers, &init)
    };
    let ann: Vec<Reply> = (0..5).map(|_| open("0123456789abcdef-ann")).collect();
    let statuses: Vec<u16> = ann.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429], "ann's share is three");
    assert!(ann[3].body.contains("this caller holds 3 sessions"), "{}", ann[3].body);
    // Bob is another caller: his sessions are his own to open.
    let bob: Vec<u16> = (0..3).map(|_| open("0123456789abcdef-bob").status).collect();
    assert_eq!(bob, [200, 200, 200]);
    assert_eq!(server.scrape().value("tenet_sessions", &[("transport", "streamable_http")]), 6.0);
    // Ann ends one of hers and may open one again.
    let ended = server.send(
        "DELETE",
        "/mcp",
        &[
            ("authorization", "Bearer 0123456789abcdef-ann"),
            ("mcp-session-id", &ann[0].headers["mcp-session-id"]),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        "",
    );
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert_eq!(open("0123456789abcdef-ann").status, 200);
    assert_eq!(open("0123456789abcdef-ann").status, 429);
}

/// Issue 59's context flood: one caller's conversation contexts (1 100 × 63 KiB in
/// under a second) evicted every other caller's from the shared 64 MiB. Each caller's
/// contexts are now bounded by its own share (4 MiB by default): past it, its own
/// least recently used go, and another caller's stay.
#[test]
fn one_callers_context_flood_leaves_other_callers_contexts_alone() {
    let keys = "ann 0123456789abcdef-ann stdlib:read; mal 0123456789abcdef-mal stdlib:read";
    let server = Server::start(&["--demo", "--api-keys", keys]);
    let remember = |secret: &str, id: u32, conversation: &str, value: Value| {
        let mut params = json!({"name": "remember", "arguments": {"key": "note", "value": value}});
        params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {}, "io.tenet/context": conversation});
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).to_string();
        let bearer = format!("Bearer {secret}");
        let headers = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "remember"),
            ("authorization", bearer.as_str()),
        ];
        server.send("POST", "/mcp", &headers, &body)
    };
    let kept = remember("0123456789abcdef-ann", 1, "ann-trip", json!("Oslo"));
    assert_eq!(kept.status, 200, "{}", kept.body);
    let big = json!("x".repeat(63 * 1024));
    for n in 0..1100 {
        let flood = remember("0123456789abcdef-mal", n + 2, &format!("mal-{n}"), big.clone());
        assert_eq!(flood.status, 200, "{}", flood.body);
        assert!(!flood.body.contains("\"isError\":true"), "{}", flood.body);
    }
    let mut params = json!({"name": "recall", "arguments": {"key": "note"}});
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {}, "io.tenet/context": "ann-trip"});
    let body = json!({"jsonrpc": "2.0", "id": 9999, "method": "tools/call", "params": params}).to_string();
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", MODERN),
        ("mcp-method", "tools/call"),
        ("mcp-name", "recall"),
        ("authorization", "Bearer 0123456789abcdef-ann"),
    ];
    let recalled = server.send("POST", "/mcp", &headers, &body);
    let recalled: Value = serde_json::from_str(&recalled.body).unwrap();
    assert_eq!(recalled["result"]["structuredContent"]["value"], "Oslo", "ann's context stayed: {recalled}");
}

/// Without authorization the share is per client address: every session here comes
/// from 127.0.0.1.
#[test]
fn without_auth_the_session_share_is_per_address() {
    let server = Server::start(&["--max-sessions-per-caller", "2"]);
    let init =
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::initialize_params("2025-11-25")})
            .to_string();
    let headers = [("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
    let statuses: Vec<u16> = (0..3).map(|_| server.send("POST", "/mcp", &headers, &init).status).collect();
    assert_eq!(statuses, [200, 200, 429]);
}

/// HAProxy (Debian's, as CI has it) on a free loopback port in front of `backend`,
/// appending the client's address to `X-Forwarded-For` and connecting to the backend
/// from 127.0.0.9. Killed on drop.
struct Proxy {
    _child: common::Killed,
    _dir: tempfile::TempDir,
    port: u16,
}

impl Proxy {
    fn start(backend: u16) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("haproxy.cfg");
        std::fs::write(
            &config,
            format!(
                "defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n  \
                 option forwardfor\n  option http-server-close\n\
                 frontend mcp\n  bind 127.0.0.1:{port}\n  default_backend tenet\n\
                 backend tenet\n  server tenet 127.0.0.1:{backend} source 127.0.0.9\n"
            ),
        )
        .unwrap();
        let child = std::process::Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy runs (Debian: apt-get install haproxy; CI installs it)");
        let proxy = Self { _child: common::Killed(child), _dir: dir, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        proxy
    }
}

/// The status of a legacy `initialize` POSTed to `port` from the local address `from`,
/// with `forwarded` as its own `X-Forwarded-For`, if given.
fn initialize_from(from: &str, port: u16, forwarded: Option<&str>) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
        socket.connect(([127, 0, 0, 1], port).into()).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    let mut stream = stream;
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::initialize_params("2025-11-25")})
            .to_string();
    let extra = forwarded.map(|f| format!("x-forwarded-for: {f}\r\n")).unwrap_or_default();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\n{extra}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = stream.read_to_string(&mut raw);
    raw.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no HTTP answer: {raw:?}"))
}

/// Behind a reverse proxy every connection comes from the proxy, so without help all
/// clients without authorization share one address's bounds: one client's flood of
/// `initialize` through HAProxy locks every other client out. With the proxy named
/// (`--trusted-proxy`), each client counts as the address HAProxy forwards it for; a
/// client cannot choose that address, through the proxy (HAProxy appends the real one)
/// or around it (a peer that is not a trusted proxy is its own address).
#[test]
fn behind_a_trusted_proxy_each_client_has_its_own_share() {
    let share = ["--max-sessions-per-caller", "2"];
    // Not trusted: the proxy's clients share its address.
    let server = Server::start(&share);
    let proxy = Proxy::start(server.port);
    let first: Vec<u16> = (0..3).map(|_| initialize_from("127.0.0.2", proxy.port, None)).collect();
    assert_eq!(first, [200, 200, 429]);
    assert_eq!(initialize_from("127.0.0.3", proxy.port, None), 429, "another client, the same share");
    drop((proxy, server));

    let server = Server::start(&[&share[..], &["--trusted-proxy", "127.0.0.9"]].concat());
    let proxy = Proxy::start(server.port);
    let first: Vec<u16> = (0..3).map(|_| initialize_from("127.0.0.2", proxy.port, None)).collect();
    assert_eq!(first, [200, 200, 429]);
    assert_eq!(initialize_from("127.0.0.3", proxy.port, None), 200, "another client has its own share");
    // Through the proxy, an address the client writes itself comes before the one
    // HAProxy appends, and is not believed.
    assert_eq!(initialize_from("127.0.0.2", proxy.port, Some("127.0.0.7")), 429);
    // Around the proxy, the header counts for nothing: the peer is its own address.
    let direct: Vec<u16> = ["127.0.0.5", "127.0.0.6", "127.0.0.7"]
        .iter()
        .map(|f| initialize_from("127.0.0.4", server.port, Some(f)))
        .collect();
    assert_eq!(direct, [200, 200, 429]);
}

/// Issue 59: 64 request bodies that never finish held every connection slot. A body
/// must arrive within `--body-timeout`; one sent a byte a second gets 408, its
/// connection is closed, and its slot serves the next client.
#[test]
fn a_body_sent_a_byte_a_second_gets_408_and_frees_its_slot() {
    let server = Server::start(&["--body-timeout", "1.5", "--max-connections", "1"]);
    // The one slot is free once a whole request is served (the readiness probe's
    // connection may still hold it a moment).
    let served = |within: Duration| {
        let deadline = Instant::now() + within;
        loop {
            let reply = server.send("GET", "/health", &[], "");
            if reply.status == 200 {
                return;
            }
            assert!(Instant::now() < deadline, "no slot for a whole request: {}", reply.status);
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    served(Duration::from_secs(10));
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: 100\r\n\r\n{{",
        server.port
    );
    // A body begun, then a byte a second; the answer and how long it took.
    let trickled = || {
        let mut slow = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        slow.write_all(head.as_bytes()).unwrap();
        let began = Instant::now();
        let trickle = std::thread::spawn({
            let mut slow = slow.try_clone().unwrap();
            move || {
                for _ in 0..30 {
                    std::thread::sleep(Duration::from_secs(1));
                    if slow.write_all(b" ").is_err() {
                        return;
                    }
                }
            }
        });
        let mut answer = String::new();
        // A reset after the answer is the server closing; what was read is the answer.
        let _ = slow.read_to_string(&mut answer);
        let waited = began.elapsed();
        drop(slow);
        trickle.join().unwrap();
        (answer, waited)
    };
    let (mut answer, mut waited) = trickled();
    // The health check's connection may hold the one slot a moment after its answer.
    for _ in 0..20 {
        if !answer.starts_with("HTTP/1.1 503") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        (answer, waited) = trickled();
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(waited >= Duration::from_millis(1400) && waited < Duration::from_secs(10), "{waited:?}");
    // The one connection slot is free again: a whole request is served.
    served(Duration::from_secs(10));
}

/// Issue 59: 64 idle GET streams held every connection slot. Each caller now holds at
/// most `--max-streams-per-caller` long-lived streams: a caller that opens a GET stream
/// on each of its sessions gets 429 past its share, and another caller's request still
/// finds a connection.
#[test]
fn one_callers_idle_streams_leave_connections_for_others() {
    let keys = "ann 0123456789abcdef-ann stdlib:read; mal 0123456789abcdef-mal stdlib:read";
    let server = Server::start(&["--max-connections", "6", "--max-streams-per-caller", "2", "--api-keys", keys]);
    let init =
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": common::initialize_params("2025-11-25")})
            .to_string();
    let mal = "Bearer 0123456789abcdef-mal";
    let session = || {
        let headers = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("authorization", mal),
        ];
        let reply = server.send("POST", "/mcp", &headers, &init);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.headers["mcp-session-id"].clone()
    };
    // A GET stream of its own on each of mal's sessions, each connection kept open.
    let open_stream = |id: &str| {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let request = format!(
            "GET /mcp HTTP/1.1\r\nhost: 127.0.0.1:{}\r\naccept: text/event-stream\r\nauthorization: {mal}\r\nmcp-session-id: {id}\r\nmcp-protocol-version: 2025-11-25\r\n\r\n",
            server.port
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        let status: u16 = String::from_utf8_lossy(&head).split(' ').nth(1).unwrap_or("0").parse().unwrap();
        (status, stream)
    };
    let ids: Vec<String> = (0..6).map(|_| session()).collect();
    let mut held = Vec::new();
    let mut statuses = Vec::new();
    for id in &ids {
        let (status, stream) = open_stream(id);
        statuses.push(status);
        if status == 200 {
            held.push(stream);
        }
    }
    assert_eq!(statuses, [200, 200, 429, 429, 429, 429], "mal's share of streams is two");
    // Ann still finds a connection, as often as she asks.
    for _ in 0..4 {
        let listed = server.send(
            "POST",
            "/mcp",
            &[
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("authorization", "Bearer 0123456789abcdef-ann"),
                ("mcp-protocol-version", MODERN),
                ("mcp-method", "tools/list"),
            ],
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {}}}})
            .to_string(),
        );
        assert_eq!(listed.status, 200, "{}", listed.body);
    }
    drop(held);
}

/// The web page's live updates (`GET /events`) hold a connection for as long as the
/// page is open: they count in the caller's share of streams like any other.
#[test]
fn the_pages_event_streams_count_in_the_callers_share() {
    let server = Server::start(&["--max-streams-per-caller", "1"]);
    let open = || {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let request =
            format!("GET /events HTTP/1.1\r\nhost: 127.0.0.1:{}\r\naccept: text/event-stream\r\n\r\n", server.port);
        stream.write_all(request.as_bytes()).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        (String::from_utf8_lossy(&head).into_owned(), stream)
    };
    let (first, held) = open();
    assert!(first.starts_with("HTTP/1.1 200") && first.contains("text/event-stream"), "{first}");
    let (second, _) = open();
    assert!(second.starts_with("HTTP/1.1 429"), "{second}");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (again, _) = open();
        if again.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "the closed page's place never came back: {again}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Issue 59: connections that never send a request held every connection slot. One
/// client address now holds at most `--max-connections-per-address`: the real server,
/// three idle connections from 127.0.0.1, a fourth refused with 429 and counted, while
/// 127.0.0.2 is still served; closed, the three give their places back.
#[test]
fn one_address_holds_at_most_its_share_of_connections() {
    let server = Server::start(&["--max-connections", "8", "--max-connections-per-address", "3"]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let port = server.port;
    let connect_from = |local: [u8; 4]| async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(std::net::SocketAddr::from((local, 0))).unwrap();
        socket.connect(std::net::SocketAddr::from(([127, 0, 0, 1], port))).await.unwrap()
    };
    let health_from = |local: [u8; 4]| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = connect_from(local).await;
        let request = format!("GET /health HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await.unwrap().unwrap();
        String::from_utf8_lossy(&out).into_owned()
    };
    runtime.block_on(async {
        let idle = [
            connect_from([127, 0, 0, 1]).await,
            connect_from([127, 0, 0, 1]).await,
            connect_from([127, 0, 0, 1]).await,
        ];
        let refused = health_from([127, 0, 0, 1]).await;
        assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
        assert!(refused.contains("\"code\":-32000") && refused.contains("holds 3 connections"), "{refused}");
        let served = health_from([127, 0, 0, 2]).await;
        assert!(served.starts_with("HTTP/1.1 200"), "another address is served: {served}");
        drop(idle);
        // Closed, the idle connections give their places back.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !health_from([127, 0, 0, 1]).await.starts_with("HTTP/1.1 200") {
            assert!(Instant::now() < deadline, "the closed connections' places were never given back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    // Every refusal counted (the wait above may have added some).
    let scraped = server.scrape();
    assert!(scraped.value("tenet_http_refused_total", &[("status", "429")]) >= 1.0);
}
