//! A user agent for people: the authorization URL goes to a browser, and the
//! redirect comes back to a listener on `127.0.0.1` (RFC 8252 §7.3).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use url::Url;

use crate::OAuthError;
use crate::user_agent::{BoxFuture, UserAgent};

/// Opens an authorization URL: launches a browser, or prints the URL for the user.
pub type Opener = Box<dyn Fn(&Url) -> Result<(), String> + Send + Sync>;

/// Sends the user to the authorization URL with an [`Opener`] and waits for the
/// browser to come back to `http://127.0.0.1:PORT/callback`.
pub struct LoopbackUserAgent {
    listener: Mutex<TcpListener>,
    redirect_uri: String,
    open: Opener,
    wait: Duration,
}

impl std::fmt::Debug for LoopbackUserAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackUserAgent").field("redirect_uri", &self.redirect_uri).finish_non_exhaustive()
    }
}

const PAGE: &str = "<!doctype html><title>Signed in</title><p>You are signed in. You can close this window.";
/// Longest request head the listener reads.
const MAX_HEAD: usize = 8192;

impl LoopbackUserAgent {
    /// Listens on `127.0.0.1:port` (0 for any free port). Put
    /// [`redirect_uri`](Self::redirect_uri) in
    /// [`AuthorizerConfig::redirect_uri`](crate::AuthorizerConfig::redirect_uri).
    pub async fn bind(port: u16, open: Opener) -> Result<Self, OAuthError> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| OAuthError::UserAgent(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let port = listener.local_addr().map_err(|e| OAuthError::UserAgent(e.to_string()))?.port();
        Ok(LoopbackUserAgent {
            listener: Mutex::new(listener),
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
            open,
            wait: Duration::from_secs(300),
        })
    }

    /// How long to wait for the browser to come back (five minutes by default).
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// `http://127.0.0.1:PORT/callback`.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Serves connections (each in its own task, so an idle preconnected socket
    /// holds nothing up) until one is a GET of the callback path; returns its URL.
    async fn await_callback(&self) -> Result<Url, OAuthError> {
        let listener = self.listener.lock().await;
        let base = Url::parse(&self.redirect_uri).map_err(|e| OAuthError::UserAgent(e.to_string()))?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Url>(1);
        loop {
            tokio::select! {
                Some(url) = rx.recv() => return Ok(url),
                accepted = listener.accept() => {
                    let (stream, _) = accepted.map_err(|e| OAuthError::UserAgent(e.to_string()))?;
                    let (tx, base) = (tx.clone(), base.clone());
                    tokio::spawn(async move {
                        if let Some(url) = serve_one(stream, &base).await {
                            let _ = tx.send(url).await;
                        }
                    });
                }
            }
        }
    }
}

/// Answers one connection; returns the URL when it was the callback.
async fn serve_one(mut stream: TcpStream, base: &Url) -> Option<Url> {
    let Ok(Some(target)) = tokio::time::timeout(Duration::from_secs(10), read_target(&mut stream)).await else {
        respond(&mut stream, "400 Bad Request", "Bad request").await;
        return None;
    };
    match base.join(&target) {
        Ok(url) if url.path() == base.path() => {
            respond(&mut stream, "200 OK", PAGE).await;
            Some(url)
        }
        _ => {
            respond(&mut stream, "404 Not Found", "Not found").await;
            None
        }
    }
}

/// Reads a request head and returns the target of a `GET`, or `None`.
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let line = std::str::from_utf8(&head).ok()?.lines().next()?;
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("GET"), Some(target), Some(v)) if target.starts_with('/') && v.starts_with("HTTP/1.") => {
            Some(target.to_owned())
        }
        _ => None,
    }
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser may have gone; nothing to do about it.
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

impl UserAgent for LoopbackUserAgent {
    fn authorize<'a>(
        &'a self,
        authorization_url: &'a Url,
        _redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<Url, OAuthError>> {
        Box::pin(async move {
            (self.open)(authorization_url).map_err(OAuthError::UserAgent)?;
            tokio::time::timeout(self.wait, self.await_callback()).await.map_err(|_| {
                OAuthError::UserAgent(format!("no redirect to {} within {:?}", self.redirect_uri, self.wait))
            })?
        })
    }
}
