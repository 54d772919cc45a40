//! Embeds the built-in corpus (`corpus/` at the workspace root) into the crate.
//!
//! It is read through `corpus`, this crate's symbolic link to the workspace's folder,
//! which `cargo package` follows: the published crate carries the corpus itself. A
//! checkout without symbolic links (Git on Windows without `core.symlinks`) has a
//! plain file there instead; then the workspace's folder is read directly.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let linked = manifest.join("corpus");
    let corpus = if linked.is_dir() {
        linked
    } else if linked.is_file() {
        // The link checked out as a plain file: only in the workspace, where the folder is.
        manifest.join("../../corpus")
    } else {
        panic!("the built-in corpus: {} is missing (a link to the workspace's corpus/)", linked.display())
    };
    // One document every corpus has: a folder that is there but is not the corpus (or is
    // empty) fails the build instead of embedding nothing.
    assert!(
        corpus.join("rust/testing.md").is_file(),
        "the built-in corpus at {} has no rust/testing.md",
        corpus.display()
    );
    println!("cargo:rerun-if-changed={}", corpus.display());
    let mut files = Vec::new();
    collect(&corpus, &corpus, &mut files);
    files.sort();
    let mut out = String::from(
        "/// The built-in corpus: (path relative to the corpus root, contents).\npub static BUILTIN: &[(&str, &str)] = &[\n",
    );
    for (relative, absolute) in &files {
        println!("cargo:rerun-if-changed={}", absolute.display());
        let _ = writeln!(out, "    ({relative:?}, include_str!({:?})),", absolute.display().to_string());
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_corpus.rs");
    std::fs::write(dest, out).expect("write the corpus table");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "md") {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let absolute = path.canonicalize().unwrap_or(path);
            files.push((relative, absolute));
        }
    }
}
