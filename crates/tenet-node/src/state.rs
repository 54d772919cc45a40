//! Where a node's id comes from: the configuration, or a state file that keeps the id
//! generated the first time.

use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

use tenet_protocol::{InvalidNodeId, NodeId};

use crate::id::generate;

/// The state file's name, in the state directory.
const ID_FILE: &str = "node-id";

/// A node's id, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The id.
    pub id: NodeId,
    /// Where it came from.
    pub source: Source,
}

/// Where a node's id came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The configuration named it.
    Configured,
    /// The state file held it, from an earlier start.
    Kept(PathBuf),
    /// It was generated now and written to the state file, for every later start.
    Created(PathBuf),
    /// It was generated now and could not be kept (why): the next start has another.
    Ephemeral(String),
}

/// Why a node's id could not be worked out.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The state file holds something that is not a node id.
    #[error("{}: {source}", file.display())]
    Corrupt {
        /// The state file.
        file: PathBuf,
        /// What is wrong with its content.
        source: InvalidNodeId,
    },
    /// The state file is there but cannot be read.
    #[error("cannot read {}: {source}", file.display())]
    Unreadable {
        /// The state file.
        file: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The system gave no random bytes for a new id.
    #[error("cannot generate a node id: {0}")]
    Random(getrandom::Error),
}

impl Identity {
    /// The node's id: `configured` when given; else the one kept in `state_dir`'s
    /// `node-id` file, which the first start generates and writes (two nodes starting
    /// at once on one directory agree on one). Without a state directory, or when the
    /// file cannot be written, the id is generated for this run only
    /// ([`Source::Ephemeral`], which says why).
    ///
    /// # Errors
    /// A state file that holds no valid id or cannot be read (it is not overwritten:
    /// the node would lose the id its peers know), or no randomness for a new id.
    pub fn load(configured: Option<NodeId>, state_dir: Option<&Path>) -> Result<Self, IdentityError> {
        if let Some(id) = configured {
            return Ok(Self { id, source: Source::Configured });
        }
        let Some(dir) = state_dir else {
            let id = generate().map_err(IdentityError::Random)?;
            return Ok(Self { id, source: Source::Ephemeral("no state directory".into()) });
        };
        let file = dir.join(ID_FILE);
        if let Some(id) = read(&file)? {
            return Ok(Self { id, source: Source::Kept(file) });
        }
        let id = generate().map_err(IdentityError::Random)?;
        match create(dir, &file, &id) {
            Ok(()) => Ok(Self { id, source: Source::Created(file) }),
            // Another node on this directory wrote its id first: that one is ours.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => match read(&file)? {
                Some(id) => Ok(Self { id, source: Source::Kept(file) }),
                None => Ok(Self { id, source: Source::Ephemeral(format!("{} vanished while read", file.display())) }),
            },
            Err(e) => Ok(Self { id, source: Source::Ephemeral(format!("cannot write {}: {e}", file.display())) }),
        }
    }
}

/// The id in `file`, or `None` when there is no such file.
fn read(file: &Path) -> Result<Option<NodeId>, IdentityError> {
    match fs::read_to_string(file) {
        Ok(text) => {
            text.trim().parse().map(Some).map_err(|source| IdentityError::Corrupt { file: file.to_owned(), source })
        }
        // No file there, or no directory for one: nothing kept yet.
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Ok(None),
        Err(source) => Err(IdentityError::Unreadable { file: file.to_owned(), source }),
    }
}

/// Writes `id` to `file` whole or not at all: to a file of its own first, then linked
/// into place, which fails (`AlreadyExists`) if another node got there first.
fn create(dir: &Path, file: &Path, id: &NodeId) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    // Named for this attempt alone (the id is random), so that no other writes it.
    let draft = dir.join(format!(".{ID_FILE}.{}.{id}", std::process::id()));
    let written = fs::File::create(&draft).and_then(|mut f| {
        io::Write::write_all(&mut f, format!("{id}\n").as_bytes())?;
        // On disk before it is in place: a crash must not leave an empty id file.
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&draft);
        return Err(e);
    }
    let linked = fs::hard_link(&draft, file);
    let _ = fs::remove_file(&draft);
    linked
}

/// Where a node keeps its state when no directory is configured:
/// `$XDG_STATE_HOME/tenet`, else `$HOME/.local/state/tenet`; `None` when neither
/// variable is set.
pub fn default_state_dir() -> Option<PathBuf> {
    let set = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    set("XDG_STATE_HOME")
        .filter(|p| p.is_absolute())
        .map(|p| p.join("tenet"))
        .or_else(|| set("HOME").map(|home| home.join(".local/state/tenet")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_id_wins() {
        let dir = tempfile::tempdir().unwrap();
        let id: NodeId = "alpha".parse().unwrap();
        let identity = Identity::load(Some(id.clone()), Some(dir.path())).unwrap();
        assert_eq!(identity, Identity { id, source: Source::Configured });
        assert!(!dir.path().join(ID_FILE).exists(), "nothing written");
    }

    #[test]
    fn a_generated_id_is_kept_for_later_starts() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("nested/state");
        let first = Identity::load(None, Some(&state)).unwrap();
        assert_eq!(first.source, Source::Created(state.join(ID_FILE)));
        let again = Identity::load(None, Some(&state)).unwrap();
        assert_eq!(again.id, first.id);
        assert_eq!(again.source, Source::Kept(state.join(ID_FILE)));
        let leftovers: Vec<_> = fs::read_dir(&state).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, [ID_FILE], "no draft left behind");
    }

    #[test]
    fn nodes_starting_at_once_on_one_directory_agree() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<NodeId> = std::thread::scope(|s| {
            let starts: Vec<_> =
                (0..8).map(|_| s.spawn(|| Identity::load(None, Some(dir.path())).unwrap().id)).collect();
            starts.into_iter().map(|start| start.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "{ids:?}");
        assert_eq!(read(&dir.path().join(ID_FILE)).unwrap(), Some(ids[0].clone()));
    }

    #[test]
    fn a_corrupt_state_file_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(ID_FILE);
        fs::write(&file, "not an id\n").unwrap();
        let error = Identity::load(None, Some(dir.path())).unwrap_err();
        assert!(matches!(error, IdentityError::Corrupt { .. }), "{error}");
        assert!(error.to_string().contains("node-id") && error.to_string().contains("invalid node id"), "{error}");
        assert_eq!(fs::read_to_string(&file).unwrap(), "not an id\n");
    }

    #[test]
    fn without_a_writable_state_directory_the_id_lasts_one_run() {
        let identity = Identity::load(None, None).unwrap();
        assert!(matches!(identity.source, Source::Ephemeral(ref why) if why.contains("no state directory")));
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("a-file");
        fs::write(&blocked, "").unwrap();
        // A directory that cannot be made: a file stands where it would be.
        let identity = Identity::load(None, Some(&blocked.join("state"))).unwrap();
        assert!(matches!(identity.source, Source::Ephemeral(ref why) if why.contains("cannot write")), "{identity:?}");
    }
}
