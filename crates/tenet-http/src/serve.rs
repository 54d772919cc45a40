//! Accepting connections: TCP_NODELAY on each, a cap on how many are served at once
//! and on how many of them one client address holds, a header-read timeout against
//! slowloris, and graceful shutdown.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tenet_server::{CancellationToken, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::addresses::Addresses;
use crate::config::HttpConfig;
use crate::response;
use crate::router::Endpoint;

/// Binds `config.host:config.port` and serves `server` until `shutdown` fires.
///
/// # Errors
/// When the address cannot be bound, or accepting fails for good.
pub async fn serve(server: Server, config: HttpConfig, shutdown: CancellationToken) -> io::Result<()> {
    let listener = TcpListener::bind((config.host, config.port)).await?;
    serve_listener(listener, server, config, shutdown).await
}

/// Serves `server` on an already bound listener until `shutdown` fires; then stops
/// accepting, lets requests in flight finish (at most `config.shutdown_grace`), ends
/// the streams still open, and returns.
///
/// # Errors
/// When accepting fails for good.
pub async fn serve_listener(
    listener: TcpListener,
    server: Server,
    config: HttpConfig,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let metrics = server.metrics().clone();
    let endpoint = Endpoint::new(server, config.clone(), shutdown.clone());
    let router = endpoint.router();
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let addresses = Addresses::new(config.connections_per_address());
    let trusted = crate::forwarded::Trusted::new(&config.trusted_proxies);
    let refusing = Arc::new(Semaphore::new(REFUSING));
    // Said before any request is read, so as whole responses written by hand.
    let busy: Arc<[u8]> =
        response::refusal("503 Service Unavailable", "Service Unavailable: too many connections").into();
    let too_many: Arc<[u8]> = response::refusal(
        "429 Too Many Requests",
        &format!(
            "Too Many Requests: this address holds {} connections, its share; close one or retry",
            addresses.share()
        ),
    )
    .into();
    let mut connections = JoinSet::new();
    let mut result = Ok(());
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let stream = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_transient(&e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let (stream, peer) = stream;
        let _ = stream.set_nodelay(true);
        // A full server says so (503) before an address is told it holds its share (429).
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.refused(503);
            refuse(&mut connections, &refusing, stream, &busy);
            continue;
        };
        // A trusted proxy brings many clients' connections: only the total bounds it.
        let seat = if trusted.as_ref().is_some_and(|t| t.contains(peer.ip())) {
            None
        } else if let Some(seat) = addresses.seat(peer.ip()) {
            Some(seat)
        } else {
            drop(slot);
            metrics.refused(429);
            refuse(&mut connections, &refusing, stream, &too_many);
            continue;
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
            .serve_connection(
                TokioIo::new(stream),
                crate::unread::CloseUnread(TowerToHyperService::new(router.clone())),
            )
            .with_upgrades();
        let stop = shutdown.clone();
        // The peer is known to every request of the connection through `PEER`, which
        // costs nothing until asked (an extension on each request cost ~1 000
        // instructions a request: the performance gate).
        connections.spawn(crate::caller::PEER.scope(peer, async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = stop.cancelled() => {
                    // Finish the request in progress, then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!("connection ended: {e}");
            }
            drop((slot, seat));
        }));
    }
    drop(listener);
    // Requests in flight finish, and WebSocket sockets answer theirs and close.
    let finished = async {
        while connections.join_next().await.is_some() {}
        endpoint.sockets_closed().await;
    };
    if tokio::time::timeout(config.shutdown_grace, finished).await.is_err() {
        tracing::warn!("connections still open after {:?}; closing them", config.shutdown_grace);
    }
    endpoint.close();
    connections.shutdown().await;
    result
}

/// How many refused connections are answered at once, each for at most a second; past
/// it, one is closed without a word.
const REFUSING: usize = 256;

/// Tells a connection past a bound to come back later (`answer`, a whole response) and
/// closes it, while there is room for that (`refusing`), else closes it at once.
fn refuse(connections: &mut JoinSet<()>, refusing: &Arc<Semaphore>, mut stream: TcpStream, answer: &Arc<[u8]>) {
    let Ok(held) = refusing.clone().try_acquire_owned() else { return };
    let answer = answer.clone();
    connections.spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            stream.write_all(&answer).await?;
            stream.shutdown().await?;
            // Closed with its request unread, the connection would be reset, and the
            // answer could be lost on the way: what the client still sends is read
            // and dropped until it closes.
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<(), io::Error>(())
        })
        .await;
        drop(held);
    });
}

fn is_transient(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted)
        || e.raw_os_error().is_some_and(|code| code == 23 || code == 24)
}
