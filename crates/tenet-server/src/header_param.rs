//! `x-mcp-header` annotations (2026-07-28): a tool input property annotated with
//! `"x-mcp-header": "Name"` is mirrored by clients into an `Mcp-Param-Name` header.
//! They are read from the input schema once, when the tool is registered, so that a
//! transport checking the headers does not walk the schema on every call.

use serde_json::Value;

/// How deep `properties` may nest for an annotation to count.
const MAX_DEPTH: usize = 8;

/// One annotated input property: the header that repeats it and where it sits in the
/// arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderParam {
    /// The header's name, lower case: `mcp-param-` and the annotation.
    pub header: String,
    /// The property's path from the arguments object, one key per level.
    pub path: Vec<String>,
}

/// The annotated properties of an input schema: primitive string, integer and boolean
/// properties reached through `properties` alone; invalid annotations are ignored.
pub fn header_params(schema: &Value) -> Vec<HeaderParam> {
    let mut found = Vec::new();
    collect(schema, &mut Vec::new(), &mut found);
    found
}

fn collect(schema: &Value, path: &mut Vec<String>, found: &mut Vec<HeaderParam>) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return };
    for (name, property) in properties {
        path.push(name.clone());
        let kind = property.get("type").and_then(Value::as_str);
        match property.get("x-mcp-header").and_then(Value::as_str) {
            Some(header) if matches!(kind, Some("string" | "integer" | "boolean")) && is_token(header) => {
                let header = format!("mcp-param-{}", header.to_ascii_lowercase());
                found.push(HeaderParam { header, path: path.clone() });
            }
            _ if kind == Some("object") && path.len() < MAX_DEPTH => collect(property, path, found),
            _ => {}
        }
        path.pop();
    }
}

/// An HTTP token (RFC 9110 `tchar`s), non-empty.
fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_valid_primitive_annotations_count() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "count": {"type": "integer", "x-mcp-header": "Count"},
            "ratio": {"type": "number", "x-mcp-header": "Ratio"},
            "bad": {"type": "string", "x-mcp-header": "no spaces"},
            "nested": {"type": "object", "properties": {"flag": {"type": "boolean", "x-mcp-header": "Flag"}}}
        }});
        let found = header_params(&schema);
        let names: Vec<&str> = found.iter().map(|p| p.header.as_str()).collect();
        assert_eq!(names, ["mcp-param-count", "mcp-param-flag", "mcp-param-region"]);
        assert_eq!(found[1].path, ["nested", "flag"]);
        assert!(header_params(&json!({"type": "object"})).is_empty());
    }
}
