//! The issuer's signing keys: fetched with a timeout, cached, refetched when a token
//! names a key we do not have (at most once per `min_refetch`), and kept when a
//! refetch fails. Without any keys every token is refused (fail closed) and the
//! reason is logged.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use super::error::TokenError;
use super::jwt::{Algorithm, PublicKey, key_from_jwk};

/// The largest JWKS or metadata document read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Where the keys come from.
#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    /// A JWKS URL.
    Jwks(String),
    /// The `jwks_uri` of the issuer's RFC 8414 metadata.
    Issuer(String),
}

#[derive(Debug, Default)]
struct KeySet {
    keys: Vec<(Option<String>, PublicKey)>,
    fetched: Option<Instant>,
    /// Counts the fetches: tokens verified against one set are remembered with it.
    generation: u64,
}

#[derive(Debug, Default)]
struct Attempt {
    last: Option<Instant>,
    jwks_url: Option<String>,
    failure: Option<String>,
}

/// The cached key set of one issuer.
#[derive(Debug)]
pub(crate) struct Jwks {
    source: KeySource,
    client: reqwest::Client,
    min_refetch: Duration,
    max_age: Duration,
    current: RwLock<Arc<KeySet>>,
    fetching: Mutex<Attempt>,
}

impl Jwks {
    /// Keys from `source`, each fetch bounded by `timeout`.
    pub(crate) fn new(
        source: KeySource,
        timeout: Duration,
        min_refetch: Duration,
        max_age: Duration,
    ) -> Result<Self, String> {
        // An Err means a provider is installed already, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            source,
            client,
            min_refetch,
            max_age,
            current: RwLock::new(Arc::default()),
            fetching: Mutex::new(Attempt::default()),
        })
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The generation of the current key set while it is fresh: tokens verified
    /// against it may be trusted again without a signature check.
    pub(crate) fn fresh_generation(&self) -> Option<u64> {
        let set = self.snapshot();
        set.fetched.is_some_and(|at| at.elapsed() < self.max_age).then_some(set.generation)
    }

    /// The key for a token's `kid` and algorithm, fetching the set when it is unknown,
    /// with the generation of the set it came from.
    pub(crate) async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<(PublicKey, u64), TokenError> {
        let set = self.snapshot();
        let stale = set.fetched.is_none_or(|at| at.elapsed() >= self.max_age);
        if !stale && let Some(key) = find(&set, kid, alg) {
            return Ok((key, set.generation));
        }
        let set = self.refresh(&set).await;
        match find(&set, kid, alg) {
            Some(key) => Ok((key, set.generation)),
            None if set.fetched.is_none() => Err(TokenError::KeysUnavailable(self.failure().await)),
            None => Err(TokenError::UnknownKey),
        }
    }

    async fn failure(&self) -> String {
        self.fetching.lock().await.failure.clone().unwrap_or_else(|| "not fetched yet".into())
    }

    /// Fetches the set unless another task just did or the last attempt was too recent.
    async fn refresh(&self, seen: &Arc<KeySet>) -> Arc<KeySet> {
        let mut attempt = self.fetching.lock().await;
        let current = self.snapshot();
        if !Arc::ptr_eq(&current, seen) {
            return current; // someone else refreshed while we waited
        }
        if attempt.last.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return current;
        }
        attempt.last = Some(Instant::now());
        match self.fetch(&mut attempt).await {
            Ok(keys) => {
                tracing::debug!(keys = keys.len(), "fetched the issuer's signing keys");
                attempt.failure = None;
                let generation = current.generation + 1;
                let set = Arc::new(KeySet { keys, fetched: Some(Instant::now()), generation });
                *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = set.clone();
                set
            }
            Err(reason) => {
                tracing::error!(
                    "cannot fetch the issuer's signing keys: {reason}; {}",
                    if current.fetched.is_some() {
                        "keeping the keys fetched before"
                    } else {
                        "refusing every bearer token until they can be fetched"
                    }
                );
                attempt.failure = Some(reason);
                current
            }
        }
    }

    async fn fetch(&self, attempt: &mut Attempt) -> Result<Vec<(Option<String>, PublicKey)>, String> {
        let url = match (&self.source, &attempt.jwks_url) {
            (KeySource::Jwks(url), _) | (KeySource::Issuer(_), Some(url)) => url.clone(),
            (KeySource::Issuer(issuer), None) => {
                let metadata = well_known(issuer);
                let doc = self.get_json(&metadata).await?;
                if doc.get("issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
                    return Err(format!("{metadata}: issuer does not match {issuer}"));
                }
                let url = doc
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{metadata}: no jwks_uri"))?
                    .to_owned();
                attempt.jwks_url = Some(url.clone());
                url
            }
        };
        let doc = self.get_json(&url).await?;
        let Some(entries) = doc.get("keys").and_then(Value::as_array) else {
            return Err(format!("{url}: not a JWK set (no \"keys\" array)"));
        };
        let keys: Vec<_> = entries
            .iter()
            .filter_map(|jwk| {
                let key = key_from_jwk(jwk)?;
                Some((jwk.get("kid").and_then(Value::as_str).map(str::to_owned), key))
            })
            .collect();
        if keys.is_empty() {
            return Err(format!("{url}: no usable signing key (EC P-256 or RSA)"));
        }
        Ok(keys)
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| if e.is_timeout() { format!("{url}: timed out") } else { format!("{url}: {e}") })?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        if response.content_length().is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64) {
            return Err(format!("{url}: document too large"));
        }
        // Chunk by chunk: a chunked body announces no length.
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            if bytes.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(format!("{url}: document too large"));
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("{url}: not JSON: {e}"))
    }
}

/// RFC 8414 §3: the well-known path goes between the host and the issuer's path.
fn well_known(issuer: &str) -> String {
    let (origin, path) = match issuer.find("://").map(|i| i + 3) {
        Some(start) => match issuer[start..].find('/') {
            Some(slash) => issuer.split_at(start + slash),
            None => (issuer, ""),
        },
        None => (issuer, ""),
    };
    format!("{origin}/.well-known/oauth-authorization-server{}", path.trim_end_matches('/'))
}

/// The key for `kid` (or the only key of the algorithm, when the token names none).
fn find(set: &KeySet, kid: Option<&str>, alg: Algorithm) -> Option<PublicKey> {
    let mut fitting = set.keys.iter().filter(|(_, key)| key.algorithm() == alg);
    match kid {
        Some(kid) => fitting.find(|(k, _)| k.as_deref() == Some(kid)).map(|(_, key)| key.clone()),
        None => {
            let first = fitting.next()?;
            fitting.next().is_none().then(|| first.1.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_path_is_inserted_before_the_issuer_path() {
        assert_eq!(well_known("https://as.example"), "https://as.example/.well-known/oauth-authorization-server");
        assert_eq!(
            well_known("https://as.example/tenant1/"),
            "https://as.example/.well-known/oauth-authorization-server/tenant1"
        );
    }
}
