//! The Tenet knowledge server: a knowledge base of engineering standards served over MCP
//! as tools (`get_stdlib`, `search_stdlib`, `list_stdlib`), resources (one per
//! document, plus the `stdlib://{language}/{domain}` template), prompts and completions,
//! and as skills (the MCP Skills extension: one per standard).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tenet_kb::KnowledgeBase;
use tenet_kb::watch::Changes;
use tenet_server::{BuildError, Server, ServerConfig};

mod instructions;
mod metrics;
mod prompts;
mod resources;
pub(crate) mod skills;
mod text;
pub(crate) mod tools;

/// Operator settings of the knowledge server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `max_tokens` when the caller gives none.
    pub default_max_tokens: usize,
    /// The most any call may ask for.
    pub max_tokens_cap: usize,
    /// How long answers of the tools and resources may be reused (server cache and
    /// 2026-07-28 `ttlMs`); `None`: they are not cacheable.
    pub cache_ttl: Option<Duration>,
}

/// The state every handler shares: the current knowledge base (replaced whole on reload).
pub struct Knowledge {
    base: RwLock<Arc<KnowledgeBase>>,
    /// Operator limits.
    pub limits: Limits,
    /// How its searches went, by every face that searches (kept across reloads).
    pub searches: Arc<tenet_kb::SearchStats>,
}

impl Knowledge {
    /// Wraps a loaded base.
    pub fn new(base: KnowledgeBase, limits: Limits) -> Self {
        Self { base: RwLock::new(Arc::new(base)), limits, searches: Arc::default() }
    }

    /// The current base.
    pub fn base(&self) -> Arc<KnowledgeBase> {
        self.base.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Replaces the base; returns the old one.
    fn swap(&self, base: KnowledgeBase) -> Arc<KnowledgeBase> {
        let mut slot = self.base.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *slot, Arc::new(base))
    }

    /// The budget for a call: the caller's, or the default, within the cap.
    pub fn budget(&self, asked: Option<u64>) -> usize {
        let asked = asked.map_or(self.limits.default_max_tokens, |n| usize::try_from(n).unwrap_or(usize::MAX));
        asked.clamp(tenet_kb::budget::MIN_MAX_TOKENS, self.limits.max_tokens_cap)
    }
}

/// A running knowledge server: the MCP server and the state it shares.
pub struct KnowledgeServer {
    /// The MCP server.
    pub server: Server,
    /// The knowledge its handlers read.
    pub knowledge: Arc<Knowledge>,
    /// The standards as skills.
    pub skills: Arc<tenet_skills::Skills>,
}

impl KnowledgeServer {
    /// Brings the base up to date after a watcher's `changes` — re-reading only the
    /// changed files, or everything when events were lost — swaps it in, and tells
    /// clients what changed: `resources/updated` for changed documents, for each skill
    /// file changed or removed and for the `SKILL.md` of each skill whose files changed,
    /// `resources/list_changed` for added or removed documents and skills,
    /// `tools/list_changed` when the languages or domains changed. The new base's
    /// search index is built in the background; a search that comes before it is ready
    /// waits for it, so no search answers from text older than what it was told of.
    ///
    /// # Errors
    /// When a root cannot be read (the old base stays).
    pub fn apply(&self, changes: &Changes) -> Result<(), String> {
        if !changes.rescan && changes.paths.is_empty() {
            return Ok(());
        }
        let current = self.knowledge.base();
        let fresh = if changes.rescan {
            current.reload()
        } else {
            current.update(&changes.paths.iter().cloned().collect::<Vec<_>>())
        };
        let fresh = fresh.map_err(|e| e.to_string())?;
        for warning in fresh.fresh_warnings() {
            tracing::warn!("{warning}");
        }
        let old = self.knowledge.swap(fresh);
        let new = self.knowledge.base();
        index_in_background(&self.knowledge, &new);
        let diff = new.diff(&old);
        // One change on disk is one announcement of each kind: new or removed URIs make
        // one `resources/list_changed`, each changed document one `resources/updated`,
        // and new languages or domains (named in the tools' schemas) one
        // `tools/list_changed`.
        let ttl = self.knowledge.limits.cache_ttl;
        let changed = diff.added.iter().chain(&diff.updated).map(|doc| resources::document(doc.clone(), ttl));
        // The standards' skills change with them, in the same announcement.
        let skills = skills::reload(&self.skills, &new);
        let removed = diff.removed.iter().cloned().chain(skills.gone);
        self.server.update_resources(removed, changed.chain(skills.listed));
        // A skill's other files are not listed resources: their subscribers are told here.
        for uri in skills.updated {
            self.server.notify_resource_updated(uri);
        }
        if old.languages() != new.languages() || old.domains() != new.domains() {
            self.server.add_tools(tools::all(&self.knowledge, &new)).map_err(|e| e.to_string())?;
        }
        let changed = diff.added.len() + diff.updated.len() + diff.removed.len();
        tracing::info!(documents = new.documents().len(), changed, "knowledge base reloaded");
        Ok(())
    }
}

/// Builds `base`'s search index on a thread of its own: the first requests need no
/// index, and a search that comes early waits for it. Nothing is built when another
/// change has replaced `base` by the time the thread starts (a burst of edits builds
/// the newest base's index, not one per edit).
fn index_in_background(knowledge: &Arc<Knowledge>, base: &Arc<KnowledgeBase>) {
    let (knowledge, base) = (knowledge.clone(), Arc::downgrade(base));
    let spawned = std::thread::Builder::new().name("tenet-index".into()).spawn(move || {
        let Some(base) = base.upgrade().filter(|b| Arc::ptr_eq(b, &knowledge.base())) else { return };
        if let Err(e) = base.build_index() {
            tracing::error!("{e}");
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("the index will be built by the first search: {e}");
    }
}

/// The scope that reads the standards: every tool, document and template.
pub const READ_SCOPE: &str = "stdlib:read";
/// The scope of the prompts, which put instructions into the model's context: a
/// separate consent from reading.
pub const PROMPTS_SCOPE: &str = "stdlib:prompts";

/// Builds the MCP server over a knowledge base.
/// With `dynamic`, it declares that its lists change (a gateway adds its upstreams'
/// tools while serving).
pub fn server(
    base: KnowledgeBase,
    limits: Limits,
    config: ServerConfig,
    dynamic: bool,
) -> Result<KnowledgeServer, BuildError> {
    let instructions = instructions::generate(&base);
    let knowledge = Arc::new(Knowledge::new(base, limits));
    let base = knowledge.base();
    index_in_background(&knowledge, &base);
    let mut builder = Server::builder("tenet", env!("CARGO_PKG_VERSION"))
        .title("Tenet engineering standards")
        .description("Engineering standards (architecture, testing, security, performance, patterns) by language")
        .instructions(instructions)
        .config(config)
        .compile_schemas_lazily();
    if dynamic {
        builder = builder.dynamic().tasks();
    }
    for tool in tools::all(&knowledge, &base) {
        builder = builder.tool(tool);
    }
    for resource in resources::documents(&base, limits.cache_ttl) {
        builder = builder.resource(resource);
    }
    builder = builder.template(resources::template(&knowledge)).template(resources::section_template(&knowledge));
    for prompt in prompts::all(&knowledge) {
        builder = builder.prompt(prompt);
    }
    // Each skill is shown to readers; what a gateway mounts beside them, as its upstream says.
    let skills = tenet_skills::Skills::scoped(skills::catalog(&base), vec![READ_SCOPE.to_owned()]);
    for method in skills.methods() {
        builder = builder.method(method);
    }
    for resource in skills::listed(&skills) {
        builder = builder.resource(resource);
    }
    let server = builder.build()?;
    skills::serve_files(&server, &skills);
    server.metrics().register_collector(Box::new(metrics::IndexCollector(knowledge.clone())));
    Ok(KnowledgeServer { server, knowledge, skills })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::{Value, json};
    use tenet_kb::Root;
    use tenet_server::jsonrpc::{Id, Request};
    use tenet_server::{CancellationToken, Link};

    fn standard(body: &str) -> String {
        format!(
            "---\ntitle: Team Rust testing\ndescription: d\ntags: [t]\nupdatedAt: '2026-01-02'\n---\n# Testing\n\n{body}\n"
        )
    }

    /// Serves one stateless request in process and returns the response.
    async fn ask(server: &Server, method: &str, params: Value) -> Value {
        let mut params = params;
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        });
        let raw = serde_json::value::RawValue::from_string(params.to_string()).unwrap();
        let request = Request { id: Id::Number(1), method: method.into(), params: Some(raw) };
        let (out, _) = tokio::sync::mpsc::channel(8);
        let link = Link {
            session: None,
            out,
            cancel: CancellationToken::new(),
            shutdown: CancellationToken::new(),
            grant: None,
            caller: None,
            addr: None,
        };
        serde_json::from_slice(&server.handle_request(request, &link).await).unwrap()
    }

    #[test]
    fn one_change_on_disk_is_one_announcement_of_each_kind() {
        use tenet_server::ServerEvent;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rust")).unwrap();
        std::fs::write(dir.path().join("rust/testing.md"), standard("first")).unwrap();
        std::fs::write(dir.path().join("rust/security.md"), standard("first")).unwrap();
        let base = KnowledgeBase::load(&[Root::Dir(dir.path().to_owned())]).unwrap();
        let limits = Limits { default_max_tokens: 8000, max_tokens_cap: 25000, cache_ttl: None };
        let ks = server(base, limits, ServerConfig::default(), false).unwrap();
        let mut events = ks.server.events();
        let mut drain = || std::iter::from_fn(|| events.try_recv().ok()).collect::<Vec<_>>();

        // A new language with two documents, and an edit, in one burst.
        std::fs::create_dir_all(dir.path().join("kotlin")).unwrap();
        let added = ["kotlin/testing.md", "kotlin/security.md"].map(|p| dir.path().join(p));
        for path in &added {
            std::fs::write(path, standard("kotlin")).unwrap();
        }
        std::fs::write(dir.path().join("rust/testing.md"), standard("second")).unwrap();
        let mut paths: std::collections::BTreeSet<_> = added.into_iter().collect();
        paths.insert(dir.path().join("kotlin"));
        paths.insert(dir.path().join("rust/testing.md"));
        ks.apply(&tenet_kb::watch::Changes { paths, rescan: false }).unwrap();
        assert_eq!(
            drain(),
            [
                ServerEvent::ResourcesChanged,
                ServerEvent::ResourceUpdated("stdlib://rust/testing".into()),
                // The standard's skill changed with it (the new languages' are new).
                ServerEvent::ResourceUpdated("skill://rust-testing/SKILL.md".into()),
                ServerEvent::ToolsChanged
            ]
        );

        // Two edits: one update each, no list change.
        std::fs::write(dir.path().join("rust/testing.md"), standard("third")).unwrap();
        std::fs::write(dir.path().join("rust/security.md"), standard("third")).unwrap();
        ks.apply(&tenet_kb::watch::Changes { paths: Default::default(), rescan: true }).unwrap();
        let mut got = drain();
        got.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(
            got,
            [
                ServerEvent::ResourceUpdated("skill://rust-security/SKILL.md".into()),
                ServerEvent::ResourceUpdated("skill://rust-testing/SKILL.md".into()),
                ServerEvent::ResourceUpdated("stdlib://rust/security".into()),
                ServerEvent::ResourceUpdated("stdlib://rust/testing".into())
            ]
        );
    }

    /// Issue 61: a root's skill folders are served beside the standards' skills, a
    /// broken one is left out, and an edit of a skill's file is served at once with
    /// its new digest (the skills folder is not read as standards).
    #[tokio::test]
    async fn skill_folders_are_served_and_follow_their_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rust")).unwrap();
        std::fs::write(dir.path().join("rust/testing.md"), standard("first")).unwrap();
        let review = dir.path().join("skills/review");
        std::fs::create_dir_all(review.join("refs")).unwrap();
        std::fs::write(review.join("SKILL.md"), "---\nname: review\ndescription: Use when reviewing.\n---\n# Review\n")
            .unwrap();
        std::fs::write(review.join("refs/list.md"), "one\n").unwrap();
        // A folder at a standard's skill name: the standard's skill stays.
        std::fs::create_dir_all(dir.path().join("skills/rust-testing")).unwrap();
        std::fs::write(
            dir.path().join("skills/rust-testing/SKILL.md"),
            "---\nname: rust-testing\ndescription: Not ours.\n---\n",
        )
        .unwrap();
        // A skill folder inside it: the standard's skill holds the standard alone.
        std::fs::create_dir_all(dir.path().join("skills/rust-testing/extra")).unwrap();
        std::fs::write(
            dir.path().join("skills/rust-testing/extra/SKILL.md"),
            "---\nname: extra\ndescription: Not ours either.\n---\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("skills/Broken")).unwrap();
        std::fs::write(dir.path().join("skills/Broken/SKILL.md"), "---\nname: Broken\ndescription: d\n---\n").unwrap();
        let base = KnowledgeBase::load(&[Root::Dir(dir.path().to_owned())]).unwrap();
        assert_eq!(base.documents().len(), 1, "the skills folder holds no standards");
        let limits = Limits { default_max_tokens: 8000, max_tokens_cap: 25000, cache_ttl: None };
        let ks = server(base, limits, ServerConfig::default(), false).unwrap();
        let listed = ask(&ks.server, "skills/list", json!({})).await;
        let uris: Vec<&str> =
            listed["result"]["skills"].as_array().unwrap().iter().map(|s| s["uri"].as_str().unwrap()).collect();
        assert_eq!(uris, ["skill://review/SKILL.md", "skill://rust-testing/SKILL.md"], "{listed}");
        let digest = |got: &Value| {
            let files = got["result"]["skill"]["resources"].as_array().unwrap().clone();
            files.into_iter().find(|f| f["uri"] == "skill://review/refs/list.md").unwrap()["digest"].clone()
        };
        let standard = ask(&ks.server, "skills/get", json!({"uri": "skill://rust-testing/SKILL.md"})).await;
        assert_ne!(standard["result"]["skill"]["frontmatter"]["description"], "Not ours.", "{standard}");
        let before = digest(&ask(&ks.server, "skills/get", json!({"uri": "skill://review/SKILL.md"})).await);
        std::fs::write(review.join("refs/list.md"), "two\n").unwrap();
        let changes =
            tenet_kb::watch::Changes { paths: [review.join("refs/list.md")].into_iter().collect(), rescan: false };
        ks.apply(&changes).unwrap();
        let after = digest(&ask(&ks.server, "skills/get", json!({"uri": "skill://review/SKILL.md"})).await);
        assert_ne!(before, after);
        let read = ask(&ks.server, "resources/read", json!({"uri": "skill://review/refs/list.md"})).await;
        assert_eq!(read["result"]["contents"][0]["text"], "two\n");
    }

    #[tokio::test]
    async fn a_cached_answer_never_outlives_an_edit_of_its_document() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rust/testing.md");
        std::fs::create_dir_all(dir.path().join("rust")).unwrap();
        std::fs::write(&file, standard("first version")).unwrap();
        let base = KnowledgeBase::load(&[Root::Dir(dir.path().to_owned())]).unwrap();
        let limits =
            Limits { default_max_tokens: 8000, max_tokens_cap: 25000, cache_ttl: Some(Duration::from_secs(60)) };
        let ks = server(base, limits, ServerConfig::default(), false).unwrap();
        let get = json!({"name": "get_stdlib", "arguments": {"language": "rust", "domain": "testing"}});
        let read = json!({"uri": "stdlib://rust/testing"});
        let text = |r: &Value, at: &str| r["result"].pointer(at).and_then(Value::as_str).unwrap_or_default().to_owned();
        for _ in 0..2 {
            assert!(
                text(&ask(&ks.server, "tools/call", get.clone()).await, "/structuredContent/content")
                    .contains("first version")
            );
            let first = ask(&ks.server, "resources/read", read.clone()).await;
            assert!(text(&first, "/contents/0/text").contains("first version"), "{first}");
            assert_eq!(first["result"]["cacheScope"], "public");
        }
        let stats = ks.server.cache_stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (2, 2, 2), "{stats:?}");

        std::fs::write(&file, standard("second version")).unwrap();
        let changes = tenet_kb::watch::Changes { paths: [file].into_iter().collect(), rescan: false };
        ks.apply(&changes).unwrap();
        let got = ask(&ks.server, "tools/call", get).await;
        assert!(text(&got, "/structuredContent/content").contains("second version"), "{got}");
        let fresh = ask(&ks.server, "resources/read", read).await;
        assert!(text(&fresh, "/contents/0/text").contains("second version"), "{fresh}");
        assert_eq!(fresh["result"]["ttlMs"], 60_000);
    }
}
