//! Matching responses to the requests waiting for them, on transports where answers
//! arrive on a shared stream (pipes, HTTP+SSE, WebSocket).

use std::collections::VecDeque;
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
    /// The last requests given up on (timed out, cancelled, dropped), whose answers may
    /// still come: one is expected, not a fault of the server's.
    forgotten: VecDeque<Id>,
}

/// How many requests given up on are remembered ([`State::forgotten`]).
const FORGOTTEN: usize = 64;

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
        if let Ok(mut state) = self.state.lock()
            && state.waiting.remove(id).is_some()
        {
            if state.forgotten.len() == FORGOTTEN {
                state.forgotten.pop_front();
            }
            state.forgotten.push_back(id.clone());
        }
    }

    /// Hands a response to its waiter; a response nobody waits for is dropped, and
    /// logged as a warning unless it answers a request given up on.
    pub(crate) fn resolve(&self, response: Response) {
        let Some(id) = &response.id else {
            match &response.outcome {
                Outcome::Error(error) => {
                    tracing::warn!(code = ?error.code, message = %error.message, "the server answered no request with an error");
                }
                Outcome::Result(_) => tracing::warn!("ignored a result without an id"),
            }
            return;
        };
        let Ok(mut state) = self.state.lock() else { return };
        if let Some(waiter) = state.waiting.remove(id) {
            drop(state);
            let _ = waiter.send(outcome(response.outcome));
        } else if let Some(at) = state.forgotten.iter().position(|forgotten| forgotten == id) {
            state.forgotten.remove(at);
            drop(state);
            tracing::debug!(?id, "ignored a late answer to a request given up on");
        } else {
            drop(state);
            tracing::warn!(?id, "ignored a response to no pending request");
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

/// Where answers to the server's requests go: the transport's outbox, held for good
/// (a `Sender`) or only while the transport holds it too (a `WeakSender`: a reader
/// that must not keep the server's input open once the client closes it).
pub(crate) trait Replies {
    /// The outbox, while it is open.
    fn outbox(&self) -> Option<mpsc::Sender<Vec<u8>>>;
}

impl Replies for mpsc::Sender<Vec<u8>> {
    fn outbox(&self) -> Option<mpsc::Sender<Vec<u8>>> {
        Some(self.clone())
    }
}

impl Replies for mpsc::WeakSender<Vec<u8>> {
    fn outbox(&self) -> Option<mpsc::Sender<Vec<u8>>> {
        self.upgrade()
    }
}

/// Routes one received frame: responses to their waiters, notifications and server
/// requests to `inbound`; answers to server requests go to `replies`. Garbage is
/// logged and skipped.
pub(crate) fn route(frame: &[u8], pending: &Pending, inbound: &Arc<Inbound>, replies: &impl Replies) {
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

fn route_one(message: Message, pending: &Pending, inbound: &Arc<Inbound>, replies: &impl Replies) {
    match message {
        Message::Response(response) => pending.resolve(response),
        Message::Notification(notification) => inbound.notification(&notification, None),
        Message::Request(request) => {
            let Some(replies) = replies.outbox() else {
                tracing::debug!(method = %request.method, "left a server request unanswered: the client is closing");
                return;
            };
            let Some(turn) = inbound.answer_turn(&request, None) else {
                // Refused at once; dropped if the outbox is full too (a flood).
                return drop(replies.try_send(Inbound::busy(&request)));
            };
            let inbound = Arc::clone(inbound);
            tokio::spawn(async move {
                let answer = inbound.request(&request, None).await;
                let _ = replies.send(answer).await;
                drop(turn);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(id: i64) -> Response {
        let line = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#);
        match tenet_jsonrpc::parse_from_server(line.as_bytes()) {
            Ok(Incoming::Single(Message::Response(response))) => response,
            other => panic!("not a response: {other:?}"),
        }
    }

    fn forgotten(pending: &Pending) -> Vec<Id> {
        pending.state.lock().map(|state| state.forgotten.iter().cloned().collect()).unwrap_or_default()
    }

    #[test]
    fn a_late_answer_is_told_from_an_answer_to_nothing() {
        let pending = Pending::default();
        let waiter = pending.register(&Id::Number(1)).ok();
        pending.forget(&Id::Number(1));
        pending.forget(&Id::Number(2)); // never waited for: nothing to remember
        assert_eq!(forgotten(&pending), [Id::Number(1)]);
        drop(waiter);
        pending.resolve(response(7));
        assert_eq!(forgotten(&pending), [Id::Number(1)], "an answer to nothing leaves it");
        pending.resolve(response(1));
        assert!(forgotten(&pending).is_empty(), "the late answer came, and is expected no more");
    }

    #[test]
    fn only_the_last_requests_given_up_on_are_remembered() {
        let pending = Pending::default();
        for id in 0..100 {
            let _waiter = pending.register(&Id::Number(id));
            pending.forget(&Id::Number(id));
        }
        let kept = forgotten(&pending);
        assert_eq!(kept.len(), FORGOTTEN);
        assert_eq!(kept.first(), Some(&Id::Number(100 - FORGOTTEN as i64)));
    }
}
