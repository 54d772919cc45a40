//! Where a request came from, as the transport sees it: the one small type routing,
//! handlers and the session driver share.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;
use tenet_jsonrpc::ErrorObject;

use tokio_util::sync::CancellationToken;

use super::{Outbound, Session};
use crate::grant::INSUFFICIENT_SCOPE;

/// [`Link::share`] of a request's grant, caller and address.
pub(crate) fn share_of(
    grant: Option<&crate::grant::Grant>,
    caller: Option<&str>,
    addr: Option<IpAddr>,
) -> Option<String> {
    match caller {
        Some(caller) if caller != crate::grant::UNNAMED => Some(caller.to_owned()),
        _ => crate::grant::share_key(grant, addr),
    }
}

/// Where a request came from, as the transport sees it.
#[derive(Clone)]
pub struct Link {
    /// The legacy session the request belongs to, if any (stdio always has one).
    pub session: Option<Arc<Session>>,
    /// Where notifications about this request go (progress, log messages, listen events).
    pub out: Outbound,
    /// Fires when the client cancels this request.
    pub cancel: CancellationToken,
    /// Fires when the server shuts down (ends listen streams gracefully).
    pub shutdown: CancellationToken,
    /// The scopes the caller was granted; `None` when the transport does no access control.
    pub grant: Option<Arc<crate::grant::Grant>>,
    /// Whom the request counts against for rate limits and per-caller bounds (an API
    /// key's or token subject's name, a client address, `stdio`; [`crate::share_key`]).
    /// Transports with sessions always set it; the stateless endpoint whenever the server
    /// has rate limits (else its bounds read `addr`); `None` exempts the request from
    /// rate limits (one the server makes for itself).
    pub caller: Option<Arc<str>>,
    /// The client's address, where the transport knows it: without a principal, per-caller
    /// bounds (fair shares) count the request against it ([`crate::share_key`]).
    pub addr: Option<IpAddr>,
}

impl Link {
    /// Whom per-caller bounds count this request against ([`crate::share_key`]), else the
    /// name its rate limits count under (`stdio`); `None`: the totals alone bound it.
    pub(crate) fn share(&self) -> Option<String> {
        share_of(self.grant.as_deref(), self.caller.as_deref(), self.addr)
    }

    /// Whether the caller may use something that requires `required`.
    pub(crate) fn allows(&self, required: &[String]) -> bool {
        allows(self.grant.as_deref(), required)
    }

    /// [`insufficient_scope`] for this request's caller.
    pub(crate) fn insufficient_scope(&self, what: &str, required: &[String]) -> ErrorObject {
        insufficient_scope(self.grant.as_deref(), what, required)
    }
}

/// Whether a caller of `grant` (`None`: no access control) may use something that
/// requires `required`.
pub(crate) fn allows(grant: Option<&crate::grant::Grant>, required: &[String]) -> bool {
    grant.is_none_or(|grant| grant.covers(required))
}

/// The error for using `what` without `required`. Its data lists what the caller needs:
/// the scopes of its `grant` plus the missing ones, so a client that asks for exactly
/// that set keeps what it could already do.
pub(crate) fn insufficient_scope(grant: Option<&crate::grant::Grant>, what: &str, required: &[String]) -> ErrorObject {
    let mut needed: BTreeSet<&str> = grant.map(|g| g.scopes().collect()).unwrap_or_default();
    needed.extend(required.iter().map(String::as_str));
    let scope = needed.iter().copied().collect::<Vec<_>>().join(" ");
    ErrorObject::new(INSUFFICIENT_SCOPE, format!("Insufficient scope: {what} requires {}", required.join(" ")))
        .with_data(json!({ "scope": scope, "requiredScopes": required }))
}
