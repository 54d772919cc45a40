//! `tenet eval`: search measured on labelled queries (see [`tenet_kb::eval`]).

use std::process::ExitCode;

use tenet_kb::eval::{self, Format, Labelled, Report};

use super::serve::init_logging;
use super::startup::load;
use crate::args::{EvalArgs, LogFormat, LogLevel};

/// Prints the report. Exit status 0, or 1 when a figure fell below `--baseline`, or 2
/// for a file, query or root that cannot be read.
pub fn run(args: &EvalArgs) -> ExitCode {
    init_logging(LogLevel::Warn, LogFormat::Pretty);
    let fail = |message: String| {
        eprintln!("tenet: {message}");
        ExitCode::from(super::exit::USAGE)
    };
    let mut queries: Vec<Labelled> = Vec::new();
    for path in &args.queries {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => return fail(format!("cannot read {path}: {e}")),
        };
        match eval::parse(&text, Format::of_path(path)) {
            Ok(more) => queries.extend(more),
            Err(e) => return fail(format!("{path}: {e}")),
        }
    }
    if queries.is_empty() {
        return fail(format!("no queries in {}", args.queries.join(", ")));
    }
    let baseline = match args.baseline.as_deref().map(read_baseline).transpose() {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let base = match load(&args.knowledge) {
        Ok((base, _)) => base,
        Err(e) => return fail(e.to_string()),
    };
    let report = match eval::evaluate(&base, &queries) {
        Ok(report) => report,
        Err(e) => return fail(e.to_string()),
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        out!("{}", report.render());
    }
    let Some(baseline) = baseline else { return ExitCode::SUCCESS };
    if !eval::same_queries(&report, &baseline) {
        return fail(format!(
            "the baseline was recorded on other queries ({} of them; this run has {}): record it again with --json",
            baseline.outcomes.len(),
            report.outcomes.len()
        ));
    }
    let drops = eval::drops(&report, &baseline, args.tolerance);
    if drops.is_empty() {
        eprintln!("tenet eval: every figure within {} of the baseline", args.tolerance);
        return ExitCode::SUCCESS;
    }
    for d in &drops {
        eprintln!(
            "tenet eval: {} {} fell to {:.3} from {:.3} (tolerance {})",
            d.group, d.metric, d.measured, d.baseline, args.tolerance
        );
    }
    ExitCode::FAILURE
}

fn read_baseline(path: &str) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path} is not a report written by `tenet eval --json`: {e}"))
}
