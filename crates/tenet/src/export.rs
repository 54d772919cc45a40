//! `tenet export`: the skills the knowledge server serves (every standard, and every
//! skill folder of the roots), written into the files agents read from a repository,
//! for agents that do not speak MCP:
//!
//! - `skills`: `.claude/skills/<name>/` holding every file of the skill, its
//!   `SKILL.md` byte for byte as `resources/read` serves it;
//! - `agents-md`: a section of `AGENTS.md`, between two marker lines, that indexes the
//!   skills (name, description, where the full text is); the rest of the file is kept
//!   byte for byte;
//! - `cursor`: `.cursor/rules/<name>.mdc`, a rule per skill (its `SKILL.md` body under
//!   Cursor's front matter);
//! - `copilot`: `.github/instructions/<name>.instructions.md`, path-specific
//!   instructions per skill.
//!
//! The content comes from [`crate::knowledge::skills::catalog`], the catalog the server
//! serves: no second renderer. What was written is recorded in [`MANIFEST`] so that a
//! later export removes the files of skills that are gone, and `--check` reports them,
//! without touching any file Tenet did not write.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tenet_skills::{Catalog, SCHEME, SKILL_MD, Skill};

use crate::args::ExportFormat;

/// The file, at the top of the exported-to folder, that records what Tenet wrote.
pub const MANIFEST: &str = ".tenet-export.json";
/// Where the `skills` format writes (Claude Code's project skills).
pub const SKILLS_DIR: &str = ".claude/skills";
/// Where the `cursor` format writes (Cursor's project rules).
pub const CURSOR_DIR: &str = ".cursor/rules";
/// Where the `copilot` format writes (Copilot's path-specific instructions).
pub const COPILOT_DIR: &str = ".github/instructions";
/// The file the `agents-md` format writes a section of.
pub const AGENTS_MD: &str = "AGENTS.md";
/// The line that opens Tenet's section of `AGENTS.md` (the rest of that line is prose).
pub const SECTION_START: &str = "<!-- tenet export: start";
/// The line that closes Tenet's section of `AGENTS.md`.
pub const SECTION_END: &str = "<!-- tenet export: end -->";
/// What the manifest says wrote it.
const WRITTEN_BY: &str = "tenet export";

/// The file globs a language's standard applies to, by language: the one place the
/// `cursor` and `copilot` formats read them from. A language not named here (and the
/// language-neutral `all`) has none: its rule is one the agent picks by description
/// (Cursor), or applies everywhere (Copilot).
const LANGUAGE_GLOBS: &[(&str, &[&str])] = &[
    ("c", &["**/*.c", "**/*.h"]),
    ("cpp", &["**/*.cc", "**/*.cpp", "**/*.cxx", "**/*.hh", "**/*.hpp", "**/*.hxx"]),
    ("csharp", &["**/*.cs"]),
    ("go", &["**/*.go"]),
    ("java", &["**/*.java"]),
    ("javascript", &["**/*.js", "**/*.jsx", "**/*.mjs", "**/*.cjs"]),
    ("kotlin", &["**/*.kt", "**/*.kts"]),
    ("php", &["**/*.php"]),
    ("python", &["**/*.py", "**/*.pyi"]),
    ("ruby", &["**/*.rb"]),
    ("rust", &["**/*.rs"]),
    ("scala", &["**/*.scala"]),
    ("shell", &["**/*.sh", "**/*.bash"]),
    ("swift", &["**/*.swift"]),
    ("typescript", &["**/*.ts", "**/*.tsx", "**/*.mts", "**/*.cts"]),
];

/// The globs of `language`'s files, when it is one [`LANGUAGE_GLOBS`] knows.
pub fn language_globs(language: &str) -> Option<&'static [&'static str]> {
    LANGUAGE_GLOBS.iter().find(|(name, _)| *name == language).map(|(_, globs)| *globs)
}

/// Why an export or a check cannot go on: each one a usage or I/O error (exit 2).
#[derive(Debug)]
pub enum ExportError {
    /// The folder to export to is not a folder.
    NoDir(PathBuf),
    /// A file could not be read, written or removed.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The manifest is not one Tenet wrote, or names a path outside its formats' folders.
    Manifest(String),
    /// Two skills would be written to one place (their names are equal).
    SameName {
        /// The name.
        name: String,
        /// The two skills' paths.
        paths: (String, String),
    },
    /// `AGENTS.md` holds one of the section's marker lines without the other.
    Markers(String),
    /// A file Tenet would write exists, was not written by Tenet, and differs.
    NotOurs(Vec<String>),
    /// `agents-md` alone: its index needs the full text in another format.
    IndexWithoutText,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDir(dir) => write!(f, "{} is not a folder (create it first: tenet export writes into a repository)", dir.display()),
            Self::Io { path, error } => write!(f, "{}: {error}", path.display()),
            Self::Manifest(why) => write!(f, "{MANIFEST}: {why}"),
            Self::SameName { name, paths: (a, b) } => write!(
                f,
                "the skills {a} and {b} would both be exported as {name}: agents read skills by name, so rename one"
            ),
            Self::Markers(why) => write!(f, "{AGENTS_MD}: {why}"),
            Self::NotOurs(paths) => write!(
                f,
                "not written by tenet export, and not what it would write, so left alone: {}; move or delete them, then export again",
                paths.join(", ")
            ),
            Self::IndexWithoutText => f.write_str(
                "--format agents-md indexes the skills' full text, which another format writes: add --format skills (or cursor, or copilot)",
            ),
        }
    }
}

impl std::error::Error for ExportError {}

/// `path` (in `dir`) as an [`ExportError::Io`].
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |error| ExportError::Io { path: path.to_owned(), error }
}

/// The name a format has on the command line and in the manifest.
pub fn format_name(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Skills => "skills",
        ExportFormat::AgentsMd => "agents-md",
        ExportFormat::Cursor => "cursor",
        ExportFormat::Copilot => "copilot",
    }
}

/// Every format, in the order they are written.
pub const ALL_FORMATS: [ExportFormat; 4] =
    [ExportFormat::Skills, ExportFormat::AgentsMd, ExportFormat::Cursor, ExportFormat::Copilot];

/// The folder a format's files sit in, or for `agents-md` its file.
fn format_root(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Skills => SKILLS_DIR,
        ExportFormat::AgentsMd => AGENTS_MD,
        ExportFormat::Cursor => CURSOR_DIR,
        ExportFormat::Copilot => COPILOT_DIR,
    }
}

/// A skill as exported: the catalog's skill and the one-segment name agents know it by.
struct Unit<'a> {
    name: &'a str,
    skill: &'a Skill,
}

impl Unit<'_> {
    /// Its files, by path inside it, with their bytes as the server serves them.
    fn files(&self) -> Vec<(String, Vec<u8>)> {
        let prefix = format!("{SCHEME}{}/", self.skill.path);
        let files = self.skill.files.iter().filter_map(|file| {
            let inside = file.uri.strip_prefix(&prefix)?;
            Some((inside.to_owned(), file.body.bytes().into_owned()))
        });
        files.collect()
    }

    /// Its `SKILL.md`, as text.
    fn skill_md(&self) -> String {
        let uri = format!("{SCHEME}{}/{SKILL_MD}", self.skill.path);
        let bytes = self.skill.files.iter().find(|f| f.uri == uri).map(|f| f.body.bytes().into_owned());
        String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned()
    }

    /// The language its front matter's `metadata.language` names, unless `all`.
    fn language(&self) -> Option<&str> {
        let language = self.skill.frontmatter.get("metadata")?.get("language")?.as_str()?;
        (language != "all").then_some(language)
    }

    /// The globs its rule applies to: its language's, when it has one that is known.
    fn globs(&self) -> Option<&'static [&'static str]> {
        self.language().and_then(language_globs)
    }

    /// Its description on one line.
    fn description(&self) -> String {
        self.skill.description().split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// The skills to export: those not inside another skill (a skill nested in one travels
/// as files of the outer skill), by name; two of one name are an error.
fn units(catalog: &Catalog) -> Result<Vec<Unit<'_>>, ExportError> {
    let paths: BTreeSet<&str> = catalog.skills().iter().map(|s| s.path.as_str()).collect();
    let inside_another = |path: &str| {
        let mut prefix = path;
        while let Some((up, _)) = prefix.rsplit_once('/') {
            if paths.contains(up) {
                return true;
            }
            prefix = up;
        }
        false
    };
    let mut by_name: BTreeMap<&str, Unit<'_>> = BTreeMap::new();
    for skill in catalog.skills() {
        if inside_another(&skill.path) {
            continue;
        }
        let name = skill.path.rsplit('/').next().unwrap_or(&skill.path);
        if let Some(other) = by_name.get(name) {
            let paths = (other.skill.path.clone(), skill.path.clone());
            return Err(ExportError::SameName { name: name.to_owned(), paths });
        }
        by_name.insert(name, Unit { name, skill });
    }
    Ok(by_name.into_values().collect())
}

/// The line each generated rule and instructions file carries under its front matter.
fn generated_note(name: &str) -> String {
    format!(
        "<!-- Written by `tenet export` from the skill {name}: edit the team's standards, not this file; \
         `tenet export --check` fails while it differs. -->\n\n"
    )
}

/// The body of `unit`'s `SKILL.md` (what follows its front matter).
fn body(unit: &Unit<'_>) -> String {
    let text = unit.skill_md();
    match tenet_protocol::skill_extension::split_skill_md(&text) {
        Ok((_, body)) => body.to_owned(),
        Err(_) => text,
    }
}

/// Whether `text` can stand as a YAML plain scalar, unquoted, as Cursor's front matter
/// reader takes a value: the rest of its line, verbatim.
fn plain_scalar(text: &str) -> bool {
    let first = text.chars().next();
    !text.is_empty()
        && !first.is_some_and(|c| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace())
        && !text.ends_with(char::is_whitespace)
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
}

/// `unit` as a Cursor project rule: its description, its language's globs (none for a
/// language-neutral one: the agent picks it by its description), never always applied.
/// Cursor reads `globs` as comma-separated globs, unquoted (a quoted one keeps its quotes).
fn cursor_rule(unit: &Unit<'_>) -> String {
    let description = unit.description();
    let description =
        if plain_scalar(&description) { description } else { serde_json::Value::String(description).to_string() };
    let globs = unit.globs().map(|g| g.join(",")).unwrap_or_default();
    let space = if globs.is_empty() { "" } else { " " };
    format!(
        "---\ndescription: {description}\nglobs:{space}{globs}\nalwaysApply: false\n---\n{}{}",
        generated_note(unit.name),
        body(unit)
    )
}

/// `unit` as Copilot path-specific instructions: `applyTo` its language's globs, or
/// every file (`**`) for a language-neutral one.
fn copilot_instructions(unit: &Unit<'_>) -> String {
    let apply_to = unit.globs().map(|g| g.join(",")).unwrap_or_else(|| "**".to_owned());
    format!("---\napplyTo: {}\n---\n{}{}", serde_json::Value::String(apply_to), generated_note(unit.name), body(unit))
}

/// Tenet's section of `AGENTS.md`: an index of the skills, each with its description
/// and the file that holds its full text (`text_in`).
fn agents_section(units: &[Unit<'_>], text_in: ExportFormat) -> String {
    let mut section = format!(
        "{SECTION_START}: written by `tenet export` from the team's standards; edit those, not this section. -->\n\
         ## Team standards\n\n\
         This team's engineering standards and skills, one per line: its name, when it applies, and the file \
         that holds it in full. Before writing, reviewing or changing code, read each one that applies to the \
         task and follow it over general habits.\n\n"
    );
    for unit in units {
        let file = match text_in {
            ExportFormat::Cursor => format!("{CURSOR_DIR}/{}.mdc", unit.name),
            ExportFormat::Copilot => format!("{COPILOT_DIR}/{}.instructions.md", unit.name),
            _ => format!("{SKILLS_DIR}/{}/{SKILL_MD}", unit.name),
        };
        section.push_str(&format!("- **{}** (`{file}`): {}\n", unit.name, unit.description()));
    }
    if units.is_empty() {
        section.push_str("(No skills are served.)\n");
    }
    section.push_str(SECTION_END);
    section.push('\n');
    section
}

/// What an export writes: every file by path in the folder, with its format and bytes,
/// and Tenet's section of `AGENTS.md` when that format is asked for.
#[derive(Debug, Default)]
pub struct Plan {
    /// Each file by its `/`-separated path in the folder: its format and bytes.
    pub files: BTreeMap<String, (ExportFormat, Vec<u8>)>,
    /// The `AGENTS.md` section, marker lines included.
    pub section: Option<String>,
    /// The languages a standard names that [`LANGUAGE_GLOBS`] does not know.
    pub unknown_languages: BTreeSet<String>,
}

/// What exporting `catalog` in `formats` writes. `text_formats` are the formats whose
/// files hold the skills' full text after the export (those asked for and those
/// written earlier): `agents-md`'s index points into the first of them.
pub fn plan(
    catalog: &Catalog,
    formats: &BTreeSet<ExportFormat>,
    text_formats: &BTreeSet<ExportFormat>,
) -> Result<Plan, ExportError> {
    let units = units(catalog)?;
    let mut plan = Plan::default();
    for unit in &units {
        if let Some(language) = unit.language().filter(|l| language_globs(l).is_none()) {
            plan.unknown_languages.insert(language.to_owned());
        }
        if formats.contains(&ExportFormat::Skills) {
            for (inside, bytes) in unit.files() {
                plan.files.insert(format!("{SKILLS_DIR}/{}/{inside}", unit.name), (ExportFormat::Skills, bytes));
            }
        }
        if formats.contains(&ExportFormat::Cursor) {
            let path = format!("{CURSOR_DIR}/{}.mdc", unit.name);
            plan.files.insert(path, (ExportFormat::Cursor, cursor_rule(unit).into_bytes()));
        }
        if formats.contains(&ExportFormat::Copilot) {
            let path = format!("{COPILOT_DIR}/{}.instructions.md", unit.name);
            plan.files.insert(path, (ExportFormat::Copilot, copilot_instructions(unit).into_bytes()));
        }
    }
    if formats.contains(&ExportFormat::AgentsMd) {
        let text_in = [ExportFormat::Skills, ExportFormat::Cursor, ExportFormat::Copilot]
            .into_iter()
            .find(|f| text_formats.contains(f) || formats.contains(f))
            .ok_or(ExportError::IndexWithoutText)?;
        plan.section = Some(agents_section(&units, text_in));
    }
    Ok(plan)
}

/// What Tenet wrote into a folder, by format: the file it keeps there.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Always `tenet export`.
    pub written_by: String,
    /// Each format exported here (by its name), with the paths it wrote, sorted.
    pub formats: BTreeMap<String, Vec<String>>,
}

impl Manifest {
    /// The manifest of `dir`, if it has one: checked, so that every path it names lies
    /// in its format's folder (a manifest is never a way to have other files removed).
    pub fn read(dir: &Path) -> Result<Option<Self>, ExportError> {
        let Some(bytes) = read_if_there(&dir.join(MANIFEST))? else { return Ok(None) };
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            ExportError::Manifest(format!("not the record tenet export keeps ({e}); delete it and export again"))
        })?;
        if manifest.written_by != WRITTEN_BY {
            return Err(ExportError::Manifest(format!("writtenBy is {:?}, not {WRITTEN_BY:?}", manifest.written_by)));
        }
        for (name, paths) in &manifest.formats {
            let format = parse_format(name)
                .ok_or_else(|| ExportError::Manifest(format!("{name:?} is not a format tenet export writes")))?;
            if let Some(odd) = paths.iter().find(|p| !in_format(p, format)) {
                return Err(ExportError::Manifest(format!(
                    "{odd:?} is not a path the {name} format writes; delete the manifest and export again"
                )));
            }
        }
        Ok(Some(manifest))
    }

    /// The formats it records.
    pub fn formats(&self) -> BTreeSet<ExportFormat> {
        self.formats.keys().filter_map(|name| parse_format(name)).collect()
    }

    /// The paths it records for `format`.
    fn paths(&self, format: ExportFormat) -> &[String] {
        self.formats.get(format_name(format)).map(Vec::as_slice).unwrap_or_default()
    }

    /// The manifest as written: JSON, two-space indented, a line break at the end.
    fn text(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// The format of a name, as the command line and the manifest spell it.
fn parse_format(name: &str) -> Option<ExportFormat> {
    ALL_FORMATS.into_iter().find(|f| format_name(*f) == name)
}

/// Whether `path` is one `format` writes: a plain relative path inside its folder (or,
/// for `agents-md`, `AGENTS.md` itself).
fn in_format(path: &str, format: ExportFormat) -> bool {
    let plain = path.split('/').all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'));
    let root = format_root(format);
    plain
        && if format == ExportFormat::AgentsMd {
            path == root
        } else {
            path.strip_prefix(root).is_some_and(|r| r.starts_with('/'))
        }
}

/// What differs between a folder and an export: each path, and how.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difference {
    /// A file (or the `AGENTS.md` section) the export would write is not there.
    Missing(String),
    /// A file (or the `AGENTS.md` section, or the manifest) holds other bytes.
    Stale(String),
    /// A file Tenet wrote earlier for a skill no longer served.
    Extra(String),
    /// A file the export would write is there, was not written by Tenet, and differs:
    /// an export leaves it alone and fails.
    NotOurs(String),
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(path) => write!(f, "missing: {path}"),
            Self::Stale(path) => write!(f, "stale: {path}"),
            Self::Extra(path) => write!(f, "extra: {path} (written by tenet export for a skill no longer served)"),
            Self::NotOurs(path) => {
                write!(f, "not ours: {path} (not written by tenet export, and not what it would write)")
            }
        }
    }
}

/// An export's plan for one folder, against what the folder holds.
pub struct Export<'a> {
    dir: &'a Path,
    plan: &'a Plan,
    formats: &'a BTreeSet<ExportFormat>,
    old: Manifest,
}

impl<'a> Export<'a> {
    /// The export of `plan` (in `formats`) into `dir`, which must be a folder.
    pub fn new(dir: &'a Path, plan: &'a Plan, formats: &'a BTreeSet<ExportFormat>) -> Result<Self, ExportError> {
        if !dir.is_dir() {
            return Err(ExportError::NoDir(dir.to_owned()));
        }
        let old = Manifest::read(dir)?.unwrap_or_default();
        Ok(Self { dir, plan, formats, old })
    }

    /// The manifest after the export: the formats exported now with what they wrote,
    /// the others as they were.
    fn manifest(&self) -> Manifest {
        let mut manifest = Manifest { written_by: WRITTEN_BY.to_owned(), formats: self.old.formats.clone() };
        for &format in self.formats {
            let mut paths: Vec<String> =
                self.plan.files.iter().filter(|(_, (f, _))| *f == format).map(|(p, _)| p.clone()).collect();
            if format == ExportFormat::AgentsMd {
                paths.push(AGENTS_MD.to_owned());
            }
            manifest.formats.insert(format_name(format).to_owned(), paths);
        }
        manifest
    }

    /// The files Tenet wrote earlier, in the formats exported now, that it would not write now.
    fn extras(&self) -> Vec<String> {
        let formats = self.formats.iter().filter(|f| **f != ExportFormat::AgentsMd);
        let paths = formats.flat_map(|&format| self.old.paths(format));
        paths.filter(|path| !self.plan.files.contains_key(*path)).cloned().collect()
    }

    /// What `AGENTS.md` holds now, if anything, and what it would hold after the export.
    fn agents_md(&self) -> Result<Option<(Option<String>, String)>, ExportError> {
        let Some(section) = &self.plan.section else { return Ok(None) };
        let now = read_if_there(&self.dir.join(AGENTS_MD))?
            .map(|bytes| String::from_utf8(bytes).map_err(|_| ExportError::Markers("it is not UTF-8".into())))
            .transpose()?;
        let after = with_section(now.as_deref(), section)?;
        Ok(Some((now, after)))
    }

    /// How the folder differs from the export, every path sorted.
    pub fn differences(&self) -> Result<Vec<Difference>, ExportError> {
        let mut found = Vec::new();
        for (path, (_, bytes)) in &self.plan.files {
            match read_if_there(&self.dir.join(path))? {
                None => found.push(Difference::Missing(path.clone())),
                Some(now) if now == *bytes => {}
                Some(_) if !self.owned(path) => found.push(Difference::NotOurs(path.clone())),
                Some(_) => found.push(Difference::Stale(path.clone())),
            }
        }
        for path in self.extras() {
            if self.dir.join(&path).symlink_metadata().is_ok() {
                found.push(Difference::Extra(path));
            }
        }
        if let Some((now, after)) = self.agents_md()? {
            let section = now.as_deref().and_then(|text| find_section(text).ok().flatten());
            match section {
                None => found.push(Difference::Missing(format!("{AGENTS_MD} (its tenet export section)"))),
                Some(_) if now.as_deref() != Some(after.as_str()) => {
                    found.push(Difference::Stale(format!("{AGENTS_MD} (its tenet export section)")));
                }
                Some(_) => {}
            }
        }
        if found.is_empty() && read_if_there(&self.dir.join(MANIFEST))? != Some(self.manifest().text().into_bytes()) {
            found.push(Difference::Stale(MANIFEST.to_owned()));
        }
        found.sort();
        Ok(found)
    }

    /// Whether Tenet wrote `path` earlier (in any format).
    fn owned(&self, path: &str) -> bool {
        self.old.formats.values().any(|paths| paths.iter().any(|p| p == path))
    }

    /// Writes the export: every file that differs, atomically; the `AGENTS.md` section;
    /// removes the files Tenet wrote earlier that it would not write now (and the
    /// folders that leaves empty inside its formats' folders); then the manifest. A file
    /// in the way that Tenet did not write stops the export before anything is written.
    pub fn write(&self) -> Result<Written, ExportError> {
        let in_the_way: Vec<String> = self
            .differences()?
            .into_iter()
            .filter_map(|d| if let Difference::NotOurs(p) = d { Some(p) } else { None })
            .collect();
        if !in_the_way.is_empty() {
            return Err(ExportError::NotOurs(in_the_way));
        }
        let agents_md = self.agents_md()?;
        let mut written = Written::default();
        for (path, (_, bytes)) in &self.plan.files {
            let target = self.dir.join(path);
            if read_if_there(&target)?.as_deref() == Some(bytes.as_slice()) {
                written.unchanged += 1;
                continue;
            }
            write_atomically(&target, bytes)?;
            written.paths.push(path.clone());
        }
        if let Some((now, after)) = agents_md {
            if now.as_deref() == Some(after.as_str()) {
                written.unchanged += 1;
            } else {
                write_atomically(&self.dir.join(AGENTS_MD), after.as_bytes())?;
                written.paths.push(AGENTS_MD.to_owned());
            }
        }
        for path in self.extras() {
            let target = self.dir.join(&path);
            match std::fs::remove_file(&target) {
                Ok(()) => {
                    self.prune(&path);
                    written.removed.push(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.prune(&path),
                Err(e) => return Err(ExportError::Io { path: target, error: e }),
            }
        }
        let manifest = self.manifest().text();
        if read_if_there(&self.dir.join(MANIFEST))?.as_deref() != Some(manifest.as_bytes()) {
            write_atomically(&self.dir.join(MANIFEST), manifest.as_bytes())?;
        }
        Ok(written)
    }

    /// Removes the folders above `path` that are empty now, up to its format's folder.
    fn prune(&self, path: &str) {
        let Some(root) = ALL_FORMATS.into_iter().map(format_root).find(|r| path.starts_with(&format!("{r}/"))) else {
            return;
        };
        let mut at = path;
        while let Some((up, _)) = at.rsplit_once('/') {
            if up.len() <= root.len() || std::fs::remove_dir(self.dir.join(up)).is_err() {
                break;
            }
            at = up;
        }
    }
}

/// What an export changed.
#[derive(Debug, Default)]
pub struct Written {
    /// The files written (new or changed), `AGENTS.md` among them when its section was.
    pub paths: Vec<String>,
    /// The files removed.
    pub removed: Vec<String>,
    /// How many files (and sections) were already right.
    pub unchanged: usize,
}

/// The bytes of the file at `path`, or `None` when there is none.
fn read_if_there(path: &Path) -> Result<Option<Vec<u8>>, ExportError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ExportError::Io { path: path.to_owned(), error: e }),
    }
}

/// Writes `bytes` to `path` through a file beside it renamed into place, so that a
/// reader sees the old bytes or the new, never part of them.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = parent.join(format!(".{name}.tenet-export-{}", std::process::id()));
    let written = std::fs::File::create(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(error) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(ExportError::Io { path: path.to_owned(), error });
    }
    Ok(())
}

/// Where Tenet's section lies in `text`: the byte range from its start marker line to
/// the end of its end marker line, if it has one.
fn find_section(text: &str) -> Result<Option<std::ops::Range<usize>>, ExportError> {
    let mut start = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare.starts_with(SECTION_START) {
            if start.is_some() {
                return Err(ExportError::Markers("its tenet export section opens twice; remove one by hand".into()));
            }
            start = Some(offset);
        } else if bare == SECTION_END {
            let Some(from) = start else {
                return Err(ExportError::Markers(
                    "it closes a tenet export section it never opens; remove the end marker by hand".into(),
                ));
            };
            return Ok(Some(from..offset + line.len()));
        }
        offset += line.len();
    }
    match start {
        Some(_) => Err(ExportError::Markers(
            "its tenet export section has no end marker; remove the section by hand and export again".into(),
        )),
        None => Ok(None),
    }
}

/// `AGENTS.md` with `section` in Tenet's place: replacing the section it holds, or
/// after the rest of the file (a blank line between), or alone when there is no file.
/// Everything outside the section is kept byte for byte.
fn with_section(now: Option<&str>, section: &str) -> Result<String, ExportError> {
    let Some(text) = now else { return Ok(section.to_owned()) };
    match find_section(text)? {
        Some(range) => Ok(format!("{}{section}{}", &text[..range.start], &text[range.end..])),
        None if text.is_empty() => Ok(section.to_owned()),
        None => {
            let gap = if text.ends_with("\n\n") || text.ends_with("\r\n\r\n") {
                ""
            } else if text.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            Ok(format!("{text}{gap}{section}"))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tenet_skills::SkillSource;

    fn catalog(sources: Vec<SkillSource>) -> Catalog {
        let (catalog, problems) = Catalog::build(sources);
        assert!(problems.is_empty(), "{problems:?}");
        catalog
    }

    fn standard(name: &str, language: &str) -> SkillSource {
        SkillSource::single(
            name,
            format!(
                "---\nname: {name}\ndescription: Use for {name}.\nmetadata:\n  language: {language}\n---\n# {name}\n\nText.\n"
            ),
        )
    }

    fn all() -> BTreeSet<ExportFormat> {
        ALL_FORMATS.into_iter().collect()
    }

    #[test]
    fn every_known_language_has_globs_and_neutral_standards_have_none() {
        assert_eq!(language_globs("rust"), Some(&["**/*.rs"][..]));
        assert!(language_globs("all").is_none());
        for (language, globs) in LANGUAGE_GLOBS {
            assert!(!globs.is_empty() && globs.iter().all(|g| g.starts_with("**/*.")), "{language}");
        }
        let names: Vec<&str> = LANGUAGE_GLOBS.iter().map(|(n, _)| *n).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, each once: {names:?}");
    }

    #[test]
    fn rules_take_their_globs_from_the_language_and_the_body_from_the_skill() {
        let catalog = catalog(vec![standard("rust-testing", "rust"), standard("security", "all")]);
        let plan = plan(&catalog, &all(), &BTreeSet::new()).unwrap();
        let rule = String::from_utf8(plan.files[".cursor/rules/rust-testing.mdc"].1.clone()).unwrap();
        assert!(rule.starts_with("---\ndescription: Use for rust-testing.\nglobs: **/*.rs\nalwaysApply: false\n---\n"));
        assert!(rule.ends_with("# rust-testing\n\nText.\n"), "{rule}");
        let neutral = String::from_utf8(plan.files[".cursor/rules/security.mdc"].1.clone()).unwrap();
        assert!(neutral.contains("\nglobs:\nalwaysApply: false\n"), "{neutral}");
        let copilot =
            String::from_utf8(plan.files[".github/instructions/rust-testing.instructions.md"].1.clone()).unwrap();
        assert!(copilot.starts_with("---\napplyTo: \"**/*.rs\"\n---\n"), "{copilot}");
        let everywhere =
            String::from_utf8(plan.files[".github/instructions/security.instructions.md"].1.clone()).unwrap();
        assert!(everywhere.starts_with("---\napplyTo: \"**\"\n---\n"), "{everywhere}");
        let section = plan.section.unwrap();
        assert!(
            section.contains("- **rust-testing** (`.claude/skills/rust-testing/SKILL.md`): Use for rust-testing.\n")
        );
        assert!(section.starts_with(SECTION_START) && section.ends_with(&format!("{SECTION_END}\n")));
    }

    #[test]
    fn a_description_cursor_cannot_take_bare_is_quoted() {
        for (text, plain) in
            [("Use for x.", true), ("Key: value", false), ("#tag", false), ("*x", false), ("a # b", false)]
        {
            assert_eq!(plain_scalar(text), plain, "{text}");
        }
    }

    #[test]
    fn a_nested_skill_travels_inside_its_outer_skill_and_equal_names_are_refused() {
        let mut outer = SkillSource::single("review", "---\nname: review\ndescription: Outer.\n---\n");
        let inner_md = "---\nname: style\ndescription: Inner.\n---\n";
        outer.files.insert("style/SKILL.md".into(), tenet_skills::FileBody::Held(inner_md.as_bytes().into()));
        let inner = SkillSource::single("review/style", inner_md);
        let catalog = catalog(vec![outer, inner]);
        let formats = BTreeSet::from([ExportFormat::Skills, ExportFormat::Cursor]);
        let plan = plan(&catalog, &formats, &BTreeSet::new()).unwrap();
        let paths: Vec<&str> = plan.files.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [".claude/skills/review/SKILL.md", ".claude/skills/review/style/SKILL.md", ".cursor/rules/review.mdc"]
        );
        let twins = catalog_of_twins();
        match super::plan(&twins, &formats, &BTreeSet::new()) {
            Err(ExportError::SameName { name, .. }) => assert_eq!(name, "refunds"),
            other => panic!("{other:?}"),
        }
    }

    fn catalog_of_twins() -> Catalog {
        let md = "---\nname: refunds\ndescription: Refunds.\n---\n";
        catalog(vec![SkillSource::single("acme/refunds", md), SkillSource::single("billing/refunds", md)])
    }

    #[test]
    fn agents_md_alone_has_nothing_to_point_at() {
        let catalog = catalog(vec![standard("rust-testing", "rust")]);
        let only = BTreeSet::from([ExportFormat::AgentsMd]);
        assert!(matches!(plan(&catalog, &only, &BTreeSet::new()), Err(ExportError::IndexWithoutText)));
        let earlier = BTreeSet::from([ExportFormat::Copilot]);
        let section = plan(&catalog, &only, &earlier).unwrap().section.unwrap();
        assert!(section.contains("(`.github/instructions/rust-testing.instructions.md`)"), "{section}");
    }

    #[test]
    fn the_section_replaces_its_old_self_and_keeps_the_rest_byte_for_byte() {
        let section = format!("{SECTION_START} x -->\nnew\n{SECTION_END}\n");
        assert_eq!(with_section(None, &section).unwrap(), section);
        assert_eq!(with_section(Some("# Mine\r\n"), &section).unwrap(), format!("# Mine\r\n\n{section}"));
        assert_eq!(with_section(Some("# Mine"), &section).unwrap(), format!("# Mine\n\n{section}"));
        let old = format!("# Mine\r\n\n{SECTION_START} y -->\nold\n{SECTION_END}\n\nAfter\r\n");
        assert_eq!(with_section(Some(&old), &section).unwrap(), format!("# Mine\r\n\n{section}\nAfter\r\n"));
        for broken in [
            format!("{SECTION_START} -->\nno end\n"),
            format!("no start\n{SECTION_END}\n"),
            format!("{SECTION_START}\n{SECTION_START}\n{SECTION_END}\n"),
        ] {
            assert!(matches!(with_section(Some(&broken), &section), Err(ExportError::Markers(_))), "{broken}");
        }
    }

    #[test]
    fn a_manifest_cannot_name_a_file_outside_its_formats_folders() {
        for (path, format, ok) in [
            (".claude/skills/x/SKILL.md", ExportFormat::Skills, true),
            (".claude/skills/../../etc/passwd", ExportFormat::Skills, false),
            ("/etc/passwd", ExportFormat::Cursor, false),
            (".cursor/rules/x.mdc", ExportFormat::Copilot, false),
            (".cursor/rules", ExportFormat::Cursor, false),
            ("AGENTS.md", ExportFormat::AgentsMd, true),
            ("docs/AGENTS.md", ExportFormat::AgentsMd, false),
        ] {
            assert_eq!(in_format(path, format), ok, "{path}");
        }
        let dir = tempfile::tempdir().unwrap();
        let bad = r#"{"writtenBy":"tenet export","formats":{"cursor":["src/main.rs"]}}"#;
        std::fs::write(dir.path().join(MANIFEST), bad).unwrap();
        assert!(matches!(Manifest::read(dir.path()), Err(ExportError::Manifest(_))));
    }
}
