//! Full-text search over sections: BM25 (tantivy) with stemming, filters on language,
//! domain and tags, and a typo-tolerant retry when the exact words find nothing.
//!
//! How a section scores, for each word of the query:
//! - its own text: the heading (weighted most), bold lead-ins such as `**SQL**:`, the
//!   prose, and code blocks (weighted least). Code is its own field, so a long example
//!   does not dilute the prose's length normalisation;
//! - its document's title, tags and description, as a prior that lifts every section
//!   of a document about the subject;
//! - a bonus when consecutive query words stand next to each other (or within two
//!   words) in the heading or prose.
//!
//! A section must match at least one query word in its own text; sections of documents
//! that match only through their title, tags or description are returned only when no
//! section says any of the words (then one per document, its opening section).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tantivy::collector::TopDocs;
use tantivy::merge_policy::LogMergePolicy;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query as TantivyQuery, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value as _,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term, doc,
};

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
    /// Relevance: BM25 over the section's fields, weighted by the share of the query's
    /// words it matches (higher is better).
    pub score: f32,
    /// A short excerpt of the section around the matching words, matches in `**bold**`
    /// (its first words when it has none of them as written).
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
    emphasis: Field,
    body: Field,
    code: Field,
}

/// Weights of the fields a section is scored on. The section's own text decides which
/// sections match; the document's fields only add to them.
mod weight {
    /// The section's heading: what the section says it is about.
    pub const HEADING: f32 = 2.0;
    /// Bold text in the prose: lead-ins such as `**SQL**:` that head a paragraph.
    pub const EMPHASIS: f32 = 1.0;
    /// The prose.
    pub const BODY: f32 = 1.0;
    /// Code blocks: identifiers count, but less than prose.
    pub const CODE: f32 = 0.5;
    /// The document's title.
    pub const TITLE: f32 = 1.0;
    /// The document's tags.
    pub const TAGS: f32 = 1.0;
    /// The document's description.
    pub const DESCRIPTION: f32 = 0.5;
    /// Two consecutive query words within [`super::NEAR`] positions of each other.
    pub const NEAR: f32 = 1.0;
}

/// A word in more than one section in this many (and in more than
/// [`COMMON_WORD_FLOOR`] sections) is too common to earn a proximity bonus.
const COMMON_WORD: u64 = 10;

/// Words in at most this many sections are never too common.
const COMMON_WORD_FLOOR: u64 = 100;

/// How many words may stand between two consecutive query words for the proximity
/// bonus (0 would mean adjacent only).
const NEAR: u32 = 2;

/// The writing side of an index, shared by every snapshot of it.
struct Shared {
    /// The writer, and the generation of its last commit.
    writer: Mutex<(IndexWriter, u64)>,
    reader: IndexReader,
    fields: Fields,
    /// The analyzer of the text fields, to turn a query into indexed terms.
    analyzer: TextAnalyzer,
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

/// The tokenizer of every text field: words, lowercased, English-stemmed.
const ANALYZER: &str = "en_stem";

impl SearchIndex {
    /// Indexes `docs` (file id, document) from scratch.
    pub(crate) fn build<'a>(docs: impl Iterator<Item = (&'a str, &'a Arc<Document>)>) -> Result<Self, String> {
        let mut schema = Schema::builder();
        let stemmed = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let fields = Fields {
            file: schema.add_text_field("file", STRING | STORED),
            section: schema.add_u64_field("section", INDEXED | STORED),
            language: schema.add_text_field("language", STRING),
            domain: schema.add_text_field("domain", STRING),
            tag: schema.add_text_field("tag", STRING),
            title: schema.add_text_field("title", stemmed.clone()),
            description: schema.add_text_field("description", stemmed.clone()),
            tags_text: schema.add_text_field("tags_text", stemmed.clone()),
            heading: schema.add_text_field("heading", stemmed.clone()),
            emphasis: schema.add_text_field("emphasis", stemmed.clone()),
            body: schema.add_text_field("body", stemmed.clone()),
            code: schema.add_text_field("code", stemmed),
        };
        let index = Index::create_in_ram(schema.build());
        let analyzer = index.tokenizers().get(ANALYZER).ok_or("the English stemming tokenizer is missing")?;
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
        let shared = Shared { writer: Mutex::new((writer, 0)), reader, fields, analyzer };
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
        let words = self.words(&query.text);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        // Sections that say a word, then documents only tagged with it, then typos.
        for pass in [Pass::Sections, Pass::Documents, Pass::Typos] {
            let hits = self.run(&resolve, query, &words, limit, pass)?;
            if !hits.is_empty() {
                return Ok(hits);
            }
        }
        Ok(Vec::new())
    }

    /// The query's words as indexed (lowercased, stemmed), in order.
    fn words(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.shared.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        while stream.advance() {
            words.push(stream.token().text.clone());
            if words.len() >= MAX_WORDS {
                break;
            }
        }
        words
    }

    /// One pass of a search (see [`Pass`]).
    fn run<'a>(
        &self,
        resolve: &impl Fn(&str) -> Option<&'a Arc<Document>>,
        query: &Query,
        words: &[String],
        limit: usize,
        pass: Pass,
    ) -> Result<Vec<Hit>, String> {
        let fuzzy = pass == Pass::Typos;
        let f = &self.shared.fields;
        let mut seen = HashSet::new();
        let distinct: Vec<&str> = words.iter().map(String::as_str).filter(|w| seen.insert(*w)).collect();
        let any = |fields: &[(Field, f32)]| -> Box<dyn TantivyQuery> {
            let clauses = distinct
                .iter()
                .flat_map(|word| {
                    fields.iter().map(move |&(field, boost)| (Occur::Should, matcher(field, word, boost, fuzzy)))
                })
                .collect();
            Box::new(BooleanQuery::new(clauses))
        };
        let section_fields = [
            (f.heading, weight::HEADING),
            (f.emphasis, weight::EMPHASIS),
            (f.body, weight::BODY),
            (f.code, weight::CODE),
        ];
        let document_fields =
            [(f.title, weight::TITLE), (f.tags_text, weight::TAGS), (f.description, weight::DESCRIPTION)];
        let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::new();
        match pass {
            Pass::Sections => {
                clauses.push((Occur::Must, any(&section_fields)));
                clauses.push((Occur::Should, any(&document_fields)));
                // Pairs of rarer words only: that "in a" stand together says nothing,
                // and their phrase query would walk long position lists.
                let sections = self.searcher.num_docs();
                for field in [f.heading, f.body] {
                    let rare = |w: &String| {
                        let frequency = self.searcher.doc_freq(&Term::from_field_text(field, w)).unwrap_or(u64::MAX);
                        frequency <= COMMON_WORD_FLOOR || frequency.saturating_mul(COMMON_WORD) <= sections
                    };
                    for pair in words.windows(2).filter(|p| p[0] != p[1] && rare(&p[0]) && rare(&p[1])) {
                        let terms = pair.iter().map(|w| Term::from_field_text(field, w)).collect();
                        let mut near = PhraseQuery::new(terms);
                        near.set_slop(NEAR);
                        clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(near), weight::NEAR))));
                    }
                }
            }
            Pass::Documents => {
                // All sections of a document score alike here: its opening one stands
                // for it.
                clauses.push((Occur::Must, any(&document_fields)));
                let opening = Term::from_field_u64(f.section, 0);
                clauses.push((Occur::Must, Box::new(TermQuery::new(opening, IndexRecordOption::Basic))));
            }
            Pass::Typos => {
                let every: Vec<(Field, f32)> = section_fields.iter().chain(&document_fields).copied().collect();
                clauses.push((Occur::Must, any(&every)));
            }
        }
        let term = |field, value: &str| -> Box<dyn TantivyQuery> {
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
        let fetch = (limit * 4).max(MIN_CANDIDATES);
        let mut top =
            searcher.search(&full, &TopDocs::with_limit(fetch).order_by_score()).map_err(|e| e.to_string())?;
        if pass == Pass::Sections && distinct.len() > 1 {
            // Coordination: a section scores in proportion to the share of the query's
            // words that it or its document says, so one strong word does not beat all
            // of them.
            let fields = [f.heading, f.emphasis, f.body, f.code, f.title, f.tags_text, f.description];
            let covered = self.coverage(&distinct, &fields, &top)?;
            #[allow(clippy::cast_precision_loss)]
            let total = distinct.len() as f32;
            for ((score, _), words) in top.iter_mut().zip(covered) {
                #[allow(clippy::cast_precision_loss)]
                let share = words as f32 / total;
                *score *= share;
            }
            top.sort_by(|a, b| b.0.total_cmp(&a.0));
        }
        // Only the hits that can make the cut are read from the store: the top `limit`
        // and any tied with the last of them.
        if let Some(&(last, _)) = top.get(limit - 1) {
            top.retain(|(score, _)| rank(*score) >= rank(last));
        }
        // Highlight the exact words in the prose (a typo matches no word as written).
        let highlight =
            BooleanQuery::new(distinct.iter().map(|w| (Occur::Should, term(f.body, w))).collect::<Vec<_>>());
        let mut snippets = SnippetGenerator::create(searcher, &highlight, f.body).map_err(|e| e.to_string())?;
        snippets.set_max_num_chars(SNIPPET_CHARS);
        let mut hits: Vec<Hit> = Vec::with_capacity(top.len());
        for (score, address) in top {
            let stored: TantivyDocument = searcher.doc(address).map_err(|e| e.to_string())?;
            let section = stored.get_first(f.section).and_then(|v| v.as_u64()).and_then(|n| usize::try_from(n).ok());
            let file = stored.get_first(f.file).and_then(|v| v.as_str());
            let (Some(s), Some(document)) = (section, file.and_then(resolve)) else { continue };
            if s >= document.sections.len() {
                continue;
            }
            // From the section's own text, code and all, so a snippet quotes it exactly.
            let section = &document.sections[s];
            let text = document.section_text(section);
            let text = if section.level > 0 { text.split_once('\n').map_or("", |(_, rest)| rest) } else { text };
            let snippet = excerpt(&snippets.snippet(text)).unwrap_or_else(|| opening(text));
            hits.push(Hit { document: document.clone(), section: s, score, snippet });
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

impl SearchIndex {
    /// For each of `top`, how many of `words` occur in at least one of `fields`, read
    /// from the postings (one term lookup per word, field and segment; no stored text).
    fn coverage(&self, words: &[&str], fields: &[Field], top: &[(f32, DocAddress)]) -> Result<Vec<usize>, String> {
        let mut counts = vec![0; top.len()];
        let mut order: Vec<usize> = (0..top.len()).collect();
        order.sort_by_key(|&i| (top[i].1.segment_ord, top[i].1.doc_id));
        let mut matched = vec![false; top.len()];
        for word in words {
            matched.iter_mut().for_each(|m| *m = false);
            for segment in order.chunk_by(|&a, &b| top[a].1.segment_ord == top[b].1.segment_ord) {
                let reader = self.searcher.segment_reader(top[segment[0]].1.segment_ord);
                for &field in fields {
                    let index = reader.inverted_index(field).map_err(|e| e.to_string())?;
                    let term = Term::from_field_text(field, word);
                    let Some(mut postings) =
                        index.read_postings(&term, IndexRecordOption::Basic).map_err(|e| e.to_string())?
                    else {
                        continue;
                    };
                    for &i in segment {
                        let doc = top[i].1.doc_id;
                        if postings.doc() < doc {
                            postings.seek(doc);
                        }
                        if postings.doc() == doc {
                            matched[i] = true;
                        }
                    }
                }
            }
            for (count, &m) in counts.iter_mut().zip(&matched) {
                *count += usize::from(m);
            }
        }
        Ok(counts)
    }
}

/// The passes of a search, each run only when the ones before found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Sections whose own text says a query word, lifted by their document's fields.
    Sections,
    /// The opening sections of documents whose title, tags or description say one.
    Documents,
    /// Any section or document field within one typo of a query word.
    Typos,
}

/// Candidates an exact pass ranks before cutting to the limit: enough that the
/// coordination of words can lift a section from below the first few.
const MIN_CANDIDATES: usize = 40;

/// Edits per word the typo-tolerant retry allows. Two edits cost about five times the
/// CPU at 10 000 documents (the automaton matches far more terms) and mostly found
/// unrelated words.
const MAX_TYPOS: u8 = 1;

/// Query words past this many are ignored (a pasted paragraph is not a query).
const MAX_WORDS: usize = 32;

/// The longest snippet, in characters.
const SNIPPET_CHARS: usize = 240;

/// The query for `word` in `field`: scored by BM25, or, for `fuzzy`, any term within
/// one typo (a wrong, missing or extra letter, or two letters swapped) at a constant
/// score.
fn matcher(field: Field, word: &str, boost: f32, fuzzy: bool) -> Box<dyn TantivyQuery> {
    let term = Term::from_field_text(field, word);
    let query: Box<dyn TantivyQuery> = if fuzzy {
        Box::new(FuzzyTermQuery::new(term, MAX_TYPOS, true))
    } else {
        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
    };
    Box::new(BoostQuery::new(query, boost))
}

/// A snippet as Markdown, the matching words in bold (text already bold in the
/// document stays as it is), whitespace collapsed; `None` when nothing matched.
fn excerpt(snippet: &tantivy::snippet::Snippet) -> Option<String> {
    if snippet.highlighted().is_empty() {
        return None;
    }
    let fragment = snippet.fragment();
    let mut out = String::with_capacity(fragment.len() + 16);
    let mut last = 0;
    for range in snippet.highlighted() {
        let bold = fragment[..range.start].ends_with("**") && fragment[range.end..].starts_with("**");
        out.push_str(&fragment[last..range.start]);
        let mark = if bold { "" } else { "**" };
        out.push_str(mark);
        out.push_str(&fragment[range.clone()]);
        out.push_str(mark);
        last = range.end;
    }
    out.push_str(&fragment[last..]);
    Some(out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The first words of a section, for a hit whose text has none of the query's words as
/// written (they were in its heading or document, or were misspelt): at most
/// [`SNIPPET_CHARS`] characters and an ellipsis, cut after a word, or inside the first
/// word when that alone is longer (a URL, or text written without spaces).
fn opening(text: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for word in text.split_whitespace() {
        let separator = usize::from(chars > 0);
        let length = word.chars().count();
        if chars + separator + length > SNIPPET_CHARS {
            if chars == 0 {
                out.extend(word.chars().take(SNIPPET_CHARS));
            }
            out.push('…');
            break;
        }
        if separator > 0 {
            out.push(' ');
        }
        out.push_str(word);
        chars += separator + length;
    }
    out
}

/// A score rounded so that scores equal but for float noise tie.
fn rank(score: f32) -> i64 {
    (f64::from(score) * 1e6).round() as i64
}

/// The parts of a section's text that are scored apart.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parts {
    /// Everything but the heading line and code blocks.
    prose: String,
    /// The contents of fenced code blocks.
    code: String,
    /// Bold spans of the prose (`**…**` or `__…__`), one per line.
    emphasis: String,
}

/// Splits a section's text (its heading line first when `headed`) into prose, code and
/// bold spans.
fn parts(text: &str, headed: bool) -> Parts {
    let mut out = Parts::default();
    let mut fence: Option<&str> = None;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if n == 0 && headed {
            continue;
        }
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            } else {
                out.code.push_str(line);
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            continue;
        }
        out.prose.push_str(line);
        for marker in ["**", "__"] {
            let mut rest = line;
            while let Some(open) = rest.find(marker) {
                let after = &rest[open + 2..];
                let Some(close) = after.find(marker) else { break };
                out.emphasis.push_str(&after[..close]);
                out.emphasis.push('\n');
                rest = &after[close + 2..];
            }
        }
    }
    out
}

/// Indexes each section of a document under its file id.
fn add(writer: &IndexWriter, fields: &Fields, id: &str, document: &Document) -> Result<(), String> {
    for (s, section) in document.sections.iter().enumerate() {
        let parts = parts(document.section_text(section), section.level > 0);
        let mut entry = doc!(
            fields.file => id,
            fields.section => s as u64,
            fields.language => document.language.as_str(),
            fields.domain => document.domain.as_str(),
            fields.title => document.title.as_str(),
            fields.heading => section.heading.as_str(),
            fields.emphasis => parts.emphasis,
            fields.body => parts.prose,
            fields.code => parts.code,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_is_split_into_prose_code_and_bold_lead_ins() {
        let text = "## Build queries safely\n\n**SQL**: use placeholders, __always__.\n\n```go\n// **not bold**\nq := db.Query(sql, id)\n```\nAfter the code.\n";
        let parts = parts(text, true);
        assert_eq!(parts.prose, "\n**SQL**: use placeholders, __always__.\n\nAfter the code.\n");
        assert_eq!(parts.code, "// **not bold**\nq := db.Query(sql, id)\n");
        assert_eq!(parts.emphasis, "SQL\nalways\n");
        assert_eq!(super::parts("intro **a** and **b\n", false).emphasis, "a\n", "an unclosed span is not bold");
    }

    #[test]
    fn an_opening_is_cut_at_a_word_within_the_snippet_length() {
        let long = "word ".repeat(200);
        let opening = opening(&long);
        assert!(opening.len() <= SNIPPET_CHARS + '…'.len_utf8() && opening.ends_with('…'), "{opening}");
        assert_eq!(super::opening("  short\n text "), "short text");
    }

    #[test]
    fn an_opening_counts_characters_and_cuts_a_long_first_word() {
        // CJK text has no spaces and three bytes a character: 100 characters fit.
        let cjk = "錯誤處理".repeat(25);
        assert_eq!(opening(&cjk), cjk, "100 characters are within the snippet length");
        let words = format!("{} {}", "錯".repeat(100), "誤".repeat(139));
        assert_eq!(opening(&words), words, "240 characters fit, however many bytes");
        let long = "錯誤處理".repeat(100);
        let cut = opening(&long);
        assert_eq!(cut.chars().count(), SNIPPET_CHARS + 1, "{cut}");
        assert!(cut.ends_with('…') && long.starts_with(cut.trim_end_matches('…')), "{cut}");
        let url = format!("https://example.com/{} and then words", "a".repeat(400));
        let cut = opening(&url);
        assert!(cut.starts_with("https://example.com/aaa") && cut.ends_with('…'), "{cut}");
        assert_eq!(cut.chars().count(), SNIPPET_CHARS + 1, "{cut}");
        assert_eq!(opening(&format!("short {}", "é".repeat(300))), "short…", "a later long word is left out");
    }
}
