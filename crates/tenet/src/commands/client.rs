//! The client commands: `tenet tools|resources|prompts|call|read|prompt`, against a
//! URL or a command run over stdio.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Map, Value};
use tenet_client::protocol::ProtocolVersion;
use tenet_client::{Client, ClientError, VersionPin};

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
}

/// Exit code: the tool returned `isError`.
const TOOL_ERROR: u8 = 1;
/// Exit code: bad command line.
const USAGE: u8 = 2;
/// Exit code: the server could not be reached.
const CONNECTION: u8 = 3;
/// Exit code: the server answered with an error or broke the protocol.
const PROTOCOL: u8 = 4;

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
}

fn plan(args: &ClientArgs) -> Result<Plan, Usage> {
    let mut operands = args.operands.clone();
    let url = operands.first().filter(|o| o.starts_with("http://") || o.starts_with("https://")).cloned();
    let target = match (url, args.command.split_first()) {
        (Some(_), Some(_)) => return Err(Usage("give either a URL or a command after --, not both".into())),
        (Some(url), None) => {
            operands.remove(0);
            Target::Url(url)
        }
        (None, Some((program, rest))) => Target::Command(program.clone(), rest.to_vec()),
        (None, None) => return Err(Usage("no server: give an http(s):// URL or a command after --".into())),
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
    Ok(Plan { target, operands, pin })
}

/// Checks the operand count before connecting, so usage errors cost no connection.
fn check_operands(action: Action, operands: &[String]) -> Result<(), Usage> {
    let (least, most, what) = match action {
        Action::Tools | Action::Resources | Action::Prompts => (0, 0, "nothing"),
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
    let plan = match plan(args).and_then(|plan| check_operands(action, &plan.operands).map(|()| plan)) {
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
    let connected = match &plan.target {
        Target::Url(url) => builder.connect_http(url).await,
        Target::Command(program, rest) => builder.connect_stdio(program, rest).await,
    };
    let client = match connected {
        Ok(client) => client,
        Err(e) => {
            eprintln!("tenet: {e}");
            return connect_error(&e);
        }
    };
    let code = match act(&client, action, args, &plan.operands).await {
        Ok(code) => code,
        Err(Failure::Usage(Usage(message))) => {
            eprintln!("tenet: {message}");
            USAGE
        }
        Err(Failure::Client(e)) => {
            eprintln!("tenet: {e}");
            connect_error(&e)
        }
    };
    client.close().await;
    code
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

async fn act(client: &Client, action: Action, args: &ClientArgs, operands: &[String]) -> Result<u8, Failure> {
    let (first, rest) = match operands.split_first() {
        Some((first, rest)) => (Some(first.as_str()), rest),
        None => (None, operands),
    };
    let needs = |what: &str| Usage(format!("missing {what}"));
    match action {
        Action::Tools | Action::Resources | Action::Prompts if !operands.is_empty() => {
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
            let arguments = match &args.args {
                Some(_) if !rest.is_empty() => {
                    return Err(Usage("give --args or key=value pairs, not both".into()).into());
                }
                Some(json) => match serde_json::from_str::<Value>(json) {
                    Ok(value @ Value::Object(_)) => value,
                    _ => return Err(Usage("--args must be a JSON object".into()).into()),
                },
                None => Value::Object(pairs(rest, true)?),
            };
            let result = client.call_tool(tool, arguments).await?;
            let failed = result.is_error == Some(true);
            output::call(&result, args.json);
            Ok(if failed { TOOL_ERROR } else { 0 })
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
