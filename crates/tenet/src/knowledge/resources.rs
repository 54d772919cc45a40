//! Resources: one per document, and the `stdlib://{language}/{domain}` template.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tenet_kb::{Document, KnowledgeBase, SectionError, normalize};
use tenet_protocol::{Annotations, Resource, ResourceContents, ResourceTemplate, Role, TextResourceContents};
use tenet_server::jsonrpc::{ErrorCode, ErrorObject};
use tenet_server::{CompletionRequest, ReadOutput, ReadRequest, ResourceDef, TemplateDef, ToolError};

use super::{Knowledge, text};

const MARKDOWN: &str = "text/markdown";

fn contents(uri: String, text: String) -> Vec<ResourceContents> {
    vec![ResourceContents::Text(TextResourceContents { uri, mime_type: Some(MARKDOWN.into()), text, meta: None })]
}

/// The listing of one document.
fn listing(doc: &Document) -> Resource {
    Resource {
        uri: doc.uri(),
        name: format!(
            "{}/{}{}",
            doc.language,
            doc.domain,
            doc.topic.as_ref().map(|t| format!("/{t}")).unwrap_or_default()
        ),
        title: Some(doc.title.clone()),
        description: doc.description.clone(),
        mime_type: Some(MARKDOWN.into()),
        size: Some(doc.body.len() as u64),
        annotations: Some(Annotations {
            audience: Some(vec![Role::Assistant, Role::User]),
            priority: Some(if doc.language == "all" { 0.6 } else { 0.8 }),
            last_modified: doc.updated_at.clone(),
        }),
        icons: None,
        meta: None,
    }
}

/// One concrete resource per document, cacheable for `ttl`.
pub fn documents(base: &KnowledgeBase, ttl: Option<Duration>) -> Vec<ResourceDef> {
    base.documents().iter().map(|doc| document(doc.clone(), ttl)).collect()
}

/// The resource of one document; reading it returns the document's Markdown. It is
/// cacheable for `ttl`: a reload that changes the document announces it, which
/// drops what was cached.
pub fn document(doc: Arc<Document>, ttl: Option<Duration>) -> ResourceDef {
    let def = ResourceDef::new(listing(&doc), move |req: ReadRequest| {
        let text = doc.body.clone();
        async move { Ok(Some(contents(req.uri, text))) }
    })
    .scope(super::READ_SCOPE);
    match ttl {
        Some(ttl) => def.cacheable(ttl),
        None => def,
    }
}

/// Values of `language`, `domain`, `topic` or `section` that start with what was
/// typed (topics and sections of the language and domain already chosen).
pub fn complete(base: &KnowledgeBase, req: &CompletionRequest) -> Vec<String> {
    let typed = normalize(&req.value);
    let chosen = |name: &str| req.context.get(name).map(|v| normalize(v)).unwrap_or_default();
    let candidates = match req.argument.as_str() {
        "topic" => base.key(&chosen("language"), &chosen("domain")).iter().filter_map(|d| d.topic.clone()).collect(),
        "section" => {
            let uri = match req.context.get("topic").map(|t| normalize(t)).filter(|t| !t.is_empty()) {
                Some(topic) => format!("stdlib://{}/{}/{topic}", chosen("language"), chosen("domain")),
                None => format!("stdlib://{}/{}", chosen("language"), chosen("domain")),
            };
            let docs = match base.by_uri(&uri) {
                Some(doc) => vec![doc],
                None => base.key(&chosen("language"), &chosen("domain")),
            };
            return text::section_ids(&docs, &req.value);
        }
        "language" => base.languages(),
        "domain" => match req.context.get("language").map(|l| normalize(l)) {
            Some(language) if !base.domains_of(&language).is_empty() => {
                let mut d = base.domains_of(&language);
                d.extend(base.domains_of("all"));
                d.sort();
                d.dedup();
                d
            }
            _ => base.domains(),
        },
        _ => Vec::new(),
    };
    candidates.into_iter().filter(|c| c.starts_with(&typed)).collect()
}

/// `stdlib://{language}/{domain}`: the documents of one (language, domain) key, the same
/// Markdown as the concrete resources (the base standards are at `stdlib://all/{domain}`).
pub fn template(knowledge: &Arc<Knowledge>) -> TemplateDef {
    let template = markdown_template(
        "stdlib://{language}/{domain}",
        "standard",
        "Engineering standard",
        "The standard documents for a language and domain; language-neutral ones are under the language `all`.",
    );
    let k = knowledge.clone();
    let def = TemplateDef::new(template, move |req: ReadRequest| {
        let base = k.base();
        let language = normalize(req.vars.get("language").map_or("", String::as_str));
        let domain = normalize(req.vars.get("domain").map_or("", String::as_str));
        let docs = base.key(&language, &domain);
        let text = text::joined(&docs);
        let found = !docs.is_empty();
        async move { Ok(found.then(|| contents(req.uri, text))) }
    });
    cached(completed(def, knowledge, &["language", "domain"]), knowledge)
}

/// A resource template of Markdown documents.
fn markdown_template(uri_template: &str, name: &str, title: &str, description: &str) -> ResourceTemplate {
    ResourceTemplate {
        uri_template: uri_template.into(),
        name: name.into(),
        title: Some(title.into()),
        description: Some(description.into()),
        mime_type: Some(MARKDOWN.into()),
        annotations: None,
        icons: None,
        meta: None,
    }
}

/// `def`, completing each of `variables` from the live knowledge base.
fn completed(mut def: TemplateDef, knowledge: &Arc<Knowledge>, variables: &[&str]) -> TemplateDef {
    for &variable in variables {
        let k = knowledge.clone();
        def = def.complete(variable, move |req: CompletionRequest| {
            let values = complete(&k.base(), &req);
            async move { values }
        });
    }
    def
}

/// `stdlib://{language}/{domain}{/topic}{#section}`: one section of a document, with its
/// subsections — the URIs search hits and outlines point at. Without a fragment it
/// reads the whole document (or key). A section id no document has is an invalid
/// parameter (-32602) that names the document and lists ids it does have.
pub fn section_template(knowledge: &Arc<Knowledge>) -> TemplateDef {
    let template = markdown_template(
        "stdlib://{language}/{domain}{/topic}{#section}",
        "standard-section",
        "A section of a standard",
        "One section of a standard document, with its subsections: the document's URI with a section id as fragment, e.g. stdlib://go/security#set-server-and-client-timeouts. Section ids come from get_stdlib's outline and search_stdlib's hits.",
    );
    let k = knowledge.clone();
    let def = TemplateDef::new(template, move |req: ReadRequest| {
        let output = read_section(&k.base(), &req);
        async move { output }
    });
    cached(completed(def, knowledge, &["language", "domain", "topic", "section"]), knowledge)
}

/// `def` for readers with the read scope, cacheable for the configured TTL.
fn cached(def: TemplateDef, knowledge: &Knowledge) -> TemplateDef {
    let def = def.scope(super::READ_SCOPE);
    match knowledge.limits.cache_ttl {
        Some(ttl) => def.cacheable(ttl),
        None => def,
    }
}

/// Reads `stdlib://language/domain[/topic][#section]` (see [`section_template`]).
fn read_section(base: &KnowledgeBase, req: &ReadRequest) -> ReadOutput {
    let var = |name: &str| req.vars.get(name).map(|v| normalize(v)).filter(|v| !v.is_empty());
    let (Some(language), Some(domain)) = (var("language"), var("domain")) else { return Ok(None) };
    let topic = var("topic");
    let document = match &topic {
        Some(topic) => format!("stdlib://{language}/{domain}/{topic}"),
        None => format!("stdlib://{language}/{domain}"),
    };
    // The document at that URI; else, for a key with only topic documents, the key.
    let docs = match base.by_uri(&document) {
        Some(doc) => vec![doc],
        None if topic.is_none() => base.key(&language, &domain),
        None => Vec::new(),
    };
    if docs.is_empty() {
        return Ok(None);
    }
    let Some(wanted) = req.vars.get("section").map(|s| s.trim()).filter(|s| !s.is_empty()) else {
        return Ok(Some(contents(req.uri.clone(), text::joined(&docs))));
    };
    match tenet_kb::find_section(&docs, wanted) {
        Ok((doc, index)) => Ok(Some(contents(req.uri.clone(), text::subtree_text(doc, index).to_owned()))),
        Err(error) => Err(unknown_section(&req.uri, &error)),
    }
}

/// The -32602 error for a section URI that leads nowhere, with the document(s) and the
/// ids they have (or the URIs an ambiguous id could mean) as data.
fn unknown_section(uri: &str, error: &SectionError) -> ToolError {
    let data = match error {
        SectionError::Unknown { documents, known, .. } => {
            json!({"uri": uri, "documents": documents, "sections": known})
        }
        SectionError::Ambiguous { candidates, .. } => json!({"uri": uri, "candidates": candidates}),
        SectionError::OtherDocument { documents, .. } => json!({"uri": uri, "documents": documents}),
    };
    let message = format!("Unknown section in {uri}: {}", text::section_error_message(error));
    ToolError::Protocol(ErrorObject::new(ErrorCode::INVALID_PARAMS, message).with_data(data))
}
