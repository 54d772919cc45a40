//! The response cache in the real binary: a 2026-07-28 read carries the document's
//! TTL, and an edited document is served fresh as soon as the reload is announced,
//! although its old text was cached.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crate::common::{LATEST_LEGACY, Tenet, legacy, stateless};
use serde_json::{Value, json};

fn doc(body: &str) -> String {
    format!(
        "---\ntitle: Team Rust testing\ndescription: d\ntags: [t]\ncreatedAt: '2026-01-01'\nupdatedAt: '2026-01-02'\n---\n# Team Rust testing\n\n{body}\n"
    )
}

fn text(response: &Value, at: &str) -> String {
    response["result"].pointer(at).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// A knowledge server on a root holding `rust/testing.md`, with these extra flags.
fn start(dir: &tempfile::TempDir, flags: &[&str]) -> Tenet {
    std::fs::create_dir_all(dir.path().join("rust")).unwrap();
    std::fs::write(dir.path().join("rust/testing.md"), doc("first version")).unwrap();
    let root = dir.path().to_str().unwrap();
    let mut args = vec!["serve", "--log-level", "warn", "--no-builtin", "--root", root];
    args.extend_from_slice(flags);
    Tenet::start_knowledge(&args)
}

#[test]
fn reads_carry_the_ttl_and_edits_are_served_fresh_after_the_reload() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir, &["--cache-ttl", "120", "--cache-size", "4MiB"]);
    let read = |id: i64| stateless(id, "resources/read", json!({"uri": "stdlib://rust/testing"}));
    let get = |id: i64| {
        stateless(
            id,
            "tools/call",
            json!({"name": "get_stdlib", "arguments": {"language": "rust", "domain": "testing"}}),
        )
    };
    let first = server.call(&read(1));
    assert_eq!(first["result"]["ttlMs"], 120_000, "{first}");
    assert_eq!(first["result"]["cacheScope"], "public", "no authorization: anyone may share it");
    assert_eq!(first["result"]["resultType"], "complete");
    let again = server.call(&read(2));
    assert!(again["result"]["ttlMs"].as_u64().unwrap() <= 120_000, "{again}");
    assert_eq!(again["result"]["contents"], first["result"]["contents"]);
    for id in 3..=4 {
        assert!(text(&server.call(&get(id)), "/structuredContent/content").contains("first version"));
    }

    // A legacy subscription tells when the reload has happened.
    server.initialize(LATEST_LEGACY);
    let subscribed = server.call(&legacy(5, "resources/subscribe", json!({"uri": "stdlib://rust/testing"})));
    assert_eq!(subscribed["result"], json!({}));
    std::fs::write(dir.path().join("rust/testing.md"), doc("second version")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let updated = std::iter::from_fn(|| server.next_message_before(deadline))
        .find(|m| m["method"] == "notifications/resources/updated")
        .expect("resources/updated after the edit");
    assert_eq!(updated["params"]["uri"], "stdlib://rust/testing");
    let fresh = server.call(&read(6));
    assert!(text(&fresh, "/contents/0/text").contains("second version"), "{fresh}");
    assert_eq!(fresh["result"]["ttlMs"], 120_000, "a fresh read has the whole TTL");
    assert!(text(&server.call(&get(7)), "/structuredContent/content").contains("second version"));
}

#[test]
fn a_zero_ttl_makes_nothing_cacheable() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir, &["--cache-ttl", "0"]);
    let read = server.call(&stateless(1, "resources/read", json!({"uri": "stdlib://rust/testing"})));
    assert_eq!(read["result"]["ttlMs"], 0, "the server's default hint: {read}");
    assert_eq!(read["result"]["cacheScope"], "private");
}
