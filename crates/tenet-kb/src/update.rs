//! Incremental updates: after a watcher reports changed paths, re-read only those
//! files and share every other document with the previous base.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::base::{Files, KnowledgeBase, LoadError, read_entry, root_error};
use crate::document::{Document, Warning};
use crate::root::{Confinement, Followed, LinkPolicy, Root, followed_in, is_hidden, is_markdown, relative};

impl KnowledgeBase {
    /// The base after the files or folders at `changed` changed (created, edited,
    /// deleted or renamed; paths as a watcher reports them). Only those files are read
    /// again; every other document is shared with this base. Each root that holds a
    /// changed path is listed again (no file read), so files created or deleted under
    /// a changed folder are found too. A file that is now broken keeps its last good
    /// version, as with [`KnowledgeBase::reload`]. The new base builds its search index
    /// on first use or by [`KnowledgeBase::build_index`] (a few milliseconds for the
    /// built-in corpus, about a second at 10 000 documents).
    ///
    /// A change at or under the target of a symbolic link the last listing followed
    /// (a folder or file the link leads to, hidden or not, as a watcher that does not
    /// follow links reports it) counts as the same change under the link, so the
    /// documents read through the link are read again; a change to a link itself, or
    /// on the way to its target, has the root listed again.
    ///
    /// A path under no root makes this a full [`KnowledgeBase::reload`].
    ///
    /// # Errors
    /// A root directory that can no longer be read.
    pub fn update(&self, changed: &[PathBuf]) -> Result<Self, LoadError> {
        let mut touched: Vec<Vec<String>> = vec![Vec::new(); self.roots.len()];
        // Each root resolved, to compare the changed paths with the links' real targets.
        let real_roots: Vec<Option<PathBuf>> = self
            .roots
            .iter()
            .map(|root| match root {
                Root::Dir(dir) => dir.canonicalize().ok(),
                Root::Builtin => None,
            })
            .collect();
        for path in changed {
            let mut located = false;
            for (r, root) in self.roots.iter().enumerate() {
                if let Some(rel) = root.locate(path) {
                    if let Some(real) = &real_roots[r] {
                        // The watcher reports paths inside a root without links on the way.
                        let real = if rel.is_empty() { real.clone() } else { real.join(&rel) };
                        self.through_links(&real, &mut touched);
                    }
                    touched[r].push(rel);
                    located = true;
                }
            }
            if !located {
                tracing::debug!(path = %path.display(), "a change outside every root: reloading all");
                return self.reload();
            }
        }
        // A change in a skills folder reads the skills again; the documents ignore it.
        let skills_changed = touched.iter().flatten().any(|path| path.is_empty() || crate::root::is_skill_path(path));
        let mut files = self.files.clone();
        let mut links_followed = self.followed.clone();
        let mut fresh = Vec::new();
        for (((root, changed), entries), followed) in
            self.roots.iter().zip(&touched).zip(&mut files).zip(&mut links_followed)
        {
            if !changed.is_empty() {
                refresh(root, &self.links, changed, entries, followed, &mut fresh)?;
            }
        }
        let base = Self::assemble(self.roots.clone(), self.links.clone(), files, links_followed, fresh);
        if skills_changed {
            return Ok(base.with_skills(crate::skills::read_skills(&self.roots, &self.links)));
        }
        // Unchanged: the same folders, and their warnings (none of them fresh).
        let mut base = base.with_skills((self.skills.clone(), Vec::new()));
        base.warnings.extend(self.skill_warnings.iter().cloned());
        base.skill_warnings.clone_from(&self.skill_warnings);
        Ok(base)
    }

    /// Adds to `touched` (per root, paths inside it) the paths through symbolic links
    /// that a change at the real path `real` changes: for a link whose target is at or
    /// above `real`, the same path under the link; for a link whose target lies under
    /// `real` (a folder on the way renamed or deleted), the link itself.
    fn through_links(&self, real: &Path, touched: &mut [Vec<String>]) {
        for (followed, touched) in self.followed.iter().zip(touched) {
            for (link, target) in followed {
                if real.starts_with(target) {
                    let rest = relative(target, real);
                    touched.push(if rest.is_empty() { link.clone() } else { format!("{link}/{rest}") });
                } else if target.starts_with(real) {
                    touched.push(link.clone());
                }
            }
        }
    }
}

/// How the documents served by two bases differ, by resource URI.
#[derive(Debug, Default)]
pub struct Diff {
    /// Documents at URIs the older base did not serve.
    pub added: Vec<Arc<Document>>,
    /// Documents whose content changed.
    pub updated: Vec<Arc<Document>>,
    /// URIs the newer base no longer serves.
    pub removed: Vec<String>,
}

impl KnowledgeBase {
    /// What changed from `older` to this base. Only the documents the two do not share
    /// are looked at (by their URIs); those are compared by content hash.
    pub fn diff(&self, older: &KnowledgeBase) -> Diff {
        let mut uris: Vec<(String, &str, &str)> = not_in(older, self)
            .chain(not_in(self, older))
            .map(|(_, d)| (d.uri(), d.language.as_str(), d.domain.as_str()))
            .collect();
        uris.sort_unstable();
        uris.dedup();
        let mut diff = Diff::default();
        for (uri, language, domain) in uris {
            match (older.served_at(&uri, language, domain), self.served_at(&uri, language, domain)) {
                (None, Some(new)) => diff.added.push(Arc::clone(new)),
                (Some(_), None) => diff.removed.push(uri),
                (Some(old), Some(new)) if !Arc::ptr_eq(old, new) && old.hash != new.hash => {
                    diff.updated.push(Arc::clone(new));
                }
                _ => {}
            }
        }
        diff
    }

    /// The document served at `uri`, which belongs to the key (`language`, `domain`).
    fn served_at(&self, uri: &str, language: &str, domain: &str) -> Option<&Arc<Document>> {
        self.key(language, domain).into_iter().find(|d| d.uri() == uri)
    }
}

/// The documents `base` serves that `other` does not serve from the same file.
fn not_in<'a>(base: &'a KnowledgeBase, other: &'a KnowledgeBase) -> impl Iterator<Item = (&'a str, &'a Arc<Document>)> {
    base.served().filter(|(id, doc)| other.by_id.get(*id).is_none_or(|&i| !Arc::ptr_eq(&other.docs[i], doc)))
}

/// Brings one root's files up to date after `changed` paths in it (relative to the
/// root; empty for the root itself) changed. An edited or deleted known file is just
/// re-read or dropped, and a deleted folder's files dropped; only a new file or a
/// folder (created, or the far side of a rename) has the root listed again (no file
/// read), so exactly the files a full load would read are read. Paths no load would
/// read — hidden ones, editors' temporary and backup files — change nothing. Every
/// file is read through the same [`Confinement`] as a full load, so a symbolic link
/// created while the server runs is refused as it would be at start. A changed path
/// that is a symbolic link, or was one the last listing followed, has the root listed
/// again (and `followed` with it), since what it leads to may have changed.
fn refresh(
    root: &Root,
    links: &LinkPolicy,
    changed: &[String],
    files: &mut Files,
    followed: &mut Followed,
    fresh: &mut Vec<Warning>,
) -> Result<(), LoadError> {
    let Root::Dir(dir) = root else { return Ok(()) };
    let confinement = Confinement::new(dir, links).map_err(|source| root_error(root, source))?;
    let label = root.label();
    let mut done = HashSet::new();
    let mut reread = |path: &str, files: &mut Files| {
        if !done.insert(path.to_owned()) {
            return;
        }
        let entry = read_entry(&label, path, confinement.read(&dir.join(path)), files.get(path));
        fresh.extend(entry.warnings.iter().cloned());
        files.insert(path.to_owned(), entry);
    };
    let mut list = false;
    for path in changed {
        if path.split('/').any(is_hidden) || crate::root::is_skill_path(path) {
            continue;
        }
        let full = dir.join(path);
        let folder = format!("{path}/");
        let link = full.symlink_metadata().is_ok_and(|m| m.is_symlink()) || followed.iter().any(|(l, _)| l == path);
        if path.is_empty() || full.is_dir() || link {
            list = true;
        } else if files.contains_key(path.as_str()) {
            if !is_markdown(&full) {
                // Listed, yet neither a folder nor Markdown: listing the root says what it is now.
                list = true;
            } else if full.symlink_metadata().is_ok() {
                // Whatever it now is (a FIFO…), reading it says whether it is used.
                reread(path, files);
            } else {
                files.remove(path.as_str());
            }
        } else if files.keys().any(|known| known.starts_with(&folder)) {
            files.retain(|known, _| !known.starts_with(&folder));
        } else if is_markdown(&full) && full.symlink_metadata().is_ok() {
            list = true;
        }
    }
    if !list {
        return Ok(());
    }
    let listing = confinement.listing(dir).map_err(|source| root_error(root, source))?;
    let listed: HashSet<String> = listing.files.iter().map(|p| relative(dir, p)).collect();
    *followed = followed_in(dir, listing.links);
    // Files under deleted or renamed folders.
    files.retain(|path, _| listed.contains(path));
    let under = |path: &str| {
        changed
            .iter()
            .any(|c| c.is_empty() || path == c || path.strip_prefix(c.as_str()).is_some_and(|r| r.starts_with('/')))
    };
    let mut stale: Vec<&String> = listed.iter().filter(|p| !files.contains_key(*p) || under(p)).collect();
    stale.sort();
    for path in stale {
        reread(path, files);
    }
    Ok(())
}
