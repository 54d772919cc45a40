//! `tenet get`, `tenet search` and `tenet serve`'s flags, run as a person would.

#![allow(clippy::unwrap_used)]

use crate::common;

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
    let (code, stdout, stderr) = tenet(&["search", "zzqqxxyyvv"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    // The hint names the CLI's own command, not the MCP tool.
    assert!(stderr.contains("No matches") && stderr.contains("`tenet list`"), "{stderr}");
    assert!(!stderr.contains("list_stdlib"), "{stderr}");
}

#[test]
fn eval_scores_labelled_queries_on_a_team_root_and_fails_below_its_baseline() {
    // A team's own root and queries, as the guide shows: no built-in corpus.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("go")).unwrap();
    let doc = "---\ntitle: Go ops\nupdatedAt: '2026-01-01'\n---\n# Go ops\n\n## Set memory limits\n\nGOMEMLIMIT keeps the heap bounded.\n\n## Answer health probes\n\nReadiness checks the database.\n";
    std::fs::write(dir.path().join("go/operations.md"), doc).unwrap();
    let root = dir.path().to_str().unwrap();
    let queries = dir.path().join("q.jsonl");
    std::fs::write(
        &queries,
        concat!(
            "{\"text\": \"GOMEMLIMIT\", \"stratum\": \"identifier\", \"relevant\": {\"go/operations#set-memory-limits\": 3}}\n",
            "{\"text\": \"readiness\", \"relevant\": {\"go/operations#set-memory-limits\": 3}}\n",
        ),
    )
    .unwrap();
    let queries = queries.to_str().unwrap();
    let args = |more: &[&'static str]| {
        let mut all = vec!["eval", queries, "--no-builtin", "--root", root];
        all.extend_from_slice(more);
        all
    };
    let (code, stdout, stderr) = tenet(&args(&[]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("overall              2   0.500"), "one of two answered first: {stdout}");
    assert!(stdout.contains("\"readiness\" (unlabelled): go/operations#set-memory-limits not in the first 10; first: go/operations#answer-health-probes"), "{stdout}");
    let (code, json, _) = tenet(&args(&["--json"]));
    assert_eq!(code, 0);
    let mut baseline: serde_json::Value = serde_json::from_str(&json).unwrap();
    let baseline_file = dir.path().join("baseline.json");
    std::fs::write(&baseline_file, &json).unwrap();
    let baseline_path = baseline_file.to_str().unwrap().to_owned();
    let with_baseline = |tolerance: &str| {
        let mut all = args(&[]);
        all.extend_from_slice(&["--baseline", &baseline_path, "--tolerance", tolerance]);
        tenet(&all)
    };
    assert_eq!(with_baseline("0").0, 0, "the same figures pass");
    // A baseline one query better than this run: MRR 0.5 against 1.0.
    baseline["overall"]["mrr"] = 1.0.into();
    std::fs::write(&baseline_file, baseline.to_string()).unwrap();
    let (code, _, stderr) = with_baseline("0.1");
    assert_eq!(code, 1, "a drop past the tolerance fails: {stderr}");
    assert!(stderr.contains("overall MRR@10 fell to 0.500 from 1.000"), "{stderr}");
    assert_eq!(with_baseline("0.6").0, 0, "within the tolerance");
    let (code, _, stderr) = with_baseline("NaN");
    assert_eq!(code, 2, "a tolerance that would turn the gate off is refused: {stderr}");
    // A baseline of other queries is refused, not compared.
    baseline["outcomes"].as_array_mut().unwrap().pop();
    std::fs::write(&baseline_file, baseline.to_string()).unwrap();
    let (code, _, stderr) = with_baseline("0");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the baseline was recorded on other queries"), "{stderr}");
    // A label naming no section, and a file that does not parse: status 2, the reason.
    std::fs::write(dir.path().join("bad.toml"), "[[query]]\ntext = \"x\"\nrelevant = { \"go/operations#nope\" = 3 }\n")
        .unwrap();
    let bad = dir.path().join("bad.toml");
    let (code, _, stderr) = tenet(&["eval", bad.to_str().unwrap(), "--no-builtin", "--root", root]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no section go/operations#nope is served"), "{stderr}");
    std::fs::write(&bad, "[[query]\n").unwrap();
    let (code, _, stderr) = tenet(&["eval", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bad.toml"), "{stderr}");
}

#[test]
fn get_prints_one_section_by_its_outline_id_or_a_search_hits_uri() {
    let (code, outline, _) = tenet(&["get", "go", "security", "--outline"]);
    assert_eq!(code, 0);
    assert!(outline.contains("set-server-and-client-timeouts"), "{outline}");
    let (code, stdout, stderr) = tenet(&["get", "go", "security", "--section", "set-server-and-client-timeouts"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("## Set server and client timeouts"), "{stdout}");
    let (_, whole, _) = tenet(&["get", "go", "security", "--max-tokens", "25000"]);
    assert!(whole.contains("## Set server and client timeouts") && whole.len() > stdout.len() * 2, "{stdout}");
    assert!(!stdout.contains("\n## "), "only that section, no sibling after it: {stdout}");
    // A search hit's URI names the section as well.
    let (_, hits, _) =
        tenet(&["search", "server timeouts", "--language", "go", "--domain", "security", "--limit", "1"]);
    let uri = hits.split(['(', ')']).find(|s| s.starts_with("stdlib://")).unwrap();
    let (code, by_uri, stderr) = tenet(&["get", "go", "security", "--section", uri]);
    assert_eq!(code, 0, "{uri}: {stderr}");
    assert!(by_uri.starts_with("## "), "{by_uri}");
    let (code, _, stderr) = tenet(&["get", "go", "security", "--section", "no-such-section"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no-such-section"), "{stderr}");
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
        let mut command = common::tenet_command();
        command.args(["serve", "--demo", "--transport", "http", "--log-level", "off", "--port", &port.to_string()]);
        command.args(flag).env_remove("TENET_CORS_ORIGINS");
        if let Some(origins) = env {
            command.env("TENET_CORS_ORIGINS", origins);
        }
        let mut server = common::Killed(command.spawn().unwrap());
        let granted = http_head(port, &preflight("https://app.example"));
        let denied = http_head(port, &preflight("https://evil.example"));
        server.kill().unwrap();
        server.wait().unwrap();
        assert!(granted.starts_with("http/1.1 200"), "{granted}");
        assert!(granted.contains("access-control-allow-origin: https://app.example"), "{granted}");
        assert!(granted.contains("access-control-allow-headers: content-type, mcp-session-id"), "{granted}");
        assert!(!denied.contains("access-control-allow-origin"), "{denied}");
    }
}

#[test]
fn list_prints_the_taxonomy_and_what_exists_when_nothing_matches() {
    let (code, stdout, stderr) = tenet(&["list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("rust/testing: Rust testing (1 document, updated ")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("all/security: ")), "{stdout}");
    let (code, stdout, _) = tenet(&["list", "--language", "Go", "--domain", "testing"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("go/testing: "), "{stdout}");
    let (code, stdout, stderr) = tenet(&["list", "--language", "cobol"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("nothing matches. Languages: ") && stderr.contains("rust"), "{stderr}");
    let (code, _, stderr) = tenet(&["list", "--root", "/nonexistent/standards"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read root /nonexistent/standards"), "{stderr}");
}

#[test]
fn boolean_flags_take_yes_and_no_in_the_usual_spellings_from_the_environment() {
    // `tenet list` with the built-in corpus left out and no root has nothing to list.
    let run = |value: &str| {
        let out = common::tenet_command()
            .args(["list"])
            .env_remove("TENET_ROOTS")
            .env("TENET_NO_BUILTIN", value)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    for yes in ["1", "true", "yes", "on", "TRUE", "Yes", "ON"] {
        let (code, stderr) = run(yes);
        assert_eq!(code, 2, "TENET_NO_BUILTIN={yes}: {stderr}");
        assert!(stderr.contains("nothing to serve"), "TENET_NO_BUILTIN={yes}: {stderr}");
    }
    for no in ["0", "false", "no", "off", "False", "NO"] {
        let (code, stderr) = run(no);
        assert_eq!(code, 0, "TENET_NO_BUILTIN={no}: {stderr}");
    }
    let (code, stderr) = run("maybe");
    assert_eq!(code, 2);
    assert!(stderr.contains("--no-builtin") && stderr.contains("\"maybe\""), "{stderr}");
    assert!(stderr.contains("use 1/0, true/false, yes/no or on/off"), "{stderr}");
}

/// `tenet` with `args` on the standards in `root` alone, at most 100 tokens a page.
fn tenet_on(root: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = common::tenet_command()
        .args(args)
        .env("TENET_ROOTS", root)
        .env("TENET_NO_BUILTIN", "1")
        .env("TENET_MAX_TOKENS", "100")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A root with `dotnet/interop.md`, whose headings hold `#`, `'` and spaces, each over
/// a page of text.
fn interop_root() -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    let text = "Keep interop calls at the edge of the program. ".repeat(60);
    std::fs::create_dir_all(dir.path().join("dotnet")).unwrap();
    std::fs::write(
        dir.path().join("dotnet/interop.md"),
        format!(
            "# Interop\n\n## C# interop\n\n{text}\n\n## F# notes\n\n{text}\n\n## Don't block: it's slow\n\n{text}\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn get_finds_a_section_whose_heading_holds_a_hash() {
    let dir = interop_root();
    for (section, heading) in [
        ("C# interop", "## C# interop"),
        ("c-interop", "## C# interop"),
        ("#c-interop", "## C# interop"),
        ("stdlib://dotnet/interop#c-interop", "## C# interop"),
        ("F# notes", "## F# notes"),
        ("#f-notes", "## F# notes"),
    ] {
        let (code, stdout, stderr) = tenet_on(dir.path(), &["get", "dotnet", "interop", "--section", section]);
        assert_eq!(code, 0, "{section}: {stderr}");
        assert!(stdout.starts_with(heading), "{section}: {stdout:.100}");
    }
}

#[test]
fn the_next_page_hint_of_a_section_pastes_back_into_a_shell() {
    let dir = interop_root();
    for (section, heading, quoted) in [
        ("C# interop", "## C# interop", "--section 'C# interop' --max-tokens 100 --cursor "),
        ("#c-interop", "## C# interop", "--section '#c-interop' --max-tokens 100 --cursor "),
        (
            "Don't block: it's slow",
            "## Don't block",
            r"--section 'Don'\''t block: it'\''s slow' --max-tokens 100 --cursor ",
        ),
        ("f-notes", "## F# notes", "--section f-notes --max-tokens 100 --cursor "),
    ] {
        let (code, first, stderr) = tenet_on(dir.path(), &["get", "dotnet", "interop", "--section", section]);
        assert_eq!(code, 0, "{section}: {stderr}");
        assert!(first.starts_with(heading), "{section}: {first:.100}");
        let hint = stderr.lines().find_map(|l| l.split_once("more tokens: ")).map(|(_, command)| command);
        let command = hint.unwrap_or_else(|| panic!("{section}: no next-page hint: {stderr}"));
        assert!(command.starts_with("tenet get dotnet interop ") && command.contains(quoted), "{section}: {command}");
        // Pasted into a shell, the hint reads the next page of the same section.
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("\"$TENET\" {}", command.strip_prefix("tenet ").unwrap()))
            .env("TENET", env!("CARGO_BIN_EXE_tenet"))
            .env("TENET_ROOTS", dir.path())
            .env("TENET_NO_BUILTIN", "1")
            .env("TENET_MAX_TOKENS", "100")
            .output()
            .unwrap();
        let second = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{section}: {command}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!second.trim().is_empty() && !second.starts_with("## "), "{section}: {second:.100}");
        assert!(second.contains("interop calls"), "{section}: {second:.100}");
    }
}

/// Issue 63's rough edges: the next page is cut to the budget asked for, a key with no
/// `updatedAt` says so, and a folder that replaces a built-in standard says so in
/// `tenet list` and `tenet check`, a topic file included.
#[test]
fn list_and_check_say_what_a_folder_replaces_and_the_next_page_keeps_its_budget() {
    let (_, _, stderr) = tenet(&["get", "go", "security", "--max-tokens", "300"]);
    assert!(stderr.contains("tenet get go security --max-tokens 300 --cursor "), "{stderr}");
    let (_, _, stderr) = tenet(&["get", "go", "security", "--max-tokens", "8000"]);
    assert!(!stderr.contains("more tokens"), "one page at the default budget: {stderr}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("go/testing")).unwrap();
    std::fs::write(
        dir.path().join("go/testing/fuzzing.md"),
        "---\ntitle: Fuzzing\ndescription: How we fuzz\n---\n# Fuzzing\n\nFuzz parsers.\n",
    )
    .unwrap();
    let root = dir.path().to_str().unwrap();
    let (code, stdout, _) = tenet(&["list", "--root", root, "--language", "go", "--domain", "testing"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), "go/testing: Fuzzing (1 document, no updatedAt; replaces builtin:go/testing.md)");
    let (code, stdout, stderr) = tenet(&["check", root]);
    assert_eq!(code, 1, "no updatedAt is an error: {stderr}");
    assert!(
        stdout.contains("go/testing/fuzzing.md:1: note: served with the built-in corpus, the documents for go/testing here replace its go/testing.md whole"),
        "{stdout}"
    );
    assert!(stderr.contains("1 error(s), 0 warning(s)"), "a note counts as neither: {stderr}");
}

/// Issue 63's first contact: started from a terminal, `tenet serve` says what it is
/// waiting for and how to connect a client, then serves as usual; started by a client
/// (stdin a pipe), it says nothing of the kind. The terminal is `script`'s.
#[test]
fn serve_on_a_terminal_says_it_waits_for_a_client_and_still_answers() {
    let command = format!("{} serve --log-level warn", env!("CARGO_BIN_EXE_tenet"));
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env_remove("TENET_ROOTS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script(1), from util-linux");
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Ctrl-D on the terminal: end of input, as a person would end it.
    std::io::Write::write_all(&mut stdin, b"\x04").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tenet serve speaks MCP on stdin and stdout, and waits for a client"), "{text}");
    assert!(text.contains("claude mcp add tenet -- tenet serve"), "{text}");
    assert!(text.contains(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#), "it serves as usual: {text}");
    let mut piped = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["serve", "--log-level", "warn"])
        .env_remove("TENET_ROOTS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(piped.stdin.take());
    let out = piped.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("waits for a client"), "a client's pipe: no hint");
}

/// `tenet health --wait`: a script that starts a server in the background waits for
/// it to be ready instead of racing it; a server that never comes is a clear failure.
#[test]
fn health_waits_for_a_server_that_is_starting() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/ready");
    let waiting = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["health", "--wait", "30", &url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let server = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["serve", "--transport", "http", "--port", &port.to_string(), "--no-watch", "--log-level", "warn"])
        .env_remove("TENET_ROOTS")
        .env_remove("TENET_CONFIG")
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _server = common::Killed(server);
    let out = waiting.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{url}: 200"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, _, stderr) = tenet(&["health", "--wait", "0.3", &format!("http://127.0.0.1:{closed}/ready")]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not ready after 0.3 s"), "{stderr}");
}

#[test]
fn an_unknown_section_names_the_cli_command_that_lists_the_ids() {
    let (code, _, stderr) = tenet(&["get", "Go", "security", "--section", "no-such-section"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no-such-section") && stderr.contains("go-security"), "{stderr}");
    assert!(stderr.contains("`tenet get go security --outline` lists the section ids"), "{stderr}");
    assert!(!stderr.contains("get_stdlib") && !stderr.contains("search_stdlib"), "{stderr}");
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    // `tenet list | head -1`: the reader closes the pipe; the command must stop without a
    // panic (Rust's println! panics on a broken pipe) and exit 0, as other CLI tools do.
    for args in [&["list"][..], &["get", "rust", "testing"], &["search", "testing"], &["config", "example"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out =
            common::tenet_command().args(args).stdout(writer).stderr(std::process::Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, out, err) = tenet(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for word in ["serve", "search", "no-rest", "no-web"] {
            assert!(out.contains(word), "{shell} completes {word}");
        }
    }
    let (_, bash, _) = tenet(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("tenet.bash");
    std::fs::write(&script, bash).unwrap();
    let checked = Command::new("bash").arg("-n").arg(&script).status().unwrap();
    assert!(checked.success(), "the bash script parses");
    let (code, _, err) = tenet(&["completions", "nushell"]);
    assert_eq!(code, 2, "an unknown shell is a usage error");
    assert!(err.contains("possible values: bash, elvish, fish, powershell, zsh"), "{err}");

    let (code, man, err) = tenet(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(man.contains(".TH tenet 1"), "{}", &man[..man.len().min(300)]);
    assert!(man.contains("serve") && man.contains("completions"), "every subcommand is listed");
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let (code, out, _) = tenet(&["--version"]);
    assert_eq!(code, 0);
    let head = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().expect("git runs");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let expected = format!("tenet {} (commit {head}", env!("CARGO_PKG_VERSION"));
    assert!(out.starts_with(&expected), "{out:?} should start with {expected:?}");
    assert!(out.trim_end().ends_with(')'), "{out:?}");
}

#[test]
fn serve_takes_folders_of_standards_as_operands_too() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let doc = dir.path().join("zig");
    std::fs::create_dir_all(&doc).expect("mkdir");
    std::fs::write(doc.join("style.md"), "---\nlanguage: zig\ndomain: style\n---\n# Zig style\n\nOperand root.\n")
        .expect("write");
    let root = dir.path().to_str().expect("a UTF-8 path");
    let bin = env!("CARGO_BIN_EXE_tenet");
    let (code, out, err) = tenet(&["call", "get_stdlib", "language=zig", "domain=style", "--", bin, "serve", root]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Operand root."), "{out}");
}
