//! `tenet health` against a real `tenet serve --transport http`, as a container's
//! health check runs it; the server logs JSON lines when asked to.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn health(url: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenet")).args(["health", url]).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn health_passes_while_the_server_runs_and_fails_once_it_is_gone() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = serve_http(&["--port", &port.to_string(), "--log-format", "json"]);
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

/// `tenet serve --demo --transport http ARGS`, its stderr piped.
fn serve_http(args: &[&str]) -> common::Killed {
    common::Killed(
        common::tenet_command()
            .args(["serve", "--demo", "--transport", "http"])
            .args(args)
            .env_remove("TENET_CONFIG")
            .env_remove("TENET_PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn with_port_0_the_log_names_the_port_that_was_bound() {
    let mut server = serve_http(&["--port", "0", "--log-format", "json"]);
    let first = BufReader::new(server.stderr.take().unwrap()).lines().next().unwrap().unwrap();
    let line: serde_json::Value = serde_json::from_str(&first).unwrap();
    let message = line["message"].as_str().unwrap().to_owned();
    let url = message.strip_prefix("serving MCP over HTTP at ").unwrap_or_else(|| panic!("{first}"));
    let port: u16 = url.trim_start_matches("http://127.0.0.1:").trim_end_matches("/mcp").parse().unwrap();
    assert_ne!(port, 0, "{first}");
    // It listens there already: the line is written after the bind.
    let (code, err) = health(&format!("http://127.0.0.1:{port}/health"));
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_port_in_use_is_named_with_the_flag_that_changes_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut server = serve_http(&["--port", &port]);
    let mut stderr = String::new();
    server.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(server.wait().unwrap().code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("port {port} is already in use")), "{stderr}");
    assert!(stderr.contains("--port"), "{stderr}");
    assert!(!stderr.contains("serving MCP over HTTP"), "nothing is served: {stderr}");
    drop(taken);
}

#[test]
fn a_url_without_the_health_path_gets_a_hint() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = serve_http(&["--port", &port.to_string()]);
    let origin = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while health(&format!("{origin}/health")).0 != 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, err) = health(&origin);
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("HTTP 404"), "{err}");
    assert!(err.contains(&format!("try {origin}/health")), "{err}");
}
