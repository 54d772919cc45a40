//! End to end: the `tenet` client commands driving `tenet serve` over stdio and HTTP,
//! in both eras, and their exit codes (0 ok, 1 tool error, 2 usage, 3 connection,
//! 4 protocol); ws:// URLs are taken as targets too.

use crate::common;

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const TENET: &str = env!("CARGO_BIN_EXE_tenet");

fn tenet(args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } =
        Command::new(TENET).args(args).env_remove("TENET_ROOTS").output().expect("tenet runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// `args` followed by `-- tenet serve`.
fn stdio(args: &[&str]) -> (i32, String, String) {
    let mut all = args.to_vec();
    all.extend(["--", TENET, "serve"]);
    tenet(&all)
}

/// `tenet serve` over HTTP on a free loopback port; killed on drop.
struct HttpServer {
    /// The process, killed when the server is dropped.
    _child: common::Killed,
    url: String,
}

impl HttpServer {
    fn start() -> Self {
        Self::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = common::tenet_command()
            .args(["serve", "--transport", "http", "--port", &port.to_string()])
            .args(extra)
            .env_remove("TENET_ROOTS")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tenet serve starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tenet serve did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { _child: common::Killed(child), url: format!("http://127.0.0.1:{port}/mcp") }
    }
}

#[test]
fn tools_lists_the_knowledge_servers_tools_over_stdio_in_both_eras() {
    for era in ["auto", "legacy", "2025-06-18"] {
        let (code, out, err) = stdio(&["tools", "--era", era]);
        assert_eq!(code, 0, "{era}: {err}");
        assert!(out.lines().any(|l| l.starts_with("get_stdlib")), "{era}: {out}");
    }
    let (code, out, err) = stdio(&["tools", "--json"]);
    assert_eq!(code, 0, "{err}");
    let tools: Value = serde_json::from_str(&out).expect("JSON");
    assert!(tools.as_array().expect("an array").iter().any(|t| t["name"] == "get_stdlib"));
}

#[test]
fn call_prints_the_standard_and_tool_errors_exit_1() {
    let (code, out, err) = stdio(&["call", "get_stdlib", "language=rust", "domain=testing"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.trim().is_empty());
    let (code, out, err) =
        stdio(&["call", "get_stdlib", "--args", r#"{"language":"rust","domain":"testing"}"#, "--json"]);
    assert_eq!(code, 0, "{err}");
    let result: Value = serde_json::from_str(&out).expect("JSON");
    assert!(result["content"].is_array());
    let (code, _, err) = stdio(&["call", "get_stdlib"]);
    assert_eq!(code, 1, "missing arguments are an isError result: {err}");
}

#[test]
fn a_tool_run_as_a_task_is_followed_to_its_result_or_cancelled_at_the_timeout() {
    // The demo server logs every request at debug level, so its stderr (which the CLI
    // passes through with --verbose) shows the task being made, polled and cancelled.
    let demo = ["--", TENET, "serve", "--demo", "--log-level", "debug"];
    let call = |extra: &[&str]| {
        let mut args = vec!["call", "--verbose", "--era", "modern", "countdown"];
        args.extend(extra);
        args.extend(demo);
        tenet(&args)
    };
    let (code, out, err) = call(&["steps=2", "step_ms=50"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "counted down 2 steps");
    assert!(err.contains(r#"method="tools/call" tool="countdown""#) && err.contains(r#"outcome="task""#), "{err}");
    assert!(err.contains(r#"method="tasks/get""#), "{err}");

    let (code, _, err) = call(&["steps=50", "step_ms=100", "--timeout", "0.4"]);
    assert_eq!(code, 4, "a timeout is exit 4: {err}");
    assert!(err.contains(r#"method="tasks/cancel""#), "the task was cancelled on the server: {err}");
}

#[test]
fn call_with_context_names_the_conversation() {
    let server = HttpServer::start_with(&["--demo"]);
    let (code, out, err) = tenet(&["call", &server.url, "remember", "key=city", "value=Oslo", "--context", "trip-1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(r#""conversation":"trip-1""#), "{out}");
    let (code, out, err) = tenet(&["call", &server.url, "recall", "key=city", "--context", "trip-1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(r#""value":"Oslo""#), "the same conversation: {out}");
    let (_, out, _) = tenet(&["call", &server.url, "recall", "key=city"]);
    assert!(out.contains(r#""found":false"#), "no conversation named: {out}");
    let (code, _, err) = tenet(&["call", &server.url, "recall", "key=city", "--context", "a b"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--context: invalid context id"), "{err}");
}

#[test]
fn resources_prompts_read_and_prompt_work_over_http() {
    let server = HttpServer::start();
    for era in ["auto", "legacy", "modern"] {
        let (code, out, err) = tenet(&["tools", &server.url, "--era", era]);
        assert_eq!(code, 0, "{era}: {err}");
        assert!(out.contains("get_stdlib"), "{era}: {out}");
    }
    let (code, out, err) = tenet(&["resources", &server.url, "--json"]);
    assert_eq!(code, 0, "{err}");
    let listed: Value = serde_json::from_str(&out).expect("JSON");
    let (code, _, err) = tenet(&["prompts", &server.url]);
    assert_eq!(code, 0, "{err}");
    // The built-in corpus has resources: an empty list is a failure, not a read skipped.
    let uri = listed["resources"][0]["uri"].as_str().unwrap_or_else(|| panic!("no resource listed to read: {listed}"));
    let (code, out, err) = tenet(&["read", &server.url, uri]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.trim().is_empty(), "tenet read {uri} printed nothing");
    let (code, _, err) = tenet(&["read", &server.url, "tenet://no/such/resource"]);
    assert_eq!(code, 4, "a missing resource is a protocol error: {err}");
    let (code, _, err) = tenet(&["call", &server.url, "no_such_tool"]);
    assert_eq!(code, 4, "{err}");
}

/// Issue 63's rough edges: an empty list is said on stderr (stdout stays empty, for
/// scripts), and a prompt's embedded standards print as their text, each after a line
/// naming it, not as one line of JSON.
#[test]
fn an_empty_list_is_said_and_embedded_resources_print_as_text() {
    let keys = "reader 0123456789abcdef-reader stdlib:read";
    let reader =
        ["--", TENET, "serve", "--log-level", "warn", "--api-keys", keys, "--stdio-token", "0123456789abcdef-reader"];
    let mut args = vec!["prompts"];
    args.extend(reader);
    let (code, out, err) = tenet(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("tenet: the server lists no prompts"), "prompts need stdlib:prompts: {err}");
    let (code, out, err) = stdio(&["prompt", "review_against_standards", "language=go", "domain=testing", "code=x"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("[user]\n(resource stdlib://all/testing, text/markdown)\n# Testing standards\n"),
        "{out:.200}"
    );
    assert!(out.contains("(resource stdlib://go/testing, text/markdown)\n# Go testing\n"), "{out:.200}");
    assert!(!out.contains("{\"resource\""), "no JSON: {out:.200}");
}

#[test]
fn usage_errors_exit_2_and_connection_failures_exit_3() {
    assert_eq!(tenet(&["tools"]).0, 2, "no target");
    assert_eq!(tenet(&["tools", "http://127.0.0.1:9/mcp", "--", "x"]).0, 2, "two targets");
    assert_eq!(tenet(&["tools", "--era", "someday", "http://127.0.0.1:9/mcp"]).0, 2, "bad era");
    assert_eq!(tenet(&["call", "http://127.0.0.1:9/mcp"]).0, 2, "no tool name");
    assert_eq!(stdio(&["call", "get_stdlib", "novalue"]).0, 2, "not key=value");
    let (code, _, err) = tenet(&["tools", "http://127.0.0.1:9/mcp"]);
    assert_eq!(code, 3, "{err}");
    // A ws:// URL names the server just as an http:// one does.
    assert_eq!(tenet(&["tools", "ws://127.0.0.1:9/mcp", "--", "x"]).0, 2, "two targets");
    assert_eq!(tenet(&["call", "ws://127.0.0.1:9/mcp"]).0, 2, "no tool name");
    let (code, _, err) = tenet(&["tools", "ws://127.0.0.1:9/mcp"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("ws://127.0.0.1:9/mcp"), "the error names the URL: {err}");
    let (code, _, err) = tenet(&["tools", "--", "/nonexistent/server"]);
    assert_eq!(code, 3, "{err}");
}

#[test]
fn a_servers_log_stays_quiet_unless_verbose_or_it_fails() {
    let (code, out, err) = stdio(&["tools"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("get_stdlib"), "{out}");
    assert!(err.is_empty(), "the server's INFO lines are not shown: {err}");
    let (code, _, err) = stdio(&["tools", "--verbose"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("serving MCP on stdio"), "--verbose shows them: {err}");
    // A server that fails to start: its last lines explain why.
    let (code, _, err) = tenet(&["tools", "--", TENET, "serve", "--root", "/nonexistent/standards"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("the server failed (exit status: 2)"), "{err}");
    assert!(err.contains("  tenet: cannot read root /nonexistent/standards"), "{err}");
}

#[test]
fn a_url_without_the_endpoint_path_gets_a_hint() {
    let server = HttpServer::start();
    let origin = server.url.trim_end_matches("/mcp");
    let (code, _, err) = tenet(&["tools", origin]);
    assert_eq!(code, 3, "nothing to connect to there: {err}");
    // The root answers, with the web page, but not MCP.
    assert!(err.contains("offers neither Streamable HTTP nor an SSE stream"), "{err}");
    assert!(err.contains(&format!("try {origin}/mcp")), "{err}");
    let (code, _, err) = tenet(&["tools", &format!("{origin}/nothing")]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("HTTP 404") && err.contains(&format!("try {origin}/mcp")), "{err}");
}

#[test]
fn bad_json_arguments_say_where_they_break() {
    let (code, _, err) = stdio(&["call", "get_stdlib", "--args", "{bad"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--args is not valid JSON") && err.contains("line 1 column 2"), "{err}");
    let (code, _, err) = stdio(&["call", "get_stdlib", "--args", "[1]"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--args must be a JSON object") && err.contains("not an array"), "{err}");
}

/// `tenet skills` lists the knowledge server's skills (its skill folders and its
/// standards), over stdio and HTTP, in both eras; `tenet skill` prints one file of a
/// skill, checked against its entry, and an unknown skill exits 1 naming the known ones.
#[test]
fn skills_lists_the_skills_and_skill_prints_a_checked_file() {
    let server = HttpServer::start();
    for target in [vec!["--era", "legacy", &server.url], vec!["--era", "modern", &server.url]] {
        let (code, out, err) = tenet(&[&["skills"][..], &target[..]].concat());
        assert_eq!(code, 0, "{err}");
        assert!(out.lines().next().is_some_and(|l| l.starts_with("code-review — ")), "{out}");
        assert!(out.contains("rust-testing — ") && out.contains("skill://rust-testing/SKILL.md"), "{out}");
    }
    let (code, out, err) = stdio(&["skill", "rust-testing"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("---\nname: rust-testing\n"), "{out:.200}");
    let (code, out, err) = stdio(&["skill", "code-review", "references/checklist.md"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("# Review checklist"), "{out:.200}");
    let (code, _, err) = stdio(&["skill", "no-such-skill"]);
    assert_eq!(code, 1);
    assert!(err.contains("no skill \"no-such-skill\"") && err.contains("rust-testing"), "{err}");
    let (code, _, err) = stdio(&["skill", "code-review", "missing.md"]);
    assert_eq!(code, 1);
    assert!(err.contains("not a file the skill's entry lists"), "{err}");
    let (code, out, _) = stdio(&["skills", "--json"]);
    assert_eq!(code, 0);
    let skills: Value = serde_json::from_str(&out).expect("JSON");
    assert!(skills.as_array().expect("an array").iter().all(|s| s["resources"].is_array()));
}
