//! Roots: where documents come from, and reading their Markdown files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Where documents are loaded from. Later roots override earlier ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// The corpus compiled into the binary.
    Builtin,
    /// A directory of `<language>/<domain>.md` files.
    Dir(PathBuf),
}

impl Root {
    /// How provenance names this root.
    pub fn label(&self) -> String {
        match self {
            Root::Builtin => "builtin".into(),
            Root::Dir(path) => path.display().to_string(),
        }
    }

    /// The path of `file` inside this root, with `/` separators (empty for the root
    /// itself), or `None` when `file` is not under it. The root is matched as given,
    /// made absolute, and with its symbolic links resolved, so a watcher's path in any
    /// of those forms is found.
    pub fn locate(&self, file: &Path) -> Option<String> {
        let Root::Dir(dir) = self else { return None };
        let forms = [Some(dir.clone()), std::path::absolute(dir).ok(), dir.canonicalize().ok()];
        forms.into_iter().flatten().find_map(|form| file.strip_prefix(&form).ok().map(|_| relative(&form, file)))
    }
}

/// The largest document file loaded; larger ones are skipped with a warning.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// A file's text, or why it cannot be used.
pub(crate) type FileText = Result<String, String>;

/// The (path, text) of every Markdown file in a root; unreadable, non-UTF-8 and
/// oversized files come with the reason instead of their text.
///
/// # Errors
/// When the root directory cannot be walked.
pub(crate) fn read_root(root: &Root) -> std::io::Result<Vec<(String, FileText)>> {
    match root {
        Root::Builtin => {
            Ok(crate::corpus::BUILTIN.iter().map(|(p, t)| ((*p).to_owned(), Ok((*t).to_owned()))).collect())
        }
        Root::Dir(dir) => read_under(dir, dir),
    }
}

/// The (path inside `root`, text) of every Markdown file under `dir`, itself under `root`.
pub(crate) fn read_under(root: &Path, dir: &Path) -> std::io::Result<Vec<(String, FileText)>> {
    let paths = markdown_files(dir)?;
    Ok(paths.iter().map(|p| (relative(root, p), read_text(p))).collect())
}

/// Every Markdown file under `dir` (hidden entries skipped), sorted. Symbolic links
/// are followed; a folder already visited (a link loop, or two links to one place) is
/// walked once, and a dangling link is skipped.
///
/// # Errors
/// When `dir` or a folder under it cannot be read.
pub(crate) fn markdown_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, visited: &mut HashSet<PathBuf>) -> std::io::Result<()> {
        if !visited.insert(dir.canonicalize()?) {
            return Ok(());
        }
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if is_hidden(&entry.file_name().to_string_lossy()) {
                continue;
            }
            let path = entry.path();
            let Ok(kind) = std::fs::metadata(&path).map(|m| m.file_type()) else { continue };
            if kind.is_dir() {
                walk(&path, out, visited)?;
            } else if kind.is_file() && is_markdown(&path) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files, &mut HashSet::new())?;
    files.sort();
    Ok(files)
}

/// Whether a file or folder name is hidden (and so skipped).
pub(crate) fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Whether a path names a Markdown file.
pub(crate) fn is_markdown(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("md"))
}

/// The path of `file` inside `root`, with `/` separators.
pub(crate) fn relative(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap_or(file);
    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// A file's text, or why it cannot be used.
pub(crate) fn read_text(path: &Path) -> FileText {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        return Err(format!("{size} bytes is more than the {MAX_FILE_BYTES}-byte limit"));
    }
    match std::fs::read(path).map(String::from_utf8) {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(_)) => Err("not UTF-8 text".into()),
        Err(e) => Err(format!("cannot read: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_located_in_the_roots_that_hold_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::Dir(dir.path().to_path_buf());
        assert_eq!(root.locate(&dir.path().join("go/testing.md")).as_deref(), Some("go/testing.md"));
        assert_eq!(root.locate(dir.path()).as_deref(), Some(""));
        let canonical = dir.path().canonicalize().unwrap();
        assert_eq!(root.locate(&canonical.join("a/b.md")).as_deref(), Some("a/b.md"));
        assert_eq!(root.locate(Path::new("/elsewhere/go/testing.md")), None);
        assert_eq!(Root::Builtin.locate(&dir.path().join("go/testing.md")), None);
    }
}
