//! Rules of the workspace's own layout that no compiler checks.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The `.rs` files directly in `dir`, sorted; none when there is no such folder.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    files
}

/// A crate whose integration tests are one binary (`autotests = false`, a `[[test]]` at
/// `tests/main.rs`) runs only the files that binary names as modules and those given a
/// `[[test]]` of their own: any other file would never run, and nothing would say so.
/// With `autotests` left on, each file would also be a binary of its own and run twice.
#[test]
fn every_integration_test_file_runs_once() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let (mut problems, mut checked) = (Vec::new(), Vec::new());
    for krate in fs::read_dir(crates).unwrap().map(|entry| entry.unwrap().path()) {
        let Ok(manifest) = fs::read_to_string(krate.join("Cargo.toml")) else { continue };
        let lines: HashSet<&str> = manifest.lines().map(str::trim).collect();
        let one_binary = lines.contains("autotests = false");
        let tests = krate.join("tests");
        let main = fs::read_to_string(tests.join("main.rs")).ok();
        let main_is_a_target = lines.contains(r#"path = "tests/main.rs""#);
        if one_binary != main.is_some() || one_binary != main_is_a_target {
            problems.push(format!(
                "{}: `autotests = false` ({one_binary}), tests/main.rs ({}) and a [[test]] at it ({main_is_a_target}) \
                 go together",
                krate.display(),
                main.is_some()
            ));
        }
        let Some(main) = main else { continue };
        let declared: HashSet<&str> =
            main.lines().filter_map(|line| line.trim().strip_prefix("mod ")?.strip_suffix(';')).collect();
        for file in rust_files(&tests) {
            let name = file.file_name().unwrap().to_str().unwrap();
            let module = name.strip_suffix(".rs").unwrap();
            let own_target = lines.contains(format!(r#"path = "tests/{name}""#).as_str());
            if name != "main.rs" && !declared.contains(module) && !own_target {
                problems.push(format!(
                    "{}: neither a module of tests/main.rs nor a [[test]], so it never runs",
                    file.display()
                ));
            }
            if declared.contains(module) && own_target {
                problems.push(format!(
                    "{}: both a module of tests/main.rs and a [[test]], so it runs twice",
                    file.display()
                ));
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
