//! The client commands: `tenet tools|resources|prompts|call|read|prompt`, against a
//! URL (Streamable HTTP for http(s)://, WebSocket for ws(s)://) or a command run
//! over stdio.

use std::collections::BTreeMap;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tenet_client::protocol::ProtocolVersion;
use tenet_client::{Client, ClientError, RequestOptions, VersionPin};

use super::client_output as output;
use crate::args::ClientArgs;

/// Which client command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `tenet tools`.
    Tools,
    /// `tenet resources`.
    Resources,
    /// `tenet prompts`.
    Prompts,
    /// `tenet call`.
    Call,
    /// `tenet read`.
    Read,
    /// `tenet prompt`.
    Prompt,
    /// `tenet skills`.
    Skills,
    /// `tenet skill`.
    Skill,
}

// Exit codes: a tool's `isError`, a bad command line, a server out of reach, one that
// answered with an error or broke the protocol.
use super::exit::{FAILED as TOOL_ERROR, UNEXPECTED as PROTOCOL, UNREACHABLE as CONNECTION, USAGE};

/// A command line that is not usable.
struct Usage(String);

/// Where the server is.
enum Target {
    Url(String),
    Command(String, Vec<String>),
}

/// The validated command line.
struct Plan {
    target: Target,
    operands: Vec<String>,
    pin: VersionPin,
    /// `--args`, parsed.
    arguments: Option<Value>,
    /// `--context`, checked.
    context: Option<tenet_protocol::context::ContextId>,
}

/// `--args`: one JSON object, or a usage error that says what is wrong and where.
fn json_arguments(json: &str) -> Result<Value, Usage> {
    match serde_json::from_str::<Value>(json) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(other) => Err(Usage(format!(
            "--args must be a JSON object like '{{\"key\": \"value\"}}', not {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            }
        ))),
        Err(e) => Err(Usage(format!("--args is not valid JSON: {e}"))),
    }
}

fn plan(args: &ClientArgs) -> Result<Plan, Usage> {
    let mut operands = args.operands.clone();
    let url = operands.first().filter(|o| tenet_client::is_server_url(o)).cloned();
    let target = match (url, args.command.split_first()) {
        (Some(_), Some(_)) => return Err(Usage("give either a URL or a command after --, not both".into())),
        (Some(url), None) => {
            operands.remove(0);
            Target::Url(url)
        }
        (None, Some((program, rest))) => Target::Command(program.clone(), rest.to_vec()),
        (None, None) => {
            return Err(Usage("no server: give an http(s):// or ws(s):// URL, or a command after --".into()));
        }
    };
    let pin = match args.era.as_str() {
        "auto" => VersionPin::Auto,
        "legacy" => VersionPin::Legacy,
        "modern" => VersionPin::Modern,
        other => VersionPin::Exact(
            ProtocolVersion::parse(other)
                .ok_or_else(|| Usage(format!("--era must be auto, legacy, modern or a version, not {other:?}")))?,
        ),
    };
    let arguments = args.args.as_deref().map(json_arguments).transpose()?;
    let context = args.context.as_deref().map(|id| id.parse().map_err(|e| Usage(format!("--context: {e}"))));
    Ok(Plan { target, operands, pin, arguments, context: context.transpose()? })
}

/// Checks the operand count (and that only `call` names a conversation) before
/// connecting, so usage errors cost no connection.
fn check_operands(action: Action, plan: &Plan) -> Result<(), Usage> {
    if plan.context.is_some() && !matches!(action, Action::Call) {
        return Err(Usage("--context names the conversation of a call: it goes with `tenet call` only".into()));
    }
    let operands = &plan.operands;
    let (least, most, what) = match action {
        Action::Tools | Action::Resources | Action::Prompts | Action::Skills => (0, 0, "nothing"),
        Action::Skill => (1, 2, "NAME [FILE]"),
        Action::Call => (1, usize::MAX, "TOOL [key=value…]"),
        Action::Read => (1, 1, "URI"),
        Action::Prompt => (1, usize::MAX, "NAME [key=value…]"),
    };
    if (least..=most).contains(&operands.len()) {
        Ok(())
    } else {
        Err(Usage(format!("expected {what} after the server, got {:?}", operands.join(" "))))
    }
}

/// Whether `skill` is the one `wanted` names: its name, its path or its URI.
fn names(skill: &tenet_client::protocol::skill_extension::SkillEntry, wanted: &str) -> bool {
    let path = skill.uri.strip_prefix("skill://").and_then(|p| p.strip_suffix("/SKILL.md"));
    skill.uri == wanted || path == Some(wanted) || skill.frontmatter.get("name").and_then(Value::as_str) == Some(wanted)
}

/// `key=value` pairs; values that parse as JSON (numbers, booleans, objects) are taken
/// as JSON, others as strings.
fn pairs(operands: &[String], typed: bool) -> Result<Map<String, Value>, Usage> {
    operands
        .iter()
        .map(|pair| {
            let (key, value) = pair.split_once('=').ok_or_else(|| Usage(format!("{pair:?} is not key=value")))?;
            let value = if typed {
                serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()))
            } else {
                Value::String(value.to_owned())
            };
            Ok((key.to_owned(), value))
        })
        .collect()
}

fn connect_error(e: &ClientError) -> u8 {
    if e.is_connection() { CONNECTION } else { PROTOCOL }
}

/// Runs a client command.
pub fn run(action: Action, args: &ClientArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TENET_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .try_init()
        .ok();
    let plan = match plan(args).and_then(|plan| check_operands(action, &plan).map(|()| plan)) {
        Ok(plan) => plan,
        Err(Usage(message)) => {
            eprintln!("tenet: {message}");
            return ExitCode::from(USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tenet: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    ExitCode::from(runtime.block_on(session(action, args, plan)))
}

async fn session(action: Action, args: &ClientArgs, plan: Plan) -> u8 {
    // A tool the server runs as a task (2026-07-28) is followed to its result.
    let mut builder = Client::builder().version(plan.pin).timeout(Duration::from_secs_f64(args.timeout)).tasks();
    for header in &args.headers {
        let Some((name, value)) = header.split_once(':') else {
            eprintln!("tenet: --header {header:?} is not `Name: value`");
            return USAGE;
        };
        builder = builder.header(name.trim(), value.trim());
    }
    let mut process = None;
    let connected = match &plan.target {
        // http(s):// is Streamable HTTP (or HTTP+SSE); ws(s):// is a WebSocket.
        Target::Url(url) => builder.connect_http(url).await,
        Target::Command(program, rest) => match ServerProcess::spawn(program, rest, args.verbose) {
            Ok((server, stdout, stdin)) => {
                process = Some(server);
                builder.connect_pipe(stdout, stdin).await
            }
            Err(e) => {
                eprintln!("tenet: cannot start {program}: {e}");
                return CONNECTION;
            }
        },
    };
    let code = match connected {
        Ok(client) => {
            let code = match act(&client, action, args, &plan).await {
                Ok(code) => code,
                Err(Failure::Usage(Usage(message))) => {
                    eprintln!("tenet: {message}");
                    USAGE
                }
                Err(Failure::Client(e)) => report(&e, &plan.target),
            };
            client.close().await;
            code
        }
        Err(e) => report(&e, &plan.target),
    };
    if let Some(process) = process {
        process.finish(code == CONNECTION).await;
    }
    code
}

/// Prints a client error, with a hint when the URL is likely not the MCP endpoint;
/// returns the exit code.
fn report(e: &ClientError, target: &Target) -> u8 {
    eprintln!("tenet: {e}");
    match (e, target) {
        (ClientError::Http { status: 404 | 405, .. }, Target::Url(url)) => {
            eprintln!("tenet: hint: {}", endpoint_hint(url));
        }
        // Something answered at the server's root, but not MCP (`tenet serve`'s web page).
        (ClientError::Connect(_), Target::Url(url)) if split_url(url).1.trim_end_matches('/').is_empty() => {
            eprintln!("tenet: hint: {}", endpoint_hint(url));
        }
        _ => {}
    }
    connect_error(e)
}

/// What to try when a URL answers 404: the MCP endpoint's usual path.
fn endpoint_hint(url: &str) -> String {
    let (origin, path) = split_url(url);
    if path.trim_end_matches('/').is_empty() {
        format!("is {url} the MCP endpoint? `tenet serve` answers at /mcp: try {origin}/mcp")
    } else {
        format!("nothing answers MCP at {path}; `tenet serve` answers at /mcp (see its --path): try {origin}/mcp")
    }
}

/// `http://host:port` and the path (with any query) of a URL.
fn split_url(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(at) => url.split_at(after_scheme + at),
        None => (url, ""),
    }
}

/// How much of a server's stderr is kept to show if it fails.
const STDERR_TAIL_BYTES: usize = 16 * 1024;
/// How many of those lines are shown.
const STDERR_TAIL_LINES: usize = 20;
/// How long a server may take to exit once its input is closed, before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// A server run after `--`: its stdin and stdout carry MCP; its stderr (its logs) is
/// kept quiet, only its tail remembered, unless `--verbose` passes it through.
struct ServerProcess {
    child: tokio::process::Child,
    stderr: Option<tokio::task::JoinHandle<Vec<u8>>>,
}

impl ServerProcess {
    fn spawn(
        program: &str,
        args: &[String],
        verbose: bool,
    ) -> std::io::Result<(Self, tokio::process::ChildStdout, tokio::process::ChildStdin)> {
        let stderr = if verbose { Stdio::inherit() } else { Stdio::piped() };
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()?;
        let missing = || std::io::Error::other("no pipe to the process");
        let stdout = child.stdout.take().ok_or_else(missing)?;
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stderr = child.stderr.take().map(|pipe| tokio::spawn(tail(pipe)));
        Ok((Self { child, stderr }, stdout, stdin))
    }

    /// Waits for the server to exit (its input is closed by now), killing it after a
    /// grace period; when it failed — it exited with an error, or `broken` says the
    /// connection to it failed — prints the end of its stderr.
    async fn finish(mut self, broken: bool) {
        let status = match tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                let _ = self.child.kill().await;
                None
            }
        };
        let failed = status.is_some_and(|s| !s.success());
        let Some(reader) = self.stderr.take() else { return };
        if !(failed || broken) {
            reader.abort();
            return;
        }
        let tail = tokio::time::timeout(Duration::from_secs(1), reader).await.ok().and_then(Result::ok);
        let text = String::from_utf8_lossy(&tail.unwrap_or_default()).into_owned();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let exited = status.filter(|s| !s.success()).map_or_else(String::new, |s| format!(" ({s})"));
        if lines.is_empty() {
            eprintln!("tenet: the server{exited} wrote nothing to stderr");
            return;
        }
        eprintln!("tenet: the server failed{exited}; the end of its stderr:");
        for line in &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..] {
            eprintln!("  {line}");
        }
    }
}

/// Reads `pipe` to its end, keeping the last [`STDERR_TAIL_BYTES`].
async fn tail(mut pipe: tokio::process::ChildStderr) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = pipe.read(&mut buf).await {
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * STDERR_TAIL_BYTES {
            kept.drain(..kept.len() - STDERR_TAIL_BYTES);
        }
    }
    let from = kept.len().saturating_sub(STDERR_TAIL_BYTES);
    kept.split_off(from)
}

enum Failure {
    Usage(Usage),
    Client(ClientError),
}

impl From<Usage> for Failure {
    fn from(usage: Usage) -> Self {
        Self::Usage(usage)
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        Self::Client(error)
    }
}

async fn act(client: &Client, action: Action, args: &ClientArgs, plan: &Plan) -> Result<u8, Failure> {
    let (operands, arguments) = (plan.operands.as_slice(), plan.arguments.as_ref());
    let (first, rest) = match operands.split_first() {
        Some((first, rest)) => (Some(first.as_str()), rest),
        None => (None, operands),
    };
    let needs = |what: &str| Usage(format!("missing {what}"));
    match action {
        Action::Tools | Action::Resources | Action::Prompts | Action::Skills if !operands.is_empty() => {
            Err(Usage(format!("unexpected operands: {}", operands.join(" "))).into())
        }
        Action::Tools => Ok(output::tools(&client.list_all_tools().await?, args.json)),
        Action::Resources => {
            let resources = client.list_all::<tenet_client::protocol::ListResourcesResult>().await?;
            let templates = client.list_all::<tenet_client::protocol::ListResourceTemplatesResult>().await;
            Ok(output::resources(&resources, &templates.unwrap_or_default(), args.json))
        }
        Action::Prompts => {
            Ok(output::prompts(&client.list_all::<tenet_client::protocol::ListPromptsResult>().await?, args.json))
        }
        Action::Call => {
            let tool = first.ok_or_else(|| needs("the tool name"))?;
            let arguments = match arguments {
                Some(_) if !rest.is_empty() => {
                    return Err(Usage("give --args or key=value pairs, not both".into()).into());
                }
                Some(json) => json.clone(),
                None => Value::Object(pairs(rest, true)?),
            };
            let meta =
                plan.context.as_ref().map(|id| Map::from_iter([(tenet_protocol::CONTEXT_KEY.to_owned(), json!(id))]));
            let result =
                client.call_tool_with(tool, arguments, &RequestOptions { meta, ..RequestOptions::default() }).await?;
            let failed = result.is_error == Some(true);
            output::call(&result, args.json);
            Ok(if failed { TOOL_ERROR } else { 0 })
        }
        Action::Skills => Ok(output::skills(&client.all_skills().await?, args.json)),
        Action::Skill => {
            let name = first.ok_or_else(|| needs("the skill's name"))?;
            let skills = client.all_skills().await?;
            let Some(skill) = skills.iter().find(|s| names(s, name)) else {
                let known: Vec<&str> = skills.iter().filter_map(|s| s.frontmatter.get("name")?.as_str()).collect();
                eprintln!("tenet: no skill {name:?}; the server lists: {}", known.join(", "));
                return Ok(TOOL_ERROR);
            };
            let root = skill.uri.strip_suffix("SKILL.md").unwrap_or(&skill.uri);
            let uri = rest.first().map_or_else(|| skill.uri.clone(), |file| format!("{root}{file}"));
            match client.read_skill_file(skill, &uri).await {
                Ok(bytes) => Ok(output::skill_file(&uri, &bytes)),
                Err(e) => {
                    eprintln!("tenet: {e}");
                    Ok(TOOL_ERROR)
                }
            }
        }
        Action::Read => {
            let uri = first.ok_or_else(|| needs("the resource URI"))?;
            if !rest.is_empty() {
                return Err(Usage(format!("unexpected operands: {}", rest.join(" "))).into());
            }
            Ok(output::read(&client.read_resource(uri).await?, args.json))
        }
        Action::Prompt => {
            let name = first.ok_or_else(|| needs("the prompt name"))?;
            let arguments: BTreeMap<String, String> =
                pairs(rest, false)?.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned())).collect();
            Ok(output::prompt(&client.get_prompt(name, arguments).await?, args.json))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_websocket_urls_name_the_server() {
        for url in ["http://127.0.0.1:3020/mcp", "https://example.com/mcp", "ws://127.0.0.1:3020/mcp", "WSS://x/mcp"] {
            assert!(tenet_client::is_server_url(url), "{url}");
        }
        for operand in ["get_stdlib", "tenet://standards/rust", "file:///x", "ws:/x", "language=rust"] {
            assert!(!tenet_client::is_server_url(operand), "{operand}");
        }
    }

    #[test]
    fn the_hint_keeps_a_websocket_urls_scheme() {
        assert_eq!(split_url("ws://127.0.0.1:3020/x"), ("ws://127.0.0.1:3020", "/x"));
        assert!(endpoint_hint("wss://example.com").contains("try wss://example.com/mcp"));
    }
}
