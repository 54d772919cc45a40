//! The connections open now, by client address. One address (an IPv6 client by its
//! /64, [`tenet_server::share_address`]) holds at most
//! [`crate::HttpConfig::max_connections_per_address`] of the
//! [`crate::HttpConfig::max_connections`] served at once, so that one client cannot take
//! every connection slot however many it opens (idle keep-alive connections, headers
//! sent a byte at a time until their timeout). A connection is counted when it is
//! accepted, before a request on it is read, so by its address alone: who the caller is
//! is not known yet. It gives its place back when it closes, or when it is upgraded to
//! a WebSocket (the socket then counts among its caller's streams).

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::caller::Shares;

/// How many connections each address holds, and the most it may.
pub(crate) struct Addresses {
    held: Mutex<Shares<IpAddr>>,
    share: usize,
}

/// One connection's place in its address's share, given back when dropped.
pub(crate) struct Seat {
    addresses: Arc<Addresses>,
    addr: IpAddr,
}

impl Addresses {
    /// No connection yet; each address may hold `share` (at least one).
    pub(crate) fn new(share: usize) -> Arc<Self> {
        Arc::new(Self { held: Mutex::default(), share: share.max(1) })
    }

    /// How many connections one address may hold.
    pub(crate) fn share(&self) -> usize {
        self.share
    }

    /// A place for a connection from `peer`, unless its address holds its share.
    pub(crate) fn seat(self: &Arc<Self>, peer: IpAddr) -> Option<Seat> {
        let addr = tenet_server::share_address(peer);
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.held(&addr) >= self.share {
            return None;
        }
        held.take(&addr);
        Some(Seat { addresses: self.clone(), addr })
    }

    /// How many connections `peer`'s address holds.
    #[cfg(test)]
    fn held(&self, peer: IpAddr) -> usize {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).held(&tenet_server::share_address(peer))
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.addresses.held.lock().unwrap_or_else(PoisonError::into_inner).give_back(&self.addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_holds_its_share_and_no_more_and_others_still_get_theirs() {
        let addresses = Addresses::new(2);
        let first = addresses.seat(addr("192.0.2.1")).expect("a first place");
        let _second = addresses.seat(addr("192.0.2.1")).expect("a second place");
        assert!(addresses.seat(addr("192.0.2.1")).is_none(), "a third is past the share");
        assert!(addresses.seat(addr("192.0.2.2")).is_some(), "another address has its own share");
        drop(first);
        assert_eq!(addresses.held(addr("192.0.2.1")), 1, "a closed connection gives its place back");
        assert!(addresses.seat(addr("192.0.2.1")).is_some());
    }

    #[test]
    fn the_addresses_of_one_ipv6_64_and_an_ipv4_mapped_address_share_as_one() {
        let addresses = Addresses::new(2);
        let _a = addresses.seat(addr("2001:db8:1:2::1")).unwrap();
        let _b = addresses.seat(addr("2001:db8:1:2:ffff::9")).unwrap();
        assert!(addresses.seat(addr("2001:db8:1:2::7")).is_none(), "one /64 is one client");
        assert!(addresses.seat(addr("2001:db8:1:3::1")).is_some(), "another /64 is another");
        let _c = addresses.seat(addr("192.0.2.9")).unwrap();
        let _d = addresses.seat(addr("::ffff:192.0.2.9")).unwrap();
        assert!(addresses.seat(addr("192.0.2.9")).is_none(), "mapped or not, one address");
    }

    #[test]
    fn an_address_that_holds_nothing_is_forgotten_and_a_share_of_zero_is_one() {
        let addresses = Addresses::new(0);
        let seat = addresses.seat(addr("192.0.2.1")).expect("a share of at least one");
        assert!(addresses.seat(addr("192.0.2.1")).is_none());
        drop(seat);
        assert!(addresses.held.lock().unwrap().is_empty());
    }
}
