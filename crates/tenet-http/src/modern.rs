//! The stateless era's header rules (2026-07-28): `MCP-Protocol-Version` must equal
//! `_meta`'s version, and `Mcp-Method` / `Mcp-Name` must repeat the body, checked in
//! the order the spec makes observable.

use axum::http::HeaderMap;
use serde_json::Value;
use tenet_server::jsonrpc::{ErrorCode, ErrorObject, Request};
use tenet_server::{Probe, Server};

use crate::headers::{self, METHOD, NAME, PROTOCOL_VERSION};
use crate::param;

fn mismatch(message: String) -> ErrorObject {
    ErrorObject::new(ErrorCode::HEADER_MISMATCH, format!("Header mismatch: {message}"))
}

/// Which body field `Mcp-Name` repeats, for the methods that have one.
fn named_field(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    }
}

/// Checks a stateless request's headers: `_meta` first (-32602), then the version
/// header against `_meta` (-32020), then the version itself (-32022), then
/// `Mcp-Method`, `Mcp-Name` and a tool's `Mcp-Param-*` headers (-32020).
///
/// # Errors
/// The first rule broken, as the error to answer with.
pub(crate) fn check(
    server: &Server,
    headers: &HeaderMap,
    request: &Request,
    probe: &Probe<'_>,
) -> Result<(), ErrorObject> {
    let version = probe.stateless_version()?;
    match headers::text(headers, PROTOCOL_VERSION) {
        None => return Err(mismatch("the MCP-Protocol-Version header is required".into())),
        Some(header) if header != version => {
            return Err(mismatch(format!("MCP-Protocol-Version {header:?} differs from _meta's {version:?}")));
        }
        Some(_) => {}
    }
    tenet_server::stateless_version(&version)?;
    check_method(headers, &request.method, true)?;
    let Some(field) = named_field(&request.method) else { return Ok(()) };
    let body = match field {
        "name" => probe.name(),
        "uri" => probe.uri(),
        _ => probe.task_id(),
    };
    let Some(body) = body.and_then(tenet_server::jsonrpc::string_value) else { return Ok(()) };
    let header = headers::text(headers, NAME)
        .ok_or_else(|| mismatch(format!("the Mcp-Name header is required for {}", request.method)))?;
    match tenet_server::protocol::header::decode_value(header) {
        Some(decoded) if decoded == body => {}
        Some(_) => return Err(mismatch(format!("Mcp-Name {header:?} differs from params.{field} {body:?}"))),
        None => return Err(mismatch(format!("Mcp-Name {header:?} is not valid base64"))),
    }
    if request.method != "tools/call" {
        return Ok(());
    }
    let Some(params) = server.header_params(&body).filter(|p| !p.is_empty()) else { return Ok(()) };
    // Malformed arguments are left for the tool call itself to report.
    let Ok(arguments) = serde_json::from_str::<Value>(probe.arguments().unwrap_or("{}")) else {
        return Ok(());
    };
    param::check(&params, headers, &arguments)
}

/// Checks `Mcp-Method` against the body's method (required for requests).
///
/// # Errors
/// -32020 when it is missing (and `required`) or differs.
pub(crate) fn check_method(headers: &HeaderMap, method: &str, required: bool) -> Result<(), ErrorObject> {
    match headers::text(headers, METHOD) {
        None if required => Err(mismatch("the Mcp-Method header is required".into())),
        Some(header) if header != method => {
            Err(mismatch(format!("Mcp-Method {header:?} differs from the body's method {method:?}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};
    use serde_json::json;

    fn request(method: &str, params: &Value) -> Request {
        let text = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        match tenet_server::jsonrpc::parse(text.as_bytes()).unwrap() {
            tenet_server::jsonrpc::Incoming::Single(tenet_server::jsonrpc::Message::Request(r)) => r,
            _ => unreachable!(),
        }
    }

    fn meta(version: &str) -> Value {
        json!({"io.modelcontextprotocol/protocolVersion": version, "io.modelcontextprotocol/clientCapabilities": {}})
    }

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn server() -> Server {
        Server::builder("t", "0").build().unwrap()
    }

    fn run(h: &HeaderMap, r: &Request) -> Result<(), ErrorObject> {
        let probe = Probe::read(r)?;
        check(&server(), h, r, &probe)
    }

    fn code(h: &HeaderMap, r: &Request) -> Option<i32> {
        run(h, r).err().map(|e| e.code.0)
    }

    const V: &str = "2026-07-28";

    #[test]
    fn meta_errors_come_before_header_errors() {
        let h = headers(&[(PROTOCOL_VERSION, V), (METHOD, "server/discover")]);
        assert_eq!(code(&h, &request("server/discover", &json!({}))), Some(-32602));
        let no_version = json!({"_meta": {"io.modelcontextprotocol/clientCapabilities": {}}});
        assert_eq!(code(&h, &request("server/discover", &no_version)), Some(-32602));
        let no_caps = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": V}});
        assert_eq!(code(&h, &request("server/discover", &no_caps)), Some(-32602));
        assert_eq!(code(&h, &request("server/discover", &json!({"_meta": meta(V)}))), None);
    }

    #[test]
    fn version_header_must_match_meta_before_the_version_is_judged() {
        let discover = |v: &str| request("server/discover", &json!({"_meta": meta(v)}));
        let modern = headers(&[(PROTOCOL_VERSION, V), (METHOD, "server/discover")]);
        assert_eq!(code(&modern, &discover("v999.0.0")), Some(-32020));
        let odd = headers(&[(PROTOCOL_VERSION, "v999.0.0"), (METHOD, "server/discover")]);
        let e = run(&odd, &discover("v999.0.0")).unwrap_err();
        assert_eq!(e.code.0, -32022);
        assert_eq!(e.data.unwrap()["requested"], "v999.0.0");
        assert_eq!(code(&headers(&[(METHOD, "server/discover")]), &discover(V)), Some(-32020));
    }

    #[test]
    fn method_and_name_headers_repeat_the_body() {
        let list = request("tools/list", &json!({"_meta": meta(V)}));
        assert_eq!(code(&headers(&[(PROTOCOL_VERSION, V)]), &list), Some(-32020));
        assert_eq!(code(&headers(&[(PROTOCOL_VERSION, V), (METHOD, "prompts/list")]), &list), Some(-32020));
        assert_eq!(code(&headers(&[(PROTOCOL_VERSION, V), (METHOD, "TOOLS/LIST")]), &list), Some(-32020));
        assert_eq!(code(&headers(&[(PROTOCOL_VERSION, V), (METHOD, " tools/list ")]), &list), None);

        let call = request("tools/call", &json!({"name": "t", "_meta": meta(V)}));
        let with_name = |name: &str| headers(&[(PROTOCOL_VERSION, V), (METHOD, "tools/call"), (NAME, name)]);
        assert_eq!(code(&with_name("t"), &call), None);
        assert_eq!(code(&with_name("  t  "), &call), None);
        assert_eq!(code(&with_name("=?base64?dA==?="), &call), None);
        assert_eq!(code(&with_name("wrong"), &call), Some(-32020));
        assert_eq!(code(&with_name("=?base64?dA?="), &call), Some(-32020));
        assert_eq!(code(&headers(&[(PROTOCOL_VERSION, V), (METHOD, "tools/call")]), &call), Some(-32020));

        let read = request("resources/read", &json!({"uri": "test://x", "_meta": meta(V)}));
        let h = headers(&[(PROTOCOL_VERSION, V), (METHOD, "resources/read"), (NAME, "test://x")]);
        assert_eq!(code(&h, &read), None);
    }

    #[test]
    fn the_tasks_methods_name_their_task_in_mcp_name() {
        for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
            let r = request(method, &json!({"taskId": "4f2a", "inputResponses": {}, "_meta": meta(V)}));
            let with_name = |name: &str| headers(&[(PROTOCOL_VERSION, V), (METHOD, method), (NAME, name)]);
            assert_eq!(code(&with_name("4f2a"), &r), None, "{method}");
            assert_eq!(code(&with_name("other-task"), &r), Some(-32020), "{method}");
            assert_eq!(code(&headers(&[(PROTOCOL_VERSION, V), (METHOD, method)]), &r), Some(-32020), "{method}");
        }
    }
}
