//! `tenet serve --config FILE` and `tenet config check`, run as an operator would.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

fn tenet(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tenet"));
    cmd.args(args).stdin(Stdio::null());
    for var in ["TENET_CONFIG", "TENET_PORT", "TENET_ROOTS", "TENET_TRANSPORT"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenet.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path.display().to_string())
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let (_dir, path) = file("[http]\nport = 4000\nmax_sessions = 50\n[server]\ntransport = \"http\"\n");
    let (code, out, err) = tenet(&["config", "check", &path], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("port = 4000  # file"), "{out}");
    assert!(out.contains("transport = \"http\"  # file"), "{out}");
    let (_, out, _) = tenet(&["config", "check", &path], &[("TENET_PORT", "5000")]);
    assert!(out.contains("port = 5000  # env TENET_PORT"), "{out}");
    assert!(out.contains("max_sessions = 50  # file"), "{out}");
    let (_, out, _) = tenet(&["config", "check", &path, "--", "--port", "6000"], &[("TENET_PORT", "5000")]);
    assert!(out.contains("port = 6000  # flag"), "{out}");
    let (_, out, _) = tenet(&["config", "check"], &[("TENET_CONFIG", &path)]);
    assert!(out.contains("port = 4000  # file"), "{out}");
}

#[test]
fn a_bad_file_stops_serve_with_the_key_path() {
    let (_dir, path) = file("[http]\nport = 4000\nmax_sesions = 3\n");
    let (code, _, err) = tenet(&["serve", "--config", &path], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("http.max_sesions: unknown key"), "{err}");
    assert!(err.contains("max_sessions"), "the known keys are listed: {err}");
    let (code, _, err) = tenet(&["config", "check", &path], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("http.max_sesions"), "{err}");
    let (code, _, err) = tenet(&["serve"], &[("TENET_CONFIG", "/nonexistent/tenet.toml")]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/tenet.toml: cannot read"), "{err}");
}

#[test]
fn serve_uses_the_file() {
    // The file's roots load (relative to the file) and its token budget applies.
    let (dir, path) = file("[knowledge]\nroots = [\"team\"]\nno_builtin = true\n");
    std::fs::create_dir_all(dir.path().join("team/rust")).unwrap();
    std::fs::write(
        dir.path().join("team/rust/testing.md"),
        "---\ntitle: Team rust testing\ndescription: ours\nlanguage: rust\ndomain: testing\n---\n# Team rust testing\n\nUse nextest.\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["serve", "--config", &path, "--no-watch"])
        .env_remove("TENET_ROOTS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"get_stdlib","arguments":{{"language":"rust","domain":"testing"}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Use nextest."), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains("builtin:"), "no built-in corpus: {stdout}");
}

#[test]
fn the_example_file_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tenet.toml");
    let (code, out, err) = tenet(&["config", "check", example], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("transport = \"http\"  # file"), "{out}");
    assert!(out.contains("max_tokens = 8000  # file"), "{out}");
    assert!(out.contains("cache_size = \"16MiB\"  # file"), "{out}");
    assert!(out.contains("cache_ttl = 300  # file"), "{out}");
    assert!(out.contains("tool_concurrency = \"\"  # unset"), "{out}");
}
