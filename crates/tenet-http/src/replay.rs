//! Resumability for legacy SSE streams: each stream of a session numbers its events,
//! keeps the last few, and replays those after a `Last-Event-ID` to the client that
//! reconnects. Event ids are `<stream>.<seq>`, unique within a session; a copy of a
//! session that replicas share puts its own tag first (`<replica>-<copy>.<stream>.<seq>`),
//! so that an id another copy wrote is never taken for one of its own streams: such an
//! id names a stream whose events that copy logged in the shared store
//! ([`crate::stream_log`]), where any replica reads them.
//!
//! What a stream may carry depends on the session's version ([`Resumability`]): a
//! client parses every `data:` it gets, so nothing its version does not define is sent.

use std::collections::VecDeque;

use bytes::Bytes;
use tenet_server::protocol::ProtocolVersion;
use tokio::sync::mpsc;

use crate::sse;

/// The standalone (GET) stream's number.
pub(crate) const STANDALONE: u64 = 0;

/// Where a live stream's events go: the body of the HTTP response being written.
pub(crate) type Listener = mpsc::Sender<Bytes>;

/// Why a `Last-Event-ID` cannot be honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResumeError {
    /// Not an id this session issued.
    Unknown,
    /// Events after it were already dropped from the buffer.
    Evicted,
}

impl std::fmt::Display for ResumeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResumeError::Unknown => "Bad Request: Last-Event-ID names no stream of this session",
            ResumeError::Evicted => "Bad Request: the events after Last-Event-ID are no longer available",
        })
    }
}

/// How far a session's version lets its streams be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resumability {
    /// 2024-11-05, which predates Streamable HTTP: plain events, no ids, no replay.
    None,
    /// 2025-03-26 and 2025-06-18: event ids and `Last-Event-ID` replay, but no priming
    /// event and no `retry:` (their clients parse every `data:` as JSON), and a stream
    /// stays open until its last response.
    Ids,
    /// 2025-11-25: ids, a priming event with `retry:` opening each new stream, and SSE
    /// polling (the server may end a stream early; the client resumes).
    Polling,
}

impl Resumability {
    /// What `version` defines.
    pub(crate) fn of(version: ProtocolVersion) -> Self {
        if version.has_sse_priming() {
            Resumability::Polling
        } else if version >= ProtocolVersion::V2025_03_26 && version <= ProtocolVersion::LATEST_LEGACY {
            Resumability::Ids
        } else {
            Resumability::None
        }
    }

    /// Whether new streams open with a priming event and may be ended early.
    pub(crate) fn polls(self) -> bool {
        self == Resumability::Polling
    }
}

/// A resumed stream.
pub(crate) enum Resumed {
    /// A stream of this copy: the events to replay (a stream still running sends the
    /// rest to the listener given).
    Here {
        /// The stream resumed.
        stream: u64,
        /// Events after the client's last one, framed.
        replay: Vec<Bytes>,
    },
    /// A stream another copy of the session served (on another replica, or earlier
    /// here): its events are read from the shared store's log.
    Logged(Foreign),
}

/// A stream another copy of a shared session served, named by a `Last-Event-ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Foreign {
    /// Its log's name in the store: `<copy>.<stream>`.
    pub log: String,
    /// The replica that served it (its copy's tag begins with the replica's name).
    pub replica: String,
    /// Whether it is the standalone (GET) stream.
    pub standalone: bool,
    /// The client's last event.
    pub seq: u64,
}

/// Where a shared copy's event goes in the store: its stream's log and its number there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogEntry {
    /// The log's name: `<copy>.<stream>`.
    pub log: String,
    /// The event's number in its stream (the stream's end gets the next one).
    pub seq: u64,
}

/// An event recorded on a stream.
pub(crate) struct Published {
    /// The event, framed.
    pub bytes: Bytes,
    /// Who listens to the stream now, if anyone.
    pub listener: Option<Listener>,
    /// Where to log it, for a copy of a shared session.
    pub log: Option<LogEntry>,
}

struct Log {
    stream: u64,
    next_seq: u64,
    events: VecDeque<(u64, Bytes)>,
    listener: Option<Listener>,
    finished: bool,
}

/// The SSE streams of one session.
pub(crate) struct Streams {
    next_stream: u64,
    logs: VecDeque<Log>,
    max_events: usize,
    max_streams: usize,
    resumability: Resumability,
    /// The tag of this copy of a shared session, first in its event ids.
    origin: Option<String>,
}

fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (stream, seq) = id.trim().split_once('.')?;
    Some((stream.parse().ok()?, seq.parse().ok()?))
}

impl Streams {
    /// Buffers for a session: `max_events` per stream, `max_streams` finished ones kept.
    /// Until [`Streams::set_resumability`] names the session's rules, events carry no
    /// ids and nothing is kept.
    pub(crate) fn new(max_events: usize, max_streams: usize) -> Self {
        Self {
            next_stream: STANDALONE + 1,
            logs: VecDeque::new(),
            max_events: max_events.max(1),
            max_streams,
            resumability: Resumability::None,
            origin: None,
        }
    }

    /// Makes these the streams of one copy of a session replicas share, tagged
    /// `origin` (`<replica>-<copy>`) in their event ids and logged in the store, so that
    /// a client's resumption that reaches another replica (after a stream ended early for
    /// SSE polling, or a dropped connection) is followed there through the store's log.
    pub(crate) fn set_origin(&mut self, origin: String) {
        self.origin = Some(origin);
    }

    /// Whether a stream may be ended early for the client to resume (SSE polling).
    pub(crate) fn ends_early(&self) -> bool {
        self.resumability.polls()
    }

    fn event_id(&self, stream: u64, seq: u64) -> String {
        match &self.origin {
            Some(origin) => format!("{origin}.{stream}.{seq}"),
            None => format!("{stream}.{seq}"),
        }
    }

    /// What the session's streams may carry (set once its version is negotiated).
    pub(crate) fn resumability(&self) -> Resumability {
        self.resumability
    }

    /// Sets what the session's streams may carry: its negotiated version's rules.
    pub(crate) fn set_resumability(&mut self, resumability: Resumability) {
        self.resumability = resumability;
    }

    fn log(&mut self, stream: u64) -> Option<&mut Log> {
        self.logs.iter_mut().find(|l| l.stream == stream)
    }

    fn create(&mut self, stream: u64, listener: Option<Listener>) {
        // Forget the oldest finished streams beyond the limit.
        while self.logs.iter().filter(|l| l.finished).count() >= self.max_streams.max(1) {
            let Some(oldest) = self.logs.iter().position(|l| l.finished) else { break };
            self.logs.remove(oldest);
        }
        self.logs.push_back(Log { stream, next_seq: 1, events: VecDeque::new(), listener, finished: false });
    }

    /// Opens a new stream sending to `listener`; returns its number and priming event id.
    pub(crate) fn open(&mut self, listener: Listener) -> (u64, String) {
        let stream = self.next_stream;
        self.next_stream += 1;
        self.create(stream, Some(listener));
        (stream, self.event_id(stream, 0))
    }

    /// The id of the last event of `stream` (its priming id when it has none yet), for
    /// a priming event that lets a client resume from here.
    pub(crate) fn cursor(&mut self, stream: u64) -> String {
        if stream == STANDALONE && self.log(STANDALONE).is_none() {
            self.create(STANDALONE, None);
        }
        let seq = self.log(stream).map_or(0, |log| log.next_seq - 1);
        self.event_id(stream, seq)
    }

    /// Where event `seq` of `stream` is logged, for a copy of a shared session.
    fn entry(&self, stream: u64, seq: u64) -> Option<LogEntry> {
        let origin = self.origin.as_ref().filter(|_| self.resumability != Resumability::None)?;
        Some(LogEntry { log: format!("{origin}.{stream}"), seq })
    }

    /// Records an event on `stream` (creating the standalone stream on first use) and
    /// returns it framed, with the listener to send it to, if one is attached.
    pub(crate) fn publish(&mut self, stream: u64, line: &[u8]) -> Published {
        if stream == STANDALONE && self.log(STANDALONE).is_none() {
            self.create(STANDALONE, None);
        }
        let (max, ids) = (self.max_events, self.resumability != Resumability::None);
        let id_prefix = self.origin.as_ref().map(|o| format!("{o}."));
        let Some(log) = self.log(stream) else {
            return Published { bytes: sse::event(line), listener: None, log: None };
        };
        if !ids {
            return Published { bytes: sse::event(line), listener: log.listener.clone(), log: None };
        }
        let seq = log.next_seq;
        log.next_seq += 1;
        let id = format!("{}{stream}.{seq}", id_prefix.as_deref().unwrap_or(""));
        let bytes = sse::event_with_id(&id, line);
        if log.events.len() >= max {
            log.events.pop_front();
        }
        log.events.push_back((seq, bytes.clone()));
        let listener = log.listener.clone();
        Published { bytes, listener, log: self.entry(stream, seq) }
    }

    /// Detaches `listener` from `stream` if it is still the one attached (its client left).
    pub(crate) fn detach(&mut self, stream: u64, listener: &Listener) {
        if let Some(log) = self.log(stream)
            && log.listener.as_ref().is_some_and(|l| l.same_channel(listener))
        {
            log.listener = None;
        }
    }

    /// Ends the response body listening to `stream` (its events are still recorded,
    /// for the client to resume).
    pub(crate) fn end_live(&mut self, stream: u64) {
        if let Some(log) = self.log(stream) {
            log.listener = None;
        }
    }

    /// Marks `stream` finished: its listener is dropped, which ends the response body.
    /// Returns where its end is logged, for a copy of a shared session.
    pub(crate) fn finish(&mut self, stream: u64) -> Option<LogEntry> {
        let log = self.log(stream)?;
        log.finished = true;
        log.listener = None;
        let end = log.next_seq;
        self.entry(stream, end)
    }

    /// Replays the events of the stream `last_event_id` belongs to that came after it;
    /// a stream still running sends the rest to `listener`.
    pub(crate) fn resume(&mut self, last_event_id: &str, listener: Listener) -> Result<Resumed, ResumeError> {
        if self.resumability == Resumability::None {
            return Err(ResumeError::Unknown);
        }
        let own = match &self.origin {
            Some(origin) => {
                match last_event_id.trim().strip_prefix(origin.as_str()).and_then(|r| r.strip_prefix('.')) {
                    Some(rest) => rest,
                    // Three parts: another copy's (this replica's earlier one, or another's).
                    None => return foreign(last_event_id).map(Resumed::Logged).ok_or(ResumeError::Unknown),
                }
            }
            None => last_event_id,
        };
        let (stream, seq) = parse_id(own).ok_or(ResumeError::Unknown)?;
        if stream == STANDALONE && self.log(STANDALONE).is_none() {
            self.create(STANDALONE, None);
        }
        let log = self.log(stream).ok_or(ResumeError::Unknown)?;
        if seq >= log.next_seq {
            return Err(ResumeError::Unknown);
        }
        let oldest = log.events.front().map_or(log.next_seq, |(s, _)| *s);
        if seq + 1 < oldest {
            return Err(ResumeError::Evicted);
        }
        let replay = log.events.iter().filter(|(s, _)| *s > seq).map(|(_, b)| b.clone()).collect();
        if !log.finished && stream != STANDALONE {
            log.listener = Some(listener);
        }
        Ok(Resumed::Here { stream, replay })
    }
}

/// The stream another copy served that `id` (`<replica>-<copy>.<stream>.<seq>`) names.
fn foreign(id: &str) -> Option<Foreign> {
    let (copy, rest) = id.trim().split_once('.')?;
    let (replica, n) = copy.split_once('-')?;
    let (stream, seq) = parse_id(rest)?;
    let named = |s: &str, hex: bool| {
        !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&b)))
    };
    (named(replica, true) && named(n, false)).then(|| Foreign {
        log: format!("{copy}.{stream}"),
        replica: replica.to_owned(),
        standalone: stream == STANDALONE,
        seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: &Bytes) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[tokio::test]
    async fn a_shared_copys_ids_name_it_and_its_events_are_logged() {
        let mut streams = Streams::new(8, 4);
        streams.set_resumability(Resumability::Polling);
        streams.set_origin("c0ffee01c0ff-1".into());
        assert!(streams.ends_early(), "another replica follows it through the store");
        let (tx, _rx) = mpsc::channel(8);
        let (stream, priming) = streams.open(tx);
        assert_eq!(priming, format!("c0ffee01c0ff-1.{stream}.0"));
        let event = streams.publish(stream, b"{}");
        assert!(text(&event.bytes).starts_with(&format!("id: c0ffee01c0ff-1.{stream}.1\n")), "{}", text(&event.bytes));
        let logged = LogEntry { log: format!("c0ffee01c0ff-1.{stream}"), seq: 1 };
        assert_eq!(event.log, Some(logged), "a shared copy's events are logged");
        let (tx, _rx) = mpsc::channel(8);
        assert!(matches!(streams.resume(&priming, tx), Ok(Resumed::Here { replay, .. }) if replay.len() == 1));
        let (tx, _rx) = mpsc::channel(8);
        let Ok(Resumed::Logged(elsewhere)) = streams.resume(&format!("deadbeefdead-2.{stream}.4"), tx) else {
            panic!("another copy's id names its log")
        };
        let expected = Foreign {
            log: format!("deadbeefdead-2.{stream}"),
            replica: "deadbeefdead".into(),
            standalone: false,
            seq: 4,
        };
        assert_eq!(elsewhere, expected);
        for bad in [format!("{stream}.0"), format!("deadbeef.{stream}.0"), "XY-1.1.1".into(), "ab-x.1.1".into()] {
            let (tx, _rx) = mpsc::channel(8);
            assert_eq!(streams.resume(&bad, tx).err(), Some(ResumeError::Unknown), "{bad}");
        }
        let (tx, _rx) = mpsc::channel(8);
        let Ok(Resumed::Logged(standalone)) = streams.resume(&format!("deadbeefdead-2.{STANDALONE}.7"), tx) else {
            panic!("another copy's standalone stream is logged too")
        };
        assert!(standalone.standalone && standalone.seq == 7);
        assert_eq!(streams.finish(stream), Some(LogEntry { log: format!("c0ffee01c0ff-1.{stream}"), seq: 2 }));
    }

    #[tokio::test]
    async fn events_after_the_last_id_are_replayed_then_live_ones_follow() {
        let mut streams = Streams::new(8, 4);
        streams.set_resumability(Resumability::Ids);
        let (tx, _rx) = mpsc::channel(8);
        let (stream, priming) = streams.open(tx);
        assert_eq!(priming, format!("{stream}.0"));
        let first = streams.publish(stream, b"{\"n\":1}\n");
        assert!(text(&first.bytes).starts_with(&format!("id: {stream}.1\n")));
        assert!(first.listener.is_some());
        assert!(first.log.is_none(), "a session of one replica logs nothing in a store");
        streams.publish(stream, b"{\"n\":2}\n");

        let (tx2, _rx2) = mpsc::channel(8);
        let Ok(Resumed::Here { replay, .. }) = streams.resume(&format!("{stream}.1"), tx2.clone()) else { panic!() };
        assert_eq!(replay.len(), 1);
        assert!(text(&replay[0]).contains("\"n\":2"));
        let now = streams.publish(stream, b"{}").listener;
        assert!(now.unwrap().same_channel(&tx2), "the reconnected client gets what follows");

        assert_eq!(streams.finish(stream), None);
        let (tx3, _rx3) = mpsc::channel(8);
        let Ok(Resumed::Here { replay, .. }) = streams.resume(&format!("{stream}.0"), tx3) else { panic!() };
        assert_eq!(replay.len(), 3);
    }

    #[tokio::test]
    async fn foreign_future_and_evicted_ids_are_refused() {
        let mut streams = Streams::new(2, 4);
        streams.set_resumability(Resumability::Ids);
        let (tx, _rx) = mpsc::channel(8);
        let (stream, _) = streams.open(tx.clone());
        for _ in 0..5 {
            streams.publish(stream, b"{}");
        }
        assert_eq!(streams.cursor(stream), format!("{stream}.5"));
        let standalone = streams.cursor(STANDALONE);
        assert!(
            matches!(streams.resume(&standalone, tx.clone()), Ok(Resumed::Here { replay, .. }) if replay.is_empty())
        );
        assert_eq!(streams.resume("99.1", tx.clone()).err(), Some(ResumeError::Unknown));
        assert_eq!(streams.resume("garbage", tx.clone()).err(), Some(ResumeError::Unknown));
        assert_eq!(streams.resume(&format!("{stream}.9"), tx.clone()).err(), Some(ResumeError::Unknown));
        assert_eq!(streams.resume(&format!("{stream}.1"), tx.clone()).err(), Some(ResumeError::Evicted));
        assert!(streams.resume(&format!("{stream}.3"), tx).is_ok());
    }

    #[test]
    fn each_version_gets_only_the_resumability_it_defines() {
        let of = |v: &str| Resumability::of(ProtocolVersion::parse(v).unwrap());
        assert_eq!(of("2024-11-05"), Resumability::None);
        assert_eq!(of("2025-03-26"), Resumability::Ids);
        assert_eq!(of("2025-06-18"), Resumability::Ids);
        assert_eq!(of("2025-11-25"), Resumability::Polling);
        assert_eq!(of("2026-07-28"), Resumability::None, "the stateless era has no resumability");
        assert!(of("2025-11-25").polls() && !of("2025-06-18").polls());
    }

    #[tokio::test]
    async fn without_resumability_events_carry_no_id_and_cannot_be_resumed() {
        let mut streams = Streams::new(8, 4);
        let (tx, _rx) = mpsc::channel(8);
        let (stream, _) = streams.open(tx);
        let event = streams.publish(stream, b"{}\n");
        assert_eq!(text(&event.bytes), "data: {}\n\n");
        assert!(event.listener.is_some(), "the live client still gets it");
        let (tx2, _rx2) = mpsc::channel(8);
        assert_eq!(streams.resume(&format!("{stream}.0"), tx2).err(), Some(ResumeError::Unknown));
    }

    #[tokio::test]
    async fn only_a_few_finished_streams_are_kept() {
        let mut streams = Streams::new(2, 2);
        streams.set_resumability(Resumability::Ids);
        let (tx, _rx) = mpsc::channel(8);
        let ids: Vec<u64> = (0..4)
            .map(|_| {
                let (s, _) = streams.open(tx.clone());
                streams.publish(s, b"{}");
                streams.finish(s);
                s
            })
            .collect();
        assert_eq!(streams.resume(&format!("{}.0", ids[0]), tx.clone()).err(), Some(ResumeError::Unknown));
        assert!(streams.resume(&format!("{}.0", ids[3]), tx).is_ok());
    }
}
