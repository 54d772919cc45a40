//! A server run as a child process: its stdin and stdout carry MCP, its stderr passes
//! through to ours. Shutdown closes stdin, waits, then sends SIGTERM, then SIGKILL.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

use crate::error::{ClientError, Result};

/// How long each shutdown step waits for the process to exit.
const GRACE: Duration = Duration::from_secs(2);

/// A running server process.
pub(crate) struct ChildProcess {
    child: Mutex<Child>,
}

/// Starts `program` with `args` and the inherited environment changed by `env` (each
/// variable set, or removed when `None`, in order), with piped stdin/stdout and
/// inherited stderr.
pub(crate) fn spawn(
    program: &str,
    args: &[String],
    env: &[(String, Option<String>)],
) -> Result<(ChildProcess, ChildStdout, ChildStdin)> {
    let mut command = Command::new(program);
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
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ClientError::Connect(format!("cannot start {program}: {e}")))?;
    let stdout = child.stdout.take().ok_or_else(|| ClientError::Connect("no stdout pipe".into()))?;
    let stdin = child.stdin.take().ok_or_else(|| ClientError::Connect("no stdin pipe".into()))?;
    Ok((ChildProcess { child: Mutex::new(child) }, stdout, stdin))
}

impl ChildProcess {
    /// How it ended, if it has within `within` (as it closes its output, say).
    pub(crate) async fn ended(&self, within: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(within, async { self.child.lock().await.wait().await.ok() }).await.ok().flatten()
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
