//! One POST's requests in flight: the messages their handlers send (progress, log
//! messages, server → client requests) and their answers, in the order they happen.
//!
//! The endpoint waits for the first thing to happen. When every answer comes before
//! any message, the response is plain JSON; otherwise it becomes an SSE stream that
//! carries the messages and then the answers, and ends after the last answer.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tenet_server::Answer;
use tokio::sync::mpsc;

/// How many messages a handler may get ahead of a slow client before it waits.
pub(crate) const MESSAGE_CAPACITY: usize = 64;

/// A request being served, resolving to its encoded response.
pub(crate) type AnswerFuture = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// Something to send to the client.
#[derive(Debug)]
pub(crate) enum Item {
    /// A notification or request a handler sent, one JSON line.
    Message(Vec<u8>),
    /// A response.
    Answer(Answer),
    /// The handler lets the live stream end here (resumable streams only).
    Break,
}

impl Item {
    /// The encoded JSON line.
    pub(crate) fn line(&self) -> &[u8] {
        match self {
            Item::Message(line) => line,
            Item::Answer(answer) => &answer.line,
            Item::Break => &[],
        }
    }
}

/// How an exchange began.
pub(crate) enum Start {
    /// Every request was answered before any message: answer with JSON.
    Complete(Vec<Answer>),
    /// A message came first: stream `head`, then the rest of the exchange.
    Streaming { head: VecDeque<Item>, exchange: Exchange },
}

/// The requests of an exchange still running: a lone one (most POSTs) is polled in
/// place, several at once through a [`FuturesUnordered`].
enum Pending {
    One(Option<AnswerFuture>),
    Many(FuturesUnordered<AnswerFuture>),
}

impl Pending {
    fn new(mut answers: Vec<AnswerFuture>) -> Self {
        if answers.len() == 1 { Pending::One(answers.pop()) } else { Pending::Many(answers.into_iter().collect()) }
    }

    fn is_empty(&self) -> bool {
        match self {
            Pending::One(one) => one.is_none(),
            Pending::Many(many) => many.is_empty(),
        }
    }

    /// The next answer; `None` when none is left. Dropping this future loses nothing.
    async fn next(&mut self) -> Option<Answer> {
        match self {
            Pending::One(slot) => {
                let answer = slot.as_mut()?.await;
                *slot = None;
                Some(answer)
            }
            Pending::Many(many) => many.next().await,
        }
    }
}

/// Requests in flight and the channel their handlers send on.
pub(crate) struct Exchange {
    answers: Pending,
    messages: mpsc::Receiver<Vec<u8>>,
    queued: VecDeque<Item>,
    resumable: bool,
}

impl Exchange {
    /// An exchange of `answers`, whose handlers send on the sender of `messages`. Only
    /// a `resumable` one reports [`Item::Break`]s; others drop them.
    pub(crate) fn new(messages: mpsc::Receiver<Vec<u8>>, answers: Vec<AnswerFuture>, resumable: bool) -> Self {
        Self { answers: Pending::new(answers), messages, queued: VecDeque::new(), resumable }
    }

    /// An exchange of one request (a stateless POST), not resumable.
    pub(crate) fn one(messages: mpsc::Receiver<Vec<u8>>, answer: AnswerFuture) -> Self {
        Self { answers: Pending::One(Some(answer)), messages, queued: VecDeque::new(), resumable: false }
    }

    fn item(&self, message: Vec<u8>) -> Option<Item> {
        match (message.is_empty(), self.resumable) {
            (false, _) => Some(Item::Message(message)),
            (true, true) => Some(Item::Break),
            (true, false) => None,
        }
    }

    /// The next item: messages as they are sent, each answer once every message sent
    /// before it. `None` once every request is answered.
    pub(crate) async fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.queued.pop_front() {
                return Some(item);
            }
            if self.answers.is_empty() {
                return None;
            }
            tokio::select! {
                biased;
                Some(message) = self.messages.recv() => {
                    if let Some(item) = self.item(message) {
                        return Some(item);
                    }
                }
                Some(answer) = self.answers.next() => {
                    // A handler may send and finish within one poll: its messages go first.
                    while let Ok(message) = self.messages.try_recv() {
                        if let Some(item) = self.item(message) {
                            self.queued.push_back(item);
                        }
                    }
                    self.queued.push_back(Item::Answer(answer));
                }
                else => return None,
            }
        }
    }

    /// Runs until every request is answered or a message comes first.
    pub(crate) async fn start(mut self) -> Start {
        let mut answers = Vec::new();
        loop {
            match self.next().await {
                None => return Start::Complete(answers),
                Some(Item::Answer(answer)) => answers.push(answer),
                Some(message) => {
                    let mut head: VecDeque<Item> = answers.into_iter().map(Item::Answer).collect();
                    head.push_back(message);
                    return Start::Streaming { head, exchange: self };
                }
            }
        }
    }
}

/// The JSON body for answers: one response, or an array for a batch.
pub(crate) fn json_body(answers: &[Answer], batch: bool) -> Vec<u8> {
    if !batch && let [answer] = answers {
        return answer.line.clone();
    }
    tenet_server::batch_body(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str) -> Answer {
        Answer { line: format!("{text}\n").into_bytes(), error: None, stateless: true }
    }

    fn future(text: &'static str, tx: Option<mpsc::Sender<Vec<u8>>>) -> AnswerFuture {
        Box::pin(async move {
            if let Some(tx) = tx {
                tx.send(b"note\n".to_vec()).await.unwrap();
            }
            answer(text)
        })
    }

    #[tokio::test]
    async fn answers_without_messages_complete_as_json() {
        let (_tx, rx) = mpsc::channel(4);
        let Start::Complete(answers) = Exchange::new(rx, vec![future("{}", None)], false).start().await else {
            panic!("expected JSON")
        };
        assert_eq!(json_body(&answers, false), b"{}\n");
        assert_eq!(json_body(&[answer("1"), answer("2")], true), b"[1,2]\n");
    }

    #[tokio::test]
    async fn a_message_sent_in_the_same_poll_still_precedes_the_answer() {
        let (tx, rx) = mpsc::channel(4);
        let exchange = Exchange::new(rx, vec![future("{}", Some(tx))], false);
        let Start::Streaming { head, mut exchange } = exchange.start().await else { panic!("expected a stream") };
        assert_eq!(head.iter().map(Item::line).collect::<Vec<_>>(), [b"note\n"]);
        assert!(matches!(exchange.next().await, Some(Item::Answer(_))));
        assert!(exchange.next().await.is_none());
    }
}
