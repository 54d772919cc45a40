//! The downstream request an upstream's questions and messages go back to.
//!
//! While a request is relayed, what the upstream says about it — log messages,
//! progress, and a legacy upstream's questions (sampling, elicitation, roots) — is
//! for the client that sent it. [`Downstream`] is the per-request handler that the
//! gateway's client hands such messages to; it passes them on through that client's
//! [`Context`], so the gateway's own era decides how they travel: a legacy client is
//! asked with a request of its own, a 2026-07-28 client with an input-required result
//! (see `forward::exchange`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;

use futures_util::future::BoxFuture;
use futures_util::task::AtomicWaker;
use serde_json::Value;
use tenet_client::{ClientHandler, ServerNotification};
use tenet_protocol::{ClientCapabilities, Era, InputRequest, JsonObject, LoggingMessageParams, Method, ProgressParams};
use tenet_server::jsonrpc::{ErrorCode, ErrorObject, RawJson};
use tenet_server::{Context, ToolError};

use crate::upstream::Upstream;

/// Messages held between the upstream's reader and the downstream request; past
/// this, the newest are dropped rather than slowing the upstream.
const EVENT_QUEUE: usize = 64;

/// Something the upstream said about the request, on its way downstream.
pub(crate) enum Event {
    /// `notifications/progress`.
    Progress(ProgressParams),
    /// `notifications/message`.
    Log(LoggingMessageParams),
}

impl Event {
    /// Passes the message on to the client of `ctx`, as far as it asked for it.
    pub(crate) async fn deliver(self, ctx: &Context) {
        match self {
            Self::Progress(p) => ctx.progress(p.progress, p.total, p.message).await,
            Self::Log(log) if ctx.logs(log.level) => ctx.notify(Method::Message, &log).await,
            Self::Log(_) => {}
        }
    }
}

/// What the upstream said about one request, held for it: the upstream's reader
/// queues without waiting, the relayed request (the only reader) takes them in order.
/// Nothing is allocated for a request the upstream says nothing about.
#[derive(Default)]
pub(crate) struct Events {
    queue: Mutex<VecDeque<Event>>,
    /// Whether anything was ever queued: most requests have no event, and their
    /// reader looks at this flag instead of taking the lock.
    used: AtomicBool,
    reader: AtomicWaker,
}

impl Events {
    /// Queues `event`; past [`EVENT_QUEUE`] it is dropped rather than slowing the upstream.
    pub(crate) fn push(&self, event: Event) {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.len() < EVENT_QUEUE {
            queue.push_back(event);
            // Set under the lock and before the wake: a reader woken, or looking after
            // the push, sees it.
            self.used.store(true, Ordering::SeqCst);
            drop(queue);
            self.reader.wake();
        }
    }

    /// The oldest queued event, if any.
    pub(crate) fn pop(&self) -> Option<Event> {
        if !self.used.load(Ordering::SeqCst) {
            return None;
        }
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front()
    }

    /// Waits for the next event. Dropping the future loses none.
    pub(crate) fn next(&self) -> impl Future<Output = Event> + '_ {
        std::future::poll_fn(|cx| {
            if let Some(event) = self.pop() {
                return Poll::Ready(event);
            }
            // Registered before looking again, so that no push is missed in between.
            self.reader.register(cx.waker());
            self.pop().map_or(Poll::Pending, Poll::Ready)
        })
    }
}

/// The client of one relayed request, as the upstream's client sees it.
pub(crate) struct Downstream {
    pub(crate) ctx: Context,
    /// The upstream, named in errors.
    pub(crate) upstream: Arc<Upstream>,
    pub(crate) events: Events,
    /// The tag of the caller's own session the request is relayed on, if it is
    /// (`sessions::Lease::tag`): the ids of the URL steps asked there are passed on behind it.
    pub(crate) session: std::sync::OnceLock<Arc<str>>,
}

impl ClientHandler for Downstream {
    fn on_notification(&self, notification: ServerNotification) {
        if let ServerNotification::Log(log) = notification {
            self.events.push(Event::Log(log));
        }
    }

    fn answer<'a>(&'a self, method: &'a str, params: Option<&'a RawJson>) -> BoxFuture<'a, Result<Value, ErrorObject>> {
        Box::pin(async move {
            let params: Option<Value> = params
                .map(|raw| serde_json::from_str(raw.get()))
                .transpose()
                .map_err(|e| ErrorObject::invalid_params(format!("invalid params: {e}")))?;
            let request = InputRequest { method: method.to_owned(), params };
            let mut answers = self.answer_all(vec![(String::new(), request)]).await?;
            Ok(answers.remove("").unwrap_or(Value::Null))
        })
    }

    fn answer_all(&self, requests: Vec<(String, InputRequest)>) -> BoxFuture<'_, Result<JsonObject, ErrorObject>> {
        Box::pin(async move {
            // A ping is answered here: the gateway is the one the upstream talks to.
            let (pings, mut requests): (Vec<_>, Vec<_>) =
                requests.into_iter().partition(|(_, r)| r.method == Method::Ping.name());
            // A step in a web browser is named as the gateway names the upstream's.
            for (_, request) in &mut requests {
                if request.method == Method::ElicitationCreate.name()
                    && let Some(params) = &mut request.params
                {
                    if let Some(tag) = self.session.get() {
                        crate::upstream::tag_step(params, tag);
                    }
                    self.upstream.uris.elicitation(params);
                }
            }
            let mut answers: JsonObject =
                pings.into_iter().map(|(key, _)| (key, Value::Object(JsonObject::new()))).collect();
            if requests.is_empty() {
                return Ok(answers);
            }
            if self.ctx.era() == Era::Stateless && self.ctx.task_id().is_none() {
                // A legacy upstream's request cannot wait for the new round that a
                // 2026-07-28 client would answer it in (a task's questions wait in the
                // task for `tasks/update`).
                return Err(ErrorObject::new(
                    ErrorCode::INTERNAL_ERROR,
                    format!(
                        "upstream {} asked for {} while the call was under way, but the gateway's client speaks \
                         2026-07-28 and can be asked only in a new round of its request",
                        self.upstream.name(),
                        requests.iter().map(|(_, r)| r.method.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            let capabilities = self.ctx.client_capabilities();
            if let Some((_, refused)) = requests.iter().find(|(_, r)| !declares(capabilities, r)) {
                return Err(ErrorObject::new(
                    ErrorCode::METHOD_NOT_FOUND,
                    format!("the gateway's client did not declare the capability for {}", refused.method),
                ));
            }
            let keys: Vec<String> = requests.iter().map(|(key, _)| key.clone()).collect();
            match self.ctx.ask_all(requests).await {
                Ok(asked) => {
                    answers.extend(keys.into_iter().zip(asked));
                    Ok(answers)
                }
                Err(ToolError::Protocol(error)) => Err(error),
                Err(other) => Err(ErrorObject::new(ErrorCode::INTERNAL_ERROR, other.to_string())),
            }
        })
    }
}

/// Whether a client with `capabilities` can be asked `request`.
fn declares(capabilities: &ClientCapabilities, request: &InputRequest) -> bool {
    match Method::from_name(&request.method) {
        Some(Method::SamplingCreateMessage) => capabilities.sampling.is_some(),
        Some(Method::ElicitationCreate) => {
            if request.params.as_ref().and_then(|p| p.get("mode")).and_then(Value::as_str) == Some("url") {
                capabilities.elicitation_url()
            } else {
                capabilities.elicitation_form()
            }
        }
        Some(Method::RootsList) => capabilities.roots.is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn questions_go_only_to_clients_that_declared_them() {
        let none = ClientCapabilities::default();
        let form: ClientCapabilities = serde_json::from_value(json!({"elicitation": {}, "sampling": {}})).unwrap();
        let url: ClientCapabilities = serde_json::from_value(json!({"elicitation": {"url": {}}, "roots": {}})).unwrap();
        let url_mode = json!({"mode": "url", "url": "https://example.com", "message": "m", "elicitationId": "e"});
        let ask = |method: &str, params: Option<Value>| InputRequest { method: method.to_owned(), params };
        for method in ["sampling/createMessage", "elicitation/create", "roots/list", "tools/list"] {
            assert!(!declares(&none, &ask(method, None)), "{method}");
        }
        assert!(declares(&form, &ask("sampling/createMessage", None)));
        assert!(declares(&form, &ask("elicitation/create", Some(json!({"message": "m"})))));
        assert!(!declares(&form, &ask("elicitation/create", Some(url_mode.clone()))));
        assert!(declares(&url, &ask("elicitation/create", Some(url_mode))));
        assert!(!declares(&url, &ask("elicitation/create", None)));
        assert!(declares(&url, &ask("roots/list", None)));
        assert!(!declares(&url, &ask("sampling/createMessage", None)));
    }
}
