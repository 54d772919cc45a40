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
            return ExitCode::from(2);
        }
    };
    let (mut errors, mut warnings, mut files) = (0, 0, 0);
    for dir in &args.dirs {
        match lint_dir_with(dir, &links) {
            Ok(mut findings) => {
                files += 1;
                findings.extend(lint_skills(dir, &links));
                for finding in findings {
                    outln!("{finding}");
                    match finding.severity {
                        Severity::Error => errors += 1,
                        Severity::Warning => warnings += 1,
                    }
                }
            }
            Err(e) => {
                eprintln!("tenet check: cannot read {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        }
    }
    let verdict = if errors > 0 || (args.deny_warnings && warnings > 0) { "failed" } else { "ok" };
    eprintln!("tenet check: {verdict}: {errors} error(s), {warnings} warning(s) in {files} folder(s)");
    if verdict == "ok" { ExitCode::SUCCESS } else { ExitCode::FAILURE }
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
