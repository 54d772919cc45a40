//! How searches went: counts of those that found nothing, or only weak hits, so that a
//! team sees how often its standards do not answer what is asked. Counts only: the
//! text of a query is logged only when the operator opts in.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::{Hit, Query};

/// The best hit says less than this share of what a query asks: the search is weak.
pub const WEAK_COVERAGE: f32 = 0.5;

/// How one search went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A hit says at least [`WEAK_COVERAGE`] of what was asked.
    Answered,
    /// Hits, none saying as much as [`WEAK_COVERAGE`] of what was asked (or found only
    /// by a fallback).
    Weak,
    /// No hits.
    Unanswered,
}

impl Outcome {
    /// How `hits` answer a query.
    pub fn of(hits: &[Hit]) -> Self {
        match hits.iter().map(|h| h.coverage).reduce(f32::max) {
            None => Self::Unanswered,
            Some(best) if best < WEAK_COVERAGE => Self::Weak,
            Some(_) => Self::Answered,
        }
    }

    /// Its name in metrics and logs: `answered`, `weak` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Weak => "weak",
            Self::Unanswered => "none",
        }
    }
}

/// Counts of searches by outcome, shared by every face that searches (the MCP tool, the
/// web page), and kept across reloads of the knowledge base.
///
/// ```
/// use tenet_kb::{KnowledgeBase, Query, Root, SearchStats};
///
/// let kb = KnowledgeBase::load(&[Root::Builtin]).unwrap();
/// let stats = SearchStats::new(false);
/// for text in ["goroutine leak", "zqxjv"] {
///     let query = Query::new(text, None, None, &[], 5).unwrap();
///     stats.record(&query, &kb.search(&query).unwrap());
/// }
/// assert_eq!((stats.searches(), stats.unanswered(), stats.weak()), (2, 1, 0));
/// ```
#[derive(Debug, Default)]
pub struct SearchStats {
    answered: AtomicU64,
    unanswered: AtomicU64,
    weak: AtomicU64,
    log_queries: AtomicBool,
}

impl SearchStats {
    /// Counts that log, when `log_queries`, the text (quoted, so that it cannot forge a
    /// line), language and domain of each search that found nothing or only weak hits
    /// (target `tenet::search`, level info).
    pub fn new(log_queries: bool) -> Self {
        Self { log_queries: AtomicBool::new(log_queries), ..Self::default() }
    }

    /// Turns the logging of queries that found nothing or only weak hits on or off.
    pub fn log_queries(&self, on: bool) {
        self.log_queries.store(on, Ordering::Relaxed);
    }

    /// Counts one search of `query` that found `hits`, and says how it went.
    pub fn record(&self, query: &Query, hits: &[Hit]) -> Outcome {
        let outcome = Outcome::of(hits);
        let counter = match outcome {
            Outcome::Answered => &self.answered,
            Outcome::Weak => &self.weak,
            Outcome::Unanswered => &self.unanswered,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if outcome == Outcome::Answered {
            return outcome;
        }
        if self.log_queries.load(Ordering::Relaxed) {
            tracing::info!(
                target: "tenet::search",
                query = ?query.text,
                language = query.language.as_deref().unwrap_or(""),
                domain = query.domain.as_deref().unwrap_or(""),
                outcome = outcome.name(),
                "a search the standards did not answer well",
            );
        }
        outcome
    }

    /// Searches counted.
    pub fn searches(&self) -> u64 {
        self.answered() + self.weak() + self.unanswered()
    }

    /// Searches with a hit that says at least [`WEAK_COVERAGE`] of what was asked.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Searches that found nothing.
    pub fn unanswered(&self) -> u64 {
        self.unanswered.load(Ordering::Relaxed)
    }

    /// Searches whose hits were all weak.
    pub fn weak(&self) -> u64 {
        self.weak.load(Ordering::Relaxed)
    }
}
