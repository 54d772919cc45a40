//! Skill folders in a root, in the Agent Skills layout: `<root>/skills/<name>/SKILL.md`
//! with any files and folders beside it (a skill may sit deeper, as
//! `skills/acme/billing/refunds/SKILL.md`, its path then `acme/billing/refunds`). The
//! `skills` folder holds skills, not standards: the document walk leaves it out.
//!
//! A skill's files are every file under its folder, those of a skill folder inside it
//! included: a nested skill (`skills/outer/inner/SKILL.md`) is a skill of its own and,
//! to the skill around it, a folder of supporting files like any other (SEP-2640), so
//! one file may be in both. Each is read once.
//!
//! A skill's files are read as bytes. Hidden entries are skipped; a symbolic link is
//! read only when it leads to a file inside its own skill (a link out of the skill is
//! left out, with a warning), and a folder reached through a link is not walked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::document::Warning;
#[cfg(test)]
use crate::root::is_skill_path;
use crate::root::{Confinement, LinkPolicy, Root, is_hidden};

pub use crate::root::SKILLS_FOLDER;

/// The file that makes a folder a skill.
const SKILL_MD: &str = "SKILL.md";

/// The name of the skill a standard is served as: the domain alone for the
/// language-neutral standard (`all`), else `<language>-<domain>` (`rust-testing`).
pub fn standard_skill_name(language: &str, domain: &str) -> String {
    if language == "all" { domain.to_owned() } else { format!("{language}-{domain}") }
}

/// A skill folder as found in a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillFolder {
    /// Its path under the `skills` folder, `/`-separated (its last segment its name).
    pub path: String,
    /// Its files, by path inside it, `SKILL.md` among them.
    pub files: BTreeMap<String, Arc<[u8]>>,
    /// The root it comes from (`builtin`, or the folder).
    pub root: String,
}

/// The most files a skill may have (SEP-2640); reading a skill stops past it.
const MAX_SKILL_FILES: usize = 512;
/// The most bytes a skill's files may hold together (SEP-2640: 16 MiB).
const MAX_SKILL_BYTES: u64 = 16 * 1024 * 1024;
/// The most skill folders read from all roots together.
const MAX_SKILLS: usize = 10_000;
/// The most bytes read for skills from all roots together.
const MAX_ALL_BYTES: u64 = 512 * 1024 * 1024;

/// What reading skills may still take.
struct Budget {
    skills: usize,
    bytes: u64,
}

/// The skill folders of `roots`, in root order (a later root's skill of one path
/// replaces an earlier one's where they are served), and what was left out and why.
/// Files are read under the roots' rules for standards (`links`): a link is followed
/// only inside the root or a folder the policy allows, only regular files are read,
/// and what was opened is checked again.
pub fn read_skills(roots: &[Root], links: &LinkPolicy) -> (Vec<SkillFolder>, Vec<Warning>) {
    let mut skills = Vec::new();
    let mut warnings = Vec::new();
    let mut budget = Budget { skills: MAX_SKILLS, bytes: MAX_ALL_BYTES };
    for root in roots {
        match root {
            Root::Builtin => skills.extend(builtin()),
            Root::Dir(dir) => {
                let folder = dir.join(SKILLS_FOLDER);
                let Ok(confinement) = Confinement::new(dir, links) else { continue };
                if !folder.symlink_metadata().is_ok_and(|m| m.is_dir() || m.is_symlink()) {
                    continue;
                }
                let label = root.label();
                if !confinement.permits_folder(&folder) {
                    warnings.push(Warning {
                        file: format!("{label}:{SKILLS_FOLDER}"),
                        line: None,
                        message: "leads outside the root: not read".into(),
                    });
                    continue;
                }
                let mut walk = Walk { top: &folder, root: &label, confinement: &confinement, read: HashMap::new() };
                walk.find(&folder, &mut skills, &mut warnings, &mut budget);
            }
        }
    }
    // A file left out of a nested skill is left out of the skills around it too: say so once.
    let mut said = HashSet::new();
    warnings.retain(|w| said.insert((w.file.clone(), w.message.clone())));
    (skills, warnings)
}

/// The built-in corpus's skills.
fn builtin() -> Vec<SkillFolder> {
    let files = crate::corpus::BUILTIN
        .iter()
        .filter_map(|(path, text)| path.strip_prefix("skills/").map(|rest| (rest, Arc::<[u8]>::from(text.as_bytes()))));
    group(files.collect(), "builtin")
}

/// The skills of `files` (by path under a skills folder): each folder holding a
/// `SKILL.md` is a skill of every file under it, those of a skill inside it included.
fn group(files: Vec<(&str, Arc<[u8]>)>, root: &str) -> Vec<SkillFolder> {
    let skill_paths: Vec<&str> =
        files.iter().filter_map(|(path, _)| path.strip_suffix(SKILL_MD)?.strip_suffix('/')).collect();
    let mut by_skill: BTreeMap<&str, BTreeMap<String, Arc<[u8]>>> = BTreeMap::new();
    for (path, bytes) in &files {
        for skill in &skill_paths {
            if let Some(inside) = path.strip_prefix(skill).and_then(|rest| rest.strip_prefix('/')) {
                by_skill.entry(skill).or_default().insert(inside.to_owned(), bytes.clone());
            }
        }
    }
    by_skill
        .into_iter()
        .map(|(path, files)| SkillFolder { path: path.to_owned(), files, root: root.to_owned() })
        .collect()
}

/// A walk of one root's skills folder.
struct Walk<'a> {
    top: &'a Path,
    root: &'a str,
    confinement: &'a Confinement,
    /// Every file read so far, by path: a nested skill's files were read for the skill
    /// around it already, and are taken from here (not read, nor counted against the
    /// budget of all skills, again; both skills so hold the same bytes).
    read: HashMap<PathBuf, Arc<[u8]>>,
}

impl Walk<'_> {
    fn warn(&self, path: &Path, message: String) -> Warning {
        Warning { file: format!("{}:{SKILLS_FOLDER}/{}", self.root, relative(self.top, path)), line: None, message }
    }

    /// Finds the skills at or under `dir`: a folder with a `SKILL.md` is a skill, and a
    /// skill folder inside it is a skill of its own (whose files are the outer's too).
    fn find(&mut self, dir: &Path, skills: &mut Vec<SkillFolder>, warnings: &mut Vec<Warning>, budget: &mut Budget) {
        if dir.join(SKILL_MD).symlink_metadata().is_ok() {
            if budget.skills == 0 {
                warnings.push(self.warn(dir, format!("past {MAX_SKILLS} skills: not read")));
                return;
            }
            budget.skills -= 1;
            let mut files = BTreeMap::new();
            let mut taken = 0u64;
            let skill = SkillDir { path: dir, real: dir.canonicalize().ok() };
            match self.collect(&skill, dir, &mut files, &mut taken, warnings, budget) {
                Ok(()) => skills.push(SkillFolder { path: relative(self.top, dir), files, root: self.root.to_owned() }),
                Err(why) => warnings.push(self.warn(dir, format!("{why}: the skill is not served"))),
            }
        }
        for folder in folders(dir) {
            self.find(&folder, skills, warnings, budget);
        }
    }

    /// Reads the files of `skill` under `dir`, those of a skill folder inside it
    /// included. Stops, with the reason, past the limits of a skill or of all skills.
    fn collect(
        &mut self,
        skill: &SkillDir<'_>,
        dir: &Path,
        files: &mut BTreeMap<String, Arc<[u8]>>,
        taken: &mut u64,
        warnings: &mut Vec<Warning>,
        budget: &mut Budget,
    ) -> Result<(), String> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            if is_hidden(&entry.file_name().to_string_lossy()) {
                continue;
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                // A skill folder in it too: its files are supporting files here.
                self.collect(skill, &path, files, taken, warnings, budget)?;
                continue;
            }
            if kind.is_symlink() {
                let real = path.canonicalize();
                if real.as_ref().is_ok_and(|real| real.is_dir()) {
                    warnings.push(self.warn(&path, "a symbolic link to a folder: not followed in a skill".into()));
                    continue;
                }
                // Inside its own skill only (what is read is checked against the root again).
                if !real.as_ref().is_ok_and(|real| skill.real.as_ref().is_some_and(|inside| real.starts_with(inside))) {
                    warnings.push(self.warn(&path, "a symbolic link out of the skill: left out".into()));
                    continue;
                }
            }
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                warnings.push(self.warn(&path, "a name that is not UTF-8: left out".into()));
                continue;
            };
            if files.len() >= MAX_SKILL_FILES {
                return Err(format!("more than {MAX_SKILL_FILES} files"));
            }
            let too_big = || format!("more than {MAX_SKILL_BYTES} bytes in all (or past the limit of all skills)");
            let bytes = match self.read.get(&path) {
                // Read for the skill around this one: the same bytes, not counted again.
                Some(bytes) if bytes.len() as u64 > MAX_SKILL_BYTES - *taken => return Err(too_big()),
                Some(bytes) => bytes.clone(),
                None => match self.confinement.read_bytes(&path, (MAX_SKILL_BYTES - *taken).min(budget.bytes)) {
                    Ok(bytes) => {
                        budget.bytes -= bytes.len() as u64;
                        let bytes: Arc<[u8]> = Arc::from(bytes.into_boxed_slice());
                        self.read.insert(path.clone(), bytes.clone());
                        bytes
                    }
                    Err(why) if why.contains("-byte limit") => return Err(too_big()),
                    Err(why) => {
                        warnings.push(self.warn(&path, format!("{why}: left out of the skill")));
                        continue;
                    }
                },
            };
            *taken += bytes.len() as u64;
            files.insert(relative(skill.path, &dir.join(&name)), bytes);
        }
        Ok(())
    }
}

/// A skill's folder, as given and resolved (what its links must stay inside).
struct SkillDir<'a> {
    path: &'a Path,
    real: Option<PathBuf>,
}

/// The folders directly in `dir` (not links, not hidden), sorted.
fn folders(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut folders: Vec<_> = entries
        .flatten()
        .filter(|e| !is_hidden(&e.file_name().to_string_lossy()))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    folders.sort();
    folders
}

/// `path` inside `base`, `/`-separated.
fn relative(base: &Path, path: &Path) -> String {
    let inside = path.strip_prefix(base).unwrap_or(path);
    inside.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_folders_are_found_with_their_files_and_links_out_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let skill = dir.path().join("skills/code-review");
        std::fs::create_dir_all(skill.join("references")).unwrap();
        std::fs::write(skill.join("SKILL.md"), "---\nname: code-review\n---\n").unwrap();
        std::fs::write(skill.join("references/checklist.md"), "- [ ] tests\n").unwrap();
        std::fs::write(skill.join(".hidden"), "x").unwrap();
        let nested = dir.path().join("skills/acme/refunds");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("SKILL.md"), "---\nname: refunds\n---\n").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.txt"), skill.join("leak.txt")).unwrap();
            std::os::unix::fs::symlink(skill.join("references/checklist.md"), skill.join("again.md")).unwrap();
        }
        let (skills, warnings) = read_skills(&[Root::Dir(dir.path().to_owned())], &LinkPolicy::default());
        let paths: Vec<&str> = skills.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, ["acme/refunds", "code-review"]);
        let review = &skills[1];
        let files: Vec<&str> = review.files.keys().map(String::as_str).collect();
        #[cfg(unix)]
        {
            assert_eq!(files, ["SKILL.md", "again.md", "references/checklist.md"]);
            assert!(warnings.iter().any(|w| w.file.ends_with("skills/code-review/leak.txt")), "{warnings:?}");
        }
        #[cfg(not(unix))]
        assert_eq!(files, ["SKILL.md", "references/checklist.md"]);
    }

    #[test]
    fn a_skills_folder_outside_the_root_a_skill_past_its_limits_and_nested_skills() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("stolen")).unwrap();
        std::fs::write(outside.path().join("stolen/SKILL.md"), "---\nname: stolen\n---\n").unwrap();
        let linked = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), linked.path().join("skills")).unwrap();
            let (skills, warnings) = read_skills(&[Root::Dir(linked.path().to_owned())], &LinkPolicy::default());
            assert!(skills.is_empty(), "{skills:?}");
            assert!(warnings.iter().any(|w| w.message.contains("outside the root")), "{warnings:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        // 513 files with those of the skill inside it (511): too many, though the inner one is served.
        let many = dir.path().join("skills/many");
        std::fs::create_dir_all(many.join("part")).unwrap();
        std::fs::write(many.join("SKILL.md"), "---\nname: many\n---\n").unwrap();
        std::fs::write(many.join("extra.txt"), "x").unwrap();
        std::fs::write(many.join("part/SKILL.md"), "---\nname: part\n---\n").unwrap();
        for i in 0..MAX_SKILL_FILES - 2 {
            std::fs::write(many.join(format!("part/f{i:03}.txt")), "x").unwrap();
        }
        let outer = dir.path().join("skills/outer");
        std::fs::create_dir_all(outer.join("inner")).unwrap();
        std::fs::write(outer.join("SKILL.md"), "---\nname: outer\n---\n").unwrap();
        std::fs::write(outer.join("inner/SKILL.md"), "---\nname: inner\n---\n").unwrap();
        std::fs::write(outer.join("inner/notes.md"), "inner's").unwrap();
        std::fs::create_dir_all(outer.join("refs/deep")).unwrap();
        std::fs::write(outer.join("refs/deep/SKILL.md"), "---\nname: deep\n---\n").unwrap();
        std::fs::write(outer.join("refs/guide.md"), "outer's").unwrap();
        // A link in the inner skill to a file of the outer one: inside the outer skill only.
        #[cfg(unix)]
        std::os::unix::fs::symlink(outer.join("refs/guide.md"), outer.join("inner/guide.md")).unwrap();
        let (skills, warnings) = read_skills(&[Root::Dir(dir.path().to_owned())], &LinkPolicy::default());
        let paths: Vec<&str> = skills.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, ["many/part", "outer", "outer/inner", "outer/refs/deep"], "{warnings:?}");
        assert!(warnings.iter().any(|w| w.file.ends_with("skills/many") && w.message.contains("more than 512 files")));
        assert_eq!(skills[0].files.len(), MAX_SKILL_FILES - 1);
        // The outer skill's files are all under its folder, the nested skills' included.
        let mut outer_files =
            vec!["SKILL.md", "inner/SKILL.md", "inner/notes.md", "refs/deep/SKILL.md", "refs/guide.md"];
        let inner_files = ["SKILL.md", "notes.md"];
        #[cfg(unix)]
        {
            outer_files.insert(2, "inner/guide.md");
            let left_out: Vec<_> =
                warnings.iter().filter(|w| w.file.ends_with("skills/outer/inner/guide.md")).collect();
            assert_eq!(left_out.len(), 1, "{warnings:?}");
            assert!(left_out[0].message.contains("out of the skill"), "{warnings:?}");
        }
        assert_eq!(skills[1].files.keys().collect::<Vec<_>>(), outer_files);
        assert_eq!(skills[2].files.keys().collect::<Vec<_>>(), inner_files);
        assert_eq!(skills[3].files.keys().collect::<Vec<_>>(), ["SKILL.md"]);
        // One file, read once: both skills hold the same bytes.
        assert!(Arc::ptr_eq(&skills[1].files["inner/notes.md"], &skills[2].files["notes.md"]));
    }

    #[test]
    fn built_in_skills_hold_the_files_of_the_skills_inside_them() {
        let bytes = |text: &str| Arc::<[u8]>::from(text.as_bytes());
        let files = vec![
            ("outer/SKILL.md", bytes("o")),
            ("outer/refs/a.md", bytes("a")),
            ("outer/inner/SKILL.md", bytes("i")),
            ("outer/inner/b.md", bytes("b")),
            ("outer-two/SKILL.md", bytes("t")),
            ("loose.md", bytes("l")),
        ];
        let skills = group(files, "builtin");
        let got: Vec<(&str, Vec<&str>)> =
            skills.iter().map(|s| (s.path.as_str(), s.files.keys().map(String::as_str).collect())).collect();
        assert_eq!(
            got,
            [
                ("outer", vec!["SKILL.md", "inner/SKILL.md", "inner/b.md", "refs/a.md"]),
                ("outer-two", vec!["SKILL.md"]),
                ("outer/inner", vec!["SKILL.md", "b.md"]),
            ]
        );
    }

    #[test]
    fn the_skills_folder_is_not_read_as_standards() {
        assert!(is_skill_path("skills") && is_skill_path("skills/a/SKILL.md"));
        assert!(!is_skill_path("skillset/testing.md") && !is_skill_path("rust/skills.md"));
    }
}
