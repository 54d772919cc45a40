//! Matching responses to the requests waiting for them, on transports where answers
//! arrive on a shared stream (pipes, HTTP+SSE, WebSocket).

use std::sync::{Arc, Mutex};

use tenet_jsonrpc::{Id, Incoming, Message, Outcome, Response};
use tokio::sync::{mpsc, oneshot};

use super::Answer;
use crate::OwnKeyed;
use crate::error::{ClientError, Result};
use crate::inbound::Inbound;

type Waiter = oneshot::Sender<Result<Answer>>;

/// Makes the error of every request after the connection ended.
type Ending = Box<dyn Fn() -> ClientError + Send + Sync>;

/// Requests waiting for their response.
#[derive(Default)]
pub(crate) struct Pending {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    waiting: OwnKeyed<Id, Waiter>,
    closed: Option<Ending>,
}

/// Turns a response's outcome into the caller's result.
pub(crate) fn outcome(outcome: Outcome) -> Result<Answer> {
    match outcome {
        Outcome::Result(raw) => Ok(raw),
        Outcome::Error(error) => Err(ClientError::Server(error)),
    }
}

impl Pending {
    /// Starts waiting for `id`'s response.
    pub(crate) fn register(&self, id: &Id) -> Result<oneshot::Receiver<Result<Answer>>> {
        let (tx, rx) = oneshot::channel();
        let mut state = self.state.lock().map_err(|_| ClientError::Closed("poisoned".into()))?;
        if let Some(ending) = &state.closed {
            return Err(ending());
        }
        state.waiting.insert(id.clone(), tx);
        Ok(rx)
    }

    /// Sends a request with `send` and waits for the answer to `id`. Dropping the
    /// future stops waiting (a late answer is then ignored).
    pub(crate) async fn exchange(&self, id: &Id, send: impl Future<Output = Result<()>>) -> Result<Answer> {
        let waiter = self.register(id)?;
        let mut forget = Forget { pending: self, id: Some(id) };
        send.await?;
        let answer = waiter.await;
        // Answered, or failed with the others as the connection ended: either way its
        // entry went as its waiter was taken out, and there is nothing left to forget.
        forget.id = None;
        answer.map_err(|_| ClientError::Closed("the connection ended".into()))?
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
        let reason = reason.to_owned();
        self.close_with(move || ClientError::Closed(reason.clone()));
    }

    /// Fails every waiting request, and every later one, with the error `ending`
    /// makes. Only the first ending counts.
    pub(crate) fn close_with(&self, ending: impl Fn() -> ClientError + Send + Sync + 'static) {
        let Ok(mut guard) = self.state.lock() else { return };
        let state = &mut *guard;
        let ending: &Ending = state.closed.get_or_insert_with(|| Box::new(ending));
        let failed: Vec<(Waiter, ClientError)> = state.waiting.drain().map(|(_, waiter)| (waiter, ending())).collect();
        drop(guard);
        for (waiter, error) in failed {
            let _ = waiter.send(Err(error));
        }
    }
}

/// Stops waiting for a request's answer when its future is dropped before the answer
/// came (`id`).
struct Forget<'a> {
    pending: &'a Pending,
    id: Option<&'a Id>,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.pending.forget(id);
        }
    }
}

/// Routes one received frame: responses to their waiters, notifications and server
/// requests to `inbound`; answers to server requests go to `replies`. Garbage is
/// logged and skipped.
pub(crate) fn route(frame: &[u8], pending: &Pending, inbound: &Arc<Inbound>, replies: &mpsc::Sender<Vec<u8>>) {
    match tenet_jsonrpc::parse_from_server(frame) {
        Ok(Incoming::Single(message)) => route_one(message, pending, inbound, replies),
        Ok(Incoming::Batch(entries)) => {
            for message in entries.into_iter().filter_map(Result::ok) {
                route_one(message, pending, inbound, replies);
            }
        }
        Err(rejection) => tracing::warn!(error = %rejection.error.message, "ignored a line that is not JSON-RPC"),
    }
}

fn route_one(message: Message, pending: &Pending, inbound: &Arc<Inbound>, replies: &mpsc::Sender<Vec<u8>>) {
    match message {
        Message::Response(response) => pending.resolve(response),
        Message::Notification(notification) => inbound.notification(&notification, None),
        Message::Request(request) => {
            let inbound = Arc::clone(inbound);
            let replies = replies.clone();
            tokio::spawn(async move {
                let answer = inbound.request(&request, None).await;
                let _ = replies.send(answer).await;
            });
        }
    }
}
