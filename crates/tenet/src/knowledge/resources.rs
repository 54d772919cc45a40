//! Resources: one per document, and the `stdlib://{language}/{domain}` template.

use std::sync::Arc;
use std::time::Duration;

use tenet_kb::{Document, KnowledgeBase, normalize};
use tenet_protocol::{Annotations, Resource, ResourceContents, ResourceTemplate, Role, TextResourceContents};
use tenet_server::{CompletionRequest, ReadRequest, ResourceDef, TemplateDef};

use super::Knowledge;

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

/// Values of `language` or `domain` that start with what was typed.
pub fn complete(base: &KnowledgeBase, req: &CompletionRequest) -> Vec<String> {
    let typed = normalize(&req.value);
    let candidates = match req.argument.as_str() {
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
    let template = ResourceTemplate {
        uri_template: "stdlib://{language}/{domain}".into(),
        name: "standard".into(),
        title: Some("Engineering standard".into()),
        description: Some(
            "The standard documents for a language and domain; language-neutral ones are under the language `all`."
                .into(),
        ),
        mime_type: Some(MARKDOWN.into()),
        annotations: None,
        icons: None,
        meta: None,
    };
    let k = knowledge.clone();
    let complete_k = knowledge.clone();
    let def = TemplateDef::new(template, move |req: ReadRequest| {
        let base = k.base();
        let language = normalize(req.vars.get("language").map_or("", String::as_str));
        let domain = normalize(req.vars.get("domain").map_or("", String::as_str));
        let docs = base.key(&language, &domain);
        let text = docs.iter().map(|d| d.body.as_str()).collect::<Vec<_>>().join("\n\n");
        let found = !docs.is_empty();
        async move { Ok(found.then(|| contents(req.uri, text))) }
    })
    .complete("language", {
        let k = complete_k.clone();
        move |req: CompletionRequest| {
            let values = complete(&k.base(), &req);
            async move { values }
        }
    })
    .complete("domain", move |req: CompletionRequest| {
        let values = complete(&complete_k.base(), &req);
        async move { values }
    })
    .scope(super::READ_SCOPE);
    match knowledge.limits.cache_ttl {
        Some(ttl) => def.cacheable(ttl),
        None => def,
    }
}
