//! What a server says about itself when a client meets it: entries its users add to
//! the `_meta` of `initialize` and `server/discover` results, and a digest of what it
//! lists, so that a client can tell at a glance whether anything changed.

use std::io;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tenet_protocol::{JsonObject, ListDigests, VIA_KEY};

use crate::handler::{CompiledTemplate, CompiledTool, PromptDef, ResourceDef, Snapshot};

/// Computes one `_meta` entry for a handshake result from the server `S`.
pub(crate) type Entry<S> = Arc<dyn Fn(&S) -> Value + Send + Sync>;

/// The entries added to the handshake results of a server `S`, by key, in the order
/// they were added.
pub(crate) struct HandshakeMeta<S> {
    entries: RwLock<Vec<(String, Entry<S>)>>,
}

impl<S> Default for HandshakeMeta<S> {
    fn default() -> Self {
        Self { entries: RwLock::new(Vec::new()) }
    }
}

impl<S> HandshakeMeta<S> {
    /// Adds `entry` under `key`, or replaces the one there.
    pub(crate) fn set(&self, key: String, entry: Entry<S>) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = entry,
            None => entries.push((key, entry)),
        }
    }

    /// Writes every entry, computed now, into `meta`.
    pub(crate) fn write(&self, server: &S, meta: &mut JsonObject) {
        // Computed outside the lock: an entry may ask the server anything.
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner).clone();
        for (key, entry) in entries {
            meta.insert(key, entry(server));
        }
    }
}

/// What a server lists, as one version of each of its registries.
pub(crate) struct Listings {
    pub tools: Arc<Snapshot<Arc<CompiledTool>>>,
    pub prompts: Arc<Snapshot<PromptDef>>,
    pub resources: Arc<Snapshot<ResourceDef>>,
    pub templates: Arc<Snapshot<Arc<CompiledTemplate>>>,
}

impl Listings {
    /// Whether both are the same versions of every registry.
    fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.tools, &other.tools)
            && Arc::ptr_eq(&self.prompts, &other.prompts)
            && Arc::ptr_eq(&self.resources, &other.resources)
            && Arc::ptr_eq(&self.templates, &other.templates)
    }
}

/// The lists digests were computed from, and the digests.
struct Digested {
    from: Listings,
    digests: Digests,
}

/// The digests of a server's lists: of everything it lists, and of each list as it
/// offers it to other nodes.
#[derive(Clone)]
pub(crate) struct Digests {
    pub all: Arc<str>,
    pub offered: Arc<ListDigests>,
}

/// The last digests, kept until a list changes.
#[derive(Default)]
pub(crate) struct DigestCache(Mutex<Option<Digested>>);

impl DigestCache {
    /// The digests of `now`, where items imported from peers are offered to other nodes
    /// when `reexport`: computed again only when a list changed since the last ones.
    pub(crate) fn get(&self, now: Listings, reexport: bool) -> Digests {
        let mut cached = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(d) = cached.as_ref()
            && d.from.same(&now)
        {
            return d.digests.clone();
        }
        let tools: Vec<_> = now.tools.items.iter().map(|(_, t)| &t.tool).collect();
        let prompts: Vec<_> = now.prompts.items.iter().map(|(_, p)| &p.prompt).collect();
        let resources: Vec<_> = now.resources.items.iter().map(|(_, r)| &r.resource).collect();
        let templates: Vec<_> = now.templates.items.iter().map(|(_, t)| &t.def.template).collect();
        let mut all = Hashed::new();
        all.list("tools", &tools);
        all.list("prompts", &prompts);
        all.list("resources", &resources);
        all.list("resourceTemplates", &templates);
        let offered = ListDigests {
            tools: offered_digest("tools", &tools, |t| t.meta.as_ref(), reexport),
            prompts: offered_digest("prompts", &prompts, |p| p.meta.as_ref(), reexport),
            resources: offered_digest("resources", &resources, |r| r.meta.as_ref(), reexport),
            resource_templates: offered_digest("resourceTemplates", &templates, |t| t.meta.as_ref(), reexport),
        };
        let digests = Digests { all: all.finish().into(), offered: Arc::new(offered) };
        *cached = Some(Digested { from: now, digests: digests.clone() });
        digests
    }
}

/// The digest of the list `name` of `items` as offered to other nodes: without those
/// imported from peers, unless they are re-exported.
fn offered_digest<T: Serialize>(
    name: &str,
    items: &[&T],
    meta: impl Fn(&T) -> Option<&JsonObject>,
    reexport: bool,
) -> String {
    let mut hash = Hashed::new();
    if reexport {
        hash.list(name, items);
    } else {
        let own: Vec<&T> =
            items.iter().copied().filter(|item| meta(item).is_none_or(|m| !m.contains_key(VIA_KEY))).collect();
        hash.list(name, &own);
    }
    hash.finish()
}

/// A SHA-256 that listings are written into as JSON.
struct Hashed(Sha256);

impl Hashed {
    fn new() -> Self {
        Self(Sha256::new())
    }

    /// `sha256:` and the first 32 hex digits.
    fn finish(self) -> String {
        format!("sha256:{}", crate::hex::hex(&self.0.finalize()[..16]))
    }

    /// Writes `items` as the list named `name`, each as it is listed; the name and a
    /// count keep one list's end from reading as another's start.
    fn list<T: Serialize>(&mut self, name: &str, items: &[&T]) {
        self.0.update(format!("\n{name} {}\n", items.len()).as_bytes());
        for item in items {
            // Writing a listing into a hash cannot fail.
            let _ = serde_json::to_writer(&mut *self, item);
            self.0.update(b"\n");
        }
    }
}

impl io::Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
