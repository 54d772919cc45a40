//! End-to-end tests of the knowledge server: the real `tenet serve` (no `--demo`) on the
//! built-in corpus and on overlay roots, over stdio, in both protocol eras (a legacy
//! `initialize` session and stateless 2026-07-28 requests carrying `_meta`).
//!
//! Every test runs its checks once per era, each on a fresh server process, and ends by
//! checking that the server still answers. Every wait is bounded (see `common`).

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::Path;

use crate::common::{LATEST_LEGACY, TIMEOUT, Tenet, assert_error, assert_result, legacy, stateless, tool_text};
use serde_json::{Value, json};
use tempfile::TempDir;

const INVALID_PARAMS: i64 = -32602;
/// MCP's "resource not found" in the legacy era (the 2026 revision uses -32602).
const RESOURCE_NOT_FOUND: i64 = -32002;

/// The languages the built-in corpus must cover.
const LANGUAGES: [&str; 5] = ["python", "go", "javascript", "typescript", "rust"];
/// The domains the built-in corpus must cover, sorted.
const DOMAINS: [&str; 5] = ["architecture", "patterns", "performance", "security", "testing"];
const TOOLS: [&str; 3] = ["get_stdlib", "search_stdlib", "list_stdlib"];
const TEMPLATE: &str = "stdlib://{language}/{domain}";

// ---------------------------------------------------------------------------------------
// A session in one era
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Era {
    /// `initialize` (2025-11-25), then plain requests.
    Legacy,
    /// No handshake: every request carries the 2026-07-28 `_meta`.
    Modern,
}

const ERAS: [Era; 2] = [Era::Legacy, Era::Modern];

/// One `tenet serve` process spoken to in one era.
struct Session {
    server: Tenet,
    era: Era,
    ids: u64,
    /// The `initialize` result (legacy) or the `server/discover` result (modern).
    hello: Value,
}

impl Session {
    /// `tenet serve --log-level warn` plus `extra`, greeted in `era`.
    #[track_caller]
    fn start(era: Era, extra: &[&str]) -> Self {
        let mut args = vec!["serve", "--log-level", "warn"];
        args.extend_from_slice(extra);
        let mut server = Tenet::start_knowledge(&args);
        let hello = match era {
            Era::Legacy => {
                let result = server.initialize(LATEST_LEGACY);
                assert_eq!(result["protocolVersion"], LATEST_LEGACY, "negotiated version: {result}");
                result
            }
            Era::Modern => {
                let id = json!("discover");
                let response = server.call(&stateless(id.clone(), "server/discover", json!({})));
                assert_result(&response, &id).clone()
            }
        };
        Self { server, era, ids: 0, hello }
    }

    /// On the built-in corpus only.
    #[track_caller]
    fn builtin(era: Era) -> Self {
        Self::start(era, &[])
    }

    /// Sends one request in this session's era; returns (response, id).
    #[track_caller]
    fn request(&mut self, method: &str, params: Value) -> (Value, Value) {
        self.ids += 1;
        let id = json!(format!("{method}#{}", self.ids));
        let request = match self.era {
            Era::Legacy => legacy(id.clone(), method, params),
            Era::Modern => stateless(id.clone(), method, params),
        };
        (self.server.call(&request), id)
    }

    /// A request that must succeed; returns its result.
    #[track_caller]
    fn result(&mut self, method: &str, params: Value) -> Value {
        let (response, id) = self.request(method, params);
        assert_result(&response, &id).clone()
    }

    /// A request that must fail with `code`; returns the error object.
    #[track_caller]
    fn error(&mut self, method: &str, params: Value, code: i64) -> Value {
        let (response, id) = self.request(method, params);
        assert_error(&response, code, &id).clone()
    }

    /// A `tools/call` (a JSON-RPC success, whatever `isError` says); returns its result.
    #[track_caller]
    fn call_tool(&mut self, name: &str, arguments: Value) -> Value {
        self.result("tools/call", json!({"name": name, "arguments": arguments}))
    }

    /// A tool call that must succeed: no `isError`, `structuredContent` that validates
    /// against the tool's advertised `outputSchema`, and a readable text block. Returns
    /// (structuredContent, text).
    #[track_caller]
    fn tool(&mut self, name: &str, arguments: Value) -> (Value, String) {
        let result = self.call_tool(name, arguments.clone());
        assert_ne!(result.get("isError"), Some(&json!(true)), "{name}({arguments}) failed: {result}");
        let structured = result["structuredContent"].clone();
        assert!(structured.is_object(), "{name}({arguments}) has no structuredContent object: {result}");
        let blocks = result["content"].as_array().unwrap_or_else(|| panic!("no content array: {result}"));
        assert!(
            blocks.iter().any(|b| b["type"] == "text" && b["text"].as_str().is_some_and(|t| !t.trim().is_empty())),
            "{name}({arguments}) has no readable text block: {result}"
        );
        let schema = self.output_schema(name);
        assert_valid(&schema, &structured, &format!("{name}({arguments}) structuredContent"));
        (structured, tool_text(&result))
    }

    /// A tool call that must come back as an `isError` result; returns its text.
    #[track_caller]
    fn tool_error(&mut self, name: &str, arguments: Value) -> String {
        let result = self.call_tool(name, arguments.clone());
        assert_eq!(result["isError"], true, "{name}({arguments}) should be an isError result: {result}");
        let text = tool_text(&result);
        assert!(!text.trim().is_empty(), "an isError result without a message: {result}");
        text
    }

    /// Every item of a paginated list method, following `nextCursor`.
    #[track_caller]
    fn list_all(&mut self, method: &str, key: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<Value> = None;
        for _ in 0..100 {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let result = self.result(method, params);
            let page = result[key].as_array().unwrap_or_else(|| panic!("{method}: no `{key}` array: {result}"));
            items.extend(page.iter().cloned());
            match result.get("nextCursor") {
                Some(next) if !next.is_null() => cursor = Some(next.clone()),
                _ => return items,
            }
        }
        panic!("{method}: more than 100 pages");
    }

    /// The listing of one tool.
    #[track_caller]
    fn tool_listing(&mut self, name: &str) -> Value {
        let tools = self.list_all("tools/list", "tools");
        tools.into_iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("tool {name} is not listed"))
    }

    /// The `outputSchema` a tool advertises.
    #[track_caller]
    fn output_schema(&mut self, name: &str) -> Value {
        let listing = self.tool_listing(name);
        let schema = listing["outputSchema"].clone();
        assert!(schema.is_object(), "{name} advertises no outputSchema: {listing}");
        schema
    }

    /// `get_stdlib` with these arguments; must succeed.
    #[track_caller]
    fn get(&mut self, arguments: Value) -> Value {
        self.tool("get_stdlib", arguments).0
    }

    /// The single text content of a resource.
    #[track_caller]
    fn read(&mut self, uri: &str) -> String {
        let result = self.result("resources/read", json!({"uri": uri}));
        let contents = result["contents"].as_array().unwrap_or_else(|| panic!("no contents: {result}"));
        assert_eq!(contents.len(), 1, "one content item expected for {uri}: {result}");
        assert_eq!(contents[0]["uri"], uri, "{result}");
        assert_eq!(contents[0]["mimeType"], "text/markdown", "{result}");
        contents[0]["text"].as_str().unwrap_or_else(|| panic!("{uri} has no text: {result}")).to_owned()
    }

    /// `completion/complete`; returns the values.
    #[track_caller]
    fn complete(&mut self, reference: Value, argument: &str, value: &str, context: Value) -> Vec<String> {
        let mut params = json!({"ref": reference, "argument": {"name": argument, "value": value}});
        if !context.is_null() {
            params["context"] = json!({ "arguments": context });
        }
        let result = self.result("completion/complete", params);
        strings(&result["completion"]["values"])
    }

    /// The error code MCP uses for an unknown resource in this era.
    fn not_found_code(&self) -> i64 {
        match self.era {
            Era::Legacy => RESOURCE_NOT_FOUND,
            Era::Modern => INVALID_PARAMS,
        }
    }

    /// Asserts the process still answers a valid request.
    #[track_caller]
    fn assert_alive(&mut self) {
        let (list, _) = self.tool("list_stdlib", json!({}));
        assert!(list["entries"].as_array().is_some_and(|e| !e.is_empty()), "list_stdlib is empty: {list}");
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Asserts `instance` validates against `schema` (compiled with the `jsonschema` crate).
#[track_caller]
fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema)
        .unwrap_or_else(|e| panic!("{what}: the advertised schema does not compile: {e}\nschema: {schema}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "(root)" } else { at.as_str() })
        })
        .collect();
    assert!(errors.is_empty(), "{what} does not match its schema:\n{}\ninstance: {instance}", errors.join("\n"));
}

/// The strings of a JSON array (panics on anything else).
#[track_caller]
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned())
        .collect()
}

/// A non-empty string field.
#[track_caller]
fn text_field<'a>(object: &'a Value, name: &str) -> &'a str {
    match object[name].as_str() {
        Some(s) if !s.trim().is_empty() => s,
        _ => panic!("`{name}` is not a non-empty string: {object}"),
    }
}

/// Whether `word` occurs in `text` as a whole identifier (not inside a longer one).
fn names(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(ident) && !text[at + word.len()..].chars().next().is_some_and(ident)
    })
}

/// Writes `text` at `relative` inside `root`, creating folders.
fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().expect("a file inside the root")).expect("create the folder");
    fs::write(&path, text).expect("write the document");
}

/// The path of a temp root as a command-line argument (and as provenance names it).
fn arg(dir: &TempDir) -> String {
    dir.path().to_str().expect("a UTF-8 temp path").to_owned()
}

// ---------------------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------------------

#[test]
fn the_three_tools_are_listed_with_descriptions_annotations_and_schemas() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let tools = s.list_all("tools/list", "tools");
        for name in TOOLS {
            let tool = tools.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{era:?}: {name} missing"));
            let description = text_field(tool, "description");
            assert!(description.len() <= 2048, "{era:?}: {name}'s description is over 2 KB");
            assert_eq!(tool["annotations"]["readOnlyHint"], true, "{era:?}: {tool}");
            assert_eq!(tool["annotations"]["idempotentHint"], true, "{era:?}: {tool}");
            assert_eq!(tool["inputSchema"]["type"], "object", "{era:?}: {tool}");
            let output = &tool["outputSchema"];
            assert_eq!(output["type"], "object", "{era:?}: {name} has no object outputSchema: {tool}");
            jsonschema::validator_for(output)
                .unwrap_or_else(|e| panic!("{era:?}: {name}'s outputSchema does not compile: {e}"));
        }
        s.assert_alive();
    }
}

/// Every `max_tokens` the knowledge tools' schemas allow is one they take: each declares
/// the largest the server reads (2^64 - 1), a call at it is served (within the server's
/// cap), and one past it is an argument error. The REST facade's fuzzing found 2^64, which the schema allowed,
/// refused for not fitting the server's integer.
#[test]
fn the_largest_max_tokens_a_schema_allows_is_served() {
    let mut s = Session::builtin(ERAS[0]);
    let calls = [
        ("get_stdlib", json!({"language": "rust", "domain": "testing"})),
        ("search_stdlib", json!({"query": "error handling"})),
    ];
    for (name, arguments) in calls {
        let listing = s.tool_listing(name);
        let largest = listing["inputSchema"]["properties"]["max_tokens"]["maximum"].clone();
        assert_eq!(largest.as_u64(), Some(u64::MAX), "{name}: max_tokens's maximum: {listing}");
        let mut at = arguments.clone();
        at["max_tokens"] = largest.clone();
        s.tool(name, at);
        let mut past = arguments;
        past["max_tokens"] = serde_json::from_str::<Value>("18446744073709551616").unwrap();
        let text = s.tool_error(name, past);
        assert!(text.contains("max_tokens"), "{name}: {text}");
    }
    s.assert_alive();
}

#[test]
fn get_stdlib_returns_the_base_then_the_language_document_with_provenance() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let base = s.read("stdlib://all/testing");
        let rust = s.read("stdlib://rust/testing");
        let (r, text) = s.tool("get_stdlib", json!({"language": "rust", "domain": "testing", "max_tokens": 25000}));
        assert_eq!(r["found"], true, "{era:?}: {r}");
        assert_eq!(r["language"], "rust");
        assert_eq!(r["domain"], "testing");
        text_field(&r, "title");
        let content = text_field(&r, "content");
        assert!(content.starts_with(&base), "{era:?}: content does not start with the all/testing base");
        assert!(content.contains(&rust), "{era:?}: content does not include the rust/testing document");
        assert!(text.starts_with(content), "{era:?}: the text block is not the content");
        let tags = strings(&r["tags"]);
        assert!(!tags.is_empty(), "{era:?}: no tags: {r}");
        text_field(&r, "last_updated");
        assert_eq!(r["path"], "rust/testing.md", "{era:?}: {r}");
        text_field(&r, "indexed_at");
        assert!(r.get("next_cursor").is_none_or(Value::is_null), "{era:?}: the whole standard fits: {r}");
        assert_eq!(r["remaining_tokens"], 0, "{era:?}: {r}");

        let documents = r["documents"].as_array().unwrap_or_else(|| panic!("no documents: {r}"));
        let provenance: Vec<(&str, &str, &str)> = documents
            .iter()
            .map(|d| {
                text_field(d, "hash");
                text_field(d, "title");
                (text_field(d, "uri"), text_field(d, "root"), text_field(d, "path"))
            })
            .collect();
        assert_eq!(
            provenance,
            [
                ("stdlib://all/testing", "builtin", "all/testing.md"),
                ("stdlib://rust/testing", "builtin", "rust/testing.md")
            ],
            "{era:?}: the base comes first, then the language's document: {r}"
        );
        s.assert_alive();
    }
}

#[test]
fn get_stdlib_pages_by_tokens_and_the_pages_add_up_to_the_whole_standard() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let whole = s.get(json!({"language": "rust", "domain": "testing", "max_tokens": 25000}));
        let whole = text_field(&whole, "content").to_owned();

        let mut joined = String::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages <= 200, "{era:?}: more than 200 pages of 300 tokens");
            let mut arguments = json!({"language": "rust", "domain": "testing", "max_tokens": 300});
            if let Some(c) = &cursor {
                arguments["cursor"] = json!(c);
            }
            let (page, text) = s.tool("get_stdlib", arguments);
            assert_eq!(page["found"], true, "{era:?}: {page}");
            let tokens = page["tokens"].as_u64().unwrap_or_else(|| panic!("no tokens: {page}"));
            assert!(tokens <= 300, "{era:?}: page {pages} has {tokens} tokens, over the 300 asked for");
            let content = text_field(&page, "content");
            joined.push_str(content);
            let remaining = page["remaining_tokens"].as_u64().unwrap_or_else(|| panic!("no remaining_tokens: {page}"));
            match page.get("next_cursor").and_then(Value::as_str) {
                Some(next) => {
                    assert!(remaining > 0, "{era:?}: a next_cursor with nothing remaining: {page}");
                    assert!(content.ends_with('\n'), "{era:?}: page {pages} is cut mid-line: {content:?}");
                    assert!(text.contains(next), "{era:?}: the text block does not say how to continue: {text}");
                    assert_ne!(cursor.as_deref(), Some(next), "{era:?}: the cursor did not advance");
                    cursor = Some(next.to_owned());
                }
                None => {
                    assert!(page.get("next_cursor").is_none(), "{era:?}: next_cursor present on the last page");
                    assert_eq!(remaining, 0, "{era:?}: last page: {page}");
                    break;
                }
            }
        }
        assert!(pages > 1, "{era:?}: 300 tokens held the whole rust/testing standard");
        assert!(joined == whole, "{era:?}: the {pages} pages do not add up to the max_tokens=25000 content");
        s.assert_alive();
    }
}

#[test]
fn get_stdlib_refuses_a_garbage_or_foreign_cursor() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let text = s.tool_error("get_stdlib", json!({"language": "rust", "domain": "testing", "cursor": "garbage"}));
        assert!(text.contains("cursor"), "{era:?}: the error should be about the cursor: {text}");
        let first = s.get(json!({"language": "rust", "domain": "testing", "max_tokens": 300}));
        let cursor = first["next_cursor"].as_str().unwrap_or_else(|| panic!("no next_cursor: {first}")).to_owned();
        // A cursor of one standard does not continue another.
        s.tool_error("get_stdlib", json!({"language": "python", "domain": "testing", "cursor": cursor}));
        s.assert_alive();
    }
}

#[test]
fn get_stdlib_outline_lists_headings_with_section_ids() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let full = s.get(json!({"language": "rust", "domain": "testing", "max_tokens": 25000}));
        let full = text_field(&full, "content").to_owned();
        let outline = s.get(json!({"language": "rust", "domain": "testing", "format": "outline"}));
        assert_eq!(outline["found"], true, "{era:?}: {outline}");
        let content = text_field(&outline, "content");
        let items: Vec<&str> = content.lines().map(str::trim_start).filter(|l| l.starts_with("- ")).collect();
        assert!(items.len() >= 4, "{era:?}: an outline with almost no headings: {content}");
        for item in &items {
            let id = item.rsplit_once("[#").map(|(_, rest)| rest).unwrap_or_else(|| panic!("no [#id]: {item:?}"));
            let id = id.strip_suffix(']').unwrap_or_else(|| panic!("heading line does not end with ]: {item:?}"));
            assert!(
                !id.is_empty() && id.chars().all(|c| c.is_alphanumeric() || c == '-'),
                "{era:?}: not a section id: {item:?}"
            );
        }
        assert!(content.len() < full.len() / 2, "{era:?}: the outline is not much shorter than the text");
        assert!(!content.contains("```"), "{era:?}: the outline contains code: {content}");
        s.assert_alive();
    }
}

#[test]
fn get_stdlib_for_an_unknown_language_is_not_found_and_lists_what_exists() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let (r, text) = s.tool("get_stdlib", json!({"language": "kotlin", "domain": "testing"}));
        assert_eq!(r["found"], false, "{era:?}: {r}");
        let message = text_field(&r, "message");
        for language in LANGUAGES {
            assert!(names(message, language), "{era:?}: the message does not list {language}: {message}");
            assert!(names(&text, language), "{era:?}: the text block does not list {language}: {text}");
        }
        s.assert_alive();
    }
}

#[test]
fn get_stdlib_ignores_case_and_surrounding_whitespace() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let exact = s.get(json!({"language": "rust", "domain": "testing"}));
        let loose = s.get(json!({"language": "  Rust ", "domain": " Testing"}));
        assert_eq!(loose["found"], true, "{era:?}: {loose}");
        assert_eq!(loose["language"], "rust", "{era:?}: {loose}");
        assert_eq!(loose["domain"], "testing", "{era:?}: {loose}");
        assert_eq!(loose["content"], exact["content"], "{era:?}");
        s.assert_alive();
    }
}

#[test]
fn search_stdlib_ranks_sections_within_a_domain() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let (r, text) = s.tool("search_stdlib", json!({"query": "sql injection", "domain": "security"}));
        let results = r["results"].as_array().unwrap_or_else(|| panic!("no results array: {r}"));
        assert!(!results.is_empty(), "{era:?}: nothing found for `sql injection`: {r}");
        let mut last = f64::INFINITY;
        for hit in results {
            let language = text_field(hit, "language");
            let domain = text_field(hit, "domain");
            assert_eq!(domain, "security", "{era:?}: a hit outside the domain filter: {hit}");
            text_field(hit, "title");
            let uri = text_field(hit, "uri");
            let key = format!("stdlib://{language}/{domain}");
            assert!(uri == key || uri.starts_with(&format!("{key}/")), "{era:?}: uri {uri} is not under {key}");
            text_field(hit, "section");
            text_field(hit, "snippet");
            text_field(hit, "updatedAt");
            let score = hit["score"].as_f64().unwrap_or_else(|| panic!("score is not a number: {hit}"));
            assert!(score <= last, "{era:?}: results are not ordered by score: {r}");
            last = score;
            assert!(text.contains(uri), "{era:?}: the text block does not show {uri}: {text}");
        }
        s.assert_alive();
    }
}

#[test]
fn search_stdlib_language_filter_keeps_the_language_and_the_base() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let query = "tests should be fast and deterministic";
        let (unfiltered, _) = s.tool("search_stdlib", json!({"query": query, "limit": 50}));
        let everywhere: BTreeSet<String> =
            unfiltered["results"].as_array().into_iter().flatten().map(|h| text_field(h, "language").into()).collect();
        assert!(everywhere.len() > 2, "{era:?}: the query should match several languages: {everywhere:?}");

        let (r, _) = s.tool("search_stdlib", json!({"query": query, "language": "rust", "limit": 50}));
        let results = r["results"].as_array().unwrap_or_else(|| panic!("no results array: {r}"));
        let languages: BTreeSet<&str> = results.iter().map(|h| text_field(h, "language")).collect();
        assert!(languages.contains("rust"), "{era:?}: no rust hit: {r}");
        assert!(languages.iter().all(|l| *l == "rust" || *l == "all"), "{era:?}: language=rust returned {languages:?}");
        s.assert_alive();
    }
}

#[test]
fn unknown_argument_names_are_errors_that_name_them() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let text = s.tool_error("search_stdlib", json!({"query": "errors", "lang": "rust"}));
        assert!(names(&text, "lang"), "{era:?}: the error does not name `lang`: {text}");
        let text = s.tool_error("get_stdlib", json!({"language": "rust", "domain": "testing", "topic": "fuzzing"}));
        assert!(names(&text, "topic"), "{era:?}: the error does not name `topic`: {text}");
        let text = s.tool_error("list_stdlib", json!({"lang": "rust"}));
        assert!(names(&text, "lang"), "{era:?}: the error does not name `lang`: {text}");
        s.assert_alive();
    }
}

#[test]
fn list_stdlib_lists_the_taxonomy_with_counts_and_dates() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let (r, text) = s.tool("list_stdlib", json!({}));
        let languages = strings(&r["languages"]);
        for language in LANGUAGES {
            assert!(languages.iter().any(|l| l == language), "{era:?}: {language} missing from {languages:?}");
            assert!(names(&text, language), "{era:?}: the text block does not show {language}");
        }
        let domains: BTreeSet<String> = strings(&r["domains"]).into_iter().collect();
        assert!(DOMAINS.iter().all(|d| domains.contains(*d)), "{era:?}: domains {domains:?}");
        let entries = r["entries"].as_array().unwrap_or_else(|| panic!("no entries: {r}"));
        let mut total = 0;
        let mut keys = HashSet::new();
        for entry in entries {
            let key = (text_field(entry, "language").to_owned(), text_field(entry, "domain").to_owned());
            let count = entry["documents"].as_u64().unwrap_or_else(|| panic!("documents is not a count: {entry}"));
            assert!(count >= 1, "{era:?}: an empty entry: {entry}");
            total += count;
            text_field(entry, "updatedAt");
            assert!(keys.insert(key), "{era:?}: duplicate entry {entry}");
        }
        for language in LANGUAGES.iter().chain(&["all"]) {
            for domain in DOMAINS {
                assert!(
                    keys.contains(&((*language).to_owned(), domain.to_owned())),
                    "{era:?}: no {language}/{domain} entry"
                );
            }
        }
        let resources = s.list_all("resources/list", "resources");
        let documents = resources.iter().filter(|r| text_field(r, "uri").starts_with("stdlib://")).count();
        assert_eq!(total as usize, documents, "{era:?}: entry counts do not add up to the documents");

        let (rust, _) = s.tool("list_stdlib", json!({"language": "rust"}));
        let entries = rust["entries"].as_array().unwrap_or_else(|| panic!("no entries: {rust}"));
        assert_eq!(entries.len(), DOMAINS.len(), "{era:?}: {rust}");
        assert!(entries.iter().all(|e| e["language"] == "rust"), "{era:?}: the filter leaked: {rust}");
        s.assert_alive();
    }
}

#[test]
fn operator_budgets_set_the_default_and_cap_what_callers_ask() {
    for era in ERAS {
        let mut s = Session::start(era, &["--max-tokens", "300", "--max-tokens-cap", "600"]);
        let default = s.get(json!({"language": "rust", "domain": "testing"}));
        assert!(default["tokens"].as_u64().is_some_and(|t| t <= 300), "{era:?}: default over 300: {default}");
        assert!(default["next_cursor"].is_string(), "{era:?}: {default}");
        let capped = s.get(json!({"language": "rust", "domain": "testing", "max_tokens": 25000}));
        let tokens = capped["tokens"].as_u64().unwrap_or_default();
        assert!(tokens <= 600, "{era:?}: the cap of 600 was not applied: {tokens} tokens");
        assert!(capped["next_cursor"].is_string(), "{era:?}: {capped}");
        let at_cap = s.get(json!({"language": "rust", "domain": "testing", "max_tokens": 600}));
        assert_eq!(capped["content"], at_cap["content"], "{era:?}: asking for more than the cap gets the cap");
        s.assert_alive();
    }
}

// ---------------------------------------------------------------------------------------
// Resources and completions
// ---------------------------------------------------------------------------------------

#[test]
fn every_document_is_a_markdown_resource() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let resources = s.list_all("resources/list", "resources");
        assert!(resources.len() >= 30, "{era:?}: {} resources, expected one per document (30+)", resources.len());
        let mut uris = HashSet::new();
        for resource in &resources {
            let uri = text_field(resource, "uri");
            // A document, or a standard's skill (its SKILL.md).
            let skill = uri.starts_with("skill://") && uri.ends_with("/SKILL.md");
            assert!(uri.starts_with("stdlib://") || skill, "{era:?}: {resource}");
            assert_eq!(resource["mimeType"], "text/markdown", "{era:?}: {resource}");
            text_field(resource, "name");
            assert!(uris.insert(uri.to_owned()), "{era:?}: {uri} listed twice");
        }
        for language in LANGUAGES.iter().chain(&["all"]) {
            for domain in DOMAINS {
                let uri = format!("stdlib://{language}/{domain}");
                assert!(uris.contains(&uri), "{era:?}: {uri} is not listed");
                let skill = if *language == "all" { (*domain).to_owned() } else { format!("{language}-{domain}") };
                let skill = format!("skill://{skill}/SKILL.md");
                assert!(uris.contains(&skill), "{era:?}: {skill} is not listed");
            }
        }

        let markdown = s.read("stdlib://rust/testing");
        assert!(markdown.starts_with("# "), "{era:?}: not a Markdown document: {markdown:.200}");
        assert!(markdown.contains("\n## "), "{era:?}: no sections: {markdown:.200}");
        assert!(!markdown.starts_with("---"), "{era:?}: the front matter is served");
        s.assert_alive();
    }
}

#[test]
fn the_stdlib_template_is_listed_and_a_missing_key_is_not_found() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let templates = s.list_all("resources/templates/list", "resourceTemplates");
        let template = templates
            .iter()
            .find(|t| t["uriTemplate"] == TEMPLATE)
            .unwrap_or_else(|| panic!("{era:?}: {TEMPLATE} not listed: {templates:?}"));
        assert_eq!(template["mimeType"], "text/markdown", "{era:?}: {template}");
        let code = s.not_found_code();
        let error = s.error("resources/read", json!({"uri": "stdlib://kotlin/testing"}), code);
        assert!(error["message"].as_str().is_some_and(|m| m.contains("kotlin")), "{era:?}: {error}");
        s.error("resources/read", json!({"uri": "stdlib://rust/knitting"}), code);
        // Path traversal gets an error, never a file.
        let (response, _) = s.request("resources/read", json!({"uri": "stdlib://../../etc/passwd"}));
        let error = response["error"]["code"].as_i64();
        assert!(matches!(error, Some(RESOURCE_NOT_FOUND | INVALID_PARAMS)), "{era:?}: {response}");
        s.assert_alive();
    }
}

#[test]
fn the_template_completes_languages_and_the_domains_of_a_language() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let reference = json!({"type": "ref/resource", "uri": TEMPLATE});
        let values = s.complete(reference.clone(), "language", "ty", Value::Null);
        assert_eq!(values, ["typescript"], "{era:?}");
        let mut values = s.complete(reference.clone(), "domain", "", json!({"language": "rust"}));
        values.sort();
        assert_eq!(values, DOMAINS, "{era:?}");
        let values = s.complete(reference, "domain", "sec", json!({"language": "rust"}));
        assert_eq!(values, ["security"], "{era:?}");
        s.assert_alive();
    }
}

// ---------------------------------------------------------------------------------------
// Prompts
// ---------------------------------------------------------------------------------------

#[test]
fn both_prompts_are_listed_with_their_arguments() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let prompts = s.list_all("prompts/list", "prompts");
        for (name, arguments) in
            [("review_against_standards", &["language", "domain", "code"][..]), ("standards_brief", &["language"])]
        {
            let prompt = prompts.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{era:?}: no {name}"));
            text_field(prompt, "description");
            let listed: Vec<&str> = prompt["arguments"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["required"] == true)
                .filter_map(|a| a["name"].as_str())
                .collect();
            assert_eq!(listed, arguments, "{era:?}: required arguments of {name}: {prompt}");
        }
        s.assert_alive();
    }
}

#[test]
fn review_against_standards_embeds_the_standard_and_the_code() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let rust = s.read("stdlib://rust/testing");
        let code = "fn parse(s: &str) -> u32 { s.parse().unwrap() } // review-marker-7f3a";
        let result = s.result(
            "prompts/get",
            json!({"name": "review_against_standards", "arguments": {"language": "rust", "domain": "testing", "code": code}}),
        );
        let messages = result["messages"].as_array().unwrap_or_else(|| panic!("no messages: {result}"));
        let embedded: Vec<&Value> =
            messages.iter().filter(|m| m["content"]["type"] == "resource").map(|m| &m["content"]["resource"]).collect();
        let standard = embedded
            .iter()
            .find(|r| r["uri"] == "stdlib://rust/testing")
            .unwrap_or_else(|| panic!("{era:?}: stdlib://rust/testing is not embedded: {result}"));
        assert_eq!(standard["mimeType"], "text/markdown", "{era:?}");
        assert_eq!(standard["text"], rust.as_str(), "{era:?}: the embedded standard is not the document");
        assert!(
            messages.iter().any(|m| m["content"]["text"].as_str().is_some_and(|t| t.contains(code))),
            "{era:?}: the code is not in the prompt: {result}"
        );
        s.assert_alive();
    }
}

#[test]
fn standards_brief_covers_the_language() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let result = s.result("prompts/get", json!({"name": "standards_brief", "arguments": {"language": "rust"}}));
        let messages = result["messages"].as_array().unwrap_or_else(|| panic!("no messages: {result}"));
        let text: String = messages.iter().filter_map(|m| m["content"]["text"].as_str()).collect();
        for uri in DOMAINS.map(|d| format!("stdlib://rust/{d}")) {
            assert!(text.contains(&uri), "{era:?}: the brief does not mention {uri}: {text}");
        }
        s.assert_alive();
    }
}

#[test]
fn prompt_arguments_complete() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let review = json!({"type": "ref/prompt", "name": "review_against_standards"});
        assert_eq!(s.complete(review.clone(), "language", "py", Value::Null), ["python"], "{era:?}");
        assert_eq!(s.complete(review, "domain", "perf", json!({"language": "go"})), ["performance"], "{era:?}");
        let brief = json!({"type": "ref/prompt", "name": "standards_brief"});
        assert_eq!(s.complete(brief, "language", "ja", Value::Null), ["javascript"], "{era:?}");
        s.assert_alive();
    }
}

#[test]
fn a_missing_required_prompt_argument_is_invalid_params() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let error = s.error(
            "prompts/get",
            json!({"name": "review_against_standards", "arguments": {"language": "rust", "domain": "testing"}}),
            INVALID_PARAMS,
        );
        assert!(error["message"].as_str().is_some_and(|m| names(m, "code")), "{era:?}: {error}");
        s.error("prompts/get", json!({"name": "standards_brief", "arguments": {}}), INVALID_PARAMS);
        s.assert_alive();
    }
}

// ---------------------------------------------------------------------------------------
// Instructions
// ---------------------------------------------------------------------------------------

#[test]
fn instructions_are_under_2_kb_and_name_the_languages() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let instructions = text_field(&s.hello, "instructions").to_owned();
        assert!(instructions.len() < 2048, "{era:?}: {} bytes of instructions", instructions.len());
        for language in LANGUAGES {
            assert!(names(&instructions, language), "{era:?}: the instructions do not name {language}");
        }
        for tool in TOOLS {
            assert!(instructions.contains(tool), "{era:?}: the instructions do not mention {tool}");
        }
        s.assert_alive();
    }
}

#[test]
fn instructions_stay_under_2_kb_with_many_languages() {
    let dir = TempDir::new().expect("temp dir");
    for i in 0..150 {
        let language = format!("language-with-a-rather-long-name-{i:03}");
        write(
            dir.path(),
            &format!("{language}/testing.md"),
            &format!("---\ntitle: {language} testing\nupdatedAt: '2026-01-01T00:00:00Z'\n---\n# {language}\n\nText.\n"),
        );
    }
    let root = arg(&dir);
    for era in ERAS {
        let mut s = Session::start(era, &["--root", &root]);
        let instructions = text_field(&s.hello, "instructions");
        assert!(instructions.len() < 2048, "{era:?}: {} bytes of instructions", instructions.len());
        // Cutting the list of languages must not cut the guidance on when to call what.
        assert!(instructions.contains("get_stdlib"), "{era:?}: the instructions lost their guidance:\n{instructions}");
        s.assert_alive();
    }
}

// ---------------------------------------------------------------------------------------
// Roots and overlays
// ---------------------------------------------------------------------------------------

const OVERLAY_FRONT: &str = "---
title: Team Rust testing
description: Our own Rust testing rules, replacing the built-in ones
language: rust
domain: testing
tags: [team, harness]
createdAt: '2026-01-05T09:00:00Z'
updatedAt: '2026-12-01T10:00:00Z'
---
";
const OVERLAY_BODY: &str = "# Team Rust testing

These rules replace the built-in Rust testing standard.

## Run every test through the zebraquux harness

The zebraquux harness seeds randomness and pins the clock.
";

#[test]
fn an_overlay_root_replaces_the_builtin_language_document_but_not_the_base() {
    let dir = TempDir::new().expect("temp dir");
    write(dir.path(), "rust/testing.md", &format!("{OVERLAY_FRONT}{OVERLAY_BODY}"));
    let root = arg(&dir);
    for era in ERAS {
        let mut s = Session::start(era, &["--root", &root]);
        let base = s.read("stdlib://all/testing");
        assert_eq!(s.read("stdlib://rust/testing"), OVERLAY_BODY, "{era:?}: the resource is not the overlay");

        let r = s.get(json!({"language": "rust", "domain": "testing", "max_tokens": 25000}));
        assert_eq!(r["found"], true, "{era:?}: {r}");
        assert_eq!(r["content"], format!("{base}\n{OVERLAY_BODY}"), "{era:?}: base, a blank line, the overlay");
        assert_eq!(r["title"], "Team Rust testing", "{era:?}: {r}");
        assert_eq!(r["last_updated"], "2026-12-01T10:00:00Z", "{era:?}: {r}");
        assert!(strings(&r["tags"]).contains(&"harness".to_owned()), "{era:?}: {r}");
        let documents = r["documents"].as_array().unwrap_or_else(|| panic!("no documents: {r}"));
        assert_eq!(documents.len(), 2, "{era:?}: {r}");
        assert_eq!((&documents[0]["root"], &documents[0]["path"]), (&json!("builtin"), &json!("all/testing.md")));
        assert_eq!((&documents[1]["root"], &documents[1]["path"]), (&json!(root), &json!("rust/testing.md")));
        assert_eq!(documents[1]["updatedAt"], "2026-12-01T10:00:00Z", "{era:?}: {r}");

        let (found, _) = s.tool("search_stdlib", json!({"query": "zebraquux"}));
        let hits = found["results"].as_array().unwrap_or_else(|| panic!("no results: {found}"));
        assert!(hits.first().is_some_and(|h| h["uri"] == "stdlib://rust/testing"), "{era:?}: {found}");

        // The overlay replaced a document; it did not add one.
        let resources = s.list_all("resources/list", "resources");
        assert_eq!(resources.iter().filter(|r| r["uri"] == "stdlib://rust/testing").count(), 1, "{era:?}");
        let (list, _) = s.tool("list_stdlib", json!({"language": "rust", "domain": "testing"}));
        assert_eq!(list["entries"][0]["documents"], 1, "{era:?}: {list}");
        assert_eq!(list["entries"][0]["updatedAt"], "2026-12-01T10:00:00Z", "{era:?}: {list}");
        s.assert_alive();
    }
}

#[test]
fn a_document_without_front_matter_loads_with_inferred_fields_and_a_warning() {
    let dir = TempDir::new().expect("temp dir");
    let body = "# Kotlin testing\n\n## Use JUnit 5 with Kotest assertions\n\nOne behaviour per test.\n";
    write(dir.path(), "kotlin/testing.md", body);
    let root = arg(&dir);
    for era in ERAS {
        let mut s = Session::start(era, &["--root", &root]);
        let r = s.get(json!({"language": "kotlin", "domain": "testing"}));
        assert_eq!(r["found"], true, "{era:?}: {r}");
        assert_eq!(r["language"], "kotlin", "{era:?}: {r}");
        assert_eq!(r["title"], "Kotlin testing", "{era:?}: the title is not inferred from the heading: {r}");
        assert!(r["content"].as_str().is_some_and(|c| c.ends_with(body)), "{era:?}: {r}");
        let last = r["documents"].as_array().and_then(|d| d.last()).cloned().unwrap_or_default();
        assert_eq!((&last["root"], &last["path"]), (&json!(root), &json!("kotlin/testing.md")), "{era:?}: {r}");
        assert_eq!(last["uri"], "stdlib://kotlin/testing", "{era:?}: {r}");

        let (list, _) = s.tool("list_stdlib", json!({}));
        assert!(strings(&list["languages"]).contains(&"kotlin".to_owned()), "{era:?}: {list}");
        assert_eq!(s.read("stdlib://kotlin/testing"), body, "{era:?}");

        let stderr = s.server.wait_stderr(TIMEOUT, |e| e.contains("kotlin/testing.md"));
        let warning = stderr.lines().find(|l| l.contains("kotlin/testing.md"));
        assert!(
            warning.is_some_and(|l| l.to_lowercase().contains("warn")),
            "{era:?}: no warning about kotlin/testing.md on stderr:\n{stderr}"
        );
        s.assert_alive();
    }
}

#[test]
fn topic_documents_of_one_key_come_in_a_stable_order() {
    let dir = TempDir::new().expect("temp dir");
    let fuzzing = "# Go fuzzing\n\n## Fuzz every parser\n\nUse testing.F.\n";
    let benchmarks = "# Go benchmarks\n\n## Benchmark with b.Loop\n\nReport allocations.\n";
    write(dir.path(), "go/testing/fuzzing.md", fuzzing);
    write(dir.path(), "go/testing/benchmarks.md", benchmarks);
    let root = arg(&dir);
    for era in ERAS {
        let mut s = Session::start(era, &["--root", &root]);
        let r = s.get(json!({"language": "go", "domain": "testing", "max_tokens": 25000}));
        let uris: Vec<&str> =
            r["documents"].as_array().into_iter().flatten().filter_map(|d| d["uri"].as_str()).collect();
        assert_eq!(
            uris,
            ["stdlib://all/testing", "stdlib://go/testing/benchmarks", "stdlib://go/testing/fuzzing"],
            "{era:?}: {r}"
        );
        let content = r["content"].as_str().unwrap_or_default();
        assert!(content.ends_with(&format!("{benchmarks}\n{fuzzing}")), "{era:?}: {content}");
        assert_eq!(s.read("stdlib://go/testing/fuzzing"), fuzzing, "{era:?}");
        // The template serves the whole key.
        let key = s.read("stdlib://go/testing");
        assert!(key.contains(benchmarks) && key.contains(fuzzing), "{era:?}: {key}");
        s.assert_alive();
    }
}

#[test]
fn no_builtin_serves_only_the_given_roots() {
    let dir = TempDir::new().expect("temp dir");
    write(dir.path(), "rust/testing.md", &format!("{OVERLAY_FRONT}{OVERLAY_BODY}"));
    let root = arg(&dir);
    for era in ERAS {
        let mut s = Session::start(era, &["--no-builtin", "--root", &root]);
        let (list, _) = s.tool("list_stdlib", json!({}));
        assert_eq!(strings(&list["languages"]), ["rust"], "{era:?}: {list}");
        let r = s.get(json!({"language": "rust", "domain": "testing"}));
        assert_eq!(r["content"], OVERLAY_BODY, "{era:?}: {r}");
        let (missing, _) = s.tool("get_stdlib", json!({"language": "python", "domain": "testing"}));
        assert_eq!(missing["found"], false, "{era:?}: {missing}");
        s.assert_alive();
    }
}

/// Starts `tenet serve` with `args`, expects it to exit non-zero without writing to
/// stdout; returns its stderr once it mentions `expected`.
#[track_caller]
fn refused(args: &[&str], expected: &str) -> String {
    let mut server = Tenet::start_knowledge(args);
    let status = server.wait_exit(TIMEOUT);
    assert!(!status.success(), "`tenet {}` should fail, exited {status}", args.join(" "));
    let stdout = server.messages_to_eof(TIMEOUT);
    assert!(stdout.is_empty(), "`tenet {}` wrote to stdout: {stdout:?}", args.join(" "));
    let stderr = server.wait_stderr(TIMEOUT, |e| e.contains(expected));
    assert!(stderr.contains(expected), "`tenet {}`: stderr does not mention {expected:?}:\n{stderr}", args.join(" "));
    stderr
}

#[test]
fn no_builtin_without_a_root_exits_with_a_clear_message() {
    let stderr = refused(&["serve", "--no-builtin"], "--root");
    assert!(stderr.contains("--no-builtin"), "the message should say which flag needs a root:\n{stderr}");
}

#[test]
fn a_root_that_does_not_exist_exits_with_a_clear_message() {
    refused(&["serve", "--root", "/does/not/exist"], "/does/not/exist");
}

#[test]
fn a_root_that_is_not_a_folder_exits_with_a_clear_message() {
    // Tests run as root here, so permissions cannot make a folder unreadable; a file
    // given as a root fails the same read_dir call.
    let dir = TempDir::new().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let file = dir.path().join("not-a-folder.md");
    fs::write(&file, "# x\n").unwrap_or_else(|e| panic!("write: {e}"));
    let file = file.display().to_string();
    let stderr = refused(&["serve", "--root", &file], &file);
    assert!(stderr.contains("cannot read root"), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// Bad input to the tools
// ---------------------------------------------------------------------------------------

#[test]
fn search_stdlib_answers_an_empty_query_and_refuses_a_10_kb_one_clearly() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let (r, text) = s.tool("search_stdlib", json!({"query": "   "}));
        assert_eq!(r["results"], json!([]), "{era:?}: {r}");
        assert!(!text.trim().is_empty(), "{era:?}: an empty answer should still say something");
        let long = "retry backoff ".repeat(10 * 1024 / 14 + 1);
        let message = s.tool_error("search_stdlib", json!({"query": long}));
        assert!(message.contains("characters long"), "{era:?}: {message}");
        s.assert_alive();
    }
}

#[test]
fn max_tokens_of_zero_is_refused_by_name_and_a_huge_one_gets_the_cap() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let text = s.tool_error("get_stdlib", json!({"language": "rust", "domain": "testing", "max_tokens": 0}));
        assert!(text.contains("max_tokens") && text.contains("minimum"), "{era:?}: {text}");
        let huge = s.get(json!({"language": "rust", "domain": "testing", "max_tokens": u64::MAX}));
        let capped = s.get(json!({"language": "rust", "domain": "testing", "max_tokens": 25_000}));
        assert_eq!(huge["content"], capped["content"], "{era:?}: a huge budget is the 25 000 cap");
        s.assert_alive();
    }
}

#[test]
fn a_cursor_from_before_an_edit_is_refused() {
    let dir = TempDir::new().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let sections: String = (1..=12).map(|i| format!("## Rule {i}\n\n{}\n\n", "Keep tests fast. ".repeat(40))).collect();
    write(dir.path(), "go/testing.md", &format!("# Go testing\n\n{sections}"));
    for era in ERAS {
        let mut s = Session::start(era, &["--root", &arg(&dir)]);
        let first = s.get(json!({"language": "go", "domain": "testing", "max_tokens": 300}));
        let cursor = first["next_cursor"].as_str().unwrap_or_else(|| panic!("no next_cursor: {first}")).to_owned();
        let marker = format!("edited in {era:?}");
        write(dir.path(), "go/testing.md", &format!("# Go testing\n\n{marker}\n\n{sections}"));
        let deadline = std::time::Instant::now() + TIMEOUT;
        let whole = |s: &mut Session| s.get(json!({"language": "go", "domain": "testing", "max_tokens": 25_000}));
        while !whole(&mut s)["content"].as_str().is_some_and(|c| c.contains(&marker)) {
            assert!(std::time::Instant::now() < deadline, "{era:?}: the edit was not picked up");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let text = s.tool_error("get_stdlib", json!({"language": "go", "domain": "testing", "cursor": cursor}));
        assert!(text.contains("cursor"), "{era:?}: the error should be about the cursor: {text}");
        s.assert_alive();
    }
}

// ---------------------------------------------------------------------------------------
// Sections: every URI and section id Tenet hands out leads somewhere
// ---------------------------------------------------------------------------------------

/// The template that reads one section of a document.
const SECTION_TEMPLATE: &str = "stdlib://{language}/{domain}{/topic}{#section}";

/// Text as a reader sees it: without bold marks or ellipses, whitespace collapsed.
fn plain(text: &str) -> String {
    text.replace("**", "").replace('…', " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `stdlib://…#…` URIs in a text block.
fn section_uris(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "()<>[]".contains(c))
        .filter(|word| word.starts_with("stdlib://") && word.contains('#'))
        .map(str::to_owned)
        .collect()
}

/// The bracketed ids of an outline's heading lines, as given (`#id` or a URI).
fn outline_ids(outline: &str) -> Vec<(String, String)> {
    outline
        .lines()
        .map(str::trim_start)
        .filter_map(|line| line.strip_prefix("- "))
        .map(|item| {
            let (heading, id) = item.rsplit_once(" [").unwrap_or_else(|| panic!("no [id]: {item:?}"));
            let id = id.strip_suffix(']').unwrap_or_else(|| panic!("no closing ]: {item:?}"));
            (heading.to_owned(), id.to_owned())
        })
        .collect()
}

/// Asserts `text` is a section headed `heading`: its first line is that heading.
#[track_caller]
fn assert_headed(text: &str, heading: &str, what: &str) {
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with('#') && first.trim_start_matches('#').trim() == heading,
        "{what}: expected a section headed {heading:?}, got: {text:.300}"
    );
}

#[test]
fn every_uri_a_search_returns_reads_as_its_section() {
    let queries = [
        json!({"query": "sql injection", "language": "python"}),
        json!({"query": "sql injection", "language": "go"}),
        json!({"query": "flaky tests"}),
        json!({"query": "graceful shutdown", "limit": 10}),
        json!({"query": "property based tests", "language": "rust"}),
        json!({"query": "prototype pollution"}),
        json!({"query": "cache invalidation", "domain": "performance", "limit": 8}),
    ];
    for era in ERAS {
        let mut s = Session::builtin(era);
        let mut read = 0;
        for arguments in &queries {
            let (r, text) = s.tool("search_stdlib", arguments.clone());
            let hits = r["results"].as_array().unwrap_or_else(|| panic!("no results: {r}"));
            assert!(!hits.is_empty(), "{era:?}: nothing for {arguments}");
            // What an assistant copies from the text block must be readable too.
            let shown = section_uris(&text);
            assert_eq!(shown.len(), hits.len(), "{era:?}: one section URI per hit in the text: {text}");
            for (hit, shown) in hits.iter().zip(&shown) {
                let (uri, id, heading) =
                    (text_field(hit, "uri"), text_field(hit, "section"), text_field(hit, "heading"));
                let section_uri = format!("{uri}#{id}");
                assert_eq!(shown, &section_uri, "{era:?}: the text shows another URI than the hit's");
                let document = s.read(uri);
                let section = s.read(&section_uri);
                assert_headed(&section, heading, &format!("{era:?} {section_uri}"));
                assert!(document.contains(&section), "{era:?}: {section_uri} is not a part of {uri}");
                // Only the title's section holds the whole document (all of it is its
                // subsections).
                if section == document {
                    assert_eq!(heading, text_field(hit, "title"), "{era:?}: {section_uri} reads the whole document");
                }
                let snippet = plain(text_field(hit, "snippet"));
                assert!(
                    plain(&section).contains(&snippet),
                    "{era:?}: the snippet of {section_uri} is not in what it reads: {snippet:?}"
                );
                read += 1;
            }
        }
        assert!(read >= 15, "{era:?}: only {read} hits read");
        s.assert_alive();
    }
}

#[test]
fn an_unknown_section_is_invalid_params_that_names_the_document_and_its_sections() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let outline = s.get(json!({"language": "python", "domain": "security", "format": "outline"}));
        let ids = outline_ids(text_field(&outline, "content"));
        let error = s.error("resources/read", json!({"uri": "stdlib://python/security#no-such-rule"}), INVALID_PARAMS);
        let message = text_field(&error, "message");
        assert!(message.contains("stdlib://python/security"), "{era:?}: the document is not named: {message}");
        assert!(message.contains("no-such-rule"), "{era:?}: the id is not named: {message}");
        assert!(!message.contains("Resource not found"), "{era:?}: {message}");
        let listed = strings(&error["data"]["sections"]);
        assert!(listed.len() >= 3, "{era:?}: too few section ids in the data: {error}");
        for id in &listed {
            assert!(ids.iter().any(|(_, i)| i == &format!("#{id}")), "{era:?}: {id} is not one of its sections");
            assert!(message.contains(id.as_str()), "{era:?}: the message does not list {id}: {message}");
        }
        // A missing document is still "not found", fragment or not.
        let code = s.not_found_code();
        s.error("resources/read", json!({"uri": "stdlib://kotlin/security#x"}), code);
        s.error("resources/read", json!({"uri": "stdlib://python/knitting#x"}), code);
        s.assert_alive();
    }
}

#[test]
fn get_stdlib_returns_one_section_by_its_outline_id_or_its_uri() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let outline = s.get(json!({"language": "go", "domain": "security", "format": "outline"}));
        let ids = outline_ids(text_field(&outline, "content"));
        assert!(ids.len() >= 10, "{era:?}: {ids:?}");
        for (heading, id) in &ids {
            let section = id.strip_prefix('#').unwrap_or(id);
            let (r, text) = s.tool(
                "get_stdlib",
                json!({"language": "go", "domain": "security", "section": section, "max_tokens": 25000}),
            );
            let content = text_field(&r, "content");
            assert_headed(content, heading, &format!("{era:?} get_stdlib section {section}"));
            assert!(text.starts_with(content), "{era:?}: the text block is not the content");
            let uri = text_field(&r, "section_uri");
            assert_eq!(s.read(uri), content, "{era:?}: section_uri reads something else");
            assert_eq!(r["documents"].as_array().map(Vec::len), Some(1), "{era:?}: {r}");
        }
        // A search hit's URI works as it is.
        let (hits, _) = s.tool("search_stdlib", json!({"query": "ssrf dialer", "language": "go", "limit": 1}));
        let hit = &hits["results"][0];
        let uri = format!("{}#{}", text_field(hit, "uri"), text_field(hit, "section"));
        let r = s.get(json!({"language": "go", "domain": "security", "section": uri}));
        assert_headed(text_field(&r, "content"), text_field(hit, "heading"), &format!("{era:?} {uri}"));

        // Pages of a section add up to it.
        let id = ids[2].1.trim_start_matches('#').to_owned();
        let whole = s.get(json!({"language": "go", "domain": "security", "section": id, "max_tokens": 25000}));
        let (mut joined, mut cursor, mut pages) = (String::new(), None::<String>, 0);
        loop {
            pages += 1;
            assert!(pages < 100, "{era:?}: too many pages");
            let mut arguments = json!({"language": "go", "domain": "security", "section": id, "max_tokens": 100});
            if let Some(c) = &cursor {
                arguments["cursor"] = json!(c);
            }
            let page = s.get(arguments);
            joined.push_str(text_field(&page, "content"));
            match page.get("next_cursor").and_then(Value::as_str) {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert!(pages > 1, "{era:?}: a section of go/security fits in 100 tokens");
        assert_eq!(joined, text_field(&whole, "content"), "{era:?}");

        let message = s.tool_error("get_stdlib", json!({"language": "go", "domain": "security", "section": "nope"}));
        assert!(message.contains("stdlib://go/security") && message.contains("nope"), "{era:?}: {message}");
        assert!(message.contains(ids[1].1.trim_start_matches('#')), "{era:?}: no ids listed: {message}");
        s.assert_alive();
    }
}

#[test]
fn get_stdlib_describes_its_section_argument() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let listing = s.tool_listing("get_stdlib");
        let section = &listing["inputSchema"]["properties"]["section"];
        let description = text_field(section, "description");
        assert!(description.contains("outline") && description.contains("search"), "{era:?}: {description}");
        assert!(description.contains("max_tokens"), "{era:?}: {description}");
        s.assert_alive();
    }
}

#[test]
fn section_ids_two_documents_share_are_handed_out_as_uris_that_resolve() {
    let dir = TempDir::new().expect("temp dir");
    let front = |title: &str| format!("---\ntitle: {title}\ndescription: d\ntags: [t]\nupdatedAt: '2026-01-02'\n---\n");
    write(dir.path(), "all/testing.md", &format!("{}# Base\n\n## Overview\n\nbase overview\n", front("Base")));
    write(dir.path(), "rust/testing.md", &format!("{}# Rust\n\n## Overview\n\nrust overview\n", front("Rust")));
    write(dir.path(), "go/testing/fuzzing.md", "# Go fuzzing\n\n## Overview\n\nfuzz overview\n\n### Corpus\n\nseeds\n");
    write(dir.path(), "go/testing/benchmarks.md", "# Go benchmarks\n\n## Loops\n\nb.Loop\n");
    let root = arg(&dir);
    for era in ERAS {
        let mut s = Session::start(era, &["--no-builtin", "--root", &root]);
        let outline = s.get(json!({"language": "rust", "domain": "testing", "format": "outline"}));
        let ids = outline_ids(text_field(&outline, "content"));
        let shared: Vec<&str> = ids.iter().filter(|(h, _)| h == "Overview").map(|(_, id)| id.as_str()).collect();
        assert_eq!(shared, ["stdlib://all/testing#overview", "stdlib://rust/testing#overview"], "{era:?}");
        for (heading, id) in &ids {
            let r = s.get(json!({"language": "rust", "domain": "testing", "section": id}));
            assert_headed(text_field(&r, "content"), heading, &format!("{era:?} {id}"));
        }
        let r = s.get(json!({"language": "rust", "domain": "testing", "section": shared[0]}));
        assert!(text_field(&r, "content").contains("base overview"), "{era:?}: {r}");
        // The bare id is ambiguous: the error offers both.
        let message =
            s.tool_error("get_stdlib", json!({"language": "rust", "domain": "testing", "section": "overview"}));
        assert!(message.contains(shared[0]) && message.contains(shared[1]), "{era:?}: {message}");
        assert!(s.read(shared[1]).contains("rust overview"), "{era:?}");

        // Topic documents: each section URI reads its own document's section.
        let fuzz = s.read("stdlib://go/testing/fuzzing#overview");
        assert_eq!(fuzz, "## Overview\n\nfuzz overview\n\n### Corpus\n\nseeds\n", "{era:?}");
        assert_eq!(s.read("stdlib://go/testing/fuzzing#corpus"), "### Corpus\n\nseeds\n", "{era:?}");
        // The key of topic documents only: its sections by id.
        assert_eq!(s.read("stdlib://go/testing#loops"), "## Loops\n\nb.Loop\n", "{era:?}");
        s.error("resources/read", json!({"uri": "stdlib://go/testing/fuzzing#loops"}), INVALID_PARAMS);
        let (hits, _) = s.tool("search_stdlib", json!({"query": "fuzz overview"}));
        let hit = &hits["results"][0];
        assert_eq!(hit["uri"], "stdlib://go/testing/fuzzing", "{era:?}: {hits}");
        s.read(&format!("stdlib://go/testing/fuzzing#{}", text_field(hit, "section")));
        s.assert_alive();
    }
}

#[test]
fn a_section_whose_heading_holds_a_hash_is_found_as_written_by_id_and_by_uri() {
    let dir = TempDir::new().expect("temp dir");
    write(dir.path(), "dotnet/interop.md", "# Interop\n\n## C# interop\n\nc sharp\n\n## F# notes\n\nf sharp\n");
    let root = arg(&dir);
    for era in ERAS {
        let mut s = Session::start(era, &["--no-builtin", "--root", &root]);
        let outline = s.get(json!({"language": "dotnet", "domain": "interop", "format": "outline"}));
        let ids = outline_ids(text_field(&outline, "content"));
        assert!(ids.contains(&("C# interop".to_owned(), "#c-interop".to_owned())), "{era:?}: {ids:?}");
        for (section, heading, text) in [
            ("C# interop", "C# interop", "c sharp"),
            ("c-interop", "C# interop", "c sharp"),
            ("#c-interop", "C# interop", "c sharp"),
            ("stdlib://dotnet/interop#c-interop", "C# interop", "c sharp"),
            ("F# notes", "F# notes", "f sharp"),
            ("#f-notes", "F# notes", "f sharp"),
        ] {
            let r = s.get(json!({"language": "dotnet", "domain": "interop", "section": section}));
            let content = text_field(&r, "content");
            assert_headed(content, heading, &format!("{era:?} {section}"));
            assert!(content.contains(text), "{era:?} {section}: {content}");
            assert_eq!(s.read(text_field(&r, "section_uri")), content, "{era:?} {section}");
        }
        s.assert_alive();
    }
}

#[test]
fn the_section_template_is_listed_and_completes_section_ids() {
    for era in ERAS {
        let mut s = Session::builtin(era);
        let templates = s.list_all("resources/templates/list", "resourceTemplates");
        let uris: Vec<&str> = templates.iter().filter_map(|t| t["uriTemplate"].as_str()).collect();
        assert_eq!(uris, [TEMPLATE, SECTION_TEMPLATE], "{era:?}");
        let reference = json!({"type": "ref/resource", "uri": SECTION_TEMPLATE});
        let values = s.complete(reference.clone(), "language", "ty", Value::Null);
        assert_eq!(values, ["typescript"], "{era:?}");
        let values = s.complete(reference.clone(), "section", "set-", json!({"language": "go", "domain": "security"}));
        assert_eq!(values, ["set-server-and-client-timeouts"], "{era:?}");
        for id in s.complete(reference, "section", "", json!({"language": "go", "domain": "security"})) {
            s.read(&format!("stdlib://go/security#{id}"));
        }
        s.assert_alive();
    }
}

#[test]
fn the_base_and_the_language_document_are_joined_by_a_blank_line() {
    let dir = TempDir::new().expect("temp dir");
    // The base ends without a newline; the language document opens with a heading.
    write(dir.path(), "all/testing.md", "# Base testing\n\nThe last line of the base.");
    write(dir.path(), "rust/testing.md", "# Rust testing\n\nRust rules.\n");
    let root = arg(&dir);
    for era in ERAS {
        let mut s = Session::start(era, &["--no-builtin", "--root", &root]);
        let r = s.get(json!({"language": "rust", "domain": "testing"}));
        let content = text_field(&r, "content");
        assert_eq!(
            content, "# Base testing\n\nThe last line of the base.\n\n# Rust testing\n\nRust rules.\n",
            "{era:?}"
        );
        s.assert_alive();
    }
}
