//! Serving one client over a message-level connection: a bounded stream of inbound
//! frames and a channel of encoded messages, with nothing lost at the end. Byte
//! pipes (stdio, a child's pipes, an in-memory pipe) are one such connection, framed
//! one JSON message per line.

use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use tenet_transport::{Frame, JsonLinesCodec, write_lines};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::{Driver, DriverOptions};
use crate::server::Server;
use crate::session::Outbound;

/// How many encoded messages may wait for the writer.
pub const OUTBOUND_CAPACITY: usize = 1024;

/// What ends a connection's input, and so what becomes of the work in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hangup {
    /// The client is done sending but still reads (stdio at EOF): every request in
    /// flight is answered.
    Drain,
    /// The client is gone (a socket closed): requests in flight are cancelled.
    Cancel,
}

impl Server {
    /// Serves one client reading messages from `reader` and writing to `writer`, until
    /// the reader ends or `shutdown` fires. Then it stops reading, lets every request
    /// in flight finish, writes every response, flushes, and returns.
    ///
    /// At most `max_concurrent_requests` requests run at once; past that the reader
    /// waits, so a burst of input cannot grow memory without bound.
    ///
    /// # Errors
    /// An I/O error from the reader or writer.
    pub async fn serve<R, W>(&self, reader: R, writer: W, shutdown: CancellationToken) -> std::io::Result<()>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        self.serve_as(reader, writer, shutdown, None).await
    }

    /// [`Server::serve`] for a client holding `grant`: lists show only what it covers
    /// and using anything else is refused (`None`: no access control).
    ///
    /// # Errors
    /// An I/O error from the reader or writer.
    pub async fn serve_as<R, W>(
        &self,
        reader: R,
        writer: W,
        shutdown: CancellationToken,
        grant: Option<Arc<crate::grant::Grant>>,
    ) -> std::io::Result<()>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (out, rx) = mpsc::channel(OUTBOUND_CAPACITY);
        let writer = tokio::spawn(write_lines(rx, writer));
        let frames = FramedRead::new(reader, JsonLinesCodec::new(self.shared.config.max_message_bytes));
        // A stream has one client: its requests share one bucket, and one share, its
        // principal's when it has one (as over every other transport).
        let caller = Some(Arc::from(
            crate::grant::share_key(grant.as_deref(), None).unwrap_or_else(|| crate::grant::STDIO_CALLER.to_owned()),
        ));
        let options = DriverOptions { shutdown, grant, caller, ..DriverOptions::default() };
        let result = self.serve_frames(frames, out, options, Hangup::Drain).await;
        match writer.await {
            Ok(Ok(())) => result,
            Ok(Err(e)) => Err(e),
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// Serves one client over a message-level connection: `frames` are read one at a
    /// time (the stream is only polled when the driver can take more, so a bounded
    /// source gets back-pressure), answers and notifications go to `out`. Returns once
    /// the input ends or `options.shutdown` fires and the work in flight is settled as
    /// `hangup` says (on shutdown it is always drained), with every answer handed to
    /// `out`.
    ///
    /// # Errors
    /// The first error the frame stream yields.
    pub async fn serve_frames<S>(
        &self,
        frames: S,
        out: Outbound,
        options: DriverOptions,
        hangup: Hangup,
    ) -> std::io::Result<()>
    where
        S: Stream<Item = std::io::Result<Frame>> + Unpin,
    {
        let shutdown = options.shutdown.clone();
        let driver = Driver::new(self.clone(), out, options);
        let mut frames = frames;
        let mut result = Ok(());
        let mut cancel = false;
        loop {
            let frame = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                frame = frames.next() => frame,
            };
            match frame {
                None => {
                    cancel = hangup == Hangup::Cancel;
                    break;
                }
                Some(Err(e)) => {
                    cancel = hangup == Hangup::Cancel;
                    result = Err(e);
                    break;
                }
                Some(Ok(Frame::Oversized { limit })) => driver.refuse_oversized(limit).await,
                Some(Ok(Frame::Message(bytes))) => driver.receive(&bytes).await,
            }
        }
        if cancel {
            driver.close().await;
        } else {
            driver.drain().await;
        }
        result
    }
}
