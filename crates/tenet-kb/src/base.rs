//! The knowledge base: documents from several roots, merged with precedence.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use crate::document::{self, Document, Source, Warning};
use crate::root::{FileText, Followed, LinkPolicy, Root, read_root};
use crate::search::{Hit, Query, SearchIndex};

/// Why a knowledge base could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A root directory cannot be read.
    #[error("cannot read root {path}: {source}")]
    Root {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The search index could not be built.
    #[error("cannot build the search index: {0}")]
    Index(String),
}

/// Counts and dates for one (language, domain) key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The language.
    pub language: String,
    /// The domain.
    pub domain: String,
    /// How many documents it holds.
    pub documents: usize,
    /// The newest `updatedAt` among them.
    pub updated_at: Option<String>,
    /// The titles.
    pub titles: Vec<String>,
    /// The documents of earlier roots for this key that its documents replace (a later
    /// root replaces a key whole, a topic file included), as `root:path`.
    pub replaces: Vec<String>,
}

/// One file of a root as last read: the document it gave (if any) and what reading it
/// had to say. Kept for shadowed files too, so an overlay's removal is cheap.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileEntry {
    /// The document, or `None` when the file yields none.
    pub(crate) doc: Option<Arc<Document>>,
    /// The warnings reading it gave.
    pub(crate) warnings: Vec<Warning>,
    /// Whether the file is broken and `doc` is its last good version.
    pub(crate) stale: bool,
}

/// The files of one root by path inside it.
pub(crate) type Files = BTreeMap<String, FileEntry>;

/// Documents by key, each with its root's position and its path.
type Keyed<'a> = BTreeMap<(String, String), Vec<(usize, &'a str, &'a Arc<Document>)>>;

/// Loaded documents, their taxonomy and their search index. Immutable: reloading
/// builds a new one (sharing the unchanged documents).
pub struct KnowledgeBase {
    pub(crate) roots: Vec<Root>,
    /// Where symbolic links in the folder roots may lead (see [`LinkPolicy`]).
    pub(crate) links: LinkPolicy,
    /// Per root (same order), every file read from it, shadowed or not.
    pub(crate) files: Vec<Files>,
    /// Per root (same order), the symbolic links its last listing followed and where
    /// they lead, so that [`KnowledgeBase::update`] re-reads what a change at a link's
    /// target changes (a watcher that does not follow links reports it there).
    pub(crate) followed: Vec<Followed>,
    /// The documents served, grouped by key.
    pub(crate) docs: Vec<Arc<Document>>,
    /// Each served document's file id (see [`file_id`]), by position in `docs`.
    pub(crate) by_id: HashMap<String, usize>,
    by_key: BTreeMap<(String, String), Vec<usize>>,
    /// For each key a later root replaced, the documents of earlier roots it replaced
    /// (`root:path`).
    replaced: BTreeMap<(String, String), Vec<String>>,
    pub(crate) index: OnceLock<Result<SearchIndex, String>>,
    pub(crate) warnings: Vec<Warning>,
    fresh_warnings: Vec<Warning>,
    loaded_at: SystemTime,
    /// The roots' skill folders, in root order ([`crate::skills`]).
    pub(crate) skills: Vec<crate::skills::SkillFolder>,
    /// What reading them left out, and why.
    pub(crate) skill_warnings: Vec<Warning>,
}

impl std::fmt::Debug for KnowledgeBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBase").field("documents", &self.docs.len()).field("roots", &self.roots).finish()
    }
}

/// The id of a root's file, unique in a base: the root's position and the path.
pub(crate) fn file_id(root: usize, path: &str) -> String {
    format!("{root}:{path}")
}

impl KnowledgeBase {
    /// Loads `roots` in order: for each (language, domain) key, the last root that has
    /// documents for it supplies all of that key's documents. The search index is built
    /// on first use or by [`KnowledgeBase::build_index`].
    ///
    /// # Errors
    /// A root directory that cannot be read.
    pub fn load(roots: &[Root]) -> Result<Self, LoadError> {
        Self::load_with(roots, &LinkPolicy::default())
    }

    /// Loads `roots` as [`KnowledgeBase::load`] does, following symbolic links as
    /// `links` allows (by default only to files and folders inside their own root).
    /// Reloads and updates of the base keep the policy.
    ///
    /// # Errors
    /// A root directory that cannot be read.
    pub fn load_with(roots: &[Root], links: &LinkPolicy) -> Result<Self, LoadError> {
        Self::load_after(roots, links, None)
    }

    /// Loads the same roots again. A file that is now broken — unreadable, not UTF-8,
    /// too large, or with front matter that no longer parses — keeps its last good
    /// version, with a warning, instead of disappearing or losing its fields. Unchanged
    /// files keep their documents (shared, not re-parsed). The new base builds its
    /// search index on first use or by [`KnowledgeBase::build_index`].
    ///
    /// # Errors
    /// A root directory that cannot be read.
    pub fn reload(&self) -> Result<Self, LoadError> {
        Self::load_after(&self.roots, &self.links, Some(self))
    }

    fn load_after(roots: &[Root], links: &LinkPolicy, previous: Option<&Self>) -> Result<Self, LoadError> {
        let mut files = Vec::with_capacity(roots.len());
        let mut followed = Vec::with_capacity(roots.len());
        for (r, root) in roots.iter().enumerate() {
            let label = root.label();
            let before = previous.filter(|p| p.roots.get(r) == Some(root)).map(|p| &p.files[r]);
            let (read, links_followed) = read_root(root, links).map_err(|source| root_error(root, source))?;
            let entries = read
                .into_iter()
                .map(|(path, text)| {
                    let entry = read_entry(&label, &path, text, before.and_then(|b| b.get(&path)));
                    (path, entry)
                })
                .collect();
            files.push(entries);
            followed.push(links_followed);
        }
        let fresh = files.iter().flat_map(|f: &Files| f.values().flat_map(|e| e.warnings.iter().cloned())).collect();
        let base = Self::assemble(roots.to_vec(), links.clone(), files, followed, fresh);
        Ok(base.with_skills(crate::skills::read_skills(roots, links)))
    }

    /// Merges the roots' files: for each key, the last root with documents for it wins.
    pub(crate) fn assemble(
        roots: Vec<Root>,
        links: LinkPolicy,
        files: Vec<Files>,
        followed: Vec<Followed>,
        fresh_warnings: Vec<Warning>,
    ) -> Self {
        let mut keyed = Keyed::new();
        let mut replaced: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for (r, entries) in files.iter().enumerate() {
            let mut found = Keyed::new();
            for (path, doc) in entries.iter().filter_map(|(p, e)| e.doc.as_ref().map(|d| (p, d))) {
                found.entry((doc.language.clone(), doc.domain.clone())).or_default().push((r, path.as_str(), doc));
            }
            // A later root replaces whole keys.
            for (key, docs) in found {
                if let Some(earlier) = keyed.insert(key.clone(), docs) {
                    let sources = earlier.iter().map(|(_, _, d)| d.source.to_string());
                    replaced.entry(key).or_default().extend(sources);
                }
            }
        }
        let mut docs = Vec::new();
        let mut by_id = HashMap::new();
        let mut by_key = BTreeMap::new();
        for (key, mut group) in keyed {
            // The main document (no topic) first, then topics by name.
            group.sort_by(|a, b| a.2.topic.cmp(&b.2.topic).then_with(|| a.1.cmp(b.1)));
            let mut indexes = Vec::with_capacity(group.len());
            for (r, path, doc) in group {
                indexes.push(docs.len());
                by_id.insert(file_id(r, path), docs.len());
                docs.push(doc.clone());
            }
            by_key.insert(key, indexes);
        }
        let warnings = files.iter().flat_map(|f| f.values().flat_map(|e| e.warnings.iter().cloned())).collect();
        Self {
            roots,
            links,
            files,
            followed,
            docs,
            by_id,
            by_key,
            replaced,
            index: OnceLock::new(),
            warnings,
            fresh_warnings,
            loaded_at: SystemTime::now(),
            skills: Vec::new(),
            skill_warnings: Vec::new(),
        }
    }

    /// This base with `found` skill folders, their warnings among its own.
    pub(crate) fn with_skills(mut self, found: (Vec<crate::skills::SkillFolder>, Vec<Warning>)) -> Self {
        let (skills, warnings) = found;
        self.fresh_warnings.extend(warnings.iter().cloned());
        self.warnings.extend(warnings.iter().cloned());
        self.skill_warnings = warnings;
        self.skills = skills;
        self
    }

    /// The roots' skill folders (`<root>/skills/<name>/SKILL.md` and the files beside
    /// it), in root order: of two with one path, the later root's is the one served.
    pub fn skills(&self) -> &[crate::skills::SkillFolder] {
        &self.skills
    }

    /// Every document, grouped by key.
    pub fn documents(&self) -> &[Arc<Document>] {
        &self.docs
    }

    /// What loading had to say, about every file.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// What this load said about the files it read: everything for [`KnowledgeBase::load`]
    /// and [`KnowledgeBase::reload`], only the re-read files for [`KnowledgeBase::update`].
    pub fn fresh_warnings(&self) -> &[Warning] {
        &self.fresh_warnings
    }

    /// When the base was loaded.
    pub fn loaded_at(&self) -> SystemTime {
        self.loaded_at
    }

    /// When the base was loaded, as an RFC 3339 UTC timestamp.
    pub fn indexed_at(&self) -> String {
        humantime::format_rfc3339_seconds(self.loaded_at).to_string()
    }

    /// The roots, in precedence order.
    pub fn roots(&self) -> &[Root] {
        &self.roots
    }

    /// The documents of one key.
    pub fn key(&self, language: &str, domain: &str) -> Vec<&Arc<Document>> {
        self.by_key
            .get(&(language.to_owned(), domain.to_owned()))
            .map(|ids| ids.iter().map(|&i| &self.docs[i]).collect())
            .unwrap_or_default()
    }

    /// The standard for `language` in `domain`: the language-neutral (`all`) documents
    /// first, then the language's own.
    pub fn standard(&self, language: &str, domain: &str) -> Vec<&Arc<Document>> {
        let mut out = self.key("all", domain);
        if language != "all" {
            out.extend(self.key(language, domain));
        }
        out
    }

    /// Every language, sorted (`all` included when it has documents).
    pub fn languages(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_key.keys().map(|(l, _)| l.clone()).collect();
        v.dedup();
        v
    }

    /// Every domain, sorted.
    pub fn domains(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_key.keys().map(|(_, d)| d.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The domains a language has documents for.
    pub fn domains_of(&self, language: &str) -> Vec<String> {
        self.by_key.keys().filter(|(l, _)| l == language).map(|(_, d)| d.clone()).collect()
    }

    /// Counts and dates per key, optionally filtered.
    pub fn taxonomy(&self, language: Option<&str>, domain: Option<&str>) -> Vec<KeyInfo> {
        self.by_key
            .iter()
            .filter(|((l, d), _)| language.is_none_or(|x| x == l) && domain.is_none_or(|x| x == d))
            .map(|((l, d), ids)| KeyInfo {
                language: l.clone(),
                domain: d.clone(),
                documents: ids.len(),
                updated_at: ids.iter().filter_map(|&i| self.docs[i].updated_at.clone()).max(),
                titles: ids.iter().map(|&i| self.docs[i].title.clone()).collect(),
                replaces: self.replaced.get(&(l.clone(), d.clone())).cloned().unwrap_or_default(),
            })
            .collect()
    }

    /// The document at a `stdlib://` URI.
    pub fn by_uri(&self, uri: &str) -> Option<&Arc<Document>> {
        let path = uri.strip_prefix("stdlib://")?;
        let mut parts = path.splitn(3, '/');
        let (language, domain, topic) = (parts.next()?, parts.next()?, parts.next());
        let ids = self.by_key.get(&(language.to_owned(), domain.to_owned()))?;
        ids.iter().map(|&i| &self.docs[i]).find(|d| d.topic.as_deref() == topic)
    }

    /// Builds the search index now, if it is not built yet. Loading does not build it,
    /// so a server can answer its first requests at once; call this on a background
    /// thread after loading (the first search otherwise builds it).
    ///
    /// # Errors
    /// Why the index could not be built.
    pub fn build_index(&self) -> Result<(), LoadError> {
        self.index().map(drop).map_err(|e| LoadError::Index(e.to_owned()))
    }

    /// Whether the search index is built (and built without error), so a search
    /// answers without first building it.
    pub fn is_indexed(&self) -> bool {
        matches!(self.index.get(), Some(Ok(_)))
    }

    pub(crate) fn index(&self) -> Result<&SearchIndex, &str> {
        self.index.get_or_init(|| SearchIndex::build(self.served())).as_ref().map_err(String::as_str)
    }

    /// The served documents with their file ids.
    pub(crate) fn served(&self) -> impl Iterator<Item = (&str, &Arc<Document>)> {
        self.by_id.iter().map(|(id, &i)| (id.as_str(), &self.docs[i]))
    }

    /// Full-text search.
    ///
    /// # Errors
    /// A query the engine cannot run, or an index that could not be built.
    pub fn search(&self, query: &Query) -> Result<Vec<Hit>, String> {
        let index = self.index().map_err(ToOwned::to_owned)?;
        index.search(query, |id| self.by_id.get(id).map(|&i| &self.docs[i]))
    }
}

/// The error for a root that cannot be read.
pub(crate) fn root_error(root: &Root, source: std::io::Error) -> LoadError {
    let path = match root {
        Root::Dir(dir) => dir.clone(),
        Root::Builtin => "builtin".into(),
    };
    LoadError::Root { path, source }
}

/// Reads one file into an entry. Unchanged text keeps the previous entry (the same
/// document); a file that is now broken keeps its last good document, with a warning.
pub(crate) fn read_entry(label: &str, path: &str, text: FileText, previous: Option<&FileEntry>) -> FileEntry {
    let kept = previous.and_then(|p| p.doc.as_ref()).filter(|d| !d.degraded);
    let file = format!("{label}:{path}");
    let mut warnings = Vec::new();
    let doc = match text {
        Err(reason) => {
            let note = if kept.is_some() { "; serving its last good version" } else { "" };
            warnings.push(Warning { file, line: None, message: format!("skipped: {reason}{note}") });
            kept.cloned()
        }
        Ok(text) => {
            let same = |p: &&FileEntry| !p.stale && p.doc.as_ref().is_some_and(|d| d.hash == document::hash(&text));
            if let Some(previous) = previous.filter(same) {
                return previous.clone();
            }
            let source = Source { root: label.to_owned(), path: path.to_owned() };
            match (Document::parse(&text, source, &mut warnings), kept) {
                (Some(doc), Some(good)) if doc.degraded => {
                    warnings.push(Warning {
                        file,
                        line: Some(1),
                        message: "serving its last good version until the front matter is fixed".into(),
                    });
                    Some(good.clone())
                }
                (doc, _) => doc.map(Arc::new),
            }
        }
    };
    let stale = kept.is_some_and(|k| doc.as_ref().is_some_and(|d| Arc::ptr_eq(k, d)));
    FileEntry { doc, warnings, stale }
}
