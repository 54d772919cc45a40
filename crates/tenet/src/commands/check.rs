//! `tenet check DIR…`: lint standards and skill folders for CI; `file:line: severity:
//! message` on stdout.

use std::path::Path;
use std::process::ExitCode;

use tenet_kb::lint::{Finding, Severity, lint_dir_with};
use tenet_kb::{KnowledgeBase, LinkPolicy, Root};

use crate::args::CheckArgs;

pub fn run(args: &CheckArgs) -> ExitCode {
    let links = match super::startup::link_policy(&args.allow_link_targets) {
        Ok(links) => links,
        Err(e) => {
            eprintln!("tenet check: {e}");
            return ExitCode::from(super::exit::USAGE);
        }
    };
    let (mut errors, mut warnings, mut files) = (0, 0, 0);
    for dir in &args.dirs {
        match lint_dir_with(dir, &links) {
            Ok(mut findings) => {
                files += 1;
                findings.extend(lint_skills(dir, &links));
                if !args.no_builtin {
                    findings.extend(replaced_builtins(dir, &links));
                }
                for finding in findings {
                    outln!("{finding}");
                    match finding.severity {
                        Severity::Error => errors += 1,
                        Severity::Warning => warnings += 1,
                        Severity::Note => {}
                    }
                }
            }
            Err(e) => {
                eprintln!("tenet check: cannot read {}: {e}", dir.display());
                return ExitCode::from(super::exit::USAGE);
            }
        }
    }
    let verdict = if errors > 0 || (args.deny_warnings && warnings > 0) { "failed" } else { "ok" };
    eprintln!("tenet check: {verdict}: {errors} error(s), {warnings} warning(s) in {files} folder(s)");
    if verdict == "ok" { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// A note at each document of `dir` whose key the built-in corpus has too: served with
/// it, the folder's documents replace the built-in standard for that key whole (a topic
/// file too), which is easy to do without meaning to.
fn replaced_builtins(dir: &Path, links: &LinkPolicy) -> Vec<Finding> {
    let Ok(base) = KnowledgeBase::load_with(&[Root::Builtin, Root::Dir(dir.to_owned())], links) else {
        return Vec::new();
    };
    let shipped = KnowledgeBase::load(&[Root::Builtin]).map(|b| b.documents().to_vec()).unwrap_or_default();
    let copies: std::collections::HashSet<&str> = shipped.iter().map(|d| d.hash.as_str()).collect();
    let mut notes = Vec::new();
    for key in base.taxonomy(None, None) {
        let builtin: Vec<&str> = key.replaces.iter().filter_map(|r| r.strip_prefix("builtin:")).collect();
        if builtin.is_empty() {
            continue;
        }
        let theirs: Vec<_> = base
            .standard(&key.language, &key.domain)
            .into_iter()
            .filter(|d| d.language == key.language && d.source.root != "builtin")
            .collect();
        // A copy of the built-in documents (the corpus's own folder) replaces nothing.
        if theirs.len() == builtin.len() && theirs.iter().all(|d| copies.contains(d.hash.as_str())) {
            continue;
        }
        for doc in theirs {
            notes.push(Finding {
                file: dir.join(&doc.source.path),
                line: 1,
                severity: Severity::Note,
                message: format!(
                    "served with the built-in corpus, the documents for {}/{} here replace its {} whole (a later root replaces a language and domain, topic files too); `--no-builtin` serves only your folders",
                    key.language,
                    key.domain,
                    builtin.join(", ")
                ),
            });
        }
    }
    notes
}

/// The skill folders of `dir` (`skills/<name>/SKILL.md`) as the server reads them: each
/// file it would leave out, each skill it would not serve (front matter, naming rules,
/// limits, paths), and each folder at a standard's skill name, as an error at the
/// skill's `SKILL.md`.
fn lint_skills(dir: &Path, links: &LinkPolicy) -> Vec<Finding> {
    let root = Root::Dir(dir.to_owned());
    let (folders, warnings) = tenet_kb::skills::read_skills(std::slice::from_ref(&root), links);
    let at = |path: &str| dir.join(tenet_kb::skills::SKILLS_FOLDER).join(path);
    let error =
        |file: std::path::PathBuf, message: String| Finding { file, line: 1, severity: Severity::Error, message };
    let label = format!("{}:{}/", root.label(), tenet_kb::skills::SKILLS_FOLDER);
    let mut findings: Vec<Finding> =
        warnings.into_iter().map(|w| error(at(w.file.strip_prefix(&label).unwrap_or(&w.file)), w.message)).collect();
    let standards: Vec<String> = KnowledgeBase::load_with(std::slice::from_ref(&root), links)
        .map(|base| {
            let keys = base.taxonomy(None, None);
            keys.iter().map(|k| tenet_kb::skills::standard_skill_name(&k.language, &k.domain)).collect()
        })
        .unwrap_or_default();
    let mut sources = Vec::new();
    for folder in folders {
        if let Some(standard) =
            crate::knowledge::skills::standard_at(&folder.path, |n| standards.iter().any(|s| s == n))
        {
            let why = crate::knowledge::skills::shadowing(&folder.path, standard);
            findings.push(error(at(&folder.path).join("SKILL.md"), why));
            continue;
        }
        let files = folder.files.into_iter().map(|(path, bytes)| (path, tenet_skills::FileBody::Held(bytes)));
        sources.push(tenet_skills::SkillSource { path: folder.path, files: files.collect() });
    }
    let (_, problems) = tenet_skills::Catalog::build(sources);
    findings.extend(problems.into_iter().map(|p| error(at(&p.skill).join("SKILL.md"), p.why)));
    findings
}
