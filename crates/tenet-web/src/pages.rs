//! The pages, as HTML strings: every value from a document or a request is escaped.

use std::fmt::Write as _;
use std::sync::Arc;

use tenet_kb::{Document, Hit, KnowledgeBase, Query};

use crate::render::{escape, markdown, snippet};

/// A whole page: `title`, the current `key` (`language/domain`, for live updates), and `main`.
fn layout(title: &str, key: Option<&str>, query: &str, main: &str) -> String {
    let key = key.map(|k| format!(r#" data-key="{}""#, escape(k))).unwrap_or_default();
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Tenet</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/tenet.css">
<script src="/assets/tenet.js" defer></script>
</head>
<body{key}>
<a class="skip" href="#main">Skip to content</a>
<header>
<a class="brand" href="/">Tenet</a>
<form class="search" action="/search" method="get" role="search">
<label for="q" class="visually-hidden">Search the standards</label>
<input id="q" name="q" type="search" value="{query}" placeholder="Search the standards" autocomplete="off" maxlength="{max}" aria-controls="hits">
<button type="submit">Search</button>
<div id="hits" class="hits" role="region" aria-live="polite" hidden></div>
</form>
</header>
<p id="notice" class="notice" role="status" hidden></p>
<main id="main">
{main}
</main>
</body>
</html>
"##,
        title = escape(title),
        query = escape(query),
        max = tenet_kb::MAX_QUERY_CHARS,
    )
}

/// The anchor of a document's section on a page: unique even where the `all` base and
/// the language's document (or two topics) have sections of the same name.
pub fn anchor(doc: &Document, section: &str) -> String {
    match &doc.topic {
        Some(topic) => format!("{}.{topic}.{section}", doc.language),
        None => format!("{}.{section}", doc.language),
    }
}

/// Where a document's section is read: its language's page (the `all` base on the
/// `all` page), at the section.
pub fn section_href(doc: &Document, section: Option<&str>) -> String {
    let page = format!("/standards/{}/{}", encode(&doc.language), encode(&doc.domain));
    match section {
        Some(id) => format!("{page}#{}", encode(&anchor(doc, id))),
        None => page,
    }
}

/// Percent-encodes a path segment or fragment beyond the unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `/`: the matrix and the settings to connect an assistant.
pub fn home(base: &KnowledgeBase, url: &str) -> String {
    let languages = base.languages();
    let domains = base.domains();
    let cells = base.taxonomy(None, None);
    let mut main = String::with_capacity(8 * 1024);
    let _ = write!(
        main,
        r#"<h1>Engineering standards</h1>
<p class="lead">{} documents in {} languages and {} domains. Each cell opens the standard as assistants get it.</p>
<div class="matrix-wrap"><table class="matrix">
<caption class="visually-hidden">Standards by language and domain</caption>
<thead><tr><th scope="col">Language</th>"#,
        base.documents().len(),
        languages.len(),
        domains.len()
    );
    for domain in &domains {
        let _ = write!(main, r#"<th scope="col">{}</th>"#, escape(domain));
    }
    main.push_str("</tr></thead>\n<tbody>\n");
    for language in &languages {
        let _ = write!(main, r#"<tr><th scope="row">{}</th>"#, escape(language));
        for domain in &domains {
            match cells.iter().find(|c| &c.language == language && &c.domain == domain) {
                Some(cell) => {
                    let updated = cell.updated_at.as_deref().map(|u| u.get(..10).unwrap_or(u)).unwrap_or("");
                    let noun = if cell.documents == 1 { "document" } else { "documents" };
                    let _ = write!(
                        main,
                        r#"<td><a href="/standards/{}/{}">{} {noun}</a><span class="date">{}</span></td>"#,
                        encode(language),
                        encode(domain),
                        cell.documents,
                        escape(updated)
                    );
                }
                None => main.push_str(r#"<td class="empty">—</td>"#),
            }
        }
        main.push_str("</tr>\n");
    }
    main.push_str("</tbody></table></div>\n");
    main.push_str(&skills(base));
    main.push_str(&connect(url));
    layout("Engineering standards", None, "", &main)
}

/// The skills section: every standard is a skill too, and the roots' skill folders are
/// listed with their descriptions.
fn skills(base: &KnowledgeBase) -> String {
    let mut out = String::from(
        r#"<h2 id="skills">Skills</h2>
<p>Assistants that load skills (the MCP Skills extension) get every standard as one: <code>rust-testing</code> for Rust's testing standard, <code>security</code> for the language-neutral one. Besides those:</p>
"#,
    );
    if base.skills().is_empty() {
        out.push_str(
            "<p class=\"empty\">No skill folders (<code>skills/&lt;name&gt;/SKILL.md</code> in a root).</p>\n",
        );
        return out;
    }
    out.push_str("<ul class=\"skills\">\n");
    for skill in base.skills() {
        let text = std::str::from_utf8(skill.files.get("SKILL.md").map_or(&[][..], |b| &b[..])).unwrap_or_default();
        let front = tenet_protocol::skill_front_matter(text).unwrap_or_default();
        let description = front.get("description").and_then(serde_json::Value::as_str).unwrap_or("");
        let files = skill.files.len();
        let noun = if files == 1 { "file" } else { "files" };
        let _ = writeln!(
            out,
            r#"<li><code>{}</code> — {} <span class="date">{files} {noun}</span></li>"#,
            escape(&skill.path),
            escape(description)
        );
    }
    out.push_str("</ul>\n");
    out
}

/// The settings to connect each major assistant to `url`: its name, where they go, and
/// the command or JSON (the README's client table gives the same; a test holds them).
pub(crate) fn clients(url: &str) -> [(&'static str, &'static str, String); 4] {
    let json = |value: serde_json::Value| serde_json::to_string_pretty(&value).unwrap_or_default();
    [
        ("Claude Code", "Run in your project:", format!("claude mcp add --transport http tenet {url}")),
        (
            "Cursor",
            "In ~/.cursor/mcp.json (or .cursor/mcp.json in a project):",
            json(serde_json::json!({ "mcpServers": { "tenet": { "url": url } } })),
        ),
        (
            "VS Code",
            "In .vscode/mcp.json:",
            json(serde_json::json!({ "servers": { "tenet": { "type": "http", "url": url } } })),
        ),
        (
            "Claude Desktop",
            "In claude_desktop_config.json (through the mcp-remote bridge, from npm):",
            json(
                serde_json::json!({ "mcpServers": { "tenet": { "command": "npx", "args": ["-y", "mcp-remote", url] } } }),
            ),
        ),
    ]
}

/// The panel of settings to connect each major assistant to `url`.
fn connect(url: &str) -> String {
    let clients = clients(url);
    let mut out = String::from(
        r#"<section class="connect" aria-labelledby="connect"><h2 id="connect">Connect your assistant</h2>
<p>This server speaks MCP at <code>"#,
    );
    out.push_str(&escape(url));
    out.push_str("</code>.</p>\n");
    for (n, (name, where_, config)) in clients.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<div class="client"><h3>{}</h3><p>{}</p><pre id="config-{n}"><code>{}</code></pre><button type="button" class="copy" data-copy="config-{n}">Copy</button></div>"#,
            escape(name),
            escape(where_),
            escape(config)
        );
    }
    out.push_str("</section>\n");
    out
}

/// `/standards/{language}/{domain}`: `None` when there is no such standard.
pub fn standard(base: &KnowledgeBase, language: &str, domain: &str) -> Option<String> {
    let docs = base.standard(language, domain);
    if docs.is_empty() || (language != "all" && base.key(language, domain).is_empty()) {
        return None;
    }
    let mut main = String::with_capacity(docs.iter().map(|d| d.body.len() * 3 / 2).sum::<usize>() + 4096);
    let _ = write!(
        main,
        r#"<nav class="crumbs" aria-label="Breadcrumb"><a href="/">Standards</a> › {} › {}</nav>
<h1>{} · {}</h1>
<p class="lead">In the order assistants get it from <code>get_stdlib</code>: {}. As a skill: <code>{}</code>.</p>
"#,
        escape(language),
        escape(domain),
        escape(language),
        escape(domain),
        if language == "all" {
            "the language-neutral base"
        } else {
            "the language-neutral base first, then this language's documents"
        },
        escape(&tenet_kb::skills::standard_skill_name(language, domain))
    );
    for doc in &docs {
        main.push_str(&document(doc));
    }
    Some(layout(&format!("{language} · {domain}"), Some(&format!("{language}/{domain}")), "", &main))
}

/// One document: its facts, outline and body.
fn document(doc: &Arc<Document>) -> String {
    let anchors: Vec<String> = doc.sections.iter().filter(|s| s.level > 0).map(|s| anchor(doc, &s.id)).collect();
    let body = markdown(&doc.body, &anchors);
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        r#"<article class="doc" data-uri="{uri}">
<header class="doc-head"><p class="doc-title">{title}</p>
<dl class="facts">
<dt>Resource</dt><dd><code>{uri}</code></dd>
<dt>Updated</dt><dd>{updated}</dd>
<dt>Source</dt><dd><code>{root}</code> · <code>{path}</code></dd>
<dt>Content hash</dt><dd><code>{hash}</code></dd>
"#,
        uri = escape(&doc.uri()),
        title = escape(&doc.title),
        updated = escape(doc.updated_at.as_deref().unwrap_or("unknown")),
        root = escape(&doc.source.root),
        path = escape(&doc.source.path),
        hash = escape(&doc.hash),
    );
    if !doc.tags.is_empty() {
        out.push_str("<dt>Tags</dt><dd>");
        for tag in &doc.tags {
            let _ = write!(out, r#"<span class="tag">{}</span> "#, escape(tag));
        }
        out.push_str("</dd>\n");
    }
    out.push_str("</dl></header>\n");
    let outline: Vec<_> = doc.sections.iter().filter(|s| s.level > 1).collect();
    if !outline.is_empty() {
        let _ = write!(out, r#"<nav class="outline" aria-label="Sections of {}"><ol>"#, escape(&doc.title));
        for section in outline {
            let _ = write!(
                out,
                r##"<li class="l{}"><a href="#{}">{}</a></li>"##,
                section.level.min(6),
                escape(&anchor(doc, &section.id)),
                escape(&section.heading)
            );
        }
        out.push_str("</ol></nav>\n");
    }
    out.push_str(r#"<div class="body">"#);
    out.push_str(&body);
    out.push_str("</div></article>\n");
    out
}

/// `/search`: the hits for `query` (none yet when it is empty).
pub fn search(base: &KnowledgeBase, query: &Query, hits: &[Hit]) -> String {
    let mut main = String::with_capacity(4096);
    if query.text.is_empty() {
        main.push_str("<h1>Search</h1><p>Type words above: titles, headings, tags and text are searched.</p>");
        return layout("Search", None, "", &main);
    }
    let _ = writeln!(main, "<h1>{} results for “{}”</h1>", hits.len(), escape(&query.text));
    if hits.is_empty() {
        let _ = write!(main, "<p>Nothing matches. {} documents were searched.</p>", base.documents().len());
    }
    main.push_str(r#"<ol class="results">"#);
    for hit in hits {
        let doc = &hit.document;
        let section = doc.sections.get(hit.section);
        let _ = write!(
            main,
            r#"<li><a href="{}">{}</a><span class="where">{} · {} · {}</span><p>{}</p></li>"#,
            escape(&section_href(doc, section.map(|s| s.id.as_str()))),
            escape(section.map_or(&doc.title, |s| &s.heading)),
            escape(&doc.language),
            escape(&doc.domain),
            escape(&doc.title),
            snippet(&hit.snippet)
        );
    }
    main.push_str("</ol>");
    layout(&format!("Search: {}", query.text), None, &query.text, &main)
}

/// A 404 page naming what there is.
pub fn not_found(base: &KnowledgeBase, language: &str, domain: &str) -> String {
    let main = format!(
        r#"<h1>No {} standard for {}</h1><p>Languages: {}. Domains: {}. <a href="/">All standards</a>.</p>"#,
        escape(domain),
        escape(language),
        escape(&base.languages().join(", ")),
        escape(&base.domains().join(", "))
    );
    layout("Not found", None, "", &main)
}

/// A page with one message.
pub fn message(title: &str, text: &str) -> String {
    layout(title, None, "", &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(text)))
}
