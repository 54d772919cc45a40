//! Tool definitions: metadata, a handler, and the schemas its arguments are checked
//! against before the handler runs.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jsonschema::Validator;
use serde_json::{Value, json};
use tenet_protocol::header::{HeaderParam, valid_header_params};
use tenet_protocol::{CallToolResult, Icon, JsonObject, Tool, ToolAnnotations, ToolExecution};

use super::extract::{ErasedHandler, ToolHandler, erase};
use super::names::DeclaredNames;
use super::schema::push_pointer_token;
use crate::error::BuildError;
use crate::limits::{ConcurrencyLimit, Rate};

/// Whether a tool can run as a task: asked for with the `task` param (2025-11-25), or
/// decided by the server for requests that list the tasks extension (2026-07-28).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSupport {
    /// Never (the default).
    Forbidden,
    /// If the client asks.
    Optional,
    /// Only as a task.
    Required,
}

/// A tool to register: its listing, its handler, and options.
///
/// ```
/// use tenet_server::{Args, ToolDef};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Echo { text: String }
///
/// async fn echo(Args(a): Args<Echo>) -> String { a.text }
///
/// let tool = ToolDef::new("echo", echo).description("Echo the text back").read_only();
/// assert_eq!(tool.listing().name, "echo");
/// assert_eq!(tool.listing().input_schema["properties"]["text"]["type"], "string");
/// ```
#[derive(Clone)]
pub struct ToolDef {
    tool: Tool,
    handler: ErasedHandler,
    timeout: Option<Duration>,
    scopes: Vec<String>,
    task_started_by_handler: bool,
    keeps_written_arguments: bool,
    strict_names: bool,
    max_concurrency: Option<usize>,
    cache_ttl: Option<Duration>,
    rate: Option<Rate>,
}

impl std::fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolDef").field("tool", &self.tool).finish_non_exhaustive()
    }
}

/// The input schema of a tool that takes no arguments.
pub fn empty_input_schema() -> Value {
    json!({"type": "object", "additionalProperties": false})
}

impl ToolDef {
    /// A tool named `name` run by `handler`. Its input schema comes from the handler's
    /// `Args<T>` (or is the empty object schema), its output schema from `Json<T>`.
    pub fn new<H: ToolHandler<T>, T>(name: impl Into<String>, handler: H) -> Self {
        Self {
            tool: Tool {
                name: name.into(),
                title: None,
                description: None,
                input_schema: H::input_schema().unwrap_or_else(empty_input_schema),
                output_schema: H::output_schema(),
                annotations: None,
                execution: None,
                icons: None,
                meta: None,
            },
            handler: erase(handler),
            timeout: None,
            scopes: Vec::new(),
            task_started_by_handler: false,
            keeps_written_arguments: false,
            strict_names: false,
            max_concurrency: None,
            cache_ttl: None,
            rate: None,
        }
    }

    /// A tool listed exactly as `tool` says (name, title, description, schemas,
    /// annotations, icons, `_meta`), run by `handler`: for tools described elsewhere,
    /// such as a gateway's upstream tools, whose `RawArgs` are checked against the
    /// given input schema.
    pub fn from_listing<H: ToolHandler<T>, T>(tool: Tool, handler: H) -> Self {
        let mut def = Self::new(tool.name.clone(), handler);
        def.tool = tool;
        def
    }

    /// What the tool does, for the model.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.tool.description = Some(description.into());
        self
    }

    /// A human-readable name.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.tool.title = Some(title.into());
        self
    }

    /// Replaces the input schema (it must be an object schema). It is advertised as
    /// written (a `$schema`, `$defs` or `format` the author chose is kept, as SEP-1613
    /// asks); [`crate::schema_of`] gives a derived schema in the portable form, and
    /// [`crate::advertised_schema`] rewrites any schema that way.
    #[must_use]
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.tool.input_schema = schema;
        self
    }

    /// Replaces (or sets) the output schema, advertised as written (see
    /// [`ToolDef::input_schema`]).
    #[must_use]
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.tool.output_schema = Some(schema);
        self
    }

    /// Sets the behaviour hints.
    #[must_use]
    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.tool.annotations = Some(annotations);
        self
    }

    fn hints(&mut self) -> &mut ToolAnnotations {
        self.tool.annotations.get_or_insert_with(ToolAnnotations::default)
    }

    /// Marks the tool read-only and idempotent.
    #[must_use]
    pub fn read_only(mut self) -> Self {
        let hints = self.hints();
        hints.read_only_hint = Some(true);
        hints.destructive_hint = Some(false);
        hints.idempotent_hint = Some(true);
        self
    }

    /// Marks whether the tool reaches outside a closed world.
    #[must_use]
    pub fn open_world(mut self, open: bool) -> Self {
        self.hints().open_world_hint = Some(open);
        self
    }

    /// Icons for the tool.
    #[must_use]
    pub fn icons(mut self, icons: Vec<Icon>) -> Self {
        self.tool.icons = Some(icons);
        self
    }

    /// Whether the tool may run as a task. A 2025-11-25 `tools/call` with a `task`
    /// param then answers at once with a task handle; a 2026-07-28 one whose request
    /// lists the tasks extension gets one without asking (a `Required` tool refuses
    /// requests without the extension with -32021).
    #[must_use]
    pub fn task_support(mut self, support: TaskSupport) -> Self {
        let value = match support {
            TaskSupport::Forbidden => "forbidden",
            TaskSupport::Optional => "optional",
            TaskSupport::Required => "required",
        };
        self.tool.execution = Some(ToolExecution { task_support: Some(value.into()) });
        self
    }

    /// Lets the handler decide when its call becomes a task (the tasks extension): it
    /// may first gather input the MRTR way (input-required results answered by
    /// retries), then call [`crate::Context::start_task`]; the client gets the task
    /// handle then. A handler that returns without starting a task answers plainly.
    /// Without this, a call that can become a task does so before the handler runs.
    #[must_use]
    pub fn task_started_by_handler(mut self) -> Self {
        self.task_started_by_handler = true;
        self
    }

    /// Hands the handler the arguments as the client wrote them too, when common readers
    /// take from that text what was checked ([`crate::ToolCall::written_arguments`]),
    /// beside the checked tree: for a handler that passes them on, such as a gateway's
    /// forwarder, which then need not write them again.
    #[must_use]
    pub fn keeps_written_arguments(mut self) -> Self {
        self.keeps_written_arguments = true;
        self
    }

    /// Refuses arguments with a member, at any depth, whose name differs only in case
    /// from a property the input schema declares (`Amount` beside a declared `amount`,
    /// `ſize` beside `size`), or whose name holds a NUL; each is named in the refusal.
    /// The schema check reads names exactly and lets such a member by unchecked, while
    /// readers that ignore case (Go's `encoding/json`) take it for the declared one: for
    /// a handler that passes arguments on, such as a gateway's forwarder. Each member is
    /// judged by the `properties` that may apply where it stands, the schema's own
    /// references followed.
    #[must_use]
    pub fn strict_names(mut self) -> Self {
        self.strict_names = true;
        self
    }

    /// How long a call may run before it fails (overrides the server's default).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Runs at most `max` calls of this tool at once (at least 1), across every
    /// connection and transport; overrides [`crate::ServerConfig::tool_concurrency`].
    /// Past it a call waits for a turn for up to half its timeout, then is refused
    /// with -32004 (see [`crate::RATE_LIMITED`]); tasks count too.
    #[must_use]
    pub fn max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = Some(max.max(1));
        self
    }

    /// Lets each caller call this tool at `rate` at most (a bucket per caller and tool,
    /// refilled at `rate.per_second` up to `rate.burst`), whatever transport brings the
    /// call: past it the call is refused with -32004 ([`crate::RATE_LIMITED`], HTTP 429
    /// on 2026-07-28) and how long to wait. A rate the server's limits set for this tool
    /// by name ([`crate::ServerConfig::rate_limit`], `tools/call:<name>`) wins over it;
    /// it takes the place of a rate for `tools/call` and of the default for this tool's
    /// calls, which spend no token of theirs. A rate under one call in a million seconds
    /// (zero among them) counts as that. Replicas count it in their shared store
    /// ([`crate::ServerConfig::rate_store`]), else each on its own.
    #[must_use]
    pub fn rate_limit(mut self, rate: Rate) -> Self {
        self.rate = Some(rate);
        self
    }

    /// The rate each caller may call this tool at, if it has one of its own
    /// ([`ToolDef::rate_limit`]).
    pub fn rate(&self) -> Option<Rate> {
        self.rate
    }

    /// Keeps successful results for `ttl` and answers equal calls (same arguments,
    /// protocol version and caller scopes) from the cache, when the server's cache is
    /// on ([`crate::ServerConfig::cache_max_bytes`]).
    ///
    /// Only for read-only tools whose result depends on nothing but their arguments
    /// and data whose changes the server announces (`notify_resource_updated`, list
    /// changes), which drop cached results. Errors, `isError` results, input requests,
    /// calls that asked the client something and calls run as tasks are never cached;
    /// an answer from the cache sends no progress or log notifications.
    #[must_use]
    pub fn cacheable(mut self, ttl: Duration) -> Self {
        self.cache_ttl = Some(ttl);
        self
    }

    /// Requires the caller to hold `scope` (e.g. `stdlib:read`; several calls, or
    /// space-separated scopes, require them all). Callers without it do not see the
    /// tool, and calling it is refused with insufficient scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        crate::grant::push_scope(&mut self.scopes, scope);
        self
    }

    /// The scopes a caller needs to see and call the tool.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The tool as `tools/list` shows it.
    pub fn listing(&self) -> &Tool {
        &self.tool
    }

    /// Checks the tool's shape and, when `eager`, compiles its schemas now; otherwise
    /// they compile on first use (see [`crate::ServerBuilder::compile_schemas_lazily`]).
    /// `max_concurrency` is the server's default cap, for a tool that sets none.
    pub(crate) fn compile(self, eager: bool, max_concurrency: Option<usize>) -> Result<CompiledTool, BuildError> {
        if self.tool.input_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(BuildError::NotAnObjectSchema(self.tool.name));
        }
        let read_only = self.tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
        if self.cache_ttl.is_some() && !read_only {
            tracing::warn!(tool = %self.tool.name, "a cacheable tool should be read-only");
        }
        let header_params = valid_header_params(&self.tool.input_schema).into();
        let compiled = CompiledTool {
            tool: self.tool,
            handler: self.handler,
            timeout: self.timeout,
            header_params,
            scopes: self.scopes,
            task_started_by_handler: self.task_started_by_handler,
            keeps_written_arguments: self.keeps_written_arguments,
            strict_names: self.strict_names,
            limit: self.max_concurrency.or(max_concurrency).map(ConcurrencyLimit::new),
            cache_ttl: self.cache_ttl,
            rate: self.rate,
            schemas: OnceLock::new(),
        };
        if eager {
            compiled.prepare()?;
        }
        Ok(compiled)
    }
}

/// A registered tool; its schemas are compiled once, at registration or first use.
pub(crate) struct CompiledTool {
    pub tool: Tool,
    pub handler: ErasedHandler,
    pub timeout: Option<Duration>,
    /// Its `x-mcp-header` annotations, read once from the input schema.
    pub header_params: Arc<[HeaderParam]>,
    /// The scopes a caller needs to see and call it.
    pub scopes: Vec<String>,
    /// Whether its handler starts its task itself (see [`ToolDef::task_started_by_handler`]).
    task_started_by_handler: bool,
    /// Whether its handler is given the arguments as written (see
    /// [`ToolDef::keeps_written_arguments`]).
    pub keeps_written_arguments: bool,
    /// Whether names that differ from a declared property only in case are refused
    /// (see [`ToolDef::strict_names`]).
    strict_names: bool,
    /// Its concurrency cap, if any (shared by every connection).
    pub limit: Option<Arc<ConcurrencyLimit>>,
    /// How long its results may be cached, if at all.
    pub cache_ttl: Option<Duration>,
    /// The rate each caller may call it at, if it has one of its own.
    pub rate: Option<Rate>,
    schemas: OnceLock<Result<Schemas, BuildError>>,
}

struct Schemas {
    input: Validator,
    output: Option<Validator>,
    /// The input schema's property names, when names are strict.
    names: Option<DeclaredNames>,
}

impl CompiledTool {
    /// Compiles the schemas if that has not happened yet.
    pub fn prepare(&self) -> Result<(), BuildError> {
        match self.schemas() {
            Ok(_) => Ok(()),
            Err(e) => Err(e.clone()),
        }
    }

    fn schemas(&self) -> Result<&Schemas, &BuildError> {
        self.schemas
            .get_or_init(|| {
                let compile = |schema: &Value, which| {
                    jsonschema::validator_for(schema).map_err(|e| BuildError::InvalidSchema {
                        tool: self.tool.name.clone(),
                        which,
                        reason: e.to_string(),
                    })
                };
                let input = compile(&self.tool.input_schema, "input")?;
                let output = self.tool.output_schema.as_ref().map(|s| compile(s, "output")).transpose()?;
                let names = self.strict_names.then(|| DeclaredNames::of(&self.tool.input_schema));
                Ok(Schemas { input, output, names })
            })
            .as_ref()
    }

    /// Keeps `old`'s concurrency limit when this tool replaces it with the same cap, so
    /// calls already running still count.
    pub fn inherit_limit(&mut self, old: &CompiledTool) {
        if let (Some(new), Some(old)) = (&self.limit, &old.limit)
            && new.max() == old.max()
        {
            self.limit = Some(old.clone());
        }
    }

    /// The tool's declared task support.
    pub fn task_support(&self) -> TaskSupport {
        match self.tool.execution.as_ref().and_then(|e| e.task_support.as_deref()) {
            Some("optional") => TaskSupport::Optional,
            Some("required") => TaskSupport::Required,
            _ => TaskSupport::Forbidden,
        }
    }

    /// Whether its handler starts its task itself (the tasks extension).
    pub fn task_started_by_handler(&self) -> bool {
        self.task_started_by_handler
    }

    /// Checks arguments against the input schema; the error names every failing field.
    pub fn check_arguments(&self, arguments: &Value) -> Result<(), InvalidArguments> {
        // Written only for arguments refused: most calls pass.
        let lead = || format!("Invalid arguments for tool {}", self.tool.name);
        let schemas = match self.schemas() {
            Ok(schemas) => schemas,
            Err(e) => return Err(InvalidArguments { message: format!("{}: {e}", lead()), fields: Vec::new() }),
        };
        let mut fields = schemas.names.as_ref().map_or_else(Vec::new, |names| names.problems(arguments, MAX_PROBLEMS));
        if fields.is_empty() && schemas.input.is_valid(arguments) {
            return Ok(());
        }
        let room = MAX_PROBLEMS - fields.len();
        fields.extend(schemas.input.iter_errors(arguments).take(room).map(|e| problem(&e)));
        Err(InvalidArguments { message: describe(&lead(), &fields), fields })
    }

    /// Checks structured output against the output schema.
    pub fn check_output(&self, result: &CallToolResult) -> Result<(), String> {
        let Some(output) = &self.schemas().map_err(ToString::to_string)?.output else { return Ok(()) };
        let Some(structured) = &result.structured_content else {
            if result.is_error == Some(true) {
                return Ok(());
            }
            return Err(format!("tool {} declares an outputSchema but returned no structuredContent", self.tool.name));
        };
        if output.is_valid(structured) {
            return Ok(());
        }
        let fields: Vec<(String, String)> =
            output.iter_errors(structured).take(MAX_PROBLEMS).map(|e| problem(&e)).collect();
        Err(describe(
            &format!("Tool {} returned structuredContent that breaks its outputSchema", self.tool.name),
            &fields,
        ))
    }
}

/// How many schema violations a message names.
const MAX_PROBLEMS: usize = 8;

/// Arguments a tool's input schema refused: the message for the model, and each
/// violation as (JSON Pointer into the arguments, what is wrong) for programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidArguments {
    /// "Invalid arguments for tool …: …", naming every failing field.
    pub message: String,
    /// Each violation: the pointer (empty for the arguments as a whole) and the reason.
    pub fields: Vec<(String, String)>,
}

impl InvalidArguments {
    /// The failed `tools/call` result: the message as its text, the fields under
    /// [`tenet_protocol::INVALID_ARGUMENTS_KEY`] in its `_meta`.
    pub fn into_result(self) -> CallToolResult {
        let fields: Vec<Value> = self
            .fields
            .into_iter()
            .map(|(path, message)| serde_json::json!({ "path": path, "message": message }))
            .collect();
        let mut result = CallToolResult::error(self.message);
        let mut meta = JsonObject::new();
        meta.insert(tenet_protocol::INVALID_ARGUMENTS_KEY.to_owned(), Value::Array(fields));
        result.meta = Some(meta);
        result
    }
}

/// One violation as (JSON Pointer, reason); a missing required property is pointed
/// at where it should be, not at the object that lacks it.
fn problem(e: &jsonschema::ValidationError<'_>) -> (String, String) {
    let mut path = e.instance_path().to_string();
    if let jsonschema::error::ValidationErrorKind::Required { property: Value::String(name) } = e.kind() {
        push_pointer_token(&mut path, name);
    }
    (path, e.to_string())
}

fn describe(lead: &str, fields: &[(String, String)]) -> String {
    let problems: Vec<String> = fields
        .iter()
        .map(|(path, problem)| if path.is_empty() { problem.clone() } else { format!("{path}: {problem}") })
        .collect();
    format!("{lead}: {}", problems.join("; "))
}
