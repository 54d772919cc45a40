//! Opaque cursors over ordered lists.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tenet_jsonrpc::ErrorObject;

/// One page of `items` starting at `cursor`, and the cursor of the next page.
///
/// # Errors
/// -32602 for a cursor this server did not issue.
pub fn page<'a, T>(
    items: &'a [T],
    cursor: Option<&str>,
    size: usize,
) -> Result<(&'a [T], Option<String>), ErrorObject> {
    let start = match cursor {
        None => 0,
        Some(c) => decode(c)
            .filter(|&n| n <= items.len())
            .ok_or_else(|| ErrorObject::invalid_params(format!("Invalid params: unknown cursor {c:?}")))?,
    };
    let end = start.saturating_add(size.max(1)).min(items.len());
    let next = (end < items.len()).then(|| encode(end));
    Ok((&items[start..end], next))
}

fn encode(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o{offset}"))
}

fn decode(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes).ok()?.strip_prefix('o')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_every_page_then_stops() {
        let items: Vec<u32> = (0..7).collect();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let (chunk, next) = page(&items, cursor.as_deref(), 3).unwrap();
            seen.extend_from_slice(chunk);
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn foreign_cursors_are_invalid_params() {
        let items = [1, 2];
        for bad in ["nope", "", "bzk5OTk"] {
            assert_eq!(page(&items, Some(bad), 1).unwrap_err().code, tenet_jsonrpc::ErrorCode::INVALID_PARAMS);
        }
    }
}
