//! State that may be shared beyond one request, and beyond one process: conversations'
//! contexts ([`ContextStore`]) and legacy sessions, tasks, stream logs and announcements
//! ([`SessionStore`]), each behind a
//! trait of ours with an in-memory implementation here (`tenet-redis` has the others).

mod announce;
mod context;
mod events;
mod ranking;
mod session;
mod task;

pub use announce::{Announcement, Heard};
pub(crate) use context::new_id as new_context_id;
pub use context::{
    ContextData, ContextError, ContextKey, ContextLimits, ContextStore, ExpectShown, MemoryContextStore,
};
pub use events::{LoggedAfter, LoggedEvent, never_sent};
pub(crate) use ranking::Ranking;
pub use session::{
    Letter, MemorySessionStore, SessionChange, SessionOwner, SessionRecord, SessionState, SessionStore, Unavailable,
};
pub use task::{SharedTask, TaskRecord, TaskWrite};
