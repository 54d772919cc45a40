//! Symbolic links and special files in a root: only regular files whose real path lies
//! inside the root (or a folder allowed on purpose) are read — at load, on reload, on
//! a live update — and everything else is skipped with a warning naming the link and
//! its target. Nothing may hang or fill memory (FIFOs, devices, loops).

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{doc, write};
use tenet_kb::{KnowledgeBase, LinkPolicy, LinkPolicyError, Root};

/// Runs `f` on a thread of its own and fails the test if it does not finish in time
/// (a read blocked on a FIFO or draining `/dev/zero` would otherwise hang the suite).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("{what} did not finish within 20 s"))
}

fn load(dir: &Path) -> KnowledgeBase {
    let roots = [Root::Dir(dir.to_path_buf())];
    within("loading", move || KnowledgeBase::load(&roots).unwrap())
}

fn warnings(kb: &KnowledgeBase) -> Vec<String> {
    kb.warnings().iter().map(ToString::to_string).collect()
}

/// Asserts that a warning names `file` (as `root:path`) and says `says`.
#[track_caller]
fn warned(kb: &KnowledgeBase, root: &Path, path: &str, says: &str) {
    let file = format!("{}:{path}", root.display());
    let all = warnings(kb);
    assert!(
        all.iter().any(|w| w.starts_with(&file) && w.contains(says)),
        "no warning on {file} saying {says:?}: {all:#?}"
    );
}

/// Whether any served document holds `text` anywhere.
fn serves(kb: &KnowledgeBase, text: &str) -> bool {
    kb.documents().iter().any(|d| d.body.contains(text) || d.title.contains(text))
}

/// A root with one good document, so a load is never empty.
fn root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go/testing.md", &doc("Go testing", "go", "testing", "2026-01-01", "good rules"));
    dir
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn a_link_to_etc_passwd_is_skipped_with_a_warning_naming_it_and_its_target() {
    let dir = root();
    fs::create_dir_all(dir.path().join("python")).unwrap();
    symlink("/etc/passwd", dir.path().join("python/passwd.md")).unwrap();
    let kb = load(dir.path());
    assert!(kb.key("python", "passwd").is_empty());
    assert!(!serves(&kb, "root:"), "the password file is served");
    warned(
        &kb,
        dir.path(),
        "python/passwd.md",
        "skipped: a symbolic link to /etc/passwd, outside the root: not followed",
    );
    assert_eq!(kb.key("go", "testing")[0].title, "Go testing", "the rest still loads");
}

#[test]
fn a_link_to_the_servers_own_environment_is_never_read() {
    let dir = root();
    fs::create_dir_all(dir.path().join("python")).unwrap();
    symlink("/proc/self/environ", dir.path().join("python/environ.md")).unwrap();
    // Through another link inside the root, and with a relative target, too.
    symlink("python/environ.md", dir.path().join("environ.md")).unwrap();
    fs::create_dir_all(dir.path().join("rust")).unwrap();
    symlink("../../../../../../../../../proc/self/environ", dir.path().join("rust/environ.md")).unwrap();
    let kb = load(dir.path());
    assert!(kb.key("python", "environ").is_empty() && kb.key("rust", "environ").is_empty());
    // Cargo gives every test process this variable: its value must appear nowhere.
    assert!(!serves(&kb, "CARGO_PKG_NAME"), "the environment is served");
    warned(&kb, dir.path(), "python/environ.md", "a symbolic link to /proc/self/environ");
    warned(&kb, dir.path(), "python/environ.md", "a system file: never read");
    warned(&kb, dir.path(), "rust/environ.md", "a system file: never read");
    warned(&kb, dir.path(), "environ.md", "a system file: never read");
}

#[test]
fn fifos_and_devices_are_skipped_without_blocking_or_reading() {
    let dir = root();
    let outside = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("go")).unwrap();
    // A FIFO in the root, a link to one in the root and a link to one outside: none
    // has a writer, so opening one for reading the usual way would block for ever.
    mkfifo(&dir.path().join("go/security.md"));
    mkfifo(&dir.path().join("pipe"));
    symlink(dir.path().join("pipe"), dir.path().join("go/patterns.md")).unwrap();
    mkfifo(&outside.path().join("pipe"));
    symlink(outside.path().join("pipe"), dir.path().join("go/performance.md")).unwrap();
    // An endless device: reading it would fill memory.
    symlink("/dev/zero", dir.path().join("go/architecture.md")).unwrap();
    let kb = load(dir.path());
    assert_eq!(kb.documents().len(), 1, "{:#?}", warnings(&kb));
    warned(&kb, dir.path(), "go/security.md", "it is a FIFO, not a regular file: not read");
    let pipe = dir.path().join("pipe");
    warned(&kb, dir.path(), "go/patterns.md", "which is a FIFO, not a regular file: not read");
    warned(&kb, dir.path(), "go/patterns.md", &format!("a symbolic link to {}", pipe.display()));
    warned(&kb, dir.path(), "go/performance.md", "outside the root: not followed");
    warned(&kb, dir.path(), "go/architecture.md", "a symbolic link to /dev/zero, a system file: never read");
}

#[test]
fn a_link_to_a_folder_outside_is_not_walked() {
    let dir = root();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "kotlin/testing.md", &doc("Outside", "kotlin", "testing", "2026-01-01", "secret"));
    symlink(outside.path(), dir.path().join("shared")).unwrap();
    symlink("/etc", dir.path().join("etc")).unwrap();
    symlink("/proc", dir.path().join("proc")).unwrap();
    // The root's parent, which holds the root: a walk up and out.
    symlink("..", dir.path().join("up")).unwrap();
    let kb = load(dir.path());
    assert!(kb.key("kotlin", "testing").is_empty() && !serves(&kb, "secret"));
    let target = outside.path().display().to_string();
    warned(&kb, dir.path(), "shared", &format!("a symbolic link to {target}"));
    warned(&kb, dir.path(), "shared", "outside the root: not followed");
    warned(&kb, dir.path(), "etc", "a symbolic link to /etc, outside the root: not followed");
    warned(&kb, dir.path(), "proc", "a symbolic link to /proc, a system file: never read");
    warned(&kb, dir.path(), "up", "a symbolic link to ..");
    assert_eq!(kb.documents().len(), 1);
}

#[test]
fn links_inside_the_root_load_and_loops_do_not_hang() {
    let dir = root();
    // Hidden, so only reached through the links.
    write(dir.path(), ".sources/rust-testing.txt", &doc("Rust testing", "rust", "testing", "2026-01-01", "linked"));
    write(dir.path(), ".sources/kotlin/security.md", &doc("Kotlin security", "kotlin", "security", "2026-01-01", "k"));
    fs::create_dir_all(dir.path().join("rust")).unwrap();
    symlink("../.sources/rust-testing.txt", dir.path().join("rust/testing.md")).unwrap();
    symlink(dir.path().join(".sources/kotlin"), dir.path().join("kotlin")).unwrap();
    symlink(dir.path().join(".sources/kotlin"), dir.path().join("kotlin-again")).unwrap();
    // Loops: a folder link back to the root, two file links to each other, one to itself.
    symlink(dir.path(), dir.path().join("rust/again")).unwrap();
    symlink("b.md", dir.path().join("rust/a.md")).unwrap();
    symlink("a.md", dir.path().join("rust/b.md")).unwrap();
    symlink("self.md", dir.path().join("rust/self.md")).unwrap();
    let kb = load(dir.path());
    assert_eq!(kb.key("rust", "testing")[0].title, "Rust testing");
    assert_eq!(kb.key("kotlin", "security").len(), 1, "two links to one folder give one document");
    for loop_ in ["rust/a.md", "rust/b.md", "rust/self.md"] {
        warned(&kb, dir.path(), loop_, "that cannot be followed");
    }
    assert!(
        !warnings(&kb).iter().any(|w| w.contains("rust/testing.md") || w.contains("kotlin")),
        "{:#?}",
        warnings(&kb)
    );
}

#[test]
fn a_root_that_is_itself_a_link_loads() {
    let dir = root();
    let holder = tempfile::tempdir().unwrap();
    let link = holder.path().join("standards");
    symlink(dir.path(), &link).unwrap();
    write(dir.path(), ".sources/rust.txt", &doc("Rust testing", "rust", "testing", "2026-01-01", "linked"));
    fs::create_dir_all(dir.path().join("rust")).unwrap();
    symlink("../.sources/rust.txt", dir.path().join("rust/testing.md")).unwrap();
    let kb = load(&link);
    assert_eq!(kb.documents().len(), 2, "{:#?}", warnings(&kb));
    assert!(kb.warnings().is_empty(), "{:#?}", warnings(&kb));
}

#[test]
fn links_to_an_allowed_outside_folder_load() {
    let dir = root();
    let shared = tempfile::tempdir().unwrap();
    write(shared.path(), "kotlin/testing.md", &doc("Shared Kotlin", "kotlin", "testing", "2026-01-01", "shared"));
    write(shared.path(), "rust.md", &doc("Shared Rust", "rust", "testing", "2026-01-01", "shared rust"));
    symlink(shared.path().join("kotlin"), dir.path().join("kotlin")).unwrap();
    fs::create_dir_all(dir.path().join("rust")).unwrap();
    symlink(shared.path().join("rust.md"), dir.path().join("rust/testing.md")).unwrap();
    symlink("/etc/passwd", dir.path().join("rust/passwd.md")).unwrap();
    let roots = [Root::Dir(dir.path().into())];
    let refused = KnowledgeBase::load(&roots).unwrap();
    assert!(refused.key("kotlin", "testing").is_empty() && refused.key("rust", "testing").is_empty());
    let links = LinkPolicy::new().allow(shared.path()).unwrap();
    assert_eq!(links.allowed(), [shared.path().canonicalize().unwrap()]);
    let kb = KnowledgeBase::load_with(&roots, &links).unwrap();
    assert_eq!(kb.key("kotlin", "testing")[0].title, "Shared Kotlin");
    assert_eq!(kb.key("rust", "testing")[0].title, "Shared Rust");
    // Only the allowed folder: everything else outside stays refused, on reload too.
    warned(&kb, dir.path(), "rust/passwd.md", "outside the root: not followed");
    let again = kb.reload().unwrap();
    assert_eq!(again.documents().len(), 3);
    let changed = [dir.path().join("kotlin/testing.md")];
    assert_eq!(kb.update(&changed).unwrap().key("kotlin", "testing")[0].title, "Shared Kotlin");
}

#[test]
fn system_folders_and_missing_ones_cannot_be_allowed() {
    for system in ["/proc", "/proc/self", "/sys", "/dev"] {
        let err = LinkPolicy::new().allow(system).unwrap_err();
        assert!(matches!(err, LinkPolicyError::System { .. }), "{system}: {err}");
    }
    let err = LinkPolicy::new().allow("/definitely/not/here").unwrap_err();
    assert!(err.to_string().starts_with("cannot allow links to /definitely/not/here: "), "{err}");
    let file = tempfile::NamedTempFile::new().unwrap();
    assert!(matches!(LinkPolicy::new().allow(file.path()), Err(LinkPolicyError::NotAFolder { .. })));
}

#[test]
fn a_link_created_after_loading_is_refused_by_the_update_as_by_a_reload() {
    let dir = root();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "go/security.md", &doc("Outside", "go", "security", "2026-01-01", "outside secret"));
    let kb = load(dir.path());
    kb.build_index().unwrap();
    fs::create_dir_all(dir.path().join("python")).unwrap();
    symlink("/proc/self/environ", dir.path().join("python/environ.md")).unwrap();
    symlink("/etc/passwd", dir.path().join("python/passwd.md")).unwrap();
    symlink(outside.path().join("go"), dir.path().join("linked")).unwrap();
    mkfifo(&dir.path().join("python/fifo.md"));
    // The known file becomes a link out: its last good text stays, the outside one is not read.
    fs::remove_file(dir.path().join("go/testing.md")).unwrap();
    symlink(outside.path().join("go/security.md"), dir.path().join("go/testing.md")).unwrap();
    let changed: Vec<PathBuf> = ["python/environ.md", "python/passwd.md", "linked", "python/fifo.md", "go/testing.md"]
        .iter()
        .map(|p| dir.path().join(p))
        .collect();
    let updated = within("updating", move || kb.update(&changed).unwrap());
    let reloaded = load(dir.path());
    for kb in [&updated, &reloaded] {
        assert!(!serves(kb, "CARGO_PKG_NAME") && !serves(kb, "root:") && !serves(kb, "outside secret"));
        warned(kb, dir.path(), "python/environ.md", "a system file: never read");
        warned(kb, dir.path(), "python/passwd.md", "outside the root: not followed");
        warned(kb, dir.path(), "linked", "outside the root: not followed");
        warned(kb, dir.path(), "python/fifo.md", "not a regular file");
        warned(kb, dir.path(), "go/testing.md", "outside the root: not followed");
    }
    assert_eq!(updated.key("go", "testing")[0].title, "Go testing", "the last good version is kept");
    let fresh: Vec<String> = updated.fresh_warnings().iter().map(ToString::to_string).collect();
    assert!(fresh.iter().any(|w| w.contains("python/environ.md")), "a live update warns too: {fresh:#?}");
}

#[test]
fn a_refused_folder_link_pointed_back_inside_is_walked_by_the_next_update() {
    let dir = root();
    let outside = tempfile::tempdir().unwrap();
    write(dir.path(), ".kotlin/testing.md", &doc("Kotlin testing", "kotlin", "testing", "2026-01-01", "inside"));
    symlink(outside.path(), dir.path().join("kotlin")).unwrap();
    let kb = load(dir.path());
    warned(&kb, dir.path(), "kotlin", "outside the root: not followed");
    fs::remove_file(dir.path().join("kotlin")).unwrap();
    symlink(dir.path().join(".kotlin"), dir.path().join("kotlin")).unwrap();
    let updated = kb.update(&[dir.path().join("kotlin")]).unwrap();
    assert_eq!(updated.key("kotlin", "testing")[0].title, "Kotlin testing");
    assert!(updated.warnings().is_empty(), "{:#?}", warnings(&updated));
    // And a regular file in its place (not Markdown) is neither read nor warned about.
    fs::remove_file(dir.path().join("kotlin")).unwrap();
    fs::write(dir.path().join("kotlin"), "not a standard").unwrap();
    let again = updated.update(&[dir.path().join("kotlin")]).unwrap();
    assert_eq!(again.documents().len(), 1);
    assert!(again.warnings().is_empty(), "{:#?}", warnings(&again));
}

/// Loads `dir` with its index built, edits the file at `target` (inside the root) to
/// hold `body`, updates the base for that one path (as the watcher reports it), and
/// checks that the update serves the edit as a full reload does.
fn update_after_editing(dir: &Path, target: &str, language: &str, domain: &str, body: &str) -> KnowledgeBase {
    let kb = load(dir);
    kb.build_index().unwrap();
    assert!(!serves(&kb, body));
    write(dir, target, &doc("Edited", language, domain, "2026-02-01", body));
    let updated = kb.update(&[dir.join(target)]).unwrap();
    assert!(serves(&updated, body), "the edit of {target} is not served: {:#?}", updated.documents());
    assert_eq!(updated.key(language, domain)[0].title, "Edited");
    let reloaded = load(dir);
    let docs = |kb: &KnowledgeBase| kb.documents().iter().map(|d| (d.uri(), d.hash.clone())).collect::<Vec<_>>();
    assert_eq!(docs(&updated), docs(&reloaded));
    assert_eq!(warnings(&updated), warnings(&reloaded));
    updated
}

#[test]
fn an_edit_under_a_linked_folders_target_is_served_by_the_update() {
    let dir = root();
    // `a` sorts first, so the walk reaches the folder through the link: `a/x.md`.
    write(dir.path(), "z/x.md", &doc("Kotlin security", "kotlin", "security", "2026-01-01", "before"));
    symlink(dir.path().join("z"), dir.path().join("a")).unwrap();
    let updated = update_after_editing(dir.path(), "z/x.md", "kotlin", "security", "after the edit");
    assert_eq!(updated.key("kotlin", "security")[0].source.path, "a/x.md");
    // A new file in the target shows up under the link too, and a deleted one goes.
    write(dir.path(), "z/y.md", &doc("Kotlin testing", "kotlin", "testing", "2026-01-01", "new file"));
    let added = updated.update(&[dir.path().join("z/y.md")]).unwrap();
    assert_eq!(added.key("kotlin", "testing")[0].source.path, "a/y.md");
    fs::remove_file(dir.path().join("z/y.md")).unwrap();
    let removed = added.update(&[dir.path().join("z/y.md")]).unwrap();
    assert!(removed.key("kotlin", "testing").is_empty());
}

#[test]
fn an_edit_of_a_hidden_folder_a_link_leads_to_is_served_by_the_update() {
    let dir = root();
    write(dir.path(), ".sources/kotlin/security.md", &doc("Kotlin", "kotlin", "security", "2026-01-01", "before"));
    symlink(".sources/kotlin", dir.path().join("kotlin")).unwrap();
    update_after_editing(dir.path(), ".sources/kotlin/security.md", "kotlin", "security", "hidden edit");
}

#[test]
fn an_edit_of_the_file_a_link_leads_to_is_served_by_the_update() {
    let dir = root();
    write(dir.path(), "shared/testing.md", &doc("Shared", "all", "testing", "2026-01-01", "before"));
    write(dir.path(), ".sources/rust.txt", &doc("Rust security", "rust", "security", "2026-01-01", "before"));
    fs::create_dir_all(dir.path().join("rust")).unwrap();
    symlink("../shared/testing.md", dir.path().join("rust/testing.md")).unwrap();
    symlink("../.sources/rust.txt", dir.path().join("rust/security.md")).unwrap();
    let updated = update_after_editing(dir.path(), "shared/testing.md", "rust", "testing", "file edit");
    assert_eq!(updated.key("rust", "testing")[0].source.path, "rust/testing.md");
    update_after_editing(dir.path(), ".sources/rust.txt", "rust", "security", "hidden file edit");
}

#[test]
fn removing_a_link_to_a_folder_serves_the_folder_under_its_own_name() {
    let dir = root();
    write(dir.path(), "z/x.md", &doc("Kotlin security", "kotlin", "security", "2026-01-01", "text"));
    symlink(dir.path().join("z"), dir.path().join("a")).unwrap();
    let kb = load(dir.path());
    assert_eq!(kb.key("kotlin", "security")[0].source.path, "a/x.md");
    fs::remove_file(dir.path().join("a")).unwrap();
    let updated = kb.update(&[dir.path().join("a")]).unwrap();
    assert_eq!(
        updated.key("kotlin", "security").iter().map(|d| d.source.path.as_str()).collect::<Vec<_>>(),
        ["z/x.md"]
    );
}

#[test]
fn a_hidden_target_created_after_loading_is_served_by_the_update() {
    let dir = root();
    symlink(".sources/kotlin", dir.path().join("kotlin")).unwrap();
    let kb = load(dir.path());
    assert!(kb.key("kotlin", "security").is_empty());
    write(dir.path(), ".sources/kotlin/security.md", &doc("Kotlin", "kotlin", "security", "2026-01-01", "late"));
    let updated = kb.update(&[dir.path().join(".sources")]).unwrap();
    assert_eq!(updated.key("kotlin", "security")[0].source.path, "kotlin/security.md");
}

#[test]
fn the_watcher_reports_an_edit_of_a_links_target_and_the_update_serves_it() {
    let dir = root();
    write(dir.path(), ".sources/kotlin/security.md", &doc("Kotlin", "kotlin", "security", "2026-01-01", "before"));
    symlink(".sources/kotlin", dir.path().join("kotlin")).unwrap();
    let kb = load(dir.path());
    let (tx, rx) = mpsc::channel();
    let _watcher = tenet_kb::watch::watch(&[dir.path().to_path_buf()], Duration::from_millis(50), move |changes| {
        let _ = tx.send(changes);
    })
    .unwrap();
    write(dir.path(), ".sources/kotlin/security.md", &doc("Kotlin", "kotlin", "security", "2026-01-01", "watched"));
    let changes = rx.recv_timeout(Duration::from_secs(10)).expect("no change reported");
    assert!(!changes.rescan);
    assert!(changes.paths.iter().any(|p| p.ends_with(".sources/kotlin/security.md")), "{changes:?}");
    let updated = kb.update(&changes.paths.iter().cloned().collect::<Vec<_>>()).unwrap();
    assert!(serves(&updated, "watched"), "{:#?}", updated.documents());
}
