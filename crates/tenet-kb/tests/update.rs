//! Incremental updates: after each kind of change, `KnowledgeBase::update` (changed
//! files re-read, every other document shared) serves the same documents, taxonomy,
//! warnings and search hits as a full reload with a freshly built index.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::{doc, write};
use tenet_kb::{KnowledgeBase, Query, Root};

/// Words that occur in one document each, and all of them at once.
const QUERIES: &[&str] = &[
    "quokka",
    "narwhal",
    "axolotl",
    "pangolin",
    "okapi",
    "capybara",
    "quokka narwhal axolotl pangolin okapi capybara",
];

/// Two roots on top of the built-in corpus: a team folder and a repo folder.
struct Setup {
    team: tempfile::TempDir,
    repo: tempfile::TempDir,
    roots: Vec<Root>,
}

impl Setup {
    fn new() -> Self {
        let (team, repo) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(team.path(), "go/testing.md", &doc("Go testing", "go", "testing", "2026-01-01", "quokka rules"));
        write(team.path(), "go/security.md", &doc("Go security", "go", "security", "2026-01-01", "narwhal rules"));
        write(team.path(), "rust/testing.md", &doc("Team Rust testing", "rust", "testing", "2026-01-02", "axolotl"));
        write(repo.path(), "python/patterns.md", &doc("Py patterns", "python", "patterns", "2026-01-03", "okapi"));
        let roots = vec![Root::Builtin, Root::Dir(team.path().into()), Root::Dir(repo.path().into())];
        Self { team, repo, roots }
    }

    /// A base with its index built (as a server has), and an unindexed twin loaded at
    /// the same moment: the twin's reload after a change is the reference.
    fn load(&self) -> (KnowledgeBase, KnowledgeBase) {
        let kb = KnowledgeBase::load(&self.roots).unwrap();
        kb.build_index().unwrap();
        let twin = KnowledgeBase::load(&self.roots).unwrap();
        assert!(kb.is_indexed() && !twin.is_indexed(), "loading alone builds no index");
        (kb, twin)
    }
}

/// Updates `kb` for `changed`, checks it against the twin's full reload, returns it.
fn update_matches_reload(kb: &KnowledgeBase, twin: &KnowledgeBase, changed: &[PathBuf]) -> KnowledgeBase {
    let updated = kb.update(changed).unwrap();
    let full = twin.reload().unwrap();
    assert_same(&updated, &full);
    updated
}

fn assert_same(updated: &KnowledgeBase, full: &KnowledgeBase) {
    let docs = |kb: &KnowledgeBase| -> Vec<(String, String, String, String, String)> {
        kb.documents()
            .iter()
            .map(|d| (d.uri(), d.source.root.clone(), d.source.path.clone(), d.hash.clone(), d.title.clone()))
            .collect()
    };
    assert_eq!(docs(updated), docs(full));
    assert_eq!(updated.taxonomy(None, None), full.taxonomy(None, None));
    assert_eq!(updated.warnings(), full.warnings());
    for text in QUERIES {
        assert_eq!(hits(updated, text), hits(full, text), "hits for {text:?}");
    }
}

/// The (URI, section, root, score) of every hit, in rank order: an updated base is
/// indexed afresh, so even the scores equal a full reload's.
fn hits(kb: &KnowledgeBase, text: &str) -> Vec<(String, usize, String, String)> {
    let query = Query { text: text.into(), limit: 100, ..Query::default() };
    kb.search(&query)
        .unwrap()
        .iter()
        .map(|h| (h.document.uri(), h.section, h.document.source.root.clone(), format!("{:.6}", h.score)))
        .collect()
}

fn uris(kb: &KnowledgeBase, text: &str) -> Vec<String> {
    let mut uris: Vec<String> = hits(kb, text).into_iter().map(|(uri, ..)| uri).collect();
    uris.sort();
    uris.dedup();
    uris
}

/// Whether searching `text` finds a section of a document from the root at `dir`
/// (the typo-tolerant retry may find other documents when the words are gone).
fn served_from(kb: &KnowledgeBase, text: &str, dir: &Path) -> bool {
    hits(kb, text).iter().any(|(_, _, root, _)| *root == dir.display().to_string())
}

fn path(dir: &Path, relative: &str) -> PathBuf {
    dir.join(relative)
}

#[test]
fn an_edit_rereads_that_file_and_shares_every_other_document() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    write(s.team.path(), "go/testing.md", &doc("Go testing v2", "go", "testing", "2026-02-01", "pangolin rules"));
    let updated = update_matches_reload(&kb, &twin, &[path(s.team.path(), "go/testing.md")]);
    assert_eq!(uris(&updated, "pangolin"), ["stdlib://go/testing"]);
    assert!(!served_from(&updated, "quokka", s.team.path()), "the old text is no longer indexed");
    assert_eq!(updated.key("go", "testing")[0].title, "Go testing v2");
    let security = |b: &KnowledgeBase| Arc::clone(b.key("go", "security")[0]);
    assert!(Arc::ptr_eq(&security(&kb), &security(&updated)), "unchanged documents are shared");
    let diff = updated.diff(&kb);
    assert_eq!(diff.updated.iter().map(|d| d.uri()).collect::<Vec<_>>(), ["stdlib://go/testing"]);
    assert!(diff.added.is_empty() && diff.removed.is_empty());
    // The previous base still searches its own snapshot.
    assert_eq!(uris(&kb, "quokka"), ["stdlib://go/testing"]);
}

#[test]
fn a_new_file_is_added_with_its_language() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    write(s.team.path(), "kotlin/testing.md", &doc("Kotlin testing", "kotlin", "testing", "2026-02-01", "capybara"));
    let updated = update_matches_reload(&kb, &twin, &[path(s.team.path(), "kotlin/testing.md")]);
    assert!(updated.languages().contains(&"kotlin".to_owned()));
    assert_eq!(uris(&updated, "capybara"), ["stdlib://kotlin/testing"]);
    let added: Vec<String> = updated.diff(&kb).added.iter().map(|d| d.uri()).collect();
    assert_eq!(added, ["stdlib://kotlin/testing"]);
}

#[test]
fn a_deleted_file_disappears_from_documents_and_search() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    fs::remove_file(s.team.path().join("go/security.md")).unwrap();
    let updated = update_matches_reload(&kb, &twin, &[path(s.team.path(), "go/security.md")]);
    assert!(!served_from(&updated, "narwhal", s.team.path()));
    // The built-in go/security standard is served again.
    assert_eq!(updated.key("go", "security")[0].source.root, "builtin");
    assert_eq!(updated.diff(&kb).updated.iter().map(|d| d.uri()).collect::<Vec<_>>(), ["stdlib://go/security"]);
}

#[test]
fn a_rename_moves_the_document_to_its_new_uri() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    let (from, to) = (path(s.team.path(), "go/testing.md"), path(s.team.path(), "go/testing/fuzzing.md"));
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::rename(&from, &to).unwrap();
    let updated = update_matches_reload(&kb, &twin, &[from, to]);
    assert_eq!(uris(&updated, "quokka"), ["stdlib://go/testing/fuzzing"]);
    let diff = updated.diff(&kb);
    assert_eq!(diff.added.iter().map(|d| d.uri()).collect::<Vec<_>>(), ["stdlib://go/testing/fuzzing"]);
    // The team root still holds the (go, testing) key, now with only the topic: the
    // built-in main document stays shadowed and the old URI goes away.
    assert_eq!(diff.removed, ["stdlib://go/testing"]);
}

#[test]
fn a_folder_rename_rereads_everything_under_it() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    write(s.team.path(), "java/testing.md", "# Java testing\n\npangolin\n");
    let kb = update_matches_reload(&kb, &twin, &[path(s.team.path(), "java")]);
    let twin = twin.reload().unwrap();
    let (from, to) = (path(s.team.path(), "java"), path(s.team.path(), "kotlin"));
    fs::rename(&from, &to).unwrap();
    let updated = update_matches_reload(&kb, &twin, &[from, to]);
    assert_eq!(uris(&updated, "pangolin"), ["stdlib://kotlin/testing"]);
    assert!(!updated.languages().contains(&"java".to_owned()));
}

#[test]
fn a_front_matter_edit_moves_a_document_between_keys() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    // Still at go/testing.md, but now for rust: the team's rust/testing key gains it,
    // and go/testing falls back to the built-in standard.
    write(s.team.path(), "go/testing.md", &doc("Now Rust", "rust", "testing", "2026-02-01", "quokka"));
    let updated = update_matches_reload(&kb, &twin, &[path(s.team.path(), "go/testing.md")]);
    assert_eq!(updated.key("go", "testing")[0].source.root, "builtin");
    let rust: Vec<&str> = updated.key("rust", "testing").iter().map(|d| d.title.as_str()).collect();
    assert_eq!(rust, ["Now Rust", "Team Rust testing"]);
    assert_eq!(uris(&updated, "quokka"), ["stdlib://rust/testing"]);
}

#[test]
fn a_broken_edit_keeps_serving_the_last_good_version() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    write(s.team.path(), "go/testing.md", "---\ntitle: [broken\n---\nhalf-written\n");
    fs::write(s.team.path().join("go/security.md"), b"\xff\xfe not text").unwrap();
    let changed = [path(s.team.path(), "go/testing.md"), path(s.team.path(), "go/security.md")];
    let updated = update_matches_reload(&kb, &twin, &changed);
    assert_eq!(updated.key("go", "testing")[0].title, "Go testing");
    assert_eq!(uris(&updated, "quokka"), ["stdlib://go/testing"]);
    assert!(hits(&updated, "half written").iter().all(|(uri, ..)| uri != "stdlib://go/testing"));
    let fresh: Vec<String> = updated.fresh_warnings().iter().map(ToString::to_string).collect();
    let about = |file: &str| fresh.iter().filter(|w| w.contains(file)).collect::<Vec<_>>();
    assert_eq!(about("go/testing.md").len() + about("go/security.md").len(), fresh.len(), "only re-read files");
    for file in ["go/testing.md", "go/security.md"] {
        assert!(about(file).iter().any(|w| w.contains("last good version")), "{fresh:?}");
    }
    let diff = updated.diff(&kb);
    assert!(diff.added.is_empty() && diff.updated.is_empty() && diff.removed.is_empty());
    // Fixed again: the new text is served.
    write(s.team.path(), "go/testing.md", &doc("Go testing fixed", "go", "testing", "2026-03-01", "okapi"));
    let fixed = update_matches_reload(&updated, &twin.reload().unwrap(), &changed[..1]);
    assert_eq!(fixed.key("go", "testing")[0].title, "Go testing fixed");
}

#[test]
fn overlays_shadow_and_unshadow_as_files_come_and_go() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    // The repo root now has rust/testing: it replaces the team's whole key.
    write(s.repo.path(), "rust/testing.md", &doc("Repo Rust testing", "rust", "testing", "2026-02-01", "capybara"));
    let added = path(s.repo.path(), "rust/testing.md");
    let shadowed = update_matches_reload(&kb, &twin, std::slice::from_ref(&added));
    assert!(!served_from(&shadowed, "axolotl", s.team.path()), "the team's document is shadowed");
    assert_eq!(uris(&shadowed, "capybara"), ["stdlib://rust/testing"]);
    assert_eq!(shadowed.key("rust", "testing")[0].source.root, s.repo.path().display().to_string());
    // Deleted again: the team's document comes back.
    let twin = twin.reload().unwrap();
    fs::remove_file(&added).unwrap();
    let back = update_matches_reload(&shadowed, &twin, &[added]);
    assert_eq!(uris(&back, "axolotl"), ["stdlib://rust/testing"]);
    assert!(!served_from(&back, "capybara", s.repo.path()));
}

#[test]
fn updating_an_older_base_and_a_stray_path_match_a_full_reload() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    write(s.team.path(), "go/testing.md", &doc("Go testing v2", "go", "testing", "2026-02-01", "pangolin"));
    let changed = [path(s.team.path(), "go/testing.md")];
    let first = kb.update(&changed).unwrap();
    // `kb` is no longer the newest: updating it again starts from its own documents.
    let second = update_matches_reload(&kb, &twin, &changed);
    assert_same(&first, &second);
    let stray = update_matches_reload(&first, &twin, &[PathBuf::from("/nowhere/near/a/root.md")]);
    assert_eq!(uris(&stray, "pangolin"), ["stdlib://go/testing"]);
}

#[test]
fn an_editors_save_through_temporary_files_is_one_edit() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    // As vim does: a probe file, a backup, the new text written beside and renamed over.
    let (team, file) = (s.team.path(), s.team.path().join("go/testing.md"));
    fs::write(team.join("go/4913"), "").unwrap();
    fs::remove_file(team.join("go/4913")).unwrap();
    fs::copy(&file, team.join("go/testing.md~")).unwrap();
    fs::write(team.join("go/.testing.md.swp"), "swap").unwrap();
    fs::write(team.join("go/testing.md.tmp"), doc("Go testing v3", "go", "testing", "2026-03-01", "okapi")).unwrap();
    fs::rename(team.join("go/testing.md.tmp"), &file).unwrap();
    let changed: Vec<PathBuf> =
        ["go/4913", "go/testing.md~", "go/.testing.md.swp", "go/testing.md.tmp", "go/testing.md"]
            .iter()
            .map(|p| team.join(p))
            .collect();
    let updated = update_matches_reload(&kb, &twin, &changed);
    assert_eq!(uris(&updated, "okapi"), ["stdlib://go/testing", "stdlib://python/patterns"]);
    let diff = updated.diff(&kb);
    assert_eq!(diff.updated.iter().map(|d| d.uri()).collect::<Vec<_>>(), ["stdlib://go/testing"]);
    assert!(diff.added.is_empty() && diff.removed.is_empty());
}

#[test]
fn a_deleted_folder_takes_its_documents_with_it() {
    let s = Setup::new();
    let (kb, twin) = s.load();
    fs::remove_dir_all(s.team.path().join("go")).unwrap();
    let updated = update_matches_reload(&kb, &twin, &[path(s.team.path(), "go")]);
    assert!(!served_from(&updated, "quokka", s.team.path()) && !served_from(&updated, "narwhal", s.team.path()));
    assert_eq!(updated.key("go", "testing")[0].source.root, "builtin");
}

#[test]
fn many_edits_in_a_row_stay_equal_to_a_full_reload() {
    let s = Setup::new();
    let (mut kb, twin) = s.load();
    let file = path(s.team.path(), "go/testing.md");
    for round in 0..30 {
        let body = if round % 2 == 0 { "pangolin" } else { "capybara" };
        write(
            s.team.path(),
            "go/testing.md",
            &doc(&format!("Go testing {round}"), "go", "testing", "2026-02-01", body),
        );
        kb = kb.update(std::slice::from_ref(&file)).unwrap();
    }
    assert_same(&kb, &twin.reload().unwrap());
    assert_eq!(kb.key("go", "testing")[0].title, "Go testing 29");
}

#[test]
fn a_root_that_disappears_is_an_error_and_the_old_base_stays_usable() {
    let s = Setup::new();
    let (kb, _) = s.load();
    let Root::Dir(repo) = &s.roots[2] else { unreachable!("the third root is a folder") };
    write(s.repo.path(), "python/testing.md", "# Python testing\n\nnew\n");
    fs::remove_dir_all(repo).unwrap();
    // A watcher reports the files and the root folder itself.
    let err = kb.update(&[repo.join("python/testing.md"), repo.clone()]).unwrap_err();
    assert!(err.to_string().contains(&repo.display().to_string()), "{err}");
    assert_eq!(uris(&kb, "okapi"), ["stdlib://python/patterns"]);
}
