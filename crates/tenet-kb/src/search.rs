//! Full-text search over sections: BM25 (tantivy) with stemming, boosts on title,
//! tags and description, filters on language, domain and tags, and a typo-tolerant
//! retry when the exact terms find nothing.

use std::sync::{Arc, Mutex};

use tantivy::collector::TopDocs;
use tantivy::merge_policy::LogMergePolicy;
use tantivy::query::{BooleanQuery, Occur, QueryParser, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value as _};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term, doc};

use crate::document::Document;

/// A search request.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Free text.
    pub text: String,
    /// Only this language (language-neutral `all` documents are included too).
    pub language: Option<String>,
    /// Only this domain.
    pub domain: Option<String>,
    /// Only documents carrying every one of these tags.
    pub tags: Vec<String>,
    /// At most this many hits.
    pub limit: usize,
}

/// One ranked hit: a section of a document.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The document.
    pub document: Arc<Document>,
    /// Index of the section in `document.sections`.
    pub section: usize,
    /// BM25 score (higher is better).
    pub score: f32,
    /// A short excerpt around the matching words, matches in `**bold**`.
    pub snippet: String,
}

struct Fields {
    file: Field,
    section: Field,
    language: Field,
    domain: Field,
    tag: Field,
    title: Field,
    description: Field,
    tags_text: Field,
    heading: Field,
    body: Field,
}

/// The writing side of an index, shared by every snapshot of it.
struct Shared {
    /// The writer, and the generation of its last commit.
    writer: Mutex<(IndexWriter, u64)>,
    reader: IndexReader,
    fields: Fields,
    exact: QueryParser,
    fuzzy: QueryParser,
}

/// The search index of one knowledge base: a snapshot of an in-RAM tantivy index
/// (nothing on disk, so any number of processes can serve the same roots). A newer
/// base updates the index in place and takes a newer snapshot; older bases keep
/// searching theirs.
pub(crate) struct SearchIndex {
    shared: Arc<Shared>,
    searcher: Searcher,
    generation: u64,
}

impl SearchIndex {
    /// Indexes `docs` (file id, document) from scratch.
    pub(crate) fn build<'a>(docs: impl Iterator<Item = (&'a str, &'a Arc<Document>)>) -> Result<Self, String> {
        let mut schema = Schema::builder();
        let stemmed = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("en_stem")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let fields = Fields {
            file: schema.add_text_field("file", STRING | STORED),
            section: schema.add_u64_field("section", STORED),
            language: schema.add_text_field("language", STRING),
            domain: schema.add_text_field("domain", STRING),
            tag: schema.add_text_field("tag", STRING),
            title: schema.add_text_field("title", stemmed.clone()),
            description: schema.add_text_field("description", stemmed.clone()),
            tags_text: schema.add_text_field("tags_text", stemmed.clone()),
            heading: schema.add_text_field("heading", stemmed.clone()),
            body: schema.add_text_field("body", stemmed | STORED),
        };
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).map_err(|e| e.to_string())?;
        // Each edit deletes a document's sections; a segment a fifth deleted is merged
        // again (in the background), so memory and BM25 statistics do not drift.
        let mut policy = LogMergePolicy::default();
        policy.set_del_docs_ratio_before_merge(0.2);
        writer.set_merge_policy(Box::new(policy));
        for (id, document) in docs {
            add(&writer, &fields, id, document)?;
        }
        writer.commit().map_err(|e| e.to_string())?;
        let reader =
            index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(|e| e.to_string())?;
        let searcher = reader.searcher();
        let exact = parser(&index, &fields, false);
        let fuzzy = parser(&index, &fields, true);
        let shared = Shared { writer: Mutex::new((writer, 0)), reader, fields, exact, fuzzy };
        Ok(Self { shared: Arc::new(shared), searcher, generation: 0 })
    }

    /// The index with the documents of `removed` file ids deleted and `added` ones
    /// indexed: one commit, then a fresh snapshot. `None` when this snapshot is not the
    /// index's newest (another base updated it since), so the caller builds afresh.
    pub(crate) fn update(&self, removed: &[&str], added: &[(&str, &Arc<Document>)]) -> Option<Result<Self, String>> {
        let shared = &self.shared;
        let mut guard = shared.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (writer, generation) = &mut *guard;
        if *generation != self.generation {
            return None;
        }
        let written = (|| {
            for id in removed {
                writer.delete_term(Term::from_field_text(shared.fields.file, id));
            }
            for (id, document) in added {
                add(writer, &shared.fields, id, document)?;
            }
            writer.commit().map_err(|e| e.to_string())?;
            shared.reader.reload().map_err(|e| e.to_string())
        })();
        *generation += 1;
        if let Err(e) = written {
            // The index no longer matches any base: nobody updates it again.
            *generation = u64::MAX;
            let _ = writer.rollback();
            return Some(Err(e));
        }
        Some(Ok(Self { shared: shared.clone(), searcher: shared.reader.searcher(), generation: *generation }))
    }

    /// Runs `query`; `resolve` finds the document of a file id.
    pub(crate) fn search<'a>(
        &self,
        query: &Query,
        resolve: impl Fn(&str) -> Option<&'a Arc<Document>>,
    ) -> Result<Vec<Hit>, String> {
        let limit = query.limit.clamp(1, 100);
        let text = query.text.trim();
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let mut hits = self.run(&resolve, query, text, limit, false)?;
        if hits.is_empty() {
            hits = self.run(&resolve, query, text, limit, true)?;
        }
        Ok(hits)
    }

    fn run<'a>(
        &self,
        resolve: &impl Fn(&str) -> Option<&'a Arc<Document>>,
        query: &Query,
        text: &str,
        limit: usize,
        fuzzy: bool,
    ) -> Result<Vec<Hit>, String> {
        let f = &self.shared.fields;
        let parser = if fuzzy { &self.shared.fuzzy } else { &self.shared.exact };
        let (parsed, _errors) = parser.parse_query_lenient(text);
        let mut clauses: Vec<(Occur, Box<dyn tantivy::query::Query>)> = vec![(Occur::Must, parsed.box_clone())];
        let term = |field, value: &str| -> Box<dyn tantivy::query::Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
        };
        if let Some(language) = query.language.as_deref().filter(|l| *l != "all") {
            let either = BooleanQuery::new(vec![
                (Occur::Should, term(f.language, language)),
                (Occur::Should, term(f.language, "all")),
            ]);
            clauses.push((Occur::Must, Box::new(either)));
        } else if query.language.as_deref() == Some("all") {
            clauses.push((Occur::Must, term(f.language, "all")));
        }
        if let Some(domain) = &query.domain {
            clauses.push((Occur::Must, term(f.domain, domain)));
        }
        for tag in &query.tags {
            clauses.push((Occur::Must, term(f.tag, tag)));
        }
        let full = BooleanQuery::new(clauses);
        let searcher = &self.searcher;
        // Fetch extra so ties can be ordered by date before cutting to `limit`.
        let mut top =
            searcher.search(&full, &TopDocs::with_limit(limit * 3).order_by_score()).map_err(|e| e.to_string())?;
        // Only the hits that can make the cut are read from the store: the top `limit`
        // and any tied with the last of them.
        if let Some(&(last, _)) = top.get(limit - 1) {
            top.retain(|(score, _)| rank(*score) >= rank(last));
        }
        let mut snippets = SnippetGenerator::create(searcher, &*parsed, f.body).map_err(|e| e.to_string())?;
        snippets.set_max_num_chars(240);
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let stored: TantivyDocument = searcher.doc(address).map_err(|e| e.to_string())?;
            let section = stored.get_first(f.section).and_then(|v| v.as_u64()).and_then(|n| usize::try_from(n).ok());
            let file = stored.get_first(f.file).and_then(|v| v.as_str());
            let (Some(s), Some(document)) = (section, file.and_then(resolve)) else { continue };
            let snippet = snippets.snippet_from_doc(&stored);
            let mut excerpt = String::new();
            let fragment = snippet.fragment();
            let mut last = 0;
            for range in snippet.highlighted() {
                // Text that is already bold in the document stays as it is.
                let bold = fragment[..range.start].ends_with("**") && fragment[range.end..].starts_with("**");
                excerpt.push_str(&fragment[last..range.start]);
                let mark = if bold { "" } else { "**" };
                excerpt.push_str(mark);
                excerpt.push_str(&fragment[range.clone()]);
                excerpt.push_str(mark);
                last = range.end;
            }
            excerpt.push_str(&fragment[last..]);
            let excerpt = excerpt.split_whitespace().collect::<Vec<_>>().join(" ");
            hits.push(Hit { document: document.clone(), section: s, score, snippet: excerpt });
        }
        // Stable order: score, then newest updatedAt, then URI and position.
        hits.sort_by(|a, b| {
            rank(b.score)
                .cmp(&rank(a.score))
                .then_with(|| b.document.updated_at.cmp(&a.document.updated_at))
                .then_with(|| a.document.uri().cmp(&b.document.uri()))
                .then_with(|| a.section.cmp(&b.section))
        });
        hits.truncate(limit);
        Ok(hits)
    }
}

/// Edits per word the typo-tolerant retry allows.
const MAX_TYPOS: u8 = 1;

/// A score rounded so that scores equal but for float noise tie.
fn rank(score: f32) -> i64 {
    (f64::from(score) * 1e6).round() as i64
}

/// Indexes each section of a document under its file id.
fn add(writer: &IndexWriter, fields: &Fields, id: &str, document: &Document) -> Result<(), String> {
    for (s, section) in document.sections.iter().enumerate() {
        let mut entry = doc!(
            fields.file => id,
            fields.section => s as u64,
            fields.language => document.language.as_str(),
            fields.domain => document.domain.as_str(),
            fields.title => document.title.as_str(),
            fields.heading => section.heading.as_str(),
            fields.body => document.section_text(section),
            fields.tags_text => document.tags.join(" "),
        );
        if let Some(description) = &document.description {
            entry.add_text(fields.description, description);
        }
        for tag in &document.tags {
            entry.add_text(fields.tag, tag);
        }
        writer.add_document(entry).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The query parser over the text fields, with their boosts; `fuzzy` tolerates one typo
/// per word (a wrong, missing or extra letter, or two letters swapped). Two edits cost
/// about five times the CPU at 10 000 documents (the automaton matches far more terms)
/// and mostly found unrelated words.
fn parser(index: &Index, f: &Fields, fuzzy: bool) -> QueryParser {
    let text_fields = [f.title, f.description, f.tags_text, f.heading, f.body];
    let mut parser = QueryParser::for_index(index, text_fields.to_vec());
    for (field, boost) in [(f.title, 3.0), (f.tags_text, 2.5), (f.description, 2.0), (f.heading, 1.5), (f.body, 1.0)] {
        parser.set_field_boost(field, boost);
        if fuzzy {
            parser.set_field_fuzzy(field, false, MAX_TYPOS, true);
        }
    }
    parser
}
