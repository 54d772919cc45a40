//! Writing encoded messages to a pipe, coalescing bursts.

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// How many bytes to gather before writing, under load.
const BATCH_BYTES: usize = 64 * 1024;

/// Writes every buffer received on `rx` to `out`, in order, until every sender is gone.
///
/// Buffers that are already waiting are written together, and `out` is flushed whenever
/// the channel runs dry, so one request at a time gets its answer at once and a burst is
/// written in large chunks. Returns after a final flush, or at the first write error.
///
/// # Errors
/// The first I/O error from `out`.
pub async fn write_lines<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<Vec<u8>>, mut out: W) -> std::io::Result<()> {
    let mut batch: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
    while let Some(first) = rx.recv().await {
        if first.len() >= BATCH_BYTES {
            out.write_all(&first).await?;
        } else {
            batch.extend_from_slice(&first);
        }
        while batch.len() < BATCH_BYTES {
            match rx.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            out.write_all(&batch).await?;
            batch.clear();
        }
        if rx.is_empty() {
            out.flush().await?;
        }
    }
    out.flush().await?;
    out.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_everything_in_order_then_returns() {
        let (tx, rx) = mpsc::channel(4);
        let mut sink = Vec::new();
        let producer = tokio::spawn(async move {
            for i in 0..100 {
                tx.send(format!("{i}\n").into_bytes()).await.unwrap();
            }
        });
        write_lines(rx, &mut sink).await.unwrap();
        producer.await.unwrap();
        let expected: String = (0..100).map(|i| format!("{i}\n")).collect();
        assert_eq!(String::from_utf8(sink).unwrap(), expected);
    }
}
