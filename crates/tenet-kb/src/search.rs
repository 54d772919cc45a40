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
    /// The document's title.
    Title,
    /// The document's tags.
    Tags,
    /// The document's description.
    Description,
}

/// How many fields there are.
const FIELDS: usize = 7;

/// The section's own text: a hit must say a query word in one of these.
const SECTION_FIELDS: [Field; 4] = [Field::Heading, Field::Emphasis, Field::Body, Field::Code];

/// The document's fields, shared by its sections: they only add to a section's score.
const DOCUMENT_FIELDS: [Field; 3] = [Field::Title, Field::Tags, Field::Description];

impl Field {
    /// The weight of a match in this field.
    fn weight(self) -> f32 {
        match self {
            Self::Heading => 2.0,
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

/// Words longer than this many bytes are not indexed (a hash, a base64 blob).
const MAX_WORD_BYTES: usize = 40;

/// Query words past this many are ignored (a pasted paragraph is not a query).
const MAX_WORDS: usize = 32;

/// Words shorter than this are never read as a misspelling of another among correct
/// words: one edit turns most short words into other real ones.
const MIN_TYPO_CHARS: usize = 4;

/// At most this many unknown words of a query are looked up one typo away (each is a
/// walk over the words of about its length).
const MAX_TYPO_WORDS: usize = 8;

/// A query of function words alone is searched for its first this many.
const MAX_FUNCTION_WORDS: usize = 3;

/// A snippet is looked for around at most this many matches of each run of prose.
const MAX_SNIPPET_ANCHORS: usize = 32;

/// The longest snippet, in characters.
const SNIPPET_CHARS: usize = 240;

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
/// positions it stands at (their count is the term's frequency there).
#[derive(Debug, Default)]
struct Postings {
    ids: Vec<u32>,
    /// Where each id's positions end in `positions`.
    ends: Vec<u32>,
    positions: Vec<u32>,
}

impl Postings {
    fn len(&self) -> usize {
        self.ids.len()
    }

    /// The positions of the `i`th id.
    fn at(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.positions[start..self.ends[i] as usize]
    }

    fn push(&mut self, id: u32, positions: impl Iterator<Item = u32>) {
        self.ids.push(id);
        self.positions.extend(positions);
        // Positions count words of one field, whose length is a `u32` already.
        self.ends.push(u32::try_from(self.positions.len()).unwrap_or(u32::MAX));
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
    stemmer: Stemmer,
}

/// The words of `text` as byte ranges: runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = chars.by_ref().find(|(_, c)| c.is_alphanumeric())?;
        let mut end = text.len();
        while let Some(&(i, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                end = i;
                break;
            }
            chars.next();
        }
        Some((start, end))
    })
}

/// A word lowercased letter by letter, as the index stores it (so a query and the
/// text agree on every letter, final sigma included).
fn lowercase(word: &str) -> String {
    word.chars().flat_map(char::to_lowercase).collect()
}

/// A word as indexed: lowercased and stemmed; `None` for a word too long to index.
fn term(stemmer: Stemmer, word: &str) -> Option<String> {
    if word.len() >= MAX_WORD_BYTES {
        return None;
    }
    Some(stemmer.stem(&lowercase(word)).into_owned())
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
            stemmer: Stemmer::new(Algorithm::English),
        };
        let too_many = || "too many sections to index".to_owned();
        let mut scratch = Scratch::default();
        let mut dates: Vec<(Option<String>, String)> = Vec::new();
        for (file, document) in docs {
            dates.push((document.updated_at.clone(), document.uri()));
            let doc = u32::try_from(index.docs.len()).map_err(|_| too_many())?;
            let first = u32::try_from(index.entries.len()).map_err(|_| too_many())?;
            let tags = document.tags.join(" ");
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
                postings.ids.shrink_to_fit();
                postings.ends.shrink_to_fit();
                postings.positions.shrink_to_fit();
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

    /// The small id of a language or domain.
    fn name(&mut self, name: &str) -> u32 {
        let next = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        *self.names.entry(name.into()).or_insert(next)
    }

    /// Indexes `text` as `field` of `id` (an entry, or a document for its fields).
    fn add(&mut self, field: Field, id: u32, text: &str, scratch: &mut Scratch) {
        scratch.occurrences.clear();
        let mut count = 0u32;
        for (start, end) in words(text) {
            let word = &text[start..end];
            if word.len() >= MAX_WORD_BYTES {
                continue;
            }
            scratch.lower.clear();
            scratch.lower.extend(word.chars().flat_map(char::to_lowercase));
            let term = match scratch.surface.get(scratch.lower.as_str()) {
                Some(&term) => term,
                None => {
                    let stem = self.stemmer.stem(&scratch.lower);
                    let next = u32::try_from(self.vocabulary.len()).unwrap_or(u32::MAX);
                    let term = *self.vocabulary.entry(stem.as_ref().into()).or_insert(next);
                    scratch.surface.insert(scratch.lower.as_str().into(), term);
                    term
                }
            };
            scratch.occurrences.push((term, count));
            count = count.saturating_add(1);
        }
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
        let limit = query.limit.clamp(1, 100);
        let written = self.written(&query.text);
        // Function words ("how", "do", "the") say nothing of a section, unless they
        // are all the query says (then its first few).
        let meaningful: Vec<&str> = written.iter().map(String::as_str).filter(|w| !is_function_word(w)).collect();
        let chosen: Vec<&str> = if meaningful.is_empty() {
            let mut seen = HashSet::new();
            written.iter().map(String::as_str).filter(|w| seen.insert(*w)).take(MAX_FUNCTION_WORDS).collect()
        } else {
            meaningful
        };
        let words: Vec<(&str, String)> =
            chosen.into_iter().filter_map(|w| term(self.stemmer, w).map(|stem| (w, stem))).collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let allowed = self.allowed(query);
        // Sections that say a word (a word the index does not know stands for the words
        // within one typo of it), then documents only tagged with it, then typos.
        let groups = self.alternatives(&words);
        let mut scored = self.sections(&groups, &allowed);
        let mut highlight: HashSet<u32> = groups.iter().flatten().copied().collect();
        if scored.is_empty() {
            scored = self.documents(&groups, &allowed);
        }
        if scored.is_empty() {
            let near = self.near(&words);
            scored = self.typos(&near, &allowed);
            highlight = near.into_iter().flatten().collect();
        }
        // Asked for a language, its own sections come before the neutral ones on the
        // same subject.
        let own = query.language.as_deref().filter(|l| *l != "all").and_then(|l| self.names.get(l)).copied();
        for (entry, score) in &mut scored {
            if Some(self.docs[self.entries[*entry as usize].doc as usize].language) == own {
                *score *= LANGUAGE_BOOST;
            }
        }
        // Stable order: score, then newest updatedAt, then URI and position; only the
        // first `limit` are looked at further.
        let key = |&(entry, score): &(u32, f32)| {
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
            .filter_map(|(entry, score)| {
                let entry = self.entries[entry as usize];
                let document = resolve(&self.docs[entry.doc as usize].file)?;
                let section = entry.section as usize;
                (section < document.sections.len()).then(|| Hit {
                    document: document.clone(),
                    section,
                    score,
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

    /// The query's words as written, lowercased, in order (at most [`MAX_WORDS`]).
    fn written(&self, text: &str) -> Vec<String> {
        words(text)
            .map(|(start, end)| &text[start..end])
            .filter(|w| w.len() < MAX_WORD_BYTES)
            .take(MAX_WORDS)
            .map(lowercase)
            .collect()
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
        for (i, &id) in postings.ids.iter().enumerate() {
            let doc = if of_document { id } else { self.entries[id as usize].doc };
            if allowed[doc as usize] {
                let tf = postings.at(i).len();
                f(id, weight * saturation(tf, index.lengths[id as usize], index.average));
            }
        }
    }

    /// Calls `f` once for each id whose document is `allowed` and that says one of
    /// `terms` in `field`, with the best of their scores: the alternatives that stand
    /// for one query word count once per id. `best` is scratch space, reused.
    fn each_best(
        &self,
        field: Field,
        terms: &[u32],
        allowed: &[bool],
        best: &mut HashMap<u32, f32>,
        mut f: impl FnMut(u32, f32),
    ) {
        if let [term] = terms {
            self.each(field, *term, allowed, f);
            return;
        }
        best.clear();
        for &term in terms {
            self.each(field, term, allowed, |id, s| {
                let b = best.entry(id).or_default();
                *b = b.max(s);
            });
        }
        for (&id, &s) in best.iter() {
            f(id, s);
        }
    }

    /// Each distinct query word (as written, and stemmed) as the ids of the terms that
    /// stand for it: its own when indexed; otherwise those of the words within one typo
    /// of it as written, when there are any (a misspelt word among correct ones); none
    /// when neither. Only the first [`MAX_TYPO_WORDS`] unknown words are looked up.
    fn alternatives(&self, words: &[(&str, String)]) -> Vec<Vec<u32>> {
        let mut seen = HashSet::new();
        let mut unknown = 0;
        words
            .iter()
            .filter(|(_, stem)| seen.insert(stem.as_str()))
            .map(|(written, stem)| {
                if let Some(&term) = self.vocabulary.get(stem.as_str()) {
                    return vec![term];
                }
                unknown += 1;
                // A short word within one typo of another is a different word ("ub", "up").
                if unknown > MAX_TYPO_WORDS || written.chars().count() < MIN_TYPO_CHARS {
                    return Vec::new();
                }
                self.one_typo_away(written)
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
    /// their own text, of its commonest alternative; nothing for a word that stands for
    /// no term.
    fn information(&self, group: &[u32]) -> f32 {
        let n = self.entries.len();
        let df = |term: &u32| {
            SECTION_FIELDS
                .iter()
                .map(|&f| self.fields[f as usize].postings.get(term).map_or(0, Postings::len))
                .max()
                .unwrap_or(0)
        };
        group.iter().map(|t| idf(n, df(t))).reduce(f32::min).unwrap_or(0.0)
    }

    /// Sections whose own text says a query word, scored over every field, with the
    /// proximity bonus, and weighted by the share of the query's information they say
    /// (each word counted by the square root of its inverse frequency, so a section
    /// that says the rare word of a query covers more of it than one that says the
    /// common one, without the rare word alone outweighing all the others).
    fn sections(&self, groups: &[Vec<u32>], allowed: &[bool]) -> Vec<(u32, f32)> {
        let groups = &groups[..groups.len().min(64)];
        let mut score = vec![0f32; self.entries.len()];
        let mut said = vec![0u64; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut document_score = vec![0f32; self.docs.len()];
        let mut document_said = vec![0u64; self.docs.len()];
        let mut best: HashMap<u32, f32> = HashMap::new();
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
                (id, (score[id as usize] + document_score[doc]) * share)
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
                let (mut i, mut j) = (0, 0);
                while i < first.len() && j < second.len() {
                    let (x, y) = (first.ids[i], second.ids[j]);
                    if x < y {
                        i += 1;
                    } else if y < x {
                        j += 1;
                    } else {
                        let together = near_pairs(first.at(i), second.at(j));
                        if together > 0 && said[x as usize] != 0 {
                            score[x as usize] +=
                                weight * saturation(together, index.lengths[x as usize], index.average);
                        }
                        i += 1;
                        j += 1;
                    }
                }
            }
        }
    }

    /// The opening sections of documents whose title, tags or description say a word.
    fn documents(&self, groups: &[Vec<u32>], allowed: &[bool]) -> Vec<(u32, f32)> {
        let mut score: HashMap<u32, f32> = HashMap::new();
        let mut best = HashMap::new();
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
    fn near(&self, words: &[(&str, String)]) -> Vec<Vec<u32>> {
        let mut seen = HashSet::new();
        words
            .iter()
            .map(|&(written, _)| written)
            .filter(|w| seen.insert(*w) && w.chars().count() >= MIN_TYPO_CHARS)
            .take(MAX_TYPO_WORDS)
            .map(|word| self.one_typo_away(word))
            .collect()
    }

    /// Any section whose own text, or whose document's fields, say a word within one
    /// typo of a query word: each (word, field) that matches adds the field's weight.
    fn typos(&self, near: &[Vec<u32>], allowed: &[bool]) -> Vec<(u32, f32)> {
        let mut score: HashMap<u32, f32> = HashMap::new();
        let mut best = HashMap::new();
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

/// English function words: they occur everywhere and say nothing of what a section is
/// about. Negations are not among them ("never log secrets").
fn is_function_word(word: &str) -> bool {
    const WORDS: &[&str] = &[
        "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "being", "but", "by", "can", "could",
        "did", "do", "does", "doing", "for", "from", "had", "has", "have", "he", "her", "here", "his", "how", "i",
        "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "she", "so", "some", "than",
        "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "us", "was", "we",
        "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with", "would", "you", "your",
    ];
    WORDS.binary_search(&word).is_ok()
}

/// Whether `a` and `b` are at most one edit apart: a letter changed, added or dropped,
/// or two neighbouring letters swapped. Allocates nothing.
fn within_one_typo(a: &str, b: &str) -> bool {
    // One letter is at most four bytes: words further apart in length differ more.
    if a.len().abs_diff(b.len()) > 4 {
        return false;
    }
    let same: usize = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).map(|(x, _)| x.len_utf8()).sum();
    let (a, b) = (&a[same..], &b[same..]);
    let (Some(x), Some(y)) = (a.chars().next(), b.chars().next()) else {
        // One is a prefix of the other: one letter more at most.
        return a.chars().count() + b.chars().count() <= 1;
    };
    let (after_a, after_b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
    after_a == after_b
        || after_a == b
        || a == after_b
        || (after_a.starts_with(y) && after_b.starts_with(x) && after_a[y.len_utf8()..] == after_b[x.len_utf8()..])
}

/// A snippet of a section's text (its heading line removed) around the query's words,
/// as Markdown: the matching words in bold, and only they (the text's own `**` markers
/// are dropped, so a bold lead-in is not mistaken for a match), whitespace collapsed.
/// Taken from the prose, not from fenced code blocks, within one run of prose so that
/// it quotes the text as written; the section's opening words when no word matches
/// (its code, when it has no prose).
fn snippet(text: &str, says: impl Fn(&str) -> bool) -> String {
    let mut best: Option<Window<'_>> = None;
    let mut best_score = (0, 0);
    for run in prose_runs(text) {
        // Each word with its span in bytes and where it starts and ends in letters.
        let mut letters = 0;
        let mut last = 0;
        let words: Vec<(usize, usize, usize, usize)> = words(run)
            .map(|(s, e)| {
                letters += run[last..s].chars().count();
                let from = letters;
                letters += run[s..e].chars().count();
                last = e;
                (s, e, from, letters)
            })
            .collect();
        let matched: Vec<bool> = words.iter().map(|&(s, e, ..)| says(&lowercase(&run[s..e]))).collect();
        let anchors = (0..words.len()).filter(|&i| matched[i]).take(MAX_SNIPPET_ANCHORS);
        // The window's last word only moves forward as its first one does.
        let mut last_word = 0;
        for first in anchors {
            // Start at the run's beginning when the first match is close to it.
            let (start, start_letter) = if words[first].2 <= 60 { (0, 0) } else { (words[first].0, words[first].2) };
            last_word = last_word.max(first);
            while last_word + 1 < words.len() && words[last_word + 1].3 - start_letter <= SNIPPET_CHARS {
                last_word += 1;
            }
            let mut end = words[last_word].1;
            // The punctuation that closes the last word goes with it (a few letters).
            end += run[end..]
                .char_indices()
                .take(8)
                .find(|(_, c)| c.is_whitespace() || c.is_alphanumeric())
                .map_or_else(|| run[end..].chars().take(8).map(char::len_utf8).sum(), |(i, _)| i);
            let inside: Vec<(usize, usize)> =
                (first..=last_word).filter(|&i| matched[i]).map(|i| (words[i].0, words[i].1)).collect();
            let distinct: HashSet<String> = inside.iter().map(|&(s, e)| lowercase(&run[s..e])).collect();
            let score = (distinct.len(), inside.len());
            if score > best_score {
                best_score = score;
                best = Some(Window { run, start, end, matches: inside });
            }
        }
    }
    match best {
        Some(window) => window.render(),
        // No word as written: the opening words, without the text's own bold markers.
        None => prose_runs(text).next().map_or_else(|| opening(text), opening).replace("**", ""),
    }
}

/// The part of a run of prose a snippet quotes, with the matches in it.
struct Window<'a> {
    run: &'a str,
    start: usize,
    end: usize,
    matches: Vec<(usize, usize)>,
}

impl Window<'_> {
    /// The quote: matches in bold, the text's own bold markers dropped, an ellipsis
    /// where the run goes on, whitespace collapsed.
    fn render(&self) -> String {
        let run = self.run;
        let mut out = String::new();
        if self.start > 0 {
            out.push('…');
        }
        let mut last = self.start;
        for &(s, e) in &self.matches {
            out.push_str(&run[last..s].replace("**", ""));
            out.push_str("**");
            out.push_str(&run[s..e]);
            out.push_str("**");
            last = e;
        }
        out.push_str(&run[last..self.end].replace("**", ""));
        if self.end < run.trim_end().len() {
            out.push('…');
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// The runs of prose in a section's text: the text between code blocks (fence lines
/// and the code itself left out).
fn prose_runs(text: &str) -> impl Iterator<Item = &str> {
    let mut runs = Vec::new();
    let mut fence: Option<&str> = None;
    let mut start = Some(0);
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
                start = Some(offset + line.len());
            }
        } else if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            if let Some(s) = start.take() {
                runs.push(&text[s..offset]);
            }
        }
        offset += line.len();
    }
    if let (Some(s), None) = (start, fence) {
        runs.push(&text[s..]);
    }
    runs.into_iter().filter(|r| !r.trim().is_empty())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_typo_is_a_letter_changed_added_dropped_or_two_swapped() {
        for (a, b) in [
            ("fixture", "fixure"),
            ("fixture", "fixturre"),
            ("detector", "detecter"),
            ("shaking", "shakign"),
            ("é", "e"),
            ("same", "same"),
        ] {
            assert!(within_one_typo(a, b) && within_one_typo(b, a), "{a} ~ {b}");
        }
        for (a, b) in [("fixture", "fxiure"), ("cat", "dog"), ("abc", "abcde"), ("ab", "ba c"), ("née", "neé e")] {
            assert!(!within_one_typo(a, b) && !within_one_typo(b, a), "{a} !~ {b}");
        }
    }

    #[test]
    fn words_are_runs_of_letters_and_digits_stemmed_and_function_words_known() {
        let text = "Use `context.Context`, N+1 queries — and naïve caches!";
        let found: Vec<&str> = words(text).map(|(s, e)| &text[s..e]).collect();
        assert_eq!(found, ["Use", "context", "Context", "N", "1", "queries", "and", "naïve", "caches"]);
        let stemmer = Stemmer::new(Algorithm::English);
        assert_eq!(term(stemmer, "Queries").as_deref(), Some("queri"));
        assert_eq!(term(stemmer, "testing"), term(stemmer, "tests"));
        assert_eq!(term(stemmer, &"x".repeat(MAX_WORD_BYTES)), None, "too long to index");
        assert!(is_function_word("how") && is_function_word("the") && !is_function_word("never"));
    }

    #[test]
    fn a_snippet_bolds_only_matches_and_skips_code() {
        let text = "**SQL**: always use placeholders for queries.\n\n```go\ndb.Query(\"SELECT \" + id) // placeholders\n```\n\nNever concatenate.\n";
        let got = snippet(text, |word| word.starts_with("placeholder"));
        assert_eq!(got, "SQL: always use **placeholders** for queries.");
        assert_eq!(
            snippet(text, |word| word == "zebra"),
            "SQL: always use placeholders for queries.",
            "the opening, its own bold markers dropped"
        );
        let runs: Vec<&str> = prose_runs(text).collect();
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert!(runs.iter().all(|r| !r.contains("db.Query")), "{runs:?}");
    }

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
