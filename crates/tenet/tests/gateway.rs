//! `tenet serve` as a gateway, end to end over real processes: a stdio gateway whose
//! upstream is another `tenet serve --demo` process; bad upstream configs refused at
//! start with the key at fault.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{LATEST_LEGACY, Tenet, assert_result, legacy, tool_text};
use serde_json::json;

fn upstream_flag(name: &str) -> String {
    format!("{name}={} serve --demo --log-level warn", env!("CARGO_BIN_EXE_tenet"))
}

fn tool_names(server: &mut Tenet, id: i64) -> Vec<String> {
    let response = server.call(&legacy(id, "tools/list", json!({})));
    let result = assert_result(&response, &json!(id));
    result["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_stdio_gateway_lists_and_calls_an_upstreams_tools_under_its_namespace() {
    let flag = upstream_flag("up");
    let mut server = Tenet::start_with(&["serve", "--demo", "--log-level", "warn", "--upstream", &flag]);
    server.initialize(LATEST_LEGACY);
    let names = tool_names(&mut server, 1);
    for name in ["echo", "add", "up__echo", "up__add", "up__countdown"] {
        assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
    }

    let response = server.call(&legacy(2, "tools/call", json!({"name": "up__add", "arguments": {"a": 2, "b": 3}})));
    let result = assert_result(&response, &json!(2));
    assert_eq!(result["structuredContent"], json!({"sum": 5.0}), "{result}");

    // Checked at the gateway against the upstream's schema: a tool error, nothing sent.
    let response = server.call(&legacy(3, "tools/call", json!({"name": "up__add", "arguments": {"a": "x"}})));
    let result = assert_result(&response, &json!(3));
    assert_eq!(result["isError"], json!(true), "{result}");
    assert!(tool_text(result).contains("up__add"), "{result}");

    let response = server.call(&legacy(4, "tools/call", json!({"name": "up__echo", "arguments": {"text": "through"}})));
    assert_eq!(tool_text(assert_result(&response, &json!(4))), "through");
}

/// A stdio upstream gets of the gateway's environment only what every server needs and
/// what its table names: a secret meant for another upstream (an OAuth client secret in
/// a variable, say) or for the gateway does not reach it.
#[test]
fn a_stdio_upstream_gets_only_the_environment_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("env");
    let config = dir.path().join("tenet.toml");
    // The upstream writes down its environment, then serves.
    let script = format!("env > '{}'; exec '{}' serve --demo", dump.display(), env!("CARGO_BIN_EXE_tenet"));
    let table = format!(
        "[[upstream]]\nname = \"up\"\ncommand = [\"sh\", \"-c\", {}]\nenv = {{ OWN = \"its own\" }}\ninherit_env = [\"KEEP_*\"]\n",
        toml::Value::from(script)
    );
    std::fs::write(&config, table).unwrap();
    let config = config.to_str().unwrap();
    let set = [
        ("WIKI_SECRET", "s3cr3t"),
        ("KEEP_ME", "kept"),
        ("KEEPING", "not matched"),
        ("LC_TIME", "C"),
        ("KEEP_FN", "() { :; }"),
    ];
    let mut server = Tenet::start_with_env(&["serve", "--config", config, "--log-level", "warn"], &[], &set);
    server.initialize(LATEST_LEGACY);
    // Listed once the upstream has answered: its environment is written by then.
    assert!(tool_names(&mut server, 1).iter().any(|n| n == "up__echo"));
    let text = std::fs::read_to_string(&dump).unwrap();
    let env: std::collections::BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(env.get("OWN"), Some(&"its own"), "{text}");
    assert_eq!(env.get("KEEP_ME"), Some(&"kept"), "{text}");
    assert_eq!(env.get("LC_TIME"), Some(&"C"), "{text}");
    assert_eq!(env.get("PATH").copied(), std::env::var("PATH").ok().as_deref(), "{text}");
    // A shell function (as bash exports one) is not passed on, though its name matches.
    for absent in ["WIKI_SECRET", "KEEPING", "KEEP_FN"] {
        assert!(!env.contains_key(absent), "{absent} reached the upstream: {text}");
    }
}

#[test]
fn upstream_configs_that_cannot_run_are_refused_at_start_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenet.toml");
    let cases = [
        (
            "[[upstream]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/mcp\"\n[[upstream]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1/mcp\"\n",
            "upstream[1].name",
        ),
        ("[[upstream]]\nname = \"a\"\ncommand = [\"no-such-program-for-tenet\"]\n", "upstream[0].command"),
        ("[[upstream]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/mcp\"\nheader = {}\n", "header"),
        ("[[upstream]]\nname = \"bad name\"\nurl = \"http://127.0.0.1:1/mcp\"\n", "upstream[0].name"),
    ];
    for (text, key) in cases {
        std::fs::write(&file, text).unwrap();
        for args in [vec!["serve", "--demo", "--config"], vec!["config", "check"]] {
            let started = Instant::now();
            let out = common::tenet_command().args(&args).arg(&file).env_remove("TENET_CONFIG").output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} {text}: {stderr}");
            assert!(stderr.contains(key), "{args:?}: {key} not in {stderr}");
            assert!(started.elapsed() < Duration::from_secs(10));
        }
    }
}

/// Counts the `notifications/tools/list_changed` a downstream client gets.
struct ListChanges(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl tenet_client::ClientHandler for ListChanges {
    fn on_notification(&self, notification: tenet_client::ServerNotification) {
        if matches!(notification, tenet_client::ServerNotification::ToolsListChanged) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// The gateway's process and the pid files of the upstreams it runs, killed when the
/// test ends however it ends: the upstreams first, while they are surely the gateway's
/// children (a stopped one would outlive it).
struct Processes(std::process::Child, Vec<std::path::PathBuf>);

impl Drop for Processes {
    fn drop(&mut self) {
        let gateway = self.0.id().to_string();
        for pid in self.1.iter().filter_map(|file| last_pid(file)) {
            // Only a child of the gateway: a pid that was reused belongs to someone else.
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if status.lines().any(|l| l.strip_prefix("PPid:").is_some_and(|p| p.trim() == gateway)) {
                let _ = Command::new("kill").args(["-s", "KILL", &pid.to_string()]).status();
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tenet serve --demo` over HTTP on a free port of 127.0.0.1 with `args` and the gateway
/// `config`, killed (with the upstreams whose pids the `pids` files hold) when the
/// returned processes are dropped; and its base URL.
fn http_gateway(args: &[&str], config: &std::path::Path, pids: Vec<std::path::PathBuf>) -> (Processes, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let gateway = common::tenet_command()
        .args(["serve", "--demo", "--transport", "http", "--log-level", "warn", "--port", &port.to_string()])
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("TENET_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    (Processes(gateway, pids), format!("http://127.0.0.1:{port}"))
}

/// The last pid a wrapped upstream wrote to `file`.
fn last_pid(file: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(file).ok()?.lines().last()?.trim().parse().ok()
}

fn signal(pid: i32, name: &str) {
    assert!(Command::new("kill").args(["-s", name, &pid.to_string()]).status().unwrap().success());
}

/// The text of a relayed call's answer: the first content block's, or the error's.
fn answer_text(outcome: Result<tenet_client::protocol::CallToolResult, tenet_client::ClientError>) -> String {
    match outcome {
        Ok(result) => serde_json::to_value(&result.content).unwrap()[0]["text"].as_str().unwrap_or_default().to_owned(),
        Err(e) => e.to_string(),
    }
}

/// Polls `check` every 50 ms for at most `within`.
async fn eventually<T>(what: &str, within: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstreams_killed_mid_call_hung_and_restarted_leave_the_others_serving() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let tenet = env!("CARGO_BIN_EXE_tenet");
    // Each wrapped upstream writes its pid, then becomes `tenet serve --demo`.
    let wrapped = |name: &str| {
        let pids = dir.path().join(format!("{name}.pids"));
        let script = format!("echo $$ >> '{}'; exec '{tenet}' serve --demo --log-level error", pids.display());
        (pids, format!("[[upstream]]\nname = \"{name}\"\ncommand = [\"sh\", \"-c\", {script:?}]\ntimeout = 1\n"))
    };
    let (victim_pids, victim) = wrapped("victim");
    let (stuck_pids, stuck) = wrapped("stuck");
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[[upstream]]\nname = \"steady\"\ncommand = [\"{tenet}\", \"serve\", \"--demo\", \"--log-level\", \"error\"]\n\
             {victim}{stuck}"
        ),
    )
    .unwrap();
    let (_processes, base) = http_gateway(
        &["--heartbeat", "0.2", "--heartbeat-failures", "2"],
        &config,
        vec![victim_pids.clone(), stuck_pids.clone()],
    );
    // `tenet upstreams URL --json`: GET /upstreams as an operator reads it; exit 0 once
    // every upstream is up.
    let upstreams = async || -> Option<serde_json::Value> {
        let out = Command::new(tenet).args(["upstreams", &base, "--json"]).output().ok()?;
        serde_json::from_slice(&out.stdout).ok()
    };
    let state_of = |page: &serde_json::Value, name: &str| -> (String, u64) {
        let row = page["upstreams"].as_array().unwrap().iter().find(|u| u["name"] == name).unwrap().clone();
        (row["state"].as_str().unwrap().to_owned(), row["restarts"].as_u64().unwrap())
    };
    eventually("every upstream is up", Duration::from_secs(30), async || {
        Command::new(tenet).args(["upstreams", &base]).output().ok().filter(|o| o.status.success())
    })
    .await;

    let changes = Arc::new(AtomicUsize::new(0));
    let client = tenet_client::Client::builder()
        .handler(ListChanges(changes.clone()))
        .version(tenet_client::VersionPin::Legacy)
        .connect_http(&format!("{base}/mcp"))
        .await
        .unwrap();
    let names =
        async || -> Vec<String> { client.list_all_tools().await.unwrap().into_iter().map(|t| t.name).collect() };
    let all = names().await;
    for name in ["echo", "steady__echo", "victim__countdown", "stuck__echo"] {
        assert!(all.iter().any(|n| n == name), "{name} missing from {all:?}");
    }
    let echo = async |tool: &str, text: &str| answer_text(client.call_tool(tool, json!({"text": text})).await);
    let steady = async |text: &str| assert_eq!(echo("steady__echo", text).await, text);
    // Waits until `name` is up again in a new process (not `old`), restarted by the gateway.
    let restarted = async |name: &str, pids: &std::path::Path, old: i32| {
        eventually(&format!("{name} is restarted"), Duration::from_secs(20), async || {
            let (state, restarts) = state_of(&upstreams().await?, name);
            (state == "up" && restarts >= 1 && last_pid(pids) != Some(old)).then_some(())
        })
        .await;
    };

    // 1. Killed mid-call: the call fails at once, naming the upstream; its tools leave
    // the list and clients are told; it is restarted and they come back.
    let first_victim = last_pid(&victim_pids).unwrap();
    let before = changes.load(Ordering::SeqCst);
    let long = client.call_tool("victim__countdown", json!({"steps": 50, "step_ms": 100}));
    let killer = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        signal(first_victim, "KILL");
        Instant::now()
    };
    let (outcome, killed_at) = tokio::join!(long, killer);
    let answered_after = killed_at.elapsed();
    assert!(outcome.as_ref().map_or(true, |r| r.is_error == Some(true)), "{outcome:?}");
    let message = answer_text(outcome);
    assert!(message.contains("upstream victim"), "{message}");
    assert!(answered_after < Duration::from_secs(1), "the call waited {answered_after:?} after the kill");
    steady("after the kill").await;
    restarted("victim", &victim_pids, first_victim).await;
    eventually("the victim's tools are listed again", Duration::from_secs(5), async || {
        names().await.iter().any(|n| n == "victim__countdown").then_some(())
    })
    .await;
    assert_eq!(echo("victim__echo", "back").await, "back");
    let told = changes.load(Ordering::SeqCst) - before;
    assert!(told >= 2, "clients were told its tools left and came back, got {told} list_changed");

    // 2. Hangs: a stopped process. The call times out (the upstream's 1 s), naming
    // it, while another upstream answers at once; missed heartbeats take it down,
    // its tools leave, and it is restarted.
    let stopped = last_pid(&stuck_pids).unwrap();
    let before = changes.load(Ordering::SeqCst);
    signal(stopped, "STOP");
    let hung = echo("stuck__echo", "anyone?");
    let meanwhile = async {
        let started = Instant::now();
        steady("while stuck hangs").await;
        started.elapsed()
    };
    let started = Instant::now();
    let (message, steady_took) = tokio::join!(hung, meanwhile);
    let hung_took = started.elapsed();
    assert!(steady_took < Duration::from_millis(800), "steady waited {steady_took:?} behind the hung upstream");
    assert!(message.contains("upstream stuck"), "{message}");
    assert!(hung_took >= Duration::from_millis(900) && hung_took < Duration::from_secs(5), "{hung_took:?}");
    restarted("stuck", &stuck_pids, stopped).await;
    eventually("the stuck upstream's tools are listed again", Duration::from_secs(5), async || {
        names().await.iter().any(|n| n == "stuck__echo").then_some(())
    })
    .await;
    let told = changes.load(Ordering::SeqCst) - before;
    assert!(told >= 2, "clients were told its tools left and came back, got {told} list_changed");
    assert_eq!(echo("stuck__echo", "unstuck").await, "unstuck");

    // 3. Through it all, the steady upstream never failed, and /upstreams says so.
    let page = upstreams().await.unwrap();
    assert_eq!(state_of(&page, "steady"), ("up".to_owned(), 0));
    let calls = &page["upstreams"].as_array().unwrap().iter().find(|u| u["name"] == "stuck").unwrap()["calls"];
    assert!(calls["timeout"].as_u64().unwrap() >= 1, "{calls}");
    steady("at the end").await;
    client.close().await;
    // The stopped process is not left behind.
    let alive = Command::new("kill").args(["-0", &stopped.to_string()]).status().unwrap().success();
    assert!(!alive, "the hung upstream {stopped} was not stopped");
}

#[tokio::test]
async fn the_rest_facade_serves_an_upstreams_tools_like_local_ones() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let flag = upstream_flag("up");
    let gateway = common::tenet_command()
        .args(["serve", "--demo", "--transport", "http", "--log-level", "warn", "--port", &port.to_string()])
        .args(["--upstream", &flag])
        .env_remove("TENET_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _processes = Processes(gateway, Vec::new());
    let base = format!("http://127.0.0.1:{port}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    eventually("the gateway is ready", Duration::from_secs(30), async || {
        let ready = http.get(format!("{base}/ready")).send().await.ok()?;
        ready.status().is_success().then_some(())
    })
    .await;

    let tools: serde_json::Value = http.get(format!("{base}/mcp/tools")).send().await.unwrap().json().await.unwrap();
    let add = tools["tools"].as_array().unwrap().iter().find(|t| t["name"] == "up__add").cloned();
    let add = add.unwrap_or_else(|| panic!("up__add missing from {tools}"));
    assert_eq!(add["inputSchema"]["required"], json!(["a", "b"]), "the upstream's own schema: {add}");

    let post = async |path: &str, body: serde_json::Value| {
        let response = http.post(format!("{base}{path}")).json(&body).send().await.unwrap();
        (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
    };
    assert_eq!(post("/tools/up__add", json!({"a": 2, "b": 3})).await, (200, json!({"sum": 5.0})));
    let (status, wrong) = post("/tools/up__add", json!({"a": "two", "b": 3})).await;
    assert_eq!(status, 422, "checked at the gateway against the upstream's schema: {wrong}");
    assert_eq!(wrong["error"]["data"]["fields"][0]["path"], "/a", "{wrong}");
    let (status, reply) =
        post("/mcp/call", json!({"jsonrpc": "2.0", "id": 7, "method": "up__echo", "params": {"text": "via"}})).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["id"], 7);
    assert_eq!(reply["result"]["content"][0]["text"], "via", "{reply}");

    let openapi: serde_json::Value =
        http.get(format!("{base}/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/tools/up__add"]["post"].is_object(), "one operation per upstream tool too");
}

/// With authorization on, an upstream whose table names no scopes is not open to every
/// caller: its tools need `upstream:<name>` unless the table says `open = true`.
#[test]
fn with_authorization_on_an_upstream_needs_a_scope_unless_its_table_opens_it() {
    let keys = "plain 0123456789abcdef-plain\nops 0123456789abcdef-ops upstream:up";
    let flag = upstream_flag("up");
    let call = |token: &str, args: &[&str]| {
        let mut all = vec!["serve", "--demo", "--log-level", "info", "--api-keys", keys];
        all.extend_from_slice(args);
        let mut server = Tenet::start_with_env(&all, &[], &[("TENET_TOKEN", token)]);
        server.initialize(LATEST_LEGACY);
        let response = server.call(&legacy(1, "tools/call", json!({"name": "up__echo", "arguments": {"text": "x"}})));
        let local = server.call(&legacy(2, "tools/call", json!({"name": "echo", "arguments": {"text": "here"}})));
        assert_eq!(tool_text(assert_result(&local, &json!(2))), "here", "the gateway's own tools need no such scope");
        (response, server.stderr_text())
    };
    let (refused, log) = call("0123456789abcdef-plain", &["--upstream", &flag]);
    assert_eq!(refused["error"]["code"], -32003, "{refused}");
    assert_eq!(refused["error"]["data"]["requiredScopes"], json!(["upstream:up"]));
    assert!(log.contains("upstream up: what it offers needs the scope upstream:up"), "{log}");
    let (allowed, _) = call("0123456789abcdef-ops", &["--upstream", &flag]);
    assert_eq!(tool_text(assert_result(&allowed, &json!(1))), "x");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("open.toml");
    let command = format!("[\"{}\", \"serve\", \"--demo\", \"--log-level\", \"warn\"]", env!("CARGO_BIN_EXE_tenet"));
    std::fs::write(&config, format!("[[upstream]]\nname = \"up\"\ncommand = {command}\nopen = true\n")).unwrap();
    let (open, log) = call("0123456789abcdef-plain", &["--config", config.to_str().unwrap()]);
    assert_eq!(tool_text(assert_result(&open, &json!(1))), "x", "an open upstream's tools need no scope");
    assert!(log.contains("upstream up is open (open = true)"), "{log}");
}

/// Issue 60: a stdio upstream speaking the legacy protocol (which keeps state per
/// session) runs a process of its own for each caller: two API keys through one gateway
/// get two processes beside the gateway's own, `/upstreams` counts their sessions, and
/// one caller's process killed fails only that caller's call, whose next call starts
/// another process while the other caller's goes on as it was. (What the processes keep
/// apart is shown with state in `tenet-gateway`'s `sessions` tests and, with
/// server-everything's roots and elicitation, in `scripts/interop-gateway`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_gets_its_own_upstream_process_and_one_crash_is_that_callers_alone() {
    let dir = tempfile::tempdir().unwrap();
    let tenet = env!("CARGO_BIN_EXE_tenet");
    let pids = dir.path().join("mem.pids");
    let script = format!("echo $$ >> '{}'; exec '{tenet}' serve --demo --log-level error", pids.display());
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[[upstream]]\nname = \"mem\"\ncommand = [\"sh\", \"-c\", {script:?}]\nprotocol = \"legacy\"\nopen = true\n"
        ),
    )
    .unwrap();
    let keys = "alice 0123456789abcdef-alice tenet:status; bob 0123456789abcdef-bob";
    let (_processes, base) = http_gateway(&["--api-keys", keys], &config, vec![pids.clone()]);
    // `tenet upstreams URL --json` as an operator reads it, with Alice's key (she holds
    // `tenet:status`).
    let status = async || -> Option<serde_json::Value> {
        let out = Command::new(tenet)
            .args(["upstreams", &base, "--json"])
            .env("TENET_TOKEN", "0123456789abcdef-alice")
            .output()
            .ok()?;
        let page: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        page["upstreams"].as_array()?.iter().find(|u| u["name"] == "mem").cloned()
    };
    eventually("the upstream is up", Duration::from_secs(30), async || status().await.filter(|s| s["state"] == "up"))
        .await;
    let started = || -> Vec<i32> {
        std::fs::read_to_string(&pids).unwrap_or_default().lines().map(|l| l.trim().parse().unwrap()).collect()
    };
    assert_eq!(started().len(), 1, "the gateway's own process");
    let caller = async |name: &str| {
        tenet_client::Client::builder()
            .header("Authorization", format!("Bearer 0123456789abcdef-{name}"))
            .version(tenet_client::VersionPin::Legacy)
            .connect_http(&format!("{base}/mcp"))
            .await
            .unwrap()
    };
    let (alice, bob) = (caller("alice").await, caller("bob").await);
    let echo = async |client: &tenet_client::Client, text: &str| {
        answer_text(client.call_tool("mem__echo", json!({"text": text})).await)
    };

    assert_eq!(echo(&alice, "alice 1").await, "alice 1");
    assert_eq!(started().len(), 2, "Alice's first call started a process for her");
    assert_eq!(echo(&bob, "bob 1").await, "bob 1");
    assert_eq!(echo(&alice, "alice 2").await, "alice 2");
    assert_eq!(echo(&bob, "bob 2").await, "bob 2");
    let processes = started();
    assert_eq!(processes.len(), 3, "one for each caller, each kept for the next call: {processes:?}");
    let row = status().await.unwrap();
    assert_eq!((row["session"].as_str(), row["sessions"].as_u64()), (Some("per-caller"), Some(2)), "{row}");

    // Alice's process dies: her next call fails, naming the upstream, or (if the
    // gateway saw the process end first) runs in a new process; her call after that
    // does. Bob's process goes on as it was, and the upstream never went down.
    signal(processes[1], "KILL");
    let first = echo(&alice, "alice 3").await;
    if first != "alice 3" {
        assert!(first.contains("upstream mem"), "{first}");
        assert_eq!(echo(&alice, "alice 4").await, "alice 4");
    }
    assert_eq!(started().len(), 4, "a new process for Alice: {:?}", started());
    assert_eq!(echo(&bob, "bob 3").await, "bob 3");
    assert_eq!(started().len(), 4, "Bob's process served him still: {:?}", started());
    let row = status().await.unwrap();
    assert_eq!((row["state"].as_str(), row["restarts"].as_u64()), (Some("up"), Some(0)), "{row}");
    alice.close().await;
    bob.close().await;
}

/// Issue 60: a caller's own session whose process hangs is replaced. The call on it
/// times out, the session then misses a heartbeat, and the caller's next call opens a
/// new process. Before, a timeout never counted as a lost session: every later call of
/// that caller timed out for as long as the stopped process lived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_hung_session_is_replaced_after_its_call_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let tenet = env!("CARGO_BIN_EXE_tenet");
    let pids = dir.path().join("own.pids");
    let script = format!("echo $$ >> '{}'; exec '{tenet}' serve --demo --log-level error", pids.display());
    let config = dir.path().join("gateway.toml");
    let table = format!(
        "[[upstream]]\nname = \"own\"\ncommand = [\"sh\", \"-c\", {script:?}]\ntimeout = 1\nprotocol = \"legacy\"\n"
    );
    std::fs::write(&config, table).unwrap();
    let (_processes, base) = http_gateway(&[], &config, vec![pids.clone()]);
    eventually("the upstream is up", Duration::from_secs(30), async || {
        Command::new(tenet).args(["upstreams", &base]).output().ok().filter(|o| o.status.success())
    })
    .await;
    let client = tenet_client::Client::builder()
        .version(tenet_client::VersionPin::Legacy)
        .connect_http(&format!("{base}/mcp"))
        .await
        .unwrap();
    let echo = async |text: &str| answer_text(client.call_tool("own__echo", json!({"text": text})).await);
    assert_eq!(echo("first").await, "first");
    let session = last_pid(&pids).unwrap();
    assert_eq!(std::fs::read_to_string(&pids).unwrap().lines().count(), 2, "the gateway's connection and the caller's");
    signal(session, "STOP");
    let hung = echo("anyone?").await;
    assert!(hung.contains("did not answer"), "{hung}");
    let again = echo("again").await;
    let replaced = last_pid(&pids).unwrap();
    signal(session, "KILL");
    assert_eq!(again, "again", "answered by a new process");
    assert_ne!(replaced, session);
}

/// Issue 61: an upstream's skills through the gateway. A `tenet serve` upstream (the
/// built-in corpus) behind a gateway with no skills of its own: every skill is listed
/// under `skill://kb/…` with the upstream's front matter, sizes and digests, each file
/// reads through the gateway and passes the client's checks, `skills/get` and directory
/// reads go to the upstream; while the upstream is down its skills leave the list, and
/// come back with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstreams_skills_are_listed_got_and_read_through_the_gateway_with_their_digests() {
    use tenet_client::protocol::skill_extension::{SkillEntry, SkillResources};

    let dir = tempfile::tempdir().unwrap();
    let tenet = env!("CARGO_BIN_EXE_tenet");
    let (pids, stop) = (dir.path().join("kb.pids"), dir.path().join("stop"));
    // It does not start again while `stop` exists.
    let script = format!(
        "[ -e '{}' ] && exit 1; echo $$ >> '{}'; exec '{tenet}' serve --log-level error",
        stop.display(),
        pids.display()
    );
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, format!("[[upstream]]\nname = \"kb\"\ncommand = [\"sh\", \"-c\", {script:?}]\n")).unwrap();
    let (_processes, base) = http_gateway(
        &["--no-local-tools", "--heartbeat", "0.2", "--heartbeat-failures", "2"],
        &config,
        vec![pids.clone()],
    );
    eventually("the upstream is up", Duration::from_secs(30), async || {
        Command::new(tenet).args(["upstreams", &base]).output().ok().filter(|o| o.status.success())
    })
    .await;
    let gateway = tenet_client::Client::builder().connect_http(&format!("{base}/mcp")).await.unwrap();
    let direct = tenet_client::Client::builder()
        .connect_stdio(tenet, &["serve".into(), "--log-level".into(), "error".into()])
        .await
        .unwrap();

    let own = direct.all_skills().await.unwrap();
    let through = gateway.all_skills().await.unwrap();
    assert!(own.len() > 20, "the built-in corpus's standards and skills: {}", own.len());
    assert_eq!(through.len(), own.len());
    let files = |entry: &SkillEntry| match &entry.resources {
        SkillResources::Listed(files) => files.iter().map(|f| (f.uri.clone(), f.digest.clone(), f.size)).collect(),
        SkillResources::Dynamic(_) => Vec::new(),
    };
    for (theirs, ours) in own.iter().zip(&through) {
        let renamed = |uri: &str| uri.replacen("skill://", "skill://kb/", 1);
        assert_eq!(ours.uri, renamed(&theirs.uri));
        assert_eq!(ours.frontmatter, theirs.frontmatter, "{}", ours.uri);
        let expected: Vec<_> =
            files(theirs).into_iter().map(|(uri, digest, size)| (renamed(&uri), digest, size)).collect();
        assert_eq!(files(ours), expected, "the upstream's digests and sizes, under the gateway's URIs");
        for (uri, _, _) in files(ours) {
            gateway.read_skill_file(ours, &uri).await.unwrap_or_else(|e| panic!("{uri}: {e}"));
        }
    }
    let review = through.iter().find(|s| s.uri == "skill://kb/code-review/SKILL.md").expect("the corpus's skill");
    assert_eq!(&gateway.get_skill(&review.uri).await.unwrap(), review);
    let options = tenet_client::RequestOptions::default();
    let listed = gateway.request("resources/directory/read", json!({"uri": "skill://kb/code-review"}), &options);
    let listed = listed.await.unwrap();
    assert!(listed.to_string().contains("\"skill://kb/code-review/SKILL.md\""), "{listed}");

    // Down, and kept down: its skills leave the list (and the listed SKILL.md files
    // leave resources/list); back up, they return.
    std::fs::write(&stop, "").unwrap();
    signal(last_pid(&pids).unwrap(), "KILL");
    eventually("the skills leave with the upstream", Duration::from_secs(10), async || {
        gateway.all_skills().await.ok().filter(Vec::is_empty)
    })
    .await;
    let gone = gateway.get_skill(&review.uri).await.unwrap_err();
    assert!(gone.to_string().contains("-32602") || gone.to_string().contains("not"), "{gone}");
    std::fs::remove_file(&stop).unwrap();
    eventually("the skills return with the upstream", Duration::from_secs(30), async || {
        gateway.all_skills().await.ok().filter(|s| s.len() == own.len())
    })
    .await;
}

/// Issue 61: two nodes that are each other's peers list each other's skills under the
/// peer's name, once: a node never passes on to another node the skills it took from a
/// peer, so nothing travels round the loop (no `skill://b/a/…` at a). A skill added to
/// b's root makes a list b's skills again once b surely holds a's: what b offers it is
/// still b's own alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_list_each_others_skills_once_and_never_back_round_the_loop() {
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (port_a, port_b) = (free(), free());
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("skills")).unwrap();
    let node = |name: &str, port: u16, peer: &str, peer_port: u16, more: &[&str]| {
        let child = common::tenet_command()
            .args(["serve", "--transport", "http", "--log-level", "warn", "--port", &port.to_string()])
            .args(["--node-id", &format!("node-{name}"), "--heartbeat", "0.3"])
            .args(["--peer", &format!("{peer}=http://127.0.0.1:{peer_port}/mcp")])
            .args(more)
            .env_remove("TENET_CONFIG")
            .env_remove("TENET_STATE_DIR")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Processes(child, Vec::new())
    };
    let _a = node("a", port_a, "b", port_b, &[]);
    let _b = node("b", port_b, "a", port_a, &["--root", root.path().to_str().unwrap()]);
    let url = |port: u16| format!("http://127.0.0.1:{port}/mcp");
    let own = eventually("node a serves", Duration::from_secs(30), async || {
        let client = tenet_client::Client::builder().connect_http(&url(port_a)).await.ok()?;
        let all = client.all_skills().await.ok()?;
        Some(all.into_iter().filter(|s| !s.uri.starts_with("skill://b/")).count())
    })
    .await;
    assert!(own > 20, "{own}");
    let listed = async |port: u16, peer: &str, theirs: usize| {
        // The node may still be starting (b reads a root): connect as part of the wait.
        let (client, skills) = eventually("a node lists its peer's skills", Duration::from_secs(30), async || {
            let client = tenet_client::Client::builder().connect_http(&url(port)).await.ok()?;
            let all = client.all_skills().await.ok()?;
            let count = all.iter().filter(|s| s.uri.starts_with(&format!("skill://{peer}/"))).count();
            (count == theirs).then_some((client, all))
        })
        .await;
        let review = format!("skill://{peer}/code-review/SKILL.md");
        let entry = skills.iter().find(|s| s.uri == review).unwrap();
        client.read_skill_file(entry, &review).await.unwrap();
        skills
    };
    // b holds a's skills...
    let at_b = listed(port_b, "a", own).await;
    assert_eq!(at_b.len(), 2 * own, "its own and its peer's, once each");
    assert!(!at_b.iter().any(|s| s.uri.starts_with("skill://a/b/")), "nothing came back round the loop");
    // ...and lists one more of its own; a lists b's again, and gets b's own alone.
    let added = root.path().join("skills/added");
    std::fs::create_dir_all(&added).unwrap();
    std::fs::write(added.join("SKILL.md"), "---\nname: added\ndescription: Use when testing peers.\n---\n# Added\n")
        .unwrap();
    let at_a = listed(port_a, "b", own + 1).await;
    assert!(at_a.iter().any(|s| s.uri == "skill://b/added/SKILL.md"));
    assert!(!at_a.iter().any(|s| s.uri.starts_with("skill://b/a/")), "nothing came back round the loop");
    assert_eq!(at_a.len(), 2 * own + 1);
}

/// `tenet upstreams URL` or `tenet peers URL` (`which`) as an operator runs it: its exit
/// code, stdout and stderr.
fn status_command(which: &str, url: &str) -> (Option<i32>, String, String) {
    let out = common::tenet_command().args([which, url]).env_remove("TENET_TOKEN").output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// A port of 127.0.0.1 nothing listens on (until a server is started on it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `tenet upstreams` and `tenet peers` exit alike: an upstream down (required, by
/// default) and a peer down (not required, by default) each make their command exit 1,
/// naming it and its state on stderr. Before, `tenet peers` counted only required
/// peers, and exited 0 with every peer down.
#[tokio::test]
async fn upstreams_and_peers_exit_1_alike_when_one_is_down_required_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let dead = format!("http://127.0.0.1:{}/mcp", free_port());
    let config = dir.path().join("gateway.toml");
    // The peer has no name: it is shown by its URL until its node id is known.
    std::fs::write(&config, format!("[[upstream]]\nname = \"dead\"\nurl = \"{dead}\"\n\n[[peer]]\nurl = \"{dead}\"\n"))
        .unwrap();
    let (_processes, base) = http_gateway(&["--heartbeat", "0.2"], &config, Vec::new());
    for (which, named) in [("upstreams", "dead ("), ("peers", &format!("{dead} ("))] {
        // Once the gateway answers (3 is "could not be reached").
        let (code, stdout, stderr) = eventually("the gateway answers", Duration::from_secs(30), async || {
            Some(status_command(which, &base)).filter(|(code, _, _)| *code != Some(3))
        })
        .await;
        assert_eq!(code, Some(1), "tenet {which}: {stdout}{stderr}");
        assert!(stderr.contains("tenet: not up: ") && stderr.contains(named), "tenet {which}: {stderr}");
        assert!(
            stdout.lines().nth(usize::from(which == "peers") + 1).is_some_and(|row| !row.contains(" up ")),
            "{stdout}"
        );
    }
}

/// With every upstream and peer up, both commands exit 0; a node with no peers lists
/// none, which is all up too. Without a page to judge: 4 from a server that answers
/// without it (a node that is no gateway has no `/upstreams`), 3 when nothing answers,
/// 2 for a URL that is not plain http://; the same for both commands.
#[tokio::test]
async fn upstreams_and_peers_exit_0_when_all_are_up_and_alike_without_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let tenet = env!("CARGO_BIN_EXE_tenet");
    let port_b = free_port();
    let node_b = common::tenet_command()
        .args(["serve", "--demo", "--transport", "http", "--log-level", "warn", "--port", &port_b.to_string()])
        .env_remove("TENET_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _node_b = Processes(node_b, Vec::new());
    let b = format!("http://127.0.0.1:{port_b}");
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[[upstream]]\nname = \"demo\"\ncommand = [\"{tenet}\", \"serve\", \"--demo\", \"--log-level\", \"error\"]\n\n\
             [[peer]]\nname = \"b\"\nurl = \"{b}/mcp\"\n"
        ),
    )
    .unwrap();
    let (_gateway, base) = http_gateway(&["--heartbeat", "0.2"], &config, Vec::new());
    for (which, row) in [("upstreams", "demo "), ("peers", "b ")] {
        let (_, stdout, stderr) = eventually(&format!("tenet {which} exits 0"), Duration::from_secs(30), async || {
            Some(status_command(which, &base)).filter(|(code, _, _)| *code == Some(0))
        })
        .await;
        assert!(stdout.lines().any(|l| l.starts_with(row) && l.contains(" up ")), "tenet {which}: {stdout}");
        assert!(stderr.is_empty(), "tenet {which}: {stderr}");
    }

    let (code, stdout, stderr) = status_command("peers", &b);
    assert_eq!(code, Some(0), "a node without peers: {stdout}{stderr}");
    assert!(stdout.contains(": 0 peers"), "{stdout}");
    let (code, _, stderr) = status_command("upstreams", &b);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("HTTP 404: this server is not a gateway"), "{stderr}");
    let nobody = format!("http://127.0.0.1:{}", free_port());
    for which in ["upstreams", "peers"] {
        assert_eq!(status_command(which, &nobody).0, Some(3), "tenet {which} {nobody}");
        assert_eq!(status_command(which, "https://127.0.0.1:1").0, Some(2), "tenet {which} https://");
    }
}
