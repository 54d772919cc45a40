//! A server run as a child process: its stdin and stdout carry MCP, its stderr passes
//! through to ours or is logged line by line. Shutdown closes stdin, waits, then sends
//! SIGTERM, then SIGKILL.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::error::{ClientError, Result};

/// How long each shutdown step waits for the process to exit.
const GRACE: Duration = Duration::from_secs(2);

/// The longest piece of a stderr line logged as one: a longer line comes in pieces.
const MAX_STDERR_LINE: u64 = 4096;

/// A running server process.
pub(crate) struct ChildProcess {
    child: Mutex<Child>,
    /// Its stderr, when it is logged rather than passed through.
    stderr: Option<Stderr>,
}

/// A server's stderr, read and logged line by line.
struct Stderr {
    reading: Mutex<Option<JoinHandle<()>>>,
}

/// Starts `program` with `args` and the inherited environment (none when `clear_env`)
/// changed by `env` (each variable set, or removed when `None`, in order), with piped
/// stdin/stdout; its stderr is logged under `stderr_label` when there is one, else
/// inherited.
pub(crate) fn spawn(
    program: &str,
    args: &[String],
    env: &[(String, Option<String>)],
    clear_env: bool,
    stderr_label: Option<&str>,
) -> Result<(ChildProcess, ChildStdout, ChildStdin)> {
    let mut command = Command::new(program);
    if clear_env {
        command.env_clear();
    }
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if stderr_label.is_some() { Stdio::piped() } else { Stdio::inherit() })
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ClientError::Connect(format!("cannot start {program}: {e}")))?;
    let stdout = child.stdout.take().ok_or_else(|| ClientError::Connect("no stdout pipe".into()))?;
    let stdin = child.stdin.take().ok_or_else(|| ClientError::Connect("no stdin pipe".into()))?;
    let stderr = stderr_label.zip(child.stderr.take()).map(|(label, stderr)| {
        let reading = tokio::spawn(log_lines(stderr, label.to_owned()));
        Stderr { reading: Mutex::new(Some(reading)) }
    });
    Ok((ChildProcess { child: Mutex::new(child), stderr }, stdout, stdin))
}

/// Logs each line of `stderr` under `label`: a line ends at `\n` or `\r` (a progress
/// bar's), and one longer than [`MAX_STDERR_LINE`] comes in pieces.
async fn log_lines(stderr: ChildStderr, label: String) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(MAX_STDERR_LINE).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        for piece in line.split(|&b| b == b'\r' || b == b'\n') {
            let text = String::from_utf8_lossy(piece);
            let text = text.trim_end();
            if !text.is_empty() {
                tracing::info!(target: "tenet_client::stderr", server = %label, "{text}");
            }
        }
    }
}

impl ChildProcess {
    /// How it ended ("exited (exit status: 3)"), if it has within `within` (as it
    /// closes its output, say). What it wrote last on a logged stderr is logged first.
    pub(crate) async fn ended(&self, within: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + within;
        let status = tokio::time::timeout_at(deadline, async { self.child.lock().await.wait().await.ok() })
            .await
            .ok()
            .flatten()?;
        let reading = match &self.stderr {
            Some(stderr) => stderr.reading.lock().await.take(),
            None => None,
        };
        if let Some(reading) = reading {
            // (Left running, detached, past the deadline: a child of the server may
            // hold its stderr open.)
            let _ = tokio::time::timeout_at(deadline, reading).await;
        }
        Some(format!("exited ({status})"))
    }

    /// Waits for the process to exit after its stdin was closed; then SIGTERM; then
    /// SIGKILL. Never returns before the process is gone (or cannot be signalled).
    pub(crate) async fn shutdown(&self) {
        let mut child = self.child.lock().await;
        if tokio::time::timeout(GRACE, child.wait()).await.is_ok() {
            return;
        }
        if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()).and_then(rustix::process::Pid::from_raw) {
            tracing::debug!(pid = pid.as_raw_nonzero().get(), "the server ignored EOF; sending SIGTERM");
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            if tokio::time::timeout(GRACE, child.wait()).await.is_ok() {
                return;
            }
        }
        tracing::debug!("the server ignored SIGTERM; killing it");
        let _ = child.kill().await;
    }
}
