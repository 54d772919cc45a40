//! Legacy sessions shared by replicas: three endpoints, each with its own server,
//! sharing one session store, as replicas behind a load balancer share Redis. Any of
//! them serves any session; a client's response reaches the replica that awaits it;
//! a DELETE ends the session everywhere; a store that does not answer gets a 503.

#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{Harness, LEGACY, body, in_session, read_until, sse_json};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde_json::{Value, json};
use tenet_http::HttpConfig;
use tenet_server::ResourceDef;
use tenet_server::protocol::{LoggingLevel, Resource};
use tenet_server::store::{
    Announcement, Heard, Letter, LoggedAfter, LoggedEvent, MemorySessionStore, SessionChange, SessionRecord,
    SessionStore, SharedTask, TaskRecord, TaskWrite, Unavailable,
};

fn call(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// Three replicas of the test server, each with a resource too (`mem://a`), sharing
/// sessions through `store`.
fn replicas(store: Arc<dyn SessionStore>) -> [Harness; 3] {
    std::array::from_fn(|_| {
        let listing: Resource = serde_json::from_value(json!({"uri": "mem://a", "name": "a"})).unwrap();
        let (builder, probe) = support::builder();
        let server = builder.resource(ResourceDef::text(listing, "a")).build().unwrap();
        Harness::serving(server, probe, HttpConfig { session_store: Some(store.clone()), ..HttpConfig::default() })
    })
}

fn get(session: &str) -> Request<Body> {
    Request::get("/mcp")
        .header("host", "localhost")
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", LEGACY)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn any_replica_serves_a_session_another_opened() {
    let store = MemorySessionStore::new();
    let [a, b, c] = replicas(store.clone());
    let id = a.initialize(LEGACY, json!({})).await;
    let record = store.touch(&id, Duration::from_secs(60)).await.unwrap().expect("shared at initialize");
    assert_eq!(record.client_info.name, "t");

    for (n, replica) in [&b, &c, &a].into_iter().enumerate() {
        let reply = replica.call(in_session(&id, LEGACY).body(body(&call(1, "tools/list", json!({})))).unwrap()).await;
        assert_eq!(reply.status, StatusCode::OK, "replica {n}: {}", reply.text());
        assert!(reply.json()["result"]["tools"].is_array());
    }

    // A log level set through one replica holds on another: the tool's log message
    // (info) is not sent, so the answer is plain JSON rather than a stream.
    let level = call(2, "logging/setLevel", json!({"level": "error"}));
    assert_eq!(b.call(in_session(&id, LEGACY).body(body(&level)).unwrap()).await.status, StatusCode::OK);
    let quiet = call(3, "tools/call", json!({"name": "log_then_answer"}));
    let reply = c.call(in_session(&id, LEGACY).body(body(&quiet)).unwrap()).await;
    assert_eq!(reply.content_type(), "application/json", "{}", reply.text());
    assert_eq!(reply.json()["result"]["content"][0]["text"], "finished");

    // Subscriptions too: made through one replica, an update on another reaches the
    // GET stream held there; and the revision only grows.
    let subscribe = call(4, "resources/subscribe", json!({"uri": "mem://a"}));
    let reply = a.call(in_session(&id, LEGACY).body(body(&subscribe)).unwrap()).await;
    assert_eq!(reply.json()["result"], json!({}), "{}", reply.text());
    let shared = store.touch(&id, Duration::from_secs(60)).await.unwrap().unwrap().state;
    assert!(shared.subscriptions.contains("mem://a"));
    assert_eq!(shared.level, LoggingLevel::Error);
    let mut stream = c.send(get(&id)).await.into_body().into_data_stream();
    c.server.notify_resource_updated("mem://a");
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("notifications/resources/updated")).await;
    drop(stream);
    let unsubscribe = call(5, "resources/unsubscribe", json!({"uri": "mem://a"}));
    assert_eq!(b.call(in_session(&id, LEGACY).body(body(&unsubscribe)).unwrap()).await.status, StatusCode::OK);
    let after = store.touch(&id, Duration::from_secs(60)).await.unwrap().unwrap().state;
    assert!(after.subscriptions.is_empty() && after.revision > shared.revision);

    // DELETE through one replica ends it on all of them, their copies included.
    let delete = Request::delete("/mcp").header("host", "localhost").header("mcp-session-id", &id);
    assert_eq!(c.call(delete.body(Body::empty()).unwrap()).await.status, StatusCode::OK);
    for replica in [&a, &b, &c] {
        let reply = replica.call(in_session(&id, LEGACY).body(body(&call(6, "ping", json!({})))).unwrap()).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(replica.endpoint.session_count(), 0);
    }
}

#[tokio::test]
async fn a_response_posted_to_another_replica_reaches_the_request_awaiting_it() {
    let store = MemorySessionStore::new();
    let [a, b, _] = replicas(store);
    let id = a.initialize(LEGACY, json!({"elicitation": {}})).await;
    let ask = call(7, "tools/call", json!({"name": "ask"}));
    let response = a.send(in_session(&id, LEGACY).body(body(&ask)).unwrap()).await;
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("elicitation/create")).await;
    let request = sse_json(&seen).into_iter().find(|e| e["method"] == "elicitation/create").unwrap();
    assert!(request["id"].is_string(), "a replica's request ids name it: {request}");

    let answer =
        json!({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "accept", "content": {"name": "Ada"}}});
    let reply = b.call(in_session(&id, LEGACY).body(body(&answer)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    read_until(&mut stream, &mut seen, |t| t.contains("\"id\":7")).await;
    assert_eq!(sse_json(&seen).pop().unwrap()["result"]["content"][0]["text"], "\"Ada\"");

    // A response nobody awaits, with an id no replica wrote, is refused where it lands.
    let stray = json!({"jsonrpc": "2.0", "id": 99, "result": {}});
    assert_eq!(b.call(in_session(&id, LEGACY).body(body(&stray)).unwrap()).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_session_lost_by_the_store_is_gone_everywhere() {
    let store = MemorySessionStore::new();
    let [a, b, _] = replicas(store.clone());
    let id = a.initialize(LEGACY, json!({})).await;
    assert_eq!(
        b.call(in_session(&id, LEGACY).body(body(&call(1, "ping", json!({})))).unwrap()).await.status,
        StatusCode::OK
    );
    // As when Redis restarts empty: clients are told to initialize again (404).
    assert!(store.remove(&id).await.unwrap().is_some());
    for replica in [&a, &b] {
        let reply = replica.call(in_session(&id, LEGACY).body(body(&call(2, "ping", json!({})))).unwrap()).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.json()["error"]["message"], "Session not found");
    }
}

/// A store that answers as `MemorySessionStore` until it is switched off, then fails
/// every call as an unreachable Redis does.
#[derive(Debug, Default)]
struct Flaky {
    inner: Arc<MemorySessionStore>,
    down: std::sync::atomic::AtomicBool,
    /// Only the streams' logs fail.
    logs_down: std::sync::atomic::AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), Unavailable> {
        match self.down.load(std::sync::atomic::Ordering::Relaxed) {
            true => Err(Unavailable("connection refused".into())),
            false => Ok(()),
        }
    }
}

impl SessionStore for Flaky {
    fn create<'a>(
        &'a self,
        id: &'a str,
        r: &'a SessionRecord,
        idle: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.create(id, r, idle).await
        })
    }
    fn touch<'a>(&'a self, id: &'a str, idle: Duration) -> BoxFuture<'a, Result<Option<SessionRecord>, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.touch(id, idle).await
        })
    }
    fn hold<'a>(&'a self, id: &'a str, replica: &'a str) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.hold(id, replica).await
        })
    }
    fn change<'a>(
        &'a self,
        id: &'a str,
        c: &'a [SessionChange],
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.change(id, c).await
        })
    }
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<BTreeSet<String>>, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.remove(id).await
        })
    }
    fn send<'a>(&'a self, to: &'a str, letter: Letter) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.send(to, letter).await
        })
    }
    fn inbox(&self, me: &str) -> BoxStream<'static, Letter> {
        self.inner.inbox(me)
    }
    fn put_task<'a>(
        &'a self,
        id: &'a str,
        r: &'a TaskRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<TaskWrite, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.put_task(id, r, ttl).await
        })
    }
    fn fence_task<'a>(
        &'a self,
        id: &'a str,
        seq: u64,
        r: &'a TaskRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.fence_task(id, seq, r, ttl).await
        })
    }
    fn task<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SharedTask>, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.task(id).await
        })
    }
    fn log_event<'a>(
        &'a self,
        stream: &'a str,
        event: &'a LoggedEvent,
        keep: usize,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), Unavailable>> {
        Box::pin(async move {
            self.check()?;
            if self.logs_down.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Unavailable("the log is not written".into()));
            }
            self.inner.log_event(stream, event, keep, ttl).await
        })
    }
    fn lives<'a>(&'a self, replica: &'a str) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.lives(replica).await
        })
    }
    fn announce<'a>(&'a self, from: &'a str, announcement: &'a Announcement) -> BoxFuture<'a, Result<(), Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.announce(from, announcement).await
        })
    }
    fn announcements(&self) -> BoxStream<'static, Heard> {
        self.inner.announcements()
    }
    fn events_after<'a>(
        &'a self,
        stream: &'a str,
        seq: u64,
        wait: Duration,
    ) -> BoxFuture<'a, Result<LoggedAfter, Unavailable>> {
        Box::pin(async move {
            self.check()?;
            self.inner.events_after(stream, seq, wait).await
        })
    }
}

#[tokio::test]
async fn a_store_that_does_not_answer_gets_a_503_and_the_rest_is_served() {
    let store = Arc::new(Flaky::default());
    let [a, _, _] = replicas(store.clone());
    let id = a.initialize(LEGACY, json!({})).await;
    store.down.store(true, std::sync::atomic::Ordering::Relaxed);

    let reply = a.call(in_session(&id, LEGACY).body(body(&call(1, "ping", json!({})))).unwrap()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers["retry-after"], "1");
    assert!(reply.text().contains("connection refused"), "{}", reply.text());
    let init = call(
        0,
        "initialize",
        json!({"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
    );
    let reply = a.call(support::post().body(body(&init)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["error"]["code"], -32603);
    assert_eq!(a.endpoint.session_count(), 1, "the session that could not be shared is not kept");
    // Stateless requests need no store.
    let reply = a.call(support::modern(2, "tools/list", json!({}))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    store.down.store(false, std::sync::atomic::Ordering::Relaxed);
    let reply = a.call(in_session(&id, LEGACY).body(body(&call(3, "ping", json!({})))).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "served again once the store answers");
}

#[tokio::test]
async fn requests_taking_up_a_session_at_once_share_one_copy() {
    let store = MemorySessionStore::new();
    let [a, b, _] = replicas(store);
    let id = a.initialize(LEGACY, json!({})).await;
    // Eight requests reach b together, which has no copy yet: none is cancelled by
    // another's copy replacing its own.
    let calls = (0..8).map(|n| {
        let request = in_session(&id, LEGACY).body(body(&call(n, "tools/call", json!({"name": "slow"})))).unwrap();
        b.call(request)
    });
    for reply in futures_util::future::join_all(calls).await {
        assert_eq!(reply.json()["result"]["content"][0]["text"], "slow done", "{}", reply.text());
    }
    assert_eq!(b.endpoint.session_count(), 1);
}

#[tokio::test]
async fn changes_through_two_replicas_both_hold_everywhere() {
    let store = MemorySessionStore::new();
    let [a, b, c] = replicas(store.clone());
    let id = a.initialize(LEGACY, json!({})).await;
    for replica in [&b, &c] {
        let reply = replica.call(in_session(&id, LEGACY).body(body(&call(1, "ping", json!({})))).unwrap()).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    // b sets the level, then c subscribes: c's write answers with b's change too, and
    // b's copy hears of c's.
    let level = call(2, "logging/setLevel", json!({"level": "error"}));
    assert_eq!(b.call(in_session(&id, LEGACY).body(body(&level)).unwrap()).await.status, StatusCode::OK);
    let subscribe = call(3, "resources/subscribe", json!({"uri": "mem://a"}));
    assert_eq!(c.call(in_session(&id, LEGACY).body(body(&subscribe)).unwrap()).await.status, StatusCode::OK);
    for replica in [&a, &b, &c] {
        // Every copy logs at error only: the info message is not sent (plain JSON).
        let quiet = call(4, "tools/call", json!({"name": "log_then_answer"}));
        let reply = replica.call(in_session(&id, LEGACY).body(body(&quiet)).unwrap()).await;
        assert_eq!(reply.content_type(), "application/json", "{}", reply.text());
    }
    let state = store.touch(&id, Duration::from_secs(60)).await.unwrap().unwrap().state;
    assert_eq!((state.level, state.subscriptions.len()), (LoggingLevel::Error, 1));
}

#[tokio::test]
async fn an_open_stream_hears_of_changes_and_of_the_end_made_through_another_replica() {
    let store = MemorySessionStore::new();
    let [a, b, _] = replicas(store);
    let id = a.initialize(LEGACY, json!({})).await;
    // The GET stream is on b; the subscription is made through a, and no request of
    // the session reaches b after it: b hears of it from a.
    let mut stream = b.send(get(&id)).await.into_body().into_data_stream();
    let subscribe = call(1, "resources/subscribe", json!({"uri": "mem://a"}));
    assert_eq!(a.call(in_session(&id, LEGACY).body(body(&subscribe)).unwrap()).await.status, StatusCode::OK);
    let mut seen = String::new();
    for _ in 0..50 {
        b.server.notify_resource_updated("mem://a");
        let next = tokio::time::timeout(Duration::from_millis(100), futures_util::StreamExt::next(&mut stream)).await;
        if let Ok(Some(Ok(chunk))) = next {
            seen.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        if seen.contains("notifications/resources/updated") {
            break;
        }
    }
    assert!(seen.contains("notifications/resources/updated"), "{seen}");
    // DELETE through a ends b's stream.
    let delete = Request::delete("/mcp").header("host", "localhost").header("mcp-session-id", &id);
    assert_eq!(a.call(delete.body(Body::empty()).unwrap()).await.status, StatusCode::OK);
    let ended = tokio::time::timeout(support::STEP, async {
        while let Some(Ok(_)) = futures_util::StreamExt::next(&mut stream).await {}
    })
    .await;
    assert!(ended.is_ok(), "b's stream did not end");
    assert_eq!(b.endpoint.session_count(), 0);
}

#[tokio::test]
async fn a_cancellation_posted_to_another_replica_cancels_the_request() {
    let store = MemorySessionStore::new();
    let [a, b, _] = replicas(store);
    let id = a.initialize(LEGACY, json!({})).await;
    // b holds a copy before the call, so a knows to tell it.
    assert_eq!(
        b.call(in_session(&id, LEGACY).body(body(&call(1, "ping", json!({})))).unwrap()).await.status,
        StatusCode::OK
    );
    let wait = call(9, "tools/call", json!({"name": "wait_for_cancel", "_meta": {"progressToken": 1}}));
    let response = b.send(in_session(&id, LEGACY).body(body(&wait)).unwrap()).await;
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("notifications/progress")).await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}});
    // a refreshes its view of who holds the session on this request.
    assert_eq!(a.call(in_session(&id, LEGACY).body(body(&cancel)).unwrap()).await.status, StatusCode::ACCEPTED);
    let ended = tokio::time::timeout(support::STEP, async {
        while let Some(Ok(_)) = futures_util::StreamExt::next(&mut stream).await {}
    })
    .await;
    assert!(ended.is_ok(), "the cancelled request's stream did not end");
    assert!(b.probe.cancelled.load(std::sync::atomic::Ordering::SeqCst), "the handler on b was cancelled");
}

/// Three replicas of a server with a tool that runs as a task (`long`: waits `ms`).
fn task_replicas(store: Arc<dyn SessionStore>) -> [Harness; 3] {
    std::array::from_fn(|_| {
        let (builder, probe) = support::builder();
        let server = builder.tool(support::long_task_tool()).build().unwrap();
        Harness::serving(server, probe, HttpConfig { session_store: Some(store.clone()), ..HttpConfig::default() })
    })
}

/// A 2026-07-28 request whose client has the tasks extension.
fn with_tasks(id: i64, method: &str, params: Value) -> Request<Body> {
    let mut params = params;
    params["_meta"] = support::meta(json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}));
    let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let mut builder = support::post().header("mcp-protocol-version", support::MODERN).header("mcp-method", method);
    if let Some(name) = params.get("name").or_else(|| params.get("taskId")).and_then(Value::as_str) {
        builder = builder.header("mcp-name", name);
    }
    builder.body(body(&message)).unwrap()
}

async fn task_status(replica: &Harness, task: &str) -> Value {
    let reply = replica.call(with_tasks(2, "tasks/get", json!({"taskId": task}))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["result"].clone()
}

#[tokio::test]
async fn any_replica_answers_for_a_task_and_its_cancel_reaches_the_one_running_it() {
    let store = MemorySessionStore::new();
    let [a, b, c] = task_replicas(store);
    let created = a.call(with_tasks(1, "tools/call", json!({"name": "long", "arguments": {"ms": 60_000}}))).await;
    let task = created.json()["result"]["taskId"].as_str().unwrap_or_else(|| panic!("{}", created.text())).to_owned();
    assert_eq!(task_status(&b, &task).await["status"], "working", "b reads a's task at once");
    let cancel = c.call(with_tasks(3, "tasks/cancel", json!({"taskId": task}))).await;
    assert_eq!(cancel.json()["result"]["resultType"], "complete", "{}", cancel.text());
    for replica in [&a, &b, &c] {
        assert_eq!(task_status(replica, &task).await["status"], "cancelled");
    }
    // Someone else's task, or none: unknown, everywhere.
    let unknown = b.call(with_tasks(4, "tasks/get", json!({"taskId": "0".repeat(32)}))).await;
    assert_eq!(unknown.json()["error"]["code"], -32602);
}

#[tokio::test]
async fn a_task_whose_replica_died_ends_as_failed() {
    let store = MemorySessionStore::new();
    let [a, b, _] = task_replicas(store);
    let created = a.call(with_tasks(1, "tools/call", json!({"name": "long", "arguments": {"ms": 60_000}}))).await;
    let task = created.json()["result"]["taskId"].as_str().unwrap().to_owned();
    // a stops reading its inbox, as a replica that died.
    a.shutdown.cancel();
    let mut status = Value::Null;
    for _ in 0..100 {
        status = task_status(&b, &task).await;
        if status["status"] != "working" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status["status"], "failed", "{status}");
    assert!(status["error"]["message"].as_str().unwrap().contains("stopped"), "{status}");
}

/// The ids of the events in an SSE text, in order.
fn event_ids(text: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.strip_prefix("id: ")).map(str::to_owned).collect()
}

fn resume(session: &str, last_event_id: &str) -> Request<Body> {
    let mut request = get(session);
    request.headers_mut().insert("last-event-id", last_event_id.parse().unwrap());
    request
}

/// Reads a streaming body to its end (or fails the test).
async fn read_to_end(body: &mut axum::body::BodyDataStream) -> String {
    let mut text = String::new();
    let read = tokio::time::timeout(support::STEP, async {
        while let Some(chunk) = futures_util::StreamExt::next(body).await {
            text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        }
    })
    .await;
    assert!(read.is_ok(), "the stream did not end: {text}");
    text
}

#[tokio::test]
async fn a_stream_is_resumed_on_another_replica_with_every_event_after_the_last_once() {
    let store = MemorySessionStore::new();
    let [a, b, c] = replicas(store);
    let id = a.initialize(LEGACY, json!({})).await;
    let progress = call(8, "tools/call", json!({"name": "progress", "_meta": {"progressToken": "p"}}));
    let mut stream =
        a.send(in_session(&id, LEGACY).body(body(&progress)).unwrap()).await.into_body().into_data_stream();
    let whole = read_to_end(&mut stream).await;
    let ids = event_ids(&whole);
    assert_eq!(ids.len(), 4, "priming, two progress notifications, the answer: {whole}");

    // After the first progress notification, through b: the second, then the answer; the stream ends.
    let mut resumed = b.send(resume(&id, &ids[1])).await.into_body().into_data_stream();
    let text = read_to_end(&mut resumed).await;
    assert_eq!(event_ids(&text), ids[2..], "{text}");
    let events = sse_json(&text);
    assert_eq!(events[0]["params"]["progress"], 2.0);
    assert_eq!(events[1]["result"]["content"][0]["text"], "done");
    // After the last event: nothing more.
    let mut rest = c.send(resume(&id, &ids[3])).await.into_body().into_data_stream();
    assert!(sse_json(&read_to_end(&mut rest).await).is_empty());

    // An id naming a stream no live replica serves: nothing to replay, and the stream ends.
    let mut none = c.send(resume(&id, "abcdefabcdef-7.3.0")).await.into_body().into_data_stream();
    assert!(sse_json(&read_to_end(&mut none).await).is_empty());

    // Another session's stream, or an event that was never sent, is refused.
    let other = a.initialize(LEGACY, json!({})).await;
    let mut theirs =
        a.send(in_session(&other, LEGACY).body(body(&progress)).unwrap()).await.into_body().into_data_stream();
    let their_ids = event_ids(&read_to_end(&mut theirs).await);
    for bad in [their_ids[1].clone(), format!("{}9", ids[3])] {
        let refused = c.call(resume(&id, &bad)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}: {}", refused.text());
        assert!(refused.text().contains("Last-Event-ID"), "{}", refused.text());
    }
}

#[tokio::test]
async fn a_stream_still_running_is_followed_from_another_replica_until_it_ends() {
    let store = MemorySessionStore::new();
    let [a, b, _] = replicas(store);
    let id = a.initialize(LEGACY, json!({})).await;
    let wait = call(9, "tools/call", json!({"name": "wait_for_cancel", "_meta": {"progressToken": 1}}));
    let mut stream = a.send(in_session(&id, LEGACY).body(body(&wait)).unwrap()).await.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("notifications/progress")).await;
    drop(stream);
    let priming = event_ids(&seen)[0].clone();

    // The client's connection broke after the priming event; it resumes through b.
    let mut resumed = b.send(resume(&id, &priming)).await.into_body().into_data_stream();
    let mut text = String::new();
    read_until(&mut resumed, &mut text, |t| t.contains("notifications/progress")).await;
    assert_eq!(event_ids(&text), event_ids(&seen)[1..]);
    // Cancelled (through b), the request ends on a; b's follower sees the stream's end.
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}});
    assert_eq!(b.call(in_session(&id, LEGACY).body(body(&cancel)).unwrap()).await.status, StatusCode::ACCEPTED);
    read_to_end(&mut resumed).await;
    assert!(a.probe.cancelled.load(std::sync::atomic::Ordering::SeqCst));
}

#[tokio::test]
async fn a_stream_a_handler_ended_early_is_polled_for_its_answer_through_another_replica() {
    let store = MemorySessionStore::new();
    let [a, b, _] = replicas(store);
    let id = a.initialize(LEGACY, json!({})).await;
    let poll = call(4, "tools/call", json!({"name": "poll"}));
    let reply = a.call(in_session(&id, LEGACY).body(body(&poll)).unwrap()).await;
    assert_eq!(reply.content_type(), "text/event-stream");
    assert!(reply.events().is_empty(), "a ends the stream after the priming event: {}", reply.text());
    let priming = event_ids(&reply.text())[0].clone();
    // The client polls through b, which follows a's stream through the store.
    let mut resumed = b.send(resume(&id, &priming)).await.into_body().into_data_stream();
    let events = sse_json(&read_to_end(&mut resumed).await);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["result"]["content"][0]["text"], "polled");
}

/// Reports progress, ends its stream for the client to poll, answers 100 ms later.
async fn progress_then_poll(ctx: tenet_server::Context) -> &'static str {
    ctx.progress(1.0, None, None).await;
    ctx.close_stream().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    "polled"
}

#[tokio::test]
async fn a_stream_whose_events_the_store_did_not_log_is_not_ended_early_for_polling() {
    let store = Arc::new(Flaky::default());
    let (builder, probe) = support::builder();
    let server = builder.tool(tenet_server::ToolDef::new("progress_then_poll", progress_then_poll)).build().unwrap();
    let config = HttpConfig { session_store: Some(store.clone()), ..HttpConfig::default() };
    let a = Harness::serving(server, probe, config);
    let id = a.initialize(LEGACY, json!({})).await;
    let poll = call(4, "tools/call", json!({"name": "progress_then_poll", "_meta": {"progressToken": "p"}}));
    // Logged, the stream ends after the progress notification: the answer is polled for.
    let ended = sse_json(&a.call(in_session(&id, LEGACY).body(body(&poll)).unwrap()).await.text());
    assert_eq!(ended.len(), 1, "the progress notification alone: {ended:?}");
    // Not logged, a resumption on another replica would stop at the gap: the stream
    // stays live and carries the answer.
    store.logs_down.store(true, std::sync::atomic::Ordering::Relaxed);
    let poll = call(5, "tools/call", json!({"name": "progress_then_poll", "_meta": {"progressToken": "q"}}));
    let live = sse_json(&a.call(in_session(&id, LEGACY).body(body(&poll)).unwrap()).await.text());
    assert_eq!(live.len(), 2, "{live:?}");
    assert_eq!(live[1]["result"]["content"][0]["text"], "polled");
}

#[tokio::test]
async fn a_stream_followed_from_another_replica_ends_when_its_replica_dies() {
    let store = MemorySessionStore::new();
    let [a, b, _] = replicas(store.clone());
    let id = a.initialize(LEGACY, json!({})).await;
    let wait = call(9, "tools/call", json!({"name": "wait_for_cancel", "_meta": {"progressToken": 1}}));
    let mut stream = a.send(in_session(&id, LEGACY).body(body(&wait)).unwrap()).await.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("notifications/progress")).await;
    let progress = event_ids(&seen)[1].clone();
    let mut resumed = b.send(resume(&id, &progress)).await.into_body().into_data_stream();
    let replica = progress.split('-').next().unwrap().to_owned();
    assert!(store.lives(&replica).await.unwrap(), "the event id names a's replica");
    // a dies: it stops reading its inbox (its lease goes) and its streams end.
    a.shutdown.cancel();
    let text = read_to_end(&mut resumed).await;
    assert!(sse_json(&text).is_empty(), "nothing was sent after the progress notification: {text}");
    assert!(!store.lives(&replica).await.unwrap());
}

#[tokio::test]
async fn what_one_replica_announces_reaches_streams_held_by_the_others() {
    let store = MemorySessionStore::new();
    let [a, b, c] = replicas(store);
    let id = a.initialize(LEGACY, json!({})).await;
    let subscribe = call(1, "resources/subscribe", json!({"uri": "mem://a"}));
    assert_eq!(a.call(in_session(&id, LEGACY).body(body(&subscribe)).unwrap()).await.status, StatusCode::OK);
    // The session's GET stream on b; a 2026-07-28 listen stream on c.
    let mut legacy = b.send(get(&id)).await.into_body().into_data_stream();
    let listen = support::modern(11, "subscriptions/listen", json!({"notifications": {"toolsListChanged": true}}));
    let mut modern = c.send(listen).await.into_body().into_data_stream();
    let mut heard = String::new();
    read_until(&mut modern, &mut heard, |t| t.contains("acknowledged")).await;

    // Changes made on a only.
    a.server.notify_resource_updated("mem://a");
    assert!(a.server.remove_tool("echo"));
    let mut seen = String::new();
    read_until(&mut legacy, &mut seen, |t| t.contains("notifications/resources/updated")).await;
    read_until(&mut legacy, &mut seen, |t| t.contains("notifications/tools/list_changed")).await;
    read_until(&mut modern, &mut heard, |t| t.contains("notifications/tools/list_changed")).await;
    assert!(!heard.contains("resources/updated"), "the listen stream did not ask for it: {heard}");

    // Every replica announcing the same change (each reloaded the same files) is heard once.
    for replica in [&a, &b, &c] {
        replica.server.announce(tenet_server::ServerEvent::PromptsChanged);
    }
    read_until(&mut legacy, &mut seen, |t| t.contains("notifications/prompts/list_changed")).await;
    let late = tokio::time::timeout(Duration::from_millis(300), futures_util::StreamExt::next(&mut legacy)).await;
    let late = late.ok().flatten().map(|chunk| String::from_utf8_lossy(&chunk.unwrap()).into_owned());
    assert!(late.is_none(), "heard twice: {late:?}");
    assert_eq!(seen.matches("notifications/prompts/list_changed").count(), 1, "{seen}");
}

#[tokio::test]
async fn a_listen_stream_watches_a_task_another_replica_runs() {
    let store = MemorySessionStore::new();
    let [a, b, _] = task_replicas(store);
    let created = a.call(with_tasks(1, "tools/call", json!({"name": "long", "arguments": {"ms": 300}}))).await;
    let task = created.json()["result"]["taskId"].as_str().unwrap_or_else(|| panic!("{}", created.text())).to_owned();
    let listen = with_tasks(2, "subscriptions/listen", json!({"notifications": {"taskIds": [task, "0".repeat(32)]}}));
    let mut stream = b.send(listen).await.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("\"completed\"")).await;
    let events = sse_json(&seen);
    let ack = events.iter().find(|e| e["method"] == "notifications/subscriptions/acknowledged").unwrap();
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!([task]), "a's task, not the unknown one: {ack}");
    let statuses: Vec<&str> = events
        .iter()
        .filter(|e| e["method"] == "notifications/tasks")
        .map(|e| e["params"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["working", "completed"], "as it was, then its change on a: {seen}");
    let done = events.iter().rfind(|e| e["method"] == "notifications/tasks").unwrap();
    assert_eq!(done["params"]["result"]["content"][0]["text"], "waited 300 ms", "{done}");
}

/// A 2025-11-25 task request of the session `id` through `replica`; the answer.
async fn ask(replica: &Harness, id: &str, n: i64, method: &str, task: &str) -> Value {
    let request = in_session(id, LEGACY).body(body(&call(n, method, json!({"taskId": task})))).unwrap();
    replica.call(request).await.json()
}

#[tokio::test]
async fn a_legacy_sessions_task_is_served_by_every_replica_and_cancelled_through_another() {
    let store = MemorySessionStore::new();
    let [a, b, c] = task_replicas(store.clone());
    let id = a.initialize(LEGACY, json!({})).await;
    let task_call = |n: i64, ms: u64| {
        let params = json!({"name": "long", "arguments": {"ms": ms}, "task": {"ttl": 60_000}});
        in_session(&id, LEGACY).body(body(&call(n, "tools/call", params))).unwrap()
    };
    let quick = a.call(task_call(1, 200)).await;
    let quick =
        quick.json()["result"]["task"]["taskId"].as_str().unwrap_or_else(|| panic!("{}", quick.text())).to_owned();
    // Made a moment later (tasks made in one millisecond list in no particular order).
    tokio::time::sleep(Duration::from_millis(5)).await;
    let slow = b.call(task_call(2, 60_000)).await.json()["result"]["task"]["taskId"].as_str().unwrap().to_owned();

    // Polled on b and c, its result waited for on c: the task runs on a.
    assert_eq!(ask(&b, &id, 3, "tasks/get", &quick).await["result"]["status"], "working");
    let result = ask(&c, &id, 4, "tasks/result", &quick).await;
    assert_eq!(result["result"]["content"][0]["text"], "waited 200 ms", "{result}");
    assert_eq!(result["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"], quick);
    assert_eq!(ask(&b, &id, 5, "tasks/get", &quick).await["result"]["status"], "completed");
    // Listed by any replica, oldest first, wherever each runs.
    let listed = ask(&c, &id, 6, "tasks/list", "").await;
    let ids: Vec<&str> =
        listed["result"]["tasks"].as_array().unwrap().iter().map(|t| t["taskId"].as_str().unwrap()).collect();
    assert_eq!(ids, [quick.as_str(), slow.as_str()], "{listed}");
    // Cancelled through c, the task stops on b, where it runs.
    let cancelled = ask(&c, &id, 7, "tasks/cancel", &slow).await;
    assert_eq!(cancelled["result"]["status"], "cancelled", "{cancelled}");
    assert_eq!(ask(&a, &id, 8, "tasks/get", &slow).await["result"]["status"], "cancelled");
    assert_eq!(ask(&b, &id, 9, "tasks/get", &slow).await["result"]["status"], "cancelled", "the runner agrees");
    let again = ask(&a, &id, 10, "tasks/cancel", &slow).await;
    assert!(again["error"]["message"].as_str().unwrap().contains("already ended"), "{again}");

    // Another session's tasks are unknown here, wherever they run.
    let other = b.initialize(LEGACY, json!({})).await;
    let request = in_session(&other, LEGACY).body(body(&call(11, "tasks/get", json!({"taskId": quick})))).unwrap();
    assert_eq!(c.call(request).await.json()["error"]["code"], -32602);
}

#[tokio::test]
async fn a_legacy_task_whose_replica_died_ends_as_failed_everywhere() {
    let store = MemorySessionStore::new();
    let [a, b, _] = task_replicas(store);
    let id = a.initialize(LEGACY, json!({})).await;
    let params = json!({"name": "long", "arguments": {"ms": 60_000}, "task": {}});
    let created = a.call(in_session(&id, LEGACY).body(body(&call(1, "tools/call", params))).unwrap()).await;
    let task = created.json()["result"]["task"]["taskId"].as_str().unwrap().to_owned();
    // a stops reading its inbox, as a replica that died.
    a.shutdown.cancel();
    let request = in_session(&id, LEGACY).body(body(&call(2, "tasks/result", json!({"taskId": task})))).unwrap();
    let result = tokio::time::timeout(support::STEP, b.call(request)).await.expect("tasks/result ends").json();
    assert!(result["error"]["message"].as_str().unwrap().contains("stopped before it ended"), "{result}");
    let request = in_session(&id, LEGACY).body(body(&call(3, "tasks/get", json!({"taskId": task})))).unwrap();
    assert_eq!(b.call(request).await.json()["result"]["status"], "failed");
}

#[tokio::test]
async fn a_listen_stream_hears_that_a_task_failed_when_its_replica_died() {
    let store = MemorySessionStore::new();
    let [a, b, _] = task_replicas(store);
    let created = a.call(with_tasks(1, "tools/call", json!({"name": "long", "arguments": {"ms": 60_000}}))).await;
    let task = created.json()["result"]["taskId"].as_str().unwrap().to_owned();
    // Each id once, whatever the request repeats.
    let listen = with_tasks(2, "subscriptions/listen", json!({"notifications": {"taskIds": [task, task]}}));
    let mut stream = b.send(listen).await.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("\"working\"")).await;
    // a dies; nobody asks for the task: b reads it again by itself.
    a.shutdown.cancel();
    let failed = tokio::time::timeout(Duration::from_secs(15), async {
        while !seen.contains("\"failed\"") {
            let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut stream).await else { break };
            seen.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await;
    assert!(failed.is_ok() && seen.contains("stopped before it ended"), "{seen}");
    let ack = sse_json(&seen).into_iter().find(|e| e["method"] == "notifications/subscriptions/acknowledged").unwrap();
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!([task]));

    // A stream may watch so many tasks.
    let many: Vec<String> = (0..300).map(|n| format!("{n:032x}")).collect();
    let listen = with_tasks(3, "subscriptions/listen", json!({"notifications": {"taskIds": many}}));
    let refused = b.call(listen).await;
    assert!(refused.text().contains("Too many taskIds"), "{}", refused.text());
}

#[tokio::test]
async fn a_replica_killed_while_it_waits_for_a_clients_answer_loses_only_that_call() {
    let store = MemorySessionStore::new();
    let [a, b, _] = replicas(store.clone());
    let id = a.initialize(LEGACY, json!({"elicitation": {}})).await;
    let ask = call(7, "tools/call", json!({"name": "ask"}));
    let mut stream = a.send(in_session(&id, LEGACY).body(body(&ask)).unwrap()).await.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, |t| t.contains("elicitation/create")).await;
    let request = sse_json(&seen).into_iter().find(|e| e["method"] == "elicitation/create").unwrap();
    let asked = event_ids(&seen).last().unwrap().clone();
    drop(stream);
    // a dies while it waits; the client's answer reaches b, which takes it (202) and
    // has nobody to give it to.
    a.shutdown.cancel();
    // Dead as the store sees it (its inbox no longer read) before the answer comes.
    let replica = request["id"].as_str().unwrap().split('-').next().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + support::STEP;
    while store.lives(&replica).await.unwrap() {
        assert!(tokio::time::Instant::now() < deadline, "a still reads its inbox");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answer =
        json!({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "accept", "content": {"name": "Ada"}}});
    assert_eq!(b.call(in_session(&id, LEGACY).body(body(&answer)).unwrap()).await.status, StatusCode::ACCEPTED);
    // The call's stream, resumed on b, ends with what a sent; the session goes on.
    let mut resumed = b.send(resume(&id, &asked)).await.into_body().into_data_stream();
    let rest = read_to_end(&mut resumed).await;
    assert!(sse_json(&rest).is_empty(), "{rest}");
    let ping = b.call(in_session(&id, LEGACY).body(body(&call(8, "ping", json!({})))).unwrap()).await;
    assert_eq!(ping.json()["result"], json!({}), "{}", ping.text());
}
