//! Newline-delimited JSON-RPC over a pair of pipes: a child process's stdio, or an
//! in-memory pipe.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tenet_transport::{Frame, JsonLinesCodec};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;
use tokio_util::task::AbortOnDropHandle;

use super::Answer;
use super::child::ChildProcess;
use super::pending::{Pending, route};
use super::{OUTBOX, Outgoing, Transport};
use crate::error::{ClientError, Result};
use crate::inbound::Inbound;

/// How long closing waits for queued messages to be written.
const WRITER_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// How long closing waits, once the server has exited, for the rest of what it wrote
/// to be read.
const READER_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a server process that closed its output is given to exit, for its exit
/// status to say why the connection ended.
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// How much of the server's output a read takes, to begin with (the buffer grows for a
/// longer line). A busy server answers in bursts: with tokio's default of 8 KiB, a
/// gateway relaying 100,000 pipelined calls made 4,833 reads in all (its own input's
/// included) where it makes 2,615 with this.
const READ_BUFFER: usize = 64 * 1024;

/// A transport over a reader and a writer of JSON lines.
pub(crate) struct PipeTransport {
    sender: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
    pending: Arc<Pending>,
    reader: Mutex<Option<JoinHandle<()>>>,
    writer: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
    child: Option<Arc<ChildProcess>>,
    /// Set as closing starts: what then ends the connection is the close.
    closing: Arc<AtomicBool>,
}

impl PipeTransport {
    /// Starts reading `read` (lines of at most `max_line` bytes; longer ones are
    /// skipped) and writing `write`; `child` is shut down on close.
    pub(crate) fn new<R, W>(
        read: R,
        write: W,
        max_line: usize,
        inbound: Arc<Inbound>,
        child: Option<ChildProcess>,
    ) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let (tx, rx) = mpsc::channel(OUTBOX);
        let writer = tokio::spawn(tenet_transport::write_lines(rx, write));
        let pending = Arc::new(Pending::default());
        // The reader answers the server's requests through the outbox without holding it
        // open: closing the client closes the server's input while its output is still read.
        let child = child.map(Arc::new);
        let closing = Arc::new(AtomicBool::new(false));
        let end = End { child: child.clone(), closing: Arc::clone(&closing) };
        let reader = tokio::spawn(read_loop(read, max_line, Arc::clone(&pending), inbound, tx.downgrade(), end));
        Self {
            sender: Mutex::new(Some(tx)),
            pending,
            reader: Mutex::new(Some(reader)),
            writer: Mutex::new(Some(writer)),
            child,
            closing,
        }
    }

    fn sender(&self) -> Result<mpsc::Sender<Vec<u8>>> {
        self.sender
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .ok_or_else(|| ClientError::Closed("the client was closed".into()))
    }

    async fn send(&self, line: Vec<u8>) -> Result<()> {
        let closed = || ClientError::Closed("the server's input is closed".into());
        // Most messages find room at once: queued under the lock, without a copy of the
        // sender; only a full queue waits (on a copy, outside the lock).
        let line = {
            let sender = self.sender.lock().map_err(|_| ClientError::Closed("poisoned".into()))?;
            let Some(sender) = sender.as_ref() else { return Err(ClientError::Closed("the client was closed".into())) };
            match sender.try_send(line) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(line)) => line,
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(closed()),
            }
        };
        self.sender()?.send(line).await.map_err(|_| closed())
    }
}

/// What the reader tells of the connection's end by.
struct End {
    /// The server's process, whose exit says why its output closed.
    child: Option<Arc<ChildProcess>>,
    /// Whether the client is closing it.
    closing: Arc<AtomicBool>,
}

async fn read_loop<R: AsyncRead + Unpin>(
    read: R,
    max_line: usize,
    pending: Arc<Pending>,
    inbound: Arc<Inbound>,
    replies: mpsc::WeakSender<Vec<u8>>,
    end: End,
) {
    let mut frames = FramedRead::with_capacity(read, JsonLinesCodec::new(max_line), READ_BUFFER);
    let reason = loop {
        match frames.next().await {
            Some(Ok(Frame::Message(line))) => route(&line, &pending, &inbound, &replies),
            Some(Ok(Frame::Oversized { limit })) => tracing::warn!(limit, "skipped an over-long line from the server"),
            Some(Err(e)) => break format!("reading from the server failed: {e}"),
            None => break "the server closed its output".to_owned(),
        }
    };
    // A process that closed its output has most likely exited: how, says why.
    let reason = match &end.child {
        _ if end.closing.load(Ordering::Relaxed) => "the client was closed".to_owned(),
        Some(child) => match child.ended(EXIT_WAIT).await {
            Some(ending) => format!("the server {ending}"),
            None => reason,
        },
        None => reason,
    };
    pending.close(&reason);
}

impl Transport for PipeTransport {
    fn request(&self, outgoing: Outgoing) -> BoxFuture<'_, Result<Answer>> {
        Box::pin(async move { self.pending.exchange(&outgoing.id, self.send(outgoing.body)).await })
    }

    fn notify(&self, _method: String, body: Vec<u8>, _modern: bool) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.send(body))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.closing.store(true, Ordering::Relaxed);
            // Requests still waiting end with the close, however it ends (even dropped
            // half-way, when nothing reads their answers any more).
            let _fail_the_rest = CloseOnDrop(&self.pending);
            // The reader is stopped when this ends, however it ends (even dropped
            // half-way): its task is not left reading.
            let reader = self.reader.lock().ok().and_then(|mut r| r.take()).map(AbortOnDropHandle::new);
            // Dropping the sender ends the writer (once the answers to the server's
            // requests under way are queued), which flushes and closes the server's input.
            self.sender.lock().ok().and_then(|mut s| s.take());
            let writer = self.writer.lock().ok().and_then(|mut w| w.take());
            if let Some(writer) = writer
                && tokio::time::timeout(WRITER_GRACE, writer).await.is_err()
            {
                tracing::debug!("the server's input did not close in time");
            }
            // A server that ends at the end of its input may write before it does (the
            // end of a subscription, answers it still owed): its output is read until it
            // has exited, so that it never finds the pipe closed under it.
            if let Some(child) = &self.child {
                child.shutdown().await;
                if let Some(reader) = reader {
                    let _ = tokio::time::timeout(READER_GRACE, reader).await;
                }
            }
        })
    }
}

/// Fails the requests still waiting when dropped.
struct CloseOnDrop<'a>(&'a Pending);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close("the client was closed");
    }
}

impl Drop for PipeTransport {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.get_mut().ok().and_then(Option::take) {
            reader.abort();
        }
    }
}
