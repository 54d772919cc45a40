//! `tenet serve` as a gateway: the `[gateway]` options, `[[upstream]]` tables and
//! `--upstream` flags, and the upstreams' state on the HTTP endpoint (`/upstreams`,
//! `/ready`).

use std::path::Path;
use std::time::Duration;

use tenet_gateway::{ConfigError, Gateway, GatewayOptions, State, UpstreamConfig};

/// How Tenet fronts other MCP servers.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Gateway")]
pub struct GatewayArgs {
    /// An upstream MCP server, `NAME=URL` (http(s):// or ws(s)://) or `NAME=COMMAND
    /// ARGS…` (a stdio server); repeat for several. `[[upstream]]` tables in the
    /// config file say more (headers, env, tool filters, timeout).
    #[arg(long = "upstream", help_heading = "Gateway", value_name = "NAME=TARGET")]
    pub upstreams: Vec<String>,
    /// What joins an upstream's name and its tool's in the names listed.
    #[arg(long, help_heading = "Gateway", default_value = "__", env = "TENET_TOOL_SEPARATOR")]
    pub tool_separator: String,
    /// List a single upstream's tools under their own names (a transparent gateway).
    #[arg(long, help_heading = "Gateway", env = "TENET_PREFIXLESS", value_parser = crate::parse::switch)]
    pub prefixless: bool,
    /// Seconds between heartbeats to each upstream.
    #[arg(long, help_heading = "Gateway", default_value_t = 15.0, env = "TENET_HEARTBEAT", value_parser = crate::parse::positive_seconds)]
    pub heartbeat: f64,
    /// Heartbeats an upstream may miss in a row before it is down.
    #[arg(long, help_heading = "Gateway", default_value_t = 3, env = "TENET_HEARTBEAT_FAILURES", value_parser = clap::value_parser!(u32).range(1..))]
    pub heartbeat_failures: u32,
    /// Serve only the upstreams' tools, not the knowledge server's own.
    #[arg(long, help_heading = "Gateway", env = "TENET_NO_LOCAL_TOOLS", value_parser = crate::parse::switch)]
    pub no_local_tools: bool,
}

impl GatewayArgs {
    /// The gateway's options.
    pub fn options(&self) -> GatewayOptions {
        GatewayOptions {
            separator: self.tool_separator.clone(),
            prefixless: self.prefixless,
            heartbeat: Duration::from_secs_f64(self.heartbeat),
            failures: self.heartbeat_failures,
            ..GatewayOptions::default()
        }
    }

    /// The upstreams of the config file's `[[upstream]]` tables, then those of the
    /// `--upstream` flags, checked as a whole.
    ///
    /// # Errors
    /// A table or flag that cannot run, with where it is.
    pub fn upstreams(&self, file: Option<&Path>) -> Result<Vec<UpstreamConfig>, String> {
        let mut upstreams = match file {
            Some(file) => from_file(file)?,
            None => Vec::new(),
        };
        let from_files = upstreams.len();
        for flag in &self.upstreams {
            upstreams.push(from_flag(flag)?);
        }
        // An upstream is named where it was given: a file's table by its index there, a
        // flag by the flag.
        let place = |i: usize| match (i.checked_sub(from_files).and_then(|k| self.upstreams.get(k)), file) {
            (Some(flag), _) => format!("--upstream {flag:?}"),
            (_, Some(file)) => format!("{}: upstream[{i}]", file.display()),
            _ => format!("upstream[{i}]"),
        };
        tenet_gateway::validate(&upstreams, &self.options()).map_err(
            |ConfigError { key, upstream, message, .. }| {
                let Some(i) = upstream else { return format!("{key}: {message}") };
                let field = key.strip_prefix(&format!("upstream[{i}]")).unwrap_or_default();
                // The one message that names another upstream: a name given twice.
                let named = |j: usize| match file {
                    Some(file) if j < from_files => format!("upstream[{j}] in {}", file.display()),
                    _ => place(j),
                };
                let message = match message.rsplit_once(" is already the name of upstream[") {
                    Some((head, tail)) => match tail.strip_suffix(']').and_then(|j| j.parse().ok()) {
                        Some(j) => format!("{head} is already the name of {}", named(j)),
                        None => format!("{head} is already the name of upstream[{tail}"),
                    },
                    None => message,
                };
                match field.strip_prefix('.') {
                    // `--upstream "…": name: …`, not `--upstream "…".name: …`.
                    Some(field) if i >= from_files => format!("{}: {field}: {message}", place(i)),
                    _ => format!("{}{field}: {message}", place(i)),
                }
            },
        )?;
        Ok(upstreams)
    }
}

/// The `[[upstream]]` tables of a config file.
fn from_file(file: &Path) -> Result<Vec<UpstreamConfig>, String> {
    #[derive(serde::Deserialize)]
    struct Tables {
        #[serde(default)]
        upstream: Vec<UpstreamConfig>,
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    let table: toml::Table = text.parse().map_err(|e| format!("{}: not valid TOML: {e}", file.display()))?;
    let Some(upstream) = table.get("upstream") else { return Ok(Vec::new()) };
    let mut only = toml::Table::new();
    only.insert("upstream".into(), upstream.clone());
    only.try_into::<Tables>()
        .map(|t| t.upstream)
        .map_err(|e| format!("{}: upstream: {}", file.display(), e.to_string().trim_end().replace('\n', " ")))
}

/// `NAME=URL` or `NAME=COMMAND ARGS…`.
fn from_flag(flag: &str) -> Result<UpstreamConfig, String> {
    let Some((name, target)) = flag.split_once('=') else {
        return Err(format!("--upstream {flag:?}: expected NAME=URL or NAME=COMMAND"));
    };
    let is_url = ["http://", "https://", "ws://", "wss://"].iter().any(|s| target.to_ascii_lowercase().starts_with(s));
    let mut table = toml::Table::new();
    table.insert("name".into(), name.into());
    if is_url {
        table.insert("url".into(), target.into());
    } else {
        let words: Vec<toml::Value> = target.split_whitespace().map(Into::into).collect();
        table.insert("command".into(), toml::Value::Array(words));
    }
    table.try_into().map_err(|e| format!("--upstream {flag:?}: {e}"))
}

/// The gateway's state on the HTTP endpoint: `GET /upstreams`, and `/ready` held at
/// 503 until every required upstream is up.
pub struct Status(pub Gateway);

impl tenet_http::StatusSource for Status {
    fn paths(&self) -> Vec<String> {
        vec!["/upstreams".to_owned()]
    }

    fn page(&self, path: &str) -> Option<String> {
        (path == "/upstreams").then(|| serde_json::json!({ "upstreams": self.0.statuses() }).to_string())
    }

    fn not_ready(&self) -> Option<String> {
        let (mut waiting, mut failed) = (Vec::new(), Vec::new());
        for status in self.0.statuses().into_iter().filter(|s| s.required && s.state != State::Up) {
            if status.state == State::Failed { &mut failed } else { &mut waiting }.push(status.name);
        }
        let mut parts = Vec::new();
        if !waiting.is_empty() {
            parts.push(format!("waiting for upstreams: {}", waiting.join(", ")));
        }
        if !failed.is_empty() {
            parts.push(format!("given up on upstreams (not restarted until Tenet restarts): {}", failed.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn flags_name_urls_and_commands() {
        let url = from_flag("docs=http://127.0.0.1:9000/mcp").unwrap();
        assert_eq!(url.url.as_deref(), Some("http://127.0.0.1:9000/mcp"));
        let cmd = from_flag("files=sh -c true").unwrap();
        assert_eq!(cmd.command.unwrap(), ["sh", "-c", "true"]);
        assert!(from_flag("no-equals-sign").unwrap_err().contains("NAME=URL"));
    }

    #[test]
    fn file_tables_are_read_and_unknown_keys_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tenet.toml");
        std::fs::write(&file, "[http]\nport = 1\n[[upstream]]\nname = \"a\"\nurl = \"ws://h/mcp\"\n").unwrap();
        assert_eq!(from_file(&file).unwrap()[0].name, "a");
        std::fs::write(&file, "[[upstream]]\nname = \"a\"\nurl = \"ws://h/mcp\"\ncomand = 1\n").unwrap();
        let e = from_file(&file).unwrap_err();
        assert!(e.contains("comand"), "{e}");
    }

    #[test]
    fn a_fault_is_named_where_it_was_given() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            gateway: GatewayArgs,
        }
        let args = |flags: &[&str]| Cli::parse_from(std::iter::once("tenet").chain(flags.iter().copied())).gateway;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tenet.toml");
        std::fs::write(&file, "[[upstream]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/mcp\"\n").unwrap();
        let shown = file.display();

        let e = args(&["--upstream", "bad name=http://h/mcp"]).upstreams(Some(&file)).unwrap_err();
        assert!(e.starts_with("--upstream \"bad name=http://h/mcp\": name: \"bad name\" must be"), "{e}");
        let e = args(&["--upstream", "a=http://h/mcp"]).upstreams(Some(&file)).unwrap_err();
        assert_eq!(
            e,
            format!("--upstream \"a=http://h/mcp\": name: \"a\" is already the name of upstream[0] in {shown}")
        );
        let e = args(&["--upstream", "b=http://h/mcp", "--upstream", "b=http://g/mcp"]).upstreams(None).unwrap_err();
        assert!(e.ends_with("is already the name of --upstream \"b=http://h/mcp\""), "{e}");

        std::fs::write(&file, "[[upstream]]\nname = \"a b\"\nurl = \"http://h/mcp\"\n").unwrap();
        let e = args(&["--upstream", "c=http://h/mcp"]).upstreams(Some(&file)).unwrap_err();
        assert!(e.starts_with(&format!("{shown}: upstream[0].name: \"a b\"")), "{e}");
        let e = args(&["--upstream", "c=http://h/mcp", "--prefixless"]).upstreams(Some(&file));
        assert!(e.unwrap_err().contains("upstream[0].name"), "the first fault found is the file's");
        std::fs::write(&file, "").unwrap();
        let e = args(&["--upstream", "c=http://h/mcp", "--upstream", "d=http://h/mcp", "--prefixless"]);
        assert_eq!(e.upstreams(Some(&file)).unwrap_err(), "gateway.prefixless: needs exactly one upstream, not 2");
    }
}
