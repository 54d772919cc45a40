//! Golden tests: every official 2026-07-28 example message against our types.
//!
//! For each example under `mcp-spec/2026-07-28/examples/<TypeName>/` whose type maps to
//! one of our Rust types, we check that
//!
//! - (a) the example validates against its definition in the official schema (sanity),
//! - (b) it parses into our type,
//! - (c) our re-serialization, put back in place of the example's part, validates
//!   against the same definition, and
//! - (d) nothing the example had was lost: every member of the example (recursively) is
//!   in our re-serialization with the same value.
//!
//! Every example type is either mapped in [`MAPPINGS`] or listed, with a reason, in
//! [`UNMAPPED`]; a new example type that is in neither fails the test.
//!
//! Also: unknown members (at the top and nested) must not break parsing, and a `_meta`
//! the schema declares must survive our types like any other member.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use jsonschema::Validator;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use support::{compile_definition, describe, read_json, spec_root};
use tenet_protocol::jsonrpc::ErrorObject;
use tenet_protocol::{
    AcknowledgedParams, CallToolParams, CallToolResult, CancelledParams, ClientCapabilities, CompleteParams,
    CompleteResult, ContentBlock, CreateMessageParams, CreateMessageResult, DiscoverResult, ElicitParams, ElicitResult,
    GetPromptParams, GetPromptResult, InputRequest, InputRequiredResult, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListRootsResult, ListToolsResult, ListenParams,
    LoggingMessageParams, MetaOnlyParams, Method, PaginatedParams, ProgressParams, ProtocolVersion, ReadResourceResult,
    RequestMeta, Resource, ResourceContents, ResourceParams, ResourceUpdatedParams, Root, SamplingMessage,
    ServerCapabilities, Tool,
};

// ---------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------

/// Where the official schemas and examples live (`/work/shared/mcp-spec`).
/// One version's schema document, with a validator per definition compiled on demand.
struct Schema {
    version: &'static str,
    document: Value,
    validators: HashMap<String, Validator>,
}

impl Schema {
    fn load(version: &'static str) -> Self {
        let document = read_json(&spec_root().join(version).join("schema.json"));
        Self { version, document, validators: HashMap::new() }
    }

    fn has(&self, name: &str) -> bool {
        definitions(&self.document).contains_key(name)
    }

    /// The validator of one definition, compiled once.
    fn validator(&mut self, name: &str) -> &Validator {
        if !self.validators.contains_key(name) {
            assert!(self.has(name), "{}: the schema has no definition {name}", self.version);
            let compiled = compile_definition(&self.document, name);
            self.validators.insert(name.to_owned(), compiled);
        }
        &self.validators[name]
    }

    /// Every problem `instance` has against the definition `name`, one line each.
    fn problems(&mut self, name: &str, instance: &Value) -> Vec<String> {
        let validator = self.validator(name);
        validator.iter_errors(instance).map(|e| describe(&e)).collect()
    }
}

/// The definitions of a schema document: `$defs` (2020-12) or `definitions` (draft-07).
fn definitions(document: &Value) -> &Map<String, Value> {
    document
        .get("$defs")
        .or_else(|| document.get("definitions"))
        .and_then(Value::as_object)
        .expect("a schema document with $defs or definitions")
}

// ---------------------------------------------------------------------------------------
// Round trips through our types
// ---------------------------------------------------------------------------------------

/// Parses a JSON value into `T` and serializes it back.
type RoundTrip = fn(&Value) -> Result<Value, String>;

fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let parsed = T::deserialize(value).map_err(|e| format!("does not parse: {e}"))?;
    serde_json::to_value(&parsed).map_err(|e| format!("does not serialize: {e}"))
}

/// The params of a client request, as the server runtime reads them: the method's
/// params struct (which has no `_meta` member) plus `_meta`, which every request's
/// params carry and which is read separately into a [`tenet_protocol::RequestMeta`].
/// Both are re-serialized and merged back.
fn request_params<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let mut out = round_trip::<T>(value)?;
    let meta = value.get("_meta").map(RequestMeta::deserialize).transpose();
    if let Some(meta) = meta.map_err(|e| format!("_meta does not parse: {e}"))? {
        let object = out.as_object_mut().ok_or("the params did not serialize as an object")?;
        if object.contains_key("_meta") {
            return Err("the params struct serialized its own _meta".into());
        }
        let meta = serde_json::to_value(&meta).map_err(|e| format!("_meta does not serialize: {e}"))?;
        object.insert("_meta".into(), meta);
    }
    Ok(out)
}

/// The params of a request that has nothing but `_meta` (`server/discover`).
#[derive(Serialize, Deserialize)]
struct NoParams {}

/// Members that are not fields of our result structs: the server runtime adds them to
/// 2026-07-28 results when it encodes the response (`resultType` on every result,
/// `ttlMs`/`cacheScope` on cacheable ones). Before validating our re-serialization we
/// add them, with the example's values (or plausible defaults when it has none); they
/// are also the only members the lossless check does not look for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Runtime {
    /// Nothing is added (types that are not 2026 server results).
    Nothing,
    /// `resultType`.
    Result,
    /// `resultType`, `ttlMs` and `cacheScope`.
    Cacheable,
}

const RUNTIME_MEMBERS: [&str; 3] = ["resultType", "ttlMs", "cacheScope"];

impl Runtime {
    fn members(self) -> &'static [&'static str] {
        match self {
            Runtime::Nothing => &[],
            Runtime::Result => &RUNTIME_MEMBERS[..1],
            Runtime::Cacheable => &RUNTIME_MEMBERS,
        }
    }

    fn add(self, example: &Value, ours: &mut Value) {
        let Some(object) = ours.as_object_mut() else { return };
        for &member in self.members() {
            let fallback = match member {
                "resultType" => json!("complete"),
                "ttlMs" => json!(0),
                _ => json!("private"),
            };
            let value = example.get(member).cloned().unwrap_or(fallback);
            object.entry(member).or_insert(value);
        }
    }
}

/// How the examples of one type map onto our types.
struct Mapping {
    /// The example directory, which is also the schema definition it validates against.
    example: &'static str,
    /// The JSON pointer of the part our type covers: `""` for the whole example,
    /// `"/result"` of a response, `"/params"` of a request or notification, `"/error"`
    /// of an error response.
    part: &'static str,
    /// Our type, for messages.
    rust: &'static str,
    round_trip: RoundTrip,
    runtime: Runtime,
}

const fn map(example: &'static str, part: &'static str, rust: &'static str, round_trip: RoundTrip) -> Mapping {
    Mapping { example, part, rust, round_trip, runtime: Runtime::Nothing }
}

const fn result(example: &'static str, part: &'static str, rust: &'static str, round_trip: RoundTrip) -> Mapping {
    Mapping { example, part, rust, round_trip, runtime: Runtime::Result }
}

const fn cacheable(example: &'static str, part: &'static str, rust: &'static str, round_trip: RoundTrip) -> Mapping {
    Mapping { example, part, rust, round_trip, runtime: Runtime::Cacheable }
}

type InputRequests = BTreeMap<String, InputRequest>;

/// Every example type we map, and onto what.
const MAPPINGS: &[Mapping] = &[
    // Content blocks.
    map("TextContent", "", "ContentBlock", round_trip::<ContentBlock>),
    map("ImageContent", "", "ContentBlock", round_trip::<ContentBlock>),
    map("AudioContent", "", "ContentBlock", round_trip::<ContentBlock>),
    map("ResourceLink", "", "ContentBlock", round_trip::<ContentBlock>),
    map("EmbeddedResource", "", "ContentBlock", round_trip::<ContentBlock>),
    map("ToolUseContent", "", "ContentBlock", round_trip::<ContentBlock>),
    map("ToolResultContent", "", "ContentBlock", round_trip::<ContentBlock>),
    map("TextResourceContents", "", "ResourceContents", round_trip::<ResourceContents>),
    map("BlobResourceContents", "", "ResourceContents", round_trip::<ResourceContents>),
    // Capabilities and discovery.
    map("ClientCapabilities", "", "ClientCapabilities", round_trip::<ClientCapabilities>),
    map("ServerCapabilities", "", "ServerCapabilities", round_trip::<ServerCapabilities>),
    map("DiscoverRequest", "/params", "RequestMeta (params are only _meta)", request_params::<NoParams>),
    cacheable("DiscoverResult", "", "DiscoverResult", round_trip::<DiscoverResult>),
    cacheable("DiscoverResultResponse", "/result", "DiscoverResult", round_trip::<DiscoverResult>),
    // Tools.
    map("Tool", "", "Tool", round_trip::<Tool>),
    map("ListToolsRequest", "/params", "PaginatedParams + RequestMeta", request_params::<PaginatedParams>),
    cacheable("ListToolsResult", "", "ListToolsResult", round_trip::<ListToolsResult>),
    cacheable("ListToolsResultResponse", "/result", "ListToolsResult", round_trip::<ListToolsResult>),
    map("CallToolRequest", "/params", "CallToolParams + RequestMeta", request_params::<CallToolParams>),
    map("CallToolRequestParams", "", "CallToolParams + RequestMeta", request_params::<CallToolParams>),
    result("CallToolResult", "", "CallToolResult", round_trip::<CallToolResult>),
    result("CallToolResultResponse", "/result", "CallToolResult", round_trip::<CallToolResult>),
    // Resources.
    map("Resource", "", "Resource", round_trip::<Resource>),
    map("PaginatedRequestParams", "", "PaginatedParams + RequestMeta", request_params::<PaginatedParams>),
    map("ListResourcesRequest", "/params", "PaginatedParams + RequestMeta", request_params::<PaginatedParams>),
    cacheable("ListResourcesResult", "", "ListResourcesResult", round_trip::<ListResourcesResult>),
    cacheable("ListResourcesResultResponse", "/result", "ListResourcesResult", round_trip::<ListResourcesResult>),
    map("ListResourceTemplatesRequest", "/params", "PaginatedParams + RequestMeta", request_params::<PaginatedParams>),
    cacheable(
        "ListResourceTemplatesResult",
        "",
        "ListResourceTemplatesResult",
        round_trip::<ListResourceTemplatesResult>,
    ),
    cacheable(
        "ListResourceTemplatesResultResponse",
        "/result",
        "ListResourceTemplatesResult",
        round_trip::<ListResourceTemplatesResult>,
    ),
    map("ReadResourceRequest", "/params", "ResourceParams + RequestMeta", request_params::<ResourceParams>),
    cacheable("ReadResourceResult", "", "ReadResourceResult", round_trip::<ReadResourceResult>),
    cacheable("ReadResourceResultResponse", "/result", "ReadResourceResult", round_trip::<ReadResourceResult>),
    map("ResourceUpdatedNotification", "/params", "ResourceUpdatedParams", round_trip::<ResourceUpdatedParams>),
    map("ResourceUpdatedNotificationParams", "", "ResourceUpdatedParams", round_trip::<ResourceUpdatedParams>),
    // Prompts.
    map("ListPromptsRequest", "/params", "PaginatedParams + RequestMeta", request_params::<PaginatedParams>),
    cacheable("ListPromptsResult", "", "ListPromptsResult", round_trip::<ListPromptsResult>),
    cacheable("ListPromptsResultResponse", "/result", "ListPromptsResult", round_trip::<ListPromptsResult>),
    map("GetPromptRequest", "/params", "GetPromptParams + RequestMeta", request_params::<GetPromptParams>),
    map("GetPromptRequestParams", "", "GetPromptParams + RequestMeta", request_params::<GetPromptParams>),
    result("GetPromptResult", "", "GetPromptResult", round_trip::<GetPromptResult>),
    result("GetPromptResultResponse", "/result", "GetPromptResult", round_trip::<GetPromptResult>),
    // Completion.
    map("CompleteRequest", "/params", "CompleteParams + RequestMeta", request_params::<CompleteParams>),
    map("CompleteRequestParams", "", "CompleteParams + RequestMeta", request_params::<CompleteParams>),
    result("CompleteResult", "", "CompleteResult", round_trip::<CompleteResult>),
    result("CompleteResultResponse", "/result", "CompleteResult", round_trip::<CompleteResult>),
    // Subscriptions (2026-07-28).
    map("SubscriptionsListenRequest", "/params", "ListenParams + RequestMeta", request_params::<ListenParams>),
    map("SubscriptionsAcknowledgedNotification", "/params", "AcknowledgedParams", round_trip::<AcknowledgedParams>),
    map("ToolListChangedNotification", "/params", "MetaOnlyParams", round_trip::<MetaOnlyParams>),
    map("PromptListChangedNotification", "/params", "MetaOnlyParams", round_trip::<MetaOnlyParams>),
    map("ResourceListChangedNotification", "/params", "MetaOnlyParams", round_trip::<MetaOnlyParams>),
    // Progress, cancellation, logging.
    map("ProgressNotification", "/params", "ProgressParams", round_trip::<ProgressParams>),
    map("ProgressNotificationParams", "", "ProgressParams", round_trip::<ProgressParams>),
    map("CancelledNotification", "/params", "CancelledParams", round_trip::<CancelledParams>),
    map("CancelledNotificationParams", "", "CancelledParams", round_trip::<CancelledParams>),
    map("LoggingMessageNotification", "/params", "LoggingMessageParams", round_trip::<LoggingMessageParams>),
    map("LoggingMessageNotificationParams", "", "LoggingMessageParams", round_trip::<LoggingMessageParams>),
    // Input-required results (MRTR) and what they embed.
    result("InputRequiredResult", "", "InputRequiredResult", round_trip::<InputRequiredResult>),
    map("InputRequests", "", "BTreeMap<String, InputRequest>", round_trip::<InputRequests>),
    map("ElicitRequest", "/params", "ElicitParams", round_trip::<ElicitParams>),
    map("ElicitRequestFormParams", "", "ElicitParams", round_trip::<ElicitParams>),
    map("ElicitRequestURLParams", "", "ElicitParams", round_trip::<ElicitParams>),
    map("ElicitResult", "", "ElicitResult", round_trip::<ElicitResult>),
    map("CreateMessageRequest", "/params", "CreateMessageParams", round_trip::<CreateMessageParams>),
    map("CreateMessageRequestParams", "", "CreateMessageParams", round_trip::<CreateMessageParams>),
    map("CreateMessageResult", "", "CreateMessageResult", round_trip::<CreateMessageResult>),
    map("SamplingMessage", "", "SamplingMessage", round_trip::<SamplingMessage>),
    map("ListRootsResult", "", "ListRootsResult", round_trip::<ListRootsResult>),
    map("Root", "", "Root", round_trip::<Root>),
    // Errors.
    map("ParseError", "", "ErrorObject", round_trip::<ErrorObject>),
    map("InternalError", "", "ErrorObject", round_trip::<ErrorObject>),
    map("InvalidParamsError", "", "ErrorObject", round_trip::<ErrorObject>),
    map("MethodNotFoundError", "", "ErrorObject", round_trip::<ErrorObject>),
    map("HeaderMismatchError", "/error", "ErrorObject", round_trip::<ErrorObject>),
    map("MissingRequiredClientCapabilityError", "/error", "ErrorObject", round_trip::<ErrorObject>),
    map("UnsupportedProtocolVersionError", "/error", "ErrorObject", round_trip::<ErrorObject>),
];

/// Example types we deliberately do not map, and why.
const UNMAPPED: &[(&str, &str)] = &[
    ("BooleanSchema", "elicitation form field schema: ElicitParams::requested_schema is an opaque serde_json::Value"),
    ("NumberSchema", "elicitation form field schema: ElicitParams::requested_schema is an opaque serde_json::Value"),
    ("StringSchema", "elicitation form field schema: ElicitParams::requested_schema is an opaque serde_json::Value"),
    (
        "TitledSingleSelectEnumSchema",
        "elicitation form field schema: ElicitParams::requested_schema is an opaque serde_json::Value",
    ),
    (
        "TitledMultiSelectEnumSchema",
        "elicitation form field schema: ElicitParams::requested_schema is an opaque serde_json::Value",
    ),
    (
        "UntitledSingleSelectEnumSchema",
        "elicitation form field schema: ElicitParams::requested_schema is an opaque serde_json::Value",
    ),
    (
        "UntitledMultiSelectEnumSchema",
        "elicitation form field schema: ElicitParams::requested_schema is an opaque serde_json::Value",
    ),
    ("ModelPreferences", "CreateMessageParams::model_preferences is an opaque serde_json::Value"),
    (
        "InputResponses",
        "the inputResponses params member is an opaque JsonObject; each answer is parsed as the \
         ElicitResult/CreateMessageResult/ListRootsResult it is when the handler asks for it (mapped above)",
    ),
    (
        "ListRootsRequest",
        "has no params to parse: an embedded input request is just its method name, which InputRequest::method \
         carries (InputRequests and InputRequiredResult are mapped)",
    ),
    (
        "SubscriptionsListenResult",
        "no Rust type: the runtime writes the closing {\"_meta\":{subscriptionId}} result with json! \
         (checked against the schema by tenet-server's tests/schema.rs)",
    ),
    (
        "SubscriptionsListenResultResponse",
        "no Rust type: the runtime writes the closing {\"_meta\":{subscriptionId}} result with json! \
         (checked against the schema by tenet-server's tests/schema.rs)",
    ),
];

// ---------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------

const EXAMPLES_VERSION: &str = "2026-07-28";

struct Example {
    /// `TypeName/file.json`, for messages.
    name: String,
    value: Value,
}

/// Every example, by type name, sorted.
fn examples() -> BTreeMap<String, Vec<Example>> {
    let dir = spec_root().join(EXAMPLES_VERSION).join("examples");
    let mut out: BTreeMap<String, Vec<Example>> = BTreeMap::new();
    let types = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in types {
        let entry = entry.expect("a directory entry");
        if !entry.file_type().expect("a file type").is_dir() {
            continue;
        }
        let type_name = entry.file_name().to_string_lossy().into_owned();
        let mut files: Vec<PathBuf> = std::fs::read_dir(entry.path())
            .expect("an example directory")
            .map(|f| f.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        let list = out.entry(type_name.clone()).or_default();
        for file in files {
            let file_name = file.file_name().expect("a file name").to_string_lossy().into_owned();
            list.push(Example { name: format!("{type_name}/{file_name}"), value: read_json(&file) });
        }
    }
    assert!(!out.is_empty(), "no examples under {}", dir.display());
    out
}

fn mapping(type_name: &str) -> Option<&'static Mapping> {
    MAPPINGS.iter().find(|m| m.example == type_name)
}

/// A JSON pointer token for an object key (RFC 6901).
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Everything in `expected` that `actual` lacks or has changed, as JSON pointers.
/// Members named in `skip` are not looked for (at the top level only).
fn losses(expected: &Value, actual: &Value, pointer: &str, skip: &[&str], out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, value) in e {
                if pointer.is_empty() && skip.contains(&key.as_str()) {
                    continue;
                }
                let here = format!("{pointer}/{}", token(key));
                match a.get(key) {
                    None => out.push(format!("{here}: missing from our serialization (example had {value})")),
                    Some(ours) => losses(value, ours, &here, &[], out),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!("{pointer}: {} items in the example, {} in ours", e.len(), a.len()));
            }
            for (i, (value, ours)) in e.iter().zip(a).enumerate() {
                losses(value, ours, &format!("{pointer}/{i}"), &[], out);
            }
        }
        // 50 and 50.0 are the same number (f64 fields re-serialize integers as floats).
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{pointer}: changed from {e} to {a}")),
    }
}

/// Checks one example; returns every problem found.
fn check(schema: &mut Schema, mapping: &Mapping, example: &Example) -> Vec<String> {
    let mut problems = Vec::new();
    let definition = mapping.example;

    // (a) The example validates against its own definition.
    for p in schema.problems(definition, &example.value) {
        problems.push(format!("(a) the example itself fails {definition}: {p}"));
    }

    // A JSON-RPC request or notification must also be read by our JSON-RPC layer, and
    // name a method we know in this version.
    if example.value.get("jsonrpc").is_some() && example.value.get("method").is_some() {
        let bytes = serde_json::to_vec(&example.value).expect("an example serializes");
        if let Err(rejection) = tenet_protocol::jsonrpc::parse(&bytes) {
            problems.push(format!("tenet_jsonrpc::parse rejects it: {:?}", rejection.error));
        }
        let method = example.value["method"].as_str().unwrap_or_default();
        let version = ProtocolVersion::parse(EXAMPLES_VERSION).expect("a known version");
        if !Method::from_name(method).is_some_and(|m| m.exists_in(version)) {
            problems.push(format!("method {method} is not in our Method table for {EXAMPLES_VERSION}"));
        }
    }

    // (b) The part parses into our type.
    let Some(part) = example.value.pointer(mapping.part) else {
        problems.push(format!("the example has no {}", mapping.part));
        return problems;
    };
    let mut ours = match (mapping.round_trip)(part) {
        Ok(ours) => ours,
        Err(e) => {
            problems.push(format!("(b) {} {e}", mapping.rust));
            return problems;
        }
    };

    // (d) Nothing was lost (the runtime's members are not fields of our structs).
    let mut lost = Vec::new();
    losses(part, &ours, "", mapping.runtime.members(), &mut lost);
    for l in lost {
        problems.push(format!("(d) {} lost {}{l}", mapping.rust, mapping.part));
    }

    // (c) Our re-serialization, with the members the runtime adds for this result type
    // (resultType / ttlMs / cacheScope are not fields of our result structs), put back in
    // place of the example's part, validates against the same definition.
    mapping.runtime.add(part, &mut ours);
    let mut whole = example.value.clone();
    *whole.pointer_mut(mapping.part).expect("the part exists") = ours;
    for p in schema.problems(definition, &whole) {
        problems.push(format!("(c) our {} re-serialization fails {definition}: {p}", mapping.rust));
    }
    problems
}

#[test]
fn every_example_type_is_mapped_or_deliberately_skipped() {
    let examples = examples();
    let mut problems = Vec::new();
    let unmapped: BTreeSet<&str> = UNMAPPED.iter().map(|(name, _)| *name).collect();
    for type_name in examples.keys() {
        match (mapping(type_name).is_some(), unmapped.contains(type_name.as_str())) {
            (false, false) => problems.push(format!(
                "{type_name}: a new example type; map it to our type in MAPPINGS or list it, with a reason, in UNMAPPED"
            )),
            (true, true) => problems.push(format!("{type_name}: both mapped and listed as unmapped")),
            _ => {}
        }
    }
    for name in MAPPINGS.iter().map(|m| m.example).chain(unmapped.iter().copied()) {
        if !examples.contains_key(name) {
            problems.push(format!("{name}: no such example directory (a stale entry)"));
        }
    }
    // Sanity, for the examples we do not map too: each validates against its definition.
    let mut schema = Schema::load(EXAMPLES_VERSION);
    for (type_name, list) in &examples {
        for example in list {
            if !schema.has(type_name) {
                problems.push(format!("{}: the schema has no definition {type_name}", example.name));
                continue;
            }
            for p in schema.problems(type_name, &example.value) {
                problems.push(format!("{}: the example itself fails {type_name}: {p}", example.name));
            }
        }
    }
    let mut seen = BTreeSet::new();
    for m in MAPPINGS {
        if !seen.insert(m.example) {
            problems.push(format!("{}: mapped twice", m.example));
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn examples_round_trip_through_our_types_and_validate() {
    let mut schema = Schema::load(EXAMPLES_VERSION);
    let mut failures = Vec::new();
    let mut checked = 0;
    for (type_name, list) in examples() {
        let Some(mapping) = mapping(&type_name) else { continue };
        for example in &list {
            checked += 1;
            let problems = check(&mut schema, mapping, example);
            if !problems.is_empty() {
                failures.push(format!("{} (as {}):\n    {}", example.name, mapping.rust, problems.join("\n    ")));
            }
        }
    }
    assert!(checked > 0, "no example was checked");
    assert!(failures.is_empty(), "{} of {checked} examples fail:\n{}", failures.len(), failures.join("\n"));
}

/// Example types whose part is a map of named entries rather than a struct: a new key
/// there is a new entry, not an unknown field, so nothing is added at the top.
const MAP_TYPES: &[&str] = &["InputRequests"];

/// Where, besides the top of each mapped example's part, an unknown member is added.
/// Each pointer is relative to the part and must exist in at least one example.
const NESTED_UNKNOWN: &[(&str, &str)] = &[
    ("Tool", "/inputSchema"),
    ("ListToolsResult", "/tools/0"),
    ("ListToolsResult", "/tools/0/icons/0"),
    ("CallToolResult", "/content/0"),
    ("EmbeddedResource", "/resource"),
    ("EmbeddedResource", "/annotations"),
    ("ToolResultContent", "/content/0"),
    ("ReadResourceResult", "/contents/0"),
    ("ListResourcesResult", "/resources/0"),
    ("ListResourceTemplatesResult", "/resourceTemplates/0"),
    ("ListPromptsResult", "/prompts/0"),
    ("ListPromptsResult", "/prompts/0/arguments/0"),
    ("GetPromptResult", "/messages/0"),
    ("GetPromptResult", "/messages/0/content"),
    ("CompleteResult", "/completion"),
    ("CompleteRequestParams", "/ref"),
    ("CompleteRequestParams", "/argument"),
    ("CompleteRequestParams", "/_meta"),
    ("CallToolRequestParams", "/_meta"),
    ("CallToolRequestParams", "/_meta/io.modelcontextprotocol~1clientInfo"),
    ("DiscoverResult", "/capabilities"),
    ("DiscoverResult", "/capabilities/tools"),
    ("ServerCapabilities", "/resources"),
    ("ClientCapabilities", "/roots"),
    ("SubscriptionsListenRequest", "/notifications"),
    ("InputRequiredResult", "/inputRequests/github_login"),
    ("InputRequests", "/github_login"),
    ("InputRequests", "/capital_of_france/params"),
    ("SamplingMessage", "/content"),
    ("CreateMessageRequestParams", "/messages/0"),
];

fn insert_unknown(value: &mut Value, pointer: &str) -> bool {
    match value.pointer_mut(pointer).and_then(Value::as_object_mut) {
        Some(object) => {
            object.insert("x-tenet-unknown-member".into(), json!({"nested": [1, "two", {"three": null}]}));
            true
        }
        None => false,
    }
}

#[test]
fn unknown_members_do_not_break_parsing() {
    let mut failures = Vec::new();
    let mut applied: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut parsed = 0;
    for (type_name, list) in examples() {
        let Some(mapping) = mapping(&type_name) else { continue };
        let nested: Vec<&str> = NESTED_UNKNOWN.iter().filter(|(t, _)| *t == type_name).map(|(_, p)| *p).collect();
        for example in &list {
            let Some(part) = example.value.pointer(mapping.part) else { continue };
            let top = if MAP_TYPES.contains(&type_name.as_str()) { None } else { Some("") };
            for pointer in top.into_iter().chain(nested.iter().copied()) {
                let mut altered = part.clone();
                if !insert_unknown(&mut altered, pointer) {
                    continue;
                }
                if !pointer.is_empty() {
                    applied.insert((mapping.example, pointer));
                }
                parsed += 1;
                if let Err(e) = (mapping.round_trip)(&altered) {
                    failures.push(format!(
                        "{} with an unknown member at {}{pointer}: {} {e}",
                        example.name, mapping.part, mapping.rust
                    ));
                }
            }
        }
    }
    for (type_name, pointer) in NESTED_UNKNOWN {
        if !applied.contains(&(*type_name, *pointer)) {
            failures.push(format!("{type_name}{pointer}: matched no example (a stale entry)"));
        }
    }
    assert!(parsed > 0);
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
}

/// Whether the schema node (following `$ref`s and `anyOf`/`oneOf` branches) declares a
/// `_meta` property.
fn declares_meta(document: &Value, node: &Value, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    if node.pointer("/properties/_meta").is_some() {
        return true;
    }
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return definitions(document).get(name).is_some_and(|d| declares_meta(document, d, depth + 1));
    }
    ["anyOf", "oneOf", "allOf"].iter().any(|k| {
        node.get(*k).and_then(Value::as_array).is_some_and(|b| b.iter().any(|n| declares_meta(document, n, depth + 1)))
    })
}

/// `_meta` is declared by the schema on most types (results, params, notifications,
/// content, resources, tools…), with room for any key. Whatever a peer puts there must
/// survive our types like any other member: this adds `_meta["com.example/tag"]` to
/// every mapped example whose part declares `_meta`, and looks for it after the round
/// trip. Failures are grouped by our type (request params count as one: their `_meta`
/// is read through [`tenet_protocol::RequestMeta`]).
#[test]
fn declared_meta_survives_our_types() {
    let schema = Schema::load(EXAMPLES_VERSION);
    let defs = definitions(&schema.document);
    let mut losing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut checked = 0;
    for (type_name, list) in examples() {
        let Some(mapping) = mapping(&type_name) else { continue };
        let definition = &defs[mapping.example];
        let part_schema = match mapping.part.strip_prefix('/') {
            None => definition.clone(),
            Some(member) => definition.pointer(&format!("/properties/{member}")).cloned().unwrap_or(Value::Null),
        };
        if !declares_meta(&schema.document, &part_schema, 0) {
            continue;
        }
        let rust = if mapping.rust.ends_with("RequestMeta") || mapping.rust.starts_with("RequestMeta") {
            "RequestMeta (the _meta of every request's params)"
        } else {
            mapping.rust
        };
        for example in &list {
            let Some(mut part) = example.value.pointer(mapping.part).cloned() else { continue };
            let Some(object) = part.as_object_mut() else { continue };
            let Some(meta) = object.entry("_meta").or_insert_with(|| json!({})).as_object_mut() else { continue };
            meta.insert("com.example/tag".into(), json!({"kept": true}));
            checked += 1;
            let kept = (mapping.round_trip)(&part)
                .is_ok_and(|ours| ours.pointer("/_meta/com.example~1tag") == Some(&json!({"kept": true})));
            if !kept {
                losing.entry(rust.to_owned()).or_default().insert(format!("{type_name}{}", mapping.part));
            }
        }
    }
    assert!(checked > 0);
    let report: Vec<String> = losing
        .iter()
        .map(|(rust, examples)| {
            format!(
                "{rust} drops a custom _meta key (examples: {})",
                examples.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    assert!(report.is_empty(), "{} of our types lose a declared _meta:\n{}", report.len(), report.join("\n"));
}

/// The schema helper itself: a definition validator accepts what it should and
/// rejects what it should, in both drafts.
#[test]
fn definition_validators_work_in_both_drafts() {
    for version in ["2024-11-05", "2025-06-18", "2025-11-25", EXAMPLES_VERSION] {
        let mut schema = Schema::load(version);
        let good = json!({"type": "text", "text": "hi"});
        assert!(schema.problems("TextContent", &good).is_empty(), "{version}: {good}");
        let bad = json!({"type": "text", "text": 7});
        let problems = schema.problems("TextContent", &bad);
        assert!(problems.iter().any(|p| p.starts_with("/text")), "{version}: {problems:?}");
        // A $ref inside the definition resolves against the whole document.
        let result = json!({"content": [{"type": "text", "text": 7}], "resultType": "complete"});
        assert!(!schema.problems("CallToolResult", &result).is_empty(), "{version}: {result}");
        let result = json!({"content": [{"type": "text", "text": "7"}], "resultType": "complete"});
        assert!(schema.problems("CallToolResult", &result).is_empty(), "{version}: {result}");
    }
}
