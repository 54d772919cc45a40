//! The page through its router, on a root of its own: the matrix, a standard in
//! `get_stdlib`'s order, search, bad input, and a document that tries to run script.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tenet_kb::{KnowledgeBase, Root};
use tower::ServiceExt;

use super::*;

const HOSTILE: &str = "---\ntitle: Hostile doc\nlanguage: rust\ndomain: security\ntags: [xss]\nupdatedAt: '2026-11-20T00:00:00Z'\n---\n# Hostile doc\n\n<script>window.pwned = 1</script>\n\n## Images\n\n<img src=x onerror=\"window.pwned = 2\"> and [a link](javascript:window.pwned=3).\n";

struct Fixture {
    _dir: tempfile::TempDir,
    site: Site,
    base: Arc<RwLock<Arc<KnowledgeBase>>>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rust")).unwrap();
    std::fs::write(dir.path().join("rust/security.md"), HOSTILE).unwrap();
    let kb = KnowledgeBase::load(&[Root::Builtin, Root::Dir(dir.path().to_owned())]).unwrap();
    kb.build_index().unwrap();
    assert!(kb.warnings().is_empty(), "{:?}", kb.warnings());
    let base = Arc::new(RwLock::new(Arc::new(kb)));
    let shared = base.clone();
    let site = Site::new(move || shared.read().unwrap().clone(), Arc::default(), "/mcp", CancellationToken::new());
    Fixture { _dir: dir, site, base }
}

async fn get(site: &Site, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let request = Request::get(uri).header("host", "localhost:3020").body(Body::empty()).unwrap();
    let response = site.router::<()>().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap();
    (parts.status, parts.headers, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_matrix_links_every_standard_and_says_how_to_connect() {
    let f = fixture();
    let (status, headers, page) = get(&f.site, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    let base = f.base.read().unwrap().clone();
    for cell in base.taxonomy(None, None) {
        let href = format!(r#"href="/standards/{}/{}""#, cell.language, cell.domain);
        assert!(page.contains(&href), "{href}");
    }
    assert!(page.contains("claude mcp add --transport http tenet http://localhost:3020/mcp"), "connect panel");
    assert!(page.contains("&quot;url&quot;: &quot;http://localhost:3020/mcp&quot;"), "Cursor's config, escaped");
}

/// Issue 61: the page lists skills beside the standards: the skill folders with their
/// descriptions (escaped), and each standard's skill name on its page.
#[tokio::test]
async fn skills_are_listed_beside_the_standards() {
    let f = fixture();
    let (_, _, page) = get(&f.site, "/").await;
    assert!(page.contains(r#"<h2 id="skills">Skills</h2>"#), "{page}");
    assert!(
        page.contains("<code>code-review</code> — Review a change against this team&#39;s engineering standards")
            || page.contains("<code>code-review</code> — Review a change against this team's engineering standards"),
        "{page}"
    );
    assert!(page.contains("2 files"), "the built-in skill's SKILL.md and checklist");
    let (_, _, standard) = get(&f.site, "/standards/rust/security").await;
    assert!(standard.contains("As a skill: <code>rust-security</code>"), "{standard}");
    let (_, _, neutral) = get(&f.site, "/standards/all/testing").await;
    assert!(neutral.contains("As a skill: <code>testing</code>"));
}

#[tokio::test]
async fn a_standard_shows_its_documents_in_get_stdlibs_order_with_their_facts() {
    let f = fixture();
    let (status, _, page) = get(&f.site, "/standards/rust/testing").await;
    assert_eq!(status, StatusCode::OK);
    let base = f.base.read().unwrap().clone();
    let docs = base.standard("rust", "testing");
    assert!(docs.len() >= 2);
    let mut at = 0;
    for doc in docs {
        let found = page[at..]
            .find(&format!(r#"data-uri="{}""#, doc.uri()))
            .unwrap_or_else(|| panic!("{} in order", doc.uri()));
        at += found + 1;
        assert!(page.contains(&doc.hash), "the content hash");
        assert!(page.contains(&doc.source.path), "the provenance");
        let section = doc.sections.iter().find(|s| s.level == 2).unwrap();
        assert!(page.contains(&format!(r#"id="{}""#, pages::anchor(doc, &section.id))), "an anchor per section");
        assert!(page.contains(&format!(r##"href="#{}""##, pages::anchor(doc, &section.id))), "the outline");
    }
    let (missing, _, page) = get(&f.site, "/standards/cobol/testing").await;
    assert_eq!(missing, StatusCode::NOT_FOUND);
    assert!(page.contains("rust"), "names the languages there are");
}

#[tokio::test]
async fn a_document_that_tries_to_run_script_runs_nothing() {
    let f = fixture();
    let (_, headers, page) = get(&f.site, "/standards/rust/security").await;
    assert!(page.contains("Hostile doc"));
    assert!(!page.contains("<script>window"), "raw script escaped");
    assert!(page.contains("&lt;script&gt;window.pwned = 1&lt;/script&gt;"));
    assert!(!page.contains("<img src=x"), "raw img escaped");
    assert!(!page.contains("javascript:"), "the link target dropped");
    assert_eq!(page.matches("<script").count(), 1, "only the page's own script");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'") && !policy.contains("unsafe-inline"));
}

#[tokio::test]
async fn search_finds_sections_and_links_to_them() {
    let f = fixture();
    let (status, _, body) = get(&f.site, "/search.json?q=property%20based%20tests").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hits: serde_json::Value = serde_json::from_str(&body).unwrap();
    let first = &hits["hits"][0];
    assert!(first["href"].as_str().unwrap().starts_with("/standards/"), "{first}");
    assert!(first["href"].as_str().unwrap().contains('#'), "to the section: {first}");
    assert!(first["snippet"].as_str().unwrap().contains("<mark>"), "{first}");
    let (status, _, page) = get(&f.site, "/search?q=property+based+tests").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(first["href"].as_str().unwrap().replace('&', "&amp;").as_str()),
        "the same hit without script"
    );

    let long = "a".repeat(10 * 1024);
    let (status, _, body) = get(&f.site, &format!("/search.json?q={long}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("the query is 10240 characters long; the most is 1000"), "{body}");
    let (status, _, _) = get(&f.site, &format!("/search?q={long}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The same rule as the MCP tool's: characters, not bytes (900 of two bytes each).
    let (status, _, body) = get(&f.site, &format!("/search.json?q={}", "%C3%A9".repeat(900))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Filters are read as the tool reads them: `Rust` is `rust`.
    let (status, _, body) = get(&f.site, "/search.json?q=unsafe&language=%20Rust%20").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hits: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(!hits["hits"].as_array().unwrap().is_empty(), "{body}");
    let (status, _, body) = get(&f.site, "/search.json?q=%3Cscript%3E").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.contains("<script>"), "{body}");
    let (status, _, page) = get(&f.site, "/search?q=%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("<script").count(), 1, "the query is escaped");
}

#[tokio::test]
async fn assets_are_small_and_cacheable() {
    let f = fixture();
    let (status, headers, css) = get(&f.site, "/assets/tenet.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(css.len() < 16 * 1024);
    let tag = headers["etag"].to_str().unwrap().to_owned();
    let request = Request::get("/assets/tenet.css").header("if-none-match", &tag).body(Body::empty()).unwrap();
    let again = f.site.router::<()>().oneshot(request).await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let (_, _, js) = get(&f.site, "/assets/tenet.js").await;
    assert!(js.len() < 16 * 1024 && !js.contains("http://") && !js.contains("https://"), "no external anything");
}

#[tokio::test]
async fn a_change_reaches_an_open_event_stream() {
    let f = fixture();
    let request = Request::get("/events").body(Body::empty()).unwrap();
    let response = f.site.router::<()>().oneshot(request).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body().into_data_stream();
    use futures_util::StreamExt;
    let first = body.next().await.unwrap().unwrap();
    assert!(std::str::from_utf8(&first).unwrap().starts_with("retry:"));
    f.site.changed("stdlib://rust/testing");
    let next = tokio::time::timeout(Duration::from_secs(5), body.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(std::str::from_utf8(&next).unwrap(), "event: changed\ndata: stdlib://rust/testing\n\n");
}

/// Issue 63: the client tables of the README and of the guide's clients chapter, and the
/// page's panel, give the same settings for HTTP (the tables' URL is the default one).
#[test]
fn the_readme_the_guide_and_the_page_give_the_same_settings_to_connect() {
    let tables = [
        ("README.md", include_str!("../../../README.md")),
        ("docs/clients.md", include_str!("../../../docs/clients.md")),
    ];
    let url = "http://127.0.0.1:3020/mcp";
    for (file, text) in tables {
        for (name, _, config) in crate::pages::clients(url) {
            let row = text
                .lines()
                .find(|l| l.starts_with(&format!("| **{name}**")))
                .unwrap_or_else(|| panic!("no row for {name} in {file}"));
            let http = row.trim_end_matches('|').rsplit('|').next().unwrap();
            let written: Vec<&str> = http.split('`').skip(1).step_by(2).collect();
            let agrees = match serde_json::from_str::<serde_json::Value>(&config) {
                Ok(page) => {
                    written.iter().any(|w| serde_json::from_str::<serde_json::Value>(w).is_ok_and(|r| r == page))
                }
                Err(_) => written.contains(&config.as_str()),
            };
            assert!(agrees, "{name}: the page says {config}, {file} {http}");
        }
    }
}
