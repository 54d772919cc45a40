//! `tenet get` and `tenet search`: the knowledge server's answers, for people.

use std::process::ExitCode;

use crate::args::{DEFAULT_MAX_TOKENS, GetArgs, LogFormat, LogLevel, SearchArgs};
use crate::commands::serve::init_logging;
use crate::commands::startup::load;
use crate::knowledge::Knowledge;
use crate::knowledge::tools::{self, Format};
use tenet_kb::normalize;

fn knowledge(args: &crate::args::KnowledgeArgs) -> Result<Knowledge, ExitCode> {
    init_logging(LogLevel::Warn, LogFormat::Pretty);
    match load(args) {
        Ok((base, limits)) => Ok(Knowledge::new(base, limits)),
        Err(e) => {
            eprintln!("tenet: {e}");
            Err(ExitCode::from(super::exit::USAGE))
        }
    }
}

/// `tenet get`: the standard, or one section of it (with its subsections) with
/// `--section`: an id from `--outline`, or a search hit's `stdlib://…#id`.
pub fn get(args: &GetArgs) -> ExitCode {
    let section = args.section.as_deref();
    let knowledge = match knowledge(&args.knowledge) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let call = tools::GetArgs {
        language: args.language.clone(),
        domain: args.domain.clone(),
        format: args.outline.then_some(Format::Outline),
        max_tokens: Some(args.knowledge.max_tokens),
        cursor: args.cursor.clone(),
        section: section.map(str::to_owned),
    };
    match tools::get(&knowledge, call) {
        Ok(result) => {
            if !result.found {
                eprintln!("{}", result.message.as_deref().unwrap_or("not found"));
                return ExitCode::FAILURE;
            }
            outln!("{}", result.content.trim_end());
            if let Some(cursor) = &result.next_cursor {
                let section = section.map(|s| format!(" --section {}", shell_quoted(s))).unwrap_or_default();
                // The next page is cut to the same budget: the cursor counts in it.
                let budget = args.knowledge.max_tokens;
                let budget =
                    if budget == DEFAULT_MAX_TOKENS { String::new() } else { format!(" --max-tokens {budget}") };
                eprintln!(
                    "… {} more tokens: tenet get {} {}{section}{budget} --cursor {cursor}",
                    result.remaining_tokens,
                    shell_quoted(&result.language),
                    shell_quoted(&result.domain)
                );
            }
            for doc in &result.documents {
                eprintln!("source: {}:{} (updated {})", doc.root, doc.path, doc.updated_at.as_deref().unwrap_or("?"));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let message = e.to_string();
            // An unknown section: name the commands that list ids, not the MCP tools.
            match message.strip_suffix(tools::SECTION_IDS_HINT) {
                Some(error) => eprintln!(
                    "tenet: {error}`tenet get {} {} --outline` lists the section ids; `tenet search` hits carry them too.",
                    shell_quoted(&normalize(&args.language)),
                    shell_quoted(&normalize(&args.domain))
                ),
                None => eprintln!("tenet: {message}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// `word` as a POSIX shell reads it back: as it is when it holds only characters a
/// shell leaves alone (and does not start a comment), else in single quotes, a `'`
/// inside written `'\''`.
fn shell_quoted(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._/:#-".contains(c);
    if !word.is_empty() && !word.starts_with('#') && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// `tenet search`: the best-matching sections, with their URIs and snippets.
pub fn search(args: &SearchArgs) -> ExitCode {
    let knowledge = match knowledge(&args.knowledge) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let call = tools::SearchArgs {
        query: args.query.clone(),
        language: args.language.clone(),
        domain: args.domain.clone(),
        tags: None,
        limit: Some(args.limit),
        max_tokens: Some(args.knowledge.max_tokens),
    };
    match tools::search(&knowledge, call) {
        Ok(result) if result.results.is_empty() => {
            eprintln!("No matches. Try other words, or `tenet list` to see what exists.");
            ExitCode::FAILURE
        }
        Ok(result) => {
            out!("{}", tools::search_text(&result));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tenet: {e}");
            ExitCode::FAILURE
        }
    }
}
