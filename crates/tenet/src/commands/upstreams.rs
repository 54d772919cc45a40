//! `tenet upstreams [URL]`: what a running gateway's `GET /upstreams` says, as a table
//! (or the JSON itself); exit 0 when every required upstream is up.

use std::process::ExitCode;

use serde::Deserialize;

use super::health;

/// One row of `GET /upstreams` (the fields this command shows).
#[derive(Debug, Deserialize)]
struct Row {
    name: String,
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
}

#[derive(Debug, Deserialize)]
struct Page {
    upstreams: Vec<Row>,
}

/// Prints the upstreams of the gateway at `url` (its base, its MCP endpoint or its
/// `/upstreams` page; plain `http://`).
pub fn run(url: &str, json: bool) -> ExitCode {
    let page_url = page_of(url);
    let body = match health::get(&page_url) {
        Ok((200, body)) => body,
        Ok((404, _)) => {
            eprintln!("tenet: {page_url}: HTTP 404: this server is not a gateway (it has no [[upstream]])");
            return ExitCode::FAILURE;
        }
        Ok((status, _)) => {
            eprintln!("tenet: {page_url}: HTTP {status}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("tenet: {page_url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let page: Page = match serde_json::from_str(&body) {
        Ok(page) => page,
        Err(e) => {
            eprintln!("tenet: {page_url}: not an upstreams page: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        outln!("{}", body.trim_end());
    } else {
        out!("{}", table(&page.upstreams));
    }
    let waiting: Vec<&str> =
        page.upstreams.iter().filter(|u| u.required && u.state != "up").map(|u| u.name.as_str()).collect();
    if waiting.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("tenet: not up: {}", waiting.join(", "));
        ExitCode::FAILURE
    }
}

/// The `/upstreams` page of the server at `url`.
fn page_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/upstreams")
}

/// The rows as aligned columns, with a header.
fn table(rows: &[Row]) -> String {
    let header = ["NAME", "STATE", "PROTOCOL", "TOOLS", "PROMPTS", "RESOURCES", "LEFT OUT", "LATENCY", "RESTARTS"];
    let mut lines: Vec<[String; 9]> = vec![header.map(str::to_owned)];
    for row in rows {
        let protocol = match (&row.version, &row.era) {
            (Some(version), _) => version.clone(),
            (None, Some(era)) => era.clone(),
            (None, None) => "-".to_owned(),
        };
        lines.push([
            format!("{}{}", row.name, if row.required { "" } else { " (optional)" }),
            row.state.clone(),
            protocol,
            row.tools.to_string(),
            row.prompts.to_string(),
            format!("{} + {} templates", row.resources, row.templates),
            row.left_out.to_string(),
            row.latency_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1} ms")),
            row.restarts.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..9).map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
    let mut text = String::new();
    for line in &lines {
        let cells: Vec<String> = line.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    for row in rows.iter().filter(|r| r.state != "up") {
        if let Some(error) = &row.last_error {
            text.push_str(&format!("{}: {error}\n", row.name));
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
            assert_eq!(page_of(url), "http://127.0.0.1:3020/upstreams", "{url}");
        }
    }

    #[test]
    fn the_table_lines_up_and_says_why_an_upstream_is_down() {
        let page: Page = serde_json::from_value(serde_json::json!({"upstreams": [
            {"name": "everything", "state": "up", "required": true, "era": "stateless", "version": "2026-07-28",
             "tools": 13, "prompts": 4, "resources": 7, "templates": 2, "left_out": 0, "latency_ms": 0.42,
             "restarts": 0, "last_error": null},
            {"name": "tickets", "state": "down", "required": false, "era": null, "version": null,
             "tools": 0, "prompts": 0, "resources": 0, "templates": 0, "left_out": 0, "latency_ms": null,
             "restarts": 3, "last_error": "connection refused"}
        ]}))
        .unwrap();
        let text = table(&page.upstreams);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NAME"), "{text}");
        assert!(lines[1].starts_with("everything ") && lines[1].contains("2026-07-28") && lines[1].contains("0.4 ms"));
        assert!(lines[2].starts_with("tickets (optional)") && lines[2].contains("down"), "{text}");
        assert_eq!(lines[0].find("STATE"), lines[1].find("up"), "columns line up:\n{text}");
        assert_eq!(lines[3], "tickets: connection refused");
    }
}
