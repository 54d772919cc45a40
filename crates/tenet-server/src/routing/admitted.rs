//! What the door ([`super::door`]) found a request's target to be, handed to its handler
//! on the [`super::Route`]: a module of its own, so that the router, which the door
//! reads, need not know the door.

use std::sync::Arc;

use super::Found;
use crate::handler::{CompiledTemplate, CompiledTool, PromptDef};

/// What the door found a request's target to be ([`super::Route::admitted`]); `None` inside:
/// nothing of that name (its handler answers as for an unknown one).
pub(crate) enum Admitted {
    /// `tools/call`'s tool.
    Tool(Option<Arc<CompiledTool>>),
    /// `prompts/get`'s prompt, or the prompt a completion completes.
    Prompt(Option<PromptDef>),
    /// `resources/read`'s resource or template.
    Resource(Option<Found>),
    /// The template a completion completes.
    Template(Option<Arc<CompiledTemplate>>),
}

impl std::fmt::Debug for Admitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, found) = match self {
            Admitted::Tool(t) => ("tool", t.is_some()),
            Admitted::Prompt(p) => ("prompt", p.is_some()),
            Admitted::Resource(r) => ("resource", r.is_some()),
            Admitted::Template(t) => ("template", t.is_some()),
        };
        f.debug_struct("Admitted").field("kind", &kind).field("found", &found).finish()
    }
}
