//! The REST facade (`GET /mcp/tools`, `POST /mcp/call`, `POST /tools/{name}`,
//! `GET /openapi.json`) through the real router: every endpoint, its bad inputs, and
//! authorization, scopes, rate limits and the `Host` guard applied as on the MCP endpoint.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::support::{Harness, Reply, builder};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenet_http::HttpConfig;
use tenet_http::auth::{ApiKey, Auth, AuthConfig};
use tenet_server::{Args, Json, Rate, RateLimiter, RateLimits, ServerConfig, ToolDef, ToolError};

#[derive(Deserialize, schemars::JsonSchema)]
struct Pair {
    a: f64,
    b: f64,
}

#[derive(Serialize, schemars::JsonSchema)]
struct Sum {
    sum: f64,
}

async fn add(Args(p): Args<Pair>) -> Json<Sum> {
    Json(Sum { sum: p.a + p.b })
}

async fn fail() -> Result<String, ToolError> {
    Err(ToolError::msg("the disk is full"))
}

const KEY_READ: &str = "Bearer 0123456789abcdef-read";
const KEY_ADMIN: &str = "Bearer 0123456789abcdef-admin";

fn config() -> HttpConfig {
    HttpConfig { rest: true, ..HttpConfig::default() }
}

/// The test server plus `add` (structured output), `fail` (an isError result) and
/// `admin_add` (needs the `admin` scope), with `config`.
fn harness(config: HttpConfig) -> Harness {
    harness_with(config, None)
}

/// [`harness`], the server held to `limits`.
fn harness_with(config: HttpConfig, limits: Option<RateLimits>) -> Harness {
    let (builder, probe) = builder();
    let limits = ServerConfig { rate_limit: limits.map(|l| Arc::new(RateLimiter::new(l))), ..ServerConfig::default() };
    let server = builder
        .config(limits)
        .tool(ToolDef::new("add", add).title("Add").description("Add two numbers").read_only())
        .tool(ToolDef::new("fail", fail).description("Always fails"))
        .tool(ToolDef::new("admin_add", add).description("Add, for admins").scope("admin"))
        .build()
        .unwrap();
    Harness::serving(server, probe, config)
}

fn guarded() -> HttpConfig {
    let keys = ApiKey::parse_list("reader 0123456789abcdef-read read\nboss 0123456789abcdef-admin read admin", "test")
        .unwrap();
    let auth = Auth::new(AuthConfig { api_keys: keys, ..AuthConfig::new("http://localhost:3020/mcp") }).unwrap();
    HttpConfig { auth: Some(auth), ..config() }
}

fn post(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("host", "localhost:3020")
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).header("host", "localhost:3020").body(Body::empty()).unwrap()
}

fn with(mut request: Request<Body>, name: &'static str, value: &str) -> Request<Body> {
    request.headers_mut().insert(name, value.parse().unwrap());
    request
}

async fn call(h: &Harness, path: &str, body: &str) -> Reply {
    h.call(post(path, body)).await
}

#[tokio::test]
async fn rest_is_off_unless_configured() {
    let h = harness(HttpConfig::default());
    assert_eq!(h.call(get("/mcp/tools")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(&h, "/tools/add", r#"{"a":1,"b":2}"#).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_tool_list_has_every_tool_with_its_schemas() {
    let h = harness(config());
    let reply = h.call(get("/mcp/tools")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let tools = reply.json()["tools"].as_array().unwrap().clone();
    let add = tools.iter().find(|t| t["name"] == "add").unwrap();
    assert_eq!(add["title"], "Add");
    assert_eq!(add["inputSchema"]["required"], json!(["a", "b"]));
    assert_eq!(add["outputSchema"]["properties"]["sum"]["type"], "number");
    assert_eq!(add["annotations"]["readOnlyHint"], true);
    assert!(tools.iter().any(|t| t["name"] == "echo"), "the test server's own tools too");
}

#[tokio::test]
async fn a_tool_by_name_answers_its_structured_result_or_its_text() {
    let h = harness(config());
    let sum = call(&h, "/tools/add", r#"{"a":2,"b":3.5}"#).await;
    assert_eq!(sum.status, StatusCode::OK, "{}", sum.text());
    assert_eq!(sum.json(), json!({"sum": 5.5}));
    let echoed = call(&h, "/tools/echo", r#"{"text":"hello"}"#).await;
    assert_eq!(echoed.json(), json!("hello"));
}

#[tokio::test]
async fn bad_input_gets_the_documented_status_and_names_the_field() {
    let h = harness(config());
    let wrong = call(&h, "/tools/add", r#"{"a":"two","b":3}"#).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.text());
    assert_eq!(wrong.json()["error"]["code"], -32602);
    let fields = wrong.json()["error"]["data"]["fields"].clone();
    assert_eq!(fields[0]["path"], "/a", "{fields}");
    let missing = call(&h, "/tools/add", r#"{"a":1}"#).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.json()["error"]["data"]["fields"][0]["path"], "/b", "{}", missing.text());
    for not_object in ["[1,2]", "null", "3", "\"a\""] {
        let reply = call(&h, "/tools/echo", not_object).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{not_object}: {}", reply.text());
        assert_eq!(reply.json()["error"]["data"]["fields"][0]["path"], "", "{not_object}");
    }

    let not_json = call(&h, "/tools/add", "{\"a\":").await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.json()["error"]["code"], -32700);
    let unknown = call(&h, "/tools/nope", "{}").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.text().contains("Unknown tool: nope"));
    for sneaky in ["/tools/..%2Fhealth", "/tools/echo%2F..%2F..%2Fmcp", "/tools/%2e%2e", "/tools/echo%00"] {
        let reply = call(&h, sneaky, r#"{"text":"x"}"#).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{sneaky}: {}", reply.text());
    }
    assert_eq!(call(&h, "/tools/a/b", "{}").await.status, StatusCode::NOT_FOUND, "no route spans two segments");

    let form = Request::post("/tools/echo")
        .header("host", "localhost:3020")
        .header("content-type", "text/plain")
        .body(Body::from("hello"))
        .unwrap();
    let unsupported = h.call(form).await;
    assert_eq!(unsupported.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Issue 63: one shape for every REST error, whoever refused: `{"error": {…}}`.
    let shape = |reply: &Reply| {
        let body = reply.json();
        assert!(body.get("jsonrpc").is_none() && body["error"]["message"].is_string(), "{body}");
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    };
    shape(&unsupported);
    shape(&not_json);
    shape(&unknown);
    let huge = format!(r#"{{"text":"{}"}}"#, "x".repeat(5 * 1024 * 1024));
    assert_eq!(call(&h, "/tools/echo", &huge).await.status, StatusCode::PAYLOAD_TOO_LARGE);

    let wrong_method = h.call(get("/tools/echo")).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.headers["allow"], "POST");
    shape(&wrong_method);
    assert_eq!(wrong_method.headers["content-length"], wrong_method.body.len().to_string());
    let delete = Request::delete("/mcp/tools").header("host", "localhost:3020").body(Body::empty()).unwrap();
    assert_eq!(h.call(delete).await.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(h.call(get("/mcp/call")).await.status, StatusCode::METHOD_NOT_ALLOWED);

    // Nothing was lost: the server still answers.
    assert_eq!(call(&h, "/tools/add", r#"{"a":1,"b":1}"#).await.json(), json!({"sum": 2.0}));
}

#[tokio::test]
async fn a_tool_that_fails_is_a_422_never_a_200() {
    let h = harness(config());
    let reply = call(&h, "/tools/fail", "").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text());
    assert_eq!(reply.json()["error"]["code"], -32050);
    assert_eq!(reply.json()["error"]["message"], "the disk is full");
    assert_eq!(reply.json()["error"]["data"]["content"][0]["text"], "the disk is full");
}

#[tokio::test]
async fn a_tool_that_needs_the_user_says_so() {
    let h = harness(config());
    let reply = call(&h, "/tools/ask", "{}").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("elicitation"), "{}", reply.text());
}

#[tokio::test]
async fn the_jsonrpc_call_answers_the_documents_contract() {
    let h = harness(config());
    let ok = call(&h, "/mcp/call", r#"{"jsonrpc":"2.0","id":"a-1","method":"add","params":{"a":1,"b":2}}"#).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.json()["id"], "a-1");
    assert_eq!(ok.json()["result"]["structuredContent"], json!({"sum": 3.0}));
    let failed = call(&h, "/mcp/call", r#"{"jsonrpc":"2.0","id":2,"method":"fail"}"#).await;
    assert_eq!(failed.status, StatusCode::OK, "a tool's failure is its result here");
    assert_eq!(failed.json()["result"]["isError"], true);

    let cases = [
        (r#"{"jsonrpc":"2.0","id":3,"method":"nope"}"#, StatusCode::NOT_FOUND, -32601),
        (r#"{"jsonrpc":"2.0","id":4,"method":"add","params":{"a":1}}"#, StatusCode::UNPROCESSABLE_ENTITY, -32602),
        (r#"{"jsonrpc":"2.0","method":"add","params":{}}"#, StatusCode::BAD_REQUEST, -32600),
        (r#"{"jsonrpc":"1.0","id":5,"method":"add"}"#, StatusCode::BAD_REQUEST, -32600),
        (r#"[{"jsonrpc":"2.0","id":6,"method":"add"}]"#, StatusCode::BAD_REQUEST, -32600),
        (r#"{"jsonrpc":"2.0","id":7,"method":"add","params":[1,2]}"#, StatusCode::UNPROCESSABLE_ENTITY, -32602),
        (r#"{"jsonrpc":"2.0","id":7,"method":"echo","params":null}"#, StatusCode::UNPROCESSABLE_ENTITY, -32602),
        ("not json", StatusCode::BAD_REQUEST, -32700),
    ];
    for (body, status, code) in cases {
        let reply = call(&h, "/mcp/call", body).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text());
        assert_eq!(reply.json()["error"]["code"], code, "{body}: {}", reply.text());
        assert_eq!(reply.json()["jsonrpc"], "2.0", "{body}");
    }
    let fields = call(&h, "/mcp/call", r#"{"jsonrpc":"2.0","id":8,"method":"add","params":{"a":"x","b":1}}"#).await;
    assert_eq!(fields.json()["id"], 8);
    assert_eq!(fields.json()["error"]["data"]["fields"][0]["path"], "/a", "{}", fields.text());
}

#[tokio::test]
async fn the_openapi_document_follows_the_tools() {
    let h = harness(config());
    let doc = h.call(get("/openapi.json")).await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "http-test");
    let operation = &doc["paths"]["/tools/add"]["post"];
    assert_eq!(operation["summary"], "Add");
    assert_eq!(
        operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/add.result"
    );
    assert_eq!(doc["components"]["schemas"]["add.arguments"]["required"], json!(["a", "b"]));
    assert!(doc["paths"]["/mcp/call"]["post"].is_object() && doc["paths"]["/mcp/tools"]["get"].is_object());
    assert!(doc.get("security").is_none());

    h.server.add_tool(ToolDef::new("late", add).description("Added later")).unwrap();
    let again = h.call(get("/openapi.json")).await.json();
    assert!(again["paths"]["/tools/late"]["post"].is_object(), "a new tool is in the next document");
    assert!(h.server.remove_tool("late"));
    let after = h.call(get("/openapi.json")).await.json();
    assert!(after["paths"].get("/tools/late").is_none());
}

#[tokio::test]
async fn authorization_and_scopes_apply_as_on_the_mcp_endpoint() {
    let h = harness(guarded());
    for request in [get("/mcp/tools"), get("/openapi.json"), post("/tools/add", r#"{"a":1,"b":2}"#)] {
        let path = request.uri().path().to_owned();
        let reply = h.call(request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(reply.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{path}");
    }
    let wrong = h.call(with(post("/tools/add", r#"{"a":1,"b":2}"#), "authorization", "Bearer wrong-key-0123456")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let reader = h.call(with(post("/tools/add", r#"{"a":1,"b":2}"#), "authorization", KEY_READ)).await;
    assert_eq!(reader.json(), json!({"sum": 3.0}), "{}", reader.text());
    let refused = h.call(with(post("/tools/admin_add", r#"{"a":1,"b":2}"#), "authorization", KEY_READ)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    let challenge = refused.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains(r#"error="insufficient_scope""#) && challenge.contains("admin"), "{challenge}");
    let jsonrpc = h
        .call(with(
            post("/mcp/call", r#"{"jsonrpc":"2.0","id":1,"method":"admin_add","params":{"a":1,"b":2}}"#),
            "authorization",
            KEY_READ,
        ))
        .await;
    assert_eq!(jsonrpc.status, StatusCode::FORBIDDEN, "{}", jsonrpc.text());
    // One shape each: REST's `{"error": …}`, JSON-RPC's envelope on `/mcp/call`.
    let (rest, rpc) = (refused.json(), jsonrpc.json());
    assert!(rest.get("jsonrpc").is_none() && rest["error"]["code"].is_i64(), "{rest}");
    assert!(rpc["jsonrpc"] == "2.0" && rpc["error"]["code"].is_i64(), "{rpc}");
    let boss = h.call(with(post("/tools/admin_add", r#"{"a":1,"b":2}"#), "authorization", KEY_ADMIN)).await;
    assert_eq!(boss.json(), json!({"sum": 3.0}));

    let listed = h.call(with(get("/mcp/tools"), "authorization", KEY_READ)).await.json();
    assert!(!listed["tools"].as_array().unwrap().iter().any(|t| t["name"] == "admin_add"), "a reader does not list it");
    let doc = h.call(with(get("/openapi.json"), "authorization", KEY_READ)).await.json();
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    assert!(doc["paths"]["/tools/add"]["post"]["responses"]["401"].is_object());
    assert!(doc["paths"].get("/tools/admin_add").is_none(), "the document shows what the caller may call");
}

#[tokio::test]
async fn rate_limits_take_from_the_tools_bucket() {
    let limits = RateLimits {
        overrides: vec![("tools/call:add".to_owned(), Rate { per_second: 0.01, burst: 2 })],
        ..RateLimits::default()
    };
    let h = harness_with(config(), Some(limits));
    let statuses: Vec<StatusCode> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            out.push(call(&h, "/tools/add", r#"{"a":1,"b":1}"#).await.status);
        }
        out
    };
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
    let limited = call(&h, "/tools/add", r#"{"a":1,"b":1}"#).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    let body = limited.json();
    assert!(body.get("jsonrpc").is_none() && body["error"]["code"] == -32004, "REST's shape: {body}");
    let jsonrpc = call(&h, "/mcp/call", r#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":1}}"#).await;
    assert_eq!(jsonrpc.status, StatusCode::TOO_MANY_REQUESTS, "the same bucket by either route");
    assert!(jsonrpc.headers.contains_key("retry-after"));
    assert_eq!(call(&h, "/tools/echo", r#"{"text":"x"}"#).await.status, StatusCode::OK, "another tool's bucket");
}

#[tokio::test]
async fn the_host_guard_applies() {
    let h = harness(config());
    let foreign = Request::get("/mcp/tools").header("host", "evil.example").body(Body::empty()).unwrap();
    assert_eq!(h.call(foreign).await.status, StatusCode::FORBIDDEN);
    let origin = with(post("/tools/add", r#"{"a":1,"b":1}"#), "origin", "https://evil.example");
    assert_eq!(h.call(origin).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn calls_are_counted_as_tools_calls_in_the_metrics() {
    let h = harness(config());
    call(&h, "/tools/add", r#"{"a":1,"b":1}"#).await;
    call(&h, "/mcp/call", r#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":1}}"#).await;
    let text = h.server.metrics().encode();
    let line = text.lines().find(|l| l.starts_with("tenet_requests_total") && l.contains("tools/call")).unwrap_or("");
    assert!(line.ends_with(" 2"), "{line}");
}

#[tokio::test]
async fn a_busy_tool_is_429_as_on_the_mcp_endpoint() {
    // `single` takes 300 ms and runs one call at a time: the second call at once is refused.
    let h = harness(config());
    let (first, second) = tokio::join!(call(&h, "/tools/single", "{}"), async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        call(&h, "/tools/single", "{}").await
    });
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.json(), json!("slow done"));
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS, "{}", second.text());
    assert!(second.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn cors_covers_the_rest_routes() {
    let h = harness(HttpConfig { cors_origins: vec!["https://app.example".into()], ..config() });
    let preflight = Request::options("/tools/add")
        .header("host", "localhost:3020")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(Body::empty())
        .unwrap();
    let reply = h.call(preflight).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers["access-control-allow-origin"], "https://app.example");
    let called = h.call(with(post("/tools/add", r#"{"a":1,"b":2}"#), "origin", "https://app.example")).await;
    assert_eq!(called.status, StatusCode::OK, "{}", called.text());
    assert_eq!(called.headers["access-control-allow-origin"], "https://app.example");
}
