//! `tenet export DIR`: the skills the server serves, written into a repository as the
//! files agents read there; `tenet export --check DIR` for CI (see [`crate::export`]).

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;

use super::serve::init_logging;
use super::startup::load;
use crate::args::{ExportArgs, LogFormat, LogLevel};
use crate::export::{ALL_FORMATS, Export, ExportError, Manifest, format_name, plan};

/// Exports, or checks. Exit status 0 when done (or, with `--check`, when every copy is
/// current), 1 when `--check` finds a copy missing, stale or extra (each listed on
/// stdout), 2 for a folder, file or root that cannot be read or written, or a file in
/// the way that Tenet did not write.
pub fn run(args: &ExportArgs) -> ExitCode {
    init_logging(LogLevel::Warn, LogFormat::Pretty);
    let verb = if args.check { "tenet export --check" } else { "tenet export" };
    match export(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{verb}: {e}");
            ExitCode::from(super::exit::USAGE)
        }
    }
}

/// The error-returning body of [`run`].
fn export(args: &ExportArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    if !args.dir.is_dir() {
        return Err(Box::new(ExportError::NoDir(args.dir.clone())));
    }
    let earlier = Manifest::read(&args.dir)?.map(|m| m.formats()).unwrap_or_default();
    let formats: BTreeSet<_> = if !args.formats.is_empty() {
        args.formats.iter().copied().collect()
    } else if !earlier.is_empty() {
        earlier.clone()
    } else {
        ALL_FORMATS.into_iter().collect()
    };
    let (base, _) = load(&args.knowledge)?;
    let catalog = crate::knowledge::skills::catalog(&Arc::new(base));
    let plan = plan(&catalog, &formats, &earlier)?;
    for language in &plan.unknown_languages {
        tracing::warn!(
            "no file globs are known for the language {language:?}: its cursor rules are picked by description \
             and its copilot instructions apply to every file"
        );
    }
    let names: Vec<&str> = formats.iter().map(|f| format_name(*f)).collect();
    let export = Export::new(&args.dir, &plan, &formats)?;
    let dir = args.dir.display();
    if args.check {
        let differences = export.differences()?;
        for difference in &differences {
            outln!("{difference}");
        }
        if differences.is_empty() {
            eprintln!("tenet export --check: {dir} is current ({})", names.join(", "));
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "tenet export --check: {} path(s) in {dir} differ from what tenet export writes ({}); run `tenet export {dir}`",
            differences.len(),
            names.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
    let written = export.write()?;
    for path in &written.paths {
        outln!("wrote {path}");
    }
    for path in &written.removed {
        outln!("removed {path}");
    }
    eprintln!(
        "tenet export: {} written, {} removed, {} unchanged in {dir} ({})",
        written.paths.len(),
        written.removed.len(),
        written.unchanged,
        names.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
