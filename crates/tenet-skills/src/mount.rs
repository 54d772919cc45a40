//! Skills another server serves, mounted beside a server's own: a gateway's upstream or
//! a peer node. Their entries are listed with the server's (`skills/list`); a
//! `skills/get`, directory read or file read of one of their URIs is the other server's
//! to answer ([`Remote`]), unless the server's own skills cover that URI. The
//! entries come with the URIs the server shows (a gateway's `skill://<upstream>/…`),
//! never rewritten here, so their digests are the other server's.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};
use tenet_jsonrpc::ErrorObject;
use tenet_protocol::ResourceContents;
use tenet_protocol::skill_extension::SkillEntry;
use tenet_server::Context;

/// What a [`Remote`] answers with.
pub type RemoteFuture<T> = Pin<Box<dyn Future<Output = Result<T, ErrorObject>> + Send>>;

/// The server that serves a [`Mount`]'s skills. Its URIs are the ones this server shows;
/// it answers with them too.
pub trait Remote: Send + Sync {
    /// `skills/get` of the skill whose `SKILL.md` is at `uri`: its entry.
    fn get(&self, uri: String, ctx: Context) -> RemoteFuture<SkillEntry>;

    /// One page of `resources/directory/read` of the directory at `uri`, from `cursor`.
    fn directory(&self, uri: String, cursor: Option<String>, ctx: Context) -> RemoteFuture<Map<String, Value>>;

    /// `resources/read` of the file at `uri`: its contents, or `None` when it has none
    /// there.
    fn read(&self, uri: String, ctx: Context) -> RemoteFuture<Option<Vec<ResourceContents>>>;
}

/// Skills of another server, listed beside this server's own ([`crate::serve::Skills::mount`]).
pub struct Mount {
    /// What names it among the mounts (a gateway's upstream's name): mounting another
    /// under the same key replaces it.
    pub key: String,
    /// Its skills' entries, with this server's URIs.
    pub entries: Vec<SkillEntry>,
    /// The scopes a caller needs to see and use them (none: every caller).
    pub scopes: Vec<String>,
    /// Whether they came from another Tenet node (a peer's): they are not offered to
    /// requests from other nodes, so skills never travel round a loop of nodes.
    pub imported: bool,
    /// Who answers for them.
    pub remote: Arc<dyn Remote>,
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount").field("key", &self.key).field("skills", &self.entries.len()).finish_non_exhaustive()
    }
}

impl Mount {
    /// Whether `ctx`'s caller sees these skills: it holds the scopes, and, for a request
    /// from another node, they are not imported.
    pub(crate) fn shown_to(&self, ctx: &Context) -> bool {
        let from_node = ctx.node_path().is_some_and(|path| !path.is_empty());
        ctx.may(&self.scopes) && !(from_node && self.imported)
    }

    /// Whether one of its skills is the one whose `SKILL.md` is at `uri`.
    pub(crate) fn lists(&self, uri: &str) -> bool {
        self.entries.iter().any(|entry| entry.uri == uri)
    }

    /// Whether `uri` is in the directory of one of its skills (the directory itself or
    /// below it).
    pub(crate) fn holds(&self, uri: &str) -> bool {
        self.entries.iter().any(|entry| {
            let dir = entry.uri.strip_suffix(crate::catalog::SKILL_MD).and_then(|d| d.strip_suffix('/'));
            dir.is_some_and(|dir| uri.strip_prefix(dir).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
        })
    }
}

/// Every mount, and what tells one set of them from the next (in the cursors of
/// `skills/list`).
#[derive(Debug, Default)]
pub(crate) struct Mounts {
    pub(crate) generation: u64,
    /// By key.
    pub(crate) all: Vec<Arc<Mount>>,
}

impl Mounts {
    /// These mounts with `mount` in place of the one of its key.
    pub(crate) fn with(&self, mount: Mount) -> Self {
        let mut all: Vec<Arc<Mount>> = self.all.iter().filter(|m| m.key != mount.key).cloned().collect();
        all.push(Arc::new(mount));
        all.sort_by(|a, b| a.key.cmp(&b.key));
        Self { generation: self.generation + 1, all }
    }

    /// These mounts without the one of `key`, if there was one.
    pub(crate) fn without(&self, key: &str) -> Option<Self> {
        let all: Vec<Arc<Mount>> = self.all.iter().filter(|m| m.key != key).cloned().collect();
        (all.len() != self.all.len()).then(|| Self { generation: self.generation + 1, all })
    }

    /// The mount shown to `ctx` that `find` picks.
    pub(crate) fn find(&self, ctx: &Context, find: impl Fn(&Mount) -> bool) -> Option<Arc<Mount>> {
        self.all.iter().find(|m| m.shown_to(ctx) && find(m)).cloned()
    }
}
