//! The wall-clock time replicas agree on. Alone, a server reads its own clock; replicas
//! sharing a store read theirs corrected by how far it is from the store's clock
//! ([`set_offset`], kept up to date by the store's health check), so that what one
//! replica dates (an input round's `requestState`, a task's times) another reads the
//! same way, whatever their own clocks say.
//!
//! ```
//! use std::time::Duration;
//! tenet_server::clock::set_offset(-1500);
//! let behind = tenet_server::clock::now();
//! assert!(behind + Duration::from_millis(1400) < std::time::SystemTime::now() + Duration::from_millis(100));
//! tenet_server::clock::set_offset(0);
//! ```

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far the shared clock is ahead of this machine's, in milliseconds.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Sets how far the clock replicas share is ahead of this machine's, in milliseconds
/// (negative: behind).
pub fn set_offset(ms: i64) {
    OFFSET_MS.store(ms, Ordering::Relaxed);
}

/// How far the clock replicas share is ahead of this machine's, in milliseconds.
pub fn offset() -> i64 {
    OFFSET_MS.load(Ordering::Relaxed)
}

/// Now, on the clock replicas share.
pub fn now() -> SystemTime {
    let here = SystemTime::now();
    let offset = offset();
    let magnitude = Duration::from_millis(offset.unsigned_abs());
    if offset >= 0 { here + magnitude } else { here.checked_sub(magnitude).unwrap_or(UNIX_EPOCH) }
}

/// Whole seconds since the Unix epoch, on the clock replicas share.
pub fn unix_secs() -> u64 {
    now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A duration in whole milliseconds, as the protocol's `…Ms` fields carry it
/// (saturating; no duration here comes near `u64::MAX` ms).
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_moves_the_clock_both_ways() {
        let here = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        set_offset(7_200_000);
        let ahead = unix_secs();
        set_offset(-7_200_000);
        let behind = unix_secs();
        set_offset(0);
        assert!(ahead >= here + 7_199 && ahead <= here + 7_202, "{ahead} vs {here}");
        assert!(behind + 7_199 <= here + 1 && behind + 7_202 >= here, "{behind} vs {here}");
    }
}
