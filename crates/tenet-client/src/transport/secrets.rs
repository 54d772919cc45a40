//! The credentials a transport sends (the application's headers, an authorization
//! hook's values), kept so that they can be taken out of whatever a server says back:
//! a server that reflects request headers into an error body, a `WWW-Authenticate`
//! challenge or a JSON-RPC error must not hand them to whoever reads the error (a
//! gateway's callers, its status page, its log).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Mutex;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::ClientError;

/// What stands in for a credential.
pub(crate) const REDACTED: &str = "[redacted]";

/// Shorter values are not taken for secrets (they would take ordinary words out).
const SHORTEST: usize = 8;

/// How many values an authorization hook sent are remembered (each value and its
/// credential: the latest four tokens).
const HOOK_VALUES: usize = 8;

/// The secrets a transport sends.
#[derive(Default)]
pub(crate) struct Secrets {
    /// From the application's headers: fixed for the transport's life.
    fixed: Vec<String>,
    /// The latest values an authorization hook gave.
    sent: Mutex<VecDeque<String>>,
}

impl Secrets {
    /// The secrets among `headers`: every value, and the credential after an
    /// authentication scheme (`Bearer x`, `Basic x`).
    /// Headers that say how a request is made, never who makes it (`Accept`,
    /// `Content-Type` …) are left out.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let mut fixed = Vec::new();
        for (name, value) in headers {
            if !PLAIN.contains(&name.as_str()) {
                forms(value, &mut fixed);
            }
        }
        Self { fixed, sent: Mutex::default() }
    }

    /// These secrets and those in `url`: its password and user name, and its query's
    /// values (`?api_key=…`), as written and decoded. A server may reflect the URL it was
    /// asked at.
    pub(crate) fn with_url(mut self, url: &reqwest::Url) -> Self {
        let mut keep = |value: &str| {
            for form in [Cow::Borrowed(value), percent_decoded(value)] {
                if form.len() >= SHORTEST && !self.fixed.iter().any(|f| f == form.as_ref()) {
                    self.fixed.push(form.into_owned());
                }
            }
        };
        keep(url.username());
        if let Some(password) = url.password() {
            keep(password);
        }
        // As written, and as read (`+` a space).
        for (_, value) in url.query().unwrap_or_default().split('&').filter_map(|pair| pair.split_once('=')) {
            keep(value);
        }
        for (_, value) in url.query_pairs() {
            keep(&value);
        }
        self
    }

    /// Remembers a value an authorization hook sent as header `name`, when the header
    /// carries a credential (`Authorization`, a key, a token; not a DPoP proof, new
    /// with every request), as the most recent.
    pub(crate) fn saw(&self, name: &HeaderName, value: &HeaderValue) {
        let name = name.as_str();
        let credential = ["authorization", "cookie", "sec-websocket-protocol"].contains(&name)
            || ["key", "token", "secret", "auth"].iter().any(|part| name.contains(part));
        if !credential || name == "dpop" {
            return;
        }
        let mut found = Vec::new();
        forms(value, &mut found);
        if let Ok(mut sent) = self.sent.lock() {
            for value in found {
                sent.retain(|v| *v != value);
                if sent.len() == HOOK_VALUES {
                    sent.pop_front();
                }
                sent.push_back(value);
            }
        }
    }

    /// `text` with every secret (as sent, and as JSON escapes it) replaced by
    /// [`REDACTED`].
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let sent = self.sent.lock().map(|s| s.iter().cloned().collect::<Vec<_>>()).unwrap_or_default();
        let mut text = Cow::Borrowed(text);
        for secret in self.fixed.iter().chain(&sent) {
            for form in [Cow::Borrowed(secret.as_str()), Cow::Owned(secret.replace('/', "\\/"))] {
                if text.contains(form.as_ref()) {
                    text = Cow::Owned(text.replace(form.as_ref(), REDACTED));
                }
            }
        }
        text
    }

    /// `error` with the secrets taken out of what the server wrote in it: an error
    /// body, a challenge, a JSON-RPC error's message and data.
    pub(crate) fn clean(&self, error: ClientError) -> ClientError {
        match error {
            ClientError::Http { status, body } => ClientError::Http { status, body: self.redact(&body).into_owned() },
            ClientError::Unauthorized { status, www_authenticate } => ClientError::Unauthorized {
                status,
                www_authenticate: www_authenticate.map(|c| self.redact(&c).into_owned()),
            },
            ClientError::Server(mut e) => {
                if let Cow::Owned(message) = self.redact(&e.message) {
                    e.message = message.into();
                }
                if let Some(data) = &e.data
                    && let Cow::Owned(clean) = self.redact(&data.to_string())
                {
                    e.data = serde_json::from_str(&clean).ok();
                }
                ClientError::Server(e)
            }
            ClientError::Protocol(text) => ClientError::Protocol(self.redact(&text).into_owned()),
            other => other,
        }
    }
}

/// Headers that are never secrets.
const PLAIN: &[&str] = &["accept", "content-type", "user-agent", "mcp-protocol-version", "mcp-method", "mcp-name"];

/// The secret forms of one header value: the whole value and, after a scheme, the
/// credential alone.
/// `text` with its `%XX` escapes decoded, when that is UTF-8.
fn percent_decoded(text: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(text).decode_utf8().unwrap_or(Cow::Borrowed(text))
}

fn forms(value: &HeaderValue, into: &mut Vec<String>) {
    let Ok(text) = value.to_str() else { return };
    let text = text.trim();
    if text.len() >= SHORTEST {
        into.push(text.to_owned());
    }
    if let Some((_, credential)) = text.split_once(' ') {
        let credential = credential.trim();
        if credential.len() >= SHORTEST {
            into.push(credential.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::AUTHORIZATION;
    use tenet_jsonrpc::ErrorObject;

    fn secrets() -> Secrets {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer s3cret-t0ken/abc"));
        headers.insert(HeaderName::from_static("x-api-key"), HeaderValue::from_static("k3y-0123456789"));
        headers.insert(HeaderName::from_static("x-short"), HeaderValue::from_static("no"));
        headers.insert(HeaderName::from_static("accept"), HeaderValue::from_static("application/json"));
        Secrets::of(&headers)
    }

    #[test]
    fn reflected_headers_are_taken_out_of_every_kind_of_error() {
        let s = secrets();
        let body =
            ClientError::Http { status: 500, body: "you sent Bearer s3cret-t0ken/abc and k3y-0123456789".into() };
        let ClientError::Http { body, .. } = s.clean(body) else { panic!() };
        assert_eq!(body, "you sent [redacted] and [redacted]");
        let challenge = ClientError::Unauthorized {
            status: 401,
            www_authenticate: Some(r#"Bearer error="invalid_token", seen="s3cret-t0ken/abc""#.into()),
        };
        let ClientError::Unauthorized { www_authenticate: Some(c), .. } = s.clean(challenge) else { panic!() };
        assert!(!c.contains("s3cret") && c.contains("invalid_token"), "{c}");
        let rpc = ErrorObject::new(tenet_jsonrpc::ErrorCode(-32001), "token s3cret-t0ken/abc refused")
            .with_data(serde_json::json!({"headers": {"authorization": "Bearer s3cret-t0ken/abc"}}));
        let ClientError::Server(e) = s.clean(ClientError::Server(rpc)) else { panic!() };
        assert_eq!(e.message, "token [redacted] refused");
        assert!(!e.data.unwrap().to_string().contains("s3cret"), "and in its data");
        // A body as written: JSON may escape the slash.
        let escaped = ClientError::Http { status: 500, body: r#"{"seen":"s3cret-t0ken\/abc"}"#.into() };
        let ClientError::Http { body, .. } = s.clean(escaped) else { panic!() };
        assert!(!body.contains("s3cret"), "{body}");
        assert_eq!(s.redact("no harm in no"), "no harm in no", "short values are not secrets");
        assert_eq!(s.redact("send application/json"), "send application/json", "nor Accept");
    }

    /// Issue 60: a server that reflects the URL it was asked at (an error page naming
    /// the request) hands on no credential the URL carried.
    #[test]
    fn the_credentials_of_the_url_are_secrets_too() {
        let url =
            reqwest::Url::parse("https://gateway-user:p%40ss-w0rd-9@mcp.example/mcp?api_key=k3y%2Fvalue-1&q=a+b&x=1")
                .unwrap();
        let s = Secrets::default().with_url(&url);
        let reflected = "GET /mcp?api_key=k3y%2Fvalue-1 by gateway-user:p%40ss-w0rd-9 (p@ss-w0rd-9, k3y/value-1)";
        assert_eq!(
            s.redact(reflected),
            "GET /mcp?api_key=[redacted] by [redacted]:[redacted] ([redacted], [redacted])"
        );
        assert_eq!(s.redact("x=1 q=a b"), "x=1 q=a b", "short values are not secrets");
        assert_eq!(percent_decoded("%zz%4"), "%zz%4", "a broken escape stays as written");
    }

    #[test]
    fn a_hooks_latest_values_are_remembered() {
        let s = Secrets::default();
        for n in 0..6 {
            s.saw(&AUTHORIZATION, &HeaderValue::from_str(&format!("DPoP token-number-{n}")).unwrap());
        }
        assert_eq!(s.redact("token-number-5 token-number-2"), "[redacted] [redacted]");
        assert_eq!(s.redact("token-number-1"), "token-number-1", "only the latest are kept");
        // The token in use stays, however many requests (each with a proof of its own).
        let dpop = HeaderName::from_static("dpop");
        for n in 0..20 {
            s.saw(&AUTHORIZATION, &HeaderValue::from_static("DPoP token-number-5"));
            s.saw(&dpop, &HeaderValue::from_str(&format!("proof-of-possession-{n}")).unwrap());
        }
        assert_eq!(s.redact("token-number-5 token-number-2"), "[redacted] [redacted]");
        assert_eq!(s.redact("proof-of-possession-3"), "proof-of-possession-3", "proofs are not kept");
    }
}
