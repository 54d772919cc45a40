//! `tenet get`, `tenet search` and `tenet serve`'s flags, run as a person would.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn tenet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).env_remove("TENET_ROOTS").output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn get_prints_the_standard_with_its_sources() {
    let (code, stdout, stderr) = tenet(&["get", "rust", "testing"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("# Testing standards"), "the base comes first: {}", &stdout[..80.min(stdout.len())]);
    assert!(stdout.contains("# Rust testing"));
    assert!(
        stderr.contains("source: builtin:all/testing.md") && stderr.contains("source: builtin:rust/testing.md"),
        "{stderr}"
    );
}

#[test]
fn get_pages_with_a_cursor_and_reports_unknown_keys() {
    let (code, first, stderr) = tenet(&["get", "go", "security", "--max-tokens", "300"]);
    assert_eq!(code, 0);
    let cursor = stderr.split("--cursor ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let (code, second, _) = tenet(&["get", "go", "security", "--max-tokens", "300", "--cursor", &cursor]);
    assert_eq!(code, 0);
    assert_ne!(first, second);
    let (code, _, stderr) = tenet(&["get", "cobol", "testing"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("Languages with standards:"), "{stderr}");
}

#[test]
fn search_lists_hits_and_fails_on_none() {
    let (code, stdout, _) = tenet(&["search", "sql injection", "--domain", "security", "--limit", "3"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("1. "), "{stdout}");
    assert!(stdout.contains("stdlib://"), "{stdout}");
    let (code, stdout, _) = tenet(&["search", "zzqqxxyyvv"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("No matches"), "{stdout}");
}

#[test]
fn bad_limits_are_usage_errors_that_name_the_flag() {
    for (flag, value) in [("--header-timeout", "0"), ("--session-idle-timeout", "-5"), ("--shutdown-grace", "soon")] {
        let arg = format!("{flag}={value}");
        let (code, _, stderr) = tenet(&["serve", "--transport", "http", &arg]);
        assert_eq!(code, 2, "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{stderr}");
    }
}

/// Sends one raw HTTP/1.1 request to 127.0.0.1:`port` and returns the response head.
fn http_head(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut stream = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(50)),
            Err(e) => panic!("the server did not listen on {port}: {e}"),
        }
    };
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    text.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase()
}

#[test]
fn serve_http_grants_cors_to_the_origins_given_by_flag_or_environment() {
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: content-type, mcp-session-id\r\nConnection: close\r\n\r\n"
        )
    };
    for (flag, env) in [(Some("--cors-origin=https://app.example"), None), (None, Some("https://app.example"))] {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_tenet"));
        command.args(["serve", "--demo", "--transport", "http", "--log-level", "off", "--port", &port.to_string()]);
        command.args(flag).env_remove("TENET_CORS_ORIGINS");
        if let Some(origins) = env {
            command.env("TENET_CORS_ORIGINS", origins);
        }
        let mut server = command.spawn().unwrap();
        let granted = http_head(port, &preflight("https://app.example"));
        let denied = http_head(port, &preflight("https://evil.example"));
        server.kill().unwrap();
        server.wait().unwrap();
        assert!(granted.starts_with("http/1.1 204"), "{granted}");
        assert!(granted.contains("access-control-allow-origin: https://app.example"), "{granted}");
        assert!(granted.contains("access-control-allow-headers: content-type, mcp-session-id"), "{granted}");
        assert!(!denied.contains("access-control-allow-origin"), "{denied}");
    }
}
