//! Shared by the schema tests of tenet-protocol and tenet-server: finding and reading
//! the official MCP schemas, compiling one definition, and describing validation errors.

#![allow(dead_code)]

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

/// Where the official schemas live (`shared/mcp-spec` beside the repository).
pub fn spec_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/mcp-spec")
}

/// Reads a JSON file, panicking with the path on failure.
pub fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Compiles a validator for one definition: the whole schema document is the root (so
/// every `$ref` inside it resolves, and its `$schema` picks the draft), and the root's
/// own assertion is just `{"$ref": "#/$defs/Name"}` (`#/definitions/Name` in draft-07).
pub fn compile_definition(document: &Value, name: &str) -> Validator {
    let mut root = document.clone();
    let key = if root.get("$defs").is_some() { "$defs" } else { "definitions" };
    let object = root.as_object_mut().expect("the schema document is an object");
    object.insert("$ref".into(), Value::String(format!("#/{key}/{name}")));
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("cannot compile {name}: {e}"))
}

/// One validation error as a line: the JSON pointer, then the complaint (with the
/// branches of a failed `anyOf`/`oneOf`, which otherwise say nothing useful).
pub fn describe(error: &ValidationError<'_>) -> String {
    let pointer = error.instance_path().to_string();
    let pointer = if pointer.is_empty() { "(root)".to_owned() } else { pointer };
    let branches = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => context
            .iter()
            .enumerate()
            .map(|(i, errors)| {
                let inner: Vec<String> = errors.iter().take(3).map(|e| short(&describe(e), 160)).collect();
                format!("[branch {i}: {}]", inner.join("; "))
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    format!("{pointer}: {} {branches}", short(&error.to_string(), 200)).trim_end().to_owned()
}

pub fn short(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let cut: String = text.chars().take(limit).collect();
    format!("{cut}…")
}
