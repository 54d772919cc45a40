//! `tenet serve` rate-limit options (the `[limits]` table of the config file).

use std::sync::Arc;

use tenet_server::{Rate, RateLimiter, RateLimits};

/// How fast each client may go.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Requests per second each client (token subject, API key or address; on stdio
    /// the one client) may make, sustained. Unset: no default limit.
    #[arg(long = "rate-limit", value_name = "PER_SECOND", env = "TENET_RATE_LIMIT", value_parser = per_second)]
    pub rate_limit: Option<f64>,
    /// Requests a client may make at once on top of the sustained rate.
    #[arg(long = "rate-burst", value_name = "N", default_value_t = 20, env = "TENET_RATE_BURST", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate_burst: u32,
    /// A rate for one method or tool, `TARGET=PER_SECOND[/BURST]`, e.g.
    /// `tools/call:search_stdlib=2/5` (repeat, or comma-separate).
    #[arg(long = "rate-limit-for", value_name = "TARGET=RATE", env = "TENET_RATE_LIMITS", value_delimiter = ',', value_parser = target_rate)]
    pub rate_limit_for: Vec<String>,
}

fn per_second(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1e9 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number of requests per second")),
    }
}

fn parse_target(s: &str) -> Result<(String, Rate), String> {
    let (target, rate) = s.split_once('=').ok_or_else(|| format!("{s:?}: expected TARGET=PER_SECOND[/BURST]"))?;
    let (rate, burst) = match rate.split_once('/') {
        Some((rate, burst)) => (rate, burst.parse::<u32>().map_err(|_| format!("{s:?}: bad burst {burst:?}"))?),
        None => (rate, 1),
    };
    if target.is_empty() || target.contains(char::is_whitespace) {
        return Err(format!("{s:?}: name a method or method:tool"));
    }
    Ok((target.to_owned(), Rate { per_second: per_second(rate)?, burst: burst.max(1) }))
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
}
