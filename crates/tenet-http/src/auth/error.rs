//! Why a request's credentials were refused, and why an authorization setup is unusable.

/// Why the credentials of a request were refused. Each maps to one HTTP status:
/// [`TokenError::status`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token")]
    Missing,
    /// A token in the URL's query string, which is never accepted.
    #[error("tokens are not accepted in the query string; send an Authorization header")]
    InQuery,
    /// The `Authorization` header is not one well-formed `Bearer` credential.
    #[error("malformed Authorization header: {0}")]
    BadHeader(&'static str),
    /// The token is not a well-formed JWT.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The token's `alg` is not one we accept.
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(String),
    /// No key of the issuer's key set matches the token's `kid` and algorithm.
    #[error("no matching signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` does not name this server.
    #[error("token was issued for another audience")]
    Audience,
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// `nbf` is still ahead.
    #[error("token not yet valid")]
    NotYetValid,
    /// Neither an API key nor a JWT this server can check.
    #[error("unknown token")]
    Unknown,
    /// The issuer's keys could not be fetched, so no token can be checked (fail closed).
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

impl TokenError {
    /// The HTTP status of the refusal: 400 for malformed requests, 503 while keys are
    /// unavailable, else 401.
    pub fn status(&self) -> u16 {
        match self {
            TokenError::InQuery | TokenError::BadHeader(_) => 400,
            TokenError::KeysUnavailable(_) => 503,
            _ => 401,
        }
    }

    /// The RFC 6750 `error` code for the challenge, if any.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            TokenError::Missing => None,
            TokenError::InQuery | TokenError::BadHeader(_) => Some("invalid_request"),
            _ => Some("invalid_token"),
        }
    }
}

/// An authorization setup that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The canonical resource URI is not an absolute http(s) URI.
    #[error("resource {0:?} must be an absolute http or https URI")]
    Resource(String),
    /// Neither an issuer nor any API key is configured.
    #[error("authorization needs an issuer (for JWTs) or at least one API key")]
    Nothing,
    /// An API key line does not parse.
    #[error("{source_name}:{line}: {reason}")]
    ApiKey {
        /// The file or variable the line came from.
        source_name: String,
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The API keys file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The HTTP client for the JWKS cannot be built.
    #[error("cannot build the JWKS client: {0}")]
    Client(String),
}
