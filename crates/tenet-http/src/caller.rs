//! Who a request counts against for rate limits: the caller's principal (an API key,
//! a token's issuer and subject), else its address. The limits themselves are the
//! server's, applied at its one door ([`tenet_server::ServerConfig::rate_limit`]) with
//! the method and tool read from the JSON-RPC message; an HTTP answer of a rate-limited
//! request is a 429 with `Retry-After`.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::http::Extensions;
use tenet_server::{CancellationToken, DriverOptions, Grant, Link, Server};
use tokio::sync::mpsc;

/// The address of the peer a request came from. [`crate::serve_listener`] knows its
/// connections' peers without it; a program that serves the router on a listener of
/// its own may put one on each request (an extension), so that callers without
/// authorization are told apart by address for rate limits and fair shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

tokio::task_local! {
    /// The peer of the connection whose task this is: [`crate::serve_listener`] sets it
    /// around each connection it serves.
    pub(crate) static PEER: SocketAddr;
}

/// Who a request counts against.
pub(crate) fn key(extensions: &Extensions) -> String {
    named(extensions.get::<Arc<Grant>>().map(Arc::as_ref), address(extensions))
}

/// The address a request came from: a [`ClientAddr`] on it (a program serving the
/// router itself may set one), else the peer of the connection being served on this
/// task ([`PEER`]; a request's handler, before it hands work to other tasks).
fn address(extensions: &Extensions) -> Option<IpAddr> {
    peer(extensions).map(|a| a.ip())
}

/// The peer a request came from: a [`ClientAddr`] on it, else the peer of the
/// connection being served on this task ([`PEER`]).
pub(crate) fn peer(extensions: &Extensions) -> Option<SocketAddr> {
    extensions.get::<ClientAddr>().map(|a| a.0).or_else(|| PEER.try_with(|peer| *peer).ok())
}

/// The principal `grant` names, else `ip:<address>`, else `anonymous`. Principal ids
/// never begin with `ip:` ([`tenet_server::Principal::id`]), so the two never meet.
fn named(grant: Option<&Grant>, addr: Option<IpAddr>) -> String {
    tenet_server::share_key(grant, addr).unwrap_or_else(|| UNNAMED.to_owned())
}

/// The name of a caller with neither a principal nor a known address (a program that
/// mounts the router itself records no [`ClientAddr`]).
pub(crate) use tenet_server::UNNAMED;

/// How many of one kind of thing (legacy sessions, HTTP+SSE connections, streams) each
/// caller holds, by [`Caller::key`] (or each client address holds, by its address, for
/// connections): what per-caller bounds are checked against. Kept by its owner under the
/// same lock as the things themselves, so that a bound is checked and taken in one step.
#[derive(Debug)]
pub(crate) struct Shares<K = Arc<str>>(HashMap<K, usize>);

impl<K> Default for Shares<K> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl Shares {
    /// Whether `caller` holds `share` already (never a caller of no name, [`UNNAMED`]).
    pub(crate) fn holds(&self, caller: &str, share: usize) -> bool {
        caller != UNNAMED && self.held(caller) >= share
    }

    /// The key of `caller` as held here, so that one caller's things share one.
    pub(crate) fn interned(&self, caller: &Arc<str>) -> Arc<str> {
        self.0.get_key_value(caller).map_or_else(|| caller.clone(), |(key, _)| key.clone())
    }
}

impl<K: Hash + Eq> Shares<K> {
    /// How many `holder` holds.
    pub(crate) fn held<Q: Hash + Eq + ?Sized>(&self, holder: &Q) -> usize
    where
        K: Borrow<Q>,
    {
        self.0.get(holder).copied().unwrap_or(0)
    }

    /// One more for `holder`.
    pub(crate) fn take(&mut self, holder: &K)
    where
        K: Clone,
    {
        *self.0.entry(holder.clone()).or_insert(0) += 1;
    }

    /// One fewer for `holder`; a holder holding none is forgotten.
    pub(crate) fn give_back<Q: Hash + Eq + ?Sized>(&mut self, holder: &Q)
    where
        K: Borrow<Q>,
    {
        if let Some(held) = self.0.get_mut(holder) {
            *held -= 1;
            if *held == 0 {
                self.0.remove(holder);
            }
        }
    }

    /// Whether nobody holds anything.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

/// The caller of a request to `server`, named only when the server has rate limits
/// (nobody else asks).
pub(crate) fn of(server: &Server, extensions: &Extensions) -> Option<Arc<str>> {
    server.rate_limiter().map(|_| Arc::from(key(extensions)))
}

/// Who sent a request to the MCP endpoint, as the transports hand it on: the grant
/// (when authorization is on), the name its rate limits count under (when the server
/// has any), and its address, for the bounds one caller must not pass.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    /// What the caller may do; `None` without authorization.
    pub grant: Option<Arc<Grant>>,
    /// The name rate limits count it under, when there are rate limits.
    pub limited: Option<Arc<str>>,
    /// Its address, where known.
    pub addr: Option<IpAddr>,
}

impl Caller {
    /// The caller of a request to `server` with these `extensions`.
    pub(crate) fn of(server: &Server, extensions: &Extensions) -> Self {
        Self {
            grant: extensions.get::<Arc<Grant>>().cloned(),
            limited: of(server, extensions),
            addr: address(extensions),
        }
    }

    /// What per-caller bounds count it against: its principal, else its address (made
    /// only when asked, off the path of every request).
    pub(crate) fn key(&self) -> Arc<str> {
        match &self.limited {
            Some(key) => key.clone(),
            None => named(self.grant.as_deref(), self.addr).into(),
        }
    }

    /// The link of one request of this caller outside any session (a stateless POST, a
    /// REST call): where what it sends goes (`out`), what cancels it, and whom it counts
    /// against.
    pub(crate) fn link(
        self,
        out: mpsc::Sender<Vec<u8>>,
        cancel: CancellationToken,
        shutdown: CancellationToken,
    ) -> Link {
        Link { session: None, out, cancel, shutdown, grant: self.grant, caller: self.limited, addr: self.addr }
    }

    /// The options of a connection this caller opens (HTTP+SSE, WebSocket): every
    /// message on it counts against the caller under `key` (its [`Caller::key`], which
    /// the transport took already for the connection's seats), in the buckets and shares
    /// of its HTTP requests.
    pub(crate) fn connection(self, key: Arc<str>, shutdown: CancellationToken) -> DriverOptions {
        DriverOptions { shutdown, grant: self.grant, caller: Some(key), ..DriverOptions::default() }
    }
}
