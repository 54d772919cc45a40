//! `tenet check DIR…`: lint standards for CI; `file:line: severity: message` on stdout.

use std::process::ExitCode;

use tenet_kb::lint::{Severity, lint_dir_with};

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
            Ok(findings) => {
                files += 1;
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
