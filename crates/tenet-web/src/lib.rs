//! Tenet's web page: the standards of a [`KnowledgeBase`] to read and search in a
//! browser.
//!
//! - `/`: the language × domain matrix (documents and last update per cell), a search
//!   box, and the settings to connect an assistant to this server;
//! - `/standards/{language}/{domain}`: the standard as `get_stdlib` gives it (the `all`
//!   base first, then the language's documents), each document rendered from its
//!   Markdown with its outline, tags, provenance, `updatedAt` and content hash;
//! - `/search?q=…`: the hits of the knowledge base's own search (the engine behind
//!   `search_stdlib`), with snippets and links to the section; `/search.json` gives the
//!   same to the page's search-as-you-type;
//! - `/events`: a server-sent event per changed document, so that an open page follows
//!   the files on disk.
//!
//! Everything is served from the binary (one stylesheet, one small script), works
//! without JavaScript, and runs nothing from the documents: their raw HTML is shown as
//! text, unsafe link targets are dropped, and a strict Content-Security-Policy allows
//! only this server's own script and style.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use tenet_kb::{KnowledgeBase, Root};
//! use tenet_web::Site;
//! use tower::ServiceExt;
//!
//! let base = Arc::new(KnowledgeBase::load(&[Root::Builtin]).unwrap());
//! base.build_index().unwrap();
//! let site = Site::new(move || base.clone(), Arc::default(), "/mcp", tokio_util::sync::CancellationToken::new());
//! let request = axum::http::Request::get("/standards/rust/testing").body(axum::body::Body::empty()).unwrap();
//! let page = site.router().oneshot(request).await.unwrap();
//! assert_eq!(page.status(), 200);
//! # });
//! ```

mod pages;
pub mod render;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tenet_kb::KnowledgeBase;
use tenet_kb::SearchStats;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The paths the page serves (a server that mounts it leaves them to it).
pub const PATHS: [&str; 7] = [
    "/",
    "/standards/{language}/{domain}",
    "/search",
    "/search.json",
    "/events",
    "/assets/tenet.css",
    "/assets/tenet.js",
];

/// The web page of one knowledge base. Clones share everything.
#[derive(Clone)]
pub struct Site {
    inner: Arc<Inner>,
}

struct Inner {
    base: Box<dyn Fn() -> Arc<KnowledgeBase> + Send + Sync>,
    searches: Arc<SearchStats>,
    mcp_path: String,
    changes: broadcast::Sender<Arc<str>>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site").field("mcp_path", &self.inner.mcp_path).finish_non_exhaustive()
    }
}

impl Site {
    /// The page of the knowledge base `base` returns (called at each request, so that
    /// reloads show), for a server whose MCP endpoint is at `mcp_path` (named in the
    /// settings to connect an assistant). Its submitted searches (`/search`, not the
    /// as-you-type `/search.json`) are counted in `searches`, with the MCP tool's.
    /// Event streams end with `shutdown`.
    pub fn new(
        base: impl Fn() -> Arc<KnowledgeBase> + Send + Sync + 'static,
        searches: Arc<SearchStats>,
        mcp_path: &str,
        shutdown: CancellationToken,
    ) -> Self {
        let (changes, _) = broadcast::channel(256);
        let mcp_path = mcp_path.to_owned();
        Self { inner: Arc::new(Inner { base: Box::new(base), searches, mcp_path, changes, shutdown }) }
    }

    /// Tells open pages that the document at `uri` (`stdlib://…`) changed, was added or
    /// was removed.
    pub fn changed(&self, uri: &str) {
        let _ = self.inner.changes.send(Arc::from(uri));
    }

    /// The routes ([`PATHS`]).
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/", get(home))
            .route("/standards/{language}/{domain}", get(standard))
            .route("/search", get(search_page))
            .route("/search.json", get(search_json))
            .route("/events", get(events))
            .route("/assets/tenet.css", get(|headers: HeaderMap| async move { asset(&headers, CSS, "text/css") }))
            .route("/assets/tenet.js", get(|headers: HeaderMap| async move { asset(&headers, JS, "text/javascript") }))
            .with_state(self.clone())
    }

    fn base(&self) -> Arc<KnowledgeBase> {
        (self.inner.base)()
    }
}

const CSS: &str = include_str!("assets/tenet.css");
const JS: &str = include_str!("assets/tenet.js");

/// What every page's answer carries: no script but this server's, no frames, no
/// sniffing, no referrer.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn html(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    secure(headers);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn secure(headers: &mut HeaderMap) {
    headers.insert("content-security-policy", HeaderValue::from_static(POLICY));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
}

fn json(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    secure(response.headers_mut());
    response
}

/// A built-in asset, with an ETag of its content (it changes only with the binary).
fn asset(headers: &HeaderMap, content: &'static str, kind: &'static str) -> Response {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(content.as_bytes());
    let tag = format!("\"{}\"", digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>());
    let mut response = if headers.get(IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == tag.as_bytes()) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        Response::new(Body::from(content))
    };
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(tag) = HeaderValue::from_str(&tag) {
        h.insert(ETAG, tag);
    }
    secure(h);
    response
}

async fn home(State(site): State<Site>, headers: HeaderMap) -> Response {
    let base = site.base();
    html(StatusCode::OK, pages::home(&base, &server_url(&headers, &site.inner.mcp_path)))
}

async fn standard(State(site): State<Site>, Path((language, domain)): Path<(String, String)>) -> Response {
    let base = site.base();
    match pages::standard(&base, &language, &domain) {
        Some(page) => html(StatusCode::OK, page),
        None => html(StatusCode::NOT_FOUND, pages::not_found(&base, &language, &domain)),
    }
}

/// A search: the words, and optionally a language and a domain.
#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    q: String,
    language: Option<String>,
    domain: Option<String>,
}

impl Search {
    /// The query, as every face of the knowledge base takes one.
    fn query(&self) -> Result<tenet_kb::Query, String> {
        tenet_kb::Query::new(&self.q, self.language.as_deref(), self.domain.as_deref(), &[], 20)
            .map_err(|e| e.to_string())
    }
}

async fn search_page(State(site): State<Site>, Query(search): Query<Search>) -> Response {
    let base = site.base();
    match search.query() {
        Ok(query) if query.text.is_empty() => html(StatusCode::OK, pages::search(&base, &query, &[])),
        Ok(query) => match base.search(&query) {
            Ok(hits) => {
                site.inner.searches.record(&query, &hits);
                html(StatusCode::OK, pages::search(&base, &query, &hits))
            }
            Err(e) => html(StatusCode::BAD_REQUEST, pages::message("Search", &e)),
        },
        Err(e) => html(StatusCode::BAD_REQUEST, pages::message("Search", &e)),
    }
}

async fn search_json(State(site): State<Site>, Query(search): Query<Search>) -> Response {
    let base = site.base();
    let hits = match search.query() {
        Ok(query) if query.text.is_empty() => Ok(Vec::new()),
        // Not counted: the page asks this as the user types, word pieces and all.
        Ok(query) => base.search(&query),
        Err(e) => Err(e),
    };
    match hits {
        Ok(hits) => {
            let hits: Vec<serde_json::Value> = hits
                .iter()
                .map(|hit| {
                    let doc = &hit.document;
                    let section = doc.sections.get(hit.section);
                    serde_json::json!({
                        "title": doc.title,
                        "language": doc.language,
                        "domain": doc.domain,
                        "heading": section.map(|s| s.heading.as_str()),
                        "snippet": render::snippet(&hit.snippet),
                        "href": pages::section_href(doc, section.map(|s| s.id.as_str())),
                    })
                })
                .collect();
            json(StatusCode::OK, serde_json::json!({ "hits": hits }).to_string())
        }
        Err(e) => json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": e }).to_string()),
    }
}

/// A `changed` event per document that changed, until shutdown; a comment every 20 s
/// keeps proxies from closing a quiet stream.
async fn events(State(site): State<Site>) -> Response {
    let receiver = site.inner.changes.subscribe();
    let shutdown = site.inner.shutdown.clone();
    let stream =
        futures_util::stream::unfold((receiver, shutdown, true), |(mut receiver, shutdown, first)| async move {
            if first {
                return Some((
                    Ok::<_, Infallible>(Bytes::from_static(b"retry: 2000\n\n")),
                    (receiver, shutdown, false),
                ));
            }
            let chunk = tokio::select! {
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(Duration::from_secs(20)) => Bytes::from_static(b": keep-alive\n\n"),
                change = receiver.recv() => match change {
                    Ok(uri) => Bytes::from(format!("event: changed\ndata: {uri}\n\n")),
                    // Missed some: say so, and the page reloads what it shows.
                    Err(broadcast::error::RecvError::Lagged(_)) => Bytes::from_static(b"event: changed\ndata: *\n\n"),
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            Some((Ok(chunk), (receiver, shutdown, false)))
        });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    secure(headers);
    response
}

/// This server's MCP URL as the browser reached it (its `Host`), for the settings.
fn server_url(headers: &HeaderMap, mcp_path: &str) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).filter(|h| !h.is_empty()).unwrap_or("127.0.0.1:3020");
    format!("http://{host}{mcp_path}")
}

#[cfg(test)]
mod tests;
