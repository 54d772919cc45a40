//! What the server announces when something changes.

/// Something that changed, for clients that listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// The tool list changed.
    ToolsChanged,
    /// The prompt list changed.
    PromptsChanged,
    /// The resource list changed.
    ResourcesChanged,
    /// One resource's contents changed.
    ResourceUpdated(String),
}
