//! The labelled query set (`eval/dev.toml`) against its recorded figures
//! (`eval/baseline.json`): search may not score lower on any figure, overall or in any
//! stratum. The engine is deterministic, so the tolerance is zero; a change that
//! improves the figures records them with `tenet eval eval/dev.toml --json >
//! eval/baseline.json`, a deliberate, reviewed edit.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use tenet_kb::eval::{self, Format, Report};
use tenet_kb::{KnowledgeBase, Root};

fn repository(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

#[test]
fn the_development_set_scores_at_least_its_baseline() {
    let queries = eval::parse(&repository("eval/dev.toml"), Format::Toml).unwrap();
    assert!(queries.len() >= 100, "the development set holds {} queries", queries.len());
    let baseline: Report = serde_json::from_str(&repository("eval/baseline.json")).unwrap();
    let base = KnowledgeBase::load(&[Root::Builtin]).unwrap();
    let report = eval::evaluate(&base, &queries).unwrap();
    assert!(eval::same_queries(&report, &baseline), "eval/baseline.json was recorded on other queries");
    let drops = eval::drops(&report, &baseline, 0.0);
    assert!(drops.is_empty(), "figures fell below eval/baseline.json: {drops:#?}\n{}", report.render());
}

#[test]
fn the_held_out_set_is_well_formed() {
    // Parsed and checked against the served sections (ids, grades) without printing
    // its figures: it is run for a change's final report only.
    let queries = eval::parse(&repository("eval/held-out.toml"), Format::Toml).unwrap();
    assert!(queries.len() >= 50, "the held-out set holds {} queries", queries.len());
    let base = KnowledgeBase::load(&[Root::Builtin]).unwrap();
    eval::evaluate(&base, &queries).unwrap();
}

#[test]
fn a_label_naming_no_served_section_is_refused() {
    let base = KnowledgeBase::load(&[Root::Builtin]).unwrap();
    let queries =
        eval::parse("[[query]]\ntext = \"x\"\nrelevant = { \"go/security#no-such-section\" = 3 }\n", Format::Toml)
            .unwrap();
    let e = eval::evaluate(&base, &queries).unwrap_err().to_string();
    assert!(e.contains("no section go/security#no-such-section"), "{e}");
    let ungraded = eval::parse(
        "[[query]]\ntext = \"x\"\nrelevant = { \"go/security#bound-and-validate-every-request\" = 1 }\n",
        Format::Toml,
    )
    .unwrap();
    let e = eval::evaluate(&base, &ungraded).unwrap_err().to_string();
    assert!(e.contains("no section is graded 2"), "{e}");
}
