//! Command-line arguments, with environment variables as fallbacks.

use clap::{Parser, Subcommand, ValueEnum};

use crate::parse::{network, positive_seconds, switch};

/// The version `tenet --version` prints: the package's, and the commit it was built
/// from (see `build.rs`).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("TENET_COMMIT"), ")");

/// Tenet: a fast, spec-exact Model Context Protocol server and toolkit.
#[derive(Debug, Parser)]
#[command(name = "tenet", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands. Each one's arguments are built only when it runs (or its help
/// is asked for): a cold `tenet serve` does not pay for the other commands' parsers.
///
/// So the structs of options (`ServeArgs`, the ones flattened into it, …) carry plain
/// comments, not doc comments: built after the subcommand's own description, a struct's
/// doc comment would replace it in `--help`, the man page and `docs/cli.md`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
// One value per process, parsed once: its size costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Serve MCP to clients of every protocol version (2024-11-05 … 2026-07-28).
    Serve(ServeArgs),
    /// Print a standard (the language-neutral base, then the language's own).
    Get(GetArgs),
    /// Search the standards.
    Search(SearchArgs),
    /// Measure search on labelled queries: MRR@10, nDCG@10, hit@1 and hit@3, overall
    /// and per stratum, with every miss; `--baseline` fails on a drop.
    Eval(EvalArgs),
    /// List the languages and domains that have standards, with their documents.
    List(ListArgs),
    /// Lint folders of standards (front matter, dates, duplicates, links, size, injection-like text).
    Check(CheckArgs),
    /// Write the skills the server serves into a repository, as the files agents read
    /// there (`.claude/skills`, `AGENTS.md`, `.cursor/rules`, `.github/instructions`);
    /// `--check` fails when those copies are stale, for CI.
    Export(ExportArgs),
    /// Work with `tenet serve` config files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script: `tenet completions bash > /etc/bash_completion.d/tenet`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `tenet man > tenet.1`.
    Man {
        /// Print the command-line reference as Markdown instead (the guide's
        /// `docs/cli.md` is this).
        #[arg(long, value_parser = switch)]
        markdown: bool,
    },
    /// Check that an HTTP server is alive (exit 0 on HTTP 200): for container health checks.
    Health {
        /// The URL to GET (`/ready` is 200 once the server is ready to serve: its
        /// knowledge base indexed, its required upstreams and peers up, its store
        /// reachable).
        #[arg(default_value = "http://127.0.0.1:3020/health")]
        url: String,
        /// Keep asking, up to this many seconds, until it answers 200: for scripts that
        /// start a server in the background (`tenet serve --transport http & tenet health
        /// --wait 30 http://127.0.0.1:3020/ready`).
        #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
        wait: Option<f64>,
    },
    /// Show a running gateway's upstreams (its `GET /upstreams`): state, protocol,
    /// counts, heartbeat latency, restarts, and why one is down.
    ///
    /// Every upstream listed counts, required or not (`required` decides only the
    /// gateway's `/ready`, which `tenet health URL/ready` asks). Exit codes: 0 every
    /// upstream is up (or there is none); 1 at least one is not (connecting, down or
    /// failed), each named on stderr; 2 usage error (a URL that is not plain http://
    /// too); 3 the gateway could not be reached; 4 it answered, but not with the page
    /// (not a gateway, authorization refused, not the JSON expected). `tenet peers`
    /// exits the same way.
    Upstreams {
        /// The gateway (its base URL or MCP endpoint; plain http://).
        #[arg(default_value = "http://127.0.0.1:3020")]
        url: String,
        /// Print the JSON as the server sent it.
        #[arg(long, value_parser = switch)]
        json: bool,
    },
    /// Show a running node's peers (its `GET /peers`) as it sees them: node id, state,
    /// protocol, counts, heartbeat latency, restarts, and why one is down.
    ///
    /// Every peer listed counts, required or not (`required` decides only the node's
    /// `/ready`, which `tenet health URL/ready` asks). Exit codes: 0 every peer is up (or
    /// there is none); 1 at least one is not (connecting, down or failed), each named on
    /// stderr; 2 usage error (a URL that is not plain http:// too); 3 the node could not
    /// be reached; 4 it answered, but not with the page (authorization refused, not the
    /// JSON expected). `tenet upstreams` exits the same way.
    Peers {
        /// The node (its base URL or MCP endpoint; plain http://).
        #[arg(default_value = "http://127.0.0.1:3020")]
        url: String,
        /// Print the JSON as the server sent it.
        #[arg(long, value_parser = switch)]
        json: bool,
    },
    /// List a server's tools: `tenet tools URL` (http(s):// or ws(s)://) or `tenet tools -- COMMAND ARGS…`.
    Tools(ClientArgs),
    /// List a server's resources and resource templates.
    Resources(ClientArgs),
    /// List a server's prompts.
    Prompts(ClientArgs),
    /// Call a tool: `tenet call [URL] TOOL key=value… [-- COMMAND ARGS…]`.
    Call(ClientArgs),
    /// Read a resource: `tenet read [URL] URI [-- COMMAND ARGS…]`.
    Read(ClientArgs),
    /// Get a prompt: `tenet prompt [URL] NAME key=value… [-- COMMAND ARGS…]`.
    Prompt(ClientArgs),
    /// List a server's skills (the MCP Skills extension): `tenet skills [URL] [-- COMMAND ARGS…]`.
    Skills(ClientArgs),
    /// Print a file of a skill, checked against the skill's entry (size, digest, front
    /// matter): `tenet skill [URL] NAME [FILE] [-- COMMAND ARGS…]` (FILE: SKILL.md).
    Skill(ClientArgs),
}

/// `tenet config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a config file and print the effective `tenet serve` configuration (file,
    /// then environment, then any `tenet serve` flags given after `--`), secrets masked.
    Check {
        /// The file (default: `$TENET_CONFIG`).
        #[arg(value_name = "FILE")]
        file: Option<std::path::PathBuf>,
        /// `tenet serve` flags to apply on top, after `--`.
        #[arg(last = true, value_name = "SERVE_FLAGS")]
        serve_flags: Vec<std::ffi::OsString>,
    },
    /// Print a config file that sets every `tenet serve` option to its default, with
    /// each option's help as a comment (what `examples/tenet.toml` holds).
    Example,
}

/// What the client commands share, said at the end of their `--help`.
const CLIENT_HELP: &str = "The server is a URL (the first operand): `http(s)://` for Streamable HTTP \
    (falling back to HTTP+SSE), `ws(s)://` for a WebSocket (subprotocol `mcp`); or a command after `--`, \
    run over stdio.

Exit codes: 0 success; 1 the tool returned an error result (`isError`); 2 usage error; 3 connection \
    failure (unreachable, refused, the process exited); 4 protocol error (the server answered with a \
    JSON-RPC error, timed out, or broke the protocol).";

// What the client commands share (`CLIENT_HELP`): a plain comment, see `Command`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = CLIENT_HELP)]
pub struct ClientArgs {
    /// The URL (if any: http(s):// or ws(s)://), then what the command needs: TOOL key=value…, URI, or NAME key=value….
    pub operands: Vec<String>,
    /// The server to run over stdio: everything after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
    /// Print JSON (the raw result) instead of text.
    #[arg(long, value_parser = switch)]
    pub json: bool,
    /// Tool arguments as one JSON object (instead of key=value pairs).
    #[arg(long, value_name = "JSON")]
    pub args: Option<String>,
    /// An HTTP header to send (on a WebSocket: with the upgrade), `Name: value`; repeatable.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Seconds to wait for each answer (for a tool the server runs as a task: for its
    /// result; the task is cancelled when the time is up).
    #[arg(long, default_value_t = 30.0, value_parser = positive_seconds)]
    pub timeout: f64,
    /// Protocol: auto, legacy, modern, or a version such as 2025-11-25.
    #[arg(long, default_value = "auto")]
    pub era: String,
    /// `call`: the conversation the call belongs to (`_meta["io.tenet/context"]`): a
    /// Tenet server's tools share its context across calls that name it, and across
    /// the nodes a call reaches.
    #[arg(long, value_name = "ID")]
    pub context: Option<String>,
    /// Show what a server run after `--` writes to stderr (its logs). Without it, that
    /// is shown only when the server fails.
    #[arg(long, short = 'v', value_parser = switch)]
    pub verbose: bool,
}

/// The token budget of an answer when the caller gives none.
pub const DEFAULT_MAX_TOKENS: u64 = 8000;

// Which standards to load, and the token budgets of answers.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Knowledge")]
pub struct KnowledgeArgs {
    /// A folder of standards (`<language>/<domain>.md`); repeat for several. Later
    /// roots override earlier ones, and all of them override the built-in corpus.
    #[arg(long = "root", value_name = "DIR", env = "TENET_ROOTS", value_delimiter = ',', value_hint = clap::ValueHint::DirPath)]
    pub roots: Vec<std::path::PathBuf>,
    /// Serve only the given roots, without the built-in corpus.
    #[arg(long, env = "TENET_NO_BUILTIN", value_parser = switch)]
    pub no_builtin: bool,
    /// A folder outside the roots that symbolic links in a root may lead into (repeat
    /// for several); links leading anywhere else outside a root are skipped with a
    /// warning. Such a folder is watched for changes too.
    #[arg(long = "allow-link-target", value_name = "DIR", env = "TENET_ALLOW_LINK_TARGETS", value_delimiter = ',', value_hint = clap::ValueHint::DirPath)]
    pub allow_link_targets: Vec<std::path::PathBuf>,
    /// Token budget of a response when the caller gives none.
    #[arg(long, default_value_t = DEFAULT_MAX_TOKENS, env = "TENET_MAX_TOKENS", value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub max_tokens: u64,
    /// The most tokens any single response may carry, whatever the caller asks.
    #[arg(long, default_value_t = 25000, env = "TENET_MAX_TOKENS_CAP", value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub max_tokens_cap: u64,
}

// `tenet get` options.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Programming language, or `all`.
    pub language: String,
    /// Domain, e.g. testing.
    pub domain: String,
    /// Headings and section ids only.
    #[arg(long, value_parser = switch)]
    pub outline: bool,
    /// Continue from an earlier page.
    #[arg(long)]
    pub cursor: Option<String>,
    /// Only this section, with its subsections: an id from `--outline`, or a search
    /// hit's `stdlib://…#id`.
    #[arg(long, value_name = "ID")]
    pub section: Option<String>,
    /// Where the standards come from.
    #[command(flatten)]
    pub knowledge: KnowledgeArgs,
    /// A `tenet serve` config file whose `[knowledge]` table sets these options too
    /// (roots, `no_builtin`, …); flags and environment variables override it.
    #[arg(long, value_name = "FILE", env = "TENET_CONFIG", help_heading = "Knowledge")]
    pub config: Option<std::path::PathBuf>,
}

// `tenet search` options.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// What to look for.
    pub query: String,
    /// Only this language (language-neutral standards are included).
    #[arg(long)]
    pub language: Option<String>,
    /// Only this domain.
    #[arg(long)]
    pub domain: Option<String>,
    /// Most hits.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub limit: u32,
    /// Where the standards come from.
    #[command(flatten)]
    pub knowledge: KnowledgeArgs,
    /// A `tenet serve` config file whose `[knowledge]` table sets these options too
    /// (roots, `no_builtin`, …); flags and environment variables override it.
    #[arg(long, value_name = "FILE", env = "TENET_CONFIG", help_heading = "Knowledge")]
    pub config: Option<std::path::PathBuf>,
}

/// A figure's tolerance: a finite number, 0 or more.
fn tolerance(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        _ => Err(format!("{text:?} is not a tolerance: give a number, 0 or more (0.01 is one point of MRR)")),
    }
}

// `tenet eval` options.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Files of labelled queries: TOML (`[[query]]` tables) or JSON Lines (`.jsonl`).
    #[arg(required = true)]
    pub queries: Vec<String>,
    /// A report written earlier with `--json`: exit 1 when a figure (overall or a
    /// stratum's) falls below it by more than `--tolerance`.
    #[arg(long)]
    pub baseline: Option<String>,
    /// How far a figure may fall below the baseline, in absolute terms (0.01 is one
    /// point of MRR).
    #[arg(long, default_value_t = 0.0, value_parser = tolerance)]
    pub tolerance: f64,
    /// Print the report as JSON (the form `--baseline` reads).
    #[arg(long, value_parser = switch)]
    pub json: bool,
    /// Where the standards come from.
    #[command(flatten)]
    pub knowledge: KnowledgeArgs,
    /// A `tenet serve` config file whose `[knowledge]` table sets these options too
    /// (roots, `no_builtin`, …); flags and environment variables override it.
    #[arg(long, value_name = "FILE", env = "TENET_CONFIG", help_heading = "Knowledge")]
    pub config: Option<std::path::PathBuf>,
}

// `tenet list` options.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this language (language-neutral standards are listed under `all`).
    #[arg(long)]
    pub language: Option<String>,
    /// Only this domain.
    #[arg(long)]
    pub domain: Option<String>,
    /// Where the standards come from.
    #[command(flatten)]
    pub knowledge: KnowledgeArgs,
    /// A `tenet serve` config file whose `[knowledge]` table sets these options too
    /// (roots, `no_builtin`, …); flags and environment variables override it.
    #[arg(long, value_name = "FILE", env = "TENET_CONFIG", help_heading = "Knowledge")]
    pub config: Option<std::path::PathBuf>,
}

// `tenet check` options.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Folders of standards (`<language>/<domain>.md`).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<std::path::PathBuf>,
    /// A folder outside the checked ones that symbolic links may lead into (repeat for
    /// several); other links leading outside are errors.
    #[arg(long = "allow-link-target", value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub allow_link_targets: Vec<std::path::PathBuf>,
    /// Fail on warnings too.
    #[arg(long, value_parser = switch)]
    pub deny_warnings: bool,
    /// The folders are served without the built-in corpus (`tenet serve --no-builtin`):
    /// no notes on which built-in standards they replace.
    #[arg(long, value_parser = switch)]
    pub no_builtin: bool,
}

/// A kind of file agents read instructions from in a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum ExportFormat {
    /// Agent Skills folders, `.claude/skills/<name>/SKILL.md` (Claude Code).
    Skills,
    /// A section of `AGENTS.md` indexing the skills.
    AgentsMd,
    /// Cursor project rules, `.cursor/rules/<name>.mdc`.
    Cursor,
    /// GitHub Copilot path-specific instructions, `.github/instructions/<name>.instructions.md`.
    Copilot,
}

// `tenet export` options.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The repository (an existing folder) to write into.
    #[arg(value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: std::path::PathBuf,
    /// Write nothing: list every file that is missing, stale or no longer Tenet's to
    /// write, and exit 1 if there is one.
    #[arg(long, value_parser = switch)]
    pub check: bool,
    /// The formats (repeat, or separate with commas). Default: those exported into
    /// DIR before (its `.tenet-export.json`), or all four the first time.
    #[arg(long = "format", value_name = "FORMAT", value_delimiter = ',')]
    pub formats: Vec<ExportFormat>,
    /// Where the standards come from.
    #[command(flatten)]
    pub knowledge: KnowledgeArgs,
    /// A `tenet serve` config file whose `[knowledge]` table sets these options too
    /// (roots, `no_builtin`, …); flags and environment variables override it.
    #[arg(long, value_name = "FILE", env = "TENET_CONFIG", help_heading = "Knowledge")]
    pub config: Option<std::path::PathBuf>,
}

/// How clients reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// Newline-delimited JSON-RPC on stdin/stdout (what desktop clients spawn).
    Stdio,
    /// Streamable HTTP (both eras) plus HTTP+SSE for 2024-11-05 clients.
    Http,
}

/// Log verbosity (logs go to stderr; stdout carries only MCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// The default.
    Info,
    /// Verbose.
    Debug,
    /// Everything.
    Trace,
}

/// The shape of log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Pretty,
    /// One JSON object per event (timestamp, level, message, fields, spans).
    Json,
}

// `tenet serve` options.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A TOML file of these options, one table per heading (`[server]`, `[knowledge]`,
    /// `[http]`, `[auth]`, `[limits]`, `[gateway]`, `[node]`, `[store]`, `[telemetry]`,
    /// and `[[upstream]]`/`[[peer]]` tables); flags and environment variables override it.
    #[arg(long, value_name = "FILE", env = "TENET_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// Transport to serve on.
    #[arg(long, help_heading = "Server", value_enum, default_value = "stdio", env = "TENET_TRANSPORT")]
    pub transport: Transport,
    /// Log level for stderr.
    #[arg(long, help_heading = "Server", value_enum, default_value = "info", env = "TENET_LOG_LEVEL")]
    pub log_level: LogLevel,
    /// How log lines look: `pretty` for people, `json` (one object per line) for collectors.
    #[arg(long, help_heading = "Server", value_enum, default_value = "pretty", env = "TENET_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Seconds a tool call may run before it fails.
    #[arg(long, help_heading = "Server", default_value_t = 30.0, env = "TENET_TIMEOUT", value_parser = positive_seconds)]
    pub timeout: f64,
    /// Requests handled at once; past this, input waits (back-pressure).
    #[arg(long, help_heading = "Server", default_value_t = 256, env = "TENET_MAX_CONCURRENT_REQUESTS", value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_concurrent_requests: u32,
    /// Where the standards come from.
    #[command(flatten)]
    pub knowledge: KnowledgeArgs,
    /// Folders of standards, as `--root` names them (after any `--root`): `tenet serve
    /// ./standards ./team-standards`.
    #[arg(value_name = "ROOT", value_hint = clap::ValueHint::DirPath)]
    pub more_roots: Vec<std::path::PathBuf>,
    /// Do not reload when files under a root change.
    #[arg(long, help_heading = "Knowledge", env = "TENET_NO_WATCH", value_parser = switch)]
    pub no_watch: bool,
    /// Log the words and filters of each search that found nothing, or only weak hits
    /// (none says half of what was asked), at info level with target `tenet::search`:
    /// which questions the standards leave unanswered. Without it only their counts
    /// are kept (`tenet_searches_total` on the metrics endpoint).
    #[arg(long, help_heading = "Knowledge", env = "TENET_LOG_WEAK_SEARCHES", value_parser = switch)]
    pub log_weak_searches: bool,
    /// The address to bind (loopback unless told otherwise).
    #[arg(long, help_heading = "HTTP", default_value = "127.0.0.1", env = "TENET_HOST")]
    pub host: std::net::IpAddr,
    /// The port to bind (0 picks a free one).
    #[arg(long, help_heading = "HTTP", default_value_t = 3020, env = "TENET_PORT")]
    pub port: u16,
    /// The path of the MCP endpoint.
    #[arg(long, help_heading = "HTTP", default_value = "/mcp", env = "TENET_PATH", value_parser = path)]
    pub path: String,
    /// An Origin allowed besides local ones (repeat, or comma-separate).
    #[arg(help_heading = "HTTP", long = "allowed-origin", env = "TENET_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// A browser origin allowed by CORS, e.g. https://app.example (repeat, or
    /// comma-separate); none (the default) turns CORS off.
    #[arg(help_heading = "HTTP", long = "cors-origin", env = "TENET_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// A Host name allowed besides local ones (repeat, or comma-separate).
    #[arg(help_heading = "HTTP", long = "allowed-host", env = "TENET_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Legacy sessions alive at once; past it initialize gets 503.
    #[arg(long, help_heading = "HTTP", default_value_t = 10_000, env = "TENET_MAX_SESSIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: u32,
    /// Legacy sessions one caller (a principal, or a client address without
    /// authorization) may hold at once; past it its initialize gets 429.
    #[arg(long, help_heading = "HTTP", default_value_t = 1_000, env = "TENET_MAX_SESSIONS_PER_CALLER", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions_per_caller: u32,
    /// Long-lived streams (GET streams, listen streams, HTTP+SSE and WebSocket
    /// connections) one caller may hold open at once; past it its next one gets 429.
    #[arg(long, help_heading = "HTTP", default_value_t = 128, env = "TENET_MAX_STREAMS_PER_CALLER", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams_per_caller: u32,
    /// Connections served at once; past it new ones get 503.
    #[arg(long, help_heading = "HTTP", default_value_t = 1024, env = "TENET_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Connections one client address (an IPv6 client by its /64) may hold at once;
    /// past it its new ones get 429. Default: a quarter of --max-connections, at least
    /// 64. Behind a reverse proxy, where every connection comes from the proxy, set it
    /// to --max-connections.
    #[arg(long, help_heading = "HTTP", env = "TENET_MAX_CONNECTIONS_PER_ADDRESS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_address: Option<u32>,
    /// A reverse proxy trusted to name its clients: a network (10.0.0.0/8) or an
    /// address (repeat, or comma-separate). A request from one counts against the
    /// client its X-Forwarded-For names (the last hop no trusted proxy wrote) for
    /// every bound and rate limit kept by address, and it may hold any number of
    /// connections. None (the default): every peer is its own address.
    #[arg(help_heading = "HTTP", long = "trusted-proxy", env = "TENET_TRUSTED_PROXIES", value_delimiter = ',', value_parser = network)]
    pub trusted_proxies: Vec<tenet_http::IpNet>,
    /// Where GET serves Prometheus metrics (OpenMetrics text), beside the MCP
    /// endpoint and outside its authorization, like /health.
    #[arg(long, help_heading = "HTTP", default_value = "/metrics", env = "TENET_METRICS_PATH", value_parser = path)]
    pub metrics_path: String,
    /// Keep no metrics and serve none (the requests are not even counted).
    #[arg(long, help_heading = "HTTP", env = "TENET_NO_METRICS", value_parser = switch)]
    pub no_metrics: bool,
    /// Refuse WebSocket upgrades on the MCP path (served by default: subprotocol
    /// mcp, one JSON-RPC message per text frame).
    #[arg(long, help_heading = "HTTP", env = "TENET_NO_WEBSOCKET", value_parser = switch)]
    pub no_websocket: bool,
    /// Serve no plain HTTP beside MCP (served by default: GET /mcp/tools, POST
    /// /mcp/call, POST /tools/{name} and GET /openapi.json, behind the same
    /// authorization and limits as the MCP endpoint).
    #[arg(long, help_heading = "HTTP", env = "TENET_NO_REST", value_parser = switch)]
    pub no_rest: bool,
    /// Serve no web page (served by default for the knowledge server when
    /// authorization is off: the standards to read and search at /).
    #[arg(long, help_heading = "HTTP", env = "TENET_NO_WEB", value_parser = switch)]
    pub no_web: bool,
    /// WebSocket connections open at once; past it an upgrade gets 503.
    #[arg(long, help_heading = "HTTP", default_value_t = 4096, env = "TENET_MAX_WEBSOCKETS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_websockets: u32,
    /// Seconds a legacy session may sit unused before it is ended.
    #[arg(long, help_heading = "HTTP", default_value_t = 1800.0, env = "TENET_SESSION_IDLE_TIMEOUT", value_parser = positive_seconds)]
    pub session_idle_timeout: f64,
    /// Seconds a client may take to send its request headers (slowloris guard).
    #[arg(long, help_heading = "HTTP", default_value_t = 10.0, env = "TENET_HEADER_TIMEOUT", value_parser = positive_seconds)]
    pub header_timeout: f64,
    /// Seconds a client may take to send a request body; past it the request gets
    /// 408 and its connection is closed.
    #[arg(long, help_heading = "HTTP", default_value_t = 30.0, env = "TENET_BODY_TIMEOUT", value_parser = positive_seconds)]
    pub body_timeout: f64,
    /// Seconds a graceful shutdown waits for requests in flight.
    #[arg(long, help_heading = "HTTP", default_value_t = 10.0, env = "TENET_SHUTDOWN_GRACE", value_parser = positive_seconds)]
    pub shutdown_grace: f64,
    /// Serve the small demo tool set (echo, add, countdown, welcome, remember, recall) instead of the knowledge
    /// server; used by benchmarks and interoperability tests.
    #[arg(long, help_heading = "Server", value_parser = switch)]
    pub demo: bool,
    /// Largest accepted message, in bytes.
    #[arg(long, help_heading = "Server", default_value_t = 4 * 1024 * 1024, env = "TENET_MAX_MESSAGE_BYTES", value_parser = clap::value_parser!(u64).range(1024..=1_073_741_824))]
    pub max_message_bytes: u64,
    /// Who may use the server.
    #[command(flatten)]
    pub auth: Box<crate::auth::AuthArgs>,
    /// How fast each client may go.
    #[command(flatten)]
    pub limits: Box<crate::limits::LimitArgs>,
    /// Which other MCP servers to front.
    #[command(flatten)]
    pub gateway: Box<crate::gateway::GatewayArgs>,
    /// Who this server is in a network of Tenet nodes.
    #[command(flatten)]
    pub node: Box<NodeArgs>,
    /// What replicas of this server share.
    #[command(flatten)]
    pub store: Box<crate::store::StoreArgs>,
    /// Request traces over OTLP.
    #[command(flatten)]
    pub telemetry: Box<crate::telemetry::TelemetryArgs>,
}

// Who this server is in a network of Tenet nodes.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Node")]
pub struct NodeArgs {
    /// This node's id, announced to clients and peers (1 to 64 of A-Z a-z 0-9 _ -);
    /// without it, one is generated once and kept in the state directory (without
    /// --state-dir, a stdio server or one on port 0 has one for the run).
    #[arg(long = "node-id", help_heading = "Node", value_name = "ID", env = "TENET_NODE_ID")]
    pub id: Option<tenet_node::NodeId>,
    /// Where the node keeps its state (its generated id) [default for HTTP on a fixed
    /// port: $XDG_STATE_HOME/tenet/http-HOST-PORT, else ~/.local/state/tenet/…].
    #[arg(long, help_heading = "Node", value_name = "DIR", env = "TENET_STATE_DIR", value_hint = clap::ValueHint::DirPath)]
    pub state_dir: Option<std::path::PathBuf>,
    /// The most Tenet nodes a request relayed upstream may pass through, this one
    /// included; a request that would pass through more, or through a node twice, is
    /// refused.
    #[arg(long, help_heading = "Node", default_value_t = tenet_gateway::DEFAULT_MAX_HOPS as u32, env = "TENET_MAX_HOPS", value_parser = clap::value_parser!(u32).range(1..=tenet_protocol::MAX_NODE_PATH as i64))]
    pub max_hops: u32,
    /// Offer other nodes what this node imported from its peers too (within
    /// --max-hops, never back to a node it came through); by default a node offers
    /// other nodes only its own tools, resources and prompts and its upstreams'.
    #[arg(long, help_heading = "Node", env = "TENET_REEXPORT", value_parser = crate::parse::switch)]
    pub reexport: bool,
}

/// The `serve` subcommand with its options in place (they are otherwise added only
/// when it runs), so that a config file can set their defaults.
pub fn serve_command(serve: clap::Command) -> clap::Command {
    use clap::Args as _;
    // The deferred builder would add the same options again: replace it with a no-op.
    ServeArgs::augment_args(serve.defer(|serve| serve))
}

/// A subcommand that reads standards (`get`, `search`, `list`, `eval`, `export`) with
/// its options in place, as [`serve_command`] does for `serve`; others as they are.
pub fn knowledge_command(name: &str, command: clap::Command) -> clap::Command {
    use clap::Args as _;
    let command = command.defer(|c| c);
    match name {
        "get" => GetArgs::augment_args(command),
        "search" => SearchArgs::augment_args(command),
        "list" => ListArgs::augment_args(command),
        "eval" => EvalArgs::augment_args(command),
        "export" => ExportArgs::augment_args(command),
        _ => command,
    }
}

fn path(s: &str) -> Result<String, String> {
    if s.starts_with('/') && !s.contains(char::is_whitespace) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} must start with / and contain no spaces"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// Every switch of every subcommand, with where it is.
    fn switches(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
        for arg in cmd.get_arguments().filter(|a| matches!(a.get_action(), clap::ArgAction::SetTrue)) {
            out.push((format!("{path} --{}", arg.get_long().unwrap_or_default()), arg.clone()));
        }
        for sub in cmd.get_subcommands() {
            switches(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_switch_takes_the_usual_spellings_of_yes_and_no() {
        use clap::CommandFactory;
        let mut cli = Cli::command();
        cli.build();
        let mut all = Vec::new();
        switches(&cli, "tenet", &mut all);
        assert!(all.iter().any(|(name, _)| name == "tenet serve --no-builtin"), "{:?}", all.iter().map(|a| &a.0));
        assert!(all.len() >= 9, "{:?}", all.iter().map(|a| &a.0).collect::<Vec<_>>());
        for (name, arg) in all {
            for (spelling, want) in
                [("1", true), ("yes", true), ("On", true), ("0", false), ("no", false), ("OFF", false)]
            {
                let alone = arg.clone().env(None).default_value(spelling);
                let matches = clap::Command::new("t").arg(alone).try_get_matches_from(["t"]);
                let got = matches.map(|m| m.get_one::<bool>(arg.get_id().as_str()).copied());
                assert_eq!(got.ok().flatten(), Some(want), "{name} {spelling}");
            }
        }
        assert_eq!(switch("yes"), Ok(true));
        assert_eq!(switch("off"), Ok(false));
        assert_eq!(
            switch("maybe"),
            Err("\"maybe\" is neither yes nor no: use 1/0, true/false, yes/no or on/off".into())
        );
    }

    /// Each subcommand's description is its own in `--help` and the man page, not the doc
    /// comment of a struct of options built (deferred) after it.
    #[test]
    fn every_subcommand_keeps_its_own_description_once_built() {
        use clap::CommandFactory;
        let unbuilt = Cli::command();
        let mut built = Cli::command();
        built.build();
        for sub in unbuilt.get_subcommands() {
            let after = built.find_subcommand(sub.get_name()).unwrap();
            let (before, after) =
                (sub.get_about().map(ToString::to_string), after.get_about().map(ToString::to_string));
            assert!(before.is_some(), "{} has a description", sub.get_name());
            assert_eq!(before, after, "{}", sub.get_name());
        }
    }

    #[test]
    fn bad_timeouts_are_rejected() {
        assert!(positive_seconds("0").is_err());
        assert!(positive_seconds("-1").is_err());
        assert!(positive_seconds("abc").is_err());
        assert_eq!(positive_seconds("2.5"), Ok(2.5));
    }
}
