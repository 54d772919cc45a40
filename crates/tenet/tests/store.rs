//! `tenet serve` with a shared store (`--store-url`, a real `redis-server` on a loopback
//! port): two processes share conversations' contexts; a request that needs the store
//! while it is down gets a clear error and the rest is served; `/ready` follows the
//! store; the store's operations are in `/metrics`.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use crate::common::{Tenet, assert_result, stateless, tool_text};
use serde_json::{Value, json};
use tenet_redis::test_support::{RedisServer, free_port};

const SECRET: &str = "a secret shared by every replica";

/// `tenet serve --demo` on stdio with the store at `url`.
fn replica(url: &str) -> Tenet {
    Tenet::start_without_env(
        &[
            "serve",
            "--demo",
            "--log-level",
            "warn",
            "--store-url",
            url,
            "--state-secret",
            SECRET,
            "--store-timeout",
            "0.5",
        ],
        &["TENET_STORE_URL", "TENET_STATE_SECRET", "TENET_STATE_SECRET_PREVIOUS", "TENET_STORE_PREFIX"],
    )
}

/// `tools/call NAME ARGUMENTS` in the conversation `conversation`, 2026-07-28.
fn call(tenet: &mut Tenet, id: &str, name: &str, arguments: Value, conversation: &str) -> Value {
    let mut params = json!({"name": name, "arguments": arguments});
    params["_meta"] = common::meta();
    params["_meta"]["io.tenet/context"] = json!(conversation);
    let id = json!(id);
    let response = tenet.call(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}));
    assert_result(&response, &id).clone()
}

#[test]
fn two_replicas_share_a_conversation_through_the_store() {
    let redis = RedisServer::start();
    let (mut one, mut two) = (replica(&redis.url()), replica(&redis.url()));
    let set = call(&mut one, "1", "remember", json!({"key": "city", "value": "Oslo"}), "trip-1");
    assert_eq!(set["structuredContent"]["version"].as_u64().map(|v| v > 0), Some(true), "{set}");
    let got = call(&mut two, "2", "recall", json!({"key": "city"}), "trip-1");
    assert_eq!(got["structuredContent"]["value"], "Oslo", "{got}");
    let other = call(&mut two, "3", "recall", json!({"key": "city"}), "trip-2");
    assert_eq!(other["structuredContent"]["found"], false, "another conversation: {other}");
    assert!(redis.keys("tenet:ctx:*trip-1") == 1, "kept under the default prefix");
}

#[test]
fn with_the_store_down_what_needs_it_fails_clearly_and_the_rest_is_served() {
    let mut redis = RedisServer::start();
    let mut tenet = replica(&redis.url());
    call(&mut tenet, "1", "remember", json!({"key": "k", "value": 1}), "c");
    redis.stop();
    let started = Instant::now();
    let failed = call(&mut tenet, "2", "recall", json!({"key": "k"}), "c");
    assert_eq!(failed["isError"], true, "{failed}");
    assert!(tool_text(&failed).contains("context store is unavailable"), "{failed}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let id = json!("echo");
    let echo = tenet.call(&stateless(id.clone(), "tools/call", json!({"name": "echo", "arguments": {"text": "hi"}})));
    assert_eq!(tool_text(assert_result(&echo, &id)), "hi", "what does not need the store is served");
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let back = call(&mut tenet, "3", "remember", json!({"key": "k", "value": 2}), "c");
        if back["isError"] != true {
            break;
        }
        assert!(Instant::now() < deadline, "the store never came back: {back}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ready_follows_the_store_and_metrics_count_its_operations() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let http = free_port().to_string();
    let mut server = common::Killed(
        common::tenet_command()
            .args(["serve", "--demo", "--transport", "http", "--port", &http, "--log-level", "warn"])
            // Its own state secret: no key to agree on through a store that is down.
            .args(["--store-url", &url, "--store-timeout", "0.3", "--state-secret", SECRET])
            .env_remove("TENET_STORE_URL")
            .env_remove("TENET_STATE_SECRET")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ready = |want: u16| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some((status, body)) = get(&http, "/ready")
                && status == want
            {
                return body;
            }
            assert!(Instant::now() < deadline, "/ready never answered {want}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let why = ready(503);
    assert!(why.contains("the shared store is unreachable"), "{why}");
    // Redis comes up on that port: ready.
    let mut redis = RedisServer::start_on(port);
    ready(200);
    let (_, metrics) = get(&http, "/metrics").unwrap();
    assert!(metrics.contains(r#"tenet_store_operations_total{op="time",outcome="ok"}"#), "{metrics}");
    redis.stop();
    ready(503);
    let _ = server.kill();
    let _ = server.wait();
}

/// `GET path` on 127.0.0.1:`port`: the status and the body; `None` when nothing answers.
fn get(port: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\r\n").ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

#[test]
fn the_store_settings_are_checked_before_serving() {
    let refused = |args: &[&str]| {
        let out = common::tenet_command().args(["serve", "--demo"]).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(refused(&["--store-url", "mysql://h/0"]).contains("--store-url"));
    assert!(refused(&["--state-secret", "short"]).contains("at least 16"));
    assert!(refused(&["--state-secret-previous", SECRET]).contains("give --state-secret"));
}

/// `tenet serve --demo` on stdio with the store at `url` and no `--state-secret`.
fn replica_without_secret(url: &str) -> Tenet {
    Tenet::start_without_env(
        &["serve", "--demo", "--log-level", "warn", "--store-url", url, "--store-timeout", "0.5"],
        &["TENET_STORE_URL", "TENET_STATE_SECRET", "TENET_STATE_SECRET_PREVIOUS", "TENET_STORE_PREFIX"],
    )
}

/// The `_meta` of a 2026-07-28 client that answers form elicitations.
fn eliciting_meta() -> Value {
    let mut meta = common::meta();
    meta["io.modelcontextprotocol/clientCapabilities"] = json!({"elicitation": {"form": {}}});
    meta
}

/// Begins an input round of the demo's `welcome` tool on `tenet`: its `requestState`
/// and the `inputResponses` that answer it.
fn begin_round(tenet: &mut Tenet, id: u64) -> (String, Value) {
    let ask = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "welcome", "arguments": {}, "_meta": eliciting_meta()}});
    let first = tenet.call(&ask);
    let asked = assert_result(&first, &json!(id));
    assert_eq!(asked["resultType"], "input_required", "{first}");
    let state = asked["requestState"].as_str().unwrap().to_owned();
    let key = asked["inputRequests"].as_object().unwrap().keys().next().unwrap().clone();
    (state, json!({ key: {"action": "accept", "content": {"name": "Ada"}} }))
}

/// Continues a round [`begin_round`] began (on any replica) on `tenet`: the response.
fn continue_round(tenet: &mut Tenet, id: u64, (state, answers): &(String, Value)) -> Value {
    tenet.call(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "welcome",
        "arguments": {}, "inputResponses": answers, "requestState": state, "_meta": eliciting_meta()}}))
}

/// Issue 59: replicas given a store but no `--state-secret` agree on the key that signs
/// input rounds through the store, so a round begun on one continues on another (before,
/// each had a random key of its own and the second round failed its integrity check).
#[test]
fn replicas_without_a_state_secret_continue_each_others_input_rounds() {
    let redis = RedisServer::start();
    let (mut one, mut two) = (replica_without_secret(&redis.url()), replica_without_secret(&redis.url()));
    let round = begin_round(&mut one, 1);
    let second = continue_round(&mut two, 2, &round);
    let done = assert_result(&second, &json!(2));
    assert!(tool_text(done).contains("Ada"), "{second}");
    assert!(redis.keys("tenet:state-key") == 1);
}

/// Issue 59: the store lost its data (Redis restarted without persistence, as the
/// replicas' compose file runs it) and a replica started since agreed on a new state key
/// there. The replica from before adopts it within a couple of seconds, so rounds cross
/// both ways again, and a round it began under its old key still continues on it. Before,
/// it kept its old key for good, and every round begun on the new replica failed its
/// integrity check there.
#[test]
fn replicas_agree_on_the_state_key_again_after_the_store_loses_it() {
    let redis = RedisServer::start();
    let mut one = replica_without_secret(&redis.url());
    let before = begin_round(&mut one, 1);
    redis.cli(&["FLUSHALL"]).unwrap();
    // What a replica started after the loss writes (SET, not NX: whatever `one` wrote back).
    let theirs = "f".repeat(64);
    redis.cli(&["SET", "tenet:state-key", &theirs]).unwrap();
    let mut two = replica_without_secret(&redis.url());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut id = 10;
    loop {
        id += 1;
        let round = begin_round(&mut two, id);
        id += 1;
        let answer = continue_round(&mut one, id, &round);
        if answer.get("result").is_some() {
            assert!(tool_text(&answer["result"]).contains("Ada"), "{answer}");
            break;
        }
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("integrity check failed"), "only the old key may refuse it: {answer}");
        assert!(Instant::now() < deadline, "the first replica never adopted the store's new key: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(redis.cli(&["GET", "tenet:state-key"]).as_deref(), Some(theirs.as_str()), "the store's key stays");
    let round = begin_round(&mut one, 100);
    let answer = continue_round(&mut two, 101, &round);
    assert!(tool_text(assert_result(&answer, &json!(101))).contains("Ada"), "begun on the first: {answer}");
    let answer = continue_round(&mut one, 102, &before);
    assert!(tool_text(assert_result(&answer, &json!(102))).contains("Ada"), "begun before the loss: {answer}");
}

/// Issue 59 ("all configurable"): the shares of contexts and tasks are flags, not
/// constants. With `--max-contexts-per-caller 2` a caller's third conversation drops its
/// least recently used one; with `--max-tasks 1` a second task is refused while the first
/// runs, with a clear error.
#[test]
fn the_shares_of_contexts_and_tasks_are_set_by_flags() {
    let mut tenet = Tenet::start_without_env(
        &["serve", "--demo", "--log-level", "warn", "--max-contexts-per-caller", "2", "--max-tasks", "1"],
        &["TENET_STORE_URL", "TENET_MAX_CONTEXTS_PER_CALLER", "TENET_MAX_TASKS"],
    );
    for (n, conversation) in ["trip-1", "trip-2", "trip-3"].iter().enumerate() {
        call(&mut tenet, &format!("set-{n}"), "remember", json!({"key": "k", "value": n}), conversation);
    }
    let first = call(&mut tenet, "get-1", "recall", json!({"key": "k"}), "trip-1");
    assert_eq!(first["structuredContent"]["found"], false, "the least recently used went: {first}");
    let third = call(&mut tenet, "get-3", "recall", json!({"key": "k"}), "trip-3");
    assert_eq!(third["structuredContent"]["value"], 2, "{third}");
    let mut meta = common::meta();
    meta["io.modelcontextprotocol/clientCapabilities"] = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let countdown = |id: u64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "countdown", "arguments": {"steps": 100, "step_ms": 100}, "_meta": meta}})
    };
    let started = tenet.call(&countdown(1));
    assert_eq!(assert_result(&started, &json!(1))["resultType"], "task", "{started}");
    let refused = tenet.call(&countdown(2));
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("1 tasks running, its most"), "{refused}");
}

/// Issue 59: a replica that could not reach the store when it started signs with a key
/// of its own, and agrees on the store's once the store answers: rounds then cross
/// between it and a replica started later, both ways. Before, it kept its own for good.
#[test]
fn a_replica_that_started_without_its_store_agrees_once_the_store_answers() {
    let mut redis = RedisServer::start();
    redis.stop();
    let mut one = replica_without_secret(&redis.url());
    // Served (so past its attempts to agree at start), with a key of its own.
    let early = begin_round(&mut one, 1);
    redis.restart();
    let mut two = replica_without_secret(&redis.url());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut id = 10;
    loop {
        id += 2;
        let round = begin_round(&mut two, id);
        let answer = continue_round(&mut one, id + 1, &round);
        if answer.get("result").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the replica never agreed on the store's key: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let round = begin_round(&mut one, 100);
    let answer = continue_round(&mut two, 101, &round);
    assert!(tool_text(assert_result(&answer, &json!(101))).contains("Ada"), "begun on the first: {answer}");
    let answer = continue_round(&mut one, 102, &early);
    assert!(tool_text(assert_result(&answer, &json!(102))).contains("Ada"), "begun before it agreed: {answer}");
}

/// Issue 63: started with a store that does not answer, `tenet serve` says it is waiting
/// for it (and that `/ready` answers 503 until it answers), and never shows the URL's
/// password.
#[test]
fn a_store_that_does_not_answer_at_start_is_waited_for_out_loud() {
    use std::io::BufRead;
    let url = format!("redis://user:hunter2hunter2@127.0.0.1:{}/0", free_port());
    let mut child = common::tenet_command()
        .args(["serve", "--transport", "http", "--port", "0", "--no-watch", "--store-url", &url])
        .args(["--state-secret", SECRET, "--log-format", "json"])
        .env_remove("TENET_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _child = common::Killed(child);
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut log = Vec::new();
    while !log.iter().any(|l: &String| l.contains("waiting for the shared store")) && Instant::now() < deadline {
        if let Ok(line) = seen.recv_timeout(Duration::from_millis(200)) {
            log.push(line);
        }
    }
    let said = log.iter().find(|l| l.contains("waiting for the shared store")).unwrap_or_else(|| panic!("{log:#?}"));
    assert!(said.contains("/ready answers 503 until it answers") && said.contains("WARN"), "{said}");
    assert!(!log.iter().any(|l| l.contains("hunter2")), "no password in the log: {log:#?}");
}
