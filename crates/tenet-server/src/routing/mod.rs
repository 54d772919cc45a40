//! Routing: one request in, one response out. The [`router`] decides the era,
//! enforces the lifecycle, routes the method and writes the era's result members;
//! between routing and the handler, the [`door`] admits the request (scope, rate); a
//! [`Probe`] reads the request's params once for it, and a [`Body`] is a result's JSON
//! with a note of where its own `_meta` is.

mod admitted;
mod body;
mod door;
mod probe;
mod router;
mod table;

pub(crate) use admitted::Admitted;
pub(crate) use body::{Body, OwnMeta};
pub use probe::Probe;
pub use router::{Answer, Route, Routed, stateless_version, unsupported_version};
pub(crate) use router::{Freshness, Reply, params};
pub use table::MethodTable;
pub(crate) use table::Taken;
