//! Implementations, capabilities, `initialize` (legacy) and `server/discover` (2026).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::JsonObject;
use crate::version::{Era, ProtocolVersion};

/// An icon a client may show (2025-11-25).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Icon {
    /// An `https:` or `data:` URI.
    pub src: String,
    /// The image's MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Sizes such as `"48x48"` or `"any"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Vec<String>>,
    /// `"light"` or `"dark"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
}

/// The name and version of a client or server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Implementation {
    /// A programmatic name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it is (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Icons (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Its home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
}

impl Implementation {
    /// A name and a version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            title: None,
            description: None,
            icons: None,
            website_url: None,
        }
    }
}

/// `{"listChanged": bool}` capability settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListChanged {
    /// Whether list-changed notifications are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
}

/// The server's resource capability.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesCapability {
    /// Whether clients may subscribe to resource updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<bool>,
    /// Whether list-changed notifications are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
}

/// What a server can do.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerCapabilities {
    /// Non-standard capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<JsonObject>,
    /// Log messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<JsonObject>,
    /// Argument completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<JsonObject>,
    /// Prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<ListChanged>,
    /// Resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesCapability>,
    /// Tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ListChanged>,
    /// Tasks (2025-11-25, experimental).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Value>,
    /// Extensions by id (2026-07-28's member, which hosts also negotiate in a legacy
    /// `initialize`: MCP Apps, Skills).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<JsonObject>,
}

impl ServerCapabilities {
    /// Whether the server offers the extension `id`.
    pub fn has_extension(&self, id: &str) -> bool {
        self.extensions.as_ref().is_some_and(|e| e.contains_key(id))
    }

    /// The capabilities as an era declares them. `initialize` results (legacy) carry
    /// every extension but the tasks extension, whose legacy form is the `tasks` slot
    /// (hosts negotiate MCP Apps and Skills in `initialize`, under the member 2026-07-28
    /// defines; 2025-11-25's schema leaves room for it); `server/discover` results
    /// (stateless) have no 2025-11-25 `tasks` slot, which the tasks extension replaces.
    #[must_use]
    pub fn for_era(&self, era: Era) -> Self {
        match era {
            Era::Legacy => {
                let extensions = self.extensions.as_ref().map(|all| {
                    let mut kept = all.clone();
                    kept.remove(crate::TASKS_EXTENSION);
                    kept
                });
                Self { extensions: extensions.filter(|kept| !kept.is_empty()), ..self.clone() }
            }
            Era::Stateless => Self { tasks: None, ..self.clone() },
        }
    }
}

/// What a client can do.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientCapabilities {
    /// Non-standard capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<JsonObject>,
    /// Roots (`listChanged` only before 2026).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots: Option<ListChanged>,
    /// Sampling (`context`, `tools` sub-capabilities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<JsonObject>,
    /// Elicitation (`form`, `url` sub-capabilities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elicitation: Option<JsonObject>,
    /// Tasks (2025-11-25, experimental).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Value>,
    /// Extensions by id (2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<JsonObject>,
}

impl ClientCapabilities {
    /// Whether the client declares the extension `id`.
    pub fn has_extension(&self, id: &str) -> bool {
        self.extensions.as_ref().is_some_and(|e| e.contains_key(id))
    }

    /// Whether the client can answer `elicitation/create` in form mode.
    ///
    /// An empty `elicitation` object means form mode, for backward compatibility.
    pub fn elicitation_form(&self) -> bool {
        self.elicitation.as_ref().is_some_and(|e| e.is_empty() || e.contains_key("form"))
    }

    /// Whether the client can answer `elicitation/create` in URL mode.
    pub fn elicitation_url(&self) -> bool {
        self.elicitation.as_ref().is_some_and(|e| e.contains_key("url"))
    }
}

/// `initialize` params (legacy).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// The newest version the client supports (any string: unknown ones are negotiated).
    pub protocol_version: String,
    /// What the client can do.
    #[serde(default)]
    pub capabilities: ClientCapabilities,
    /// The client's name and version.
    pub client_info: Implementation,
}

/// `initialize` result (legacy).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The version the session will speak.
    pub protocol_version: ProtocolVersion,
    /// What the server can do.
    pub capabilities: ServerCapabilities,
    /// The server's name and version.
    pub server_info: Implementation,
    /// How to use the server, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// What the server adds about itself.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
}

/// `server/discover` result (2026-07-28). `resultType`, `ttlMs` and `cacheScope` are
/// added by the server runtime for every cacheable result.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// Every version this server serves statelessly (strings: a newer server may list
    /// versions this crate does not know).
    pub supported_versions: Vec<String>,
    /// What the server can do.
    pub capabilities: ServerCapabilities,
    /// How to use the server, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Carries `io.modelcontextprotocol/serverInfo`.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
}

/// The result of `ping` and other requests that return nothing.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EmptyResult {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_era_sees_only_its_own_task_capability() {
        let caps: ServerCapabilities = serde_json::from_value(json!({
            "tools": {}, "tasks": {"list": {}}, "extensions": {"io.modelcontextprotocol/tasks": {}}
        }))
        .unwrap();
        assert!(caps.has_extension("io.modelcontextprotocol/tasks"));
        let legacy = caps.for_era(Era::Legacy);
        assert!(legacy.tasks.is_some() && legacy.extensions.is_none() && legacy.tools.is_some());
        let modern = caps.for_era(Era::Stateless);
        assert!(modern.tasks.is_none() && modern.has_extension("io.modelcontextprotocol/tasks"));
    }

    #[test]
    fn a_legacy_initialize_declares_every_extension_but_the_tasks_one() {
        let caps: ServerCapabilities = serde_json::from_value(json!({"tasks": {"list": {}}, "extensions": {
            "io.modelcontextprotocol/tasks": {}, "io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}
        }}))
        .unwrap();
        let legacy = caps.for_era(Era::Legacy);
        assert!(legacy.tasks.is_some() && !legacy.has_extension("io.modelcontextprotocol/tasks"));
        assert_eq!(
            legacy.extensions.unwrap()["io.modelcontextprotocol/ui"]["mimeTypes"][0],
            "text/html;profile=mcp-app"
        );
        let modern = caps.for_era(Era::Stateless);
        assert!(
            modern.has_extension("io.modelcontextprotocol/tasks") && modern.has_extension("io.modelcontextprotocol/ui")
        );
    }

    #[test]
    fn a_client_declares_an_extension_by_its_key() {
        let client: ClientCapabilities =
            serde_json::from_value(json!({"extensions": {"io.modelcontextprotocol/tasks": {}}})).unwrap();
        assert!(client.has_extension("io.modelcontextprotocol/tasks"));
        assert!(!client.has_extension("io.modelcontextprotocol/ui"));
        assert!(!ClientCapabilities::default().has_extension("io.modelcontextprotocol/tasks"));
    }
}
