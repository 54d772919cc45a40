//! `x-mcp-header` annotations (2026-07-28). A tool input property annotated with
//! `"x-mcp-header": "Name"` is mirrored by HTTP clients into an `Mcp-Param-Name`
//! header, which the server checks against the body. Client and server read the
//! annotations with the same walk: clients refuse a tool whose annotations break the
//! rules ([`header_params`]), servers skip the broken ones ([`valid_header_params`]).
//!
//! ```
//! use serde_json::json;
//! use tenet_protocol::header::{decode_value, encode_value, header_params, param_headers};
//!
//! let schema = json!({"type": "object", "properties": {
//!     "region": {"type": "string", "x-mcp-header": "Region"}
//! }});
//! let params = header_params(&schema).unwrap();
//! assert_eq!(params[0].header, "mcp-param-region");
//! let headers = param_headers(&params, &json!({"region": "Zürich"}));
//! assert_eq!(headers, [("mcp-param-Region".to_owned(), "=?base64?WsO8cmljaA==?=".to_owned())]);
//! assert_eq!(decode_value(&headers[0].1).unwrap(), "Zürich");
//! assert_eq!(encode_value(&json!(42)).as_deref(), Some("42"));
//! ```

use std::borrow::Cow;
use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// How deep `properties` may nest for an annotation to count.
const MAX_DEPTH: usize = 8;

/// One annotated input property: the header that repeats it and where it sits in the
/// arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderParam {
    /// The annotation as written (`Mcp-Param-` and this name go on the wire).
    pub name: String,
    /// The full header name in lower case, `mcp-param-…`, for lookups.
    pub header: String,
    /// The property's path from the arguments object, one key per level.
    pub path: Vec<String>,
}

/// Why an annotation is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidAnnotation {
    /// The annotation is not a non-empty string.
    Empty(String),
    /// The name has characters an HTTP header name cannot have.
    Charset(String, String),
    /// The property is not a string, integer or boolean.
    NotPrimitive(String),
    /// Two properties name the same header (case-insensitively).
    Duplicate(String),
}

impl std::fmt::Display for InvalidAnnotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty(at) => write!(f, "property {at}: x-mcp-header must be a non-empty string"),
            Self::Charset(at, name) => write!(f, "property {at}: x-mcp-header {name:?} is not a valid header name"),
            Self::NotPrimitive(at) => {
                write!(f, "property {at}: x-mcp-header is only allowed on string, integer and boolean properties")
            }
            Self::Duplicate(name) => write!(f, "x-mcp-header {name:?} is used twice"),
        }
    }
}

impl std::error::Error for InvalidAnnotation {}

/// The annotated properties of a tool's input schema, all of them valid.
///
/// # Errors
/// The first broken rule: empty or non-token names, annotations on non-primitive
/// properties, or names used twice (ignoring case).
pub fn header_params(schema: &Value) -> Result<Vec<HeaderParam>, InvalidAnnotation> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut failure = None;
    walk(schema, &mut Vec::new(), &mut |param| {
        let param = param.and_then(|p| {
            if seen.insert(p.header.clone()) { Ok(p) } else { Err(InvalidAnnotation::Duplicate(p.name)) }
        });
        match param {
            Ok(p) => found.push(p),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    });
    failure.map_or(Ok(found), Err)
}

/// The valid annotated properties of an input schema; broken annotations (and, of a
/// name used twice, every use after the first) are skipped.
pub fn valid_header_params(schema: &Value) -> Vec<HeaderParam> {
    let mut found: Vec<HeaderParam> = Vec::new();
    walk(schema, &mut Vec::new(), &mut |param| {
        if let Ok(p) = param
            && !found.iter().any(|f| f.header == p.header)
        {
            found.push(p);
        }
    });
    found
}

/// Visits every annotation reached through `properties` alone, in schema order.
fn walk(schema: &Value, path: &mut Vec<String>, visit: &mut impl FnMut(Result<HeaderParam, InvalidAnnotation>)) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return };
    for (name, property) in properties {
        path.push(name.clone());
        let kind = property.get("type").and_then(Value::as_str);
        match property.get("x-mcp-header") {
            Some(annotation) => visit(classify(annotation, kind, path)),
            None if kind == Some("object") && path.len() < MAX_DEPTH => walk(property, path, visit),
            None => {}
        }
        path.pop();
    }
}

fn classify(annotation: &Value, kind: Option<&str>, path: &[String]) -> Result<HeaderParam, InvalidAnnotation> {
    let at = || path.join(".");
    let name = match annotation {
        Value::String(name) if !name.is_empty() => name,
        _ => return Err(InvalidAnnotation::Empty(at())),
    };
    if !is_token(name) {
        return Err(InvalidAnnotation::Charset(at(), name.clone()));
    }
    if !matches!(kind, Some("string" | "integer" | "boolean")) {
        return Err(InvalidAnnotation::NotPrimitive(at()));
    }
    let header = format!("mcp-param-{}", name.to_ascii_lowercase());
    Ok(HeaderParam { name: name.clone(), header, path: path.to_vec() })
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

/// Decodes a header value that may use the `=?base64?…?=` form (strict, padded
/// standard base64 holding UTF-8). Anything not wrapped exactly so is taken literally.
///
/// `None` when the wrapped form is not valid base64 or not UTF-8.
pub fn decode_value(value: &str) -> Option<Cow<'_, str>> {
    let Some(encoded) = value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) else {
        return Some(Cow::Borrowed(value));
    };
    let bytes = STANDARD.decode(encoded).ok()?;
    String::from_utf8(bytes).ok().map(Cow::Owned)
}

/// The `Mcp-Param-*` headers (name as annotated, encoded value) for a call with
/// `arguments`; arguments that are absent, null or not primitive get none.
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

    fn tool(props: Value) -> Value {
        json!({"type": "object", "properties": props})
    }

    #[test]
    fn valid_annotations_become_headers_with_safe_values() {
        let schema = tool(json!({
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "N"},
            "flag": {"type": "boolean", "x-mcp-header": "Flag"},
            "nested": {"type": "object", "properties": {"x": {"type": "string", "x-mcp-header": "X"}}},
            "plain": {"type": "number"}
        }));
        let params = header_params(&schema).unwrap();
        assert_eq!(params, valid_header_params(&schema));
        assert_eq!(params[2].path, ["nested", "x"]);
        assert_eq!(params[2].header, "mcp-param-x");
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
        assert_eq!(encode_value(&json!("=?base64?x?=")).as_deref(), Some("=?base64?PT9iYXNlNjQ/eD89?="));
    }

    #[test]
    fn invalid_annotations_fail_strictly_and_are_skipped_leniently() {
        let cases = [
            (json!({"v": {"type": "string", "x-mcp-header": ""}}), "empty"),
            (json!({"v": {"type": "string", "x-mcp-header": 7}}), "not a string"),
            (json!({"v": {"type": "object", "x-mcp-header": "V"}}), "object"),
            (json!({"v": {"type": "array", "x-mcp-header": "V"}}), "array"),
            (json!({"v": {"type": "null", "x-mcp-header": "V"}}), "null"),
            (json!({"v": {"type": "number", "x-mcp-header": "V"}}), "number"),
            (json!({"v": {"type": "string", "x-mcp-header": "My Region"}}), "space"),
            (json!({"v": {"type": "string", "x-mcp-header": "A:B"}}), "colon"),
            (json!({"v": {"type": "string", "x-mcp-header": "Régión"}}), "non-ascii"),
        ];
        for (props, label) in cases {
            let schema = tool(props);
            assert!(header_params(&schema).is_err(), "{label} must be rejected");
            assert!(valid_header_params(&schema).is_empty(), "{label} must be skipped");
        }
        let dup = tool(
            json!({"a": {"type": "string", "x-mcp-header": "Same"}, "b": {"type": "string", "x-mcp-header": "same"}}),
        );
        assert_eq!(header_params(&dup), Err(InvalidAnnotation::Duplicate("same".into())));
        assert_eq!(valid_header_params(&dup).len(), 1, "the first use of a name counts");
        let mixed = tool(
            json!({"bad": {"type": "number", "x-mcp-header": "Bad"}, "ok": {"type": "string", "x-mcp-header": "Ok"}}),
        );
        assert_eq!(
            header_params(&mixed).unwrap_err().to_string(),
            "property bad: x-mcp-header is only allowed on string, integer and boolean properties"
        );
        assert_eq!(valid_header_params(&mixed)[0].header, "mcp-param-ok");
    }

    #[test]
    fn base64_sentinel_is_strict_and_everything_else_literal() {
        assert_eq!(decode_value("=?base64?SGVsbG8=?="), Some("Hello".into()));
        assert_eq!(decode_value("=?base64?SGVsbG8?="), None, "padding is required");
        assert_eq!(decode_value("=?base64?SGVs!!!bG8=?="), None);
        assert_eq!(decode_value("=?base64?/w==?="), None, "not UTF-8");
        assert_eq!(decode_value("SGVsbG8="), Some("SGVsbG8=".into()));
        assert_eq!(decode_value("=?base64?SGVsbG8="), Some("=?base64?SGVsbG8=".into()));
    }
}
