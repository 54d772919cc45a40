//! Limits on the work callers can put on a server: a cap on how many calls of one tool
//! run at once (`concurrency`), and token-bucket rate limits per client, per method or
//! tool ([`RateLimiter`]). A refusal is answered with [`RATE_LIMITED`] (-32004), or over
//! HTTP with 429 and `Retry-After`. And the response [`cache`] of results that opted
//! in, which spares the work of repeated calls.

pub(crate) mod cache;
mod concurrency;
mod rate_limit;

pub use cache::CacheStats;
pub(crate) use concurrency::{ConcurrencyCollector, ConcurrencyLimit, Refused, busy};
pub(crate) use rate_limit::refused;
pub use rate_limit::{Rate, RateLimiter, RateLimits, RateStore, rate_limited};
