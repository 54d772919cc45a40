//! Skill folders in a root, in the Agent Skills layout: `<root>/skills/<name>/SKILL.md`
//! with any files and folders beside it (a skill may sit deeper, as
//! `skills/acme/billing/refunds/SKILL.md`, its path then `acme/billing/refunds`). The
//! `skills` folder holds skills, not standards: the document walk leaves it out.
//!
//! A skill's files are read as bytes. Hidden entries are skipped; a symbolic link is
//! read only when it leads to a file inside its own skill (a link out of the skill is
//! left out, with a warning), and a folder reached through a link is not walked.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::document::Warning;
#[cfg(test)]
use crate::root::is_skill_path;
use crate::root::{Root, is_hidden};

pub use crate::root::SKILLS_FOLDER;
/// The largest file of a skill read (the most a whole skill may hold, SEP-2640).
const MAX_SKILL_FILE: u64 = 16 * 1024 * 1024;

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

/// The skill folders of `roots`, in root order (a later root's skill of one path
/// replaces an earlier one's where they are served), and what was left out and why.
pub(crate) fn read_skills(roots: &[Root]) -> (Vec<SkillFolder>, Vec<Warning>) {
    let mut skills = Vec::new();
    let mut warnings = Vec::new();
    for root in roots {
        match root {
            Root::Builtin => skills.extend(builtin()),
            Root::Dir(dir) => {
                let folder = dir.join(SKILLS_FOLDER);
                if folder.is_dir() {
                    let label = root.label();
                    find(&folder, &folder, &label, &mut skills, &mut warnings);
                }
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

/// Finds the skills at or under `dir` (inside the skills folder `top`).
fn find(top: &Path, dir: &Path, root: &str, skills: &mut Vec<SkillFolder>, warnings: &mut Vec<Warning>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    if dir.join("SKILL.md").is_file() {
        let path = relative(top, dir);
        let mut files = BTreeMap::new();
        let real = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
        collect(&real, dir, dir, root, &mut files, warnings);
        skills.push(SkillFolder { path, files, root: root.to_owned() });
    }
    let mut folders: Vec<_> = entries
        .flatten()
        .filter(|e| !is_hidden(&e.file_name().to_string_lossy()))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    folders.sort();
    for folder in folders {
        find(top, &folder, root, skills, warnings);
    }
}

/// Reads the files under `dir` of the skill at `skill` (resolved: `real`).
fn collect(
    real: &Path,
    skill: &Path,
    dir: &Path,
    root: &str,
    files: &mut BTreeMap<String, Arc<[u8]>>,
    warnings: &mut Vec<Warning>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        if is_hidden(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let inside = relative(skill, &path);
        let warn = |message: String| Warning {
            file: format!("{root}:skills/{}", relative_display(skill, &path)),
            line: None,
            message,
        };
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            collect(real, skill, &path, root, files, warnings);
            continue;
        }
        if kind.is_symlink() {
            match path.canonicalize() {
                Ok(target) if target.starts_with(real) && target.is_file() => {}
                Ok(target) if target.is_dir() => {
                    warnings.push(warn("a symbolic link to a folder: not followed in a skill".into()));
                    continue;
                }
                _ => {
                    warnings.push(warn("a symbolic link out of the skill: left out".into()));
                    continue;
                }
            }
        } else if !kind.is_file() {
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(meta) if meta.len() > MAX_SKILL_FILE => {
                warnings.push(warn(format!("{} bytes, over the 16 MiB a skill may hold: left out", meta.len())));
                continue;
            }
            Err(e) => {
                warnings.push(warn(format!("cannot read: {e}")));
                continue;
            }
            Ok(_) => {}
        }
        match std::fs::read(&path) {
            Ok(bytes) => {
                files.insert(inside, Arc::from(bytes.into_boxed_slice()));
            }
            Err(e) => warnings.push(warn(format!("cannot read: {e}"))),
        }
    }
}

/// `path` inside `base`, `/`-separated.
fn relative(base: &Path, path: &Path) -> String {
    let inside = path.strip_prefix(base).unwrap_or(path);
    inside.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

/// `path` inside the skills folder above `skill`, for a warning.
fn relative_display(skill: &Path, path: &Path) -> String {
    let top = skill.ancestors().find(|a| a.file_name().is_some_and(|n| n == SKILLS_FOLDER)).unwrap_or(skill);
    relative(top, path)
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
        let (skills, warnings) = read_skills(&[Root::Dir(dir.path().to_owned())]);
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
    fn the_skills_folder_is_not_read_as_standards() {
        assert!(is_skill_path("skills") && is_skill_path("skills/a/SKILL.md"));
        assert!(!is_skill_path("skillset/testing.md") && !is_skill_path("rust/skills.md"));
    }
}
