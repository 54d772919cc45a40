//! `get_stdlib`, `search_stdlib`, `list_stdlib`.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tenet_kb::budget::{self, paginate};
use tenet_kb::{Document, KnowledgeBase, Query, normalize};
use tenet_protocol::{CallToolResult, ContentBlock};
use tenet_server::{Args, ToolDef, ToolError, schema_of};

use super::{Knowledge, text};

/// Where an MCP client finds section ids (the end of an unknown-section error).
pub(crate) use super::text::SECTION_IDS_HINT;

/// `get_stdlib` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetArgs {
    /// Programming language, e.g. `rust`, or `all` for language-neutral standards.
    pub language: String,
    /// Domain, e.g. `testing`.
    pub domain: String,
    /// `markdown` (the default) for the text, `outline` for headings and section ids only.
    #[serde(default)]
    pub format: Option<Format>,
    /// Most tokens to return (estimated); the rest comes with `cursor`. Above the
    /// server's cap, the cap.
    #[serde(default)]
    #[schemars(range(min = 100, max = u64::MAX))]
    pub max_tokens: Option<u64>,
    /// `next_cursor` from an earlier call, to continue where it stopped.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Only this section, with its subsections: an id from `format: "outline"` (the part
    /// in brackets), or a search hit's `section` or URI fragment (the whole URI works
    /// too). Paged by `max_tokens` like the rest.
    #[serde(default)]
    pub section: Option<String>,
}

/// How `get_stdlib` returns a standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The Markdown text.
    Markdown,
    /// Headings and section ids only.
    Outline,
}

/// One document of a standard, with its provenance.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DocumentInfo {
    /// Its title.
    pub title: String,
    /// Its resource URI.
    pub uri: String,
    /// The root it came from (`builtin` or a directory).
    pub root: String,
    /// Its path inside that root.
    pub path: String,
    /// When it last changed.
    #[serde(rename = "updatedAt")]
    pub updated_at: Option<String>,
    /// A hash of its contents.
    pub hash: String,
}

/// `get_stdlib` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GetResult {
    /// Whether a standard exists for this language and domain.
    pub found: bool,
    /// The language asked for.
    pub language: String,
    /// The domain asked for.
    pub domain: String,
    /// The standard's title (the language's own document, else the base).
    pub title: Option<String>,
    /// The text of this page (Markdown, or the outline).
    pub content: String,
    /// Tags of every document in the standard.
    pub tags: Vec<String>,
    /// The newest `updatedAt` among the documents.
    pub last_updated: Option<String>,
    /// The path of the language's own document (else the base's).
    pub path: Option<String>,
    /// The same as `last_updated` (for clients that read camelCase).
    #[serde(rename = "updatedAt")]
    pub updated_at: Option<String>,
    /// When the knowledge base was indexed.
    pub indexed_at: String,
    /// The documents, base first, with provenance.
    pub documents: Vec<DocumentInfo>,
    /// Estimated tokens in `content`.
    pub tokens: usize,
    /// Estimated tokens still to come.
    pub remaining_tokens: usize,
    /// Pass back as `cursor` to continue; absent when nothing is left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Why nothing was found, and what exists instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The section returned, as a URI `resources/read` accepts; only when `section` was
    /// asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section_uri: Option<String>,
}

fn info(doc: &Document) -> DocumentInfo {
    DocumentInfo {
        title: doc.title.clone(),
        uri: doc.uri(),
        root: doc.source.root.clone(),
        path: doc.source.path.clone(),
        updated_at: doc.updated_at.clone(),
        hash: doc.hash.clone(),
    }
}

fn what_exists(base: &KnowledgeBase, language: &str) -> String {
    let languages = base.languages().join(", ");
    let domains = base.domains_of(language);
    if domains.is_empty() {
        format!("There is no standard for {language:?}. Languages with standards: {languages}.")
    } else {
        format!("Domains for {language}: {}. Languages with standards: {languages}.", domains.join(", "))
    }
}

pub(crate) fn get(knowledge: &Knowledge, args: GetArgs) -> Result<GetResult, ToolError> {
    let base = knowledge.base();
    let (language, domain) = (normalize(&args.language), normalize(&args.domain));
    let docs = base.standard(&language, &domain);
    let own = docs.iter().rev().find(|d| d.language == language).or(docs.first()).copied();
    let found = docs.iter().any(|d| d.language == language) || (language == "all" && !docs.is_empty());
    if !found {
        let message = format!("No {language}/{domain} standard. {}", what_exists(&base, &language));
        return Ok(GetResult {
            found: false,
            language,
            domain,
            title: None,
            content: String::new(),
            tags: Vec::new(),
            last_updated: None,
            path: None,
            updated_at: None,
            indexed_at: base.indexed_at(),
            documents: Vec::new(),
            tokens: 0,
            remaining_tokens: 0,
            next_cursor: None,
            message: Some(message),
            section_uri: None,
        });
    }
    // The section asked for: its document's position in `docs`, its own position and
    // its URI.
    let chosen = match args.section.as_deref() {
        None => None,
        Some(wanted) => {
            let (doc, index) =
                tenet_kb::find_section(&docs, wanted).map_err(|e| ToolError::msg(text::section_error_message(&e)))?;
            let d = docs.iter().position(|other| Arc::ptr_eq(other, doc)).unwrap_or_default();
            Some((d, index, doc.section_uri(&doc.sections[index].id)))
        }
    };
    let outlined: String;
    let blocks: Vec<&str> = match (args.format.unwrap_or(Format::Markdown), &chosen) {
        (Format::Markdown, Some((d, index, _))) => {
            let doc = docs[*d];
            doc.subtree(*index).map(|s| doc.section_text(&doc.sections[s])).collect()
        }
        (Format::Markdown, None) => text::blocks(&docs),
        (Format::Outline, chosen) => {
            // The (document, section) positions to outline: the section's subtree, else
            // every section.
            let sections: Vec<(usize, usize)> = match chosen {
                Some((d, index, _)) => docs[*d].subtree(*index).map(|s| (*d, s)).collect(),
                None => {
                    docs.iter().enumerate().flat_map(|(d, doc)| (0..doc.sections.len()).map(move |s| (d, s))).collect()
                }
            };
            outlined = text::outline(&docs, &sections);
            vec![outlined.as_str()]
        }
    };
    let page = paginate(&blocks, knowledge.budget(args.max_tokens), args.cursor.as_deref())
        .map_err(|e| ToolError::msg(e.to_string()))?;
    // Provenance, tags and dates: of the section's document, else of the standard.
    let (docs, own, section_uri) = match chosen {
        Some((d, _, uri)) => (vec![docs[d]], Some(docs[d]), Some(uri)),
        None => (docs, own, None),
    };
    let mut tags: Vec<String> = docs.iter().flat_map(|d| d.tags.iter().cloned()).collect();
    tags.sort();
    tags.dedup();
    let last_updated = docs.iter().filter_map(|d| d.updated_at.clone()).max();
    Ok(GetResult {
        found: true,
        title: own.map(|d| d.title.clone()),
        path: own.map(|d| d.source.path.clone()),
        language,
        domain,
        content: page.text,
        tags,
        updated_at: last_updated.clone(),
        last_updated,
        indexed_at: base.indexed_at(),
        documents: docs.iter().map(|d| info(d)).collect(),
        tokens: page.tokens,
        remaining_tokens: page.remaining_tokens,
        next_cursor: page.next_cursor,
        message: None,
        section_uri,
    })
}

/// `search_stdlib` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// What to look for, in words (at most 1 000 characters).
    pub query: String,
    /// Only this language (language-neutral standards are included).
    #[serde(default)]
    pub language: Option<String>,
    /// Only this domain.
    #[serde(default)]
    pub domain: Option<String>,
    /// Only documents with all of these tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Most hits to return (default 5).
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
    /// Most tokens of snippets to return. Above the server's cap, the cap.
    #[serde(default)]
    #[schemars(range(min = 100, max = u64::MAX))]
    pub max_tokens: Option<u64>,
}

/// One search hit.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchHit {
    /// The document's language.
    pub language: String,
    /// The document's domain.
    pub domain: String,
    /// The document's title.
    pub title: String,
    /// The document's resource URI.
    pub uri: String,
    /// The id of the matching section.
    pub section: String,
    /// The section's heading.
    pub heading: String,
    /// An excerpt with the matching words in `**bold**`.
    pub snippet: String,
    /// Relevance (BM25); higher is better.
    pub score: f32,
    /// When the document last changed.
    #[serde(rename = "updatedAt")]
    pub updated_at: Option<String>,
}

/// `search_stdlib` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchResult {
    /// The hits, best first.
    pub results: Vec<SearchHit>,
    /// Hits left out to stay within `max_tokens`.
    pub truncated: usize,
    /// When the knowledge base was indexed.
    pub indexed_at: String,
}

pub(crate) fn search(knowledge: &Knowledge, args: SearchArgs) -> Result<SearchResult, ToolError> {
    let query = Query::new(
        &args.query,
        args.language.as_deref(),
        args.domain.as_deref(),
        &args.tags.unwrap_or_default(),
        args.limit.map_or(5, |l| (l as usize).min(50)),
    )
    .map_err(|e| ToolError::msg(e.to_string()))?;
    let base = knowledge.base();
    let hits = base.search(&query).map_err(ToolError::msg)?;
    if !query.text.is_empty() {
        knowledge.searches.record(&query, &hits);
    }
    let budget = knowledge.budget(args.max_tokens);
    let mut used = 0;
    let mut results = Vec::new();
    let total = hits.len();
    for hit in hits {
        let section = &hit.document.sections[hit.section];
        let cost = budget::estimate_tokens(&hit.snippet) + 40;
        if used + cost > budget && !results.is_empty() {
            break;
        }
        used += cost;
        results.push(SearchHit {
            language: hit.document.language.clone(),
            domain: hit.document.domain.clone(),
            title: hit.document.title.clone(),
            uri: hit.document.uri(),
            section: section.id.clone(),
            heading: section.heading.clone(),
            snippet: hit.snippet,
            score: hit.score,
            updated_at: hit.document.updated_at.clone(),
        });
    }
    Ok(SearchResult { truncated: total - results.len(), results, indexed_at: base.indexed_at() })
}

/// `list_stdlib` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Only this language.
    #[serde(default)]
    pub language: Option<String>,
    /// Only this domain.
    #[serde(default)]
    pub domain: Option<String>,
}

/// One (language, domain) entry of the taxonomy.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListEntry {
    /// The language.
    pub language: String,
    /// The domain.
    pub domain: String,
    /// How many documents.
    pub documents: usize,
    /// Their titles.
    pub titles: Vec<String>,
    /// The newest `updatedAt`.
    #[serde(rename = "updatedAt")]
    pub updated_at: Option<String>,
    /// The resource URI template instance for it.
    pub uri: String,
}

/// `list_stdlib` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListResult {
    /// Every language with standards.
    pub languages: Vec<String>,
    /// Every domain.
    pub domains: Vec<String>,
    /// The (language, domain) entries that match the filters.
    pub entries: Vec<ListEntry>,
    /// When the knowledge base was indexed.
    pub indexed_at: String,
}

fn list(knowledge: &Knowledge, args: ListArgs) -> ListResult {
    let base = knowledge.base();
    let language = args.language.as_deref().map(normalize);
    let domain = args.domain.as_deref().map(normalize);
    let entries = base
        .taxonomy(language.as_deref(), domain.as_deref())
        .into_iter()
        .map(|k| ListEntry {
            uri: format!("stdlib://{}/{}", k.language, k.domain),
            language: k.language,
            domain: k.domain,
            documents: k.documents,
            titles: k.titles,
            updated_at: k.updated_at,
        })
        .collect();
    ListResult { languages: base.languages(), domains: base.domains(), entries, indexed_at: base.indexed_at() }
}

/// A result with structured content and a readable text block.
fn result<T: Serialize>(value: &T, text: String) -> Result<CallToolResult, ToolError> {
    let structured = serde_json::to_value(value).map_err(ToolError::from)?;
    Ok(CallToolResult {
        content: vec![ContentBlock::text(text)],
        structured_content: Some(structured),
        ..Default::default()
    })
}

pub(crate) fn get_text(r: &GetResult) -> String {
    if !r.found {
        return r.message.clone().unwrap_or_default();
    }
    let mut text = r.content.clone();
    if let Some(cursor) = &r.next_cursor {
        text.push_str(&format!(
            "\n\n[{} more tokens: call get_stdlib again with cursor \"{cursor}\"]",
            r.remaining_tokens
        ));
    }
    text
}

pub(crate) fn search_text(r: &SearchResult) -> String {
    if r.results.is_empty() {
        return "No matches. Try other words, or list_stdlib to see what exists.".into();
    }
    let mut text = String::new();
    for (i, hit) in r.results.iter().enumerate() {
        text.push_str(&format!(
            "{}. {} — {} ({}#{})\n   {}\n",
            i + 1,
            hit.title,
            hit.heading,
            hit.uri,
            hit.section,
            hit.snippet
        ));
    }
    text
}

/// When a key's documents last changed, as listings say it: `updated <date>`, or `no
/// updatedAt`.
pub(crate) fn updated(updated_at: Option<&str>) -> String {
    updated_at.map_or_else(|| "no updatedAt".to_owned(), |u| format!("updated {u}"))
}

fn list_text(r: &ListResult) -> String {
    let mut text = String::new();
    for e in &r.entries {
        let updated = updated(e.updated_at.as_deref());
        text.push_str(&format!("{}/{}: {} ({updated})\n", e.language, e.domain, e.titles.join("; ")));
    }
    if text.is_empty() {
        text = format!("Nothing matches. Languages: {}. Domains: {}.", r.languages.join(", "), r.domains.join(", "));
    }
    text
}

/// An input schema whose `language` / `domain` descriptions name the values that
/// exist (no `enum`: an unknown value gets `found: false` and a list, not an error).
fn with_values(mut schema: Value, base: &KnowledgeBase) -> Value {
    let languages = base.languages().join(", ");
    let domains = base.domains().join(", ");
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, values) in [("language", &languages), ("domain", &domains)] {
            if let Some(p) = props.get_mut(name) {
                let described = p.get("description").and_then(Value::as_str).unwrap_or_default().to_owned();
                p["description"] = json!(format!("{described} Known: {values}."));
            }
        }
    }
    schema
}

/// A read-only knowledge tool: `answer` computes the structured result from the
/// arguments, `text` renders it for people; schemas come from the types. It is
/// cacheable for the operator's `cache_ttl`.
fn tool<A, R>(
    knowledge: &Arc<Knowledge>,
    base: &KnowledgeBase,
    name: &str,
    answer: fn(&Knowledge, A) -> Result<R, ToolError>,
    text: fn(&R) -> String,
) -> ToolDef
where
    A: serde::de::DeserializeOwned + JsonSchema + Send + 'static,
    R: Serialize + JsonSchema + 'static,
{
    let k = knowledge.clone();
    let def = ToolDef::new(name, move |Args(args): Args<A>| {
        let k = k.clone();
        async move { answer(&k, args).and_then(|r| result(&r, text(&r))) }
    })
    .input_schema(with_values(schema_of::<A>(), base))
    .output_schema(schema_of::<R>())
    .read_only()
    .open_world(false)
    .scope(super::READ_SCOPE);
    // Answers depend only on the arguments and the documents, whose changes a reload
    // announces (dropping cached answers).
    match knowledge.limits.cache_ttl {
        Some(ttl) => def.cacheable(ttl),
        None => def,
    }
}

/// The three tools.
pub fn all(knowledge: &Arc<Knowledge>, base: &KnowledgeBase) -> Vec<ToolDef> {
    vec![
        tool(knowledge, base, "get_stdlib", get, get_text).title("Get a standard").description(
            "Get the team's engineering standard for a language and domain (e.g. rust + testing): the language-neutral base followed by the language's own rules, as Markdown. Long standards come in pages: pass next_cursor back as cursor. format=outline lists the sections with their ids; section=<id> returns just that section (ids also come from search_stdlib hits).",
        ),
        tool(knowledge, base, "search_stdlib", search, search_text).title("Search the standards").description(
            "Full-text search across all engineering standards; returns the best-matching sections with snippets and URIs. Filter by language, domain or tags. Read a hit's section as the resource uri#section, or with get_stdlib(language, domain, section); get_stdlib alone reads the whole standard.",
        ),
        tool(knowledge, base, "list_stdlib", |k, args| Ok(list(k, args)), list_text)
            .title("List the standards")
            .description("List which languages and domains have standards, with document counts and last-updated dates."),
    ]
}
