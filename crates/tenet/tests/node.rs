//! `tenet serve` as a node: the id it announces in its handshakes, where the id comes
//! from (a flag, the config file, or the state file it generates once), and a digest
//! that follows what it lists.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Stdio;

use crate::common::{Tenet, assert_result, stateless};
use serde_json::{Value, json};

/// The node announcement of a `tenet serve --demo` started with `args`: from its
/// `initialize` result and its `server/discover` result, which must agree.
fn announced(args: &[&str]) -> Value {
    let mut all = vec!["serve", "--demo", "--log-level", "warn"];
    all.extend_from_slice(args);
    let mut tenet = Tenet::start_without_env(&all, &["TENET_NODE_ID", "TENET_STATE_DIR", "TENET_CONFIG"]);
    let init = tenet.initialize("2025-11-25");
    let id = json!("discover");
    let discover = tenet.call(&stateless(id.clone(), "server/discover", json!({})));
    let discovered = assert_result(&discover, &id)["_meta"]["io.tenet/node"].clone();
    assert_eq!(init["_meta"]["io.tenet/node"], discovered, "both handshakes say the same");
    discovered
}

#[test]
fn a_generated_id_is_kept_across_restarts() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap();
    let first = announced(&["--state-dir", dir]);
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 16, "{first}");
    assert_eq!(std::fs::read_to_string(state.path().join("node-id")).unwrap().trim(), id);
    assert_eq!(first["version"], env!("CARGO_PKG_VERSION"));
    let digest = first["digest"].as_str().unwrap();
    assert!(digest.starts_with("sha256:") && digest.len() == 39, "{first}");

    let again = announced(&["--state-dir", dir]);
    assert_eq!(again, first, "same id, and the same lists give the same digest");
}

#[test]
fn a_stdio_server_without_a_state_directory_is_a_node_for_one_run() {
    let home = tempfile::tempdir().unwrap();
    let start = || {
        let mut tenet = Tenet::start_with_env(
            &["serve", "--demo", "--log-level", "warn"],
            &["TENET_NODE_ID", "TENET_STATE_DIR", "TENET_CONFIG", "XDG_STATE_HOME"],
            &[("HOME", home.path().to_str().unwrap())],
        );
        tenet.initialize("2025-11-25")["_meta"]["io.tenet/node"]["id"].as_str().unwrap().to_owned()
    };
    let (first, second) = (start(), start());
    assert_ne!(first, second, "each run its own id: a stdio server is its client's own process");
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0, "nothing written");
}

#[test]
fn an_upstream_tenet_is_a_node_of_its_own() {
    // The gateway's id is in its environment, which its upstream process would inherit.
    let upstream = format!("up={} serve --demo", env!("CARGO_BIN_EXE_tenet"));
    let mut gateway = Tenet::start_with_env(
        &["serve", "--demo", "--log-level", "warn", "--upstream", &upstream],
        &["TENET_STATE_DIR", "TENET_CONFIG"],
        &[("TENET_NODE_ID", "gw")],
    );
    assert_eq!(gateway.initialize("2025-11-25")["_meta"]["io.tenet/node"]["id"], "gw");
    let id = json!("call");
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "up__echo", "arguments": {"text": "through"}}});
    let response = gateway.call(&call);
    let result = assert_result(&response, &id);
    assert_eq!(result["isError"], json!(null), "{result}");
    assert!(common::tool_text(result).contains("through"), "{result}");
}

#[test]
fn a_configured_id_comes_from_the_flag_or_the_config_file() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap();
    assert_eq!(announced(&["--state-dir", dir, "--node-id", "alpha"])["id"], "alpha");
    let config = state.path().join("tenet.toml");
    std::fs::write(&config, "[node]\nid = \"beta\"\n").unwrap();
    assert_eq!(announced(&["--state-dir", dir, "--config", config.to_str().unwrap()])["id"], "beta");
    assert!(!state.path().join("node-id").exists(), "a configured id is not written");
}

#[test]
fn what_the_node_lists_is_in_its_digest() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap();
    let demo = announced(&["--state-dir", dir]);
    let mut tenet = Tenet::start_without_env(
        &["serve", "--log-level", "warn", "--no-watch", "--state-dir", dir],
        &["TENET_NODE_ID", "TENET_STATE_DIR", "TENET_CONFIG", "TENET_ROOTS", "TENET_NO_BUILTIN"],
    );
    let knowledge = tenet.initialize("2025-11-25")["_meta"]["io.tenet/node"].clone();
    assert_eq!(knowledge["id"], demo["id"], "one node, whatever it serves");
    assert_ne!(knowledge["digest"], demo["digest"], "other lists, another digest");
}

/// Runs `tenet ARGS` to its end with stdin closed; returns the exit code and stderr.
fn run(args: &[&str]) -> (i32, String) {
    let out = common::tenet_command()
        .args(args)
        .env_remove("TENET_NODE_ID")
        .env_remove("TENET_STATE_DIR")
        .env_remove("TENET_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_ids_are_refused_at_start_with_where_they_came_from() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap();
    let (code, stderr) = run(&["serve", "--demo", "--state-dir", dir, "--node-id", "a/b"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("invalid node id \"a/b\""), "{stderr}");

    let config = state.path().join("tenet.toml");
    std::fs::write(&config, "[node]\nid = \"has space\"\n").unwrap();
    let (code, stderr) = run(&["config", "check", config.to_str().unwrap()]);
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("node.id") && stderr.contains("invalid node id"), "{stderr}");

    // A state file that holds something else is not overwritten: peers know the id.
    std::fs::write(state.path().join("node-id"), "garbage here\n").unwrap();
    let (code, stderr) = run(&["serve", "--demo", "--state-dir", dir]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("node-id") && stderr.contains("invalid node id"), "{stderr}");
    assert_eq!(std::fs::read_to_string(state.path().join("node-id")).unwrap(), "garbage here\n");
}

#[test]
fn an_http_node_on_a_fixed_port_keeps_its_id_for_its_address() {
    let state = tempfile::tempdir().unwrap();
    let xdg = state.path().to_str().unwrap();
    let serve = |port: &str| {
        let mut tenet = Tenet::start_with_env(
            &["serve", "--demo", "--transport", "http", "--port", port, "--log-level", "info"],
            &["TENET_NODE_ID", "TENET_STATE_DIR", "TENET_CONFIG", "TENET_PORT", "TENET_TRANSPORT"],
            &[("XDG_STATE_HOME", xdg)],
        );
        let log = tenet.wait_stderr(std::time::Duration::from_secs(10), |log| log.contains("serving MCP over HTTP"));
        tenet.sigterm();
        tenet.wait_exit(std::time::Duration::from_secs(10));
        log
    };
    serve("0");
    assert!(!state.path().join("tenet").exists(), "port 0: nothing kept");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let first = serve(&port);
    let file = state.path().join(format!("tenet/http-127.0.0.1-{port}/node-id"));
    let id = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}\n{first}", file.display()));
    assert!(first.contains(&format!("node={}", id.trim())), "{first}");
    let again = serve(&port);
    assert!(again.contains(&format!("node={}", id.trim())), "the same id again: {again}");
}
