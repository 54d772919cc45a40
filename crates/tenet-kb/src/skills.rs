//! Skill folders in a root, in the Agent Skills layout: `<root>/skills/<name>/SKILL.md`
//! with any files and folders beside it (a skill may sit deeper, as
//! `skills/acme/billing/refunds/SKILL.md`, its path then `acme/billing/refunds`). The
//! `skills` folder holds skills, not standards: the document walk leaves it out.
//!
//! A skill's files are read as bytes. Hidden entries are skipped; a symbolic link is
//! read only when it leads to a file inside its own skill (a link out of the skill is
//! left out, with a warning), and a folder reached through a link is not walked.

use std::collections::BTreeMap;
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
                let walk = Walk { top: &folder, root: &label, confinement: &confinement };
                walk.find(&folder, &mut skills, &mut warnings, &mut budget);
            }
        }
    }
    (skills, warnings)
}

/// The built-in corpus's skills.
fn builtin() -> Vec<SkillFolder> {
    let mut by_skill: BTreeMap<String, BTreeMap<String, Arc<[u8]>>> = BTreeMap::new();
    let files: Vec<(&str, &str)> = crate::corpus::BUILTIN
        .iter()
        .filter_map(|(path, text)| path.strip_prefix("skills/").map(|rest| (rest, *text)))
        .collect();
    let roots: Vec<&str> = files.iter().filter_map(|(path, _)| path.strip_suffix("/SKILL.md")).collect();
    for (path, text) in &files {
        // The deepest skill folder the file is in.
        let Some(root) = roots.iter().filter(|r| path.starts_with(&format!("{r}/"))).max_by_key(|r| r.len()) else {
            continue;
        };
        let inside = &path[root.len() + 1..];
        let bytes: Arc<[u8]> = Arc::from(text.as_bytes());
        by_skill.entry((*root).to_owned()).or_default().insert(inside.to_owned(), bytes);
    }
    by_skill.into_iter().map(|(path, files)| SkillFolder { path, files, root: "builtin".into() }).collect()
}

/// A walk of one root's skills folder.
struct Walk<'a> {
    top: &'a Path,
    root: &'a str,
    confinement: &'a Confinement,
}

impl Walk<'_> {
    fn warn(&self, path: &Path, message: String) -> Warning {
        Warning { file: format!("{}:{SKILLS_FOLDER}/{}", self.root, relative(self.top, path)), line: None, message }
    }

    /// Finds the skills at or under `dir`: a folder with a `SKILL.md` is a skill, and a
    /// skill folder inside it is a skill of its own (its files are not the outer's).
    fn find(&self, dir: &Path, skills: &mut Vec<SkillFolder>, warnings: &mut Vec<Warning>, budget: &mut Budget) {
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

    /// Reads the files of `skill` under `dir` (not those of a skill folder inside it, at
    /// any depth). Stops, with the reason, past the limits of a skill or of all skills.
    fn collect(
        &self,
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
                // A folder with a SKILL.md is a skill of its own, which `find` reads.
                if path.join(SKILL_MD).symlink_metadata().is_err() {
                    self.collect(skill, &path, files, taken, warnings, budget)?;
                }
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
            let room = (MAX_SKILL_BYTES - *taken).min(budget.bytes);
            match self.confinement.read_bytes(&path, room) {
                Ok(bytes) => {
                    *taken += bytes.len() as u64;
                    budget.bytes -= bytes.len() as u64;
                    let inside = relative(skill.path, &dir.join(&name));
                    files.insert(inside, Arc::from(bytes.into_boxed_slice()));
                }
                Err(why) if why.contains("-byte limit") => {
                    return Err(format!("more than {MAX_SKILL_BYTES} bytes in all (or past the limit of all skills)"));
                }
                Err(why) => warnings.push(self.warn(&path, format!("{why}: left out of the skill"))),
            }
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
        let many = dir.path().join("skills/many");
        std::fs::create_dir_all(&many).unwrap();
        std::fs::write(many.join("SKILL.md"), "---\nname: many\n---\n").unwrap();
        for i in 0..MAX_SKILL_FILES {
            std::fs::write(many.join(format!("f{i:03}.txt")), "x").unwrap();
        }
        let outer = dir.path().join("skills/outer");
        std::fs::create_dir_all(outer.join("inner")).unwrap();
        std::fs::write(outer.join("SKILL.md"), "---\nname: outer\n---\n").unwrap();
        std::fs::write(outer.join("inner/SKILL.md"), "---\nname: inner\n---\n").unwrap();
        std::fs::write(outer.join("inner/notes.md"), "inner's").unwrap();
        std::fs::create_dir_all(outer.join("refs/deep")).unwrap();
        std::fs::write(outer.join("refs/deep/SKILL.md"), "---\nname: deep\n---\n").unwrap();
        let (skills, warnings) = read_skills(&[Root::Dir(dir.path().to_owned())], &LinkPolicy::default());
        let paths: Vec<&str> = skills.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, ["outer", "outer/inner", "outer/refs/deep"], "{warnings:?}");
        assert!(warnings.iter().any(|w| w.file.ends_with("skills/many") && w.message.contains("more than 512 files")));
        assert_eq!(skills[0].files.keys().collect::<Vec<_>>(), ["SKILL.md"], "the inner skills' files are their own");
        assert_eq!(skills[1].files.keys().collect::<Vec<_>>(), ["SKILL.md", "notes.md"]);
    }

    #[test]
    fn the_skills_folder_is_not_read_as_standards() {
        assert!(is_skill_path("skills") && is_skill_path("skills/a/SKILL.md"));
        assert!(!is_skill_path("skillset/testing.md") && !is_skill_path("rust/skills.md"));
    }
}
