//! Routing: one request in, one response out. The [`router`] decides the era,
//! enforces the lifecycle, looks the method up in the method [`table`] (the core
//! protocol's and those added to it) and writes the era's result members; a [`route`]
//! is what it decided and what serves it; between routing and the handler, the
//! [`door`] admits the request (scope, rate); a [`Probe`] reads the request's params
//! once for it, and what a 2026-07-28 client repeats in every request's `_meta` (its
//! name, its capabilities) is read once ([`repeated`]).

mod admitted;
mod door;
mod methods;
mod probe;
mod repeated;
mod route;
mod router;
mod table;

pub(crate) use admitted::Admitted;
pub(crate) use methods::{Found, listen_bound, tool_reply};
pub use probe::Probe;
pub use route::Route;
pub(crate) use route::{Freshness, Reply};
pub use router::{Answer, Routed, stateless_version, unsupported_version};
pub use table::MethodTable;
pub(crate) use table::Taken;
