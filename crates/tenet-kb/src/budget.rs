//! Token budgets: cutting a sequence of sections to fit, at heading boundaries, with a
//! cursor to continue.
//!
//! Tokens are estimated as one per four bytes of UTF-8 (rounded up), a deliberate
//! over-estimate for English prose and code with common tokenizers, so a budget is
//! never exceeded in practice.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The budget when the caller gives none.
pub const DEFAULT_MAX_TOKENS: usize = 8_000;
/// The smallest budget accepted.
pub const MIN_MAX_TOKENS: usize = 100;

/// The estimated token count of `text`.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

/// One page of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The text of this page.
    pub text: String,
    /// Estimated tokens in `text`.
    pub tokens: usize,
    /// Estimated tokens still to come after this page.
    pub remaining_tokens: usize,
    /// Where the next page starts; `None` when nothing is left.
    pub next_cursor: Option<String>,
    /// Indexes of the blocks this page (partly) holds.
    pub blocks: Vec<usize>,
}

/// Why a cursor is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor: pass back the next_cursor of an earlier call unchanged")]
pub struct InvalidCursor;

/// Position in a list of blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    block: usize,
    offset: usize,
}

fn encode(position: Position, fingerprint: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}:{fingerprint:x}", position.block, position.offset))
}

fn decode(cursor: &str, fingerprint: u32) -> Option<Position> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let mut parts = text.split(':');
    let block = parts.next()?.parse().ok()?;
    let offset = parts.next()?.parse().ok()?;
    let stamp = u32::from_str_radix(parts.next()?, 16).ok()?;
    (stamp == fingerprint && parts.next().is_none()).then_some(Position { block, offset })
}

/// A cheap fingerprint of the content, so a cursor from other content is refused.
fn fingerprint(blocks: &[&str]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for block in blocks {
        for b in block.len().to_le_bytes().iter().chain(block.as_bytes().iter().take(64)) {
            h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// Takes as many whole blocks as fit in `max_tokens`, starting at `cursor`. A block
/// that alone is larger than the budget is cut at its last paragraph break that fits
/// (or line break, or character), and the next page continues inside it.
///
/// # Errors
/// [`InvalidCursor`] for a cursor that does not belong to these blocks.
pub fn paginate(blocks: &[&str], max_tokens: usize, cursor: Option<&str>) -> Result<Page, InvalidCursor> {
    let fp = fingerprint(blocks);
    let start = match cursor {
        None => Position { block: 0, offset: 0 },
        Some(c) => decode(c, fp)
            .filter(|p| {
                p.block < blocks.len() && blocks[p.block].is_char_boundary(p.offset) && p.offset < blocks[p.block].len()
            })
            .ok_or(InvalidCursor)?,
    };
    let budget_bytes = max_tokens.max(MIN_MAX_TOKENS).saturating_mul(4);
    let mut text = String::new();
    let mut taken = Vec::new();
    let mut position = start;
    while position.block < blocks.len() {
        let rest = &blocks[position.block][position.offset..];
        if text.len() + rest.len() <= budget_bytes {
            text.push_str(rest);
            taken.push(position.block);
            position = Position { block: position.block + 1, offset: 0 };
            continue;
        }
        if text.is_empty() {
            // Nothing fits whole: cut this block at a clean boundary.
            let cut = cut_point(rest, budget_bytes);
            text.push_str(&rest[..cut]);
            taken.push(position.block);
            position.offset += cut;
        }
        break;
    }
    let remaining: usize = if position.block < blocks.len() {
        estimate_tokens(&blocks[position.block][position.offset..])
            + blocks[position.block + 1..].iter().map(|b| estimate_tokens(b)).sum::<usize>()
    } else {
        0
    };
    let next_cursor = (position.block < blocks.len()).then(|| encode(position, fp));
    Ok(Page { tokens: estimate_tokens(&text), text, remaining_tokens: remaining, next_cursor, blocks: taken })
}

/// Where to cut `text` to at most `limit` bytes: after the last paragraph break, else
/// the last line break, else the last character that fits (never zero bytes).
fn cut_point(text: &str, limit: usize) -> usize {
    let mut end = limit.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let window = &text[..end];
    let at = window.rfind("\n\n").map(|i| i + 2).or_else(|| window.rfind('\n').map(|i| i + 1)).filter(|&i| i > 0);
    match at {
        Some(i) => i,
        None if end > 0 => end,
        None => text.chars().next().map_or(text.len(), char::len_utf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_pages(blocks: &[&str], max: usize) -> Vec<Page> {
        let mut pages = Vec::new();
        let mut cursor = None;
        loop {
            let page = paginate(blocks, max, cursor.as_deref()).unwrap();
            cursor = page.next_cursor.clone();
            pages.push(page);
            if cursor.is_none() || pages.len() > 1000 {
                return pages;
            }
        }
    }

    #[test]
    fn whole_sections_until_the_budget_then_a_cursor() {
        let a = "# A\n".to_owned() + &"a".repeat(300) + "\n";
        let b = "## B\n".to_owned() + &"b".repeat(300) + "\n";
        let c = "## C\n".to_owned() + &"c".repeat(300) + "\n";
        let blocks = [a.as_str(), b.as_str(), c.as_str()];
        let first = paginate(&blocks, 200, None).unwrap();
        assert_eq!(first.blocks, [0, 1]);
        assert!(first.text.ends_with("b\n"));
        assert!(first.tokens <= 200);
        assert_eq!(first.remaining_tokens, estimate_tokens(&c));
        let second = paginate(&blocks, 200, first.next_cursor.as_deref()).unwrap();
        assert_eq!(second.text, c);
        assert_eq!(second.remaining_tokens, 0);
        assert!(second.next_cursor.is_none());
    }

    #[test]
    fn an_oversized_section_is_cut_at_paragraphs_and_nothing_is_lost() {
        let para = "word ".repeat(60) + "\n\n";
        let big = "# Big\n".to_owned() + &para.repeat(20);
        let small = "## Small\nend\n";
        let blocks = [big.as_str(), small];
        let pages = all_pages(&blocks, 100);
        assert!(pages.len() > 3);
        for page in &pages[..pages.len() - 1] {
            assert!(page.tokens <= 100, "{}", page.tokens);
            assert!(page.text.ends_with("\n\n") || page.text.ends_with('\n'));
        }
        let joined: String = pages.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined, blocks.concat());
    }

    #[test]
    fn foreign_or_garbled_cursors_are_refused() {
        let blocks = ["one\n", "two\n"];
        assert_eq!(paginate(&blocks, 100, Some("garbage")), Err(InvalidCursor));
        let other = paginate(&["x".repeat(1000).as_str(), "y"], 100, None).unwrap();
        assert_eq!(paginate(&blocks, 100, other.next_cursor.as_deref()), Err(InvalidCursor));
    }

    #[test]
    fn multibyte_text_is_cut_on_character_boundaries() {
        let text = "é".repeat(1000);
        let pages = all_pages(&[text.as_str()], 100);
        let joined: String = pages.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined, text);
    }
}
