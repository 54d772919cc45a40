//! What a server says about itself when a client meets it: entries its users add to
//! the `_meta` of `initialize` and `server/discover` results, and a digest of what it
//! lists, so that a client can tell at a glance whether anything changed.

use std::io;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tenet_protocol::JsonObject;

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

/// The lists a digest was computed from, and the digest.
struct Digested {
    from: Listings,
    digest: Arc<str>,
}

/// The last digest, kept until a list changes.
#[derive(Default)]
pub(crate) struct DigestCache(Mutex<Option<Digested>>);

impl DigestCache {
    /// The digest of `now`: computed again only when a list changed since the last one.
    pub(crate) fn get(&self, now: Listings) -> Arc<str> {
        let mut cached = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(d) = cached.as_ref()
            && d.from.same(&now)
        {
            return Arc::clone(&d.digest);
        }
        let mut hash = Hashed(Sha256::new());
        hash.list("tools", now.tools.items.iter().map(|(_, t)| &t.tool));
        hash.list("prompts", now.prompts.items.iter().map(|(_, p)| &p.prompt));
        hash.list("resources", now.resources.items.iter().map(|(_, r)| &r.resource));
        hash.list("resourceTemplates", now.templates.items.iter().map(|(_, t)| &t.def.template));
        let bytes = hash.0.finalize();
        let digest: Arc<str> = format!("sha256:{}", hex(&bytes[..16])).into();
        *cached = Some(Digested { from: now, digest: Arc::clone(&digest) });
        digest
    }
}

/// A SHA-256 that listings are written into as JSON.
struct Hashed(Sha256);

impl Hashed {
    /// Writes `items` as the list named `name`, each as it is listed; the name and a
    /// count keep one list's end from reading as another's start.
    fn list<'a, T: Serialize + 'a>(&mut self, name: &str, items: impl ExactSizeIterator<Item = &'a T>) {
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

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
