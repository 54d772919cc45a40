//! `Mcp-Param-*` headers (2026-07-28): a tool input property annotated with
//! `"x-mcp-header": "Name"` is mirrored into `Mcp-Param-Name` on HTTP calls of that
//! tool. Tools whose annotations break the rules are not offered at all.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// How deep `properties` may nest for an annotation to count.
const MAX_DEPTH: usize = 8;

/// One annotated property: its header name and where it sits in the arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderParam {
    /// The annotation's value (`Mcp-Param-` is prefixed on the wire).
    pub name: String,
    /// The property's path in the arguments object.
    pub path: Vec<String>,
}

/// Why a tool's annotations are invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAnnotation {
    /// The annotation is not a non-empty string.
    #[error("property {0}: x-mcp-header must be a non-empty string")]
    Empty(String),
    /// The name has characters an HTTP header name cannot have.
    #[error("property {0}: x-mcp-header {1:?} is not a valid header name")]
    Charset(String, String),
    /// The property is not a string, integer or boolean.
    #[error("property {0}: x-mcp-header is only allowed on string, integer and boolean properties")]
    NotPrimitive(String),
    /// Two properties name the same header (case-insensitively).
    #[error("x-mcp-header {0:?} is used twice")]
    Duplicate(String),
}

/// The annotated properties of a tool's input schema.
///
/// # Errors
/// The first broken rule: empty or non-token names, annotations on non-primitive
/// properties, or names used twice (ignoring case).
pub fn header_params(schema: &Value) -> Result<Vec<HeaderParam>, InvalidAnnotation> {
    let mut found = Vec::new();
    collect(schema, &mut Vec::new(), &mut found)?;
    let mut seen = std::collections::HashSet::new();
    for param in &found {
        if !seen.insert(param.name.to_ascii_lowercase()) {
            return Err(InvalidAnnotation::Duplicate(param.name.clone()));
        }
    }
    Ok(found)
}

fn collect(schema: &Value, path: &mut Vec<String>, found: &mut Vec<HeaderParam>) -> Result<(), InvalidAnnotation> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return Ok(()) };
    for (name, property) in properties {
        path.push(name.clone());
        let at = || path.join(".");
        let kind = property.get("type").and_then(Value::as_str);
        match property.get("x-mcp-header") {
            Some(Value::String(header)) if header.is_empty() => return Err(InvalidAnnotation::Empty(at())),
            Some(Value::String(header)) if !is_token(header) => {
                return Err(InvalidAnnotation::Charset(at(), header.clone()));
            }
            Some(Value::String(_)) if !matches!(kind, Some("string" | "integer" | "boolean")) => {
                return Err(InvalidAnnotation::NotPrimitive(at()));
            }
            Some(Value::String(header)) => found.push(HeaderParam { name: header.clone(), path: path.clone() }),
            Some(_) => return Err(InvalidAnnotation::Empty(at())),
            None if kind == Some("object") && path.len() < MAX_DEPTH => collect(property, path, found)?,
            None => {}
        }
        path.pop();
    }
    Ok(())
}

/// An HTTP token (RFC 9110 `tchar`s).
fn is_token(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The header value for an argument: plain when it is visible ASCII without leading or
/// trailing whitespace, else `=?base64?…?=`. `None` for null, objects and arrays.
pub fn encode_value(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let unsafe_char = text.bytes().any(|b| !(0x20..=0x7e).contains(&b));
    let padded = text.starts_with([' ', '\t']) || text.ends_with([' ', '\t']);
    let sentinel = text.starts_with("=?") && text.ends_with("?=");
    let plain = !(unsafe_char || padded || sentinel);
    Some(if plain { text } else { format!("=?base64?{}?=", STANDARD.encode(text.as_bytes())) })
}

/// The `Mcp-Param-*` headers for a call with `arguments`.
pub fn param_headers(params: &[HeaderParam], arguments: &Value) -> Vec<(String, String)> {
    params
        .iter()
        .filter_map(|param| {
            let value = param.path.iter().try_fold(arguments, |v, key| v.get(key))?;
            Some((format!("mcp-param-{}", param.name), encode_value(value)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_annotations_become_headers_with_safe_values() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "N"},
            "flag": {"type": "boolean", "x-mcp-header": "Flag"},
            "nested": {"type": "object", "properties": {"x": {"type": "string", "x-mcp-header": "X"}}},
            "plain": {"type": "number"}
        }});
        let params = header_params(&schema).unwrap();
        let args = json!({"region": "Hello, 世界", "n": 42, "flag": null, "nested": {"x": " pad"}, "plain": 1.5});
        let mut headers = param_headers(&params, &args);
        headers.sort();
        assert_eq!(
            headers,
            [
                ("mcp-param-N".to_owned(), "42".to_owned()),
                ("mcp-param-Region".to_owned(), "=?base64?SGVsbG8sIOS4lueVjA==?=".to_owned()),
                ("mcp-param-X".to_owned(), "=?base64?IHBhZA==?=".to_owned()),
            ]
        );
        assert_eq!(encode_value(&json!("us west 1")).as_deref(), Some("us west 1"));
        assert_eq!(encode_value(&json!("a\r\nb")).as_deref(), Some("=?base64?YQ0KYg==?="));
    }

    #[test]
    fn invalid_annotations_are_rejected() {
        let tool = |props: Value| json!({"type": "object", "properties": props});
        let cases = [
            (tool(json!({"v": {"type": "string", "x-mcp-header": ""}})), "empty"),
            (tool(json!({"v": {"type": "object", "x-mcp-header": "V"}})), "object"),
            (tool(json!({"v": {"type": "array", "x-mcp-header": "V"}})), "array"),
            (tool(json!({"v": {"type": "null", "x-mcp-header": "V"}})), "null"),
            (tool(json!({"v": {"type": "number", "x-mcp-header": "V"}})), "number"),
            (tool(json!({"v": {"type": "string", "x-mcp-header": "My Region"}})), "space"),
            (tool(json!({"v": {"type": "string", "x-mcp-header": "A:B"}})), "colon"),
            (tool(json!({"v": {"type": "string", "x-mcp-header": "Régión"}})), "non-ascii"),
            (
                tool(
                    json!({"a": {"type": "string", "x-mcp-header": "Same"}, "b": {"type": "string", "x-mcp-header": "same"}}),
                ),
                "dup",
            ),
        ];
        for (schema, label) in cases {
            assert!(header_params(&schema).is_err(), "{label} must be rejected");
        }
    }
}
