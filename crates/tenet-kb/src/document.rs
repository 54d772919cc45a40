//! Documents: one Markdown file with its front matter, sections and provenance.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::front_matter::{self, FrontMatter};
use crate::section::{self, Section};

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The root's label: `builtin`, or the directory as given.
    pub root: String,
    /// The file's path inside its root, with `/` separators.
    pub path: String,
}

impl std::fmt::Display for Source {
    /// `root:path`, as warnings and listings name a file.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.root, self.path)
    }
}

/// Something worth telling the operator about a document that still loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `root:path`.
    pub file: String,
    /// The line it concerns, when known (1-based).
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// One standards document.
#[derive(Debug, Clone)]
pub struct Document {
    /// The language it is for (`all` for language-neutral standards), lowercase.
    pub language: String,
    /// Its domain, lowercase.
    pub domain: String,
    /// Its topic when a (language, domain) key holds several documents.
    pub topic: Option<String>,
    /// Its title.
    pub title: String,
    /// One sentence on what it covers.
    pub description: Option<String>,
    /// Keywords, lowercase.
    pub tags: Vec<String>,
    /// Words and phrases a search finds it by besides its text (front matter
    /// `keywords`).
    pub keywords: Vec<String>,
    /// The team's vocabulary it declares (front matter `aliases`): each a term and the
    /// other names it goes by, the term first.
    pub aliases: Vec<Vec<String>>,
    /// When it was written.
    pub created_at: Option<String>,
    /// When it last changed.
    pub updated_at: Option<String>,
    /// Front matter fields Tenet does not interpret.
    pub extra: BTreeMap<String, serde_json::Value>,
    /// The Markdown without front matter.
    pub body: String,
    /// The line of the file (1-based) the body starts on, after the front matter.
    pub body_line: usize,
    /// The body's sections.
    pub sections: Vec<Section>,
    /// Where it came from.
    pub source: Source,
    /// SHA-256 of the file, hex, first 16 characters.
    pub hash: String,
    /// Whether its front matter was present but unreadable, so its fields were inferred.
    pub degraded: bool,
}

impl Document {
    /// Reads a document from its text. `path` is relative to the root and supplies the
    /// language, domain and topic when the front matter does not:
    /// `<language>/<domain>.md` or `<language>/<domain>/<topic>.md`.
    ///
    /// Returns `None` (with a warning) when neither the front matter nor the path say
    /// which language and domain the document is for.
    pub fn parse(text: &str, source: Source, warnings: &mut Vec<Warning>) -> Option<Self> {
        let file = source.to_string();
        let mut warn = |line: Option<usize>, message: String| {
            warnings.push(Warning { file: file.clone(), line, message });
        };
        let (block, body) = front_matter::split(text);
        let mut degraded = false;
        let fm = match block {
            None => {
                warn(Some(1), "no front matter: language, domain and title are inferred".into());
                FrontMatter::default()
            }
            Some(block) => front_matter::parse(block).unwrap_or_else(|e| {
                // At the line the YAML breaks, and nothing derived from the broken block.
                warn(e.line.or(Some(1)), format!("{}: fields are inferred", e.finding()));
                degraded = true;
                FrontMatter::default()
            }),
        };
        let (path_language, path_domain, path_topic) = infer(&source.path);
        let pick = |field: &Option<String>,
                    inferred: Option<String>,
                    name: &str,
                    warn: &mut dyn FnMut(Option<usize>, String)| {
            let value = field.as_deref().map(normalize).filter(|v| !v.is_empty());
            if let (Some(v), Some(i)) = (&value, &inferred)
                && v != i
            {
                warn(Some(1), format!("front matter says {name} {v:?} but the path says {i:?}; using {v:?}"));
            }
            value.or(inferred)
        };
        let language = pick(&fm.language, path_language, "language", &mut warn);
        let domain = pick(&fm.domain, path_domain, "domain", &mut warn);
        let (Some(language), Some(domain)) = (language, domain) else {
            warn(None, "skipped: cannot tell its language and domain (put it at <language>/<domain>.md or say so in front matter)".into());
            return None;
        };
        let topic = fm.topic.as_deref().map(normalize).filter(|t| !t.is_empty()).or(path_topic);
        let mut sections = section::split(body);
        let (keywords, aliases) = crate::vocabulary::read(
            fm.keywords.as_ref(),
            fm.aliases.as_ref(),
            fm.sections.as_ref(),
            &mut sections,
            &mut warn,
        );
        let title = match fm.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => t.to_owned(),
            None => {
                let from_heading = sections.iter().find(|s| s.level == 1).map(|s| s.heading.clone());
                if block.is_some() && !degraded {
                    warn(Some(1), "front matter has no title".into());
                }
                from_heading.unwrap_or_else(|| format!("{language} {domain}"))
            }
        };
        for (name, value) in [("createdAt", &fm.created_at), ("updatedAt", &fm.updated_at)] {
            if let Some(v) = value
                && !front_matter::is_timestamp(v)
            {
                warn(Some(1), format!("{name} {v:?} is not an RFC 3339 date"));
            }
        }
        if block.is_some() && !degraded && fm.updated_at.is_none() {
            warn(Some(1), "front matter has no updatedAt".into());
        }
        let hash = hash(text);
        Some(Self {
            language,
            domain,
            topic,
            title,
            description: fm.description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()),
            tags: fm.tags.iter().map(|t| normalize(t)).filter(|t| !t.is_empty()).collect(),
            keywords,
            aliases,
            created_at: fm.created_at,
            updated_at: fm.updated_at,
            extra: fm.extra,
            body: body.to_owned(),
            // `body` is the end of `text`: the lines before it are the front matter's.
            body_line: text[..text.len() - body.len()].matches('\n').count() + 1,
            sections,
            source,
            hash,
            degraded,
        })
    }

    /// The document's resource URI: `stdlib://<language>/<domain>[/<topic>]`.
    pub fn uri(&self) -> String {
        match &self.topic {
            Some(topic) => format!("stdlib://{}/{}/{topic}", self.language, self.domain),
            None => format!("stdlib://{}/{}", self.language, self.domain),
        }
    }

    /// The text of one section.
    pub fn section_text(&self, section: &Section) -> &str {
        &self.body[section.start..section.end]
    }

    /// The position in `sections` of the section with this id.
    pub fn section_index(&self, id: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.id == id)
    }

    /// The positions of a section and of its subsections: from section `index` up to
    /// the next heading of the same or a higher level (the text before the first
    /// heading has none). Empty when `index` is out of range.
    pub fn subtree(&self, index: usize) -> std::ops::Range<usize> {
        let Some(section) = self.sections.get(index) else { return 0..0 };
        if section.level == 0 {
            return index..index + 1;
        }
        let end = self.sections[index + 1..]
            .iter()
            .position(|s| s.level <= section.level)
            .map_or(self.sections.len(), |n| index + 1 + n);
        index..end
    }

    /// The URI of one of its sections: the document's URI with the id as fragment.
    pub fn section_uri(&self, id: &str) -> String {
        format!("{}#{id}", self.uri())
    }
}

/// Why a section id names no section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SectionError {
    /// None of the documents has a section with this id.
    #[error("{documents} {has} no section {id:?}; {its} sections include: {known}", documents = .documents.join(" and "), has = if .documents.len() == 1 { "has" } else { "have" }, its = if .documents.len() == 1 { "its" } else { "their" }, known = .known.join(", "))]
    Unknown {
        /// The id asked for.
        id: String,
        /// The URIs of the documents searched.
        documents: Vec<String>,
        /// The first few section ids they do have.
        known: Vec<String>,
    },
    /// Several documents have a section with this id.
    #[error("section {id:?} is in {} documents; ask for one of: {}", .candidates.len(), .candidates.join(", "))]
    Ambiguous {
        /// The id asked for.
        id: String,
        /// The section URIs (`stdlib://…#id`) it could mean.
        candidates: Vec<String>,
    },
    /// A section URI whose document is not among those searched.
    #[error("{uri} is not one of the documents here ({})", .documents.join(", "))]
    OtherDocument {
        /// The document URI asked for.
        uri: String,
        /// The URIs of the documents searched.
        documents: Vec<String>,
    },
}

/// How many section ids an [`SectionError::Unknown`] lists.
const KNOWN_IDS_LISTED: usize = 12;

/// Finds a section among `docs`: `wanted` is a section id, with or without a leading
/// `#`, or a section URI (`stdlib://<language>/<domain>[/<topic>]#<id>`) naming one of
/// the documents; a heading as written works too, `#` and all (`C# interop`). Returns the document and the
/// position of the section in it.
///
/// # Errors
/// [`SectionError::Unknown`] when no document has it (listing a few ids they have),
/// [`SectionError::Ambiguous`] when a bare id is in several documents.
pub fn find_section<'a>(docs: &[&'a Arc<Document>], wanted: &str) -> Result<(&'a Arc<Document>, usize), SectionError> {
    let wanted = wanted.trim();
    // Only a section URI names a document; anything else is an id or a heading, which
    // may hold a `#` of its own ("C# interop").
    let (uri, id) = match wanted.split_once('#') {
        Some((uri, id)) if wanted.starts_with("stdlib://") => (uri, id),
        _ => ("", wanted.strip_prefix('#').unwrap_or(wanted)),
    };
    let scope: Vec<&'a Arc<Document>> = docs.iter().copied().filter(|d| uri.is_empty() || d.uri() == uri).collect();
    if scope.is_empty() && !uri.is_empty() {
        return Err(SectionError::OtherDocument {
            uri: uri.to_owned(),
            documents: docs.iter().map(|d| d.uri()).collect(),
        });
    }
    let find = |id: &str| -> Vec<(&'a Arc<Document>, usize)> {
        scope.iter().filter_map(|d| d.section_index(id).map(|i| (*d, i))).collect()
    };
    let mut found = find(id);
    if found.is_empty() {
        // A heading as written (or an id in another case) names its section too.
        found = find(&section::slug(id));
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(SectionError::Unknown {
            id: id.to_owned(),
            documents: scope.iter().map(|d| d.uri()).collect(),
            known: scope
                .iter()
                .flat_map(|d| d.sections.iter().filter(|s| s.level > 0).map(|s| s.id.clone()))
                .take(KNOWN_IDS_LISTED)
                .collect(),
        }),
        several => Err(SectionError::Ambiguous {
            id: id.to_owned(),
            candidates: several.iter().map(|(d, _)| d.section_uri(id)).collect(),
        }),
    }
}

/// A file's content hash: SHA-256, hex, first 16 characters.
pub(crate) fn hash(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Lowercase, trimmed, inner whitespace as `-`.
pub fn normalize(s: &str) -> String {
    s.trim().to_lowercase().split_whitespace().collect::<Vec<_>>().join("-")
}

/// Language, domain and topic from a path inside a root.
fn infer(path: &str) -> (Option<String>, Option<String>, Option<String>) {
    let stem = |s: &str| normalize(s.strip_suffix(".md").unwrap_or(s));
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [language, domain] => (Some(normalize(language)), Some(stem(domain)), None),
        [language, domain, topic] => (Some(normalize(language)), Some(normalize(domain)), Some(stem(topic))),
        _ => (None, None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(path: &str) -> Source {
        Source { root: "test".into(), path: path.into() }
    }

    #[test]
    fn front_matter_and_path_agree() {
        let text = "---\ntitle: Rust errors\nlanguage: rust\ndomain: architecture\ntags: [Errors, thiserror]\nupdatedAt: '2026-10-14T08:30:00Z'\n---\n# Rust errors\n## Define\nx\n";
        let mut w = Vec::new();
        let d = Document::parse(text, source("rust/architecture.md"), &mut w).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!((d.language.as_str(), d.domain.as_str()), ("rust", "architecture"));
        assert_eq!(d.tags, ["errors", "thiserror"]);
        assert_eq!(d.uri(), "stdlib://rust/architecture");
        assert_eq!(d.sections.len(), 2);
        assert_eq!(d.hash.len(), 16);
    }

    #[test]
    fn without_front_matter_fields_are_inferred_with_a_warning() {
        let mut w = Vec::new();
        let d = Document::parse("# Go testing tips\nbody\n", source("go/testing/fuzzing.md"), &mut w).unwrap();
        assert_eq!((d.language.as_str(), d.domain.as_str(), d.topic.as_deref()), ("go", "testing", Some("fuzzing")));
        assert_eq!(d.title, "Go testing tips");
        assert_eq!(d.uri(), "stdlib://go/testing/fuzzing");
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("no front matter"));
    }

    #[test]
    fn broken_yaml_and_bad_dates_are_warnings_not_failures() {
        let mut w = Vec::new();
        let d = Document::parse("---\ntitle: [oops\n---\nbody\n", source("python/security.md"), &mut w).unwrap();
        assert_eq!(d.language, "python");
        assert!(w.iter().any(|w| w.message.contains("invalid front matter")));
        let mut w = Vec::new();
        Document::parse("---\ntitle: T\nupdatedAt: last tuesday\n---\n", source("go/testing.md"), &mut w).unwrap();
        assert!(w.iter().any(|w| w.message.contains("not an RFC 3339 date")), "{w:?}");
    }

    #[test]
    fn a_section_comes_with_its_subsections_and_stops_at_its_next_sibling() {
        let text = "intro\n# T\n## A\na\n### A1\nx\n#### A1a\ny\n## B\nb\n";
        let d = Document::parse(text, source("go/testing.md"), &mut Vec::new()).unwrap();
        let ids: Vec<_> = d.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["preamble", "t", "a", "a1", "a1a", "b"]);
        assert_eq!(d.subtree(0), 0..1, "the preamble has no subsections");
        assert_eq!(d.subtree(1), 1..6, "the title holds everything after it");
        assert_eq!(d.subtree(2), 2..5);
        assert_eq!(d.subtree(5), 5..6);
        assert_eq!(d.subtree(9), 0..0);
        assert_eq!(d.section_index("a1a"), Some(4));
        assert_eq!(d.section_uri("b"), "stdlib://go/testing#b");
    }

    #[test]
    fn sections_are_found_by_id_or_uri_and_ambiguity_is_an_error() {
        let parse = |text: &str, path: &str| Arc::new(Document::parse(text, source(path), &mut Vec::new()).unwrap());
        let base = parse("# Base\n## Overview\n## Naming\n", "all/testing.md");
        let own = parse("# Own\n## Overview\n## Fakes\n", "go/testing.md");
        let docs = [&base, &own];
        let (doc, i) = find_section(&docs, "fakes").unwrap();
        assert_eq!((doc.uri().as_str(), doc.sections[i].heading.as_str()), ("stdlib://go/testing", "Fakes"));
        assert_eq!(find_section(&docs, "#naming").unwrap().0.uri(), "stdlib://all/testing");
        let (doc, i) = find_section(&docs, "stdlib://all/testing#overview").unwrap();
        assert_eq!((doc.uri().as_str(), i), ("stdlib://all/testing", 1));
        let ambiguous = find_section(&docs, "overview").unwrap_err();
        assert_eq!(
            ambiguous,
            SectionError::Ambiguous {
                id: "overview".into(),
                candidates: vec!["stdlib://all/testing#overview".into(), "stdlib://go/testing#overview".into()]
            }
        );
        assert_eq!(find_section(&docs, "Naming").unwrap().0.uri(), "stdlib://all/testing", "a heading works too");
        let unknown = find_section(&docs, "mocks").unwrap_err().to_string();
        assert!(
            unknown.contains("stdlib://all/testing and stdlib://go/testing have no section \"mocks\""),
            "{unknown}"
        );
        assert!(unknown.contains("; their sections include: ") && unknown.contains("naming"), "{unknown}");
        assert!(unknown.contains("fakes"), "{unknown}");
        let one = find_section(&[&own], "mocks").unwrap_err().to_string();
        assert!(one.starts_with("stdlib://go/testing has no section \"mocks\"; its sections include: "), "{one}");
        let other = find_section(&docs, "stdlib://rust/testing#fakes").unwrap_err().to_string();
        assert!(other.starts_with("stdlib://rust/testing is not one of the documents here"), "{other}");
        assert!(matches!(find_section(&docs, ""), Err(SectionError::Unknown { .. })));
        assert!(matches!(find_section(&[], "x"), Err(SectionError::Unknown { .. })));
    }

    #[test]
    fn headings_with_a_hash_are_found_as_written_by_id_and_by_uri() {
        let text = "# Interop\n## C# interop\nc sharp\n## F# notes\nf sharp\n";
        let doc = Arc::new(Document::parse(text, source("dotnet/interop.md"), &mut Vec::new()).unwrap());
        let docs = [&doc];
        let ids: Vec<_> = doc.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["interop", "c-interop", "f-notes"]);
        for (wanted, heading) in [
            ("C# interop", "C# interop"),
            ("  C# interop ", "C# interop"),
            ("#C# interop", "C# interop"),
            ("c-interop", "C# interop"),
            ("#c-interop", "C# interop"),
            ("stdlib://dotnet/interop#c-interop", "C# interop"),
            ("stdlib://dotnet/interop#C# interop", "C# interop"),
            ("F# notes", "F# notes"),
            ("#f-notes", "F# notes"),
            ("stdlib://dotnet/interop#f-notes", "F# notes"),
        ] {
            let found = find_section(&docs, wanted);
            let (d, i) = found.unwrap_or_else(|e| panic!("{wanted:?}: {e}"));
            assert_eq!(d.sections[i].heading, heading, "{wanted:?}");
        }
        let unknown = find_section(&docs, "G# notes").unwrap_err();
        assert!(matches!(&unknown, SectionError::Unknown { id, .. } if id == "G# notes"), "{unknown:?}");
        let other = find_section(&docs, "stdlib://dotnet/other#c-interop").unwrap_err();
        assert!(matches!(&other, SectionError::OtherDocument { uri, .. } if uri == "stdlib://dotnet/other"));
    }

    #[test]
    fn unplaceable_documents_are_skipped() {
        let mut w = Vec::new();
        assert!(Document::parse("# loose\n", source("README.md"), &mut w).is_none());
        assert!(w.iter().any(|w| w.message.contains("skipped")));
    }
}
