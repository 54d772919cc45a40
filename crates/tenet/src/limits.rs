//! `tenet serve` limits (the `[limits]` table of the config file): rate limits per
//! client, concurrency caps per tool, and the response cache.

use std::sync::Arc;
use std::time::Duration;

use tenet_server::{Rate, RateLimiter, RateLimits};

// How fast each client may go, how many calls of a tool run at once, and how much
// the server remembers.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Requests per second each client (token subject, API key or address; on stdio
    /// the one client) may make, sustained. Unset: no default limit.
    #[arg(long = "rate-limit", value_name = "PER_SECOND", env = "TENET_RATE_LIMIT", value_parser = Rate::parse_per_second)]
    pub rate_limit: Option<f64>,
    /// Requests a client may make at once on top of the sustained rate.
    #[arg(long = "rate-burst", value_name = "N", default_value_t = 20, env = "TENET_RATE_BURST", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate_burst: u32,
    /// A rate for one method or tool, `TARGET=PER_SECOND[/BURST]`, e.g.
    /// `tools/call:search_stdlib=2/5` (repeat, or comma-separate).
    #[arg(long = "rate-limit-for", value_name = "TARGET=RATE", env = "TENET_RATE_LIMITS", value_delimiter = ',', value_parser = target_rate)]
    pub rate_limit_for: Vec<String>,
    /// Calls of one tool that may run at once, all clients together. Past it a call
    /// waits for a turn up to half its timeout, then gets -32004 (HTTP 429 with
    /// Retry-After). Unset: no cap.
    #[arg(long = "tool-concurrency", value_name = "N", env = "TENET_TOOL_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub tool_concurrency: Option<u32>,
    /// Memory for cached answers: bytes, or with a unit (`K`/`KiB`, `M`/`MiB`,
    /// `G`/`GiB`), e.g. `64MiB`; 0 turns the cache off.
    #[arg(long = "cache-size", value_name = "SIZE", default_value = "16MiB", env = "TENET_CACHE_SIZE", value_parser = byte_size)]
    pub cache_size: u64,
    /// Seconds an answer of get_stdlib, search_stdlib, list_stdlib or a standard's
    /// resource may be reused: by the server's cache, and by 2026-07-28 clients
    /// (`ttlMs`). Edits on disk drop cached answers at once. 0: never reused.
    #[arg(long = "cache-ttl", value_name = "SECONDS", default_value_t = 300.0, env = "TENET_CACHE_TTL", value_parser = ttl_seconds)]
    pub cache_ttl: f64,
    /// Conversation contexts one caller (a principal, or a client address without
    /// authorization) may hold; past it, its context used least recently is dropped,
    /// never another caller's.
    #[arg(long, value_name = "N", default_value_t = 1024, env = "TENET_MAX_CONTEXTS_PER_CALLER", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_contexts_per_caller: u32,
    /// Bytes one caller's contexts may hold together (with a unit, as --cache-size);
    /// past it, its contexts used least recently are dropped.
    #[arg(long, value_name = "SIZE", default_value = "4MiB", env = "TENET_MAX_CONTEXT_BYTES_PER_CALLER", value_parser = positive_byte_size)]
    pub max_context_bytes_per_caller: u64,
    /// Bytes all contexts may hold together; past it, the caller holding the most
    /// gives up its contexts used least recently.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", env = "TENET_MAX_CONTEXT_BYTES", value_parser = positive_byte_size)]
    pub max_context_bytes: u64,
    /// Bytes one context may hold; past it, a change to it is refused.
    #[arg(long, value_name = "SIZE", default_value = "64KiB", env = "TENET_MAX_BYTES_PER_CONTEXT", value_parser = positive_byte_size)]
    pub max_bytes_per_context: u64,
    /// Tasks (2026-07-28) one caller may have running; past it, its next one is
    /// refused with a clear error.
    #[arg(long, value_name = "N", default_value_t = 256, env = "TENET_MAX_TASKS_PER_CALLER", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tasks_per_caller: u32,
    /// Tasks running, all callers together.
    #[arg(long, value_name = "N", default_value_t = 4096, env = "TENET_MAX_TASKS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tasks: u32,
    /// Ended tasks one caller's results are kept for (until their time is up); past
    /// it, its task that ended first is dropped.
    #[arg(long, value_name = "N", default_value_t = 1024, env = "TENET_MAX_ENDED_TASKS_PER_CALLER", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_ended_tasks_per_caller: u32,
    /// Ended tasks kept, all callers together; past it, the caller holding the most
    /// gives up its oldest.
    #[arg(long, value_name = "N", default_value_t = 16384, env = "TENET_MAX_ENDED_TASKS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_ended_tasks: u32,
    /// Bytes one caller's ended tasks' results may hold together (with a unit, as
    /// --cache-size); past it, its task that ended first is dropped.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", env = "TENET_MAX_ENDED_TASK_BYTES_PER_CALLER", value_parser = positive_byte_size)]
    pub max_ended_task_bytes_per_caller: u64,
    /// Bytes all ended tasks' results may hold together; past it, the caller holding
    /// the most gives up its oldest.
    #[arg(long, value_name = "SIZE", default_value = "512MiB", env = "TENET_MAX_ENDED_TASK_BYTES", value_parser = positive_byte_size)]
    pub max_ended_task_bytes: u64,
}

fn positive_byte_size(s: &str) -> Result<u64, String> {
    match byte_size(s)? {
        0 => Err(format!("{s:?}: must be more than 0")),
        bytes => Ok(bytes),
    }
}

/// The largest cache a flag may ask for: 64 GiB.
const MAX_CACHE_BYTES: u64 = 64 << 30;

fn byte_size(s: &str) -> Result<u64, String> {
    let text = s.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        _ => return Err(format!("{s:?}: expected bytes, or a number with K, KiB, M, MiB, G or GiB")),
    };
    let bytes = number.parse::<u64>().map_err(|_| format!("{s:?}: expected a whole number of bytes"))?;
    match bytes.checked_shl(shift).filter(|b| b >> shift == bytes && *b <= MAX_CACHE_BYTES) {
        Some(bytes) => Ok(bytes),
        None => Err(format!("{s:?}: at most 64GiB")),
    }
}

fn ttl_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: expected seconds from 0 to 86400")),
    }
}

fn parse_target(s: &str) -> Result<(String, Rate), String> {
    let (target, rate) = s.split_once('=').ok_or_else(|| format!("{s:?}: expected TARGET=PER_SECOND[/BURST]"))?;
    if target.is_empty() || target.contains(char::is_whitespace) {
        return Err(format!("{s:?}: name a method or method:tool"));
    }
    Ok((target.to_owned(), rate.parse::<Rate>().map_err(|e| format!("{s:?}: {e}"))?))
}

fn target_rate(s: &str) -> Result<String, String> {
    parse_target(s).map(|_| s.to_owned())
}

impl LimitArgs {
    /// The limiter, or `None` when no limit is set.
    ///
    /// # Errors
    /// A malformed `--rate-limit-for` (already checked by its parser).
    pub fn build(&self) -> Result<Option<Arc<RateLimiter>>, String> {
        let overrides = self.rate_limit_for.iter().map(|s| parse_target(s)).collect::<Result<Vec<_>, _>>()?;
        let default = self.rate_limit.map(|per_second| Rate { per_second, burst: self.rate_burst });
        if default.is_none() && overrides.is_empty() {
            return Ok(None);
        }
        Ok(Some(Arc::new(RateLimiter::new(RateLimits { default, overrides }))))
    }

    /// The response cache's budget in bytes (0: off).
    pub fn cache_bytes(&self) -> usize {
        usize::try_from(self.cache_size).unwrap_or(usize::MAX)
    }

    /// How long answers may be reused; `None` when they may not.
    pub fn cache_ttl(&self) -> Option<Duration> {
        Some(Duration::from_secs_f64(self.cache_ttl)).filter(|ttl| !ttl.is_zero())
    }

    /// The default cap on one tool's concurrent calls.
    pub fn tool_concurrency(&self) -> Option<usize> {
        self.tool_concurrency.map(|n| n as usize)
    }

    /// The bounds of conversations' contexts, in this process or in the store. A share
    /// is at most what it is a share of (one context's of a caller's, a caller's of
    /// all): `--max-context-bytes 1MiB` alone makes a caller's share 1 MiB too.
    pub fn context_limits(&self) -> tenet_server::store::ContextLimits {
        let bytes = |b: u64| usize::try_from(b).unwrap_or(usize::MAX);
        let caller = self.max_context_bytes_per_caller.min(self.max_context_bytes);
        tenet_server::store::ContextLimits {
            max_bytes: bytes(self.max_bytes_per_context.min(caller)),
            max_total_bytes: bytes(self.max_context_bytes),
            max_caller_bytes: bytes(caller),
            max_caller_contexts: self.max_contexts_per_caller as usize,
            ..tenet_server::store::ContextLimits::default()
        }
    }

    /// The bounds of the tasks extension's board (each caller's share at most the
    /// total: `--max-tasks 8` alone makes it 8).
    pub fn task_limits(&self) -> tenet_server::TaskLimits {
        let bytes = |b: u64| usize::try_from(b).unwrap_or(usize::MAX);
        tenet_server::TaskLimits {
            running_per_caller: self.max_tasks_per_caller.min(self.max_tasks) as usize,
            running: self.max_tasks as usize,
            ended_per_caller: self.max_ended_tasks_per_caller.min(self.max_ended_tasks) as usize,
            ended: self.max_ended_tasks as usize,
            ended_bytes_per_caller: bytes(self.max_ended_task_bytes_per_caller.min(self.max_ended_task_bytes)),
            ended_bytes: bytes(self.max_ended_task_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_and_without_a_burst() {
        assert_eq!(parse_target("tools/list=5").unwrap(), ("tools/list".into(), Rate { per_second: 5.0, burst: 1 }));
        let (target, rate) = parse_target("tools/call:search_stdlib=0.5/3").unwrap();
        assert_eq!((target.as_str(), rate.per_second, rate.burst), ("tools/call:search_stdlib", 0.5, 3));
        for bad in ["tools/list", "=5", "x=0", "x=-1", "x=1/y", "a b=1"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    fn limits(flags: &[&str]) -> LimitArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            limits: LimitArgs,
        }
        <Cli as clap::Parser>::parse_from(std::iter::once("tenet").chain(flags.iter().copied())).limits
    }

    #[test]
    fn a_share_is_at_most_what_it_is_a_share_of() {
        let tasks = limits(&["--max-tasks", "8", "--max-ended-tasks", "3"]).task_limits();
        assert_eq!((tasks.running_per_caller, tasks.running), (8, 8));
        assert_eq!((tasks.ended_per_caller, tasks.ended), (3, 3));
        let tasks = limits(&["--max-ended-task-bytes", "1MiB"]).task_limits();
        assert_eq!((tasks.ended_bytes_per_caller, tasks.ended_bytes), (1 << 20, 1 << 20));
        let contexts = limits(&["--max-context-bytes", "32KiB"]).context_limits();
        assert_eq!(
            (contexts.max_bytes, contexts.max_caller_bytes, contexts.max_total_bytes),
            (32 << 10, 32 << 10, 32 << 10)
        );
        let defaults = limits(&[]);
        assert_eq!(defaults.task_limits(), tenet_server::TaskLimits::default());
        assert_eq!(defaults.context_limits(), tenet_server::store::ContextLimits::default());
    }

    #[test]
    fn cache_sizes_take_binary_units() {
        let cases = [("0", 0), ("4096", 4096), ("512K", 512 << 10), ("16MiB", 16 << 20), ("2 gib", 2 << 30)];
        for (text, bytes) in cases {
            assert_eq!(byte_size(text), Ok(bytes), "{text}");
        }
        for bad in ["", "MiB", "-1", "1.5M", "16MB", "65GiB", "99999999999999999999", "1T"] {
            assert!(byte_size(bad).is_err(), "{bad}");
        }
        assert_eq!(ttl_seconds("0"), Ok(0.0));
        assert!(ttl_seconds("-1").is_err() && ttl_seconds("86401").is_err() && ttl_seconds("x").is_err());
    }
}
