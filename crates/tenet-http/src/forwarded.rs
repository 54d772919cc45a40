//! Clients behind a reverse proxy. Every connection a proxy makes comes from the
//! proxy's address, so without help every client without authorization would count
//! as one caller (one share of sessions, streams, tasks and rate limits). For a peer
//! the operator names as a trusted proxy ([`crate::HttpConfig::trusted_proxies`]), a
//! request's client is read from `X-Forwarded-For`, which proxies append the address
//! they were reached from to: the last address in it that is not itself a trusted
//! proxy. Anything before that address was written by the client, or by proxies
//! nobody vouches for, and is never believed. A request from any other peer is its
//! peer, whatever headers it sends.
//!
//! A trusted proxy holds as many connections as it needs (the per-address connection
//! share does not apply to it; the server's total does).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::caller::ClientAddr;

/// The header proxies name the client in.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// Hops read from the right of `X-Forwarded-For` at most: past them the request is
/// taken to come from the last hop read (a header is bounded anyway by the header
/// limits; this bounds the work on a long chain of trusted proxies).
const MAX_HOPS: usize = 32;

/// The networks whose peers are trusted proxies.
#[derive(Debug, Clone)]
pub(crate) struct Trusted(Arc<[IpNet]>);

impl Trusted {
    /// `None` when no proxy is trusted (nothing to do on any request).
    pub(crate) fn new(networks: &[IpNet]) -> Option<Self> {
        (!networks.is_empty()).then(|| Self(networks.into()))
    }

    /// Whether `ip` is a trusted proxy (an IPv4-mapped IPv6 address as its IPv4).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client a request from `peer` was made for: `peer` itself unless it is a
    /// trusted proxy; then the last `X-Forwarded-For` hop that is not one (or the
    /// earliest trusted hop, when every hop is trusted or the next one cannot be read).
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        // Several headers are one list, in order; the hops are read from the right, each
        // on its own (a proxy that appends to the client's header keeps what the client
        // wrote, which may be anything, in the value its own hop is in).
        let values = headers.get_all(FORWARDED_FOR).iter().rev();
        let hops = values.flat_map(|value| value.as_bytes().rsplit(|&b| b == b',')).take(MAX_HOPS);
        for hop in hops {
            let Some(ip) = std::str::from_utf8(hop).ok().and_then(|hop| hop_address(hop.trim())) else { break };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// The address of one `X-Forwarded-For` hop: an IP address, or one with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`), as some proxies write it.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let ip = hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|addr| addr.ip()))?;
    Some(ip.to_canonical())
}

/// Names the client of a request that came through a trusted proxy ([`ClientAddr`]),
/// so that everything that tells callers apart by address sees the client.
pub(crate) async fn layer(State(trusted): State<Trusted>, mut request: Request, next: Next) -> Response {
    if let Some(peer) = crate::caller::peer(request.extensions()).filter(|peer| trusted.contains(peer.ip())) {
        let client = trusted.client(peer.ip(), request.headers());
        request.extensions_mut().insert(ClientAddr(SocketAddr::new(client, 0)));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(nets: &[&str]) -> Trusted {
        let nets: Vec<IpNet> = nets.iter().map(|n| n.parse().unwrap()).collect();
        Trusted::new(&nets).unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_last_hop_a_trusted_proxy_did_not_write() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let via = ip("10.0.0.5");
        assert_eq!(proxies.client(via, &forwarded(&["203.0.113.7"])), ip("203.0.113.7"));
        // What the client wrote itself before the proxy appended its address is not believed.
        assert_eq!(proxies.client(via, &forwarded(&["198.51.100.1, 203.0.113.7"])), ip("203.0.113.7"));
        // A chain of trusted proxies is walked through; several headers are one list.
        assert_eq!(proxies.client(via, &forwarded(&["198.51.100.1, 203.0.113.7", "10.1.1.1"])), ip("203.0.113.7"));
        assert_eq!(proxies.client(via, &forwarded(&["203.0.113.7 , 10.2.2.2,10.1.1.1"])), ip("203.0.113.7"));
        // Ports and brackets as some proxies write them, and IPv6.
        assert_eq!(proxies.client(via, &forwarded(&["203.0.113.7:4711"])), ip("203.0.113.7"));
        // What the client wrote may be anything, even bytes that are not text: the hop the
        // proxy appended after it is still read.
        let mut junk = HeaderMap::new();
        junk.append(FORWARDED_FOR, axum::http::HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.7").unwrap());
        assert_eq!(proxies.client(via, &junk), ip("203.0.113.7"));
        assert_eq!(proxies.client(via, &forwarded(&["[2001:db8::1]:4711"])), ip("2001:db8::1"));
        assert_eq!(proxies.client(via, &forwarded(&["2001:db8::2"])), ip("2001:db8::2"));
    }

    #[test]
    fn an_untrusted_peer_is_itself_whatever_it_says() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let peer = ip("192.0.2.9");
        assert_eq!(proxies.client(peer, &forwarded(&["203.0.113.7"])), peer);
        assert_eq!(proxies.client(peer, &HeaderMap::new()), peer);
    }

    #[test]
    fn without_a_readable_hop_the_request_is_the_nearest_trusted_proxys() {
        let proxies = trusted(&["10.0.0.0/8", "127.0.0.1/32"]);
        let via = ip("127.0.0.1");
        // No header (the proxy's own health check): the proxy.
        assert_eq!(proxies.client(via, &HeaderMap::new()), via);
        // A hop that is not an address stops the walk at the last trusted hop read.
        assert_eq!(proxies.client(via, &forwarded(&["203.0.113.7, unknown, 10.3.3.3"])), ip("10.3.3.3"));
        assert_eq!(proxies.client(via, &forwarded(&["garbage"])), via);
        assert_eq!(proxies.client(via, &forwarded(&[""])), via);
        // Every hop trusted: the earliest of them.
        assert_eq!(proxies.client(via, &forwarded(&["10.9.9.9, 10.3.3.3"])), ip("10.9.9.9"));
    }

    #[test]
    fn an_ipv4_mapped_peer_or_hop_is_its_ipv4_address() {
        let proxies = trusted(&["127.0.0.0/8"]);
        assert!(proxies.contains(ip("::ffff:127.0.0.1")));
        assert_eq!(proxies.client(ip("::ffff:127.0.0.1"), &forwarded(&["::ffff:203.0.113.7"])), ip("203.0.113.7"));
        assert!(Trusted::new(&[]).is_none(), "no proxies, no layer");
    }

    #[test]
    fn a_long_chain_is_read_only_so_far() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let chain: Vec<String> = (0..100).map(|i| format!("10.0.{}.{}", i / 250, i % 250 + 1)).collect();
        let header = format!("203.0.113.7, {}", chain.join(", "));
        let client = proxies.client(ip("10.0.0.1"), &forwarded(&[&header]));
        assert!(proxies.contains(client), "stopped inside the chain, at a trusted hop: {client}");
    }
}
