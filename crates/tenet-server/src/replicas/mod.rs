//! What a server shares with the other replicas of it, through the store they share:
//! its tasks (of the tasks extension), and its announcements — list changes, resource
//! updates and task changes made on one replica reach the clients every replica holds
//! (legacy sessions' streams, 2026-07-28 listen streams, WebSocket connections).

pub(crate) mod link;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::server::{Server, WeakServer};
use crate::store::{Announcement, Heard, SessionStore};

pub(crate) use link::Replicas;

/// How many announcements may wait for the store.
const QUEUED: usize = 1024;
/// How often the listener checks that its server is still there while nothing is heard.
const CHECK_EVERY: Duration = Duration::from_secs(5);

impl Server {
    /// Shares this server with its other replicas through `store`, where this replica
    /// is named `replica` (the name its inbox is read under, so that its lease tells
    /// whether it lives). Tasks of the tasks extension made from now on are shared: any
    /// replica answers `tasks/get` for them, and hands `tasks/update` and `tasks/cancel`
    /// to the one running them, whose letters reach [`Server::task_letter`]. What this
    /// server announces (list changes, resource updates, task changes) is announced on
    /// every replica, and what they announce here. Once; later calls change nothing.
    /// Call it inside a tokio runtime: it starts the tasks that announce and listen,
    /// which end with the server or once `shutdown` fires.
    pub fn share(&self, store: Arc<dyn SessionStore>, replica: Arc<str>, shutdown: CancellationToken) {
        let (outgoing, queued) = mpsc::channel(QUEUED);
        let replicas = Arc::new(Replicas { outgoing, recent: Mutex::new(VecDeque::new()) });
        if self.shared.replicas.set(replicas.clone()).is_err() {
            return;
        }
        self.shared.task_board.share(store.clone(), replica.clone());
        let heard = store.announcements();
        tokio::spawn(announce(store, replica.clone(), queued, shutdown.clone()));
        tokio::spawn(listen(self.downgrade(), replicas, replica, heard, shutdown));
    }
}

/// Makes the announcements queued, in order, until the server is gone or shuts down.
async fn announce(
    store: Arc<dyn SessionStore>,
    me: Arc<str>,
    mut queued: mpsc::Receiver<Announcement>,
    shutdown: CancellationToken,
) {
    loop {
        let announcement = tokio::select! {
            () = shutdown.cancelled() => return,
            announcement = queued.recv() => match announcement {
                Some(announcement) => announcement,
                None => return,
            },
        };
        if let Err(e) = store.announce(&me, &announcement).await {
            tracing::warn!("other replicas did not hear of {announcement:?}: {e}");
        }
    }
}

/// Takes what other replicas announce, until the server is gone or shuts down: their events are
/// announced here too (once, however many replicas announce the same), their tasks'
/// changes reach the listen streams watching them.
async fn listen(
    server: WeakServer,
    replicas: Arc<Replicas>,
    me: Arc<str>,
    mut heard: BoxStream<'static, Heard>,
    shutdown: CancellationToken,
) {
    let mut check = tokio::time::interval(CHECK_EVERY);
    loop {
        let heard = tokio::select! {
            () = shutdown.cancelled() => return,
            heard = heard.next() => match heard {
                Some(heard) => heard,
                None => return,
            },
            _ = check.tick() => if server.upgrade().is_none() { return } else { continue },
        };
        let Some(server) = server.upgrade() else { return };
        match heard.announcement {
            // This replica's own too: one it ended for a replica that died.
            Announcement::Task { record } => server.shared.task_board.heard(*record),
            announcement if heard.from != *me => {
                if let Some(event) = announcement.event()
                    && !replicas.repeats(&event)
                {
                    server.emit_here(event);
                }
            }
            // Announced here already.
            _ => {}
        }
    }
}
