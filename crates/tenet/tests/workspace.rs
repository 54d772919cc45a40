//! Rules of the workspace's own layout that no compiler checks.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The `.rs` files directly in `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    files
}

/// A crate whose integration tests are one binary (`tests/main.rs`) runs only the files
/// that binary names as modules: a file left out would never run, and nothing would say
/// so. With `autotests` left on, each file would also be a binary of its own and run twice.
#[test]
fn every_integration_test_file_is_a_module_of_its_crates_test_binary() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let (mut problems, mut checked) = (Vec::new(), Vec::new());
    for krate in fs::read_dir(crates).unwrap().map(|entry| entry.unwrap().path()) {
        let tests = krate.join("tests");
        let Ok(main) = fs::read_to_string(tests.join("main.rs")) else { continue };
        let manifest = fs::read_to_string(krate.join("Cargo.toml")).unwrap();
        if !manifest.lines().any(|line| line.trim() == "autotests = false") {
            problems.push(format!("{}: tests/main.rs without `autotests = false`", krate.display()));
        }
        let declared: HashSet<&str> =
            main.lines().filter_map(|line| line.trim().strip_prefix("mod ")?.strip_suffix(';')).collect();
        for file in rust_files(&tests) {
            let stem = file.file_stem().unwrap().to_str().unwrap();
            if stem == "main" {
                continue;
            }
            if !declared.contains(stem) {
                problems.push(format!("{}: not a module of tests/main.rs, so it never runs", file.display()));
            }
            checked.push(file);
        }
    }
    assert!(
        checked.iter().any(|file| file.ends_with("tenet/tests/workspace.rs")),
        "this very file is among those checked: {checked:?}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
