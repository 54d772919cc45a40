//! HTTP ceiling: hyper 1.x on a current-thread runtime, TCP_NODELAY, parse
//! the JSON-RPC body with serde, write the echo result. No MCP semantics; the
//! fastest anything real can answer this request on this machine.

use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Bytes, server::conn::http1, service::service_fn};
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

async fn handle(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let body = req.into_body().collect().await?.to_bytes();
    let (status, out) = match serde_json::from_slice::<Call>(&body) {
        Ok(c) => (200, json!({"jsonrpc":"2.0","id":c.id,"result":{"content":[{"type":"text","text":c.params.arguments.text}]}})),
        Err(e) => (400, json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":e.to_string()}})),
    };
    let resp = Response::builder().status(status).header("content-type", "application/json");
    Ok(resp.body(Full::new(Bytes::from(serde_json::to_vec(&out).unwrap_or_default()))).unwrap_or_default())
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(3034);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(tcp);
                let _ = http1::Builder::new().serve_connection(io, service_fn(handle)).await;
            });
        }
    })
}
