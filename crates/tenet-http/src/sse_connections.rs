//! The open HTTP+SSE (2024-11-05) connections, by session id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tenet_server::Grant;
use tenet_server::prometheus_client::metrics::gauge::Gauge;
use tenet_transport::Frame;
use tokio::sync::mpsc;

use crate::caller::Shares;
use crate::session::{Full, owner_of};

/// One open HTTP+SSE connection: where its POSTs go, and who opened it.
pub(crate) struct Connection {
    pub(crate) inbound: mpsc::Sender<std::io::Result<Frame>>,
    pub(crate) owner: Option<tenet_server::store::SessionOwner>,
    /// What it counts against in the per-caller bound ([`crate::caller::Caller::key`]).
    pub(crate) caller: Arc<str>,
}

/// The open connections by session id, and how many each caller holds.
#[derive(Default)]
struct Table {
    by_id: HashMap<String, Arc<Connection>>,
    by_caller: Shares,
}

/// The open HTTP+SSE connections, by session id.
pub(crate) struct Connections {
    map: Mutex<Table>,
    /// `tenet_sessions{transport="sse"}`: up and down with the map.
    gauge: Gauge,
}

impl Connections {
    pub(crate) fn new(gauge: Gauge) -> Self {
        Self { map: Mutex::new(Table::default()), gauge }
    }

    /// The connection `id`, if the caller holding `grant` opened it.
    pub(crate) fn get(&self, id: &str, grant: Option<&Grant>) -> Option<Arc<Connection>> {
        let connection = self.map.lock().unwrap_or_else(PoisonError::into_inner).by_id.get(id).cloned()?;
        (connection.owner == owner_of(grant)).then_some(connection)
    }

    /// Adds `connection` as `id`, unless `max` are open, or `per_caller` of its caller's.
    pub(crate) fn insert(&self, id: String, connection: Connection, max: usize, per_caller: usize) -> Result<(), Full> {
        let mut table = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if table.by_id.len() >= max {
            return Err(Full::Total);
        }
        let per_caller = per_caller.max(1);
        if table.by_caller.holds(&connection.caller, per_caller) {
            return Err(Full::Caller(per_caller));
        }
        table.by_caller.take(&connection.caller);
        // Ids are 128 random bits: never one taken.
        if table.by_id.insert(id, Arc::new(connection)).is_none() {
            self.gauge.inc();
        }
        Ok(())
    }

    pub(crate) fn remove(&self, id: &str) {
        let mut table = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(connection) = table.by_id.remove(id) else { return };
        table.by_caller.give_back(&connection.caller);
        self.gauge.dec();
    }
}
