//! A loopback authorization server and protected resource for tests (feature
//! `test-support`).
//!
//! [`AuthServer`] serves authorization-server metadata at a configurable
//! well-known location, `/authorize` (approves at once and redirects with a
//! code), `/token` (checks PKCE, `resource`, `redirect_uri` and client
//! authentication; issues ES256 JWT access tokens with `iss`, `aud`, `exp`,
//! `scope`, and refresh tokens; also the JWT bearer and token exchange grants),
//! `/register` (RFC 7591) and `/jwks`.
//! [`ResourceServer`] serves Protected Resource Metadata and an endpoint that
//! answers 401 or 403 challenges until it gets a valid token with the scopes it
//! needs. Both bind `127.0.0.1:0`, record every request, and stop when dropped.
//!
//! ```
//! use tenet_oauth::test_support::{AuthServer, AsConfig, ResourceConfig, ResourceServer};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! tenet_oauth::install_crypto_provider();
//! let auth = AuthServer::start(AsConfig::default()).await.unwrap();
//! let resource = ResourceServer::start(ResourceConfig::default(), &auth).await.unwrap();
//! let answer = reqwest::get(resource.url()).await.unwrap();
//! assert_eq!(answer.status(), 401);
//! # });
//! ```

mod assertion_grants;
mod authz;
mod config;
mod dpop_check;
mod resource;
mod state;
mod token_endpoint;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use authz::AuthServer;
pub use config::{AsConfig, IssMode, MetadataLocation};
pub use resource::{PrmLocation, ResourceConfig, ResourceServer};

use crate::redact::REDACTED;

/// One request a stand-in received. `Debug` redacts the credentials in token
/// forms and `Authorization` headers (keeping the header's scheme).
#[derive(Clone, PartialEq)]
pub enum Event {
    /// A GET of a metadata document (resource or authorization server), by path.
    Metadata(String),
    /// An authorization request's query parameters.
    Authorize(Vec<(String, String)>),
    /// A token request's form and `Authorization` header.
    Token {
        /// The form fields.
        form: Vec<(String, String)>,
        /// The `Authorization` header, when sent.
        authorization: Option<String>,
    },
    /// A registration request's JSON body.
    Register(Value),
    /// A request to the protected endpoint, with its `Authorization` header.
    Resource(Option<String>),
}

impl Event {
    /// The value of `name` in an authorization query or a token form.
    pub fn param(&self, name: &str) -> Option<&str> {
        let pairs = match self {
            Event::Authorize(q) => q,
            Event::Token { form, .. } => form,
            _ => return None,
        };
        pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Metadata(path) => f.debug_tuple("Metadata").field(path).finish(),
            Event::Authorize(query) => f.debug_tuple("Authorize").field(query).finish(),
            Event::Token { form, authorization } => f
                .debug_struct("Token")
                .field("form", &redact_form(form))
                .field("authorization", &authorization.as_deref().map(redact_header))
                .finish(),
            Event::Register(body) => f.debug_tuple("Register").field(body).finish(),
            Event::Resource(authorization) => {
                f.debug_tuple("Resource").field(&authorization.as_deref().map(redact_header)).finish()
            }
        }
    }
}

/// Token request fields whose values are credentials.
const SECRET_FIELDS: [&str; 8] = [
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "assertion",
    "client_assertion",
    "subject_token",
    "actor_token",
];

/// The form's pairs, with the values of [`SECRET_FIELDS`] redacted.
fn redact_form(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter()
        .map(|(k, v)| (k.as_str(), if SECRET_FIELDS.contains(&k.as_str()) { REDACTED } else { v.as_str() }))
        .collect()
}

/// An `Authorization` header with its credentials redacted: `Bearer <redacted>`.
fn redact_header(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} {REDACTED}"),
        None => REDACTED.to_owned(),
    }
}

/// The shared, append-only log of a stand-in's requests.
#[derive(Debug, Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Event>>>);

impl Log {
    fn lock(&self) -> MutexGuard<'_, Vec<Event>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an event.
    pub fn push(&self, e: Event) {
        self.lock().push(e);
    }

    /// Records a miss on a well-known path (so tests can check the discovery
    /// order) and answers 404.
    pub fn not_found(&self, path: &str) -> axum::http::StatusCode {
        if path.contains("/.well-known/") {
            self.push(Event::Metadata(path.to_owned()));
        }
        axum::http::StatusCode::NOT_FOUND
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().clone()
    }

    /// The authorization requests so far.
    pub fn authorizations(&self) -> Vec<Event> {
        self.events().into_iter().filter(|e| matches!(e, Event::Authorize(_))).collect()
    }

    /// The token requests so far.
    pub fn tokens(&self) -> Vec<Event> {
        self.events().into_iter().filter(|e| matches!(e, Event::Token { .. })).collect()
    }

    /// The registration bodies so far.
    pub fn registrations(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Register(v) => Some(v),
                _ => None,
            })
            .collect()
    }

    /// The metadata paths requested so far.
    pub fn metadata_paths(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Metadata(p) => Some(p),
                _ => None,
            })
            .collect()
    }
}

/// A server task that is aborted when dropped.
#[derive(Debug)]
struct Serving(JoinHandle<()>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Binds `127.0.0.1:0`; returns the listener and `http://127.0.0.1:PORT`.
async fn bind() -> std::io::Result<(TcpListener, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((listener, format!("http://{addr}")))
}

/// Serves `app` on `listener` in a task that stops when the handle is dropped.
fn spawn(listener: TcpListener, app: axum::Router) -> Serving {
    Serving(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "stand-in server stopped");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-value";

    #[test]
    fn debug_of_logged_requests_redacts_credentials() {
        let form = ["grant_type", "client_id", "client_secret", "code", "code_verifier", "refresh_token"]
            .map(|k| (k.to_owned(), if k == "grant_type" || k == "client_id" { k.to_owned() } else { SECRET.into() }));
        let log = Log::default();
        log.push(Event::Token { form: form.to_vec(), authorization: Some(format!("Basic {SECRET}")) });
        log.push(Event::Resource(Some(format!("DPoP {SECRET}"))));
        log.push(Event::Resource(None));
        let shown = format!("{log:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains(r#"("grant_type", "grant_type")"#), "{shown}");
        assert!(shown.contains(r#"("client_secret", "<redacted>")"#), "{shown}");
        assert!(shown.contains(r#"Some("Basic <redacted>")"#), "{shown}");
        assert!(shown.contains(r#"Resource(Some("DPoP <redacted>"))"#) && shown.contains("Resource(None)"), "{shown}");
    }
}
