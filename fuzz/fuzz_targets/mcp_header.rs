//! The `Mcp-Param-*` header codec (2026-07-28): what a client encodes (plain, or
//! `=?base64?…?=`) decodes to the same value and passes the server's check; any
//! header value decodes or is refused without a panic; any schema gives annotations
//! or a clear refusal.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tenet_http::axum::http::{HeaderMap, HeaderName, HeaderValue};
use tenet_protocol::header::{decode_value, encode_value, header_params, param_headers, valid_header_params};

#[derive(Debug, Arbitrary)]
struct Input {
    text: String,
    number: i64,
    flag: bool,
    /// A header value as a client might send it.
    raw: Vec<u8>,
    /// A tool's input schema, as JSON text.
    schema: Vec<u8>,
}

fuzz_target!(|input: Input| {
    // Encoding round-trips.
    let encoded = encode_value(&Value::String(input.text.clone())).expect("a string encodes");
    assert!(encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)), "an encoded value with an unsafe byte: {encoded:?}");
    assert_eq!(decode_value(&encoded).as_deref(), Some(input.text.as_str()), "{encoded:?}");

    // What a client sends for these arguments passes the server's check.
    let schema = json!({"type": "object", "properties": {
        "text": {"type": "string", "x-mcp-header": "Text"},
        "number": {"type": "integer", "x-mcp-header": "Number"},
        "flag": {"type": "boolean", "x-mcp-header": "Flag"},
    }});
    let params = header_params(&schema).expect("the annotations are valid");
    let arguments = json!({"text": input.text, "number": input.number, "flag": input.flag});
    let mut headers = HeaderMap::new();
    for (name, value) in param_headers(&params, &arguments) {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
        headers.insert(name, HeaderValue::from_str(&value).expect("a valid header value"));
    }
    if let Err(e) = tenet_http::fuzzing::param_check(&params, &headers, &arguments) {
        panic!("the server refused what the client sent: {e}");
    }

    // Any header value: decoded or refused, and checked without a panic.
    if let Ok(text) = std::str::from_utf8(&input.raw) {
        let _ = decode_value(text);
    }
    if let Ok(value) = HeaderValue::from_bytes(&input.raw) {
        headers.insert("mcp-param-text", value);
        let _ = tenet_http::fuzzing::param_check(&params, &headers, &arguments);
    }

    // Any schema: annotations or a refusal; the lenient reading keeps a subset.
    if let Ok(schema) = serde_json::from_slice::<Value>(&input.schema) {
        let valid = valid_header_params(&schema);
        if let Ok(all) = header_params(&schema) {
            assert_eq!(all, valid, "the strict and lenient readings disagree on a valid schema");
        }
    }
});
