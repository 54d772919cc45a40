//! Full-text search over sections: BM25 with English stemming over an in-memory
//! inverted index of our own, filters on language, domain and tags, and a
//! typo-tolerant retry when the exact words find nothing.
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
//! The sum is weighted by the share of the query's distinct words the section or its
//! document says (coordination), so one strong word does not beat all of them.
//!
//! A section must match at least one query word in its own text; sections of documents
//! that match only through their title, tags or description are returned only when no
//! section says any of the words (then one per document, its opening section).
//!
//! The index is small and rebuilt whole when documents change (a few milliseconds for
//! the built-in corpus), so its statistics never drift from the documents served.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use frostem::{Algorithm, Stemmer};

use crate::document::Document;

mod glossary;
mod snippet;
mod stats;
mod text;

pub use stats::{Outcome, SearchStats, WEAK_COVERAGE};

use glossary::Form;

use crate::english::is_function_word;
use snippet::snippet;
use text::{MAX_WORD_BYTES, Token, lowercase, parts, term, tokens, within_one_typo};

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

/// The longest query accepted, in characters: a question, not a pasted document.
pub const MAX_QUERY_CHARS: usize = 1_000;

/// The most hits one search returns.
pub const MAX_HITS: usize = 100;

/// A query that is too long to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the query is {chars} characters long; the most is {MAX_QUERY_CHARS}: search for the key words")]
pub struct QueryTooLong {
    /// How long it was, in characters.
    pub chars: usize,
}

impl Query {
    /// A query as every face takes it (the `search_stdlib` tool, `tenet search`, the web
    /// page, `tenet eval`): the text trimmed and at most [`MAX_QUERY_CHARS`]
    /// characters; the language, domain and tags normalised as documents' are (`Go` is
    /// `go`), blank ones dropped; the limit between 1 and [`MAX_HITS`].
    ///
    /// # Errors
    /// A text longer than [`MAX_QUERY_CHARS`] characters.
    ///
    /// ```
    /// let query = tenet_kb::Query::new(" goroutine leak ", Some("Go"), Some(" "), &[], 5).unwrap();
    /// assert_eq!((query.text.as_str(), query.language.as_deref(), query.domain), ("goroutine leak", Some("go"), None));
    /// assert!(tenet_kb::Query::new(&"x ".repeat(600), None, None, &[], 5).is_err());
    /// ```
    pub fn new(
        text: &str,
        language: Option<&str>,
        domain: Option<&str>,
        tags: &[String],
        limit: usize,
    ) -> Result<Self, QueryTooLong> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(QueryTooLong { chars });
        }
        let name = |v: Option<&str>| v.map(crate::document::normalize).filter(|v| !v.is_empty());
        Ok(Self {
            text: text.to_owned(),
            language: name(language),
            domain: name(domain),
            tags: tags.iter().map(|t| crate::document::normalize(t)).filter(|t| !t.is_empty()).collect(),
            limit: limit.clamp(1, MAX_HITS),
        })
    }
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
    /// The share of what the query asks that the section (or its document) says, from
    /// 0 to 1: each word weighted by how rare it is. 0 for a hit found only by a
    /// fallback (its document's tags, or a typo).
    pub coverage: f32,
    /// A short excerpt of the section around the matching words, matches in `**bold**`
    /// (its first words when it has none of them as written).
    pub snippet: String,
}

/// The fields a section is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// The section's heading: what the section says it is about.
    Heading,
    /// Bold text in the prose: lead-ins such as `**SQL**:` that head a paragraph.
    Emphasis,
    /// The prose.
    Body,
    /// Code blocks: identifiers count, but less than prose.
    Code,
    /// The keywords its document's front matter gives it: what the author says it is
    /// about, as its heading does.
    Keywords,
    /// The document's title.
    Title,
    /// The document's tags and keywords.
    Tags,
    /// The document's description.
    Description,
}

/// How many fields there are.
const FIELDS: usize = 8;

/// The section's own text: a hit must say a query word in one of these.
const SECTION_FIELDS: [Field; 5] = [Field::Heading, Field::Keywords, Field::Emphasis, Field::Body, Field::Code];

/// The document's fields, shared by its sections: they only add to a section's score.
const DOCUMENT_FIELDS: [Field; 3] = [Field::Title, Field::Tags, Field::Description];

impl Field {
    /// The weight of a match in this field.
    fn weight(self) -> f32 {
        match self {
            Self::Heading | Self::Keywords => 2.0,
            Self::Emphasis | Self::Body | Self::Title | Self::Tags => 1.0,
            Self::Code | Self::Description => 0.5,
        }
    }
}

/// The weight of two consecutive query words within [`NEAR`] positions of each other.
const NEAR_WEIGHT: f32 = 1.0;

/// A word in more than one section in this many (and in more than
/// [`COMMON_WORD_FLOOR`] sections) is too common to earn a proximity bonus.
const COMMON_WORD: usize = 10;

/// Words in at most this many sections are never too common.
const COMMON_WORD_FLOOR: usize = 100;

/// How many words may stand between two consecutive query words for the proximity
/// bonus (0 would mean adjacent only).
const NEAR: u32 = 2;

/// The factor on the score of a section in the language a query filters on, over
/// the language-neutral (`all`) sections the filter also keeps.
const LANGUAGE_BOOST: f32 = 1.5;

/// BM25's term-frequency saturation.
const K1: f32 = 1.2;

/// BM25's length normalisation.
const B: f32 = 0.75;

/// Query words past this many are ignored (a pasted paragraph is not a query).
const MAX_WORDS: usize = 32;

/// Words shorter than this are never read as a misspelling of another among correct
/// words: one edit turns most short words into other real ones.
const MIN_TYPO_CHARS: usize = 4;

/// At most this many unknown words of a query are looked up one typo away (each is a
/// walk over the words of about its length).
const MAX_TYPO_WORDS: usize = 8;

/// The most glossary terms the documents' `aliases` may add to a knowledge base.
const MAX_ALIAS_TERMS: usize = 4096;

/// A query of function words alone is searched for its first this many.
const MAX_FUNCTION_WORDS: usize = 3;

/// A word of a query: as written (lowercased), stemmed, and the glossary terms it is
/// part of a name of.
struct Word<'a> {
    written: &'a str,
    stem: String,
    concepts: &'a [u32],
}

/// Scratch space of [`SearchIndex::each_best`]: the best score of each id so far
/// (`-inf` for none), and the ids that have one. Dense, so that the alternatives of a
/// word (a glossary's names, the words one typo away) cost a write per posting, not a
/// hash.
#[derive(Default)]
struct Best {
    value: Vec<f32>,
    touched: Vec<u32>,
}

/// One indexed section: its document, and its position among the document's sections.
#[derive(Debug, Clone, Copy)]
struct Entry {
    doc: u32,
    section: u32,
}

/// One indexed document: what the filters read, and the entries of its sections
/// (`first..first + sections`).
struct Doc {
    file: Box<str>,
    /// Its place in the order of ties: newest `updatedAt` first, then by URI.
    order: u32,
    language: u32,
    domain: u32,
    tags: Box<[String]>,
    first: u32,
    sections: u32,
}

/// The occurrences of one term in one field: the ids that say it (entries for a
/// section's fields, documents for a document's), ascending, each with the word
/// positions it stands at (their count is the term's frequency there). One allocation,
/// read in order: each id, how many positions it has, then the positions.
#[derive(Debug, Default)]
struct Postings {
    /// How many ids.
    n: u32,
    data: Vec<u32>,
}

impl Postings {
    fn len(&self) -> usize {
        self.n as usize
    }

    /// Each id, ascending, with its positions.
    fn iter(&self) -> impl Iterator<Item = (u32, &[u32])> + '_ {
        let mut rest = self.data.as_slice();
        std::iter::from_fn(move || {
            let (&[id, count], after) = rest.split_first_chunk::<2>()?;
            let (positions, after) = after.split_at(count as usize);
            rest = after;
            Some((id, positions))
        })
    }

    fn push(&mut self, id: u32, positions: impl Iterator<Item = u32>) {
        let at = self.data.len();
        self.data.extend([id, 0]);
        self.data.extend(positions);
        // Positions count words of one field, whose length is a `u32` already.
        self.data[at + 1] = u32::try_from(self.data.len() - at - 2).unwrap_or(u32::MAX);
        self.n += 1;
    }
}

/// One field's inverted index.
#[derive(Default)]
struct FieldIndex {
    /// Term id → postings.
    postings: HashMap<u32, Postings>,
    /// Each id's length in words.
    lengths: Vec<u32>,
    /// The mean of `lengths` (at least 1).
    average: f32,
}

impl Field {
    /// Whether this field belongs to the document (indexed once per document) rather
    /// than to each section.
    fn of_document(self) -> bool {
        DOCUMENT_FIELDS.contains(&self)
    }
}

/// The search index of one knowledge base: every served section, in memory.
pub(crate) struct SearchIndex {
    entries: Vec<Entry>,
    docs: Vec<Doc>,
    fields: [FieldIndex; FIELDS],
    /// Every indexed term → its id.
    vocabulary: HashMap<Box<str>, u32>,
    /// Every word as written (lowercased) with the id of its term, in order: to mark
    /// matches in snippets, and for the typo tolerance.
    spelled: Vec<(Box<str>, u32)>,
    /// Positions in `spelled` by the word's length in letters: the typo tolerance
    /// compares a word with words of its length and one either side.
    spellings: Vec<Vec<u32>>,
    /// Languages and domains → small ids, for the filters.
    names: HashMap<Box<str>, u32>,
    /// The glossary's names (built in, and the documents' `aliases`), by the term id of
    /// their first word.
    forms: HashMap<u32, Vec<Form>>,
    /// Each glossary term's names of one word, as their term ids.
    words_of: HashMap<u32, Vec<u32>>,
    stemmer: Stemmer,
}

/// BM25's inverse document frequency of a term in `df` of `n` entries.
#[allow(clippy::cast_precision_loss)]
fn idf(n: usize, df: usize) -> f32 {
    let (n, df) = (n as f32, df as f32);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// BM25's weight of `tf` occurrences in a field of `length` words.
#[allow(clippy::cast_precision_loss)]
fn saturation(tf: usize, length: u32, average: f32) -> f32 {
    let tf = tf as f32;
    tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length as f32 / average))
}

/// Reused buffers of the indexing loop.
#[derive(Default)]
struct Scratch {
    lower: String,
    occurrences: Vec<(u32, u32)>,
    /// Every word as written (lowercased) → the id of its term, so that each distinct
    /// word is stemmed once.
    surface: HashMap<Box<str>, u32>,
    /// The words of the text being indexed (not identifiers whole), with their
    /// positions: where the glossary's names are looked for.
    words: Vec<(Option<u32>, u32)>,
}

impl SearchIndex {
    /// Indexes `docs` (file id, document).
    pub(crate) fn build<'a>(docs: impl Iterator<Item = (&'a str, &'a Arc<Document>)>) -> Result<Self, String> {
        let mut index = Self {
            entries: Vec::new(),
            docs: Vec::new(),
            fields: std::array::from_fn(|_| FieldIndex::default()),
            vocabulary: HashMap::new(),
            spelled: Vec::new(),
            spellings: Vec::new(),
            names: HashMap::new(),
            forms: HashMap::new(),
            words_of: HashMap::new(),
            stemmer: Stemmer::new(Algorithm::English),
        };
        let docs: Vec<(&str, &Arc<Document>)> = docs.collect();
        let mut scratch = Scratch::default();
        for names in glossary::builtin() {
            index.learn(&names);
        }
        let mut made = 0;
        for names in docs.iter().flat_map(|(_, d)| &d.aliases) {
            if made == MAX_ALIAS_TERMS {
                tracing::warn!("the documents alias more than {MAX_ALIAS_TERMS} terms; the rest are not searched for");
                break;
            }
            made += usize::from(index.learn(&names.iter().map(String::as_str).collect::<Vec<_>>()));
        }
        let too_many = || "too many sections to index".to_owned();
        let mut dates: Vec<(Option<String>, String)> = Vec::new();
        for (file, document) in docs {
            dates.push((document.updated_at.clone(), document.uri()));
            let doc = u32::try_from(index.docs.len()).map_err(|_| too_many())?;
            let first = u32::try_from(index.entries.len()).map_err(|_| too_many())?;
            let tags =
                document.tags.iter().chain(&document.keywords).map(String::as_str).collect::<Vec<_>>().join("\n");
            let description = document.description.as_deref().unwrap_or("");
            for (field, text) in
                [(Field::Title, document.title.as_str()), (Field::Tags, &tags), (Field::Description, description)]
            {
                index.add(field, doc, text, &mut scratch);
            }
            for (s, section) in document.sections.iter().enumerate() {
                let entry = u32::try_from(index.entries.len()).map_err(|_| too_many())?;
                let parts = parts(document.section_text(section), section.level > 0);
                for (field, text) in [
                    (Field::Heading, section.heading.as_str()),
                    (Field::Keywords, &section.keywords.join("\n")),
                    (Field::Emphasis, &parts.emphasis),
                    (Field::Body, &parts.prose),
                    (Field::Code, &parts.code),
                ] {
                    index.add(field, entry, text, &mut scratch);
                }
                index.entries.push(Entry { doc, section: u32::try_from(s).map_err(|_| too_many())? });
            }
            let language = index.name(&document.language);
            let domain = index.name(&document.domain);
            let sections = u32::try_from(document.sections.len()).map_err(|_| too_many())?;
            let tags = document.tags.clone().into_boxed_slice();
            index.docs.push(Doc { file: file.into(), order: 0, language, domain, tags, first, sections });
        }
        let mut order: Vec<usize> = (0..dates.len()).collect();
        order.sort_by(|&a, &b| dates[b].0.cmp(&dates[a].0).then_with(|| dates[a].1.cmp(&dates[b].1)));
        for (place, doc) in order.into_iter().enumerate() {
            index.docs[doc].order = u32::try_from(place).map_err(|_| too_many())?;
        }
        index.vocabulary.shrink_to_fit();
        index.spelled = scratch.surface.into_iter().collect();
        index.spelled.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (n, (spelling, _)) in index.spelled.iter().enumerate() {
            let length = spelling.chars().count().min(MAX_WORD_BYTES);
            if index.spellings.len() <= length {
                index.spellings.resize_with(length + 1, Vec::new);
            }
            index.spellings[length].push(u32::try_from(n).map_err(|_| too_many())?);
        }
        for field in &mut index.fields {
            // Built by pushing: give back what growing left spare.
            for postings in field.postings.values_mut() {
                postings.data.shrink_to_fit();
            }
            field.postings.shrink_to_fit();
            field.lengths.shrink_to_fit();
            let total: u64 = field.lengths.iter().map(|&l| u64::from(l)).sum();
            #[allow(clippy::cast_precision_loss)]
            let average = total as f32 / field.lengths.len().max(1) as f32;
            field.average = average.max(1.0);
        }
        Ok(index)
    }

    /// The id of the term of `word` (as written, lowercased), if the index has it.
    fn spelling(&self, word: &str) -> Option<u32> {
        let at = self.spelled.binary_search_by(|(spelling, _)| (**spelling).cmp(word)).ok()?;
        Some(self.spelled[at].1)
    }

    /// The term id of `key` (a stem, or a glossary term's own key), added to the
    /// vocabulary when new.
    fn term_id(&mut self, key: &str) -> u32 {
        let next = u32::try_from(self.vocabulary.len()).unwrap_or(u32::MAX);
        *self.vocabulary.entry(key.into()).or_insert(next)
    }

    /// The term id of a word as written (lowercased), added to the vocabulary when new.
    fn intern(&mut self, lower: &str, scratch: &mut Scratch) -> u32 {
        if let Some(&term) = scratch.surface.get(lower) {
            return term;
        }
        let term = self.term_id(&self.stemmer.stem(lower));
        scratch.surface.insert(lower.into(), term);
        term
    }

    /// Adds a glossary term given as its names: each name a phrase of word terms that
    /// stands for the term. The term is the one a name already stands for, when one
    /// does (two documents aliasing `PR` add to one term); otherwise a new id of its
    /// own, a key no word can be. Returns whether it made a new term.
    fn learn(&mut self, names: &[&str]) -> bool {
        let phrases: Vec<Vec<u32>> = names
            .iter()
            .map(|name| {
                let mut words = Vec::new();
                tokens(name, |token| {
                    if !token.whole && token.end - token.start < MAX_WORD_BYTES {
                        words.push(lowercase(&name[token.start..token.end]));
                    }
                });
                // Not among the words as written: a name the text never says is no
                // spelling to correct a query's typo to.
                words.iter().map(|w| self.term_id(&self.stemmer.stem(w))).collect()
            })
            .collect();
        let known = phrases.iter().find_map(|phrase| {
            let (first, rest) = phrase.split_first()?;
            self.forms.get(first)?.iter().find(|(r, _)| **r == *rest).map(|&(_, concept)| concept)
        });
        let concept = known.unwrap_or_else(|| self.term_id(&format!("\u{1}{}", self.vocabulary.len())));
        for phrase in phrases {
            let Some((&first, rest)) = phrase.split_first() else { continue };
            let list = self.forms.entry(first).or_default();
            if list.iter().any(|(r, c)| **r == *rest && *c == concept) {
                continue;
            }
            list.push((rest.into(), concept));
            if rest.is_empty() {
                self.words_of.entry(concept).or_default().push(first);
            }
        }
        known.is_none()
    }

    /// The term id of a stem when some field holds it.
    fn known(&self, stem: &str) -> Option<u32> {
        let term = *self.vocabulary.get(stem)?;
        self.fields.iter().any(|f| f.postings.contains_key(&term)).then_some(term)
    }

    /// The small id of a language or domain.
    fn name(&mut self, name: &str) -> u32 {
        let next = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        *self.names.entry(name.into()).or_insert(next)
    }

    /// Indexes `text` as `field` of `id` (an entry, or a document for its fields).
    fn add(&mut self, field: Field, id: u32, text: &str, scratch: &mut Scratch) {
        scratch.occurrences.clear();
        let mut words = std::mem::take(&mut scratch.words);
        words.clear();
        let mut lower = std::mem::take(&mut scratch.lower);
        let count = tokens(text, |token| {
            let word = &text[token.start..token.end];
            if word.len() >= MAX_WORD_BYTES {
                if !token.whole {
                    words.push((None, token.position));
                }
                return;
            }
            lower.clear();
            lower.extend(word.chars().flat_map(char::to_lowercase));
            let term = self.intern(&lower, scratch);
            scratch.occurrences.push((term, token.position));
            if !token.whole {
                words.push((Some(term), token.position));
            }
        });
        // Where the text says a glossary name, it says the name's term too.
        glossary::matches(&self.forms, &words, |start, _, concept| {
            scratch.occurrences.push((concept, words[start].1));
        });
        scratch.words = words;
        scratch.lower = lower;
        scratch.occurrences.sort_unstable();
        let index = &mut self.fields[field as usize];
        for run in scratch.occurrences.chunk_by(|a, b| a.0 == b.0) {
            index.postings.entry(run[0].0).or_default().push(id, run.iter().map(|&(_, at)| at));
        }
        index.lengths.push(count);
    }

    /// Runs `query`; `resolve` finds the document of a file id.
    pub(crate) fn search<'a>(
        &self,
        query: &Query,
        resolve: impl Fn(&str) -> Option<&'a Arc<Document>>,
    ) -> Result<Vec<Hit>, String> {
        let limit = query.limit.clamp(1, MAX_HITS);
        let (written, marked) = self.read(&query.text);
        // Function words ("how", "do", "the") say nothing of a section, unless they
        // are all the query says (then its first few).
        let meaningful: Vec<usize> = (0..written.len()).filter(|&i| !is_function_word(&written[i].0)).collect();
        let chosen: Vec<usize> = if meaningful.is_empty() {
            let mut seen = HashSet::new();
            (0..written.len()).filter(|&i| seen.insert(&written[i].0)).take(MAX_FUNCTION_WORDS).collect()
        } else {
            meaningful
        };
        let words: Vec<Word<'_>> = chosen
            .into_iter()
            .filter_map(|i| {
                let stem = term(self.stemmer, &written[i].0)?;
                Some(Word { written: &written[i].0, stem, concepts: &written[i].1 })
            })
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let allowed = self.allowed(query);
        // Sections that say a word (a word the index does not know stands for the words
        // within one typo of it), then documents only tagged with it, then typos.
        let groups = self.alternatives(&words);
        let mut scored = self.sections(&groups, &allowed);
        // A glossary term's one-word names are marked as the query's own words are.
        let named = groups.iter().flatten().filter_map(|t| self.words_of.get(t)).flatten();
        let mut highlight: HashSet<u32> = groups.iter().flatten().chain(named).chain(&marked).copied().collect();
        // Fallbacks say none of the words in a section's own text: they cover nothing.
        let uncovered = |found: Vec<(u32, f32)>| found.into_iter().map(|(id, s)| (id, s, 0.0)).collect::<Vec<_>>();
        if scored.is_empty() {
            scored = uncovered(self.documents(&groups, &allowed));
        }
        if scored.is_empty() {
            let near = self.near(&words);
            scored = uncovered(self.typos(&near, &allowed));
            highlight = near.into_iter().flatten().collect();
        }
        // Asked for a language, its own sections come before the neutral ones on the
        // same subject.
        let own = query.language.as_deref().filter(|l| *l != "all").and_then(|l| self.names.get(l)).copied();
        for (entry, score, _) in &mut scored {
            if Some(self.docs[self.entries[*entry as usize].doc as usize].language) == own {
                *score *= LANGUAGE_BOOST;
            }
        }
        // Stable order: score, then newest updatedAt, then URI and position; only the
        // first `limit` are looked at further.
        let key = |&(entry, score, _): &(u32, f32, f32)| {
            let entry = self.entries[entry as usize];
            (std::cmp::Reverse(rank(score)), self.docs[entry.doc as usize].order, entry.section)
        };
        if scored.len() > limit {
            scored.select_nth_unstable_by_key(limit - 1, key);
            scored.truncate(limit);
        }
        scored.sort_unstable_by_key(key);
        let mut hits: Vec<Hit> = scored
            .into_iter()
            .filter_map(|(entry, score, coverage)| {
                let entry = self.entries[entry as usize];
                let document = resolve(&self.docs[entry.doc as usize].file)?;
                let section = entry.section as usize;
                (section < document.sections.len()).then(|| Hit {
                    document: document.clone(),
                    section,
                    score,
                    coverage,
                    snippet: String::new(),
                })
            })
            .collect();
        for hit in &mut hits {
            let section = &hit.document.sections[hit.section];
            let text = hit.document.section_text(section);
            let text = if section.level > 0 { text.split_once('\n').map_or("", |(_, rest)| rest) } else { text };
            hit.snippet = snippet(text, |word| self.spelling(word).is_some_and(|t| highlight.contains(&t)));
        }
        Ok(hits)
    }

    /// The query's tokens as the index reads text, lowercased, in order (at most
    /// [`MAX_WORDS`] words), each with the glossary terms it stands for too; and the
    /// terms of words left out that a snippet should still mark.
    ///
    /// An identifier the index holds whole stands for its words (`SetLimit` looks for
    /// `SetLimit`, not for every section that sets a limit); one it does not hold is
    /// looked for by its words. A glossary's name is matched on the words, so that the
    /// identifier whole stands for the names its words make (`JavaScript`: JS).
    fn read(&self, text: &str) -> (Vec<(String, Vec<u32>)>, Vec<u32>) {
        let mut found: Vec<(Token, String)> = Vec::new();
        tokens(text, |token| {
            if (token.position as usize) < MAX_WORDS && token.end - token.start < MAX_WORD_BYTES {
                found.push((token, lowercase(&text[token.start..token.end])));
            }
        });
        let stems: Vec<String> = found.iter().map(|(_, word)| self.stemmer.stem(word).into_owned()).collect();
        // The glossary's names, said by consecutive words.
        let mut concepts = vec![Vec::new(); found.len()];
        let words: Vec<usize> = (0..found.len()).filter(|&i| !found[i].0.whole).collect();
        let terms: Vec<(Option<u32>, u32)> =
            words.iter().map(|&i| (self.vocabulary.get(stems[i].as_str()).copied(), found[i].0.position)).collect();
        glossary::matches(&self.forms, &terms, |start, length, concept| {
            for &i in &words[start..start + length] {
                if !concepts[i].contains(&concept) {
                    concepts[i].push(concept);
                }
            }
        });
        let within = |outer: &Token, inner: &Token| outer.start <= inner.start && inner.end <= outer.end;
        let known: Vec<usize> =
            (0..found.len()).filter(|&i| found[i].0.whole && self.known(&stems[i]).is_some()).collect();
        let mut kept = Vec::new();
        let mut marked = Vec::new();
        for (i, (token, word)) in found.iter().enumerate() {
            if token.whole {
                if known.contains(&i) {
                    let mut of_words: Vec<u32> = Vec::new();
                    for j in words.iter().copied().filter(|&j| within(token, &found[j].0)) {
                        for &concept in &concepts[j] {
                            if !of_words.contains(&concept) {
                                of_words.push(concept);
                            }
                        }
                    }
                    kept.push((word.clone(), of_words));
                }
            } else if known.iter().any(|&k| within(&found[k].0, token)) {
                // Said by the identifier whole; still marked where a snippet quotes it.
                marked.extend(self.known(&stems[i]));
            } else {
                kept.push((word.clone(), std::mem::take(&mut concepts[i])));
            }
        }
        (kept, marked)
    }

    /// Which documents the query's filters keep.
    fn allowed(&self, query: &Query) -> Vec<bool> {
        let id = |name: Option<&str>| name.map(|n| self.names.get(n).copied());
        let (language, all, domain) =
            (id(query.language.as_deref()), id(Some("all")).flatten(), id(query.domain.as_deref()));
        let neutral_only = query.language.as_deref() == Some("all");
        self.docs
            .iter()
            .map(|d| {
                let language_ok = match language {
                    None => true,
                    Some(l) => Some(d.language) == all || (!neutral_only && Some(d.language) == l),
                };
                language_ok
                    && domain.is_none_or(|want| want == Some(d.domain))
                    && query.tags.iter().all(|t| d.tags.contains(t))
            })
            .collect()
    }

    /// Calls `f` with each id (entry or document) whose document is `allowed` and that
    /// says `term` in `field`, and its weighted BM25 score.
    fn each(&self, field: Field, term: u32, allowed: &[bool], mut f: impl FnMut(u32, f32)) {
        let index = &self.fields[field as usize];
        let Some(postings) = index.postings.get(&term) else { return };
        let of_document = field.of_document();
        let n = if of_document { self.docs.len() } else { self.entries.len() };
        let weight = field.weight() * idf(n, postings.len());
        for (id, positions) in postings.iter() {
            let doc = if of_document { id } else { self.entries[id as usize].doc };
            if allowed[doc as usize] {
                let tf = positions.len();
                f(id, weight * saturation(tf, index.lengths[id as usize], index.average));
            }
        }
    }

    /// Calls `f` once for each id whose document is `allowed` and that says one of
    /// `terms` in `field`, with the best of their scores: the alternatives that stand
    /// for one query word count once per id. `best` is scratch space, reused.
    fn each_best(&self, field: Field, terms: &[u32], allowed: &[bool], best: &mut Best, mut f: impl FnMut(u32, f32)) {
        if let [term] = terms {
            self.each(field, *term, allowed, f);
            return;
        }
        let ids = if field.of_document() { self.docs.len() } else { self.entries.len() };
        if best.value.len() < ids {
            best.value.resize(ids, f32::NEG_INFINITY);
        }
        for &term in terms {
            self.each(field, term, allowed, |id, s| {
                let value = &mut best.value[id as usize];
                if *value == f32::NEG_INFINITY {
                    best.touched.push(id);
                }
                *value = value.max(s);
            });
        }
        for id in best.touched.drain(..) {
            f(id, std::mem::replace(&mut best.value[id as usize], f32::NEG_INFINITY));
        }
    }

    /// Each distinct query word (as written, and stemmed) as the ids of the terms that
    /// stand for it: its own when indexed; otherwise those of the words within one typo
    /// of it as written, when there are any (a misspelt word among correct ones); none
    /// when neither (or when it is a glossary's name); and the glossary's terms it is
    /// part of. Only the first
    /// [`MAX_TYPO_WORDS`] unknown words are looked up.
    fn alternatives(&self, words: &[Word<'_>]) -> Vec<Vec<u32>> {
        let mut seen = HashSet::new();
        let mut unknown = 0;
        words
            .iter()
            .filter(|word| seen.insert(word.stem.as_str()))
            .map(|word| {
                let mut terms = if let Some(term) = self.known(&word.stem) {
                    vec![term]
                } else if !word.concepts.is_empty() {
                    // A glossary's name is no misspelling: XSRF is not SSRF.
                    Vec::new()
                } else {
                    unknown += 1;
                    // A short word within one typo of another is a different word ("ub", "up").
                    if unknown > MAX_TYPO_WORDS || word.written.chars().count() < MIN_TYPO_CHARS {
                        Vec::new()
                    } else {
                        self.one_typo_away(word.written)
                    }
                };
                terms.extend(word.concepts.iter().filter(|c| !terms.contains(c)).collect::<Vec<_>>());
                terms
            })
            .collect()
    }

    /// The ids of the terms of every indexed word within one typo of `word` (as
    /// written, lowercased), its own included.
    fn one_typo_away(&self, word: &str) -> Vec<u32> {
        let length = word.chars().count();
        let mut terms: Vec<u32> = (length.saturating_sub(1)..=length + 1)
            .filter_map(|l| self.spellings.get(l))
            .flatten()
            .map(|&n| &self.spelled[n as usize])
            .filter(|(spelling, _)| within_one_typo(word, spelling))
            .map(|&(_, term)| term)
            .collect();
        terms.sort_unstable();
        terms.dedup();
        terms
    }

    /// How much a word tells: the inverse frequency, among the sections that say it in
    /// their own text, of its commonest alternative; as much as the rarest word for a
    /// word that stands for no term.
    fn information(&self, group: &[u32]) -> f32 {
        let n = self.entries.len();
        let df = |term: &u32| {
            SECTION_FIELDS
                .iter()
                .map(|&f| self.fields[f as usize].postings.get(term).map_or(0, Postings::len))
                .max()
                .unwrap_or(0)
        };
        // A word the index does not know is as telling as the rarest: a section cannot
        // say it, so it stays uncovered (every section alike, so the order holds).
        group.iter().map(|t| idf(n, df(t))).reduce(f32::min).unwrap_or_else(|| idf(n, 0))
    }

    /// Sections whose own text says a query word, scored over every field, with the
    /// proximity bonus, and weighted by the share of the query's information they say
    /// (each word counted by the square root of its inverse frequency, so a section
    /// that says the rare word of a query covers more of it than one that says the
    /// common one, without the rare word alone outweighing all the others).
    fn sections(&self, groups: &[Vec<u32>], allowed: &[bool]) -> Vec<(u32, f32, f32)> {
        let groups = &groups[..groups.len().min(64)];
        let mut score = vec![0f32; self.entries.len()];
        let mut said = vec![0u64; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut document_score = vec![0f32; self.docs.len()];
        let mut document_said = vec![0u64; self.docs.len()];
        let mut best = Best::default();
        for (k, group) in groups.iter().enumerate() {
            let bit = 1u64 << k;
            for field in SECTION_FIELDS.into_iter().chain(DOCUMENT_FIELDS) {
                let add = |id: u32, s: f32| {
                    let i = id as usize;
                    if field.of_document() {
                        document_score[i] += s;
                        document_said[i] |= bit;
                    } else {
                        if said[i] == 0 {
                            touched.push(id);
                        }
                        said[i] |= bit;
                        score[i] += s;
                    }
                };
                self.each_best(field, group, allowed, &mut best, add);
            }
        }
        let single: Vec<Option<u32>> = groups.iter().map(|g| (g.len() == 1).then(|| g[0])).collect();
        self.proximity(&single, &said, &mut score);
        let information: Vec<f32> = groups.iter().map(|g| self.information(g).sqrt()).collect();
        let total: f32 = information.iter().sum();
        touched
            .into_iter()
            .map(|id| {
                let doc = self.entries[id as usize].doc as usize;
                let bits = said[id as usize] | document_said[doc];
                let told: f32 =
                    information.iter().enumerate().filter(|(k, _)| bits & (1 << k) != 0).map(|(_, i)| i).sum();
                let share = if groups.len() > 1 && total > 0.0 { told / total } else { 1.0 };
                (id, (score[id as usize] + document_score[doc]) * share, share)
            })
            .collect()
    }

    /// Adds to `score`, for the sections that said a word (`said`), the bonus for
    /// consecutive query words standing within [`NEAR`] words of each other in the
    /// heading or prose. Pairs of rarer words only: that "in a" stand together says
    /// nothing.
    fn proximity(&self, words: &[Option<u32>], said: &[u64], score: &mut [f32]) {
        let n = self.entries.len();
        let rare = |postings: &Postings| {
            postings.len() <= COMMON_WORD_FLOOR || postings.len().saturating_mul(COMMON_WORD) <= n
        };
        for field in [Field::Heading, Field::Body] {
            let index = &self.fields[field as usize];
            for pair in words.windows(2) {
                let (Some(a), Some(b)) = (pair[0], pair[1]) else { continue };
                let (Some(first), Some(second)) = (index.postings.get(&a), index.postings.get(&b)) else { continue };
                if a == b || !rare(first) || !rare(second) {
                    continue;
                }
                let weight = NEAR_WEIGHT * (idf(n, first.len()) + idf(n, second.len()));
                // Both lists ascend: walk them together.
                let (mut left, mut right) = (first.iter(), second.iter());
                let (mut a, mut b) = (left.next(), right.next());
                while let (Some((x, at_x)), Some((y, at_y))) = (a, b) {
                    if x < y {
                        a = left.next();
                    } else if y < x {
                        b = right.next();
                    } else {
                        let together = near_pairs(at_x, at_y);
                        if together > 0 && said[x as usize] != 0 {
                            score[x as usize] +=
                                weight * saturation(together, index.lengths[x as usize], index.average);
                        }
                        (a, b) = (left.next(), right.next());
                    }
                }
            }
        }
    }

    /// The opening sections of documents whose title, tags or description say a word.
    fn documents(&self, groups: &[Vec<u32>], allowed: &[bool]) -> Vec<(u32, f32)> {
        let mut score: HashMap<u32, f32> = HashMap::new();
        let mut best = Best::default();
        for group in groups {
            for field in DOCUMENT_FIELDS {
                self.each_best(field, group, allowed, &mut best, |doc, s| *score.entry(doc).or_default() += s);
            }
        }
        score
            .into_iter()
            .filter(|&(doc, _)| self.docs[doc as usize].sections > 0)
            .map(|(doc, s)| (self.docs[doc as usize].first, s))
            .collect()
    }

    /// For each distinct query word as written (the first [`MAX_TYPO_WORDS`] of at
    /// least [`MIN_TYPO_CHARS`] letters), the ids of the terms of the words within one
    /// typo of it (a wrong, missing or extra letter, or two letters swapped), its own
    /// included.
    fn near(&self, words: &[Word<'_>]) -> Vec<Vec<u32>> {
        let mut seen = HashSet::new();
        words
            .iter()
            .map(|word| word.written)
            .filter(|w| seen.insert(*w) && w.chars().count() >= MIN_TYPO_CHARS)
            .take(MAX_TYPO_WORDS)
            .map(|word| self.one_typo_away(word))
            .collect()
    }

    /// Any section whose own text, or whose document's fields, say a word within one
    /// typo of a query word: each (word, field) that matches adds the field's weight.
    fn typos(&self, near: &[Vec<u32>], allowed: &[bool]) -> Vec<(u32, f32)> {
        let mut score: HashMap<u32, f32> = HashMap::new();
        let mut best = Best::default();
        for terms in near {
            for field in SECTION_FIELDS.into_iter().chain(DOCUMENT_FIELDS) {
                self.each_best(field, terms, allowed, &mut best, |id, _| {
                    if field.of_document() {
                        let doc = &self.docs[id as usize];
                        for entry in doc.first..doc.first + doc.sections {
                            *score.entry(entry).or_default() += field.weight();
                        }
                    } else {
                        *score.entry(id).or_default() += field.weight();
                    }
                });
            }
        }
        score.into_iter().collect()
    }
}

/// How many positions in `first` have a position in `then` after them by at most
/// [`NEAR`] words between (both ascending; linear in their lengths).
fn near_pairs(first: &[u32], then: &[u32]) -> usize {
    let mut j = 0;
    first
        .iter()
        .filter(|&&p| {
            while j < then.len() && then[j] <= p {
                j += 1;
            }
            j < then.len() && then[j] - p - 1 <= NEAR
        })
        .count()
}

/// A score rounded so that scores equal but for float noise tie.
fn rank(score: f32) -> i64 {
    (f64::from(score) * 1e6).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_aliased_again_adds_to_the_one_it_already_is() {
        let mut index = SearchIndex::build(std::iter::empty()).unwrap();
        let terms = index.vocabulary.len();
        assert!(index.learn(&["ZQ", "zebra quilt"]), "new");
        assert!(!index.learn(&["zebra quilt", "zany quest"]), "the same term: zany quest joins it");
        assert!(!index.learn(&["ZQ", "zebra quilt"]), "nothing new");
        assert_eq!(index.vocabulary.len(), terms + 6, "one term and its five words");
        let (zq, zany) = (index.vocabulary["zq"], index.vocabulary["zani"]);
        assert_eq!(index.forms[&zq], [(Box::default(), index.forms[&zany][0].1)], "one name, once");
        assert!(!index.learn(&["PR", "pull request"]), "the built-in glossary has it");
    }
}
