//! A node of the Tenet network: every Tenet server is one. A node has an id that
//! stays the same across restarts (configured, or generated once and kept in a state
//! file), and it says who it is when a client or a peer meets it: its id, its version
//! and a digest of everything it lists, under [`NODE_META_KEY`] in the `_meta` of its
//! `initialize` and `server/discover` results. A peer that kept the last digest knows
//! from the handshake alone whether to list again.
//!
//! ```
//! use tenet_node::{NODE_META_KEY, NodeId, announce, announcement};
//! use tenet_server::Server;
//!
//! let server = Server::builder("tenet", "0.1.0").build().unwrap();
//! let id: NodeId = "alpha".parse().unwrap();
//! announce(&server, &id);
//! let said = announcement(&server, &id);
//! assert_eq!(said.id, id);
//! assert_eq!(said.digest, *server.digest());
//! assert_eq!(said.lists.unwrap(), *server.list_digests());
//! assert_eq!(NODE_META_KEY, "io.tenet/node");
//! ```

mod id;
mod state;

use tenet_server::Server;

pub use id::generate;
pub use state::{Identity, IdentityError, Source, default_state_dir};
pub use tenet_protocol::{Announcement, InvalidNodeId, ListDigests, NODE_KEY as NODE_META_KEY, NodeId};

/// What the node `id` serving `server` says about itself now: its id, its server's
/// version, the digest of everything it lists and the digest of each list as it
/// offers it to other nodes.
pub fn announcement(server: &Server, id: &NodeId) -> Announcement {
    Announcement {
        id: id.clone(),
        version: server.info().version.clone(),
        digest: server.digest().to_string(),
        lists: Some(ListDigests::clone(&server.list_digests())),
    }
}

/// Has `server` announce itself as the node `id` in every `initialize` and
/// `server/discover` result (with the digests of its lists at that moment).
pub fn announce(server: &Server, id: &NodeId) {
    let id = id.clone();
    server.add_handshake_meta(NODE_META_KEY, move |server| {
        serde_json::to_value(announcement(server, &id)).unwrap_or_default()
    });
}
