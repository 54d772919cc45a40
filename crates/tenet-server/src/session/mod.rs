//! One client's session, whatever transport carries it: its state ([`Session`]), the
//! client seen from the server ([`Peer`]), the resources it subscribes to, and where
//! each request came from, as its transport sees it ([`Link`]). The driver that serves
//! a session over a transport is [`crate::driver`]'s.

mod link;
mod peer;
mod state;
mod subscriptions;

pub use link::Link;
pub(crate) use link::{allows, insufficient_scope, share_of};
pub use peer::{Outbound, Peer};
pub(crate) use state::{IN_FLIGHT_RETRY, MAX_IN_FLIGHT, Untracked};
pub use state::{Negotiated, Session};
pub use subscriptions::MAX_SUBSCRIPTIONS;
pub(crate) use subscriptions::{Subscription, Subscriptions};
