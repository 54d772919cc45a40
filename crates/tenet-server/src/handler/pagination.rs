//! Opaque cursors over lists sorted by key.
//!
//! A cursor names the key of the last item a page returned; the next page starts
//! after it. So an item present during a whole walk is listed exactly once, whatever
//! else is added or removed between pages (even the item the cursor names).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tenet_jsonrpc::ErrorObject;

/// What a cursor's text starts with, before base64: the kind of cursor ("after this
/// key") and its version; any other cursor is not one of ours.
const AFTER_KEY: &str = "k1:";

/// One page of `items` (sorted by `key`, byte-wise, each key once) starting after the
/// key `cursor` names, and the cursor of the next page.
///
/// # Errors
/// -32602 for a cursor this server did not issue.
pub fn page<'a, T>(
    items: &'a [T],
    cursor: Option<&str>,
    size: usize,
    key: impl Fn(&T) -> &str,
) -> Result<(&'a [T], Option<String>), ErrorObject> {
    debug_assert!(items.is_sorted_by(|a, b| key(a) < key(b)), "a paged list must be sorted by its key");
    let start = match cursor {
        None => 0,
        Some(c) => {
            let after = decode(c)
                .ok_or_else(|| ErrorObject::invalid_params(format!("Invalid params: unknown cursor {c:?}")))?;
            items.partition_point(|item| key(item) <= after.as_str())
        }
    };
    let end = start.saturating_add(size.max(1)).min(items.len());
    let next = (end < items.len()).then(|| encode(key(&items[end - 1])));
    Ok((&items[start..end], next))
}

/// The cursor of the page after the item with `key`.
fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{AFTER_KEY}{key}"))
}

/// The key a cursor names; `None` for a cursor that is not one of ours.
fn decode(cursor: &str) -> Option<String> {
    let mut text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    text.starts_with(AFTER_KEY).then(|| {
        text.drain(..AFTER_KEY.len());
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(item: &String) -> &str {
        item
    }

    fn names(list: &[&str]) -> Vec<String> {
        let mut items: Vec<String> = list.iter().map(|&n| n.to_owned()).collect();
        items.sort();
        items.dedup();
        items
    }

    /// Every item from `cursor` on, `size` at a time.
    fn walk(items: &[String], mut cursor: Option<String>, size: usize) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let (chunk, next) = page(items, cursor.as_deref(), size, name).unwrap();
            seen.extend_from_slice(chunk);
            match next {
                Some(n) => cursor = Some(n),
                None => return seen,
            }
        }
    }

    #[test]
    fn walks_every_page_then_stops() {
        let items = names(&["a", "b", "c", "d", "e", "f", "g"]);
        for size in [0, 1, 2, 3, 7, 8, 100] {
            assert_eq!(walk(&items, None, size), items, "pages of {size}");
        }
        let (first, next) = page(&items, None, 3, name).unwrap();
        assert_eq!(first, &items[..3]);
        assert!(next.is_some());
        assert_eq!(page(&items, None, 7, name).unwrap().1, None, "no cursor after the last page");
        assert_eq!(page::<String>(&[], None, 3, name).unwrap(), (&[][..], None));
    }

    #[test]
    fn keys_are_any_text() {
        let items = names(&["", "a b", "ä/€", "é?&=#", "🦀"]);
        assert_eq!(walk(&items, None, 1), items);
    }

    #[test]
    fn foreign_cursors_are_invalid_params() {
        let items = names(&["a", "b"]);
        let offset = URL_SAFE_NO_PAD.encode("o1");
        let not_utf8 = URL_SAFE_NO_PAD.encode([b'k', b'1', b':', 0xff]);
        let padded = base64::engine::general_purpose::STANDARD.encode("k1:a");
        for bad in ["nope", "", "bzk5OTk", "k1:a", "a2s6", offset.as_str(), not_utf8.as_str(), padded.as_str()] {
            let e = page(&items, Some(bad), 1, name).unwrap_err();
            assert_eq!(e.code, tenet_jsonrpc::ErrorCode::INVALID_PARAMS, "{bad:?}");
            assert!(e.message.starts_with("Invalid params: unknown cursor"), "{}", e.message);
        }
    }

    #[test]
    fn a_cursor_whose_item_was_removed_goes_on_after_its_key() {
        let before = names(&["a", "b", "c", "d", "e"]);
        let (_, next) = page(&before, None, 2, name).unwrap();
        let after = names(&["a", "c", "d", "e"]);
        assert_eq!(walk(&after, next, 2), names(&["c", "d", "e"]), "b was removed");
        let (_, next) = page(&before, None, 4, name).unwrap();
        assert_eq!(walk(&names(&["a"]), next, 2), Vec::<String>::new(), "everything after d went");
    }

    /// A tiny deterministic generator (xorshift), so the test needs no dependency and
    /// fails the same way every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % n as u64).unwrap()
        }
    }

    #[test]
    fn items_present_throughout_a_walk_are_listed_once_in_order_whatever_changes_between_pages() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..500 {
            let mut items: Vec<String> = (0..rng.below(30)).map(|i| format!("k{:02}", i * 3)).collect();
            let mut throughout = items.clone();
            let size = 1 + rng.below(5);
            let (first, mut cursor) = page(&items, None, size, name).unwrap();
            let mut seen = first.to_vec();
            // Between pages: some items go, some of those come back (in another order),
            // some are new.
            while let Some(c) = cursor {
                let (gone, mut kept): (Vec<String>, Vec<String>) = items.into_iter().partition(|_| rng.below(4) == 0);
                kept.extend(gone.into_iter().rev().filter(|_| rng.below(2) == 0));
                kept.extend((0..rng.below(4)).map(|_| format!("k{:02}", rng.below(90))));
                items = names(&kept.iter().map(String::as_str).collect::<Vec<_>>());
                throughout.retain(|i| items.contains(i));
                let (chunk, next) = page(&items, Some(&c), size, name).unwrap();
                seen.extend_from_slice(chunk);
                cursor = next;
            }
            assert!(seen.is_sorted_by(|a, b| a < b), "round {round}: listed twice or out of order: {seen:?}");
            for item in &throughout {
                assert!(seen.contains(item), "round {round}: {item} was there all along, not listed: {seen:?}");
            }
        }
    }

    #[test]
    fn items_in_both_snapshots_are_seen_once_across_a_change() {
        let before = names(&["a", "b", "c", "d", "e", "f"]);
        let (first, cursor) = page(&before, None, 3, name).unwrap();
        // b and e removed and added back (in another order), x and 0 new, c removed.
        let after = names(&["a", "d", "f", "e", "b", "x", "0"]);
        let mut seen = first.to_vec();
        seen.extend(walk(&after, cursor, 2));
        for item in before.iter().filter(|i| after.contains(i)) {
            assert_eq!(seen.iter().filter(|s| *s == item).count(), 1, "{item} in {seen:?}");
        }
        assert_eq!(seen, names(&["a", "b", "c", "d", "e", "f", "x"]), "sorted; 0 came before the cursor");
    }
}
