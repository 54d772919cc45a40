//! `tenet serve` as a gateway and a node: the `[gateway]` options, `[[upstream]]` and
//! `[[peer]]` tables and `--upstream` and `--peer` flags, and their state on the HTTP
//! endpoint (`/upstreams`, `/peers`, `/ready`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use tenet_client::MASK;
use tenet_gateway::{ConfigError, Gateway, GatewayOptions, PeerConfig, State, ToolFilter, UpstreamConfig};

// How Tenet fronts other MCP servers.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Gateway")]
pub struct GatewayArgs {
    /// An upstream MCP server, `NAME=URL` (http(s):// or ws(s)://) or `NAME=COMMAND
    /// ARGS…` (a stdio server, its words quoted as in a shell); repeat for several.
    /// `[[upstream]]` tables in the config file say more (headers, env, tool filters,
    /// timeout).
    #[arg(long = "upstream", help_heading = "Gateway", value_name = "NAME=TARGET")]
    pub upstreams: Vec<String>,
    /// A peer: another Tenet node, `URL` (listed under the node id it announces) or
    /// `NAME=URL`; repeat for several. `[[peer]]` tables in the config file say more
    /// (headers, oauth, tool filters, timeout).
    #[arg(long = "peer", help_heading = "Node", value_name = "[NAME=]URL")]
    pub peers: Vec<String>,
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
    /// A variable of Tenet's environment that every stdio upstream gets, beside `PATH`,
    /// `HOME` and the like, and the `inherit_env` and `env` of its table: a name, `*`
    /// for any run of characters (`'GITHUB_*'`); repeat for several. Nothing else of
    /// Tenet's environment reaches them.
    #[arg(long = "inherit-env", help_heading = "Gateway", value_name = "NAME", value_parser = env_pattern)]
    pub inherit_env: Vec<String>,
}

/// The value parser of `--inherit-env`.
fn env_pattern(s: &str) -> Result<String, String> {
    if tenet_gateway::is_env_pattern(s) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not a variable's name (A-Z, a-z, 0-9, _), * for any run of characters"))
    }
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
    /// `--upstream` flags, then the peers of its `[[peer]]` tables and of the `--peer`
    /// flags, checked as a whole.
    ///
    /// # Errors
    /// A table or flag that cannot run, with where it is.
    pub fn upstreams(&self, file: Option<&Path>) -> Result<Vec<UpstreamConfig>, GatewayError> {
        let mut places = Vec::new();
        let mut all = Vec::new();
        let (upstream_tables, peer_tables) = match file {
            Some(file) => from_file(file)?,
            None => (Vec::new(), Vec::new()),
        };
        for (i, table) in upstream_tables.into_iter().enumerate() {
            places.push(Place::Table("upstream", i));
            all.push(table);
        }
        for flag in &self.upstreams {
            places.push(Place::Flag("--upstream", flag));
            all.push(from_flag(flag)?);
        }
        for (i, table) in peer_tables.into_iter().enumerate() {
            places.push(Place::Table("peer", i));
            all.push(table);
        }
        for flag in &self.peers {
            places.push(Place::Flag("--peer", flag));
            all.push(peer_from_flag(flag)?);
        }
        for stdio in all.iter_mut().filter(|u| u.command.is_some()) {
            for pattern in &self.inherit_env {
                if !stdio.inherit_env.contains(pattern) {
                    stdio.inherit_env.push(pattern.clone());
                }
            }
        }
        // An upstream or peer is named where it was given: a file's table by its index
        // there, a flag by the flag.
        let named = |i: usize| match (&places[i], file) {
            (Place::Flag(flag, value), _) => format!("{flag} {:?}", shown_flag(value)),
            (Place::Table(kind, j), Some(file)) => format!("{kind}[{j}] in {}", file.display()),
            (Place::Table(kind, j), None) => format!("{kind}[{j}]"),
        };
        tenet_gateway::validate(&all, &self.options()).map_err(|ConfigError { key, upstream, message, .. }| {
            let Some(i) = upstream else { return GatewayError { place: None, message: format!("{key}: {message}") } };
            let field = key.split_once('.').map(|(_, field)| field);
            // The one message that names another upstream: a name given twice.
            let message = match message.rsplit_once(" is already the name of ") {
                Some((head, other)) => {
                    let j = all.iter().enumerate().position(|(j, u)| {
                        let kind = if u.peer { "peer" } else { "upstream" };
                        let index = all[..j].iter().filter(|v| v.peer == u.peer).count();
                        format!("{kind}[{index}]") == other
                    });
                    match j {
                        Some(j) => format!("{head} is already the name of {}", named(j)),
                        None => message,
                    }
                }
                None => message,
            };
            let place = match (&places[i], file, field) {
                // `--upstream "…": name: …`.
                (Place::Flag(..), _, Some(field)) => format!("{}: {field}", named(i)),
                (Place::Flag(..), _, None) => named(i),
                (Place::Table(kind, j), Some(file), field) => {
                    let field = field.map(|f| format!(".{f}")).unwrap_or_default();
                    format!("{}: {kind}[{j}]{field}", file.display())
                }
                (Place::Table(..), None, _) => key,
            };
            GatewayError::at(place, message)
        })?;
        Ok(all)
    }
}

/// An `[[upstream]]` or `[[peer]]` table, an `--upstream` or `--peer` flag, or a
/// gateway option that cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    /// Where the fault is: the file and its table (`tenet.toml: upstream[0].url`) or
    /// the flag (`--upstream "a=…": name`). `None` for the gateway's options as a whole
    /// (`gateway.prefixless: …`), which a file and flags may both have set.
    pub place: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl GatewayError {
    /// A fault at `place`.
    fn at(place: impl Into<String>, message: impl Into<String>) -> Self {
        Self { place: Some(place.into()), message: message.into() }
    }
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.place {
            Some(place) => write!(f, "{place}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for GatewayError {}

/// Where an upstream or peer was given.
enum Place<'a> {
    /// The config file's `[[KIND]]` table at this index.
    Table(&'static str, usize),
    /// A flag with its value.
    Flag(&'static str, &'a str),
}

/// The `[[upstream]]` and `[[peer]]` tables of a config file.
fn from_file(file: &Path) -> Result<(Vec<UpstreamConfig>, Vec<UpstreamConfig>), GatewayError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| GatewayError::at(&shown, format!("cannot read: {e}")))?;
    let table: toml::Table = text.parse().map_err(|e| GatewayError::at(&shown, format!("not valid TOML: {e}")))?;
    let upstreams = tables::<UpstreamConfig>(file, &table, "upstream")?;
    let peers = tables::<PeerConfig>(file, &table, "peer")?;
    Ok((upstreams, peers.into_iter().map(PeerConfig::into_upstream).collect()))
}

/// The `[[KIND]]` tables of the config `file`, read as `T`.
fn tables<T: serde::de::DeserializeOwned>(
    file: &Path,
    table: &toml::Table,
    kind: &str,
) -> Result<Vec<T>, GatewayError> {
    let Some(tables) = table.get(kind) else { return Ok(Vec::new()) };
    let toml::Value::Array(tables) = tables else {
        return Err(GatewayError::at(format!("{}: {kind}", file.display()), format!("expected [[{kind}]] tables")));
    };
    tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.clone().try_into::<T>().map_err(|e| {
                let place = format!("{}: {kind}[{i}]", file.display());
                // An unknown key is named by its path, as in the other tables.
                match unknown_key(&e) {
                    Some((path, known)) => {
                        GatewayError::at(format!("{place}.{path}"), crate::parse::unknown("key", known.into_iter()))
                    }
                    None => GatewayError::at(place, e.to_string().trim_end().replace('\n', " ")),
                }
            })
        })
        .collect()
}

/// The path of the key an `unknown field` error is about, within the table read
/// (`timout`, or `tools.alow` inside the table `tools`, where toml says ``in `tools` ``
/// after the message), and the keys serde names as expected.
fn unknown_key(e: &toml::de::Error) -> Option<(String, Vec<String>)> {
    // The key ends where serde's words go on (a key may hold a backtick).
    let (key, rest) = e.message().strip_prefix("unknown field `")?.split_once("`, ")?;
    let known = rest.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    let shown = e.to_string();
    let inner = shown.strip_prefix(e.message()).and_then(|tail| tail.trim().strip_prefix("in `")?.strip_suffix('`'));
    Some((inner.map_or_else(|| key.to_owned(), |inner| format!("{inner}.{key}")), known))
}

/// `URL` or `NAME=URL`.
fn peer_from_flag(flag: &str) -> Result<UpstreamConfig, GatewayError> {
    let (name, url) = split_name(flag);
    // A table, as a config file's: the `[[peer]]` defaults come from one place.
    let mut table = toml::Table::new();
    if let Some(name) = name {
        table.insert("name".into(), name.into());
    }
    table.insert("url".into(), url.into());
    let peer: PeerConfig = table.try_into().map_err(|e| flag_error("--peer", flag, e))?;
    Ok(peer.into_upstream())
}

/// The words of a command as a shell splits them, without its other rules: blanks
/// separate words; `'…'` keeps what it holds as written, `"…"` too but for `\"` and
/// `\\`; outside quotes, a backslash before a blank, a quote or a backslash keeps that
/// character (`a\ b` is one word), and any other backslash stays as written
/// (`C:\tools`, `\d+`). `#`, `$` and the like mean nothing. `None` when a quote is
/// left open.
fn words(text: &str) -> Option<Vec<String>> {
    let (mut words, mut word) = (Vec::new(), None::<String>);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let word = word.get_or_insert_default();
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                let word = word.get_or_insert_default();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\')) => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            '\\' if chars.peek().is_some_and(|&n| n.is_whitespace() || matches!(n, '\'' | '"' | '\\')) => {
                word.get_or_insert_default().extend(chars.next());
            }
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    Some(words)
}

/// An `--upstream` or `--peer` value (`[NAME=]TARGET`) as logs and errors may show it:
/// whatever in it looks like a URL (holds `://`), without its credentials and query
/// ([`tenet_client::shown_url`]); a command's words without the secrets they may
/// carry ([`shown_command`]).
pub fn shown_flag(value: &str) -> String {
    let (name, target) = split_name(value);
    let target = if names_url(target) {
        tenet_client::shown_url(target.trim())
    } else if let Some(words) = words(target) {
        // Words as a shell splits them, so that a quoted header is one.
        let mut shown = shown_command(&words);
        // `GITHUB_TOKEN=ghp_… server`, a variable written as a shell writes it, reads as
        // an upstream named GITHUB_TOKEN whose program is the secret.
        if let (Some(name), Some(first)) = (name, shown.first_mut())
            && is_variable_name(name)
            && names_secret(name)
        {
            MASK.clone_into(first);
        }
        shown.join(" ")
    } else {
        // A quote left open: which words are whose is unknown, so only the program is shown.
        let program = target.split_whitespace().next().unwrap_or_default();
        match target.trim() == program {
            true => shown_word(program),
            false => format!("{} {MASK}", shown_word(program)),
        }
    };
    match name {
        Some(name) => format!("{name}={target}"),
        None => target,
    }
}

/// A command's words as shown (config check, errors), without the secrets they may
/// carry: the value of a long option named for a secret (`--token=…`, `--api-key …`)
/// masked, even when it starts with `-`; a header named for a secret masked after its
/// name (`--header "Authorization: Bearer …"`, `-H "cookie:…"`); a variable named for
/// a secret masked after its name (`env GITHUB_TOKEN=… server`, `-e API_KEY=…`); and a
/// word that holds a URL shown without credentials. Short options (`-p …`) say nothing
/// of what they hold and are shown as written, their values by these rules.
pub fn shown_command(words: &[String]) -> Vec<String> {
    let mut shown = Vec::with_capacity(words.len());
    let mut masks_next = false;
    for word in words {
        if std::mem::take(&mut masks_next) {
            shown.push(MASK.to_owned());
            continue;
        }
        masks_next = word.starts_with('-') && !word.contains('=') && names_secret(word);
        shown.push(shown_word(word));
    }
    shown
}

/// One word of a command as shown (see [`shown_command`]), the next word's masking
/// aside. An option's value given with `=` is shown by the same rules as a word.
fn shown_word(word: &str) -> String {
    if word.contains("://") && !word.starts_with('-') {
        return tenet_client::shown_url(word);
    }
    if let Some((option, value)) = word.split_once('=').filter(|(option, _)| option.starts_with('-')) {
        return match names_secret(option) {
            true => format!("{option}={MASK}"),
            false => format!("{option}={}", shown_word(value)),
        };
    }
    if let Some((name, value)) =
        word.split_once(':').filter(|(name, _)| is_header_name(name) && names_secret_header(name))
    {
        // `Authorization: Bearer …` stays `Authorization: ********`, its blank kept.
        let blank = &value[..value.len() - value.trim_start().len()];
        return format!("{name}:{blank}{MASK}");
    }
    match word.split_once('=') {
        Some((name, _)) if is_variable_name(name) && names_secret(name) => format!("{name}={MASK}"),
        _ => word.to_owned(),
    }
}

/// Whether a command-line option's or a variable's name says its value is a secret.
fn names_secret(option: &str) -> bool {
    let name = option.trim_start_matches('-').to_ascii_lowercase();
    ["token", "secret", "password", "passwd", "key", "credential", "auth"].iter().any(|s| name.contains(s))
}

/// Whether an HTTP header's name says its value is a secret: those [`names_secret`]
/// names (`Authorization`, `Proxy-Authorization`, `X-Api-Key`, `X-Auth-Token`…) and
/// cookies.
fn names_secret_header(name: &str) -> bool {
    names_secret(name) || name.to_ascii_lowercase().contains("cookie")
}

/// Whether text is an HTTP header's name as a command's argument writes one: letters,
/// digits, `-` and `_`, not starting with `-` (an option).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// Whether text is an environment variable's name: letters, digits and `_`, not
/// starting with a digit.
fn is_variable_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME=URL` or `NAME=COMMAND ARGS…`.
fn from_flag(flag: &str) -> Result<UpstreamConfig, GatewayError> {
    let (Some(name), target) = split_name(flag) else {
        return Err(flag_error("--upstream", flag, "expected NAME=URL or NAME=COMMAND"));
    };
    let mut table = toml::Table::new();
    table.insert("name".into(), name.into());
    if names_url(target) {
        table.insert("url".into(), target.trim().into());
    } else {
        // Words as a shell splits them: `'/a path/with spaces'` is one.
        let Some(words) = words(target) else {
            return Err(flag_error("--upstream", flag, "a quote is not closed"));
        };
        table.insert("command".into(), toml::Value::Array(words.into_iter().map(Into::into).collect()));
    }
    table.try_into().map_err(|e| flag_error("--upstream", flag, e))
}

/// The `NAME` and the rest of `[NAME=]TARGET`. A URL's query holds `=` too: a name is
/// what comes before the first, unless that is part of a URL.
fn split_name(value: &str) -> (Option<&str>, &str) {
    match value.split_once('=') {
        Some((name, target)) if !name.contains("://") => (Some(name), target),
        _ => (None, value),
    }
}

/// Whether a flag's target is a URL, not a command: its first word holds `://`, even
/// in a scheme the client does not speak (`htps://…`, refused as such when checked,
/// not run as a command).
fn names_url(target: &str) -> bool {
    target.split_whitespace().next().is_some_and(|word| word.contains("://"))
}

/// A fault in the value of `--upstream` or `--peer`, the value shown without credentials.
fn flag_error(name: &str, value: &str, message: impl std::fmt::Display) -> GatewayError {
    GatewayError::at(format!("{name} {:?}", shown_flag(value)), message.to_string())
}

/// The upstreams and peers as `tenet serve` runs them, as `[[upstream]]` and `[[peer]]`
/// tables (for `tenet config check`): each value it was given, and each it was not
/// with its default, marked so. What may hold a credential is not shown: env and
/// header values, OAuth secrets, and a URL's user information and query.
pub fn effective(upstreams: &[UpstreamConfig]) -> String {
    let quoted = |text: &str| toml::Value::from(text).to_string();
    let list = |items: &[String]| format!("[{}]", items.iter().map(|i| quoted(i)).collect::<Vec<_>>().join(", "));
    let hidden = |map: &BTreeMap<String, String>| {
        let table: toml::Table = map.keys().map(|key| (key.clone(), toml::Value::from(MASK))).collect();
        toml::Value::Table(table).to_string()
    };
    let mut out = String::new();
    for upstream in upstreams {
        out.push_str(if upstream.peer { "\n[[peer]]\n" } else { "\n[[upstream]]\n" });
        out.push_str(&match upstream.name.as_str() {
            "" => "name = \"\"  # the node id it announces\n".to_owned(),
            name => format!("name = {}\n", quoted(name)),
        });
        let mut line = |key: &str, value: String, given: bool| {
            let default = if given { "" } else { "  # default" };
            out.push_str(&format!("{key} = {value}{default}\n"));
        };
        if let Some(command) = &upstream.command {
            line("command", list(&shown_command(command)), true);
        }
        if upstream.url.is_some() {
            line("url", quoted(&upstream.target()), true);
        }
        if !upstream.env.is_empty() {
            line("env", hidden(&upstream.env), true);
        }
        if upstream.command.is_some() {
            line("inherit_env", list(&upstream.inherit_env), !upstream.inherit_env.is_empty());
        }
        if !upstream.headers.is_empty() {
            line("headers", hidden(&upstream.headers), true);
        }
        line("timeout", upstream.call_timeout().as_secs().to_string(), upstream.timeout.is_some());
        let tools = format!("{{ allow = {}, deny = {} }}", list(&upstream.tools.allow), list(&upstream.tools.deny));
        line("tools", tools, upstream.tools != ToolFilter::default());
        // An upstream is required by default, a peer not (nodes start in any order).
        let required_by_default = !upstream.peer;
        line("required", upstream.required.to_string(), upstream.required != required_by_default);
        if !upstream.scopes.is_empty() {
            line("scopes", list(&upstream.scopes), true);
        }
        if upstream.open {
            line("open", "true".to_owned(), true);
        }
        line("protocol", quoted(upstream.protocol.as_deref().unwrap_or("auto")), upstream.protocol.is_some());
        if let Some(limit) = upstream.restart_limit() {
            line("max_restarts", limit.to_string(), upstream.max_restarts.is_some());
        }
        if let Some(rate) = &upstream.rate_limit {
            line("rate_limit", quoted(rate), true);
        }
        if let Some(max) = upstream.max_concurrency {
            line("max_concurrency", max.to_string(), true);
        }
        if !upstream.peer {
            // Each caller's own session unless the table says otherwise; one pinned to the
            // stateless era keeps none, so its calls are shared whatever this says.
            let stateless = match upstream.pin() {
                Some(tenet_client::VersionPin::Modern) => true,
                Some(tenet_client::VersionPin::Exact(v)) => v.era() == tenet_client::protocol::Era::Stateless,
                _ => false,
            };
            let session = match upstream.session {
                _ if stateless => "shared",
                Some(mode) => mode.label(),
                None => "per-caller",
            };
            line("session", quoted(session), upstream.session.is_some() || stateless);
            line("max_sessions", upstream.max_sessions().to_string(), upstream.max_sessions.is_some());
            let idle = upstream.session_idle_timeout().as_secs().to_string();
            line("session_idle_timeout", idle, upstream.session_idle_timeout.is_some());
        }
        line("max_message_bytes", upstream.message_limit().to_string(), upstream.max_message_bytes.is_some());
        if let Some(oauth) = &upstream.oauth {
            let mut members = vec![format!("client_id = {}", quoted(&oauth.client_id))];
            if oauth.client_secret.is_some() {
                members.push(format!("client_secret = \"{MASK}\""));
            }
            if let Some(env) = &oauth.client_secret_env {
                members.push(format!("client_secret_env = {}", quoted(env)));
            }
            if let Some(key) = &oauth.private_key_file {
                members.push(format!("private_key_file = {}", quoted(&key.display().to_string())));
            }
            line("oauth", format!("{{ {} }}", members.join(", ")), true);
        }
    }
    out
}

/// The gateway's state on the HTTP endpoint: `GET /upstreams` and `GET /peers`, and
/// `/ready` held at 503 until every required upstream and peer is up.
pub struct Status {
    /// The gateway, when there are upstreams or peers.
    pub gateway: Option<Gateway>,
    /// This node's id, shown on `/peers`.
    pub node: tenet_node::NodeId,
    /// The shared store's health, when there is one: not ready while it is unreachable.
    pub store: Option<tenet_redis::Health>,
}

impl tenet_http::StatusSource for Status {
    fn paths(&self) -> Vec<String> {
        let mut paths = vec!["/peers".to_owned()];
        if self.gateway.is_some() {
            paths.push("/upstreams".to_owned());
        }
        paths
    }

    fn page(&self, path: &str) -> Option<String> {
        let statuses = self.gateway.as_ref().map(Gateway::statuses).unwrap_or_default().into_iter();
        match path {
            "/upstreams" if self.gateway.is_some() => {
                let upstreams: Vec<_> = statuses.filter(|s| !s.peer).collect();
                Some(serde_json::json!({ "upstreams": upstreams }).to_string())
            }
            "/peers" => {
                let peers: Vec<_> = statuses.filter(|s| s.peer).collect();
                Some(serde_json::json!({ "node": self.node, "peers": peers }).to_string())
            }
            _ => None,
        }
    }

    fn not_ready(&self) -> Option<String> {
        let (mut waiting, mut failed) = (Vec::new(), Vec::new());
        let statuses = self.gateway.as_ref().map(Gateway::statuses).unwrap_or_default();
        for status in statuses.into_iter().filter(|s| s.required && s.state != State::Up) {
            // A peer named by its node id has no name until it is first met: its URL.
            let name = if status.name.is_empty() { status.target } else { status.name };
            if status.state == State::Failed { &mut failed } else { &mut waiting }.push(name);
        }
        let mut parts = Vec::new();
        if !waiting.is_empty() {
            parts.push(format!("waiting for upstreams: {}", waiting.join(", ")));
        }
        if !failed.is_empty() {
            parts.push(format!("given up on upstreams (not restarted until Tenet restarts): {}", failed.join(", ")));
        }
        if let Some(problem) = self.store.as_ref().and_then(crate::store::not_ready) {
            parts.push(problem);
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_command_flag_is_split_into_words_as_a_shell_splits_it() {
        let upstream = from_flag(r#"fs=npx -y server-fs '/data/my docs' "it's" a\ b "say \"hi\"" ''"#).unwrap();
        let words = ["npx", "-y", "server-fs", "/data/my docs", "it's", "a b", "say \"hi\"", ""].map(String::from);
        assert_eq!(upstream.command.as_deref(), Some(&words[..]));
        // Nothing else a shell does: no comments, no escapes but before a blank, a quote
        // or a backslash.
        let upstream = from_flag(r"chat=srv --channel #general --root C:\data --match \d+").unwrap();
        let words = ["srv", "--channel", "#general", "--root", r"C:\data", "--match", r"\d+"].map(String::from);
        assert_eq!(upstream.command.as_deref(), Some(&words[..]));
        let error = from_flag("fs=npx 'unclosed").unwrap_err();
        // Which words are whose is unknown with a quote open: only the program is shown.
        assert_eq!(error.place.as_deref(), Some("--upstream \"fs=npx ********\""));
        assert_eq!(error.message, "a quote is not closed");
    }

    #[test]
    fn flag_values_are_shown_without_credentials() {
        assert_eq!(shown_flag("t=https://u:pw@h.example/mcp?key=k"), "t=https://h.example/mcp");
        assert_eq!(shown_flag("https://u:pw@h.example/mcp?key=k"), "https://h.example/mcp");
        assert_eq!(shown_flag("x= https://u:pw@h.example/mcp"), "x=https://h.example/mcp");
        assert_eq!(shown_flag("p=htps://u:pw@h/mcp"), "p=htps://h/mcp");
        assert_eq!(shown_flag("m=proxy --to https://u:pw@h/mcp -v"), "m=proxy --to https://h/mcp -v");
        assert_eq!(shown_flag("fs=npx -y server-fs /data"), "fs=npx -y server-fs /data");
        // A URL with no name is refused, and not shown whole in the refusal.
        let error = from_flag("https://u:pw@h.example/mcp?key=abc").unwrap_err().to_string();
        assert!(error.contains("expected NAME=URL") && !error.contains("pw") && !error.contains("abc"), "{error}");
    }

    #[test]
    fn peer_flags_take_a_url_with_or_without_a_name() {
        let bare = peer_from_flag("http://127.0.0.1:9003/mcp").unwrap();
        assert!(bare.peer && bare.name.is_empty() && bare.url.as_deref() == Some("http://127.0.0.1:9003/mcp"));
        let named = peer_from_flag("c=ws://127.0.0.1:9003/mcp?x=1").unwrap();
        assert_eq!((named.name.as_str(), named.url.as_deref()), ("c", Some("ws://127.0.0.1:9003/mcp?x=1")));
        let query = peer_from_flag("http://h/mcp?a=b").unwrap();
        assert!(query.name.is_empty(), "an = in the URL is not a name");
    }

    /// `words` as [`shown_command`] shows them.
    fn shown_words(words: &[&str]) -> Vec<String> {
        shown_command(&words.iter().map(|word| (*word).to_owned()).collect::<Vec<_>>())
    }

    /// Fails if any word of `shown` holds any of `secrets`.
    fn assert_hidden(shown: &[String], secrets: &[&str]) {
        for secret in secrets {
            assert!(!shown.iter().any(|word| word.contains(secret)), "{secret} shown: {shown:?}");
        }
    }

    #[test]
    fn secrets_in_a_commands_arguments_are_masked_when_shown() {
        let shown = shown_words(&[
            "srv",
            "--token=abc123",
            "--api-key",
            "k-456",
            "--verbose",
            "--Password",
            "--x",
            "http://u:pw@h/p?q=1",
            "plain",
        ])
        .join(" ");
        assert!(!shown.contains("abc123") && !shown.contains("k-456") && !shown.contains("pw@"), "{shown}");
        // A secret's value is masked even when it starts with `-`.
        assert!(
            shown.starts_with("srv --token=******** --api-key ******** --verbose --Password ******** http://"),
            "{shown}"
        );
        assert!(shown.ends_with(" plain"), "{shown}");
        assert_eq!(shown_flag("db=mcp-db --token=abc123 --port 5"), "db=mcp-db --token=******** --port 5");
        assert_eq!(shown_flag("db=mcp-db --token -abc123 -p 5"), "db=mcp-db --token ******** -p 5");
        // A quote left open: the program alone, the rest masked whatever it is.
        assert_eq!(
            shown_flag(r#"r=mcp-remote https://h/mcp --header "Authorization: Bearer sk-six"#),
            "r=mcp-remote ********"
        );
        // A variable written as a shell writes it reads as a name and a program: the
        // program is the secret.
        assert_eq!(shown_flag("GITHUB_TOKEN=ghp_abc npx -y server"), "GITHUB_TOKEN=******** npx -y server");
        assert_eq!(shown_flag("docs=npx -y docs-server"), "docs=npx -y docs-server");
    }

    #[test]
    fn secret_headers_in_a_commands_arguments_are_masked_after_their_names() {
        let shown = shown_words(&[
            "mcp-remote",
            "https://h.example/mcp",
            "--header",
            "Authorization: Bearer sk-one",
            "-H",
            "authorization:two",
            "--header=X-Api-Key: three",
            "-H",
            "Cookie: sid=four",
            "-H",
            "Proxy-Authorization: Basic five",
            "--header",
            "X-Request-Source: cli",
            "-H",
            "Accept: text/event-stream",
        ]);
        assert_hidden(&shown, &["sk-one", "two", "three", "four", "five"]);
        assert_eq!(shown[3], "Authorization: ********");
        assert_eq!(shown[5], "authorization:********");
        assert_eq!(shown[6], "--header=X-Api-Key: ********");
        assert_eq!(shown[8], "Cookie: ********");
        assert_eq!(shown[10], "Proxy-Authorization: ********");
        // A header that names no secret, and a URL without credentials, are shown as written.
        assert_eq!(shown[12], "X-Request-Source: cli");
        assert_eq!(shown[14], "Accept: text/event-stream");
        assert_eq!(shown[1], "https://h.example/mcp");
        // A flag's command is split as a shell splits it: the quoted header is one word.
        assert_eq!(
            shown_flag("r=mcp-remote https://h/mcp --header \"Authorization: Bearer sk-six\""),
            "r=mcp-remote https://h/mcp --header Authorization: ********"
        );
    }

    #[test]
    fn secret_variables_in_a_commands_arguments_are_masked_after_their_names() {
        let shown = shown_words(&[
            "env",
            "GITHUB_TOKEN=ghp_one",
            "API_KEY=two",
            "-e",
            "DB_PASSWORD=three",
            "--env=AUTH_HEADER=four",
            "LOG_LEVEL=debug",
            "server",
            "a=b",
        ]);
        assert_hidden(&shown, &["ghp_one", "two", "three", "four"]);
        assert_eq!(
            shown,
            [
                "env",
                "GITHUB_TOKEN=********",
                "API_KEY=********",
                "-e",
                "DB_PASSWORD=********",
                "--env=AUTH_HEADER=********",
                "LOG_LEVEL=debug",
                "server",
                "a=b"
            ]
        );
    }

    #[test]
    fn flags_name_urls_and_commands() {
        let url = from_flag("docs=http://127.0.0.1:9000/mcp").unwrap();
        assert_eq!(url.url.as_deref(), Some("http://127.0.0.1:9000/mcp"));
        let cmd = from_flag("files=sh -c true").unwrap();
        assert_eq!(cmd.command.unwrap(), ["sh", "-c", "true"]);
        // Meant as URLs: a scheme typo is refused as a URL's, not run as a command.
        assert_eq!(from_flag("t=htps://h/mcp").unwrap().url.as_deref(), Some("htps://h/mcp"));
        assert_eq!(from_flag("t= HTTP://h/mcp ").unwrap().url.as_deref(), Some("HTTP://h/mcp"));
        assert!(from_flag("no-equals-sign").unwrap_err().message.contains("NAME=URL"));
    }

    #[test]
    fn file_tables_are_read_and_unknown_keys_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tenet.toml");
        std::fs::write(&file, "[http]\nport = 1\n[[upstream]]\nname = \"a\"\nurl = \"ws://h/mcp\"\n").unwrap();
        assert_eq!(from_file(&file).unwrap().0[0].name, "a");
        std::fs::write(&file, "[[peer]]\nurl = \"http://h/mcp\"\n[[peer]]\nname = \"b\"\nurl = \"ws://h/mcp\"\n")
            .unwrap();
        let (upstreams, peers) = from_file(&file).unwrap();
        assert!(
            upstreams.is_empty() && peers.iter().all(|p| p.peer) && peers[0].name.is_empty() && peers[1].name == "b"
        );
        std::fs::write(&file, "[[peer]]\nurl = \"http://h/mcp\"\ncommand = [\"x\"]\n").unwrap();
        let e = from_file(&file).unwrap_err();
        assert_eq!(e.place, Some(format!("{}: peer[0].command", file.display())));
        assert!(e.message.starts_with("unknown key; expected one of: name, url,"), "{e}");
        std::fs::write(&file, "[[upstream]]\nname = \"a\"\nurl = \"ws://h/mcp\"\ncomand = 1\n").unwrap();
        let e = from_file(&file).unwrap_err();
        assert_eq!(e.place, Some(format!("{}: upstream[0].comand", file.display())));
        // Anything else is serde's own words, at the table.
        std::fs::write(&file, "[[upstream]]\nname = 7\nurl = \"ws://h/mcp\"\n").unwrap();
        let e = from_file(&file).unwrap_err();
        assert_eq!(e.place, Some(format!("{}: upstream[0]", file.display())));
        assert!(e.message.contains("invalid type"), "{e}");
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

        let e = args(&["--upstream", "bad name=http://h/mcp"]).upstreams(Some(&file)).unwrap_err().to_string();
        assert!(e.starts_with("--upstream \"bad name=http://h/mcp\": name: \"bad name\" must be"), "{e}");
        let e = args(&["--upstream", "a=http://h/mcp"]).upstreams(Some(&file)).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("--upstream \"a=http://h/mcp\": name: \"a\" is already the name of upstream[0] in {shown}")
        );
        let e = args(&["--upstream", "b=http://h/mcp", "--upstream", "b=http://g/mcp"])
            .upstreams(None)
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("is already the name of --upstream \"b=http://h/mcp\""), "{e}");

        std::fs::write(&file, "[[upstream]]\nname = \"a b\"\nurl = \"http://h/mcp\"\n").unwrap();
        let e = args(&["--upstream", "c=http://h/mcp"]).upstreams(Some(&file)).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{shown}: upstream[0].name: \"a b\"")), "{e}");
        let e = args(&["--upstream", "c=http://h/mcp", "--prefixless"]).upstreams(Some(&file));
        assert!(e.unwrap_err().to_string().contains("upstream[0].name"), "the first fault found is the file's");
        std::fs::write(&file, "").unwrap();
        let e = args(&["--upstream", "c=http://h/mcp", "--upstream", "d=http://h/mcp", "--prefixless"]);
        let e = e.upstreams(Some(&file)).unwrap_err();
        assert_eq!((e.place, e.message.as_str()), (None, "gateway.prefixless: needs exactly one upstream, not 2"));
    }
}
