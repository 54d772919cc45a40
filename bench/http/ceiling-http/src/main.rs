//! HTTP ceiling and relay floor, both hyper 1.x on a current-thread runtime with
//! TCP_NODELAY.
//!
//! - `ceiling-http <port>`: parse the JSON-RPC body with serde, write the echo
//!   result. No MCP semantics; the fastest anything real can answer this request on
//!   this machine.
//! - `ceiling-http <port> <upstream base, e.g. http://127.0.0.1:3099>`: the floor
//!   under any HTTP → HTTP gateway. Each request's method, headers and body go,
//!   unparsed, to a pooled keep-alive hyper client for the upstream, and the upstream's
//!   status, headers and body come back. No MCP, no JSON, no checks: the two hops.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, HOST, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri, server::conn::http1, service::service_fn};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Call {
    id: Value,
    params: Params,
}
#[derive(Deserialize)]
struct Params {
    arguments: Args,
}
#[derive(Deserialize)]
struct Args {
    text: String,
}

type Answer = Response<Full<Bytes>>;

async fn echo(req: Request<Incoming>) -> Result<Answer, hyper::Error> {
    let body = req.into_body().collect().await?.to_bytes();
    let (status, out) = match serde_json::from_slice::<Call>(&body) {
        Ok(c) => (
            200,
            json!({"jsonrpc":"2.0","id":c.id,"result":{"content":[{"type":"text","text":c.params.arguments.text}]}}),
        ),
        Err(e) => (400, json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":e.to_string()}})),
    };
    let resp = Response::builder().status(status).header("content-type", "application/json");
    Ok(resp.body(Full::new(Bytes::from(serde_json::to_vec(&out).unwrap_or_default()))).unwrap_or_default())
}

/// The relay's upstream: one pooled keep-alive client, and the base URL paths go under.
struct Upstream {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

async fn relay(up: &Upstream, req: Request<Incoming>) -> Result<Answer, hyper::Error> {
    let forwarded = async {
        let (mut parts, body) = req.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("{}{path}", up.base).parse::<Uri>().map_err(|e| e.to_string())?;
        parts.headers.remove(HOST);
        parts.headers.remove(CONNECTION);
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        let answer = up.client.request(Request::from_parts(parts, Full::new(body))).await.map_err(|e| e.to_string())?;
        let (parts, body) = answer.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok::<_, String>(Response::from_parts(parts, Full::new(body)))
    };
    Ok(forwarded.await.unwrap_or_else(|why| {
        let mut answer = Response::new(Full::new(Bytes::from(why)));
        *answer.status_mut() = StatusCode::BAD_GATEWAY;
        answer.headers_mut().insert("content-type", HeaderValue::from_static("text/plain"));
        answer
    }))
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(3034);
    let upstream: Option<&'static Upstream> = args.next().map(|base| {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(256).build(connector);
        &*Box::leak(Box::new(Upstream { client, base }))
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            tokio::spawn(async move {
                let service = service_fn(|req| async move {
                    match upstream {
                        Some(up) => relay(up, req).await,
                        None => echo(req).await,
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
            });
        }
    })
}
