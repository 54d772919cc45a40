//! `tenet serve` as a gateway, end to end over real processes: a stdio gateway whose
//! upstream is another `tenet serve --demo` process; bad upstream configs refused at
//! start with the key at fault.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{LATEST_LEGACY, Tenet, assert_result, legacy, tool_text};
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
            let out = Command::new(env!("CARGO_BIN_EXE_tenet"))
                .args(&args)
                .arg(&file)
                .env_remove("TENET_CONFIG")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} {text}: {stderr}");
            assert!(stderr.contains(key), "{args:?}: {key} not in {stderr}");
            assert!(started.elapsed() < Duration::from_secs(10));
        }
    }
}
