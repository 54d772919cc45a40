//! `tenet serve --config FILE` and `tenet config check`, run as an operator would.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Stdio;

fn tenet(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = common::tenet_command();
    cmd.args(args).stdin(Stdio::null());
    for var in ["TENET_CONFIG", "TENET_PORT", "TENET_ROOTS", "TENET_TRANSPORT", "TENET_NO_BUILTIN", "TENET_API_KEYS"] {
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
    let mut child = common::tenet_command()
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
fn the_example_file_is_generated_from_the_options_and_sets_every_one() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tenet.toml");
    let (code, generated, err) = tenet(&["config", "example"], &[]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(example).unwrap();
    assert!(text == generated, "examples/tenet.toml is out of date: `tenet config example > examples/tenet.toml`");
    assert!(!generated.contains("# ()"), "every option says how else it is set");
    // Every key `config check` reports is in the example, set or (without a default)
    // commented out; and the example is valid as it is.
    let (code, effective, err) = tenet(&["config", "check", example], &[]);
    assert_eq!(code, 0, "{err}");
    let keys: Vec<&str> = effective
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(" = "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert!(keys.len() >= 40, "{effective}");
    for key in keys {
        let listed = text.lines().any(|l| l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key} = ")));
        assert!(listed, "{key} is missing from examples/tenet.toml");
    }
    assert!(effective.contains("log_format = \"pretty\"  # file"), "{effective}");
    assert!(effective.contains("no_builtin = false  # file"), "{effective}");
    assert!(effective.contains("cache_size = \"16MiB\"  # file"), "{effective}");
    assert!(effective.contains("tool_concurrency = \"\"  # unset"), "{effective}");
}

#[test]
fn config_check_refuses_what_serve_refuses() {
    let cases = [
        ("[knowledge]\nroots = [\"missing\"]\n", "missing: No such file or directory"),
        ("[http]\nport = \"3020\"\n", "http.port: expected a number, found the string \"3020\""),
        ("port = 3020\n", "port: belongs in the [http] table"),
        ("[http]\nmetrics_path = \"/mcp\"\n", "--metrics-path /mcp is the MCP endpoint's path"),
        ("[knowledge]\nno_builtin = true\n", "nothing to serve"),
        ("[auth]\napi_keys_file = \"no-such-keys.txt\"\n", "cannot read"),
        ("[auth]\napi_keys = \"only-a-name\"\n", "TENET_API_KEYS"),
    ];
    for (text, want) in cases {
        let (_dir, path) = file(text);
        let (code, out, err) = tenet(&["config", "check", &path], &[]);
        assert_eq!(code, 2, "config check approved {text:?}: {out}");
        assert!(err.contains(want), "config check of {text:?}: {err}");
        let (code, _, err) = tenet(&["serve", "--config", &path], &[]);
        assert_eq!(code, 2, "serve took {text:?}: {err}");
        assert!(err.contains(want), "serve with {text:?}: {err}");
    }
}

#[test]
fn boolean_environment_variables_take_every_usual_spelling() {
    let (_dir, path) = file("[knowledge]\nroots = []\n");
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpus");
    let spellings = [("1", true), ("0", false), ("true", true), ("false", false), ("yes", true), ("no", false)];
    let spellings = spellings.into_iter().chain([("on", true), ("off", false), ("YES", true), ("Off", false)]);
    for (value, want) in spellings {
        for (var, key) in
            [("TENET_NO_BUILTIN", "no_builtin"), ("TENET_NO_WATCH", "no_watch"), ("TENET_NO_METRICS", "no_metrics")]
        {
            let (code, out, err) = tenet(&["config", "check", &path, "--", "--root", corpus], &[(var, value)]);
            assert_eq!(code, 0, "{var}={value}: {err}");
            assert!(out.contains(&format!("{key} = {want}  # env {var}\n")), "{var}={value}: {out}");
        }
    }
    let (code, _, err) = tenet(&["config", "check", &path], &[("TENET_NO_METRICS", "2")]);
    assert_eq!(code, 2);
    assert!(err.contains("--no-metrics") && err.contains("use 1/0, true/false, yes/no or on/off"), "{err}");
}

#[test]
fn check_shows_the_upstreams_and_peers_with_their_defaults_and_no_credentials() {
    let (_dir, path) = file(concat!(
        "[[upstream]]\nname = \"everything\"\ncommand = [\"cat\", \"-u\"]\nenv = { TOKEN = \"env-secret\", \"two words\" = \"env-secret\", \"A\\nB\" = \"env-secret\" }\n",
        "tools = { deny = [\"dangerous_*\"] }\ninherit_env = [\"AWS_*\"]\n",
        "[[upstream]]\nname = \"tickets\"\nurl = \"https://user:pw@tickets.example.com/mcp?key=query-secret\"\n",
        "headers = { Authorization = \"Bearer header-secret\" }\ntimeout = 10\nrequired = false\nsession = \"shared\"\n",
        "[[peer]]\nurl = \"http://127.0.0.1:9/mcp\"\noauth = { client_id = \"gw\", client_secret = \"oauth-secret\" }\n",
        "[[upstream]]\nname = \"modern\"\nurl = \"http://127.0.0.1:9/mcp\"\nprotocol = \"stateless\"\n",
    ));
    let peer = "https://node:flag-secret@n.example/mcp?token=flag-query";
    let args = ["config", "check", &path, "--", "--upstream", "flagged=cat", "--peer", peer, "--inherit-env", "GH_*"];
    let (code, out, err) = tenet(&args, &[]);
    assert_eq!(code, 0, "{err}");
    for secret in ["env-secret", "pw@", "query-secret", "header-secret", "oauth-secret", "flag-secret", "flag-query"] {
        assert!(!out.contains(secret), "{secret} shown: {out}");
    }
    // What it shows is a config file: the tables read back, in the order they run.
    let shown: toml::Table = out.parse().unwrap();
    let upstreams = shown["upstream"].as_array().unwrap();
    let names: Vec<&str> = upstreams.iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["everything", "tickets", "modern", "flagged"]);
    assert_eq!(upstreams[0]["command"].as_array().unwrap().len(), 2);
    assert_eq!(upstreams[0]["env"]["TOKEN"].as_str(), Some("********"));
    assert_eq!(upstreams[0]["env"]["two words"].as_str(), Some("********"));
    assert_eq!(upstreams[0]["env"]["A\nB"].as_str(), Some("********"));
    assert_eq!(upstreams[0]["tools"]["deny"][0].as_str(), Some("dangerous_*"));
    assert_eq!(upstreams[1]["url"].as_str(), Some("https://tickets.example.com/mcp"));
    assert_eq!(upstreams[1]["timeout"].as_integer(), Some(10));
    assert_eq!(upstreams[1]["required"].as_bool(), Some(false));
    assert!(upstreams[1].get("max_restarts").is_none(), "only a stdio server is restarted");
    let peers = shown["peer"].as_array().unwrap();
    assert_eq!(peers[0]["oauth"]["client_id"].as_str(), Some("gw"));
    assert_eq!(peers[0]["required"].as_bool(), Some(false));
    assert_eq!(peers[1]["url"].as_str(), Some("https://n.example/mcp"));
    assert_eq!(shown["node"]["peers"][0].as_str(), Some("https://n.example/mcp"), "the flag as [node] shows it");
    // Defaults are marked as such; what the file gave is not.
    assert!(out.contains("timeout = 30  # default\n") && out.contains("timeout = 10\n"), "{out}");
    assert!(out.contains("max_restarts = 5  # default\n"), "{out}");
    // How callers' sessions upstream are kept, given or not.
    assert_eq!(upstreams[0]["session"].as_str(), Some("per-caller"));
    assert_eq!(upstreams[1]["session"].as_str(), Some("shared"));
    assert!(out.contains("session = \"per-caller\"  # default\n") && out.contains("session = \"shared\"\n"), "{out}");
    for default in ["max_sessions = 32", "session_idle_timeout = 300", "max_message_bytes = 4194304"] {
        assert!(out.contains(&format!("{default}  # default\n")), "{default}: {out}");
    }
    assert!(peers[0].get("session").is_none(), "a peer's table has no session keys");
    assert_eq!(upstreams[2]["session"].as_str(), Some("shared"), "a stateless upstream keeps no sessions");
    assert!(out.contains("name = \"\"  # the node id it announces\n"), "{out}");
    // `--inherit-env` adds to every stdio server's own.
    fn inherited(u: &toml::Value) -> Vec<&str> {
        u["inherit_env"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
    }
    assert_eq!(inherited(&upstreams[0]), ["AWS_*", "GH_*"]);
    assert_eq!(inherited(&upstreams[3]), ["GH_*"]);
    assert!(upstreams[1].get("inherit_env").is_none(), "only a stdio server inherits: {out}");
    let (code, _, err) = tenet(&["config", "check", &path, "--", "--inherit-env", "GH_TOKEN=x"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("\"GH_TOKEN=x\" is not a variable's name"), "{err}");
}

#[test]
fn check_masks_secrets_in_a_stdio_commands_arguments() {
    let (_dir, path) = file(concat!(
        "[[upstream]]\nname = \"remote\"\ncommand = [\"env\", \"X_TOKEN=env-word-secret\", \"LOG_LEVEL=debug\", ",
        "\"mcp-remote\", \"https://user:url-secret@remote.example/mcp\", \"--token=option-secret\", ",
        "\"--header\", \"Authorization: Bearer header-secret\", \"--header\", \"X-Trace: visible\", \"--verbose\"]\n",
    ));
    let (code, out, err) = tenet(&["config", "check", &path], &[]);
    assert_eq!(code, 0, "{err}");
    for secret in ["env-word-secret", "url-secret", "option-secret", "header-secret"] {
        assert!(!out.contains(secret), "{secret} shown: {out}");
    }
    let shown: toml::Table = out.parse().unwrap();
    let command: Vec<&str> =
        shown["upstream"][0]["command"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert_eq!(
        command,
        [
            "env",
            "X_TOKEN=********",
            "LOG_LEVEL=debug",
            "mcp-remote",
            "https://remote.example/mcp",
            "--token=********",
            "--header",
            "Authorization: ********",
            "--header",
            "X-Trace: visible",
            "--verbose",
        ]
    );
}

#[test]
fn a_refused_upstream_names_its_file_once() {
    let (_dir, path) = file("[[upstream]]\nname = \"a\"\ncommand = [\"cat\"]\ntimout = 3\n");
    let (code, _, err) = tenet(&["config", "check", &path], &[]);
    assert_eq!(code, 2);
    assert_eq!(err.matches(&path).count(), 1, "{err}");
    assert!(err.contains("upstream[0].timout: unknown key; expected one of: name, command, url, env,"), "{err}");
    // A key of a table inside one is named by its whole path.
    let (_dir, path) = file("[[upstream]]\nname = \"a\"\ncommand = [\"cat\"]\ntools = { alow = [\"x\"] }\n");
    let (code, _, err) = tenet(&["config", "check", &path], &[]);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim_end(),
        format!("tenet: {path}: upstream[0].tools.alow: unknown key; expected one of: allow, deny")
    );
    // A key may hold a backtick.
    let (_dir, path) = file("[[upstream]]\nname = \"a\"\ncommand = [\"cat\"]\n\"a`b\" = 1\n");
    let (code, _, err) = tenet(&["config", "check", &path], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("upstream[0].a`b: unknown key; expected one of: name, command,"), "{err}");
    // A name the table itself has, written inside one it holds, is named there too.
    let (_dir, path) = file("[[upstream]]\nname = \"a\"\ncommand = [\"cat\"]\ntools = { name = [\"x\"] }\n");
    let (code, _, err) = tenet(&["config", "check", &path], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("upstream[0].tools.name: unknown key; expected one of: allow, deny"), "{err}");
    // An error about the gateway as a whole, not one upstream, is named with its file too.
    let (_dir, path) = file(
        "[gateway]\nprefixless = true\n[[upstream]]\nname = \"a\"\ncommand = [\"cat\"]\n[[upstream]]\nname = \"b\"\ncommand = [\"cat\"]\n",
    );
    let (code, _, err) = tenet(&["config", "check", &path], &[]);
    assert_eq!(code, 2);
    assert!(err.starts_with(&format!("tenet: {path}: gateway.prefixless: ")), "{err}");
    // One about a flag is named with the flag, not the file; a URL in it shown without
    // its credentials.
    let (_dir, path) = file("[[upstream]]\nname = \"a\"\ncommand = [\"cat\"]\n");
    let flag = "a=https://me:flag-secret@h.example/mcp?key=flag-query";
    let (code, _, err) = tenet(&["config", "check", &path, "--", "--upstream", flag], &[]);
    assert_eq!(code, 2);
    assert!(err.starts_with("tenet: --upstream \"a=https://h.example/mcp\": name: "), "{err}");
    assert!(!err.contains("flag-secret") && !err.contains("flag-query"), "{err}");
}

/// Issue 63: `tenet get`, `search`, `list`, `eval` and `export` read the `[knowledge]`
/// table of `tenet serve`'s config file (`--config` or `TENET_CONFIG`), roots relative
/// to the file; flags still win, and a file `serve` would refuse is refused alike.
#[test]
fn the_reading_commands_take_the_config_files_knowledge_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("team/go")).unwrap();
    std::fs::write(
        dir.path().join("team/go/testing.md"),
        "---\ntitle: Team Go testing\ndescription: d\nupdatedAt: '2026-01-01'\n---\n# Team Go testing\n\n## Golden files\n\nKeep golden files next to the test.\n",
    )
    .unwrap();
    let file = dir.path().join("tenet.toml");
    std::fs::write(&file, "[knowledge]\nroots = [\"team\"]\nno_builtin = true\n[http]\nport = 3999\n").unwrap();
    let file = file.to_str().unwrap();
    let (code, out, err) = tenet(&["list", "--config", file], &[]);
    assert_eq!((code, out.trim()), (0, "go/testing: Team Go testing (1 document, updated 2026-01-01)"), "{err}");
    let (code, out, err) = tenet(&["get", "go", "testing"], &[("TENET_CONFIG", file)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("# Team Go testing"), "{out}");
    let (code, out, err) = tenet(&["search", "golden files"], &[("TENET_CONFIG", file)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stdlib://go/testing#golden-files"), "{out}");
    // The environment beats the file, and a flag beats both: the built-in corpus is
    // back, then another root stands for the file's.
    let (code, out, _) = tenet(&["list", "--config", file, "--language", "rust"], &[("TENET_NO_BUILTIN", "no")]);
    assert_eq!(code, 0);
    assert!(out.contains("rust/testing"), "{out}");
    std::fs::create_dir_all(dir.path().join("other/zig")).unwrap();
    std::fs::write(
        dir.path().join("other/zig/style.md"),
        "---\ntitle: Zig style\nupdatedAt: '2026-01-02'\n---\n# Zig\n",
    )
    .unwrap();
    let other = dir.path().join("other");
    let (code, out, _) = tenet(&["list", "--config", file, "--root", other.to_str().unwrap()], &[]);
    assert_eq!((code, out.trim()), (0, "zig/style: Zig style (1 document, updated 2026-01-02)"));
    std::fs::write(dir.path().join("bad.toml"), "[knowledge]\nroots = 5\n").unwrap();
    let bad = dir.path().join("bad.toml");
    let (code, _, err) = tenet(&["list", "--config", bad.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("knowledge.roots: expected an array, found integer"), "{err}");
}
