//! Roots: where documents come from, and reading their Markdown files — only regular
//! files whose real path lies inside the root (or a folder links are allowed to lead to).

use std::collections::HashSet;
use std::fs::File;
use std::io::Read as _;
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

/// Folders never read from, whatever a link or a [`LinkPolicy`] says: the kernel's
/// pseudo-filesystems, whose files look regular but hold the machine's and the process's
/// own state (`/proc/self/environ` is the server's environment), and device nodes.
const SYSTEM_FOLDERS: &[&str] = &["/proc", "/sys", "/dev"];

/// Where symbolic links in a folder root may lead. By default, nowhere outside it: a
/// link to another file or folder inside the same root is followed, and any other is
/// skipped with a warning naming the link and its target. [`LinkPolicy::allow`] names
/// outside folders that links may lead into as well (a shared folder of standards, say).
///
/// Whatever the policy, only regular files are read (never a FIFO, socket or device),
/// and never anything under `/proc`, `/sys` or `/dev`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkPolicy {
    /// Outside folders links may lead into, resolved when allowed.
    allowed: Vec<PathBuf>,
}

/// Why a folder cannot be allowed as a link target.
#[derive(Debug, thiserror::Error)]
pub enum LinkPolicyError {
    /// The folder does not exist or cannot be resolved.
    #[error("cannot allow links to {path}: {source}")]
    Unresolvable {
        /// The folder as given.
        path: PathBuf,
        /// Why it cannot be resolved.
        source: std::io::Error,
    },
    /// The path names something other than a folder.
    #[error("cannot allow links to {path}: not a folder")]
    NotAFolder {
        /// The path as given.
        path: PathBuf,
    },
    /// The folder is (or is under) `/proc`, `/sys` or `/dev`.
    #[error("cannot allow links to {path}: files under /proc, /sys and /dev are never read")]
    System {
        /// The path as given.
        path: PathBuf,
    },
}

impl LinkPolicy {
    /// The default policy: links must stay inside their root.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also follows links to files and folders under `dir`. The folder is resolved now
    /// (its own symbolic links followed), so what it names cannot later be changed to
    /// widen the policy.
    ///
    /// # Errors
    /// When `dir` cannot be resolved, is not a folder, or lies under `/proc`, `/sys`
    /// or `/dev`.
    pub fn allow(mut self, dir: impl AsRef<Path>) -> Result<Self, LinkPolicyError> {
        let path = dir.as_ref().to_path_buf();
        let real = match path.canonicalize() {
            Ok(real) => real,
            Err(source) => return Err(LinkPolicyError::Unresolvable { path, source }),
        };
        if is_system(&real) {
            return Err(LinkPolicyError::System { path });
        }
        if !real.is_dir() {
            return Err(LinkPolicyError::NotAFolder { path });
        }
        if !self.allowed.contains(&real) {
            self.allowed.push(real);
        }
        Ok(self)
    }

    /// The outside folders links may lead into, resolved. A watcher should watch them
    /// too (a change there reloads everything), since it does not follow links itself.
    pub fn allowed(&self) -> &[PathBuf] {
        &self.allowed
    }
}

/// The folder of a root that holds its skills ([`crate::skills`]), not standards.
pub const SKILLS_FOLDER: &str = "skills";

/// Whether `path` (inside a root, `/`-separated) is in the root's skills folder.
pub(crate) fn is_skill_path(path: &str) -> bool {
    path == SKILLS_FOLDER || path.strip_prefix(SKILLS_FOLDER).is_some_and(|rest| rest.starts_with('/'))
}

/// Whether a resolved path lies under `/proc`, `/sys` or `/dev`.
fn is_system(real: &Path) -> bool {
    SYSTEM_FOLDERS.iter().any(|folder| real.starts_with(folder))
}

/// A file's text, or why it cannot be used.
pub(crate) type FileText = Result<String, String>;

/// The symbolic links a walk of one root followed, each with where it leads: the path
/// of the link inside the root (with `/` separators) and a real path a change at or
/// under which changes what is read through the link (see [`Listing::links`]).
pub(crate) type Followed = Vec<(String, PathBuf)>;

/// What walking a folder found.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Every Markdown path and refused folder link, sorted (see
    /// [`Confinement::markdown_files`]).
    pub(crate) files: Vec<PathBuf>,
    /// The symbolic links through which the walk reached a folder or listed a Markdown
    /// file, and those that do not resolve (dangling, a loop), each with where it
    /// leads: its real target when it resolves, and its first hop (resolved lexically)
    /// when that differs, for a link to a link or a dangling one. A watcher that does
    /// not follow links reports changes there, not under the link, so those changes
    /// are mapped back to the link. Links refused, and links to a folder already walked
    /// another way, are not recorded.
    pub(crate) links: Vec<(PathBuf, PathBuf)>,
}

/// The (path, text) of every Markdown file in a root, and the links followed to reach
/// them; unreadable, non-UTF-8, oversized and refused files (see [`Confinement`]) come
/// with the reason instead of their text.
///
/// # Errors
/// When the root directory cannot be walked.
pub(crate) fn read_root(root: &Root, links: &LinkPolicy) -> std::io::Result<(Vec<(String, FileText)>, Followed)> {
    match root {
        Root::Builtin => Ok((
            crate::corpus::BUILTIN
                .iter()
                .filter(|(p, _)| !is_skill_path(p))
                .map(|(p, t)| ((*p).to_owned(), Ok((*t).to_owned())))
                .collect(),
            Followed::new(),
        )),
        Root::Dir(dir) => {
            let confinement = Confinement::new(dir, links)?;
            let listing = confinement.listing(dir)?;
            let files = listing.files.iter().map(|p| (relative(dir, p), confinement.read(p))).collect();
            Ok((files, followed_in(dir, listing.links)))
        }
    }
}

/// A listing's links with their paths inside the root at `dir`.
pub(crate) fn followed_in(dir: &Path, links: Vec<(PathBuf, PathBuf)>) -> Followed {
    links.into_iter().map(|(link, target)| (relative(dir, &link), target)).collect()
}

/// The one rule for reading a folder root, which loading, live updates and `tenet check`
/// all go through: a file is read only when its real path (every symbolic link
/// resolved) lies inside the root or a folder the [`LinkPolicy`] allows, outside
/// `/proc`, `/sys` and `/dev`, and when it is a regular file of at most
/// [`MAX_FILE_BYTES`]. The root is resolved once, when the confinement is made.
#[derive(Debug)]
pub(crate) struct Confinement {
    /// The root, resolved.
    root: PathBuf,
    /// The allowed outside folders, resolved.
    allowed: Vec<PathBuf>,
}

impl Confinement {
    /// The confinement of the root at `dir` under `links`.
    ///
    /// # Errors
    /// When the root cannot be resolved (it does not exist, say).
    pub(crate) fn new(dir: &Path, links: &LinkPolicy) -> std::io::Result<Self> {
        Ok(Self { root: dir.canonicalize()?, allowed: links.allowed.clone() })
    }

    /// Whether a resolved path may be read or walked.
    fn permits(&self, real: &Path) -> bool {
        !is_system(real) && (real.starts_with(&self.root) || self.allowed.iter().any(|a| real.starts_with(a)))
    }

    /// Every Markdown path under `dir` (hidden entries skipped), sorted, and every
    /// symbolic link to a folder that may not be walked, so that reading it says why.
    /// Links to permitted folders are walked; a folder already visited (a link loop, or
    /// two links to one place) is walked once. Markdown paths are listed whatever they
    /// are (a link, a FIFO, a dangling link): [`Confinement::read`] decides.
    ///
    /// # Errors
    /// When `dir` or a folder under it cannot be read.
    pub(crate) fn markdown_files(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        Ok(self.listing(dir)?.files)
    }

    /// What [`Confinement::markdown_files`] lists, with the links followed on the way.
    /// A folder whose real path is not permitted (`dir` itself, or a link swapped for
    /// one leading outside after it was checked) lists nothing; a folder or entry that
    /// vanishes during the walk is left out.
    ///
    /// # Errors
    /// When `dir` or a folder under it cannot be read.
    pub(crate) fn listing(&self, dir: &Path) -> std::io::Result<Listing> {
        let mut listing = Listing::default();
        self.walk(dir, &mut listing, &mut HashSet::new())?;
        // The skills folder holds skills, not standards (crate::skills reads it).
        listing.files.retain(|path| !is_skill_path(&relative(dir, path)));
        listing.links.retain(|(link, _)| !is_skill_path(&relative(dir, link)));
        listing.files.sort();
        Ok(listing)
    }

    fn walk(&self, dir: &Path, out: &mut Listing, visited: &mut HashSet<PathBuf>) -> std::io::Result<()> {
        let real = dir.canonicalize()?;
        // The folder actually listed is the resolved one, checked here: a link on the
        // way swapped since the caller looked at it cannot lead the walk outside.
        if !self.permits(&real) || !visited.insert(real.clone()) {
            return Ok(());
        }
        // In name order, so which of two links to one folder is walked does not vary.
        let mut entries = std::fs::read_dir(&real)?.collect::<std::io::Result<Vec<_>>>()?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            if is_hidden(&name.to_string_lossy()) {
                continue;
            }
            let path = dir.join(&name);
            let kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(e) if vanished(&e) => continue,
                Err(e) => return Err(e),
            };
            if kind.is_dir() {
                // A folder itself (not a link) inside a permitted folder is permitted.
                self.walk_under(&path, out, visited)?;
            } else if kind.is_symlink() {
                let resolved = path.canonicalize();
                let folder = resolved.as_ref().is_ok_and(|real| real.is_dir());
                let permitted = resolved.as_ref().is_ok_and(|real| self.permits(real));
                let walked = folder && resolved.as_ref().is_ok_and(|real| visited.contains(real));
                if resolved.is_err() || (permitted && !walked && (folder || is_markdown(&path))) {
                    record(&path, resolved.as_ref().ok(), out);
                }
                if folder && permitted {
                    self.walk_under(&path, out, visited)?;
                } else if folder || is_markdown(&path) {
                    out.files.push(path);
                }
            } else if is_markdown(&path) {
                out.files.push(path);
            }
        }
        Ok(())
    }

    /// Walks a folder found in a walk, which may have vanished since it was listed.
    fn walk_under(&self, dir: &Path, out: &mut Listing, visited: &mut HashSet<PathBuf>) -> std::io::Result<()> {
        match self.walk(dir, out, visited) {
            Err(e) if vanished(&e) => Ok(()),
            done => done,
        }
    }

    /// A file's text, or why it is not read: it is (or leads to) something outside the
    /// root and the allowed folders, a system file, not a regular file, too large, not
    /// UTF-8, or unreadable. The file is opened without blocking (a FIFO swapped in at
    /// the last moment cannot hang the caller), and what was opened is checked again:
    /// a regular file, the one that was checked, still inside.
    pub(crate) fn read(&self, path: &Path) -> FileText {
        let bytes = self.read_bytes(path, MAX_FILE_BYTES)?;
        String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())
    }

    /// A file's bytes, read as [`Confinement::read`] reads (every rule but UTF-8), of at
    /// most `max` bytes.
    pub(crate) fn read_bytes(&self, path: &Path, max: u64) -> Result<Vec<u8>, String> {
        let link = std::fs::symlink_metadata(path).map_err(|e| format!("cannot read: {e}"))?.is_symlink();
        let subject = |real: Option<&Path>| -> String {
            if !link {
                return real.map_or_else(|| "it".to_owned(), |r| format!("its real path {}", r.display()));
            }
            let target = std::fs::read_link(path).map_or_else(|_| "?".to_owned(), |t| t.display().to_string());
            match real {
                Some(real) if real.as_os_str() != target.as_str() => {
                    format!("a symbolic link to {target} ({})", real.display())
                }
                _ => format!("a symbolic link to {target}"),
            }
        };
        let real = match path.canonicalize() {
            Ok(real) => real,
            Err(e) if link => return Err(format!("{} that cannot be followed: {e}", subject(None))),
            Err(e) => return Err(format!("cannot read: {e}")),
        };
        if is_system(&real) {
            return Err(format!("{}, a system file: never read", subject(Some(&real))));
        }
        if !self.permits(&real) {
            let verb = if link { "followed" } else { "read" };
            return Err(format!("{}, outside the root: not {verb}", subject(Some(&real))));
        }
        let checked = std::fs::metadata(&real).map_err(|e| format!("cannot read: {e}"))?;
        if !checked.is_file() {
            let what = if link { format!("{}, which is", subject(Some(&real))) } else { "it is".to_owned() };
            return Err(format!("{what} {}, not a regular file: not read", kind(&checked)));
        }
        if checked.len() > max {
            return Err(too_large(checked.len(), max));
        }
        let file = open(&real).map_err(|e| format!("cannot read: {e}"))?;
        let opened = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
        if !opened.is_file() || !same_file(&opened, &checked) || !self.still_permits(&file, &real) {
            return Err("changed while being read: not read".into());
        }
        let mut bytes = Vec::new();
        file.take(max + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read: {e}"))?;
        if bytes.len() as u64 > max {
            return Err(too_large(bytes.len() as u64, max));
        }
        Ok(bytes)
    }

    /// Whether the folder at `dir` may be walked: its real path is inside the root or an
    /// allowed folder (a link to anywhere else is not followed).
    pub(crate) fn permits_folder(&self, dir: &Path) -> bool {
        dir.canonicalize().is_ok_and(|real| real.is_dir() && self.permits(&real))
    }

    /// Whether the file opened at `real` is still one this confinement permits: where
    /// the system says the open file is (Linux), or else whether `real` still resolves
    /// to itself (no folder on the way was swapped for a link since it was resolved).
    fn still_permits(&self, file: &File, real: &Path) -> bool {
        match opened_path(file) {
            Some(opened) => self.permits(&opened),
            None => real.canonicalize().is_ok_and(|again| again == real),
        }
    }
}

/// Records where the link at `path` leads (see [`Listing::links`]): `real`, its real
/// path when it resolves, and its first hop when that differs.
fn record(path: &Path, real: Option<&PathBuf>, out: &mut Listing) {
    if let Some(real) = real {
        out.links.push((path.to_path_buf(), real.clone()));
    }
    if let Some(hop) = first_hop(path).filter(|hop| Some(hop) != real) {
        out.links.push((path.to_path_buf(), hop));
    }
}

/// Whether an error says that what was being walked is gone (deleted, or replaced by
/// a file) since its folder was listed.
fn vanished(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory)
}

/// Where the link at `link` leads in one step: its target, resolved against the real
/// path of the link's folder, `.` and `..` taken lexically. `None` when the link or its
/// folder cannot be read.
fn first_hop(link: &Path) -> Option<PathBuf> {
    let target = std::fs::read_link(link).ok()?;
    let mut hop = link.parent()?.canonicalize().ok()?;
    for part in target.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                hop.pop();
            }
            std::path::Component::Normal(name) => hop.push(name),
            // An absolute target starts again at its prefix (Windows) or root.
            std::path::Component::Prefix(prefix) => hop = PathBuf::from(prefix.as_os_str()),
            std::path::Component::RootDir => hop.push(part.as_os_str()),
        }
    }
    Some(hop)
}

/// The message for a file over [`MAX_FILE_BYTES`].
fn too_large(size: u64, max: u64) -> String {
    format!("{size} bytes is more than the {max}-byte limit")
}

/// What kind of file something that is not a regular file is.
fn kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let kind = meta.file_type();
        if kind.is_fifo() {
            return "a FIFO";
        } else if kind.is_socket() {
            return "a socket";
        } else if kind.is_char_device() {
            return "a character device";
        } else if kind.is_block_device() {
            return "a block device";
        }
    }
    if meta.is_dir() { "a folder" } else { "a special file" }
}

/// Opens a file for reading without blocking on it (a FIFO with no writer, a terminal)
/// and without making it the controlling terminal.
#[cfg(unix)]
fn open(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)
}

/// Opens a file for reading.
#[cfg(not(unix))]
fn open(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// Whether two metadata describe the same file (device and inode).
#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Whether two metadata describe the same file (not knowable here: sizes must agree).
#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len()
}

/// Where an open file is, as the system knows it (Linux, with `/proc` mounted).
#[cfg(target_os = "linux")]
fn opened_path(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd as _;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

/// Where an open file is: not knowable here.
#[cfg(not(target_os = "linux"))]
fn opened_path(_file: &File) -> Option<PathBuf> {
    None
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

    #[test]
    fn a_folder_whose_real_path_is_outside_is_not_listed() {
        let (dir, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(outside.path().join("secret.md"), "x").unwrap();
        let confinement = Confinement::new(dir.path(), &LinkPolicy::new()).unwrap();
        // As a folder link swapped for one leading outside, after it was checked, is walked.
        assert_eq!(confinement.markdown_files(outside.path()).unwrap(), Vec::<PathBuf>::new());
        assert_eq!(confinement.listing(outside.path()).unwrap().links, Vec::new());
    }

    #[test]
    fn folders_vanishing_during_a_walk_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kept.md"), "x").unwrap();
        let confinement = Confinement::new(dir.path(), &LinkPolicy::new()).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let churn = {
            let (root, stop) = (dir.path().to_path_buf(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for i in 0..20 {
                        let _ = std::fs::create_dir_all(root.join(format!("d{i}/e/f")));
                    }
                    for i in 0..20 {
                        let _ = std::fs::remove_dir_all(root.join(format!("d{i}")));
                    }
                }
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        let mut failure = None;
        while failure.is_none() && std::time::Instant::now() < deadline {
            match confinement.markdown_files(dir.path()) {
                Ok(files) if files.contains(&dir.path().join("kept.md")) => {}
                Ok(files) => failure = Some(format!("kept.md missing from {files:?}")),
                Err(e) => failure = Some(format!("a vanished folder failed the walk: {e}")),
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        churn.join().unwrap();
        assert_eq!(failure, None);
    }
}
