//! The subscriptions the gateway holds at an upstream for its own clients, and the
//! stream a 2026-07-28 upstream tells of its changes on: `subscriptions/listen` kept
//! open (and replaced make-before-break when the subscriptions change), or, at a legacy
//! upstream, `resources/subscribe` and `resources/unsubscribe` as they change.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tenet_client::ClientError;
use tenet_server::MAX_SUBSCRIPTIONS;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::upstream::{Upstream, sleep_or_cancel};

/// What a connection's subscription task works with: the upstream, and when to stop
/// (the supervisor's watch of this connection ended).
pub(crate) struct Listening {
    pub(crate) upstream: Arc<Upstream>,
    pub(crate) stop: CancellationToken,
}

/// Keeps a `subscriptions/listen` stream open to a 2026 upstream, so that its list
/// changes and the updates of the resources `wanted` (`None`: it takes no subscriptions)
/// reach the supervisor and the gateway's clients through the client's handler, as on
/// a legacy session. When the wanted URIs change, a stream with the new filter opens
/// before the old one ends: the old one ends once the new one is acknowledged (or ends
/// itself), so that an update to a resource held all along is never missed (while both
/// are open it may be told twice). An old stream that breaks before that counts as a
/// gap ([`Upstream::lost_updates`]). After a stream ends or breaks it is opened again
/// `retry` later, until the watch stops or the server cannot listen at all. A server
/// that refuses the subscriptions asked for is asked again when they change. After a
/// broken stream, what it held again is announced to its subscribers as possibly
/// changed.
pub(crate) async fn listen(
    client: tenet_client::Client,
    listening: Listening,
    mut wanted: Option<watch::Receiver<BTreeSet<String>>>,
    retry: Duration,
) {
    let Listening { upstream, stop } = listening;
    let mut acknowledged = upstream.acknowledged.subscribe();
    // The last stream acknowledged, while the one replacing it opens: it ends when its
    // guard is dropped (taken, replaced, or the task ends).
    let mut outgoing: Option<tokio_util::sync::DropGuard> = None;
    // A stream being replaced that ends by itself (broken, or ended by the server)
    // before it is let go: what it held may have changed unseen.
    let watch_replaced = |stream: tokio::task::JoinHandle<tenet_client::Result<serde_json::Value>>| {
        let upstream = Arc::clone(&upstream);
        tokio::spawn(async move {
            if !matches!(stream.await, Ok(Err(ClientError::Cancelled))) {
                upstream.lost_updates();
            }
        });
    };
    while !stop.is_cancelled() {
        let subscriptions = wanted.as_mut().map(|w| {
            let wanted = w.borrow_and_update();
            if wanted.len() > MAX_SUBSCRIPTIONS {
                tracing::warn!(
                    upstream = %upstream.label(),
                    wanted = wanted.len(),
                    "more subscriptions than one listen stream may hold; the first {MAX_SUBSCRIPTIONS} are held"
                );
            }
            wanted.iter().take(MAX_SUBSCRIPTIONS).cloned().collect::<Vec<_>>()
        });
        let subscriptions = subscriptions.filter(|s| !s.is_empty());
        let subscribing = subscriptions.is_some();
        let filter = tenet_protocol::SubscriptionFilter {
            tools_list_changed: Some(true),
            prompts_list_changed: Some(true),
            resources_list_changed: Some(true),
            resource_subscriptions: subscriptions,
            ..tenet_protocol::SubscriptionFilter::default()
        };
        let stream = stop.child_token();
        // Acknowledgements from before this stream opened are not its own.
        acknowledged.mark_unchanged();
        // Its own task: a stream being replaced stays open after this iteration.
        let mut opened = {
            let (client, options) =
                (client.clone(), tenet_client::RequestOptions::default().with_cancel(stream.clone()));
            tokio::spawn(async move { client.listen(filter, &options).await })
        };
        // The stream ends when this guard is dropped, unless it is kept as `outgoing`.
        let stream = stream.drop_guard();
        let changed = async {
            match wanted.as_mut() {
                Some(w) => w.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::pin!(changed);
        let mut held = false;
        let ended = loop {
            tokio::select! {
                ended = &mut opened => {
                    break Some(ended.unwrap_or_else(|e| Err(ClientError::Closed(format!("the listen task failed: {e}")))));
                }
                _ = acknowledged.changed(), if !held => {
                    // This stream is open at the upstream: the one it replaces may go.
                    // (Which stream an acknowledgement is for is not told apart: one
                    // from a stream cancelled before it was acknowledged, arriving
                    // after the next one opened, lets the old one go a moment early.)
                    held = true;
                    outgoing.take();
                }
                open = &mut changed => {
                    if !open {
                        return;
                    }
                    // The subscriptions changed: a stream opens with them. Until it is
                    // acknowledged, the last acknowledged stream stays open.
                    if held {
                        outgoing.replace(stream);
                    }
                    break None;
                }
            }
        };
        let Some(ended) = ended else {
            if held {
                watch_replaced(opened);
            }
            continue;
        };
        // A refused stream leaves the one it was to replace open (it still holds what it
        // held); anything else ends it too.
        let refused = matches!(ended, Err(ClientError::Server(_))) && subscribing;
        if !refused {
            outgoing.take();
        }
        match ended {
            Ok(_) => {
                upstream.lost_updates();
                upstream.check_now();
            }
            Err(ClientError::Cancelled) => return,
            Err(ClientError::Unsupported(e)) => {
                tracing::debug!(error = %e, "no notifications from this upstream");
                return;
            }
            Err(ClientError::Server(e)) if subscribing => {
                // Perhaps one of the subscriptions: asked again when they change.
                // Meanwhile only what the stream it was to replace holds (if any) is held.
                tracing::warn!(error = %e.message, "the upstream refused a listen stream with subscriptions");
                upstream.lost_updates();
                tokio::select! {
                    () = stop.cancelled() => return,
                    open = &mut changed => if !open { return },
                }
                continue;
            }
            Err(ClientError::Server(e)) => {
                tracing::debug!(error = %e.message, "the upstream refused a listen stream");
                return;
            }
            // Broken (a proxy's idle timeout, an upstream restarted behind a load
            // balancer): opened again while the connection is watched.
            // The supervisor checks the upstream at once: a stream that broke is often
            // the first sign of an upstream that went away.
            Err(e) => {
                tracing::debug!(error = %e, "the listen stream ended");
                upstream.lost_updates();
                upstream.check_now();
            }
        }
        if !sleep_or_cancel(retry, &stop).await {
            return;
        }
    }
}

/// Holds at a legacy upstream the subscriptions `wanted` (`resources/subscribe` and
/// `resources/unsubscribe` as they change), until the watch stops. What failed is
/// tried again `retry` later, and everything is subscribed again when the upstream
/// forgot the session (it is renewed with nothing held); what is held again after
/// that, or after a reconnection, is announced to its subscribers as possibly
/// changed. Its `resources/updated` reach the gateway's clients through the client's
/// handler.
pub(crate) async fn keep_subscribed(
    client: tenet_client::Client,
    listening: Listening,
    mut wanted: watch::Receiver<BTreeSet<String>>,
    retry: Duration,
) {
    let Listening { upstream, stop } = listening;
    let mut held = BTreeSet::new();
    let mut session = client.session_renewals();
    loop {
        if client.session_renewals() != session {
            session = client.session_renewals();
            held.clear();
            upstream.lost_updates();
        }
        let now = wanted.borrow_and_update().clone();
        let (mut refused, mut first) = (0, None);
        for uri in now.difference(&held).cloned().collect::<Vec<_>>() {
            match client.subscribe(&uri).await {
                // Held on a connection the supervisor has let go of: the next one tells.
                Ok(()) if stop.is_cancelled() => return,
                Ok(()) => {
                    upstream.held_again(&uri);
                    held.insert(uri);
                }
                Err(e) => {
                    refused += 1;
                    first.get_or_insert_with(|| format!("{uri} ({e})"));
                }
            }
        }
        if let Some(first) = first {
            tracing::warn!(upstream = %upstream.label(), refused, first, "the upstream did not take subscriptions");
        }
        for uri in held.difference(&now).cloned().collect::<Vec<_>>() {
            held.remove(&uri);
            if let Err(e) = client.unsubscribe(&uri).await {
                tracing::debug!(%uri, error = %e, "unsubscribing failed");
            }
        }
        // Checked again at every `retry`: for what failed, and for a renewed session.
        tokio::select! {
            () = stop.cancelled() => return,
            changed = wanted.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(retry) => {}
        }
    }
}
