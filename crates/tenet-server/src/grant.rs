//! Who may use what: the scopes a caller was granted, and the scopes a tool, resource
//! or prompt requires.
//!
//! A transport that authenticates its callers puts a [`Grant`] on each request's
//! [`crate::Link`] (checked by `Link::allows`); a request without one is not
//! access-controlled. List results show only what the grant covers, and using
//! something it does not cover is refused with [`INSUFFICIENT_SCOPE`] (HTTP answers it
//! with 403 and a step-up challenge).

use std::collections::BTreeSet;
use tenet_jsonrpc::ErrorCode;

/// The JSON-RPC error code for a request whose caller lacks a required scope. Its
/// `data` is `{"scope": "<every scope needed, space-separated>", "requiredScopes": [...]}`.
pub const INSUFFICIENT_SCOPE: ErrorCode = ErrorCode(-32003);

/// The scopes granted to the caller of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    scopes: BTreeSet<String>,
    subject: Option<String>,
}

impl Grant {
    /// A grant of `scopes` (empty strings are ignored).
    pub fn new<S: Into<String>>(scopes: impl IntoIterator<Item = S>) -> Self {
        let scopes = scopes.into_iter().map(Into::into).filter(|s: &String| !s.is_empty()).collect();
        Self { scopes, subject: None }
    }

    /// A grant of the scopes in a space-separated scope string (RFC 6749 §3.3). Runs
    /// of ASCII whitespace (tabs, newlines, several spaces) count as one separator.
    pub fn from_scope_string(scope: &str) -> Self {
        Self::new(scope.split_ascii_whitespace())
    }

    /// Names who the grant belongs to (the token's `sub`, an API key's name), for logs.
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Who the grant belongs to, when known.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
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
    fn push_scope_splits_and_deduplicates() {
        let mut scopes = Vec::new();
        push_scope(&mut scopes, "a b");
        push_scope(&mut scopes, " b\tc ");
        assert_eq!(scopes, ["a", "b", "c"]);
    }
}
