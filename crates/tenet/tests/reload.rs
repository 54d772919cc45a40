//! Live reload: editing a root's files reaches clients as MCP notifications.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crate::common::{LATEST_LEGACY, Tenet, legacy, tool_text};
use serde_json::{Value, json};

fn doc(title: &str, body: &str) -> String {
    format!(
        "---\ntitle: {title}\ndescription: d\ntags: [t]\ncreatedAt: '2026-01-01'\nupdatedAt: '2026-01-02'\n---\n# {title}\n\n{body}\n"
    )
}

/// Waits (bounded) for a notification with `method`, keeping nothing else.
fn wait_for(server: &mut Tenet, method: &str, within: Duration) -> Option<Value> {
    let deadline = Instant::now() + within;
    while let Some(message) = server.next_message_before(deadline) {
        if message["method"] == method {
            return Some(message);
        }
    }
    None
}

#[test]
fn edits_on_disk_become_notifications_and_fresh_answers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rust")).unwrap();
    std::fs::write(dir.path().join("rust/testing.md"), doc("Team Rust testing", "first version")).unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let mut server = Tenet::start_knowledge(&["serve", "--log-level", "warn", "--root", &root]);
    server.initialize(LATEST_LEGACY);
    let subscribed = server.call(&legacy(1, "resources/subscribe", json!({"uri": "stdlib://rust/testing"})));
    assert_eq!(subscribed["result"], json!({}));

    std::fs::write(dir.path().join("rust/testing.md"), doc("Team Rust testing", "second version")).unwrap();
    let updated = wait_for(&mut server, "notifications/resources/updated", Duration::from_secs(10))
        .expect("resources/updated after an edit");
    assert_eq!(updated["params"]["uri"], "stdlib://rust/testing");
    let read = server.call(&legacy(2, "resources/read", json!({"uri": "stdlib://rust/testing"})));
    assert!(read["result"]["contents"][0]["text"].as_str().unwrap().contains("second version"), "{read}");

    // A new language: the resource list and the tools' descriptions change.
    std::fs::create_dir_all(dir.path().join("kotlin")).unwrap();
    std::fs::write(dir.path().join("kotlin/testing.md"), doc("Kotlin testing", "kotlin rules")).unwrap();
    assert!(wait_for(&mut server, "notifications/resources/list_changed", Duration::from_secs(10)).is_some());
    let got = server.call(&legacy(
        3,
        "tools/call",
        json!({"name": "get_stdlib", "arguments": {"language": "kotlin", "domain": "testing"}}),
    ));
    assert!(tool_text(&got["result"]).contains("kotlin rules"), "{got}");
    assert_eq!(got["result"]["structuredContent"]["found"], true);

    // A broken edit keeps serving (front matter problems are warnings, not failures).
    let subscribed = server.call(&legacy(4, "resources/subscribe", json!({"uri": "stdlib://kotlin/testing"})));
    assert_eq!(subscribed["result"], json!({}));
    std::fs::write(dir.path().join("kotlin/testing.md"), "---\ntitle: [broken\n---\nhalf-written\n").unwrap();
    // The last good version keeps being served: nothing changed for clients.
    assert!(wait_for(&mut server, "notifications/resources/updated", Duration::from_millis(1500)).is_none());
    let read = server.call(&legacy(6, "resources/read", json!({"uri": "stdlib://kotlin/testing"})));
    assert!(read["result"]["contents"][0]["text"].as_str().unwrap().contains("kotlin rules"), "{read}");
    let listed = server.call(&legacy(5, "tools/call", json!({"name": "list_stdlib", "arguments": {}})));
    assert_eq!(
        listed["result"]["structuredContent"]["languages"],
        json!(["all", "go", "javascript", "kotlin", "python", "rust", "typescript"])
    );
}

/// The methods of the notifications that arrive until `quiet` passes without one (at
/// most `within` in all), once a first one has come.
fn notifications_until_quiet(server: &mut Tenet, within: Duration, quiet: Duration) -> Vec<String> {
    let end = Instant::now() + within;
    let mut methods = Vec::new();
    loop {
        let deadline = if methods.is_empty() { end } else { (Instant::now() + quiet).min(end) };
        match server.next_message_before(deadline) {
            Some(message) => methods.extend(message["method"].as_str().map(str::to_owned)),
            None => return methods,
        }
    }
}

#[test]
fn a_new_language_folder_is_one_notification_of_each_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (root, stage) = (dir.path().join("root"), dir.path().join("stage"));
    std::fs::create_dir_all(root.join("rust")).unwrap();
    std::fs::write(root.join("rust/testing.md"), doc("Team Rust testing", "rules")).unwrap();
    let mut server = Tenet::start_knowledge(&["serve", "--log-level", "warn", "--root", root.to_str().unwrap()]);
    server.initialize(LATEST_LEGACY);

    // A language folder with two documents arrives at once (moved in, as a checkout or
    // a copy tool does): three tools describe the languages, two resources are new.
    std::fs::create_dir_all(stage.join("kotlin")).unwrap();
    std::fs::write(stage.join("kotlin/testing.md"), doc("Kotlin testing", "kotlin rules")).unwrap();
    std::fs::write(stage.join("kotlin/security.md"), doc("Kotlin security", "kotlin rules")).unwrap();
    std::fs::rename(stage.join("kotlin"), root.join("kotlin")).unwrap();
    let methods = notifications_until_quiet(&mut server, Duration::from_secs(10), Duration::from_millis(1500));
    let count = |method: &str| methods.iter().filter(|m| *m == method).count();
    assert_eq!(count("notifications/tools/list_changed"), 1, "{methods:?}");
    assert_eq!(count("notifications/resources/list_changed"), 1, "{methods:?}");
    assert_eq!(methods.len(), 2, "{methods:?}");
    let got = server.call(&legacy(
        2,
        "tools/call",
        json!({"name": "get_stdlib", "arguments": {"language": "kotlin", "domain": "security"}}),
    ));
    assert_eq!(got["result"]["structuredContent"]["found"], true, "{got}");
}

#[test]
fn no_watch_means_no_reload() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rust")).unwrap();
    std::fs::write(dir.path().join("rust/testing.md"), doc("Team Rust testing", "first version")).unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let mut server = Tenet::start_knowledge(&["serve", "--log-level", "warn", "--no-watch", "--root", &root]);
    server.initialize(LATEST_LEGACY);
    std::fs::write(dir.path().join("rust/testing.md"), doc("Team Rust testing", "second version")).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let read = server.call(&legacy(2, "resources/read", json!({"uri": "stdlib://rust/testing"})));
    assert!(read["result"]["contents"][0]["text"].as_str().unwrap().contains("first version"), "{read}");
}

#[test]
fn several_servers_on_one_root_all_reload_and_each_exits_when_its_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rust")).unwrap();
    std::fs::write(dir.path().join("rust/testing.md"), doc("Team Rust testing", "first version")).unwrap();
    std::fs::create_dir_all(dir.path().join("kotlin")).unwrap();
    std::fs::write(dir.path().join("kotlin/security.md"), doc("Kotlin security", "kept")).unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let mut servers: Vec<Tenet> =
        (0..3).map(|_| Tenet::start_knowledge(&["serve", "--log-level", "warn", "--root", &root])).collect();
    for server in &mut servers {
        server.initialize(LATEST_LEGACY);
        let subscribed = server.call(&legacy(1, "resources/subscribe", json!({"uri": "stdlib://rust/testing"})));
        assert_eq!(subscribed["result"], json!({}));
    }
    std::fs::write(dir.path().join("rust/testing.md"), doc("Team Rust testing", "second version")).unwrap();
    for (i, server) in servers.iter_mut().enumerate() {
        let updated = wait_for(server, "notifications/resources/updated", Duration::from_secs(10));
        assert_eq!(updated.map(|u| u["params"]["uri"].clone()), Some(json!("stdlib://rust/testing")), "server {i}");
    }
    // A deletion: every server drops the resource.
    std::fs::remove_file(dir.path().join("kotlin/security.md")).unwrap();
    for (i, server) in servers.iter_mut().enumerate() {
        assert!(
            wait_for(server, "notifications/resources/list_changed", Duration::from_secs(10)).is_some(),
            "server {i}: no list_changed after a deletion"
        );
        let got = server.call(&legacy(
            2,
            "tools/call",
            json!({"name": "get_stdlib", "arguments": {"language": "kotlin", "domain": "security"}}),
        ));
        assert_eq!(got["result"]["structuredContent"]["found"], false, "server {i}: {got}");
    }
    for server in &mut servers {
        server.close_stdin();
    }
    for server in &mut servers {
        assert!(server.wait_exit(Duration::from_secs(5)).success());
    }
}

/// The URIs of the `resources/updated` notifications that arrive until `quiet` passes
/// without one (at most `within` in all), once a first one has come; other messages
/// are set aside.
fn updates_until_quiet(server: &mut Tenet, within: Duration, quiet: Duration) -> Vec<String> {
    let end = Instant::now() + within;
    let mut uris = Vec::new();
    loop {
        let deadline = if uris.is_empty() { end } else { (Instant::now() + quiet).min(end) };
        match server.next_message_before(deadline) {
            Some(message) if message["method"] == "notifications/resources/updated" => {
                uris.extend(message["params"]["uri"].as_str().map(str::to_owned));
            }
            Some(_) => {}
            None => return uris,
        }
    }
}

/// Issue 61 (SEP-2640): a skill's supporting file is a resource like its `SKILL.md`.
/// Its subscribers hear of its edit (the skill's `SKILL.md` too, its entry changed);
/// a new skill folder, nested in another, changes the resource list, is a skill of its
/// own, and its files are the enclosing skill's too; its removal tells the subscribers
/// of its files.
#[test]
fn skills_files_edited_added_and_removed_reach_their_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rust")).unwrap();
    std::fs::write(dir.path().join("rust/testing.md"), doc("Team Rust testing", "rules")).unwrap();
    let review = dir.path().join("skills/review");
    std::fs::create_dir_all(review.join("refs")).unwrap();
    std::fs::write(review.join("SKILL.md"), "---\nname: review\ndescription: Use when reviewing.\n---\n# Review\n")
        .unwrap();
    std::fs::write(review.join("refs/list.md"), "one\n").unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let mut server = Tenet::start_knowledge(&["serve", "--log-level", "warn", "--root", &root]);
    server.initialize(LATEST_LEGACY);
    for (id, uri) in [(1, "skill://review/refs/list.md"), (2, "skill://review/SKILL.md")] {
        let subscribed = server.call(&legacy(id, "resources/subscribe", json!({"uri": uri})));
        assert_eq!(subscribed["result"], json!({}));
    }

    std::fs::write(review.join("refs/list.md"), "two\n").unwrap();
    let mut updated = updates_until_quiet(&mut server, Duration::from_secs(10), Duration::from_millis(1500));
    updated.sort_unstable();
    assert_eq!(updated, ["skill://review/SKILL.md", "skill://review/refs/list.md"]);
    let read = server.call(&legacy(3, "resources/read", json!({"uri": "skill://review/refs/list.md"})));
    assert_eq!(read["result"]["contents"][0]["text"], "two\n", "{read}");

    // A skill folder inside the review skill, moved in whole.
    let stage = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(stage.path().join("style")).unwrap();
    std::fs::write(stage.path().join("style/SKILL.md"), "---\nname: style\ndescription: Use for style.\n---\n")
        .unwrap();
    std::fs::write(stage.path().join("style/rules.md"), "rules\n").unwrap();
    std::fs::rename(stage.path().join("style"), review.join("style")).unwrap();
    assert!(wait_for(&mut server, "notifications/resources/list_changed", Duration::from_secs(10)).is_some());
    let got = server.call(&legacy(4, "skills/get", json!({"uri": "skill://review/style/SKILL.md"})));
    assert_eq!(got["result"]["skill"]["frontmatter"]["name"], "style", "{got}");
    let got = server.call(&legacy(5, "skills/get", json!({"uri": "skill://review/SKILL.md"})));
    let files: Vec<&str> =
        got["result"]["skill"]["resources"].as_array().unwrap().iter().map(|r| r["uri"].as_str().unwrap()).collect();
    assert_eq!(
        files,
        [
            "skill://review/SKILL.md",
            "skill://review/refs/list.md",
            "skill://review/style/SKILL.md",
            "skill://review/style/rules.md"
        ]
    );

    // The nested skill's file removed: its subscriber hears of it.
    let subscribed = server.call(&legacy(6, "resources/subscribe", json!({"uri": "skill://review/style/rules.md"})));
    assert_eq!(subscribed["result"], json!({}));
    std::fs::remove_file(review.join("style/rules.md")).unwrap();
    let updated = updates_until_quiet(&mut server, Duration::from_secs(10), Duration::from_millis(1500));
    assert!(updated.iter().any(|uri| uri == "skill://review/style/rules.md"), "{updated:?}");
}
