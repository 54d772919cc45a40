//! Matching responses to the requests waiting for them, on transports where answers
//! arrive on a shared stream (pipes, HTTP+SSE).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tenet_jsonrpc::{Id, Incoming, Message, Outcome, Response};
use tokio::sync::{mpsc, oneshot};

use crate::error::{ClientError, Result};
use crate::inbound::Inbound;

type Waiter = oneshot::Sender<Result<Value>>;

/// Requests waiting for their response.
#[derive(Default)]
pub(crate) struct Pending {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    waiting: HashMap<Id, Waiter>,
    closed: Option<String>,
}

/// Turns a response's outcome into the caller's result.
pub(crate) fn outcome(outcome: Outcome) -> Result<Value> {
    match outcome {
        Outcome::Result(raw) => {
            serde_json::from_str(raw.get()).map_err(|e| ClientError::Protocol(format!("unreadable result: {e}")))
        }
        Outcome::Error(error) => Err(ClientError::Server(error)),
    }
}

impl Pending {
    /// Starts waiting for `id`'s response.
    pub(crate) fn register(&self, id: &Id) -> Result<oneshot::Receiver<Result<Value>>> {
        let (tx, rx) = oneshot::channel();
        let mut state = self.state.lock().map_err(|_| ClientError::Closed("poisoned".into()))?;
        if let Some(reason) = &state.closed {
            return Err(ClientError::Closed(reason.clone()));
        }
        state.waiting.insert(id.clone(), tx);
        Ok(rx)
    }

    /// Stops waiting for `id` (timed out or cancelled); a late answer is then ignored.
    pub(crate) fn forget(&self, id: &Id) {
        if let Ok(mut state) = self.state.lock() {
            state.waiting.remove(id);
        }
    }

    /// Hands a response to its waiter; a response nobody waits for is logged and dropped.
    pub(crate) fn resolve(&self, response: Response) {
        let waiter = response.id.as_ref().and_then(|id| self.state.lock().ok()?.waiting.remove(id));
        match waiter {
            Some(waiter) => {
                let _ = waiter.send(outcome(response.outcome));
            }
            None => tracing::warn!(id = ?response.id, "ignored a response to no pending request"),
        }
    }

    /// Fails every waiting request, and every later one, with `reason`.
    pub(crate) fn close(&self, reason: &str) {
        let waiting = match self.state.lock() {
            Ok(mut state) => {
                state.closed.get_or_insert_with(|| reason.to_owned());
                std::mem::take(&mut state.waiting)
            }
            Err(_) => return,
        };
        for (_, waiter) in waiting {
            let _ = waiter.send(Err(ClientError::Closed(reason.to_owned())));
        }
    }
}

/// Routes one received frame: responses to their waiters, notifications and server
/// requests to `inbound`; answers to server requests go to `replies`. Garbage is
/// logged and skipped.
pub(crate) fn route(frame: &[u8], pending: &Pending, inbound: &Arc<Inbound>, replies: &mpsc::Sender<Vec<u8>>) {
    let messages = match tenet_jsonrpc::parse(frame) {
        Ok(Incoming::Single(message)) => vec![message],
        Ok(Incoming::Batch(entries)) => entries.into_iter().filter_map(Result::ok).collect(),
        Err(rejection) => {
            tracing::warn!(error = %rejection.error.message, "ignored a line that is not JSON-RPC");
            return;
        }
    };
    for message in messages {
        match message {
            Message::Response(response) => pending.resolve(response),
            Message::Notification(notification) => inbound.notification(&notification),
            Message::Request(request) => {
                let inbound = Arc::clone(inbound);
                let replies = replies.clone();
                tokio::spawn(async move {
                    let answer = inbound.request(&request).await;
                    let _ = replies.send(answer).await;
                });
            }
        }
    }
}
