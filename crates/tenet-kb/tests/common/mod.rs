//! Helpers shared by the knowledge-base tests: writing documents into a root.

#![allow(clippy::unwrap_used, dead_code)]

use std::fs;
use std::path::Path;

/// Writes `text` at `path` under `dir`, creating folders.
pub fn write(dir: &Path, path: &str, text: &str) {
    let file = dir.join(path);
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(file, text).unwrap();
}

/// A document with complete front matter.
pub fn doc(title: &str, language: &str, domain: &str, updated: &str, body: &str) -> String {
    format!(
        "---\ntitle: {title}\ndescription: d\nlanguage: {language}\ndomain: {domain}\ntags: [x]\ncreatedAt: '{updated}'\nupdatedAt: '{updated}'\n---\n# {title}\n\n{body}\n"
    )
}
