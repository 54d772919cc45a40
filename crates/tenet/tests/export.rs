//! `tenet export` and `tenet export --check`, run as a user would: the files each format
//! writes, read as each format's tools read them; the copies' bytes against what the
//! server serves; stale, missing and extra copies; and what Tenet must never touch.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::common::{self, KNOWLEDGE_ENV, LATEST_LEGACY, Tenet};

/// `tenet export ARGS…`, without the knowledge server's environment variables: its
/// exit code, stdout and stderr.
fn export(args: &[&str]) -> (i32, String, String) {
    let mut command = common::tenet_command();
    command.arg("export").args(args);
    for var in KNOWLEDGE_ENV {
        command.env_remove(var);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

/// Exports the built-in corpus into a new folder, and checks it succeeded.
fn exported_builtin() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = export(&[path(repo.path())]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    repo
}

/// The files under `dir/sub`, by path relative to `dir`, sorted.
fn files_under(dir: &Path, sub: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.join(sub)];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let entry = entry.unwrap().path();
            if entry.is_dir() {
                stack.push(entry);
            } else {
                found.push(entry.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    found.sort();
    found
}

/// A `.mdc` file's front matter as Cursor's line reader takes it: `key: rest of line`.
fn cursor_front_matter(text: &str) -> Vec<(String, String)> {
    let inner = text.strip_prefix("---\n").unwrap();
    let block = &inner[..inner.find("\n---\n").unwrap()];
    block
        .lines()
        .map(|line| {
            let (key, value) = line.split_once(':').unwrap();
            (key.to_owned(), value.trim_start().to_owned())
        })
        .collect()
}

#[test]
fn every_exported_skill_md_is_byte_for_byte_what_the_server_serves() {
    let repo = exported_builtin();
    let mut server = Tenet::start_knowledge(&["serve", "--log-level", "warn"]);
    server.initialize(LATEST_LEGACY);
    let files = files_under(repo.path(), ".claude/skills");
    assert!(files.len() >= 32, "{files:?}");
    for (i, file) in files.iter().enumerate() {
        let inside = file.strip_prefix(".claude/skills").unwrap().to_str().unwrap();
        let uri = format!("skill://{inside}");
        let response =
            server.call(&json!({"jsonrpc": "2.0", "id": i, "method": "resources/read", "params": {"uri": uri}}));
        let served = response["result"]["contents"][0]["text"].as_str().unwrap_or_else(|| panic!("{uri}: {response}"));
        let written = std::fs::read(repo.path().join(file)).unwrap();
        assert!(written == served.as_bytes(), "{uri}: the exported copy differs from what the server serves");
    }
}

#[test]
fn every_format_holds_what_its_tools_read() {
    let repo = exported_builtin();
    let dir = repo.path();
    // Claude Code (Agent Skills): a folder per skill, front matter naming it as its folder.
    let mut names = BTreeSet::new();
    for file in files_under(dir, ".claude/skills").iter().filter(|f| f.ends_with("SKILL.md")) {
        let folder = file.parent().unwrap().file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(file.parent().unwrap().parent().unwrap(), Path::new(".claude/skills"), "{file:?}");
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let front = tenet_protocol::skill_front_matter(&text).unwrap();
        assert_eq!(front["name"], folder.as_str(), "{file:?}");
        assert!(tenet_protocol::skill_extension::valid_skill_name(&folder), "{folder}");
        let description = front["description"].as_str().unwrap();
        assert!((1..=1024).contains(&description.chars().count()), "{file:?}");
        names.insert(folder);
    }
    assert!(names.contains("rust-testing") && names.contains("security") && names.contains("code-review"), "{names:?}");
    assert!(dir.join(".claude/skills/code-review/references/checklist.md").is_file(), "a skill's other files travel");
    // Cursor: one rule per skill, description, globs and alwaysApply as Cursor reads them.
    let rules = files_under(dir, ".cursor/rules");
    assert_eq!(rules.len(), names.len(), "{rules:?}");
    for rule in &rules {
        let name = rule.file_name().unwrap().to_str().unwrap().strip_suffix(".mdc").unwrap();
        assert!(names.contains(name), "{rule:?}");
        let text = std::fs::read_to_string(dir.join(rule)).unwrap();
        let front = cursor_front_matter(&text);
        let keys: Vec<&str> = front.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["description", "globs", "alwaysApply"], "{rule:?}");
        assert!(!front[0].1.is_empty(), "{rule:?}: no description");
        assert_eq!(front[2].1, "false", "{rule:?}");
        let globs = &front[1].1;
        assert!(!globs.contains(['"', '\'', ' ', '[']), "{rule:?}: Cursor takes globs bare, comma-separated: {globs}");
        let expected = match name.split_once('-').map(|(language, _)| language) {
            Some("rust") => "**/*.rs",
            Some("go") => "**/*.go",
            Some("python") => "**/*.py,**/*.pyi",
            Some("typescript") => "**/*.ts,**/*.tsx,**/*.mts,**/*.cts",
            Some("javascript") => "**/*.js,**/*.jsx,**/*.mjs,**/*.cjs",
            _ => "",
        };
        assert_eq!(globs, expected, "{rule:?}");
    }
    // Copilot: path-specific instructions, `applyTo` globs in YAML.
    let instructions = files_under(dir, ".github/instructions");
    assert_eq!(instructions.len(), names.len(), "{instructions:?}");
    for file in &instructions {
        let name = file.file_name().unwrap().to_str().unwrap().strip_suffix(".instructions.md").unwrap();
        assert!(names.contains(name), "{file:?}");
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let front = tenet_protocol::skill_front_matter(&text).unwrap();
        let apply_to = front["applyTo"].as_str().unwrap();
        if name.starts_with("rust-") {
            assert_eq!(apply_to, "**/*.rs", "{file:?}");
        } else if !name.contains('-') || name == "code-review" {
            assert_eq!(apply_to, "**", "{file:?}: a language-neutral skill applies everywhere");
        }
        assert!(!apply_to.is_empty() && !apply_to.contains(", "), "{file:?}: {apply_to}");
    }
    // AGENTS.md: one section, every skill listed once with a file that exists.
    let agents = std::fs::read_to_string(dir.join("AGENTS.md")).unwrap();
    assert_eq!(agents.matches("<!-- tenet export: start").count(), 1, "{agents}");
    assert_eq!(agents.matches("<!-- tenet export: end -->").count(), 1, "{agents}");
    for name in &names {
        let line = format!("- **{name}** (`.claude/skills/{name}/SKILL.md`): ");
        assert_eq!(agents.matches(&line).count(), 1, "{name} listed once: {agents}");
    }
    // Line feeds only, everywhere.
    for file in files_under(dir, ".").iter().filter(|f| !f.starts_with(".claude")) {
        assert!(!std::fs::read(dir.join(file)).unwrap().contains(&b'\r'), "{file:?}");
    }
}

#[test]
fn check_finds_a_one_byte_change_and_a_removed_file_and_export_mends_them() {
    let repo = exported_builtin();
    let dir = repo.path();
    let (code, stdout, stderr) = export(&["--check", path(dir)]);
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    assert!(stderr.contains("is current (skills, agents-md, cursor, copilot)"), "{stderr}");
    for file in [".claude/skills/rust-testing/SKILL.md", ".cursor/rules/go-security.mdc"] {
        let mut bytes = std::fs::read(dir.join(file)).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0x01;
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    std::fs::remove_file(dir.join(".github/instructions/testing.instructions.md")).unwrap();
    let (code, stdout, stderr) = export(&["--check", path(dir)]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "missing: .github/instructions/testing.instructions.md\n\
         stale: .claude/skills/rust-testing/SKILL.md\n\
         stale: .cursor/rules/go-security.mdc\n"
    );
    assert!(stderr.contains("3 path(s)"), "{stderr}");
    let (code, stdout, stderr) = export(&[path(dir)]);
    assert_eq!(code, 0, "{stderr}");
    let wrote: BTreeSet<&str> = stdout.lines().collect();
    assert_eq!(
        wrote,
        BTreeSet::from([
            "wrote .claude/skills/rust-testing/SKILL.md",
            "wrote .cursor/rules/go-security.mdc",
            "wrote .github/instructions/testing.instructions.md",
        ])
    );
    let (code, stdout, stderr) = export(&["--check", path(dir)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

/// A root with two skill folders, `alpha` and `beta` (with a file beside its SKILL.md).
fn root_with_skills() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for name in ["alpha", "beta"] {
        let folder = root.path().join("skills").join(name);
        std::fs::create_dir_all(folder.join("refs")).unwrap();
        let md = format!("---\nname: {name}\ndescription: Use when {name} matters.\n---\n# {name}\n");
        std::fs::write(folder.join("SKILL.md"), md).unwrap();
        std::fs::write(folder.join("refs/notes.md"), format!("{name} notes\n")).unwrap();
    }
    root
}

#[test]
fn a_skill_gone_is_extra_until_export_removes_it_and_nothing_else_is_touched() {
    let root = root_with_skills();
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    let mine = "# Ours\r\n\r\nHand-written, CRLF and all.\r\n";
    std::fs::write(dir.join("AGENTS.md"), mine).unwrap();
    let own_skill = dir.join(".claude/skills/mine/SKILL.md");
    std::fs::create_dir_all(own_skill.parent().unwrap()).unwrap();
    std::fs::write(&own_skill, "---\nname: mine\ndescription: Mine.\n---\n").unwrap();
    let (r, d) = (path(root.path()), path(dir));
    let (code, _, stderr) = export(&["--no-builtin", "--root", r, d]);
    assert_eq!(code, 0, "{stderr}");
    // A file of the user's inside a folder Tenet wrote.
    std::fs::write(dir.join(".claude/skills/beta/mine.txt"), "kept").unwrap();
    let agents = std::fs::read_to_string(dir.join("AGENTS.md")).unwrap();
    assert!(agents.starts_with(&format!("{mine}\n<!-- tenet export: start")), "{agents}");
    std::fs::write(dir.join("AGENTS.md"), format!("{agents}\nAfter the section.\r\n")).unwrap();

    std::fs::remove_dir_all(root.path().join("skills/beta")).unwrap();
    let (code, stdout, stderr) = export(&["--check", "--no-builtin", "--root", r, d]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stdout,
        "stale: AGENTS.md (its tenet export section)\n\
         extra: .claude/skills/beta/SKILL.md (written by tenet export for a skill no longer served)\n\
         extra: .claude/skills/beta/refs/notes.md (written by tenet export for a skill no longer served)\n\
         extra: .cursor/rules/beta.mdc (written by tenet export for a skill no longer served)\n\
         extra: .github/instructions/beta.instructions.md (written by tenet export for a skill no longer served)\n"
    );

    let (code, stdout, stderr) = export(&["--no-builtin", "--root", r, d]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("removed .claude/skills/beta/refs/notes.md\n"), "{stdout}");
    assert!(!dir.join(".claude/skills/beta/refs").exists(), "the folder it emptied goes");
    assert_eq!(std::fs::read_to_string(dir.join(".claude/skills/beta/mine.txt")).unwrap(), "kept");
    assert!(!dir.join(".cursor/rules/beta.mdc").exists() && dir.join(".cursor/rules/alpha.mdc").is_file());
    assert_eq!(std::fs::read_to_string(&own_skill).unwrap(), "---\nname: mine\ndescription: Mine.\n---\n");
    let agents = std::fs::read_to_string(dir.join("AGENTS.md")).unwrap();
    assert!(agents.starts_with(&format!("{mine}\n<!-- tenet export: start")), "{agents}");
    assert!(agents.ends_with("<!-- tenet export: end -->\n\nAfter the section.\r\n"), "{agents}");
    assert!(agents.contains("**alpha**") && !agents.contains("**beta**"), "{agents}");
    let (code, stdout, stderr) = export(&["--check", "--no-builtin", "--root", r, d]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn a_file_tenet_did_not_write_is_never_overwritten() {
    let root = root_with_skills();
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    let theirs = dir.join(".cursor/rules/alpha.mdc");
    std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    std::fs::write(&theirs, "---\ndescription: Someone else's.\n---\n").unwrap();
    let (r, d) = (path(root.path()), path(dir));
    let (code, stdout, _) = export(&["--check", "--no-builtin", "--root", r, d]);
    assert_eq!(code, 1);
    assert!(stdout.contains("not ours: .cursor/rules/alpha.mdc"), "{stdout}");
    let (code, stdout, stderr) = export(&["--no-builtin", "--root", r, d]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("not written by tenet export") && stderr.contains(".cursor/rules/alpha.mdc"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "---\ndescription: Someone else's.\n---\n");
    assert!(!dir.join(".tenet-export.json").exists() && !dir.join("AGENTS.md").exists(), "nothing written");
}

#[test]
fn formats_given_once_are_the_ones_kept_after() {
    let root = root_with_skills();
    let repo = tempfile::tempdir().unwrap();
    let (r, d) = (path(root.path()), path(repo.path()));
    let (code, _, stderr) = export(&["--format", "cursor", "--format=copilot", "--no-builtin", "--root", r, d]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!repo.path().join(".claude").exists() && !repo.path().join("AGENTS.md").exists());
    let (code, stdout, stderr) = export(&["--check", "--no-builtin", "--root", r, d]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("(cursor, copilot)"), "{stderr}");
    // AGENTS.md then indexes the rules, which hold the full text.
    let (code, _, stderr) = export(&["--format", "agents-md", "--no-builtin", "--root", r, d]);
    assert_eq!(code, 0, "{stderr}");
    let agents = std::fs::read_to_string(repo.path().join("AGENTS.md")).unwrap();
    assert!(agents.contains("- **alpha** (`.cursor/rules/alpha.mdc`): Use when alpha matters.\n"), "{agents}");
}

#[test]
fn bad_input_is_a_usage_error() {
    let (code, _, stderr) = export(&["/definitely/not/here"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/definitely/not/here is not a folder"), "{stderr}");
    let (code, _, stderr) = export(&["--check", "/definitely/not/here"]);
    assert_eq!(code, 2, "{stderr}");
    let repo = tempfile::tempdir().unwrap();
    let (code, _, stderr) = export(&["--format", "windsurf", path(repo.path())]);
    assert_eq!(code, 2);
    assert!(stderr.contains("possible values: skills, agents-md, cursor, copilot"), "{stderr}");
    let (code, _, stderr) = export(&["--format", "agents-md", path(repo.path())]);
    assert_eq!(code, 2);
    assert!(stderr.contains("add --format skills"), "{stderr}");
    // A manifest naming a file outside Tenet's folders is refused, and the file kept.
    std::fs::write(repo.path().join("keep.rs"), "fn main() {}\n").unwrap();
    let manifest = r#"{"writtenBy": "tenet export", "formats": {"cursor": ["keep.rs"]}}"#;
    std::fs::write(repo.path().join(".tenet-export.json"), manifest).unwrap();
    let (code, _, stderr) = export(&[path(repo.path())]);
    assert_eq!(code, 2);
    assert!(stderr.contains("\"keep.rs\" is not a path the cursor format writes"), "{stderr}");
    assert!(repo.path().join("keep.rs").is_file());
    // An AGENTS.md whose section lost its end marker is left for a person to mend.
    std::fs::remove_file(repo.path().join(".tenet-export.json")).unwrap();
    std::fs::write(repo.path().join("AGENTS.md"), "<!-- tenet export: start -->\nhalf\n").unwrap();
    let (code, _, stderr) = export(&[path(repo.path())]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no end marker"), "{stderr}");
    assert_eq!(std::fs::read_to_string(repo.path().join("AGENTS.md")).unwrap(), "<!-- tenet export: start -->\nhalf\n");
}
