//! Loading roots: the built-in corpus, overlays, provenance, search filters.

#![allow(clippy::unwrap_used)]

use std::fs;

use crate::common::{doc, write};
use tenet_kb::{KnowledgeBase, Query, Root};

#[test]
fn the_builtin_corpus_is_complete_and_clean() {
    let kb = KnowledgeBase::load(&[Root::Builtin]).unwrap();
    assert!(kb.warnings().is_empty(), "{:?}", kb.warnings().iter().map(ToString::to_string).collect::<Vec<_>>());
    for language in ["python", "go", "javascript", "typescript", "rust", "all"] {
        for domain in ["architecture", "testing", "security", "performance", "patterns"] {
            let docs = kb.key(language, domain);
            assert_eq!(docs.len(), 1, "{language}/{domain}");
            assert!(docs[0].sections.len() >= 6, "{language}/{domain} has too few sections");
            assert!(docs[0].updated_at.is_some());
            assert_eq!(docs[0].source.root, "builtin");
        }
    }
    assert!(kb.documents().len() >= 30);
}

#[test]
fn later_roots_replace_whole_keys_and_keep_provenance() {
    let team = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    write(team.path(), "rust/testing.md", &doc("Team Rust testing", "rust", "testing", "2026-01-01", "team"));
    write(team.path(), "rust/testing/fuzzing.md", &doc("Team fuzzing", "rust", "testing", "2026-01-02", "fuzz"));
    write(team.path(), "kotlin/architecture.md", &doc("Kotlin arch", "kotlin", "architecture", "2026-01-03", "k"));
    write(repo.path(), "rust/testing.md", &doc("Repo Rust testing", "rust", "testing", "2026-02-01", "repo"));
    let kb =
        KnowledgeBase::load(&[Root::Builtin, Root::Dir(team.path().into()), Root::Dir(repo.path().into())]).unwrap();
    let rust = kb.key("rust", "testing");
    assert_eq!(rust.len(), 1, "the repo root replaced the team's two rust/testing documents");
    assert_eq!(rust[0].title, "Repo Rust testing");
    assert_eq!(rust[0].source.root, repo.path().display().to_string());
    assert_eq!(rust[0].source.path, "rust/testing.md");
    let standard = kb.standard("rust", "testing");
    assert_eq!(standard[0].language, "all");
    assert_eq!(standard[0].source.root, "builtin");
    assert_eq!(kb.key("kotlin", "architecture")[0].title, "Kotlin arch");
    assert!(kb.languages().contains(&"kotlin".to_owned()));
    // Rust architecture still comes from the built-in corpus.
    assert_eq!(kb.key("rust", "architecture")[0].source.root, "builtin");
}

#[test]
fn topics_are_ordered_main_document_first() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go/testing/zz.md", &doc("Z topic", "go", "testing", "2026-01-01", "z"));
    write(dir.path(), "go/testing.md", &doc("Main", "go", "testing", "2026-01-01", "m"));
    write(dir.path(), "go/testing/aa.md", &doc("A topic", "go", "testing", "2026-01-01", "a"));
    let kb = KnowledgeBase::load(&[Root::Dir(dir.path().into())]).unwrap();
    let titles: Vec<_> = kb.key("go", "testing").iter().map(|d| d.title.clone()).collect();
    assert_eq!(titles, ["Main", "A topic", "Z topic"]);
}

#[test]
fn a_missing_root_is_an_error() {
    let err = KnowledgeBase::load(&[Root::Dir("/definitely/not/here".into())]).unwrap_err();
    assert!(err.to_string().contains("/definitely/not/here"));
}

#[test]
fn search_ranks_filters_and_tolerates_typos() {
    let kb = KnowledgeBase::load(&[Root::Builtin]).unwrap();
    let query = |text: &str, language: Option<&str>, domain: Option<&str>| Query {
        text: text.into(),
        language: language.map(Into::into),
        domain: domain.map(Into::into),
        tags: vec![],
        limit: 10,
    };
    let hits = kb.search(&query("sql injection", None, Some("security"))).unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h.document.domain == "security"));
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    let rust = kb.search(&query("error handling", Some("rust"), None)).unwrap();
    assert!(rust.iter().all(|h| h.document.language == "rust" || h.document.language == "all"));
    assert!(rust.iter().any(|h| h.document.language == "rust"));
    assert!(hits[0].snippet.contains("**"), "snippets highlight matches: {}", hits[0].snippet);
    // Stemming: "testing" finds "tests"; typos still find something.
    assert!(!kb.search(&query("benchmarking", None, None)).unwrap().is_empty());
    let typo = kb.search(&query("injcetion", None, None)).unwrap();
    assert!(typo.iter().any(|h| h.document.domain == "security"), "typo-tolerant retry");
    assert!(kb.search(&query("   ", None, None)).unwrap().is_empty());
    // Odd query syntax is not an error.
    assert!(kb.search(&query("\"unclosed AND (", None, None)).is_ok());
}

#[test]
fn a_reload_keeps_the_last_good_version_of_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go/testing.md", &doc("Go testing", "go", "testing", "2026-01-01", "good rules"));
    write(dir.path(), "go/security.md", &doc("Go security", "go", "security", "2026-01-01", "secure rules"));
    let kb = KnowledgeBase::load(&[Root::Dir(dir.path().into())]).unwrap();
    write(dir.path(), "go/testing.md", "---\ntitle: [broken\n---\nhalf-written\n");
    fs::write(dir.path().join("go/security.md"), b"\xff\xfe not text").unwrap();
    let again = kb.reload().unwrap();
    assert!(again.key("go", "testing")[0].body.contains("good rules"));
    assert_eq!(again.key("go", "testing")[0].title, "Go testing");
    assert!(again.key("go", "security")[0].body.contains("secure rules"));
    let warnings: Vec<String> = again.warnings().iter().map(ToString::to_string).collect();
    assert!(warnings.iter().any(|w| w.contains("go/testing.md") && w.contains("last good version")), "{warnings:?}");
    // The parse error at its line of the file, and nothing derived from the broken block.
    assert!(
        warnings.iter().any(|w| w.ends_with(
            "go/testing.md:2: invalid front matter: expected string scalar (column 8): fields are inferred"
        )),
        "{warnings:?}"
    );
    assert!(!warnings.iter().any(|w| w.contains("has no title") || w.contains("has no updatedAt")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("not UTF-8") && w.contains("last good version")), "{warnings:?}");
    // A file that was never good still loads as well as it can.
    write(dir.path(), "go/patterns.md", "---\ntitle: [broken\n---\nnew\n");
    let third = again.reload().unwrap();
    assert!(third.key("go", "patterns")[0].degraded);
}

#[test]
fn symlinks_are_followed_and_loops_walked_once() {
    let dir = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    write(shared.path(), "testing.md", &doc("Shared Go testing", "go", "testing", "2026-01-01", "shared"));
    std::fs::create_dir_all(dir.path().join("go")).unwrap();
    std::os::unix::fs::symlink(shared.path().join("testing.md"), dir.path().join("go/testing.md")).unwrap();
    // A loop: rust/again -> the root itself; and a dangling link.
    std::fs::create_dir_all(dir.path().join("rust")).unwrap();
    write(dir.path(), "rust/security.md", &doc("Rust security", "rust", "security", "2026-01-01", "r"));
    std::os::unix::fs::symlink(dir.path(), dir.path().join("rust/again")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("rust/dangling.md")).unwrap();
    // The shared folder is outside the root: its link is followed only when allowed.
    let links = tenet_kb::LinkPolicy::new().allow(shared.path()).unwrap();
    let kb = KnowledgeBase::load_with(&[Root::Dir(dir.path().into())], &links).unwrap();
    assert_eq!(kb.key("go", "testing")[0].title, "Shared Go testing");
    assert_eq!(kb.key("rust", "security").len(), 1, "the loop does not load the file twice");
}

#[test]
fn binary_non_utf8_and_50_mb_files_are_skipped_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go/testing.md", &doc("Go testing", "go", "testing", "2026-01-01", "kept"));
    fs::write(dir.path().join("go/security.md"), b"\x7fELF\x02\x01\x01\x00\x00\xff\xfe").unwrap();
    // 50 MB, sparse: refused by its size before a byte is read.
    let big = fs::File::create(dir.path().join("go/performance.md")).unwrap();
    big.set_len(50 * 1024 * 1024).unwrap();
    let kb = KnowledgeBase::load(&[Root::Dir(dir.path().into())]).unwrap();
    assert_eq!(kb.documents().len(), 1);
    let warnings: Vec<String> = kb.warnings().iter().map(ToString::to_string).collect();
    assert!(warnings.iter().any(|w| w.contains("go/security.md") && w.contains("not UTF-8")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("go/performance.md") && w.contains("limit")), "{warnings:?}");
    let hits = kb.search(&Query { text: "kept".into(), limit: 5, ..Query::default() }).unwrap();
    assert_eq!(hits[0].document.uri(), "stdlib://go/testing");
}
