//! Measuring search: labelled queries run through [`KnowledgeBase::search`] (the engine
//! `search_stdlib` uses), scored as MRR@10, nDCG@10, hit@1 and hit@3, overall and per
//! stratum, with every miss and where its answer ranked.
//!
//! A labelled query names the sections that answer it, by id
//! (`<language>/<domain>[/<topic>]#<section>`, a hit's URI without `stdlib://`), each
//! with a grade: 3 the best answer, 2 also an answer, 1 related. A section graded 2 or 3
//! is *relevant*: MRR and hit@k count the first relevant hit. nDCG@10 counts every grade
//! (gain 2^grade − 1) against the best order the labels allow.
//!
//! ```
//! use tenet_kb::{KnowledgeBase, Root, eval};
//!
//! let base = KnowledgeBase::load(&[Root::Builtin]).unwrap();
//! let queries = eval::parse(
//!     r##"
//! [[query]]
//! text = "goroutine leak"
//! language = "go"
//! stratum = "exact"
//! relevant = { "go/patterns#give-every-goroutine-an-owner-and-an-exit" = 3 }
//! "##,
//!     eval::Format::Toml,
//! )
//! .unwrap();
//! let report = eval::evaluate(&base, &queries).unwrap();
//! assert_eq!(report.overall.queries, 1);
//! assert!(report.overall.mrr > 0.0);
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::{KnowledgeBase, Query};

/// How many hits are scored (the `@10` of MRR@10 and nDCG@10).
pub const DEPTH: usize = 10;

/// The lowest grade that makes a section an answer (for MRR and hit@k).
pub const RELEVANT: u8 = 2;

/// One labelled query.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    /// What the user types.
    pub text: String,
    /// The language filter, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The domain filter, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The tag filters (every one must be carried).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The kind of query it is (exact wording, paraphrase, identifier …), for the
    /// per-stratum figures; `unlabelled` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stratum: Option<String>,
    /// Section id → grade (1 to 3).
    pub relevant: BTreeMap<String, u8>,
}

/// The format of a file of labelled queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `[[query]]` tables.
    Toml,
    /// One JSON object per line (blank lines and lines starting with `#` skipped).
    JsonLines,
}

impl Format {
    /// The format a file name says: `.jsonl`/`.ndjson` are JSON Lines, the rest TOML.
    pub fn of_path(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") { Self::JsonLines } else { Self::Toml }
    }
}

/// Why a set of labelled queries cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The file does not parse.
    #[error("{0}")]
    Parse(String),
    /// A query is malformed (no text, no section graded 2 or more, a grade out of range).
    #[error("query {index} ({text:?}): {reason}")]
    Query {
        /// Its position, 1-based.
        index: usize,
        /// Its text.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// A search failed.
    #[error("query {index} ({text:?}): search failed: {reason}")]
    Search {
        /// Its position, 1-based.
        index: usize,
        /// Its text.
        text: String,
        /// The engine's error.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default)]
    query: Vec<Labelled>,
}

/// Parses a file of labelled queries.
///
/// # Errors
/// Text that does not parse, with its line where the format gives one.
pub fn parse(text: &str, format: Format) -> Result<Vec<Labelled>, EvalError> {
    match format {
        Format::Toml => toml::from_str::<TomlFile>(text).map(|f| f.query).map_err(|e| EvalError::Parse(e.to_string())),
        Format::JsonLines => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
            .map(|(n, line)| serde_json::from_str(line).map_err(|e| EvalError::Parse(format!("line {}: {e}", n + 1))))
            .collect(),
    }
}

/// The figures of a group of queries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// How many queries.
    pub queries: usize,
    /// Mean reciprocal rank of the first relevant hit within the first [`DEPTH`].
    pub mrr: f64,
    /// Mean normalised discounted cumulative gain over the first [`DEPTH`] hits.
    pub ndcg: f64,
    /// Share of queries whose first hit is relevant.
    pub hit1: f64,
    /// Share of queries with a relevant hit among the first three.
    pub hit3: f64,
}

/// One query's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The query.
    pub text: String,
    /// Its language filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Its stratum.
    pub stratum: String,
    /// The rank (1-based) of the first relevant hit, if within [`DEPTH`].
    pub rank: Option<usize>,
    /// The best-graded section(s) it wanted.
    pub wanted: Vec<String>,
    /// The rank (1-based) of the first best-graded section, if within [`DEPTH`].
    pub wanted_rank: Option<usize>,
    /// The ids of the hits, in order (at most [`DEPTH`]).
    pub hits: Vec<String>,
    /// Its nDCG@10.
    pub ndcg: f64,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Every query together.
    pub overall: Figures,
    /// Per stratum, by name.
    pub strata: BTreeMap<String, Figures>,
    /// Every query's outcome, in the order given.
    pub outcomes: Vec<Outcome>,
}

/// The id a hit is labelled by: its URI without `stdlib://`, `#`, its section id.
fn hit_id(hit: &crate::Hit) -> String {
    let uri = hit.document.uri();
    let path = uri.strip_prefix("stdlib://").unwrap_or(&uri);
    format!("{path}#{}", hit.document.sections[hit.section].id)
}

/// Every section id the base serves, to check labels against.
fn section_ids(base: &KnowledgeBase) -> std::collections::HashSet<String> {
    base.served()
        .flat_map(|(_, document)| {
            let uri = document.uri();
            let path = uri.strip_prefix("stdlib://").unwrap_or(&uri).to_owned();
            document.sections.iter().map(move |s| format!("{path}#{}", s.id))
        })
        .collect()
}

/// Runs every query and scores it.
///
/// # Errors
/// A malformed query (an empty text, a grade outside 1–3, no section graded 2 or more,
/// a section id the base does not serve), or a failed search.
pub fn evaluate(base: &KnowledgeBase, queries: &[Labelled]) -> Result<Report, EvalError> {
    let known = section_ids(base);
    let mut outcomes = Vec::with_capacity(queries.len());
    for (i, labelled) in queries.iter().enumerate() {
        let bad = |reason: String| EvalError::Query { index: i + 1, text: labelled.text.clone(), reason };
        if labelled.text.trim().is_empty() {
            return Err(bad("the text is empty".into()));
        }
        if let Some((id, grade)) = labelled.relevant.iter().find(|(_, g)| !(1..=3).contains(*g)) {
            return Err(bad(format!("{id} has grade {grade}; grades are 1, 2 or 3")));
        }
        if let Some(id) = labelled.relevant.keys().find(|id| !known.contains(*id)) {
            return Err(bad(format!("no section {id} is served (ids are <language>/<domain>#<section>)")));
        }
        let best = labelled.relevant.values().copied().max().unwrap_or(0);
        if best < RELEVANT {
            return Err(bad(format!("no section is graded {RELEVANT} or more")));
        }
        let query =
            Query::new(&labelled.text, labelled.language.as_deref(), labelled.domain.as_deref(), &labelled.tags, DEPTH)
                .map_err(|e| bad(e.to_string()))?;
        let hits = base.search(&query).map_err(|reason| EvalError::Search {
            index: i + 1,
            text: labelled.text.clone(),
            reason,
        })?;
        // A section served twice (two roots with the same document) counts once.
        let mut seen = std::collections::HashSet::new();
        let hits: Vec<String> = hits.iter().map(hit_id).filter(|id| seen.insert(id.clone())).take(DEPTH).collect();
        let grade = |id: &String| labelled.relevant.get(id).copied().unwrap_or(0);
        let rank = hits.iter().position(|h| grade(h) >= RELEVANT).map(|p| p + 1);
        let wanted_rank = hits.iter().position(|h| grade(h) == best).map(|p| p + 1);
        let wanted = labelled.relevant.iter().filter(|(_, g)| **g == best).map(|(id, _)| id.clone()).collect();
        let mut ideal: Vec<u8> = labelled.relevant.values().copied().collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        let ideal = dcg(ideal.into_iter());
        let ndcg = dcg(hits.iter().map(grade)) / ideal;
        outcomes.push(Outcome {
            text: labelled.text.clone(),
            language: labelled.language.clone(),
            stratum: labelled.stratum.clone().unwrap_or_else(|| "unlabelled".into()),
            rank,
            wanted,
            wanted_rank,
            hits,
            ndcg,
        });
    }
    let overall = figures(outcomes.iter());
    let mut names: Vec<&str> = outcomes.iter().map(|o| o.stratum.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let strata = names
        .into_iter()
        .map(|name| (name.to_owned(), figures(outcomes.iter().filter(|o| o.stratum == name))))
        .collect();
    Ok(Report { overall, strata, outcomes })
}

/// Discounted cumulative gain of grades in rank order, over the first [`DEPTH`].
fn dcg(grades: impl Iterator<Item = u8>) -> f64 {
    grades
        .take(DEPTH)
        .enumerate()
        .map(|(i, g)| {
            let gain = f64::from((1u32 << g) - 1);
            #[allow(clippy::cast_precision_loss)]
            let position = (i + 2) as f64;
            gain / position.log2()
        })
        .sum()
}

fn figures<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> Figures {
    let mut f = Figures::default();
    for o in outcomes {
        f.queries += 1;
        #[allow(clippy::cast_precision_loss)]
        let reciprocal = o.rank.map_or(0.0, |r| 1.0 / r as f64);
        f.mrr += reciprocal;
        f.ndcg += o.ndcg;
        f.hit1 += f64::from(u8::from(o.rank == Some(1)));
        f.hit3 += f64::from(u8::from(o.rank.is_some_and(|r| r <= 3)));
    }
    if f.queries > 0 {
        #[allow(clippy::cast_precision_loss)]
        let n = f.queries as f64;
        f.mrr /= n;
        f.ndcg /= n;
        f.hit1 /= n;
        f.hit3 /= n;
    }
    f
}

/// A figure that fell below its baseline by more than the tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Drop {
    /// `overall` or the stratum's name.
    pub group: String,
    /// `MRR@10`, `nDCG@10`, `hit@1` or `hit@3`.
    pub metric: &'static str,
    /// The recorded figure.
    pub baseline: f64,
    /// This run's figure.
    pub measured: f64,
}

/// Whether `baseline` was recorded on the same queries as `report` (their texts, in
/// order): a baseline of another set says nothing of this one.
pub fn same_queries(report: &Report, baseline: &Report) -> bool {
    report.outcomes.len() == baseline.outcomes.len()
        && report.outcomes.iter().zip(&baseline.outcomes).all(|(a, b)| a.text == b.text)
}

/// The figures of `report` that fell below `baseline`'s by more than `tolerance`
/// (absolute: 0.02 is two points of MRR). A stratum the baseline lacks is not compared;
/// one the report lacks counts as a drop to zero. Check [`same_queries`] first.
pub fn drops(report: &Report, baseline: &Report, tolerance: f64) -> Vec<Drop> {
    let mut found = Vec::new();
    let empty = Figures::default();
    let groups = std::iter::once(("overall".to_owned(), &baseline.overall, &report.overall))
        .chain(baseline.strata.iter().map(|(name, b)| (name.clone(), b, report.strata.get(name).unwrap_or(&empty))));
    for (group, before, now) in groups {
        for (metric, b, m) in [
            ("MRR@10", before.mrr, now.mrr),
            ("nDCG@10", before.ndcg, now.ndcg),
            ("hit@1", before.hit1, now.hit1),
            ("hit@3", before.hit3, now.hit3),
        ] {
            if m < b - tolerance {
                found.push(Drop { group: group.clone(), metric, baseline: b, measured: m });
            }
        }
    }
    found
}

impl Report {
    /// The figures as a table (overall, then each stratum), then every query whose best
    /// answer is not first, with where it ranked and what came first.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<14} {:>7} {:>7} {:>8} {:>6} {:>6}",
            "stratum", "queries", "MRR@10", "nDCG@10", "hit@1", "hit@3"
        );
        let row = |out: &mut String, name: &str, f: &Figures| {
            let _ = writeln!(
                out,
                "{name:<14} {:>7} {:>7.3} {:>8.3} {:>6.3} {:>6.3}",
                f.queries, f.mrr, f.ndcg, f.hit1, f.hit3
            );
        };
        row(&mut out, "overall", &self.overall);
        for (name, f) in &self.strata {
            row(&mut out, name, f);
        }
        let misses: Vec<&Outcome> = self.outcomes.iter().filter(|o| o.wanted_rank != Some(1)).collect();
        if !misses.is_empty() {
            let _ =
                writeln!(out, "\n{} of {} queries without their best answer first:", misses.len(), self.outcomes.len());
        }
        for o in misses {
            let filter = o.language.as_deref().map(|l| format!(" [{l}]")).unwrap_or_default();
            let at = o.wanted_rank.map_or_else(|| format!("not in the first {DEPTH}"), |r| format!("at {r}"));
            let first = o.hits.first().map_or("nothing", String::as_str);
            let _ =
                writeln!(out, "  {:?}{filter} ({}): {} {at}; first: {first}", o.text, o.stratum, o.wanted.join(" or "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dcg_discounts_by_log_rank() {
        let perfect = dcg([3, 1].into_iter());
        assert!((perfect - (7.0 + 1.0 / 3f64.log2())).abs() < 1e-9);
        assert!(dcg([1, 3].into_iter()) < perfect, "the better section lower scores less");
        assert!(dcg(std::iter::empty()).abs() < f64::EPSILON);
    }

    fn outcome(stratum: &str, rank: Option<usize>, ndcg: f64) -> Outcome {
        Outcome {
            text: "q".into(),
            language: None,
            stratum: stratum.into(),
            rank,
            wanted: vec![],
            wanted_rank: rank,
            hits: vec![],
            ndcg,
        }
    }

    #[test]
    fn figures_average_reciprocal_ranks_and_hits() {
        let all = [outcome("a", Some(1), 1.0), outcome("a", Some(4), 0.5), outcome("b", None, 0.0)];
        let f = figures(all.iter());
        assert_eq!(f.queries, 3);
        assert!((f.mrr - (1.0 + 0.25) / 3.0).abs() < 1e-9);
        assert!((f.hit1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((f.hit3 - 1.0 / 3.0).abs() < 1e-9, "rank 4 is not a hit at 3");
        assert!((f.ndcg - 0.5).abs() < 1e-9);
    }

    #[test]
    fn drops_compare_every_group_with_tolerance() {
        let report = |mrr: f64| Report {
            overall: Figures { queries: 1, mrr, ndcg: 1.0, hit1: 1.0, hit3: 1.0 },
            strata: BTreeMap::from([("a".to_owned(), Figures { queries: 1, mrr, ndcg: 1.0, hit1: 1.0, hit3: 1.0 })]),
            outcomes: vec![],
        };
        assert!(drops(&report(0.79), &report(0.8), 0.02).is_empty(), "within tolerance");
        let found = drops(&report(0.7), &report(0.8), 0.02);
        assert_eq!(found.len(), 2, "overall and the stratum: {found:?}");
        assert_eq!(found[0].metric, "MRR@10");
        let mut missing = report(0.8);
        missing.strata.clear();
        assert_eq!(drops(&missing, &report(0.8), 0.02).len(), 4, "a lost stratum drops to zero");
    }

    #[test]
    fn both_formats_parse_and_unknown_fields_are_refused() {
        let toml = "[[query]]\ntext = \"x\"\nrelevant = { \"a/b#c\" = 3 }\n";
        let jsonl = "# comment\n\n{\"text\": \"x\", \"relevant\": {\"a/b#c\": 3}}\n";
        assert_eq!(parse(toml, Format::Toml).unwrap(), parse(jsonl, Format::JsonLines).unwrap());
        assert!(parse("[[query]]\ntext = \"x\"\nrelevant = {}\nextra = 1\n", Format::Toml).is_err());
        let e = parse("{\"text\": 1}\n", Format::JsonLines).unwrap_err();
        assert!(e.to_string().starts_with("line 1:"), "{e}");
        assert_eq!(Format::of_path("q.JSONL"), Format::JsonLines);
        assert_eq!(Format::of_path("q.toml"), Format::Toml);
    }
}
