//! Which resource URIs some client is subscribed to, counted across legacy sessions
//! (`resources/subscribe`) and 2026-07-28 listen streams (`resourceSubscriptions`),
//! for a server that must pass subscriptions on: a gateway subscribes at its upstream
//! while anyone downstream is subscribed, and stops when the last one leaves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// How many resource URIs one legacy session, or one 2026-07-28 listen stream, may be
/// subscribed to at once: past this a client is refused rather than growing the
/// server's (and a gateway's upstreams') subscriptions without bound.
pub const MAX_SUBSCRIPTIONS: usize = 1000;

/// Told `(uri, true)` when the first subscriber of `uri` arrives and `(uri, false)`
/// when the last one leaves.
type Watcher = Box<dyn Fn(&str, bool) + Send + Sync>;

/// Subscribers by URI, and who is told when a URI gains its first or loses its last.
#[derive(Default)]
pub(crate) struct Subscriptions {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    counts: HashMap<String, usize>,
    watchers: Vec<Watcher>,
}

impl std::fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriptions").field("uris", &self.lock().counts.len()).finish_non_exhaustive()
    }
}

impl Subscriptions {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One more subscriber of `uri`, until the returned [`Subscription`] is dropped.
    pub(crate) fn hold(self: &Arc<Self>, uri: String) -> Subscription {
        let mut inner = self.lock();
        let count = inner.counts.entry(uri.clone()).or_insert(0);
        *count += 1;
        if *count == 1 {
            for watcher in &inner.watchers {
                watcher(&uri, true);
            }
        }
        drop(inner);
        Subscription { uri, registry: self.clone() }
    }

    fn release(&self, uri: &str) {
        let mut inner = self.lock();
        let Some(count) = inner.counts.get_mut(uri) else { return };
        *count -= 1;
        if *count == 0 {
            inner.counts.remove(uri);
            for watcher in &inner.watchers {
                watcher(uri, false);
            }
        }
    }

    /// Adds a watcher, told at once of every URI subscribed now. Watchers are called
    /// in order of the changes, with the registry locked: they must be quick and must
    /// not subscribe or unsubscribe themselves.
    pub(crate) fn watch(&self, watcher: Watcher) {
        let mut inner = self.lock();
        for uri in inner.counts.keys() {
            watcher(uri, true);
        }
        inner.watchers.push(watcher);
    }
}

/// One subscriber's hold on a URI; dropping it unsubscribes.
pub(crate) struct Subscription {
    uri: String,
    registry: Arc<Subscriptions>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Subscription").field(&self.uri).finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry.release(&self.uri);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchers_hear_the_first_subscriber_and_the_last_leaving_once_each() {
        let registry = Arc::new(Subscriptions::default());
        let early = registry.hold("file:///a".into());
        let heard = Arc::new(Mutex::new(Vec::new()));
        let log = heard.clone();
        registry.watch(Box::new(move |uri, on| log.lock().unwrap().push((uri.to_owned(), on))));
        let second = registry.hold("file:///a".into());
        let other = registry.hold("file:///b".into());
        drop(early);
        drop(second);
        drop(other);
        let expected = [("file:///a", true), ("file:///b", true), ("file:///a", false), ("file:///b", false)];
        let expected: Vec<(String, bool)> = expected.iter().map(|(u, on)| ((*u).to_owned(), *on)).collect();
        assert_eq!(*heard.lock().unwrap(), expected);
        assert!(registry.lock().counts.is_empty());
    }
}
