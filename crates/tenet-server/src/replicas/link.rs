//! A server's link to its other replicas: the announcements it queues for them, and
//! what it announced lately, so that a change every replica announces is heard once.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::event::ServerEvent;
use crate::store::Announcement;

/// How long a list change announced (here, or relayed from another replica) makes the
/// same one from another replica a repeat: replicas reloading the same files each
/// announce the same change, which clients should hear once.
const REPEAT_WITHIN: Duration = Duration::from_millis(500);

/// A server's link to its other replicas.
pub(crate) struct Replicas {
    /// Announcements to make, in order.
    pub(super) outgoing: mpsc::Sender<Announcement>,
    /// Events announced lately, here or relayed, with when.
    pub(super) recent: Mutex<VecDeque<(ServerEvent, Instant)>>,
}

impl Replicas {
    /// Announces `event`, just made here, to the other replicas.
    pub(crate) fn tell(&self, event: &ServerEvent) {
        let Some(announcement) = Announcement::of(event) else { return };
        self.remember(event.clone());
        if let Err(mpsc::error::TrySendError::Full(_)) = self.outgoing.try_send(announcement) {
            // The store is slow or down: what others hear of is bounded.
            tracing::warn!("too many announcements wait for the store: {event:?} is not announced to other replicas");
        }
    }

    fn remember(&self, event: ServerEvent) {
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        while recent.front().is_some_and(|(_, at)| now.duration_since(*at) > REPEAT_WITHIN) {
            recent.pop_front();
        }
        recent.push_back((event, now));
    }

    /// Whether `event`, heard from another replica, repeats one announced lately; if
    /// not, it is remembered as announced now. A resource's update is never a repeat:
    /// two may come from two writers.
    pub(super) fn repeats(&self, event: &ServerEvent) -> bool {
        if matches!(event, ServerEvent::ResourceUpdated(_)) {
            return false;
        }
        let now = Instant::now();
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        let repeat = recent.iter().any(|(seen, at)| seen == event && now.duration_since(*at) <= REPEAT_WITHIN);
        drop(recent);
        if !repeat {
            self.remember(event.clone());
        }
        repeat
    }
}
