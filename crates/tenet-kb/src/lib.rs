//! Tenet's knowledge base: engineering standards as Markdown documents with YAML front
//! matter, keyed by (language, domain), loaded from several roots with precedence,
//! split into sections, searchable (BM25), and cut to token budgets at heading
//! boundaries. It knows nothing of MCP.
//!
//! ```
//! use tenet_kb::{KnowledgeBase, Query, Root};
//!
//! let kb = KnowledgeBase::load(&[Root::Builtin]).unwrap();
//! // The built-in corpus covers five languages and five domains, plus `all`.
//! assert!(kb.languages().contains(&"rust".to_string()));
//! let standard = kb.standard("rust", "testing");
//! assert_eq!(standard[0].language, "all"); // the language-neutral base comes first
//! assert_eq!(standard.last().unwrap().language, "rust");
//!
//! let hits = kb.search(&Query { text: "property based tests".into(), limit: 3, ..Query::default() }).unwrap();
//! assert!(!hits.is_empty());
//! ```

mod base;
pub mod budget;
mod corpus;
mod document;
mod english;
pub mod eval;
pub mod front_matter;
pub mod lint;
mod root;
mod search;
pub mod section;
pub mod skills;
mod update;
pub mod vocabulary;
pub mod watch;

pub use base::{KeyInfo, KnowledgeBase, LoadError};
pub use document::{Document, SectionError, Source, Warning, find_section, normalize};
pub use root::{LinkPolicy, LinkPolicyError, MAX_FILE_BYTES, Root};
pub use search::{Hit, MAX_HITS, MAX_QUERY_CHARS, Outcome, Query, QueryTooLong, SearchStats, WEAK_COVERAGE};
pub use section::Section;
pub use update::Diff;
