//! State that may be shared beyond one request: conversations' contexts, behind a
//! trait of ours ([`ContextStore`]) with an in-memory implementation here.

mod context;

pub use context::{
    ContextData, ContextError, ContextKey, ContextLimits, ContextStore, ExpectShown, MemoryContextStore,
};
