//! The knowledge base: documents from several roots, merged with precedence.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use crate::document::{Document, Source, Warning};
use crate::search::{Hit, Query, SearchIndex};

/// Where documents are loaded from. Later roots override earlier ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// The corpus compiled into the binary.
    Builtin,
    /// A directory of `<language>/<domain>.md` files.
    Dir(PathBuf),
}

impl Root {
    /// How provenance names this root.
    pub fn label(&self) -> String {
        match self {
            Root::Builtin => "builtin".into(),
            Root::Dir(path) => path.display().to_string(),
        }
    }
}

/// Why a knowledge base could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A root directory cannot be read.
    #[error("cannot read root {path}: {source}")]
    Root {
        /// The directory.
        path: PathBuf,
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
}

/// Loaded documents, their taxonomy and their search index. Immutable: reloading
/// builds a new one.
pub struct KnowledgeBase {
    docs: Vec<Arc<Document>>,
    by_key: BTreeMap<(String, String), Vec<usize>>,
    index: OnceLock<Result<SearchIndex, String>>,
    warnings: Vec<Warning>,
    loaded_at: SystemTime,
    roots: Vec<Root>,
}

impl std::fmt::Debug for KnowledgeBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBase").field("documents", &self.docs.len()).field("roots", &self.roots).finish()
    }
}

impl KnowledgeBase {
    /// Loads `roots` in order: for each (language, domain) key, the last root that has
    /// documents for it supplies all of that key's documents. The search index is built
    /// on first use or by [`KnowledgeBase::build_index`].
    ///
    /// # Errors
    /// A root directory that cannot be read.
    pub fn load(roots: &[Root]) -> Result<Self, LoadError> {
        Self::load_after(roots, None)
    }

    /// Loads the same roots again. A file that is now broken — unreadable, not UTF-8,
    /// too large, or with front matter that no longer parses — keeps its last good
    /// version, with a warning, instead of disappearing or losing its fields.
    ///
    /// # Errors
    /// A root directory that cannot be read.
    pub fn reload(&self) -> Result<Self, LoadError> {
        Self::load_after(&self.roots, Some(self))
    }

    fn load_after(roots: &[Root], previous: Option<&Self>) -> Result<Self, LoadError> {
        let last_good: HashMap<(&str, &str), &Arc<Document>> = previous
            .map(|p| {
                p.docs
                    .iter()
                    .filter(|d| !d.degraded)
                    .map(|d| ((d.source.root.as_str(), d.source.path.as_str()), d))
                    .collect()
            })
            .unwrap_or_default();
        let mut warnings = Vec::new();
        let mut keyed: BTreeMap<(String, String), Vec<Document>> = BTreeMap::new();
        for root in roots {
            let label = root.label();
            let mut found: BTreeMap<(String, String), Vec<Document>> = BTreeMap::new();
            for (path, text) in read_root(root)? {
                let kept = last_good.get(&(label.as_str(), path.as_str()));
                let file = format!("{label}:{path}");
                let doc = match text {
                    Err(reason) => {
                        let kept = kept.map(|d| Document::clone(d));
                        let note = if kept.is_some() { "; serving its last good version" } else { "" };
                        warnings.push(Warning { file, line: None, message: format!("skipped: {reason}{note}") });
                        kept
                    }
                    Ok(text) => {
                        let source = Source { root: label.clone(), path: path.clone() };
                        match (Document::parse(&text, source, &mut warnings), kept) {
                            (Some(doc), Some(good)) if doc.degraded => {
                                warnings.push(Warning {
                                    file,
                                    line: Some(1),
                                    message: "serving its last good version until the front matter is fixed".into(),
                                });
                                Some(Document::clone(good))
                            }
                            (doc, _) => doc,
                        }
                    }
                };
                if let Some(doc) = doc {
                    found.entry((doc.language.clone(), doc.domain.clone())).or_default().push(doc);
                }
            }
            // A later root replaces whole keys.
            keyed.extend(found);
        }
        let mut docs = Vec::new();
        let mut by_key = BTreeMap::new();
        for (key, mut group) in keyed {
            // The main document (no topic) first, then topics by name.
            group.sort_by(|a, b| a.topic.cmp(&b.topic).then_with(|| a.source.path.cmp(&b.source.path)));
            let mut indexes = Vec::with_capacity(group.len());
            for doc in group {
                indexes.push(docs.len());
                docs.push(Arc::new(doc));
            }
            by_key.insert(key, indexes);
        }
        Ok(Self { docs, by_key, index: OnceLock::new(), warnings, loaded_at: SystemTime::now(), roots: roots.to_vec() })
    }

    /// Every document, grouped by key.
    pub fn documents(&self) -> &[Arc<Document>] {
        &self.docs
    }

    /// What loading had to say.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
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
            })
            .collect()
    }

    /// The document at a `stdlib://` URI.
    pub fn by_uri(&self, uri: &str) -> Option<&Arc<Document>> {
        self.docs.iter().find(|d| d.uri() == uri)
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

    fn index(&self) -> Result<&SearchIndex, &str> {
        self.index.get_or_init(|| SearchIndex::build(&self.docs)).as_ref().map_err(String::as_str)
    }

    /// Full-text search.
    ///
    /// # Errors
    /// A query the engine cannot run, or an index that could not be built.
    pub fn search(&self, query: &Query) -> Result<Vec<Hit>, String> {
        self.index().map_err(ToOwned::to_owned)?.search(&self.docs, query)
    }
}

/// The largest document file loaded; larger ones are skipped with a warning.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// The (path, text) of every Markdown file in a root; unreadable, non-UTF-8 and
/// oversized files are skipped with a warning.
/// A file's text, or why it cannot be used.
type FileText = Result<String, String>;

fn read_root(root: &Root) -> Result<Vec<(String, FileText)>, LoadError> {
    match root {
        Root::Builtin => {
            Ok(crate::corpus::BUILTIN.iter().map(|(p, t)| ((*p).to_owned(), Ok((*t).to_owned()))).collect())
        }
        Root::Dir(dir) => {
            let paths = markdown_files(dir).map_err(|source| LoadError::Root { path: dir.clone(), source })?;
            Ok(paths.iter().map(|p| (relative(dir, p), read_text(p))).collect())
        }
    }
}

/// Every Markdown file under `dir` (hidden entries skipped), sorted. Symbolic links
/// are followed; a folder already visited (a link loop, or two links to one place) is
/// walked once, and a dangling link is skipped.
///
/// # Errors
/// When `dir` or a folder under it cannot be read.
pub(crate) fn markdown_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, visited: &mut HashSet<PathBuf>) -> std::io::Result<()> {
        if !visited.insert(dir.canonicalize()?) {
            return Ok(());
        }
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(kind) = std::fs::metadata(&path).map(|m| m.file_type()) else { continue };
            if kind.is_dir() {
                walk(&path, out, visited)?;
            } else if kind.is_file() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("md")) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files, &mut HashSet::new())?;
    files.sort();
    Ok(files)
}

/// The path of `file` inside `root`, with `/` separators.
pub(crate) fn relative(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap_or(file);
    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// A file's text, or why it cannot be used.
fn read_text(path: &Path) -> FileText {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        return Err(format!("{size} bytes is more than the {MAX_FILE_BYTES}-byte limit"));
    }
    match std::fs::read(path).map(String::from_utf8) {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(_)) => Err("not UTF-8 text".into()),
        Err(e) => Err(format!("cannot read: {e}")),
    }
}
