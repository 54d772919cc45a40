//! The one list of MCP method names, and in which versions each exists.

use crate::version::{Era, ProtocolVersion};

/// Who sends a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The client sends it to the server.
    ClientToServer,
    /// The server sends it to the client (legacy requests; 2026 input requests).
    ServerToClient,
    /// Either side may send it.
    Both,
}

macro_rules! methods {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, request: $req:literal, $dir:ident, since: $since:ident, until: $until:ident; )*) => {
        /// Every MCP request and notification method, across all versions.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Method {
            $( $(#[$doc])* $variant, )*
        }

        impl Method {
            /// Every method.
            pub const ALL: &'static [Method] = &[$(Method::$variant),*];

            /// The wire name, e.g. `"tools/call"`.
            pub const fn name(self) -> &'static str {
                match self { $(Method::$variant => $name,)* }
            }

            /// Whether the method is a request (else a notification).
            pub const fn is_request(self) -> bool {
                match self { $(Method::$variant => $req,)* }
            }

            /// Who sends it.
            pub const fn direction(self) -> Direction {
                match self { $(Method::$variant => Direction::$dir,)* }
            }

            /// The first version that has it.
            pub const fn since(self) -> ProtocolVersion {
                match self { $(Method::$variant => ProtocolVersion::$since,)* }
            }

            /// The last version that has it.
            pub const fn until(self) -> ProtocolVersion {
                match self { $(Method::$variant => ProtocolVersion::$until,)* }
            }

            /// The method with this wire name.
            pub fn from_name(name: &str) -> Option<Method> {
                match name { $($name => Some(Method::$variant),)* _ => None }
            }
        }
    };
}

methods! {
    /// Legacy handshake request.
    Initialize = "initialize", request: true, ClientToServer, since: V2024_11_05, until: V2025_11_25;
    /// Legacy handshake completion.
    Initialized = "notifications/initialized", request: false, ClientToServer, since: V2024_11_05, until: V2025_11_25;
    /// Liveness check (legacy).
    Ping = "ping", request: true, Both, since: V2024_11_05, until: V2025_11_25;
    /// Stateless capability discovery.
    Discover = "server/discover", request: true, ClientToServer, since: V2026_07_28, until: V2026_07_28;
    /// List tools.
    ToolsList = "tools/list", request: true, ClientToServer, since: V2024_11_05, until: V2026_07_28;
    /// Call a tool.
    ToolsCall = "tools/call", request: true, ClientToServer, since: V2024_11_05, until: V2026_07_28;
    /// List resources.
    ResourcesList = "resources/list", request: true, ClientToServer, since: V2024_11_05, until: V2026_07_28;
    /// List resource templates.
    ResourcesTemplatesList = "resources/templates/list", request: true, ClientToServer, since: V2024_11_05, until: V2026_07_28;
    /// Read a resource.
    ResourcesRead = "resources/read", request: true, ClientToServer, since: V2024_11_05, until: V2026_07_28;
    /// Subscribe to a resource (legacy).
    ResourcesSubscribe = "resources/subscribe", request: true, ClientToServer, since: V2024_11_05, until: V2025_11_25;
    /// Unsubscribe from a resource (legacy).
    ResourcesUnsubscribe = "resources/unsubscribe", request: true, ClientToServer, since: V2024_11_05, until: V2025_11_25;
    /// List prompts.
    PromptsList = "prompts/list", request: true, ClientToServer, since: V2024_11_05, until: V2026_07_28;
    /// Get a prompt.
    PromptsGet = "prompts/get", request: true, ClientToServer, since: V2024_11_05, until: V2026_07_28;
    /// Argument completion.
    CompletionComplete = "completion/complete", request: true, ClientToServer, since: V2024_11_05, until: V2026_07_28;
    /// Set the session's log level (legacy).
    LoggingSetLevel = "logging/setLevel", request: true, ClientToServer, since: V2024_11_05, until: V2025_11_25;
    /// Open a notification stream (stateless).
    SubscriptionsListen = "subscriptions/listen", request: true, ClientToServer, since: V2026_07_28, until: V2026_07_28;
    /// Ask the client's model for a completion.
    SamplingCreateMessage = "sampling/createMessage", request: true, ServerToClient, since: V2024_11_05, until: V2026_07_28;
    /// Ask the user for input.
    ElicitationCreate = "elicitation/create", request: true, ServerToClient, since: V2025_06_18, until: V2026_07_28;
    /// Ask the client for its roots.
    RootsList = "roots/list", request: true, ServerToClient, since: V2024_11_05, until: V2026_07_28;
    /// Poll a task (experimental in 2025-11-25; the tasks extension from 2026-07-28).
    TasksGet = "tasks/get", request: true, Both, since: V2025_11_25, until: V2026_07_28;
    /// Wait for a task's result (2025-11-25 only: the extension inlines it in `tasks/get`).
    TasksResult = "tasks/result", request: true, Both, since: V2025_11_25, until: V2025_11_25;
    /// List tasks (2025-11-25 only).
    TasksList = "tasks/list", request: true, Both, since: V2025_11_25, until: V2025_11_25;
    /// Cancel a task (2025-11-25; the tasks extension from 2026-07-28).
    TasksCancel = "tasks/cancel", request: true, Both, since: V2025_11_25, until: V2026_07_28;
    /// Answer the input a task waits for (the tasks extension).
    TasksUpdate = "tasks/update", request: true, ClientToServer, since: V2026_07_28, until: V2026_07_28;
    /// A request was cancelled.
    Cancelled = "notifications/cancelled", request: false, Both, since: V2024_11_05, until: V2026_07_28;
    /// Progress on a request.
    Progress = "notifications/progress", request: false, Both, since: V2024_11_05, until: V2026_07_28;
    /// A log message.
    Message = "notifications/message", request: false, ServerToClient, since: V2024_11_05, until: V2026_07_28;
    /// The tool list changed.
    ToolsListChanged = "notifications/tools/list_changed", request: false, ServerToClient, since: V2024_11_05, until: V2026_07_28;
    /// The prompt list changed.
    PromptsListChanged = "notifications/prompts/list_changed", request: false, ServerToClient, since: V2024_11_05, until: V2026_07_28;
    /// The resource list changed.
    ResourcesListChanged = "notifications/resources/list_changed", request: false, ServerToClient, since: V2024_11_05, until: V2026_07_28;
    /// A subscribed resource changed.
    ResourcesUpdated = "notifications/resources/updated", request: false, ServerToClient, since: V2024_11_05, until: V2026_07_28;
    /// The client's roots changed (legacy).
    RootsListChanged = "notifications/roots/list_changed", request: false, ClientToServer, since: V2024_11_05, until: V2025_11_25;
    /// A URL elicitation completed (2025-11-25).
    ElicitationComplete = "notifications/elicitation/complete", request: false, ServerToClient, since: V2025_11_25, until: V2025_11_25;
    /// A task's status changed (2025-11-25).
    TasksStatus = "notifications/tasks/status", request: false, Both, since: V2025_11_25, until: V2025_11_25;
    /// A task changed, on a listen stream that asked for it (the tasks extension).
    TasksChanged = "notifications/tasks", request: false, ServerToClient, since: V2026_07_28, until: V2026_07_28;
    /// A listen stream is open (stateless).
    SubscriptionsAcknowledged = "notifications/subscriptions/acknowledged", request: false, ServerToClient, since: V2026_07_28, until: V2026_07_28;
}

impl Method {
    /// Whether the method exists in `version`.
    pub fn exists_in(self, version: ProtocolVersion) -> bool {
        self.since() <= version && version <= self.until()
    }

    /// Whether the method exists anywhere in `era`.
    pub fn exists_in_era(self, era: Era) -> bool {
        ProtocolVersion::ALL.into_iter().any(|v| v.era() == era && self.exists_in(v))
    }

    /// The extension a method belongs to in `version`, if any: such a method is served
    /// only to requests whose client capabilities list the extension.
    pub fn extension(self, version: ProtocolVersion) -> Option<&'static str> {
        let tasks = matches!(self, Self::TasksGet | Self::TasksCancel | Self::TasksUpdate | Self::TasksChanged);
        (tasks && version.era() == Era::Stateless).then_some(crate::task_extension::TASKS_EXTENSION)
    }

    /// Whether a client may send this request to a server.
    pub fn served_by_server(self) -> bool {
        self.is_request() && matches!(self.direction(), Direction::ClientToServer | Direction::Both)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::from_name(m.name()), Some(*m));
        }
        let mut names: Vec<_> = Method::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Method::ALL.len());
    }

    #[test]
    fn removed_methods_are_gone_in_2026() {
        for m in [Method::Initialize, Method::Ping, Method::LoggingSetLevel, Method::ResourcesSubscribe] {
            assert!(!m.exists_in(ProtocolVersion::V2026_07_28), "{m:?}");
            assert!(m.exists_in(ProtocolVersion::V2025_11_25), "{m:?}");
        }
        assert!(!Method::Discover.exists_in(ProtocolVersion::V2025_11_25));
        assert!(Method::Discover.exists_in_era(Era::Stateless));
        assert!(!Method::ElicitationCreate.exists_in(ProtocolVersion::V2025_03_26));
    }

    #[test]
    fn the_tasks_extension_has_its_own_methods_in_2026() {
        let modern = ProtocolVersion::V2026_07_28;
        for m in [Method::TasksGet, Method::TasksCancel, Method::TasksUpdate] {
            assert!(m.exists_in(modern) && m.served_by_server(), "{m:?}");
            assert_eq!(m.extension(modern), Some("io.modelcontextprotocol/tasks"));
        }
        for m in [Method::TasksResult, Method::TasksList, Method::TasksStatus] {
            assert!(!m.exists_in(modern), "{m:?} is gone from the extension");
        }
        assert!(!Method::TasksUpdate.exists_in_era(Era::Legacy));
        assert_eq!(Method::TasksGet.extension(ProtocolVersion::V2025_11_25), None);
        assert_eq!(Method::ToolsCall.extension(modern), None);
    }

    /// Every method named in a version's official schema is in our list, and exists
    /// in that version by our table.
    #[test]
    fn every_schema_method_is_known() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/mcp-spec");
        for version in ProtocolVersion::ALL {
            let path = format!("{root}/{version}/schema.json");
            let Ok(text) = std::fs::read_to_string(&path) else {
                panic!("missing {path}");
            };
            let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
            let defs = schema.get("definitions").or_else(|| schema.get("$defs")).unwrap();
            for (name, def) in defs.as_object().unwrap() {
                let Some(method) = def.pointer("/properties/method/const").and_then(|m| m.as_str()) else {
                    continue;
                };
                let known = Method::from_name(method)
                    .unwrap_or_else(|| panic!("{version}: {name} uses unknown method {method}"));
                assert!(known.exists_in(version), "{version}: {method} should exist");
            }
        }
    }
}
