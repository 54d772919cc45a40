//! What a 2026-07-28 client repeats in every request's `_meta` (its name and version,
//! its capabilities), read once: the text last found good on this thread is kept, and
//! the same text again is taken as it was read, not read again. A client sends the same
//! bytes request after request, so a comparison of a few dozen bytes stands in for a
//! typed reading and its allocations.
//!
//! Only text that was read without error is kept, and only the bytes are compared: the
//! outcome for any text is what reading it gives, whoever sent it. One entry of each
//! kind per thread, each at most [`LONGEST`] bytes.

use std::cell::RefCell;
use std::sync::Arc;

use tenet_protocol::ClientCapabilities;

/// The longest text kept: capabilities past this are read each time.
const LONGEST: usize = 4096;

#[derive(Default)]
struct Kept {
    /// `clientInfo` text found to be an implementation's name.
    info: Option<Last<()>>,
    /// `clientCapabilities` text and what it read as.
    capabilities: Option<Last<Arc<ClientCapabilities>>>,
}

/// A text that read without error, and what it read as.
struct Last<T> {
    text: Box<str>,
    read: T,
}

thread_local! {
    static KEPT: RefCell<Kept> = RefCell::default();
}

/// Checks `text` with `check`, unless it is the text that last passed on this thread.
pub(crate) fn check_info<E>(text: &str, check: impl FnOnce(&str) -> Result<(), E>) -> Result<(), E> {
    remembered(|kept| &mut kept.info, text, check)
}

/// Reads `text` with `read`, or gives what the same text read as last time on this thread.
pub(crate) fn capabilities<E>(
    text: &str,
    read: impl FnOnce(&str) -> Result<ClientCapabilities, E>,
) -> Result<Arc<ClientCapabilities>, E> {
    remembered(|kept| &mut kept.capabilities, text, |text| read(text).map(Arc::new))
}

/// What `text` read as when it is the text `slot` of this thread's [`Kept`] holds, else
/// `read`'s reading of it, kept in `slot` when it is good and not too long.
fn remembered<T: Clone, E>(
    slot: fn(&mut Kept) -> &mut Option<Last<T>>,
    text: &str,
    read: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, E> {
    let found = KEPT
        .with_borrow_mut(|kept| slot(kept).as_ref().filter(|last| *last.text == *text).map(|last| last.read.clone()));
    if let Some(found) = found {
        return Ok(found);
    }
    let read = read(text)?;
    if text.len() <= LONGEST {
        KEPT.with_borrow_mut(|kept| *slot(kept) = Some(Last { text: text.into(), read: read.clone() }));
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_read_once_and_any_other_is_read() {
        let reads = std::cell::Cell::new(0);
        let read = |text: &str| {
            reads.set(reads.get() + 1);
            serde_json::from_str::<ClientCapabilities>(text).map_err(|e| e.to_string())
        };
        let a = r#"{"roots":{"listChanged":true}}"#;
        let first = capabilities(a, read).unwrap();
        let again = capabilities(a, read).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first.roots.as_ref().and_then(|r| r.list_changed), Some(true));
        let other = capabilities("{}", read).unwrap();
        assert!(other.roots.is_none());
        assert_eq!(reads.get(), 2);
        // A text that fails is refused each time, and never kept.
        assert!(capabilities(r#"{"roots":1}"#, read).is_err());
        assert!(capabilities(r#"{"roots":1}"#, read).is_err());
        assert_eq!(reads.get(), 4);
        // Text past the longest kept is read every time.
        let long = format!(r#"{{"experimental":{{"x":"{}"}}}}"#, "y".repeat(LONGEST));
        capabilities(&long, read).unwrap();
        capabilities(&long, read).unwrap();
        assert_eq!(reads.get(), 6);
    }

    #[test]
    fn a_name_that_passed_is_not_checked_again_and_one_that_failed_is() {
        let checks = std::cell::Cell::new(0);
        let check = |text: &str| {
            checks.set(checks.get() + 1);
            if text.contains("version") { Ok(()) } else { Err(()) }
        };
        let good = r#"{"name":"c","version":"1"}"#;
        assert!(check_info(good, check).is_ok() && check_info(good, check).is_ok());
        assert_eq!(checks.get(), 1);
        assert!(check_info(r#"{"name":"c"}"#, check).is_err());
        assert!(check_info(r#"{"name":"c"}"#, check).is_err());
        assert_eq!(checks.get(), 3);
    }
}
