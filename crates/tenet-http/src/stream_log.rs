//! SSE streams of sessions replicas share, logged in the shared store. A copy writes
//! each event of its streams to the stream's log before sending it (the log keeps the
//! last `replay_events` and lives as long as an idle session), and logs a stream's end
//! too. A client whose stream broke resumes with `Last-Event-ID` on any replica: the
//! events after it are read from the log, once and in order, and a stream still running
//! on the replica that served it is followed there until it ends or that replica dies.
//! Redis trims a log near its bound (`MAXLEN ~`): it keeps at least `replay_events`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use tenet_server::store::{LoggedAfter, LoggedEvent, SessionStore};

use crate::replay::{Foreign, Listener, LogEntry, ResumeError};
use crate::response;
use crate::session::HttpSession;
use crate::shared::Shared;

/// How long one read of a followed stream waits for its next event.
const FOLLOW_WAIT: Duration = Duration::from_secs(2);
/// How long a follower of a stream that logged nothing yet waits before reading again.
const FIRST_WAIT: Duration = Duration::from_millis(250);
/// How long a follower waits for a stream that logged nothing after its priming event.
const NOTHING_LOGGED_FOR: Duration = Duration::from_secs(10);
/// How long a follower waits before reading again after the store failed.
const RETRY: Duration = Duration::from_secs(1);

/// The name of a log in the store: the session, then the copy's stream.
fn name(session: &HttpSession, log: &str) -> String {
    format!("{}:{log}", session.id)
}

fn store(shared: &Shared) -> Option<&Arc<dyn SessionStore>> {
    shared.sessions.shared.as_ref().map(|s| &s.store)
}

/// Logs `event` (framed) where `entry` says, before it is sent; an empty event logs the
/// stream's end. Whether it was logged: a failed write is reported, the event still goes
/// to the client here, and a resumption elsewhere finds the gap and refuses instead of
/// skipping it (so a stream with a gap is not ended early for polling).
pub(crate) async fn record(shared: &Shared, session: &HttpSession, entry: &LogEntry, event: &[u8]) -> bool {
    let Some(store) = store(shared) else { return true };
    let logged = LoggedEvent { seq: entry.seq, event: event.to_vec() };
    let (keep, ttl) = (shared.config.replay_events, shared.config.session_idle_timeout);
    match store.log_event(&name(session, &entry.log), &logged, keep, ttl).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("event {} of stream {} of session {} was not logged: {e}", entry.seq, entry.log, session.id);
            false
        }
    }
}

/// What a resumption of another copy's stream starts with.
pub(crate) struct Start {
    /// The events after the client's last one, framed.
    pub replay: Vec<Bytes>,
    /// The number of the last of them (the client's, when there are none).
    pub last: u64,
    /// Whether the stream ended with them.
    pub ended: bool,
}

/// Takes `events` after `last` into `replay`, in order, up to the stream's end or the
/// first one missing (a write that failed); whether the stream ended, or `None` at a gap.
fn take(events: Vec<LoggedEvent>, last: &mut u64, replay: &mut Vec<Bytes>) -> Option<bool> {
    for event in events {
        if event.seq != *last + 1 {
            return None;
        }
        *last = event.seq;
        if event.is_end() {
            return Some(true);
        }
        replay.push(Bytes::from(event.event));
    }
    Some(false)
}

/// The start of a resumption of `foreign`, another copy's stream, from the store's log;
/// the response refusing it (400, or 503 while the store does not answer) otherwise.
pub(crate) async fn start(shared: &Shared, session: &HttpSession, foreign: &Foreign) -> Result<Start, Response> {
    let Some(store) = store(shared) else {
        return Err(response::transport(StatusCode::BAD_REQUEST, ResumeError::Unknown.to_string()));
    };
    let refuse = |e: ResumeError| response::transport(StatusCode::BAD_REQUEST, e.to_string());
    let found = store
        .events_after(&name(session, &foreign.log), foreign.seq, Duration::ZERO)
        .await
        .map_err(|e| response::busy(&e.to_string()))?;
    let mut start = Start { replay: Vec::new(), last: foreign.seq, ended: false };
    match found {
        LoggedAfter::Events(events) => {
            start.ended =
                take(events, &mut start.last, &mut start.replay).ok_or_else(|| refuse(ResumeError::Evicted))?;
            Ok(start)
        }
        // Nothing logged yet after its priming event; or a standalone stream whose
        // events are gone: the client listens here from now on.
        LoggedAfter::Unknown if foreign.seq == 0 || foreign.standalone => Ok(start),
        LoggedAfter::Unknown => Err(refuse(ResumeError::Unknown)),
        LoggedAfter::Evicted => Err(refuse(ResumeError::Evicted)),
    }
}

/// What a follower does after a read.
enum Next {
    /// Reads again.
    More,
    /// Stops: the stream ended, fell behind its log, or a gap showed.
    Stop,
    /// Stops once what is logged is sent: the replica serving the stream is gone.
    Gone,
}

/// Follows `foreign`, another copy's stream, after event `last` into `listener`, until
/// the stream ends, the replica serving it dies, a gap shows, or the client, the session
/// or the server goes. A stream that logged nothing for [`NOTHING_LOGGED_FOR`] after
/// its priming event (or an id naming no stream) is ended too: the client resumes again.
pub(crate) async fn follow(
    shared: Arc<Shared>,
    session: Arc<HttpSession>,
    foreign: Foreign,
    mut last: u64,
    listener: Listener,
) {
    let Some(store) = store(&shared).cloned() else { return };
    let log = name(&session, &foreign.log);
    let started = tokio::time::Instant::now();
    loop {
        let found = tokio::select! {
            () = listener.closed() => return,
            () = session.driver.closed() => return,
            () = shared.shutdown.cancelled() => return,
            found = store.events_after(&log, last, FOLLOW_WAIT) => found,
        };
        let mut events = Vec::new();
        let next = match found {
            Ok(LoggedAfter::Events(found)) if !found.is_empty() => match take(found, &mut last, &mut events) {
                Some(false) => Next::More,
                Some(true) | None => Next::Stop,
            },
            // Nothing new: go on while its replica lives.
            Ok(LoggedAfter::Events(_)) => lives(&*store, &session, &foreign).await,
            // Nothing logged yet (the store answers that at once): look again shortly.
            Ok(LoggedAfter::Unknown) if last == 0 && started.elapsed() < NOTHING_LOGGED_FOR => {
                tokio::time::sleep(FIRST_WAIT).await;
                lives(&*store, &session, &foreign).await
            }
            // Expired, fell behind the log, or nothing logged for long.
            Ok(_) => Next::Stop,
            Err(e) => {
                tracing::debug!("following stream {} of session {}: {e}", foreign.log, session.id);
                tokio::time::sleep(RETRY).await;
                Next::More
            }
        };
        if let Next::Gone = next {
            // What it logged before it died, since the last read.
            if let Ok(LoggedAfter::Events(found)) = store.events_after(&log, last, Duration::ZERO).await {
                take(found, &mut last, &mut events);
            }
        }
        for event in events {
            if listener.send(event).await.is_err() {
                return;
            }
        }
        if !matches!(next, Next::More) {
            return;
        }
    }
}

/// [`Next::More`] while the replica serving `foreign` lives, or the store cannot tell;
/// [`Next::Gone`] once it is gone.
async fn lives(store: &dyn SessionStore, session: &HttpSession, foreign: &Foreign) -> Next {
    match store.lives(&foreign.replica).await {
        Ok(false) => {
            tracing::info!(
                "stream {} of session {} ends: replica {} is gone",
                foreign.log,
                session.id,
                foreign.replica
            );
            Next::Gone
        }
        Ok(true) => Next::More,
        Err(_) => {
            tokio::time::sleep(RETRY).await;
            Next::More
        }
    }
}
