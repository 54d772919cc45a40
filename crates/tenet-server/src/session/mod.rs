//! One client's session, whatever transport carries it: its state ([`Session`]), the
//! client seen from the server ([`Peer`]), and the [`Driver`] that owns in-flight ids,
//! cancellation, response routing, batch admission, notification delivery and the
//! drain at the end. Transports are small adapters to the driver.
//!
//! Also here: where each request came from, as its transport sees it ([`Link`]).

mod connection;
mod driver;
mod link;
mod peer;
mod state;
mod subscriptions;

pub use connection::{Hangup, OUTBOUND_CAPACITY};
pub use driver::{Announcements, Cancelled, Driver, DriverOptions, Events, Pending, batch_body};
pub use link::Link;
pub(crate) use link::{allows, insufficient_scope, share_of};
pub use peer::{Outbound, Peer};
pub use state::{Negotiated, Session};
pub use subscriptions::MAX_SUBSCRIPTIONS;
pub(crate) use subscriptions::{Subscription, Subscriptions};
