//! What the server announces when something changes.

/// Something that changed, for clients that listen: the server's lists or a
/// resource, or a URL-mode elicitation a client waits on. More may come.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The tool list changed.
    ToolsChanged,
    /// The prompt list changed.
    PromptsChanged,
    /// The resource list changed.
    ResourcesChanged,
    /// One resource's contents changed.
    ResourceUpdated(String),
    /// The user finished the URL-mode elicitation of this id (2025-11-25): told only
    /// to the sessions whose client was sent it, on this replica
    /// ([`crate::Server::url_elicitation_complete`]).
    ElicitationComplete(String),
}
