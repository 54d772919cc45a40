//! `tenet list`: the languages and domains that have standards, as `list_stdlib`
//! answers an assistant.

use std::process::ExitCode;

use tenet_kb::normalize;

use super::serve::init_logging;
use super::startup::load;
use crate::args::{ListArgs, LogFormat, LogLevel};

/// Prints one line per (language, domain) with its documents' titles and newest date.
/// Exit status 0 when something is listed, 1 when the filters match nothing (the
/// languages and domains that exist are printed on stderr), 2 for roots that cannot
/// be loaded.
pub fn run(args: &ListArgs) -> ExitCode {
    init_logging(LogLevel::Warn, LogFormat::Pretty);
    let base = match load(&args.knowledge) {
        Ok((base, _)) => base,
        Err(e) => {
            eprintln!("tenet: {e}");
            return ExitCode::from(super::exit::USAGE);
        }
    };
    let language = args.language.as_deref().map(normalize);
    let domain = args.domain.as_deref().map(normalize);
    let keys = base.taxonomy(language.as_deref(), domain.as_deref());
    if keys.is_empty() {
        eprintln!(
            "tenet: nothing matches. Languages: {}. Domains: {}.",
            base.languages().join(", "),
            base.domains().join(", ")
        );
        return ExitCode::FAILURE;
    }
    for key in &keys {
        let documents =
            if key.documents == 1 { "1 document".to_owned() } else { format!("{} documents", key.documents) };
        let updated = crate::knowledge::tools::updated(key.updated_at.as_deref());
        let replaces =
            if key.replaces.is_empty() { String::new() } else { format!("; replaces {}", key.replaces.join(", ")) };
        outln!("{}/{}: {} ({documents}, {updated}{replaces})", key.language, key.domain, key.titles.join("; "));
    }
    ExitCode::SUCCESS
}
