//! `tenet health` against a real `tenet serve --transport http`, as a container's
//! health check runs it; the server logs JSON lines when asked to.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn health(url: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenet")).args(["health", url]).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn health_passes_while_the_server_runs_and_fails_once_it_is_gone() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["serve", "--demo", "--transport", "http", "--port", &port.to_string(), "--log-format", "json"])
        .env_remove("TENET_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/health");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = health(&url);
    while last.0 != 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        last = health(&url);
    }
    assert_eq!(last.0, 0, "{}", last.1);
    let (code, err) = health(&format!("http://127.0.0.1:{port}/no-such-page"));
    assert_eq!(code, 1);
    assert!(err.contains("HTTP 404"), "{err}");

    server.kill().unwrap();
    server.wait().unwrap();
    let (code, err) = health(&url);
    assert_eq!(code, 1, "{err}");
    let first = BufReader::new(server.stderr.take().unwrap()).lines().next().unwrap().unwrap();
    let line: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(line["level"], "INFO", "{first}");
    assert!(line["message"].as_str().unwrap().contains("serving MCP over HTTP"), "{first}");
}
