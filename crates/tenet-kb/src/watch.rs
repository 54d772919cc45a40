//! Watching root folders for changes, with debouncing.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};

/// Watches folders; calls back once per burst of changes. Stops when dropped.
pub struct Watcher {
    _inner: notify::RecommendedWatcher,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// Watches `dirs` recursively. After a change, waits until nothing has changed for
/// `quiet`, then calls `on_change` (on a thread of its own, one call at a time).
///
/// # Errors
/// When the operating system refuses to watch a folder.
pub fn watch(
    dirs: &[PathBuf],
    quiet: Duration,
    on_change: impl Fn() + Send + 'static,
) -> Result<Watcher, notify::Error> {
    let (tx, rx) = mpsc::channel::<()>();
    let mut inner = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = event.is_ok_and(|e| !e.kind.is_access() && !e.kind.is_other());
        if relevant {
            // The receiver lives as long as the watcher.
            let _ = tx.send(());
        }
    })?;
    for dir in dirs {
        inner.watch(dir, RecursiveMode::Recursive)?;
    }
    std::thread::Builder::new()
        .name("tenet-watch".into())
        .spawn(move || {
            // Ends when the watcher (and with it the sender) is dropped.
            while rx.recv().is_ok() {
                loop {
                    match rx.recv_timeout(quiet) {
                        Ok(()) => {}
                        Err(mpsc::RecvTimeoutError::Timeout) => break,
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
                on_change();
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(Watcher { _inner: inner })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    #[test]
    fn a_burst_of_writes_is_one_callback() {
        let dir = tempfile::tempdir().unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let _w = watch(&[dir.path().to_path_buf()], Duration::from_millis(150), move || {
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("f{i}.md")), "x").unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while calls.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
