//! What `Debug` output shows in place of a secret (a client secret, a token, a
//! PKCE verifier, a private key), so that logging a value never leaks one.

/// Stands in for a secret in `Debug` output.
pub(crate) const REDACTED: &str = "<redacted>";

/// `Some("<redacted>")` for a secret that is set and `None` for one that is not, so
/// `Debug` output still tells which.
pub(crate) fn option<T>(secret: &Option<T>) -> Option<&'static str> {
    secret.as_ref().map(|_| REDACTED)
}
