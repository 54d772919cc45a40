//! Who may use what: the scopes a caller was granted, and the scopes a tool, resource
//! or prompt requires.
//!
//! A transport that authenticates its callers puts a [`Grant`] on each request's
//! [`crate::Link`] (checked by `Link::allows`); a request without one is not
//! access-controlled. List results show only what the grant covers, and using
//! something it does not cover is refused with [`INSUFFICIENT_SCOPE`] (HTTP answers it
//! with 403 and a step-up challenge).

use std::collections::BTreeSet;
use std::sync::Arc;
use tenet_jsonrpc::ErrorCode;

/// The JSON-RPC error code for a request whose caller lacks a required scope. Its
/// `data` is `{"scope": "<every scope needed, space-separated>", "requiredScopes": [...]}`.
pub const INSUFFICIENT_SCOPE: ErrorCode = ErrorCode(-32003);

/// Who a caller is, as authorization established it: kinds never confused, so that an
/// API key named `alice` and a token whose `sub` is `alice` are two callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An API key, by its name.
    ApiKey(String),
    /// A bearer token, by its issuer and subject (`sub`).
    Token {
        /// The issuer (`iss`) the token was checked against.
        issuer: String,
        /// Its subject.
        subject: String,
    },
    /// A token that names no subject, by a digest of the token itself: its own caller,
    /// sharing nothing with any other token.
    Unnamed {
        /// The SHA-256 of the token, hex.
        digest: String,
    },
}

impl Principal {
    /// The principal's identity as one string, the same for the same principal and
    /// never for two: what sessions, tasks, contexts and rate limits are keyed by.
    pub fn id(&self) -> String {
        match self {
            Principal::ApiKey(name) => format!("key:{name}"),
            // The issuer's length first: no issuer and subject split differently read the same.
            Principal::Token { issuer, subject } => format!("token:{}:{issuer}{subject}", issuer.len()),
            Principal::Unnamed { digest } => format!("unnamed:{digest}"),
        }
    }

    /// How logs name it: the key's name, the token's subject, or `unnamed`.
    pub fn name(&self) -> &str {
        match self {
            Principal::ApiKey(name) | Principal::Token { subject: name, .. } => name,
            Principal::Unnamed { .. } => "unnamed",
        }
    }
}

/// The name of a caller with neither a principal nor a known address: per-caller bounds
/// pass it by (the totals alone bound it), rather than give all such callers one share.
pub const UNNAMED: &str = "anonymous";

/// The caller of a stdio connection without a principal: its one client, whatever it
/// sends ([`crate::Context::caller`] says so).
pub const STDIO_CALLER: &str = "stdio";

/// Whom per-caller bounds (fair shares: sessions, tasks, contexts, connections) count a
/// request against: the principal of its `grant` ([`Principal::id`]), else its client
/// address as `ip:<address>` (principal ids never begin so), an IPv6 client by its /64
/// (one host is commonly given a whole /64, so its addresses are one caller); `None`
/// when neither is known. The one rule every transport and the server use.
///
/// ```
/// use tenet_server::{Grant, share_key};
/// let addr = |a: &str| a.parse().ok();
/// assert_eq!(share_key(None, addr("192.0.2.7")).as_deref(), Some("ip:192.0.2.7"));
/// assert_eq!(share_key(None, addr("2001:db8:1:2::7")).as_deref(), Some("ip:2001:db8:1:2::/64"));
/// assert_eq!(share_key(None, addr("2001:db8:1:2:ffff::1")), share_key(None, addr("2001:db8:1:2::7")));
/// assert_eq!(share_key(None, addr("::ffff:192.0.2.7")).as_deref(), Some("ip:192.0.2.7"));
/// assert_eq!(share_key(Some(&Grant::default()), None), None, "a grant that names nobody");
/// ```
pub fn share_key(grant: Option<&Grant>, addr: Option<std::net::IpAddr>) -> Option<String> {
    use std::net::IpAddr;
    if let Some(owner) = grant.and_then(Grant::owner) {
        return Some(owner.to_owned());
    }
    Some(match share_address(addr?) {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("ip:{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    })
}

/// The address a client's share is kept under ([`share_key`]'s rule for clients known
/// by address alone): an IPv4 address as it is (also when written IPv4-mapped), an
/// IPv6 one as its /64.
///
/// ```
/// use tenet_server::share_address;
/// let addr = |a: &str| a.parse::<std::net::IpAddr>().unwrap();
/// assert_eq!(share_address(addr("::ffff:192.0.2.7")), addr("192.0.2.7"));
/// assert_eq!(share_address(addr("2001:db8:1:2:ffff::1")), addr("2001:db8:1:2::"));
/// ```
pub fn share_address(addr: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::{IpAddr, Ipv6Addr};
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// The scopes granted to the caller of a request, and who it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    scopes: BTreeSet<String>,
    principal: Option<Principal>,
    /// [`Principal::id`], made once.
    owner: Option<String>,
    /// The OAuth access token the caller presented, for acting on its behalf.
    presented: Option<Presented>,
}

/// A caller's access token, as it presented it; `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
struct Presented(Arc<str>);

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Presented(<redacted>)")
    }
}

impl Grant {
    /// A grant of `scopes` (empty strings are ignored).
    pub fn new<S: Into<String>>(scopes: impl IntoIterator<Item = S>) -> Self {
        let scopes = scopes.into_iter().map(Into::into).filter(|s: &String| !s.is_empty()).collect();
        Self { scopes, principal: None, owner: None, presented: None }
    }

    /// A grant of the scopes in a space-separated scope string (RFC 6749 §3.3). Runs
    /// of ASCII whitespace (tabs, newlines, several spaces) count as one separator.
    pub fn from_scope_string(scope: &str) -> Self {
        Self::new(scope.split_ascii_whitespace())
    }

    /// Names who the grant belongs to.
    #[must_use]
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.owner = Some(principal.id());
        self.principal = Some(principal);
        self
    }

    /// Keeps the OAuth access token the grant was read from, so that a gateway can
    /// exchange it for a token of the caller's at an upstream (RFC 8693). Only for a
    /// token the server verified; never an API key, which is the server's own secret.
    #[must_use]
    pub fn with_presented_token(mut self, token: &str) -> Self {
        self.presented = Some(Presented(Arc::from(token)));
        self
    }

    /// The OAuth access token the caller presented, when the grant keeps it
    /// ([`Grant::with_presented_token`]).
    pub fn presented_token(&self) -> Option<&str> {
        self.presented.as_ref().map(|p| &*p.0)
    }

    /// Who the grant belongs to, when known.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// [`Principal::id`] of who the grant belongs to: what its caller's sessions, tasks,
    /// contexts and rate limits are keyed by.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// The granted scopes, sorted.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(String::as_str)
    }

    /// Whether `scope` was granted.
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// Whether every scope in `required` was granted.
    pub fn covers(&self, required: &[String]) -> bool {
        required.iter().all(|s| self.has(s))
    }
}

/// Adds `scope` to `scopes` unless it is already there or blank.
pub(crate) fn push_scope(scopes: &mut Vec<String>, scope: impl Into<String>) {
    let scope = scope.into();
    for s in scope.split_ascii_whitespace() {
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_whitespace_in_a_scope_string_separates_scopes() {
        let grant = Grant::from_scope_string("  stdlib:read\tstdlib:admin\n\n  extra  ");
        assert_eq!(grant.scopes().collect::<Vec<_>>(), ["extra", "stdlib:admin", "stdlib:read"]);
        assert!(grant.covers(&["stdlib:read".into(), "stdlib:admin".into()]));
        assert!(!grant.has(""));
        // A non-ASCII space is not a separator: the token matches nothing we know.
        let odd = Grant::from_scope_string("stdlib:read\u{a0}stdlib:admin");
        assert!(!odd.has("stdlib:read"));
    }

    #[test]
    fn principals_of_different_kinds_never_share_an_id() {
        let key = Principal::ApiKey("alice".into());
        let token = Principal::Token { issuer: "https://issuer".into(), subject: "alice".into() };
        assert_ne!(key.id(), token.id());
        assert_eq!((key.name(), token.name()), ("alice", "alice"));
        // Issuer and subject split at another place are another principal.
        let a = Principal::Token { issuer: "https://a".into(), subject: "b/c".into() };
        let b = Principal::Token { issuer: "https://ab".into(), subject: "/c".into() };
        assert_ne!(a.id(), b.id());
        let unnamed = Principal::Unnamed { digest: "ab12".into() };
        assert_ne!(unnamed.id(), Principal::ApiKey("unnamed:ab12".into()).id());
        let grant = Grant::new(["x"]).with_principal(token.clone());
        assert_eq!((grant.principal(), grant.owner()), (Some(&token), Some(token.id().as_str())));
    }

    #[test]
    fn a_presented_token_is_kept_but_never_shown() {
        let grant = Grant::new(["x"]).with_presented_token("eyJ.secret.sig");
        assert_eq!(grant.presented_token(), Some("eyJ.secret.sig"));
        assert!(!format!("{grant:?}").contains("secret"), "{grant:?}");
        assert_eq!(Grant::new(["x"]).presented_token(), None);
    }

    #[test]
    fn push_scope_splits_and_deduplicates() {
        let mut scopes = Vec::new();
        push_scope(&mut scopes, "a b");
        push_scope(&mut scopes, " b\tc ");
        assert_eq!(scopes, ["a", "b", "c"]);
    }
}
