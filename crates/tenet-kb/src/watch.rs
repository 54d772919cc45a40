//! Watching root folders for changes, with debouncing: one call per burst of changes,
//! with the paths that changed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher as _};

/// How long the watcher waits for quiet after a change by default: long enough to
/// coalesce an editor's save (write a temporary file, rename it over the original,
/// touch its attributes — all within a few milliseconds), short enough that a
/// single edit is served within a tenth of a second.
pub const QUIET: Duration = Duration::from_millis(40);

/// The longest a burst is held back: changes that never stop (a large checkout) are
/// still handled at least this often.
pub const MAX_DELAY: Duration = Duration::from_millis(400);

/// What changed in one burst.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The paths the operating system reported (files or folders, created, modified,
    /// removed, or either side of a rename), sorted and without repeats.
    pub paths: BTreeSet<PathBuf>,
    /// Whether events were lost (an overflowing queue, a watch error), so only a full
    /// reload can be trusted.
    pub rescan: bool,
}

/// Watches folders; calls back once per burst of changes. Stops when dropped.
pub struct Watcher {
    _inner: notify::RecommendedWatcher,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// Watches `dirs` recursively, without following symbolic links: pass the roots and
/// the folders links are allowed to lead to ([`crate::LinkPolicy::allowed`]). A change
/// reaches `on_change` with its real path, never one through a link: an edit of a file
/// a link in a root leads to (`.sources/kotlin/testing.md` for the link `kotlin`) comes
/// as the file's own path, which [`crate::KnowledgeBase::update`] maps back to the
/// documents read through the link, and a change in an allowed folder comes with its
/// path there, which `update` answers with a full reload. After a change, waits until
/// nothing has changed for `quiet` (but no longer than [`MAX_DELAY`] after the burst's
/// first change), then calls `on_change` with what changed (on a thread of its own, one
/// call at a time; changes during a call make the next one).
///
/// # Errors
/// When the operating system refuses to watch a folder.
pub fn watch(
    dirs: &[PathBuf],
    quiet: Duration,
    on_change: impl Fn(Changes) + Send + 'static,
) -> Result<Watcher, notify::Error> {
    let (tx, rx) = mpsc::channel::<Changes>();
    let handler = move |event: notify::Result<notify::Event>| {
        let changes = match event {
            Ok(e) if e.kind.is_access() => return,
            Ok(e) if e.kind.is_other() && !e.need_rescan() => return,
            Ok(e) => Changes { rescan: e.need_rescan(), paths: e.paths.into_iter().collect() },
            Err(_) => Changes { paths: BTreeSet::new(), rescan: true },
        };
        // The receiver lives as long as the watcher.
        let _ = tx.send(changes);
    };
    // Links are not followed: one to a folder outside a root (`/`, say) would have the
    // whole tree under it watched. Loading follows links only into the root or into
    // the folders a `LinkPolicy` allows, and those are passed here as `dirs` too.
    let config = notify::Config::default().with_follow_symlinks(false);
    let mut inner = notify::RecommendedWatcher::new(handler, config)?;
    for dir in dirs {
        inner.watch(dir, RecursiveMode::Recursive)?;
    }
    std::thread::Builder::new()
        .name("tenet-watch".into())
        .spawn(move || {
            // Ends when the watcher (and with it the sender) is dropped.
            while let Ok(mut burst) = rx.recv() {
                let deadline = Instant::now() + MAX_DELAY;
                loop {
                    let wait = quiet.min(deadline.saturating_duration_since(Instant::now()));
                    match rx.recv_timeout(wait) {
                        Ok(more) => {
                            burst.paths.extend(more.paths);
                            burst.rescan |= more.rescan;
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => break,
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
                on_change(burst);
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(Watcher { _inner: inner })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    #[test]
    fn a_burst_of_writes_is_one_callback_with_every_path() {
        let dir = tempfile::tempdir().unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let paths = Arc::new(Mutex::new(BTreeSet::new()));
        let (seen, seen_paths) = (calls.clone(), paths.clone());
        let _w = watch(&[dir.path().to_path_buf()], Duration::from_millis(150), move |changes| {
            seen.fetch_add(1, Ordering::SeqCst);
            seen_paths.lock().unwrap().extend(changes.paths);
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
        let paths = paths.lock().unwrap();
        for i in 0..5 {
            let name = format!("f{i}.md");
            assert!(paths.iter().any(|p| p.ends_with(&name)), "{name} missing from {paths:?}");
        }
    }

    #[test]
    #[cfg(unix)]
    fn links_to_folders_are_not_watched_through() {
        let (dir, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::os::unix::fs::symlink(outside.path(), dir.path().join("outside")).unwrap();
        let paths = Arc::new(Mutex::new(BTreeSet::new()));
        let seen = paths.clone();
        let _w = watch(&[dir.path().to_path_buf()], Duration::from_millis(20), move |changes| {
            seen.lock().unwrap().extend(changes.paths);
        })
        .unwrap();
        std::fs::write(outside.path().join("secret.md"), "x").unwrap();
        // A change in the root itself, to know that events arrive at all.
        std::fs::write(dir.path().join("inside.md"), "x").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !paths.lock().unwrap().iter().any(|p| p.ends_with("inside.md")) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        let paths = paths.lock().unwrap();
        assert!(paths.iter().any(|p| p.ends_with("inside.md")), "{paths:?}");
        assert!(!paths.iter().any(|p| p.ends_with("secret.md")), "watched through the link: {paths:?}");
    }
}
