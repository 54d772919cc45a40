//! A catalog of skills: each read from its files, checked against the rules of the
//! Agent Skills format and SEP-2640, and described by the entry `skills/list` gives
//! (every file's `skill://` URI, `sha256:` digest and size).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The most files a skill may have, `SKILL.md` included (SEP-2640).
pub const MAX_FILES: usize = 512;
/// The most bytes a skill's files may hold together (SEP-2640: 16 MiB).
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;
/// The longest description the Agent Skills format allows.
pub const MAX_DESCRIPTION: usize = 1024;
/// The file that makes a directory a skill.
pub const SKILL_MD: &str = "SKILL.md";
/// The URI scheme skills are served under.
pub const SCHEME: &str = "skill://";

/// A skill as found: where it sits in the skill namespace and its files.
#[derive(Debug, Clone)]
pub struct SkillSource {
    /// Its path in the namespace (`rust-testing`, `acme/billing/refunds`): one or more
    /// `/`-separated segments, the last its name.
    pub path: String,
    /// Its files, by path within the skill (`SKILL.md`, `references/forms.md`).
    pub files: BTreeMap<String, FileBody>,
}

impl SkillSource {
    /// A skill of one file, its `SKILL.md`.
    pub fn single(path: impl Into<String>, skill_md: impl Into<String>) -> Self {
        let bytes: Arc<[u8]> = Arc::from(skill_md.into().into_bytes().into_boxed_slice());
        Self { path: path.into(), files: BTreeMap::from([(SKILL_MD.to_owned(), FileBody::Held(bytes))]) }
    }

    /// A skill of one file, its `SKILL.md`: `head` (its front matter, and whatever
    /// else is held), then what `rest` writes, made whenever it is read rather than
    /// held, for a skill whose text lives elsewhere already (a standard's). `rest` must
    /// write the same bytes every time: the entry's digest is of the first.
    pub fn made(
        path: impl Into<String>,
        head: impl Into<Arc<str>>,
        rest: impl Fn(&mut dyn FnMut(&[u8])) + Send + Sync + 'static,
    ) -> Self {
        let body = FileBody::Made { head: head.into(), rest: Arc::new(rest) };
        Self { path: path.into(), files: BTreeMap::from([(SKILL_MD.to_owned(), body)]) }
    }
}

/// What writes the rest of a made file, piece by piece, to the sink it is given.
pub type Writer = Arc<dyn Fn(&mut dyn FnMut(&[u8])) + Send + Sync>;

/// A file's bytes: held, or made when read.
#[derive(Clone)]
pub enum FileBody {
    /// The bytes.
    Held(Arc<[u8]>),
    /// Its first bytes, held, then the rest, written when read (the same every time).
    Made {
        /// The first bytes (a `SKILL.md`'s front matter).
        head: Arc<str>,
        /// What writes the rest.
        rest: Writer,
    },
}

impl FileBody {
    /// The bytes.
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match self {
            FileBody::Held(bytes) => Cow::Borrowed(bytes),
            FileBody::Made { .. } => {
                let mut all = Vec::new();
                self.write(&mut |piece| all.extend_from_slice(piece));
                Cow::Owned(all)
            }
        }
    }

    /// Writes the bytes to `sink`, piece by piece, without gathering them.
    pub fn write(&self, sink: &mut dyn FnMut(&[u8])) {
        match self {
            FileBody::Held(bytes) => sink(bytes),
            FileBody::Made { head, rest } => {
                sink(head.as_bytes());
                rest(sink);
            }
        }
    }

    /// The text its front matter is read from: the whole file, or a made one's head.
    fn front(&self) -> Cow<'_, [u8]> {
        match self {
            FileBody::Held(bytes) => Cow::Borrowed(bytes),
            FileBody::Made { head, .. } => Cow::Borrowed(head.as_bytes()),
        }
    }
}

impl From<Arc<[u8]>> for FileBody {
    fn from(bytes: Arc<[u8]>) -> Self {
        FileBody::Held(bytes)
    }
}

impl std::fmt::Debug for FileBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileBody::Held(bytes) => write!(f, "Held({} bytes)", bytes.len()),
            FileBody::Made { head, .. } => write!(f, "Made({} bytes held)", head.len()),
        }
    }
}

/// Why a skill is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The skill's path.
    pub skill: String,
    /// What is wrong, in a sentence.
    pub why: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "skill {}: {}", self.skill, self.why)
    }
}

/// One file of a served skill.
#[derive(Debug)]
pub struct SkillFile {
    /// Its `skill://` URI.
    pub uri: String,
    /// Its bytes, held or made when read.
    pub body: FileBody,
    /// `sha256:` and the lowercase hex of the bytes' digest.
    pub digest: String,
    /// How many bytes it holds.
    pub size: u64,
    /// Its MIME type, by its extension (and whether it is text).
    pub mime_type: &'static str,
}

/// A served skill.
#[derive(Debug)]
pub struct Skill {
    /// Its path in the namespace.
    pub path: String,
    /// Its `SKILL.md`'s URI (`skill://<path>/SKILL.md`), which names it.
    pub uri: String,
    /// Its front matter, as JSON, exactly as the file's YAML says.
    pub frontmatter: Map<String, Value>,
    /// Its files, by URI; `SKILL.md` among them.
    pub files: Vec<SkillFile>,
}

impl Skill {
    /// Its name (the front matter's, which is its path's last segment).
    pub fn name(&self) -> &str {
        self.frontmatter.get("name").and_then(Value::as_str).unwrap_or_default()
    }

    /// Its description.
    pub fn description(&self) -> &str {
        self.frontmatter.get("description").and_then(Value::as_str).unwrap_or_default()
    }

    /// Its `skills/list` entry: its URI, front matter and every file's URI, digest and
    /// size (made when asked for: JSON values are heavy to hold).
    pub fn entry(&self) -> Value {
        let resources: Vec<Value> =
            self.files.iter().map(|f| json!({"uri": f.uri, "digest": f.digest, "size": f.size})).collect();
        json!({"uri": self.uri, "frontmatter": self.frontmatter, "resources": resources})
    }
}

/// A child of a directory in the skill namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Child {
    /// A directory, by URI.
    Dir(String),
    /// A file, by URI (of one skill or of several: a nested skill's files are the
    /// enclosing skill's too).
    File(String),
}

/// The skills a server serves, checked and indexed.
///
/// A skill's files are every file under its directory, a nested skill's included
/// (SEP-2640), so one file may belong to several skills; it is the same file, with the
/// same bytes, in each (see [`Catalog::build`]).
#[derive(Debug, Default)]
pub struct Catalog {
    skills: Vec<Arc<Skill>>,
    /// Every skill's `SKILL.md` URI: the skill's position. (A nested skill's `SKILL.md`
    /// is a file of the enclosing skill as well: the file map cannot say which skill a
    /// URI names.)
    by_uri: HashMap<String, usize>,
    /// Every file's URI: the position of a skill holding it and the file's there.
    files: HashMap<String, (usize, usize)>,
    /// Every directory's URI (no trailing `/`): its children, sorted, each once.
    dirs: BTreeMap<String, BTreeSet<Child>>,
    /// What tells this catalog's listings from another's: a digest of every entry.
    generation: String,
}

impl Catalog {
    /// The catalog of `sources`, listed in their order: the later of two with one path
    /// takes the earlier's place (as a later root's standard does); a skill that breaks
    /// a rule is left out, with the reason.
    ///
    /// A source's files must include those of every skill inside its folder, as those
    /// skills have them: where a skill and one nested in it disagree (a file of the
    /// inner one the outer lacks or holds other bytes of, as when they come from two
    /// roots), the one given earlier is left out, with the reason.
    pub fn build(sources: impl IntoIterator<Item = SkillSource>) -> (Self, Vec<Problem>) {
        // Each path's source, at its first position, and when the one kept was given.
        let mut ordered: Vec<(usize, SkillSource)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for (given, source) in sources.into_iter().enumerate() {
            match at.get(&source.path) {
                Some(&i) => ordered[i] = (given, source),
                None => {
                    at.insert(source.path.clone(), ordered.len());
                    ordered.push((given, source));
                }
            }
        }
        let mut problems = Vec::new();
        let mut read_skills = Vec::new();
        for (given, source) in ordered {
            let path = source.path.clone();
            match read(source) {
                Ok(skill) => read_skills.push((given, skill)),
                Err(why) => problems.push(Problem { skill: path, why }),
            }
        }
        let keep = agreeing(&read_skills, &mut problems);
        let skills: Vec<Arc<Skill>> = read_skills
            .into_iter()
            .zip(keep)
            .filter(|(_, keep)| *keep)
            .map(|((_, skill), _)| Arc::new(skill))
            .collect();
        let mut catalog = Catalog::default();
        let mut generation = Sha256::new();
        for (s, skill) in skills.iter().enumerate() {
            generation.update(skill.uri.as_bytes());
            for file in &skill.files {
                generation.update(file.uri.as_bytes());
                generation.update(file.digest.as_bytes());
            }
            catalog.by_uri.insert(skill.uri.clone(), s);
            for (f, file) in skill.files.iter().enumerate() {
                if let std::collections::hash_map::Entry::Vacant(slot) = catalog.files.entry(file.uri.clone()) {
                    slot.insert((s, f));
                    catalog.place(&file.uri, Child::File(file.uri.clone()));
                }
            }
        }
        catalog.skills = skills;
        catalog.generation = hex(&generation.finalize()[..8]);
        (catalog, problems)
    }

    /// Files `child` (at `uri`) under its parent directory, and each directory above.
    fn place(&mut self, uri: &str, child: Child) {
        let Some((parent, _)) = uri.rsplit_once('/').filter(|(parent, _)| parent.len() > SCHEME.len()) else {
            return;
        };
        let parent = parent.to_owned();
        let known = self.dirs.contains_key(&parent);
        self.dirs.entry(parent.clone()).or_default().insert(child);
        if !known {
            self.place(&parent.clone(), Child::Dir(parent));
        }
    }

    /// The skills, in the order they were given.
    pub fn skills(&self) -> &[Arc<Skill>] {
        &self.skills
    }

    /// The skill whose `SKILL.md` is at `uri` (a nested skill's own, though its
    /// `SKILL.md` is a file of the enclosing skill too).
    pub fn skill(&self, uri: &str) -> Option<&Arc<Skill>> {
        self.by_uri.get(uri).and_then(|&s| self.skills.get(s))
    }

    /// The file at `uri`, of any skill (the same in every skill that holds it).
    pub fn file(&self, uri: &str) -> Option<&SkillFile> {
        let &(s, f) = self.files.get(uri)?;
        self.skills.get(s)?.files.get(f)
    }

    /// Every file of every skill, each once (in no particular order).
    pub fn files(&self) -> impl Iterator<Item = &SkillFile> {
        self.files.values().filter_map(|&(s, f)| self.skills.get(s)?.files.get(f))
    }

    /// Whether `uri` is this catalog's: one of its files, or in one of its directories
    /// (the directory itself or anything below it, served or not). A URI it covers is
    /// never another server's ([`crate::mount::Mount`]): the server's own skills shadow a
    /// mounted server's.
    pub(crate) fn covers(&self, uri: &str) -> bool {
        if self.files.contains_key(uri) {
            return true;
        }
        let mut at = uri.trim_end_matches('/');
        while at.len() > SCHEME.len() {
            if self.dirs.contains_key(at) {
                return true;
            }
            let Some((parent, _)) = at.rsplit_once('/') else { break };
            at = parent;
        }
        false
    }

    /// The children of the directory at `uri`, when it is one.
    pub(crate) fn children(&self, uri: &str) -> Option<&BTreeSet<Child>> {
        self.dirs.get(uri)
    }

    /// What tells this catalog's listings from another's.
    pub fn generation(&self) -> &str {
        &self.generation
    }
}

/// Which of `skills` (each with when it was given) to keep: every one, but where a
/// skill and one nested in it disagree on a file of the inner one, the one given
/// earlier is left out (with the reason in `problems`), so that every file served has
/// one set of bytes and every skill lists all the files of the skills inside it.
fn agreeing(skills: &[(usize, Skill)], problems: &mut Vec<Problem>) -> Vec<bool> {
    let mut keep = vec![true; skills.len()];
    // Those kept so far, by path, the latest given looked at first.
    let mut kept: BTreeMap<&str, &Skill> = BTreeMap::new();
    let mut by_given: Vec<(&mut bool, &(usize, Skill))> = keep.iter_mut().zip(skills).collect();
    by_given.sort_by_key(|(_, (given, _))| std::cmp::Reverse(*given));
    for (keep, (_, skill)) in by_given {
        // Kept skills around it (its path's prefixes), then kept skills inside it.
        let mut around = Vec::new();
        let mut prefix = skill.path.as_str();
        while let Some((up, _)) = prefix.rsplit_once('/') {
            around.extend(kept.get(up).copied());
            prefix = up;
        }
        let inside_from = format!("{}/", skill.path);
        let inside =
            kept.range::<str, _>((std::ops::Bound::Included(inside_from.as_str()), std::ops::Bound::Unbounded));
        let inside = inside.take_while(|(path, _)| path.starts_with(&inside_from)).map(|(_, s)| *s);
        let why = around
            .into_iter()
            .find_map(|outer| missing(outer, skill).map(|uri| (outer, uri, true)))
            .or_else(|| inside.into_iter().find_map(|inner| missing(skill, inner).map(|uri| (inner, uri, false))));
        match why {
            Some((other, uri, true)) => {
                *keep = false;
                let why = format!(
                    "it lies inside the skill {}, given later, which does not hold its file {uri} as it does (a skill's \
                     files include those of the skills inside it)",
                    other.path
                );
                problems.push(Problem { skill: skill.path.clone(), why });
            }
            Some((other, uri, false)) => {
                *keep = false;
                let why = format!(
                    "it does not hold the file {uri} of the skill {} inside it, given later, as that skill does (a \
                     skill's files include those of the skills inside it)",
                    other.path
                );
                problems.push(Problem { skill: skill.path.clone(), why });
            }
            None => {
                kept.insert(&skill.path, skill);
            }
        }
    }
    keep
}

/// The first file of `inner` that `outer` does not hold with the same digest.
fn missing<'a>(outer: &Skill, inner: &'a Skill) -> Option<&'a str> {
    inner.files.iter().map(|file| (file.uri.as_str(), file.digest.as_str())).find_map(|(uri, digest)| {
        // A skill's files are sorted by path, and so by URI.
        let at = outer.files.binary_search_by(|f| f.uri.as_str().cmp(uri)).ok();
        let held = at.and_then(|f| outer.files.get(f)).map(|f| f.digest.as_str());
        (held != Some(digest)).then_some(uri)
    })
}

pub use tenet_protocol::skill_extension::valid_skill_name as valid_name;

/// Checks `source` and describes it.
fn read(source: SkillSource) -> Result<Skill, String> {
    let segments: Vec<&str> = source.path.split('/').collect();
    if let Some(bad) = segments.iter().find(|s| !valid_name(s)) {
        return Err(format!(
            "{bad:?} in its path breaks the naming rules (1 to 64 of a-z, 0-9 and -, no hyphen first, last or doubled)"
        ));
    }
    let name = segments.last().copied().unwrap_or_default();
    let skill_md = source.files.get(SKILL_MD).ok_or("it has no SKILL.md")?.front();
    let text = std::str::from_utf8(&skill_md).map_err(|_| "its SKILL.md is not UTF-8")?;
    let frontmatter =
        tenet_protocol::skill_front_matter(text).map_err(|e| e.replace("the SKILL.md", "its SKILL.md"))?;
    match frontmatter.get("name") {
        Some(Value::String(n)) if n == name => {}
        Some(Value::String(n)) => return Err(format!("its front matter names it {n:?}, not {name:?} as its folder")),
        _ => return Err("its front matter has no name".into()),
    }
    match frontmatter.get("description") {
        Some(Value::String(d)) if !d.trim().is_empty() && d.chars().count() <= MAX_DESCRIPTION => {}
        Some(Value::String(d)) if !d.trim().is_empty() => {
            return Err(format!("its description is over {MAX_DESCRIPTION} characters"));
        }
        _ => return Err("its front matter has no description".into()),
    }
    if source.files.len() > MAX_FILES {
        return Err(format!("it has {} files, over the {MAX_FILES} a skill may have", source.files.len()));
    }
    // Each file read once here (a made one made once): its size and digest.
    let mut read: BTreeMap<String, (u64, String, &'static str)> = BTreeMap::new();
    for (path, body) in &source.files {
        let (mut hasher, mut size, mut text) = (Sha256::new(), 0u64, Utf8::default());
        body.write(&mut |piece| {
            hasher.update(piece);
            size += piece.len() as u64;
            text.feed(piece);
        });
        let digest = format!("sha256:{}", hex(&hasher.finalize()));
        read.insert(path.clone(), (size, digest, mime_type(path, text.is_text())));
    }
    let bytes: u64 = read.values().map(|(size, _, _)| size).sum();
    if bytes > MAX_BYTES {
        return Err(format!("its files hold {bytes} bytes, over the {MAX_BYTES} (16 MiB) a skill may hold"));
    }
    if let Some(odd) = source.files.keys().find(|f| !valid_file_path(f)) {
        return Err(format!(
            "{odd:?} is not a plain path inside the skill (no .., and no #, ?, % or spaces, which a URI cannot hold as they are)"
        ));
    }
    let root = format!("{SCHEME}{}", source.path);
    let files: Vec<SkillFile> = source
        .files
        .into_iter()
        .filter_map(|(path, body)| {
            let (size, digest, mime_type) = read.remove(&path)?;
            Some(SkillFile { uri: format!("{root}/{path}"), body, digest, size, mime_type })
        })
        .collect();
    let uri = format!("{root}/{SKILL_MD}");
    Ok(Skill { path: source.path, uri, frontmatter, files })
}

/// Whether `path` is a relative path of plain segments that can stand in a URI as it
/// is (no `#`, `?`, `%`, whitespace or control characters).
fn valid_file_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'))
        && !path.chars().any(|c| c.is_control() || c.is_whitespace() || matches!(c, '#' | '?' | '%'))
}

/// Whether bytes fed piece by piece are UTF-8 (a character may span two pieces).
#[derive(Default)]
struct Utf8 {
    /// The end of the last piece that may begin a character the next piece ends.
    carry: Vec<u8>,
    broken: bool,
}

impl Utf8 {
    fn feed(&mut self, piece: &[u8]) {
        if self.broken {
            return;
        }
        let mut joined = std::mem::take(&mut self.carry);
        joined.extend_from_slice(piece);
        match std::str::from_utf8(&joined) {
            Ok(_) => {}
            Err(e) if e.error_len().is_none() => self.carry = joined[e.valid_up_to()..].to_vec(),
            Err(_) => self.broken = true,
        }
    }

    fn is_text(&self) -> bool {
        !self.broken && self.carry.is_empty()
    }
}

/// The MIME type of a file, by its extension, or by whether it is text.
fn mime_type(path: &str, text: bool) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "md" | "markdown" => "text/markdown",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "html" | "htm" => "text/html",
        "csv" => "text/csv",
        "py" => "text/x-python",
        "js" | "mjs" => "text/javascript",
        "sh" => "application/x-sh",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        _ if text => "text/plain",
        _ => "application/octet-stream",
    }
}

/// `bytes` in lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(bytes: &[u8]) -> FileBody {
        FileBody::Held(Arc::from(bytes))
    }

    fn skill(path: &str, md: &str) -> SkillSource {
        SkillSource::single(path, md)
    }

    fn md(name: &str) -> String {
        format!("---\nname: {name}\ndescription: Use when testing {name}.\n---\n# {name}\n")
    }

    #[test]
    fn names_follow_the_agent_skills_rules() {
        for good in ["a", "rust-testing", "x9", &"a".repeat(64)] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "Rust", "-a", "a-", "a--b", "a_b", "a.b", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn an_entry_lists_every_file_with_its_digest_and_size() {
        let mut source = skill("acme/refunds", &md("refunds"));
        source.files.insert("examples/email.md".into(), held(b"hello"));
        let (catalog, problems) = Catalog::build([source]);
        assert!(problems.is_empty(), "{problems:?}");
        let entry = &catalog.skills()[0].entry();
        assert_eq!(entry["uri"], "skill://acme/refunds/SKILL.md");
        assert_eq!(entry["frontmatter"], json!({"name": "refunds", "description": "Use when testing refunds."}));
        let resources = entry["resources"].as_array().unwrap();
        assert_eq!(resources.len(), 2);
        let email = resources.iter().find(|r| r["uri"] == "skill://acme/refunds/examples/email.md").unwrap();
        // sha256("hello")
        assert_eq!(email["digest"], "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(email["size"], 5);
        assert!(catalog.skill("skill://acme/refunds/SKILL.md").is_some());
        assert!(catalog.skill("skill://acme/refunds/examples/email.md").is_none(), "a file, not a skill");
        // Every directory of the namespace, with its children.
        let root: Vec<_> = catalog.children("skill://acme").unwrap().iter().cloned().collect();
        assert_eq!(root, [Child::Dir("skill://acme/refunds".into())]);
        let dir = catalog.children("skill://acme/refunds").unwrap();
        assert!(dir.contains(&Child::Dir("skill://acme/refunds/examples".into())));
        assert!(catalog.children("skill://acme/refunds/SKILL.md").is_none());
    }

    #[test]
    fn a_made_file_is_described_by_what_it_writes_and_not_held() {
        let head = "---\nname: made\ndescription: Use when made.\n---\n";
        let source = SkillSource::made("made", head, |sink| {
            sink("# Made\n".as_bytes());
            // A character split across two pieces.
            sink(&"é".as_bytes()[..1]);
            sink(&"é".as_bytes()[1..]);
        });
        let whole = format!("{head}# Made\né");
        let (catalog, problems) = Catalog::build([source]);
        assert!(problems.is_empty(), "{problems:?}");
        let file = catalog.file("skill://made/SKILL.md").unwrap();
        assert!(matches!(file.body, FileBody::Made { .. }));
        assert_eq!(file.size, whole.len() as u64);
        assert_eq!(file.digest, format!("sha256:{}", hex(&Sha256::digest(whole.as_bytes()))));
        assert_eq!(file.mime_type, "text/markdown");
        assert_eq!(&*file.body.bytes(), whole.as_bytes());
        assert_eq!(catalog.skills()[0].description(), "Use when made.");
    }

    #[test]
    fn text_is_told_from_bytes_across_pieces() {
        let mut split = Utf8::default();
        split.feed(&"ü".as_bytes()[..1]);
        split.feed(&"ü".as_bytes()[1..]);
        assert!(split.is_text());
        let mut cut = Utf8::default();
        cut.feed(&"ü".as_bytes()[..1]);
        assert!(!cut.is_text(), "a character cut off at the end");
        let mut binary = Utf8::default();
        binary.feed(&[0x89, b'P', 0xff]);
        assert!(!binary.is_text());
    }

    #[test]
    fn a_skill_that_breaks_a_rule_is_left_out_with_the_reason() {
        let mut too_many = skill("many", &md("many"));
        for i in 0..MAX_FILES {
            too_many.files.insert(format!("f{i}.txt"), held(b"x"));
        }
        let mut too_big = skill("big", &md("big"));
        let big: Arc<[u8]> = Arc::from(vec![b'x'; 20 * 1024 * 1024].into_boxed_slice());
        too_big.files.insert("data.txt".into(), big.into());
        let mut escaping = skill("escaping", &md("escaping"));
        escaping.files.insert("../secret".into(), held(b"x"));
        let (catalog, problems) = Catalog::build([
            skill("no-front-matter", "# Just text\n"),
            skill("Capitals", &md("Capitals")),
            skill("a--b", &md("a--b")),
            skill("folder", &md("other")),
            skill("silent", "---\nname: silent\n---\n"),
            too_many,
            too_big,
            escaping,
            skill("fine", &md("fine")),
        ]);
        let left_out: BTreeSet<&str> = problems.iter().map(|p| p.skill.as_str()).collect();
        assert_eq!(
            left_out,
            BTreeSet::from(["no-front-matter", "Capitals", "a--b", "folder", "silent", "many", "big", "escaping"])
        );
        assert!(problems.iter().any(|p| p.why.contains("names it \"other\"")), "{problems:?}");
        assert_eq!(catalog.skills().len(), 1);
    }

    /// The outer skill `outer` with the skill `outer/inner` inside it, as a reader of a
    /// folder gives them: the outer one's files include the inner one's.
    fn nested(inner_notes: &[u8], outer_notes: &[u8]) -> (SkillSource, SkillSource) {
        let mut outer = skill("outer", &md("outer"));
        outer.files.insert("inner/SKILL.md".into(), held(md("inner").as_bytes()));
        outer.files.insert("inner/notes.md".into(), held(outer_notes));
        let mut inner = skill("outer/inner", &md("inner"));
        inner.files.insert("notes.md".into(), held(inner_notes));
        (outer, inner)
    }

    #[test]
    fn a_nested_skill_is_a_skill_of_its_own_whose_files_are_the_outer_skills_too() {
        let (outer, inner) = nested(b"notes", b"notes");
        let (catalog, problems) = Catalog::build([outer, inner]);
        assert!(problems.is_empty(), "{problems:?}");
        // The inner SKILL.md names the inner skill, though the outer one holds it too.
        let named = catalog.skill("skill://outer/inner/SKILL.md").map(|s| s.path.as_str());
        assert_eq!(named, Some("outer/inner"));
        assert_eq!(catalog.skill("skill://outer/SKILL.md").map(|s| s.path.as_str()), Some("outer"));
        let outer_files: Vec<&str> = catalog.skills()[0].files.iter().map(|f| f.uri.as_str()).collect();
        assert_eq!(
            outer_files,
            ["skill://outer/SKILL.md", "skill://outer/inner/SKILL.md", "skill://outer/inner/notes.md"]
        );
        assert_eq!(catalog.file("skill://outer/inner/notes.md").map(|f| f.size), Some(5));
        assert_eq!(catalog.files().count(), 3, "each file once");
        // Each child once, though two skills hold it.
        let inner_dir: Vec<_> = catalog.children("skill://outer/inner").unwrap().iter().cloned().collect();
        assert_eq!(
            inner_dir,
            [Child::File("skill://outer/inner/SKILL.md".into()), Child::File("skill://outer/inner/notes.md".into())]
        );
        let outer_dir: Vec<_> = catalog.children("skill://outer").unwrap().iter().cloned().collect();
        assert_eq!(outer_dir, [Child::Dir("skill://outer/inner".into()), Child::File("skill://outer/SKILL.md".into())]);
    }

    #[test]
    fn a_skill_and_one_inside_it_that_disagree_leave_the_earlier_given_out() {
        // The inner skill given later (a later root's) with other bytes: the outer one goes.
        let (outer, inner) = nested(b"later", b"earlier");
        let (catalog, problems) = Catalog::build([outer.clone(), inner.clone()]);
        let served: Vec<&str> = catalog.skills().iter().map(|s| s.path.as_str()).collect();
        assert_eq!(served, ["outer/inner"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].skill, "outer");
        assert!(problems[0].why.contains("skill://outer/inner/notes.md"), "{problems:?}");
        assert_eq!(&*catalog.file("skill://outer/inner/notes.md").unwrap().body.bytes(), b"later");
        // The outer one given later: the inner one goes.
        let (catalog, problems) = Catalog::build([inner.clone(), outer]);
        let served: Vec<&str> = catalog.skills().iter().map(|s| s.path.as_str()).collect();
        assert_eq!(served, ["outer"]);
        assert_eq!(problems[0].skill, "outer/inner", "{problems:?}");
        assert_eq!(&*catalog.file("skill://outer/inner/notes.md").unwrap().body.bytes(), b"earlier");
        // An outer skill that lacks a file of the inner one is not complete either.
        let lacking = skill("outer", &md("outer"));
        let (catalog, problems) = Catalog::build([lacking, inner]);
        assert_eq!(catalog.skills().len(), 1);
        assert!(problems[0].why.contains("skill://outer/inner/SKILL.md"), "{problems:?}");
    }

    #[test]
    fn the_later_of_two_skills_of_one_path_wins_and_the_generation_follows_the_content() {
        let first = skill("shared", &md("shared"));
        let second = skill("shared", "---\nname: shared\ndescription: The later one.\n---\n");
        let (catalog, _) = Catalog::build([first.clone(), second]);
        assert_eq!(catalog.skills()[0].description(), "The later one.");
        let (again, _) = Catalog::build([first.clone()]);
        let (same, _) = Catalog::build([first]);
        assert_eq!(again.generation(), same.generation());
        assert_ne!(again.generation(), catalog.generation());
    }
}
