//! How the fixture declares a tool: the helper every group of tools uses.

use serde_json::json;
use tenet_server::{ToolDef, ToolHandler};

/// A tool taking no arguments, with the plain object schema the suite expects.
pub(crate) fn tool<H: ToolHandler<T>, T>(name: &str, description: &str, handler: H) -> ToolDef {
    ToolDef::new(name, handler).description(description).input_schema(json!({"type": "object", "properties": {}}))
}
