//! Documents: one Markdown file with its front matter, sections and provenance.

use std::collections::BTreeMap;

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
    /// When it was written.
    pub created_at: Option<String>,
    /// When it last changed.
    pub updated_at: Option<String>,
    /// Front matter fields Tenet does not interpret.
    pub extra: BTreeMap<String, serde_json::Value>,
    /// The Markdown without front matter.
    pub body: String,
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
        let file = format!("{}:{}", source.root, source.path);
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
                warn(Some(1), format!("invalid front matter ({e}): fields are inferred"));
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
        let sections = section::split(body);
        let title = match fm.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => t.to_owned(),
            None => {
                let from_heading = sections.iter().find(|s| s.level == 1).map(|s| s.heading.clone());
                if block.is_some() {
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
        if block.is_some() && fm.updated_at.is_none() {
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
            created_at: fm.created_at,
            updated_at: fm.updated_at,
            extra: fm.extra,
            body: body.to_owned(),
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
    fn unplaceable_documents_are_skipped() {
        let mut w = Vec::new();
        assert!(Document::parse("# loose\n", source("README.md"), &mut w).is_none());
        assert!(w.iter().any(|w| w.message.contains("skipped")));
    }
}
