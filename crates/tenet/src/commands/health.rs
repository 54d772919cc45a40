//! `tenet health [URL]`: ask a running HTTP server whether it is alive — for container
//! health checks and scripts, with no other tool installed.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long the whole check may take.
const TIMEOUT: Duration = Duration::from_secs(3);

/// How long a waiting check pauses between asks.
const RETRY: Duration = Duration::from_millis(100);

/// GETs `url` (plain `http://` only) and exits 0 on a 200, 1 otherwise, saying why.
/// With `wait`, asks again until a 200 or until `wait` has passed (then says what the
/// last answer was).
pub fn run(url: &str, wait: Option<Duration>) -> ExitCode {
    let deadline = wait.map(|w| std::time::Instant::now() + w);
    // A URL that cannot be asked will not become one: said at once.
    let hopeless = |answer: &Result<u16, GetError>| matches!(answer, Err(GetError::Unusable(_)));
    let mut answer = probe(url);
    while let Some(deadline) = deadline {
        if answer == Ok(200) || hopeless(&answer) || std::time::Instant::now() + RETRY > deadline {
            break;
        }
        std::thread::sleep(RETRY);
        answer = probe(url);
    }
    if answer != Ok(200)
        && !hopeless(&answer)
        && let Some(wait) = wait
    {
        eprintln!("tenet: {url}: not ready after {} s", wait.as_secs_f64());
    }
    match answer {
        Ok(status) if status == 200 => {
            outln!("{url}: {status}");
            ExitCode::SUCCESS
        }
        Ok(status) => {
            eprintln!("tenet: {url}: HTTP {status}");
            if status == 404 {
                eprintln!("tenet: hint: {}", not_found_hint(url));
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("tenet: {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What to try when the URL answers 404: `tenet serve` answers health checks at
/// `/health` (and MCP at `/mcp`).
fn not_found_hint(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("`tenet serve --transport http` answers health checks at /health: try http://{authority}/health")
}

fn probe(url: &str) -> Result<u16, GetError> {
    let mut stream = send_get(url, None)?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(GetError::unreachable)?;
    status_of(&String::from_utf8_lossy(&head[..n]))
}

/// Why [`get`] (or a health check) has no answer; its text says so for a person.
#[derive(Debug, PartialEq, Eq)]
pub enum GetError {
    /// The URL or the token cannot be used: nothing was sent.
    Unusable(String),
    /// No server answered: no connection, or it broke before an answer.
    Unreachable(String),
    /// Something answered, but not with an HTTP answer within the bounds [`get`] keeps.
    NotHttp(String),
}

impl GetError {
    fn unreachable(e: std::io::Error) -> Self {
        GetError::Unreachable(e.to_string())
    }
}

impl std::fmt::Display for GetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GetError::Unusable(why) | GetError::Unreachable(why) | GetError::NotHttp(why) => f.write_str(why),
        }
    }
}

/// GETs `url` (plain `http://` only), with `token` as `Authorization: Bearer` if given,
/// and returns the status and the whole body (the server closes the connection after it).
///
/// # Errors
/// What kept it from getting an HTTP answer ([`GetError`]), a token that cannot be sent
/// in a header among them.
pub fn get(url: &str, token: Option<&str>) -> Result<(u16, String), GetError> {
    let mut stream = send_get(url, token)?;
    // Bounded in size and in time, whatever the server does: a page larger than any
    // status page, or one trickled a byte at a time, is an error, not a hang.
    let began = Instant::now();
    let mut response = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).map_err(GetError::unreachable)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
        if response.len() > MAX_PAGE_BYTES {
            return Err(GetError::NotHttp(format!("the answer is larger than {} MiB", MAX_PAGE_BYTES >> 20)));
        }
        if began.elapsed() > PAGE_DEADLINE {
            return Err(GetError::NotHttp(format!("the answer took longer than {} s", PAGE_DEADLINE.as_secs())));
        }
    }
    let at = response.windows(4).position(|w| w == b"\r\n\r\n");
    let (head, body) = at.map_or((&response[..], &[][..]), |at| (&response[..at], &response[at + 4..]));
    let head = String::from_utf8_lossy(head);
    let status = status_of(&head)?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked { dechunk(body) } else { body.to_vec() };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The most of an answer [`get`] reads.
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// How long [`get`] waits for a whole answer.
const PAGE_DEADLINE: Duration = Duration::from_secs(30);

/// The body of a chunked HTTP/1.1 response, as bytes: a chunk may end inside a
/// character.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&rest[..end]);
        let Ok(size) = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16) else { break };
        let after = &rest[end + 2..];
        if size == 0 || after.len() < size {
            break;
        }
        body.extend_from_slice(&after[..size]);
        rest = after[size..].strip_prefix(b"\r\n").unwrap_or(&after[size..]);
    }
    body
}

/// The status code of an HTTP/1.x response's first line.
fn status_of(text: &str) -> Result<u16, GetError> {
    text.strip_prefix("HTTP/1.1 ")
        .or_else(|| text.strip_prefix("HTTP/1.0 "))
        .and_then(|s| s.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| GetError::NotHttp(format!("not an HTTP answer: {:?}", text.lines().next().unwrap_or_default())))
}

/// Connects to `url`'s host and sends a GET for its path.
fn send_get(url: &str, token: Option<&str>) -> Result<TcpStream, GetError> {
    if token.is_some_and(|t| t.chars().any(char::is_control)) {
        return Err(GetError::Unusable("the token (TENET_TOKEN) holds a control character".to_owned()));
    }
    let rest =
        url.strip_prefix("http://").ok_or_else(|| GetError::Unusable("only http:// URLs can be checked".to_owned()))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |at| rest.split_at(at));
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| GetError::Unusable(format!("bad address {authority:?}: {e}")))?
        .next()
        .ok_or_else(|| GetError::Unreachable(format!("{authority:?} resolves to nothing")))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(GetError::unreachable)?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(GetError::unreachable)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(GetError::unreachable)?;
    // One write: `write!` on an unbuffered stream sends each piece as its own segment.
    let authorization = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n{authorization}\r\n");
    stream.write_all(request.as_bytes()).map_err(GetError::unreachable)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn answer_once(reply: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            // Read the whole request first: closing with unread bytes would reset the
            // connection, and the client would see that instead of the reply.
            let mut request = Vec::new();
            let mut buf = [0u8; 512];
            while !request.ends_with(b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = conn.write_all(reply.as_bytes());
        });
        format!("http://{addr}/health")
    }

    #[test]
    fn reads_the_status_code() {
        assert_eq!(probe(&answer_once("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")), Ok(200));
        assert_eq!(probe(&answer_once("HTTP/1.1 503 Service Unavailable\r\n\r\n")), Ok(503));
        let not_http = probe(&answer_once("SSH-2.0-OpenSSH\r\n")).unwrap_err();
        assert!(matches!(&not_http, GetError::NotHttp(why) if why.contains("not an HTTP answer")), "{not_http:?}");
    }

    #[test]
    fn reads_whole_bodies_plain_or_chunked() {
        let plain = answer_once("HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n{\"a\":1}");
        assert_eq!(get(&plain, None), Ok((200, "{\"a\":1}".to_owned())));
        let chunked =
            answer_once("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n");
        assert_eq!(get(&chunked, None), Ok((200, "{\"a\":1}".to_owned())));
        // A chunk may end inside a character: `é` is two bytes, sent one a chunk.
        assert_eq!(dechunk(b"1\r\n\xc3\r\n1\r\n\xa9\r\n0\r\n\r\n"), "\u{e9}".as_bytes());
        assert_eq!(dechunk(b"zz\r\n"), b"");
    }

    #[test]
    fn refuses_what_it_cannot_check() {
        let https = probe("https://127.0.0.1/health").unwrap_err();
        assert!(matches!(&https, GetError::Unusable(why) if why.contains("only http://")), "{https:?}");
        let token = get("http://127.0.0.1:1/health", Some("a\r\nX-Injected: 1")).unwrap_err();
        assert!(matches!(&token, GetError::Unusable(why) if why.contains("control character")), "{token:?}");
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let refused = probe(&format!("http://{closed}/health")).unwrap_err();
        assert!(matches!(refused, GetError::Unreachable(_)), "{refused:?}");
    }
}
