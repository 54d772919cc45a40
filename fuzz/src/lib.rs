//! What the fuzz targets share: a runtime whose clock jumps ahead whenever every task
//! waits (a tool that sleeps for a minute costs nothing), the server they talk to, and
//! the check that what a server wrote is well-formed JSON-RPC.

use std::sync::OnceLock;

use tenet_server::Server;

/// A single-threaded runtime with its clock paused: timers fire as soon as nothing
/// else can run, so timeouts and sleeping tools end at once.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
}

/// The conformance fixture: every kind of tool (sampling, elicitation, tasks, input
/// rounds, progress, logging), resources, a template with completions, and prompts.
/// Built once per process.
pub fn server() -> Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| tenet_conformance::fixture().expect("the fixture builds").0).clone()
}

/// Checks one message a server wrote: a JSON object that is a JSON-RPC 2.0
/// response, notification or request, each with exactly the members it may have.
/// Panics (a finding) otherwise.
pub fn check_written(message: &[u8]) {
    let value: serde_json::Value = match serde_json::from_slice(message) {
        Ok(value) => value,
        Err(e) => panic!("the server wrote something that is not JSON ({e}): {}", String::from_utf8_lossy(message)),
    };
    let items = match &value {
        serde_json::Value::Array(items) => {
            assert!(!items.is_empty(), "the server wrote an empty batch");
            items.clone()
        }
        _ => vec![value],
    };
    for item in items {
        let object = item.as_object().unwrap_or_else(|| panic!("not an object: {item}"));
        assert_eq!(object.get("jsonrpc").and_then(|v| v.as_str()), Some("2.0"), "{item}");
        let has = |k: &str| object.contains_key(k);
        if has("method") {
            assert!(!has("result") && !has("error"), "a request or notification with a result: {item}");
        } else {
            // An error about a message whose id could not be read has `"id": null`, or
            // (2025-11-25 on, as MCP's schema says) no id at all.
            assert!(has("id") || has("error"), "a result without an id: {item}");
            assert!(has("result") ^ has("error"), "a response needs exactly one of result and error: {item}");
            if let Some(error) = object.get("error") {
                assert!(error.get("code").is_some_and(|c| c.is_i64()), "an error without an integer code: {item}");
                assert!(error.get("message").is_some_and(|m| m.is_string()), "an error without a message: {item}");
            }
        }
    }
}
