//! The schemas a server advertises in `tools/list`, as clients read them: only JSON
//! Schema 2020-12 formats (the TypeScript SDK warns about `uint32` & co. on every
//! connect), no `$ref` to `$defs` (its 1.22 fails `listTools` on them), object schemas
//! at the top, and the same checks on calls as before, for every schema derived from a
//! Rust type; a schema written by hand is advertised as written.

#![allow(clippy::unwrap_used)]

use crate::common::Client;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tenet_server::{Args, Json, Server, ToolDef};

/// The formats JSON Schema 2020-12 defines (validation vocabulary, section 7.3), written
/// out from the spec here rather than taken from the crate, so the test does not share
/// a mistake with the code it checks.
const STANDARD_FORMATS: [&str; 19] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

#[derive(Deserialize, Serialize, JsonSchema)]
struct Dimensions {
    width: u32,
    height: u32,
    depth: Option<f32>,
}

#[derive(Deserialize, Serialize, JsonSchema)]
enum Unit {
    Metric,
    Imperial,
}

#[derive(Deserialize, Serialize, JsonSchema)]
struct Part {
    /// The part's number.
    number: u64,
    weight: f32,
    size: Dimensions,
    unit: Unit,
}

#[derive(Deserialize, JsonSchema)]
struct Order {
    parts: Option<Vec<Part>>,
    main: Part,
    quantity: u8,
    priority: i16,
    due: Option<String>,
}

#[derive(Serialize, JsonSchema)]
struct Receipt {
    total: f64,
    count: usize,
    first: Option<Part>,
    all: Vec<Part>,
    priority: i16,
    due: Option<String>,
}

async fn place(Args(order): Args<Order>) -> Json<Receipt> {
    let all = order.parts.unwrap_or_default();
    let total = all.iter().map(|p| f64::from(p.weight)).sum::<f64>() + f64::from(order.main.weight);
    let count = all.len() + usize::from(order.quantity);
    Json(Receipt { total, count, first: Some(order.main), all, priority: order.priority, due: order.due })
}

async fn measure(Args(d): Args<Dimensions>) -> Json<Dimensions> {
    Json(d)
}

fn server() -> Server {
    Server::builder("schemas", "1.0.0")
        .tool(ToolDef::new("place", place).description("Place an order"))
        .tool(ToolDef::new("measure", measure).description("Echo dimensions"))
        .tool(
            ToolDef::new("raw", measure)
                .description("A hand-written schema, rewritten on purpose")
                .input_schema(tenet_server::advertised_schema(hand_written()))
                .output_schema(tenet_server::schema_of::<Dimensions>()),
        )
        .tool(ToolDef::new("as_written", measure).description("A hand-written schema").input_schema(hand_written()))
        .build()
        .unwrap()
}

/// A schema written by hand, with the `$schema`, references and format schemars would
/// also write.
fn hand_written() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"width": {"$ref": "#/$defs/Side"}, "height": {"$ref": "#/$defs/Side"}},
        "required": ["width", "height"],
        "$defs": {"Side": {"type": "integer", "format": "uint32", "minimum": 0}}
    })
}

/// Every `$ref` and every `format` that is not a 2020-12 format, with where it is.
fn offences(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}/{key}");
                match (key.as_str(), v) {
                    ("$ref", _) => out.push(format!("{here}: {v}")),
                    ("$defs" | "definitions", _) => out.push(format!("{here} is left")),
                    // A draft-07 Ajv (TypeScript SDK 1.20) cannot compile a schema naming 2020-12.
                    ("$schema", _) => out.push(format!("{here}: {v}")),
                    ("format", Value::String(f)) if !STANDARD_FORMATS.contains(&f.as_str()) => {
                        out.push(format!("{here}: {f}"));
                    }
                    _ => {}
                }
                offences(v, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                offences(v, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn check_listing(tools: &[Value], context: &str) {
    assert_eq!(tools.len(), 4, "{context}");
    let mut found = Vec::new();
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        if name == "as_written" {
            // What an author writes is advertised as written (SEP-1613: `$schema`,
            // `$defs` and the rest preserved).
            assert_eq!(tool["inputSchema"], hand_written(), "{context}");
            continue;
        }
        for which in ["inputSchema", "outputSchema"] {
            let schema = &tool[which];
            assert_eq!(schema["type"], "object", "{context}: {name}.{which}: {schema}");
            jsonschema::meta::validate(schema).unwrap_or_else(|e| panic!("{context}: {name}.{which}: {e}"));
            offences(schema, &format!("{name}.{which}"), &mut found);
        }
    }
    assert!(found.is_empty(), "{context}: {found:#?}");
}

#[tokio::test]
async fn every_advertised_schema_uses_standard_formats_and_no_references() {
    let mut legacy = Client::start(server());
    legacy.initialize("2025-06-18", json!({})).await;
    let listed = legacy.call(1, "tools/list", json!({})).await;
    check_listing(listed["result"]["tools"].as_array().unwrap(), "2025-06-18");
    legacy.finish().await;

    let mut modern = Client::start(server());
    let listed = modern.modern(1, "tools/list", json!({}), json!({})).await;
    check_listing(listed["result"]["tools"].as_array().unwrap(), "2026-07-28");
    modern.finish().await;
}

#[tokio::test]
async fn the_advertised_bounds_are_the_ones_calls_are_checked_against() {
    let part = json!({"number": 7, "weight": 1.5, "size": {"width": 1, "height": 2}, "unit": "Metric"});
    let mut c = Client::start(server());
    c.initialize("2025-06-18", json!({})).await;
    let listed = c.call(1, "tools/list", json!({})).await;
    let place = listed["result"]["tools"].as_array().unwrap().iter().find(|t| t["name"] == "place").unwrap().clone();
    let props = &place["inputSchema"]["properties"];
    assert_eq!(props["quantity"], json!({"type": "integer", "minimum": 0, "maximum": 255}));
    assert_eq!(props["main"]["properties"]["size"]["properties"]["width"]["maximum"], u32::MAX);
    assert_eq!(
        props["main"]["properties"]["number"],
        json!({"type": "integer", "minimum": 0, "description": "The part's number."})
    );

    let ok = c
        .call(
            2,
            "tools/call",
            json!({"name": "place", "arguments": {"parts": [part], "main": part, "quantity": 2, "priority": -3}}),
        )
        .await;
    assert_eq!(ok["result"]["isError"], json!(null), "{ok}");
    assert_eq!(ok["result"]["structuredContent"]["count"], 3);

    let too_many = c
        .call(3, "tools/call", json!({"name": "place", "arguments": {"main": part, "quantity": 300, "priority": 0}}))
        .await;
    assert_eq!(too_many["result"]["isError"], true, "{too_many}");
    assert!(too_many["result"]["content"][0]["text"].as_str().unwrap().contains("quantity"), "{too_many}");

    let raw = c.call(4, "tools/call", json!({"name": "raw", "arguments": {"width": -1, "height": 2}})).await;
    assert_eq!(raw["result"]["isError"], true, "the inlined definition still checks: {raw}");
    c.finish().await;
}
