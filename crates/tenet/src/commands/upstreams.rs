//! `tenet upstreams [URL]` and `tenet peers [URL]`: what a running node's
//! `GET /upstreams` or `GET /peers` says, as a table (or the JSON itself). Both exit
//! alike: 0 when every one listed is up, required or not (`required` gates only
//! `/ready`); 1 when one is not; 3 when the server cannot be reached; 4 when it answers
//! without the page.

use std::process::ExitCode;

use serde::Deserialize;

use super::client_output::{printable, printable_json};
use super::health;

/// Which page to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `GET /upstreams`.
    Upstreams,
    /// `GET /peers`: this node's peers, as it sees them.
    Peers,
}

impl Which {
    fn path(self) -> &'static str {
        match self {
            Self::Upstreams => "/upstreams",
            Self::Peers => "/peers",
        }
    }
}

// Exit codes: some listed upstream or peer not up, a URL or `TENET_TOKEN` that cannot be
// used, a server out of reach, one that answered without the page.
use super::exit::{FAILED as NOT_UP, UNEXPECTED as NO_PAGE, UNREACHABLE, USAGE};

/// One row of `GET /upstreams` or `GET /peers` (the fields this command shows).
#[derive(Debug, Deserialize)]
struct Row {
    /// Empty for a peer whose node id is not known yet.
    #[serde(default, deserialize_with = "null_as_empty")]
    name: String,
    /// Its URL or command.
    #[serde(default)]
    target: String,
    /// The node id it announced.
    #[serde(default)]
    node: Option<String>,
    state: String,
    #[serde(default)]
    required: bool,
    era: Option<String>,
    version: Option<String>,
    #[serde(default)]
    tools: u64,
    #[serde(default)]
    prompts: u64,
    #[serde(default)]
    resources: u64,
    #[serde(default)]
    templates: u64,
    #[serde(default)]
    left_out: u64,
    latency_ms: Option<f64>,
    #[serde(default)]
    restarts: u64,
    last_error: Option<String>,
    /// How callers' calls reach it (`per-caller`, `per-conversation`, `shared`), once
    /// connected.
    #[serde(default)]
    session: Option<String>,
    /// The callers' own sessions open there.
    #[serde(default)]
    sessions: u64,
}

impl Row {
    /// How it is named: a peer whose node id is not known yet by its URL.
    fn display_name(&self) -> &str {
        if self.name.is_empty() { &self.target } else { &self.name }
    }

    /// The SESSIONS cell: the mode, and how many callers' sessions are open when they
    /// have their own.
    fn sessions_cell(&self) -> String {
        match self.session.as_deref() {
            None => "-".to_owned(),
            Some("shared") => "shared".to_owned(),
            Some(mode) => format!("{} {mode}", self.sessions),
        }
    }
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Option::<String>::deserialize(d).map(Option::unwrap_or_default)
}

#[derive(Debug, Deserialize)]
struct Page {
    /// The node that answered (`/peers`).
    #[serde(default)]
    node: Option<String>,
    #[serde(alias = "peers")]
    upstreams: Vec<Row>,
}

/// Prints the upstreams or the peers of the node at `url` (its base, its MCP endpoint
/// or one of its pages; plain `http://`). With authorization on, the page needs a
/// token with `tenet:status`, taken from `TENET_TOKEN`.
///
/// Both pages exit by one rule, as the commands' help says: 0 when every one listed is
/// up, required or not; [`NOT_UP`] when one is not, each named on stderr; [`USAGE`],
/// [`UNREACHABLE`], [`NO_PAGE`] when there is no page to judge.
pub fn run(url: &str, json: bool, which: Which) -> ExitCode {
    let page_url = page_of(url, which);
    if !page_url.starts_with("http://") {
        eprintln!("tenet: {url}: only plain http:// URLs can be asked (the status pages are on the HTTP endpoint)");
        return ExitCode::from(USAGE);
    }
    // A token that cannot go in a header is refused by `health::get`, unsent (USAGE).
    let token = std::env::var("TENET_TOKEN").ok().filter(|t| !t.is_empty());
    let body = match health::get(&page_url, token.as_deref()) {
        Ok((200, body)) => body,
        Ok((status @ (401 | 403), _)) => {
            let scope = tenet_http::STATUS_SCOPE;
            eprintln!(
                "tenet: {page_url}: HTTP {status}: authorization is on: the page needs a token with {scope} in TENET_TOKEN"
            );
            return ExitCode::from(NO_PAGE);
        }
        Ok((404, _)) => {
            let why = match which {
                Which::Upstreams => "this server is not a gateway (it has no [[upstream]] or [[peer]])",
                Which::Peers => "this server has no /peers page (is it a Tenet node, served over HTTP?)",
            };
            eprintln!("tenet: {page_url}: HTTP 404: {why}");
            return ExitCode::from(NO_PAGE);
        }
        Ok((status, _)) => {
            eprintln!("tenet: {page_url}: HTTP {status}");
            return ExitCode::from(NO_PAGE);
        }
        Err(e) => {
            eprintln!("tenet: {page_url}: {}", printable(&e.to_string()));
            return ExitCode::from(match e {
                health::GetError::Unusable(_) => USAGE,
                health::GetError::Unreachable(_) => UNREACHABLE,
                // Something answered, but not HTTP: not the server's page either.
                health::GetError::NotHttp(_) => NO_PAGE,
            });
        }
    };
    let page: Page = match serde_json::from_str(&body) {
        Ok(page) => page,
        Err(e) => {
            eprintln!("tenet: {page_url}: not a {} page: {}", which.path(), printable(&e.to_string()));
            return ExitCode::from(NO_PAGE);
        }
    };
    // Every text here is the gateway's: printed with what a terminal would act on escaped.
    if json {
        outln!("{}", printable_json(body.trim_end()));
    } else {
        if let Some(node) = &page.node {
            outln!("node {}: {} peers", printable(node), page.upstreams.len());
        }
        out!("{}", printable(&table(&page.upstreams, which)));
    }
    match not_up(&page.upstreams) {
        None => ExitCode::SUCCESS,
        Some(names) => {
            eprintln!("tenet: not up: {}", printable(&names));
            ExitCode::from(NOT_UP)
        }
    }
}

/// The rows that are not up, each with its state (`tickets (down)`), if any: required
/// or not, the same for upstreams and peers. Whether one is required decides only the
/// server's `/ready`.
fn not_up(rows: &[Row]) -> Option<String> {
    let names: Vec<String> =
        rows.iter().filter(|r| r.state != "up").map(|r| format!("{} ({})", r.display_name(), r.state)).collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// The page `which` of the server at `url`.
fn page_of(url: &str, which: Which) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}{}", which.path())
}

/// The rows as aligned columns, with a header (for peers, the node id each announced
/// instead of the left-out count).
fn table(rows: &[Row], which: Which) -> String {
    let fourth = if which == Which::Peers { "NODE" } else { "LEFT OUT" };
    let mut header = vec!["NAME", "STATE", "PROTOCOL", "TOOLS", "PROMPTS", "RESOURCES", fourth, "LATENCY", "RESTARTS"];
    if which == Which::Upstreams {
        header.push("SESSIONS");
    }
    let mut lines: Vec<Vec<String>> = vec![header.into_iter().map(str::to_owned).collect()];
    for row in rows {
        let protocol = match (&row.version, &row.era) {
            (Some(version), _) => version.clone(),
            (None, Some(era)) => era.clone(),
            (None, None) => "-".to_owned(),
        };
        let name = row.display_name();
        // What differs from the default: an upstream is required, a peer not (either
        // way, one that is not up makes the command fail; `required` decides `/ready`).
        let marker = match (which, row.required) {
            (Which::Upstreams, false) => " (optional)",
            (Which::Peers, true) => " (required)",
            _ => "",
        };
        let fourth = match which {
            Which::Peers => row.node.clone().unwrap_or_else(|| "-".to_owned()),
            Which::Upstreams => row.left_out.to_string(),
        };
        let mut line = vec![
            format!("{name}{marker}"),
            row.state.clone(),
            protocol,
            row.tools.to_string(),
            row.prompts.to_string(),
            format!("{} + {} templates", row.resources, row.templates),
            fourth,
            row.latency_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1} ms")),
            row.restarts.to_string(),
        ];
        if which == Which::Upstreams {
            line.push(row.sessions_cell());
        }
        lines.push(line);
    }
    let columns = lines[0].len();
    let widths: Vec<usize> =
        (0..columns).map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
    let mut text = String::new();
    for line in &lines {
        let cells: Vec<String> = line.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    for row in rows.iter().filter(|r| r.state != "up") {
        if let Some(error) = &row.last_error {
            text.push_str(&format!("{}: {error}\n", row.display_name()));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_page_is_found_from_any_url_of_the_server() {
        for url in
            ["http://127.0.0.1:3020", "http://127.0.0.1:3020/mcp", "http://127.0.0.1:3020/upstreams", "127.0.0.1:3020"]
        {
            assert_eq!(page_of(url, Which::Upstreams), "http://127.0.0.1:3020/upstreams", "{url}");
        }
        assert_eq!(page_of("http://127.0.0.1:3020/mcp", Which::Peers), "http://127.0.0.1:3020/peers");
    }

    #[test]
    fn the_peers_table_names_each_node_and_an_unknown_one_by_its_url() {
        let page: Page = serde_json::from_value(serde_json::json!({"node": "a", "peers": [
            {"name": "c", "target": "http://127.0.0.1:9003/mcp", "node": "c", "state": "up", "required": false,
             "era": "stateless", "version": "2026-07-28", "tools": 2, "latency_ms": 0.3, "restarts": 0},
            {"name": null, "target": "http://127.0.0.1:9004/mcp", "node": null, "state": "down", "required": false,
             "restarts": 2, "last_error": "connection refused"}
        ]}))
        .unwrap();
        assert_eq!(page.node.as_deref(), Some("a"));
        let text = table(&page.upstreams, Which::Peers);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains("NODE") && !lines[0].contains("LEFT OUT") && !lines[0].contains("SESSIONS"),
            "{text}"
        );
        assert!(lines[1].starts_with("c ") && lines[1].contains(" c ") && !lines[1].contains("optional"), "{text}");
        assert!(lines[2].starts_with("http://127.0.0.1:9004/mcp") && lines[2].contains("down"), "{text}");
        assert_eq!(lines[3], "http://127.0.0.1:9004/mcp: connection refused");
    }

    /// One rule for both pages: every row counts, required or not.
    #[test]
    fn any_row_not_up_fails_required_or_not_upstream_or_peer() {
        let rows = |required: bool| -> Vec<Row> {
            serde_json::from_value(serde_json::json!([
                {"name": "a", "state": "up", "required": required},
                {"name": null, "target": "http://127.0.0.1:9004/mcp", "state": "connecting", "required": required},
                {"name": "c", "state": "failed", "required": required}
            ]))
            .unwrap()
        };
        for required in [true, false] {
            assert_eq!(not_up(&rows(required)).as_deref(), Some("http://127.0.0.1:9004/mcp (connecting), c (failed)"));
            assert_eq!(not_up(&rows(required)[..1]), None);
        }
        assert_eq!(not_up(&[]), None, "none listed: nothing is down");
        // The table marks what differs from the default, the exit code aside.
        let peers = table(&rows(true), Which::Peers);
        assert!(peers.lines().nth(1).unwrap().starts_with("a (required) "), "{peers}");
        let upstreams = table(&rows(false), Which::Upstreams);
        assert!(upstreams.lines().nth(1).unwrap().starts_with("a (optional) "), "{upstreams}");
    }

    #[test]
    fn the_table_lines_up_and_says_why_an_upstream_is_down() {
        let page: Page = serde_json::from_value(serde_json::json!({"upstreams": [
            {"name": "everything", "state": "up", "required": true, "era": "legacy", "version": "2025-11-25",
             "tools": 13, "prompts": 4, "resources": 7, "templates": 2, "left_out": 0, "latency_ms": 0.42,
             "restarts": 0, "last_error": null, "session": "per-caller", "sessions": 3},
            {"name": "tickets", "state": "down", "required": false, "era": null, "version": null,
             "tools": 0, "prompts": 0, "resources": 0, "templates": 0, "left_out": 0, "latency_ms": null,
             "restarts": 3, "last_error": "connection refused"}
        ]}))
        .unwrap();
        let text = table(&page.upstreams, Which::Upstreams);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NAME"), "{text}");
        assert!(lines[1].starts_with("everything ") && lines[1].contains("2025-11-25") && lines[1].contains("0.4 ms"));
        assert!(lines[0].ends_with("SESSIONS") && lines[1].ends_with("3 per-caller"), "{text}");
        assert!(lines[2].starts_with("tickets (optional)") && lines[2].contains("down"), "{text}");
        assert!(lines[2].ends_with(" -"), "not connected, no mode yet: {text}");
        assert_eq!(lines[0].find("STATE"), lines[1].find("up"), "columns line up:\n{text}");
        assert_eq!(lines[3], "tickets: connection refused");
    }
}
