//! Legacy SSE streams logged for replicas: each event of a shared session's stream is
//! written (bounded, expiring) before it is sent, so that a client whose stream broke
//! can resume with `Last-Event-ID` on any replica and get every event after it, once,
//! in order. A stream's end is logged too, so that a replica tailing another's stream
//! knows when to stop.

/// One logged event: its number in its stream, and its framed bytes (an empty event
/// marks the stream's end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its number in its stream (from 1).
    pub seq: u64,
    /// The framed SSE event; empty for the stream's end.
    pub event: Vec<u8>,
}

impl LoggedEvent {
    /// Whether this marks the stream's end.
    pub fn is_end(&self) -> bool {
        self.event.is_empty()
    }
}

/// What a log holds after a given event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoggedAfter {
    /// No such stream (never logged, or expired).
    Unknown,
    /// Events after it were already dropped (the log keeps the last few).
    Evicted,
    /// The events after it, in order (none yet, if the stream goes on).
    Events(Vec<LoggedEvent>),
}

/// Whether event `seq` of a stream whose newest logged event is `newest` was never sent:
/// it comes after it, or it is the stream's end (which is logged, never sent).
pub fn never_sent(newest: &LoggedEvent, seq: u64) -> bool {
    seq > newest.seq || (seq == newest.seq && newest.is_end())
}
