//! The client seen from the server: where notifications go, and (legacy era) how the
//! server sends requests to the client and waits for their responses.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tenet_jsonrpc::{ErrorObject, Id, Outcome, RawObject, Response};
use tokio::sync::{mpsc, oneshot};

/// Where encoded messages for one client go: a bounded channel, drained by a writer.
/// An empty message carries no bytes: it tells a transport that can resume streams
/// that it may end the request's stream there (see [`crate::Context::close_stream`]).
pub type Outbound = mpsc::Sender<Vec<u8>>;

/// Server → client requests awaiting their answers, for one connection or session.
#[derive(Debug)]
pub struct Peer {
    next_id: AtomicI64,
    /// What begins every request id, if ids are strings ([`crate::DriverOptions::request_ids`]).
    prefix: Option<Arc<str>>,
    pending: Mutex<HashMap<Id, oneshot::Sender<Outcome>>>,
}

impl Peer {
    /// A peer whose request ids begin with `prefix` (else they are numbers). Each request
    /// names the channel it goes on ([`Peer::request`]).
    pub fn new(prefix: Option<Arc<str>>) -> Self {
        Self { next_id: AtomicI64::new(1), prefix, pending: Mutex::new(HashMap::new()) }
    }

    fn next_id(&self) -> Id {
        // A replica's ids count across every copy of every session it serves: a late
        // answer meant for a copy since dropped never resolves a later copy's request.
        static REPLICA_IDS: AtomicI64 = AtomicI64::new(1);
        match &self.prefix {
            Some(prefix) => Id::String(format!("{prefix}-{}", REPLICA_IDS.fetch_add(1, Ordering::Relaxed))),
            None => Id::Number(self.next_id.fetch_add(1, Ordering::Relaxed)),
        }
    }

    /// Sends a request on `out` (the channel of the request it serves, or the
    /// connection's) and waits for its result, at most `timeout`.
    ///
    /// # Errors
    /// The client's error object, -32603 when the connection is gone, or -32603 on timeout.
    pub async fn request(
        &self,
        out: &Outbound,
        method: &str,
        params: &impl Serialize,
        timeout: Duration,
    ) -> Result<RawObject, ErrorObject> {
        let id = self.next_id();
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id.clone(), tx);
        let mut line = Vec::with_capacity(256);
        tenet_jsonrpc::write_request(&mut line, &id, method, params);
        if out.send(line).await.is_err() {
            self.lock().remove(&id);
            return Err(ErrorObject::internal("the client connection is closed"));
        }
        let answer = tokio::time::timeout(timeout, rx).await;
        self.lock().remove(&id);
        match answer {
            Ok(Ok(Outcome::Result(raw))) => Ok(raw),
            Ok(Ok(Outcome::Error(e))) => Err(e),
            Ok(Err(_)) => Err(ErrorObject::internal("the client connection closed before answering")),
            Err(_) => Err(ErrorObject::internal(format!("the client did not answer {method} in time"))),
        }
    }

    /// Hands a response from the client to whoever awaits it. Returns false when no
    /// request of ours has that id.
    pub fn resolve(&self, response: Response) -> bool {
        let Some(id) = response.id else { return false };
        match self.lock().remove(&id) {
            Some(tx) => tx.send(response.outcome).is_ok(),
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Id, oneshot::Sender<Outcome>>> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Peer {
    /// Fails every request still waiting for the client (the connection is ending).
    pub fn close(&self) {
        self.lock().clear();
    }
}
