//! The Skills extension served by a real server, over a pipe, in both eras: what a
//! skills-aware client lists, gets and reads, and the errors the extension names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tenet_server::{CancellationToken, Server};
use tenet_skills::{Catalog, SkillSource, Skills};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

struct Pipe {
    write: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    lines: tokio::io::Lines<BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>>,
    next_id: i64,
}

impl Pipe {
    fn start(server: Server) -> Self {
        let (client, server_end) = tenet_transport::memory::pair();
        let (read, write) = tokio::io::split(server_end);
        tokio::spawn(async move { server.serve_as(read, write, CancellationToken::new(), None).await });
        let (read, write) = tokio::io::split(client);
        Self { write, lines: BufReader::new(read).lines(), next_id: 1 }
    }

    async fn send(&mut self, message: &Value) {
        self.write.write_all(format!("{message}\n").as_bytes()).await.unwrap();
    }

    /// The answer to `method` with `params`: its result, or its error.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        loop {
            let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line()).await.unwrap().unwrap();
            let message: Value = serde_json::from_str(&line.unwrap()).unwrap();
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    /// The same, as a 2026-07-28 request of a client that declares the extension.
    async fn modern(&mut self, method: &str, mut params: Value) -> Value {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/skills": {}}},
        });
        self.call(method, params).await
    }
}

fn skill_md(name: &str) -> String {
    format!("---\nname: {name}\ndescription: Use when {name} is the task.\nlicense: MIT\n---\n# {name}\n\nSteps.\n")
}

/// A server of `count` one-file skills and a skill `pdf` with a folder of references.
fn server(count: usize) -> (Server, Arc<Skills>) {
    let mut sources: Vec<SkillSource> =
        (0..count).map(|i| SkillSource::single(format!("skill-{i:03}"), skill_md(&format!("skill-{i:03}")))).collect();
    let mut pdf = SkillSource::single("acme/pdf", skill_md("pdf"));
    let forms: Arc<[u8]> = Arc::from(&b"# Forms\n"[..]);
    let logo: Arc<[u8]> = Arc::from(&[0x89, b'P', b'N', b'G', 0xff, 0x00][..]);
    pdf.files.insert("references/forms.md".into(), forms.into());
    pdf.files.insert("bin/logo.png".into(), logo.into());
    sources.push(pdf);
    serving(sources)
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[tokio::test]
async fn a_client_lists_gets_and_reads_every_skill_and_each_file_matches_its_entry() {
    let (server, _) = server(150);
    let mut pipe = Pipe::start(server);
    let discovered = pipe.modern("server/discover", json!({})).await;
    assert_eq!(
        discovered["result"]["capabilities"]["extensions"]["io.modelcontextprotocol/skills"],
        json!({"directoryRead": true})
    );
    assert!(discovered["result"]["capabilities"]["resources"].is_object());
    // Every page, each entry whole, cacheable in 2026-07-28.
    let (mut entries, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let params = cursor.as_ref().map_or_else(|| json!({}), |c| json!({"cursor": c}));
        let page = pipe.modern("skills/list", params).await;
        let result = &page["result"];
        assert_eq!(result["resultType"], "complete", "{page}");
        assert!(result["ttlMs"].is_u64() && result["cacheScope"].is_string(), "{page}");
        entries.extend(result["skills"].as_array().unwrap().iter().cloned());
        match result["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(entries.len(), 151);
    for entry in &entries {
        let uri = entry["uri"].as_str().unwrap();
        let got = pipe.modern("skills/get", json!({"uri": uri})).await;
        assert_eq!(&got["result"]["skill"], entry);
        assert!(got["result"]["ttlMs"].is_u64());
        for file in entry["resources"].as_array().unwrap() {
            let read = pipe.modern("resources/read", json!({"uri": file["uri"]})).await;
            let contents = &read["result"]["contents"][0];
            let bytes = match contents["text"].as_str() {
                Some(text) => text.as_bytes().to_vec(),
                None => {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.decode(contents["blob"].as_str().unwrap()).unwrap()
                }
            };
            assert_eq!(json!(bytes.len()), file["size"]);
            assert_eq!(json!(sha256(&bytes)), file["digest"]);
        }
    }
    let pdf = entries.iter().find(|e| e["uri"] == "skill://acme/pdf/SKILL.md").unwrap();
    assert_eq!(
        pdf["frontmatter"],
        json!({"name": "pdf", "description": "Use when pdf is the task.", "license": "MIT"})
    );
    assert_eq!(pdf["resources"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_legacy_era_serves_the_same_with_the_extension_declared_at_initialize() {
    let (server, _) = server(2);
    let mut pipe = Pipe::start(server);
    let init = pipe
        .call(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    assert_eq!(
        init["result"]["capabilities"]["extensions"]["io.modelcontextprotocol/skills"],
        json!({"directoryRead": true})
    );
    pipe.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    let listed = pipe.call("skills/list", json!({})).await;
    assert_eq!(listed["result"]["skills"].as_array().unwrap().len(), 3);
    assert!(listed["result"].get("ttlMs").is_none(), "no cache hints before 2026-07-28");
    // Each SKILL.md is a listed resource: markdown, named and described as its front matter.
    let resources = pipe.call("resources/list", json!({})).await;
    let pdf = resources["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["uri"] == "skill://acme/pdf/SKILL.md")
        .cloned()
        .unwrap();
    assert_eq!((pdf["mimeType"].as_str(), pdf["name"].as_str()), (Some("text/markdown"), Some("pdf")));
    assert_eq!(pdf["description"], "Use when pdf is the task.");
}

#[tokio::test]
async fn directories_list_their_direct_children_and_bad_uris_get_invalid_params() {
    let (server, _) = server(0);
    let mut pipe = Pipe::start(server);
    let root = pipe.modern("resources/directory/read", json!({"uri": "skill://acme/pdf"})).await;
    let children = root["result"]["resources"].as_array().unwrap();
    let by_uri = |uri: &str| children.iter().find(|c| c["uri"] == uri).cloned().unwrap();
    assert_eq!(by_uri("skill://acme/pdf/references")["mimeType"], "inode/directory");
    assert_eq!(by_uri("skill://acme/pdf/bin")["mimeType"], "inode/directory");
    assert_eq!(by_uri("skill://acme/pdf/SKILL.md")["mimeType"], "text/markdown");
    assert_eq!(children.len(), 3, "direct children only: {children:?}");
    let above = pipe.modern("resources/directory/read", json!({"uri": "skill://acme"})).await;
    assert_eq!(above["result"]["resources"][0]["uri"], "skill://acme/pdf");
    for (method, uri) in [
        ("resources/directory/read", "skill://acme/pdf/SKILL.md"),
        ("resources/directory/read", "skill://nowhere"),
        ("skills/get", "skill://acme/pdf/references/forms.md"),
        ("skills/get", "skill://mcp-conformance-nonexistent-skill-9f3a2b/SKILL.md"),
        ("skills/get", "https://example.com/pdf/SKILL.md"),
        ("resources/read", "skill://acme/pdf/missing.md"),
    ] {
        let refused = pipe.modern(method, json!({"uri": uri})).await;
        assert_eq!(refused["error"]["code"], -32602, "{method} {uri}: {refused}");
    }
    // The extension asks nothing of clients: one that did not declare it is served too.
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let undeclared = pipe.call("skills/list", json!({"_meta": meta})).await;
    assert_eq!(undeclared["result"]["skills"][0]["uri"], "skill://acme/pdf/SKILL.md", "{undeclared}");
    let foreign = pipe.modern("skills/list", json!({"cursor": "bm90LW91cnM"})).await;
    assert_eq!(foreign["error"]["code"], -32602, "a cursor of another listing: {foreign}");
}

#[tokio::test]
async fn a_new_catalog_is_served_at_once_and_old_cursors_are_refused() {
    let (server, skills) = server(150);
    let mut pipe = Pipe::start(server);
    let first = pipe.modern("skills/list", json!({})).await;
    let cursor = first["result"]["nextCursor"].as_str().unwrap().to_owned();
    let (catalog, _) = Catalog::build([SkillSource::single("fresh", skill_md("fresh"))]);
    skills.replace(catalog);
    let stale = pipe.modern("skills/list", json!({"cursor": cursor})).await;
    assert_eq!(stale["error"]["code"], -32602);
    let now = pipe.modern("skills/list", json!({})).await;
    assert_eq!(now["result"]["skills"][0]["uri"], "skill://fresh/SKILL.md");
    let read = pipe.modern("resources/read", json!({"uri": "skill://fresh/SKILL.md"})).await;
    assert_eq!(read["result"]["contents"][0]["text"], skill_md("fresh"));
}

/// Serves the skills of `sources`, which must all be served.
fn serve(sources: Vec<SkillSource>) -> Server {
    serving(sources).0
}

/// A server of the skills of `sources` (which must all be served), and the skills.
fn serving(sources: Vec<SkillSource>) -> (Server, Arc<Skills>) {
    let (catalog, problems) = Catalog::build(sources);
    assert!(problems.is_empty(), "{problems:?}");
    let skills = Skills::new(catalog);
    let mut builder = Server::builder("skills-test", "1.0.0");
    for method in skills.methods() {
        builder = builder.method(method);
    }
    for resource in skills.listed() {
        builder = builder.resource(resource);
    }
    let server = builder.build().unwrap();
    assert!(server.change_hidden_templates(&[], [skills.files()]).is_empty());
    (server, skills)
}

/// SEP-2640, Resources: an enclosing skill's entry lists its nested skill's files too,
/// and the nested skill has an entry of its own; `skills/get` of the nested `SKILL.md`
/// answers with the nested skill, a shared file reads once, and a directory lists each
/// child once.
#[tokio::test]
async fn a_nested_skill_has_its_own_entry_and_its_files_are_listed_by_the_enclosing_skill_too() {
    let notes: Arc<[u8]> = Arc::from(&b"# Notes\n"[..]);
    let mut outer = SkillSource::single("acme/outer", skill_md("outer"));
    let inner_md: Arc<[u8]> = Arc::from(skill_md("inner").into_bytes().into_boxed_slice());
    outer.files.insert("inner/SKILL.md".into(), inner_md.into());
    outer.files.insert("inner/refs/notes.md".into(), notes.clone().into());
    let mut inner = SkillSource::single("acme/outer/inner", skill_md("inner"));
    inner.files.insert("refs/notes.md".into(), notes.into());
    // Whichever is given first, the nested SKILL.md names the nested skill.
    let mut first_inner = Pipe::start(serve(vec![inner.clone(), outer.clone()]));
    let got = first_inner.modern("skills/get", json!({"uri": "skill://acme/outer/inner/SKILL.md"})).await;
    assert_eq!(got["result"]["skill"]["frontmatter"]["name"], "inner", "{got}");
    let mut pipe = Pipe::start(serve(vec![outer, inner]));

    let listed = pipe.modern("skills/list", json!({})).await;
    let entries = listed["result"]["skills"].as_array().unwrap();
    let uris: Vec<&str> = entries.iter().map(|e| e["uri"].as_str().unwrap()).collect();
    assert_eq!(uris, ["skill://acme/outer/SKILL.md", "skill://acme/outer/inner/SKILL.md"], "flat: {listed}");
    let files = |entry: &Value| -> Vec<String> {
        entry["resources"].as_array().unwrap().iter().map(|r| r["uri"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(
        files(&entries[0]),
        ["skill://acme/outer/SKILL.md", "skill://acme/outer/inner/SKILL.md", "skill://acme/outer/inner/refs/notes.md"]
    );
    assert_eq!(files(&entries[1]), ["skill://acme/outer/inner/SKILL.md", "skill://acme/outer/inner/refs/notes.md"]);
    assert_eq!(entries[0]["resources"][2], entries[1]["resources"][1], "one file, one digest and size");

    let got = pipe.modern("skills/get", json!({"uri": "skill://acme/outer/inner/SKILL.md"})).await;
    assert_eq!(got["result"]["skill"], entries[1], "the nested skill, not the enclosing one: {got}");
    assert_eq!(got["result"]["skill"]["frontmatter"]["name"], "inner");
    let read = pipe.modern("resources/read", json!({"uri": "skill://acme/outer/inner/refs/notes.md"})).await;
    let contents = read["result"]["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 1, "{read}");
    assert_eq!(contents[0]["text"], "# Notes\n");

    for (dir, children) in [
        ("skill://acme/outer", vec!["skill://acme/outer/inner", "skill://acme/outer/SKILL.md"]),
        ("skill://acme/outer/inner", vec!["skill://acme/outer/inner/refs", "skill://acme/outer/inner/SKILL.md"]),
        ("skill://acme/outer/inner/refs", vec!["skill://acme/outer/inner/refs/notes.md"]),
    ] {
        let answer = pipe.modern("resources/directory/read", json!({"uri": dir})).await;
        let got: Vec<&str> =
            answer["result"]["resources"].as_array().unwrap().iter().map(|r| r["uri"].as_str().unwrap()).collect();
        assert_eq!(got, children, "{dir}: {answer}");
    }
}

/// A cursor pages the listing it came from and no other: a `skills/list` cursor is
/// refused by `resources/directory/read`, one directory's by another directory and by
/// `skills/list`, each with -32602.
#[tokio::test]
async fn a_cursor_pages_only_the_listing_it_came_from() {
    let mut sources: Vec<SkillSource> =
        (0..120).map(|i| SkillSource::single(format!("skill-{i:03}"), skill_md(&format!("skill-{i:03}")))).collect();
    let mut big = SkillSource::single("big", skill_md("big"));
    for i in 0..120 {
        let one: Arc<[u8]> = Arc::from(&b"x"[..]);
        big.files.insert(format!("left/f{i:03}.txt"), one.clone().into());
        big.files.insert(format!("right/f{i:03}.txt"), one.into());
    }
    sources.push(big);
    let mut pipe = Pipe::start(serve(sources));
    let cursor = |answer: &Value| answer["result"]["nextCursor"].as_str().unwrap().to_owned();
    let list = cursor(&pipe.modern("skills/list", json!({})).await);
    let left = cursor(&pipe.modern("resources/directory/read", json!({"uri": "skill://big/left"})).await);

    // Each pages its own listing.
    let listed = pipe.modern("skills/list", json!({"cursor": list})).await;
    assert_eq!(listed["result"]["skills"].as_array().unwrap().len(), 21, "{listed}");
    let next = pipe.modern("resources/directory/read", json!({"uri": "skill://big/left", "cursor": left})).await;
    let rest = next["result"]["resources"].as_array().unwrap();
    assert_eq!(rest.len(), 20, "{next}");
    assert_eq!(rest[0]["uri"], "skill://big/left/f100.txt");

    for (method, params) in [
        ("resources/directory/read", json!({"uri": "skill://big/left", "cursor": list})),
        ("resources/directory/read", json!({"uri": "skill://big/right", "cursor": left})),
        ("skills/list", json!({"cursor": left})),
    ] {
        let refused = pipe.modern(method, params.clone()).await;
        assert_eq!(refused["error"]["code"], -32602, "{method} {params}: {refused}");
    }
}

/// A server mounted beside this one (as a gateway mounts an upstream's skills): answers
/// `skills/get` with the entry it lists, and a directory read with one child.
struct Upstream {
    entries: Vec<tenet_protocol::skill_extension::SkillEntry>,
}

impl tenet_skills::Remote for Upstream {
    fn get(
        &self,
        uri: String,
        _: tenet_server::Context,
    ) -> tenet_skills::RemoteFuture<tenet_protocol::skill_extension::SkillEntry> {
        let found = self.entries.iter().find(|e| e.uri == uri).cloned();
        Box::pin(async move { found.ok_or_else(|| tenet_jsonrpc::ErrorObject::internal("not listed")) })
    }

    fn directory(
        &self,
        uri: String,
        _: Option<String>,
        _: tenet_server::Context,
    ) -> tenet_skills::RemoteFuture<serde_json::Map<String, Value>> {
        let child = json!({"uri": format!("{uri}/SKILL.md"), "name": "SKILL.md", "mimeType": "text/markdown"});
        Box::pin(async move { Ok(json!({ "resources": [child] }).as_object().unwrap().clone()) })
    }

    fn read(
        &self,
        uri: String,
        _: tenet_server::Context,
    ) -> tenet_skills::RemoteFuture<Option<Vec<tenet_protocol::ResourceContents>>> {
        let text = tenet_protocol::TextResourceContents {
            uri: uri.clone(),
            mime_type: Some("text/markdown".into()),
            text: format!("mounted {uri}"),
            meta: None,
        };
        Box::pin(async move { Ok(Some(vec![tenet_protocol::ResourceContents::Text(text)])) })
    }
}

fn mounted_entry(uri: &str) -> tenet_protocol::skill_extension::SkillEntry {
    serde_json::from_value(json!({
        "uri": uri,
        "frontmatter": {"name": uri.trim_end_matches("/SKILL.md").rsplit('/').next().unwrap(), "description": "d"},
        "resources": [{"uri": uri, "digest": "sha256:00", "size": 1}],
    }))
    .unwrap()
}

fn mount(key: &str, uris: &[&str], scopes: &[&str], imported: bool) -> tenet_skills::Mount {
    let entries: Vec<_> = uris.iter().map(|u| mounted_entry(u)).collect();
    tenet_skills::Mount {
        key: key.into(),
        entries: entries.clone(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        imported,
        remote: Arc::new(Upstream { entries }),
    }
}

#[tokio::test]
async fn a_mounted_servers_skills_are_listed_after_the_servers_own_and_answered_by_it() {
    let (server, skills) = serving(vec![SkillSource::single("own", skill_md("own"))]);
    skills.mount(mount("kb", &["skill://kb/rust-testing/SKILL.md", "skill://kb/acme/refunds/SKILL.md"], &[], false));
    let mut pipe = Pipe::start(server);
    let listed = pipe.modern("skills/list", json!({})).await;
    let uris: Vec<&str> =
        listed["result"]["skills"].as_array().unwrap().iter().map(|s| s["uri"].as_str().unwrap()).collect();
    assert_eq!(uris, ["skill://own/SKILL.md", "skill://kb/rust-testing/SKILL.md", "skill://kb/acme/refunds/SKILL.md"]);
    assert_eq!(listed["result"]["skills"][1]["resources"][0]["digest"], "sha256:00", "entries as the mount gave them");

    let got = pipe.modern("skills/get", json!({"uri": "skill://kb/acme/refunds/SKILL.md"})).await;
    assert_eq!(got["result"]["skill"]["frontmatter"]["name"], "refunds", "{got}");
    let own = pipe.modern("skills/get", json!({"uri": "skill://own/SKILL.md"})).await;
    assert_eq!(own["result"]["skill"]["frontmatter"]["name"], "own");
    let dir = pipe.modern("resources/directory/read", json!({"uri": "skill://kb/rust-testing"})).await;
    assert_eq!(dir["result"]["resources"][0]["uri"], "skill://kb/rust-testing/SKILL.md", "{dir}");
    let read = pipe.modern("resources/read", json!({"uri": "skill://kb/rust-testing/SKILL.md"})).await;
    assert_eq!(read["result"]["contents"][0]["text"], "mounted skill://kb/rust-testing/SKILL.md", "{read}");
    // Not a skill the mount lists, nor a directory of one of them.
    for (method, uri) in [("skills/get", "skill://kb/other/SKILL.md"), ("resources/directory/read", "skill://kb/othe")]
    {
        let refused = pipe.modern(method, json!({ "uri": uri })).await;
        assert_eq!(refused["error"]["code"], -32602, "{method} {uri}: {refused}");
    }

    // Unmounted (the upstream went down): gone from the list, and the old cursor's
    // listing with it.
    assert!(skills.unmount("kb"));
    assert!(!skills.unmount("kb"));
    let after = pipe.modern("skills/list", json!({})).await;
    assert_eq!(after["result"]["skills"].as_array().unwrap().len(), 1);
    let gone = pipe.modern("skills/get", json!({"uri": "skill://kb/rust-testing/SKILL.md"})).await;
    assert_eq!(gone["error"]["code"], -32602);
}

#[tokio::test]
async fn a_mount_is_shown_only_to_callers_with_its_scopes_and_a_peers_not_to_other_nodes() {
    let (server, skills) = serving(vec![SkillSource::single("own", skill_md("own"))]);
    skills.mount(mount("secret", &["skill://secret/plan/SKILL.md"], &["secret:read"], false));
    skills.mount(mount("peer", &["skill://peer/shared/SKILL.md"], &[], true));
    let mut pipe = Pipe::start(server);
    let count = |v: &Value| v["result"]["skills"].as_array().map_or(0, Vec::len);
    // No access control here: every mount is shown to a client...
    assert_eq!(count(&pipe.modern("skills/list", json!({})).await), 3);
    // ...but another node is not offered what this one imported from a peer.
    let mut from_node = json!({});
    from_node["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.tenet/path": ["n-0123456789abcdef"],
    });
    let listed = pipe.call("skills/list", from_node).await;
    let uris: Vec<&str> =
        listed["result"]["skills"].as_array().unwrap().iter().map(|s| s["uri"].as_str().unwrap()).collect();
    assert_eq!(uris, ["skill://own/SKILL.md", "skill://secret/plan/SKILL.md"], "{listed}");
}

/// A mount named like one of the server's own skills (a peer that announced the id
/// `own`) takes none of that skill's URIs: its entries there are not listed, and a get,
/// directory read or file read of them is the server's (which has nothing there).
#[tokio::test]
async fn the_servers_own_skills_shadow_a_mount_that_would_take_their_uris() {
    let mut own = SkillSource::single("own", skill_md("own"));
    let notes: Arc<[u8]> = Arc::from(&b"# Notes\n"[..]);
    own.files.insert("references/notes.md".into(), notes.into());
    let (server, skills) = serving(vec![own]);
    let shadowed = skills.mount(mount(
        "own",
        &["skill://own/SKILL.md", "skill://own/references/SKILL.md", "skill://own/x/y/SKILL.md"],
        &[],
        true,
    ));
    assert_eq!(shadowed, 3, "every entry is under the server's own skill");
    let mut pipe = Pipe::start(server);
    let listed = pipe.modern("skills/list", json!({})).await;
    assert_eq!(listed["result"]["skills"].as_array().unwrap().len(), 1, "{listed}");
    let got = pipe.modern("skills/get", json!({"uri": "skill://own/SKILL.md"})).await;
    assert_eq!(got["result"]["skill"]["resources"].as_array().unwrap().len(), 2, "the server's own entry: {got}");
    let read = pipe.modern("resources/read", json!({"uri": "skill://own/references/notes.md"})).await;
    assert_eq!(read["result"]["contents"][0]["text"], "# Notes\n", "{read}");
    for (method, uri) in [("skills/get", "skill://own/x/y/SKILL.md"), ("resources/directory/read", "skill://own/x")] {
        let refused = pipe.modern(method, json!({ "uri": uri })).await;
        assert_eq!(refused["error"]["code"], -32602, "{method} {uri} is not the mount's: {refused}");
    }
    let unread = pipe.modern("resources/read", json!({"uri": "skill://own/x/y/SKILL.md"})).await;
    assert!(unread["error"].is_object(), "not read from the mount: {unread}");
}
