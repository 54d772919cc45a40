//! The open HTTP+SSE (2024-11-05) connections, by session id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tenet_server::Grant;
use tenet_server::prometheus_client::metrics::gauge::Gauge;
use tenet_transport::Frame;
use tokio::sync::mpsc;

use crate::session::owner_of;

/// One open HTTP+SSE connection: where its POSTs go, and who opened it.
pub(crate) struct Connection {
    pub(crate) inbound: mpsc::Sender<std::io::Result<Frame>>,
    pub(crate) owner: Option<tenet_server::store::SessionOwner>,
}

/// The open HTTP+SSE connections, by session id.
pub(crate) struct Connections {
    map: Mutex<HashMap<String, Arc<Connection>>>,
    /// `tenet_sessions{transport="sse"}`: up and down with the map.
    gauge: Gauge,
}

impl Connections {
    pub(crate) fn new(gauge: Gauge) -> Self {
        Self { map: Mutex::new(HashMap::new()), gauge }
    }

    /// The connection `id`, if the caller holding `grant` opened it.
    pub(crate) fn get(&self, id: &str, grant: Option<&Grant>) -> Option<Arc<Connection>> {
        let connection = self.map.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()?;
        (connection.owner == owner_of(grant)).then_some(connection)
    }

    pub(crate) fn insert(&self, id: String, connection: Connection, max: usize) -> bool {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= max {
            return false;
        }
        if map.insert(id, Arc::new(connection)).is_none() {
            self.gauge.inc();
        }
        true
    }

    pub(crate) fn remove(&self, id: &str) {
        if self.map.lock().unwrap_or_else(PoisonError::into_inner).remove(id).is_some() {
            self.gauge.dec();
        }
    }
}
