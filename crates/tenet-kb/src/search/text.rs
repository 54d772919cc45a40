//! The words of a text as the index reads them.

use frostem::Stemmer;

/// Words longer than this many bytes are not indexed (a hash, a base64 blob).
pub(super) const MAX_WORD_BYTES: usize = 40;

/// The words of `text` as byte ranges: runs of letters and digits.
pub(super) fn words(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = chars.by_ref().find(|(_, c)| c.is_alphanumeric())?;
        let mut end = text.len();
        while let Some(&(i, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                end = i;
                break;
            }
            chars.next();
        }
        Some((start, end))
    })
}

/// One token of a text: a word, or an identifier written as several words, whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token {
    /// Where it starts, in bytes.
    pub start: usize,
    /// Where it ends, in bytes.
    pub end: usize,
    /// Its position among the text's words: an identifier whole stands at its first
    /// word's.
    pub position: u32,
    /// Whether it is an identifier whole (`useEffect`, `snake_case`, `std::io`,
    /// `context.Context`) rather than one word.
    pub whole: bool,
}

/// Calls `f` with the tokens of `text`, in order: every word, a run of letters and
/// digits split where camelCase starts a new word (`useEffect`: `use`, `Effect`;
/// `XMLHttpRequest`: `XML`, `Http`, `Request`), each at its own position; then, after
/// the words of an identifier, the identifier whole at the position of its first word.
/// An identifier is a camelCase run, or runs joined with nothing but `_`, `::` or `.`
/// between them (`snake_case`, `std::io::Read`, `pkg.Func`), and each snake_case name
/// inside a longer path (`spawn_blocking` in `tokio::task::spawn_blocking`). So an
/// identifier is found by its whole name and by its words. Returns how many word
/// positions the text has.
pub(super) fn tokens(text: &str, mut f: impl FnMut(Token)) -> u32 {
    let mut position = 0u32;
    // The runs of the path being read (`tokio::task::spawn_blocking`): where each
    // starts and ends, its first word's position, and whether `_` joins it to the
    // one before.
    let mut path: Vec<(usize, usize, u32, bool)> = Vec::new();
    for (start, end) in words(text) {
        let joiner = path.last().map_or("", |&(_, last_end, ..)| &text[last_end..start]);
        if !matches!(joiner, "_" | "::" | ".") {
            wholes(&path, &mut f);
            path.clear();
        }
        path.push((start, end, position, joiner == "_"));
        let first = position;
        let mut parts = 0;
        camel_words(&text[start..end], |s, e| {
            f(Token { start: start + s, end: start + e, position, whole: false });
            position = position.saturating_add(1);
            parts += 1;
        });
        if parts > 1 {
            f(Token { start, end, position: first, whole: true });
        }
    }
    wholes(&path, &mut f);
    position
}

/// The identifiers whole of a path of runs (see [`tokens`]): the path, when it has
/// several runs, and each snake_case name in it that is not the whole path
/// (`spawn_blocking` in `tokio::task::spawn_blocking`).
fn wholes(path: &[(usize, usize, u32, bool)], f: &mut impl FnMut(Token)) {
    let (Some(first), Some(last)) = (path.first(), path.last()) else { return };
    if path.len() < 2 {
        return;
    }
    f(Token { start: first.0, end: last.1, position: first.2, whole: true });
    if path.iter().skip(1).all(|run| run.3) {
        return;
    }
    for name in path.chunk_by(|_, next| next.3).filter(|name| name.len() > 1) {
        f(Token { start: name[0].0, end: name[name.len() - 1].1, position: name[0].2, whole: true });
    }
}

/// Calls `f` with the byte ranges of the words of a run of letters and digits, split
/// where camelCase starts a new word: before an uppercase letter that follows a
/// lowercase letter or a digit, and before the last capital of a run of at least two
/// followed by a lowercase letter (`HTTPServer`: `HTTP`, `Server`; `OAuth`, `IPv4` and
/// the plural `URLs` stay whole).
fn camel_words(run: &str, mut f: impl FnMut(usize, usize)) {
    let mut start = 0;
    let mut previous: Option<char> = None;
    let mut chars = run.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some(p) = previous {
            let mut ahead = chars.clone();
            let next = ahead.next().map(|(_, n)| n);
            // `URLs`, `APIs`: an acronym's plural, not a new word `Ls`.
            let plural = next == Some('s') && ahead.next().is_none();
            let next_lower = next.is_some_and(char::is_lowercase) && !plural;
            let after_lower = (p.is_lowercase() || p.is_numeric()) && c.is_uppercase();
            let acronym_ends = p.is_uppercase() && c.is_uppercase() && next_lower && run[start..i].chars().count() >= 2;
            if after_lower || acronym_ends {
                f(start, i);
                start = i;
            }
        }
        previous = Some(c);
    }
    if start < run.len() {
        f(start, run.len());
    }
}

/// A word lowercased letter by letter, as the index stores it (so a query and the
/// text agree on every letter, final sigma included).
pub(super) fn lowercase(word: &str) -> String {
    word.chars().flat_map(char::to_lowercase).collect()
}

/// A word as indexed: lowercased and stemmed; `None` for a word too long to index.
pub(super) fn term(stemmer: Stemmer, word: &str) -> Option<String> {
    if word.len() >= MAX_WORD_BYTES {
        return None;
    }
    Some(stemmer.stem(&lowercase(word)).into_owned())
}

/// Whether `a` and `b` are at most one edit apart: a letter changed, added or dropped,
/// or two neighbouring letters swapped. Allocates nothing.
pub(super) fn within_one_typo(a: &str, b: &str) -> bool {
    // One letter is at most four bytes: words further apart in length differ more.
    if a.len().abs_diff(b.len()) > 4 {
        return false;
    }
    let same: usize = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).map(|(x, _)| x.len_utf8()).sum();
    let (a, b) = (&a[same..], &b[same..]);
    let (Some(x), Some(y)) = (a.chars().next(), b.chars().next()) else {
        // One is a prefix of the other: one letter more at most.
        return a.chars().count() + b.chars().count() <= 1;
    };
    let (after_a, after_b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
    after_a == after_b
        || after_a == b
        || a == after_b
        || (after_a.starts_with(y) && after_b.starts_with(x) && after_a[y.len_utf8()..] == after_b[x.len_utf8()..])
}

/// The parts of a section's text that are scored apart.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Parts {
    /// Everything but the heading line and code blocks.
    pub(super) prose: String,
    /// The contents of fenced code blocks.
    pub(super) code: String,
    /// Bold spans of the prose (`**…**` or `__…__`), one per line.
    pub(super) emphasis: String,
}

/// Splits a section's text (its heading line first when `headed`) into prose, code and
/// bold spans.
pub(super) fn parts(text: &str, headed: bool) -> Parts {
    let mut out = Parts::default();
    let mut fence: Option<&str> = None;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if n == 0 && headed {
            continue;
        }
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            } else {
                out.code.push_str(line);
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            continue;
        }
        out.prose.push_str(line);
        for marker in ["**", "__"] {
            let mut rest = line;
            while let Some(open) = rest.find(marker) {
                let after = &rest[open + 2..];
                let Some(close) = after.find(marker) else { break };
                out.emphasis.push_str(&after[..close]);
                out.emphasis.push('\n');
                rest = &after[close + 2..];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use frostem::Algorithm;

    #[test]
    fn one_typo_is_a_letter_changed_added_dropped_or_two_swapped() {
        for (a, b) in [
            ("fixture", "fixure"),
            ("fixture", "fixturre"),
            ("detector", "detecter"),
            ("shaking", "shakign"),
            ("é", "e"),
            ("same", "same"),
        ] {
            assert!(within_one_typo(a, b) && within_one_typo(b, a), "{a} ~ {b}");
        }
        for (a, b) in [("fixture", "fxiure"), ("cat", "dog"), ("abc", "abcde"), ("ab", "ba c"), ("née", "neé e")] {
            assert!(!within_one_typo(a, b) && !within_one_typo(b, a), "{a} !~ {b}");
        }
    }

    #[test]
    fn words_are_runs_of_letters_and_digits_stemmed_and_function_words_known() {
        let text = "Use `context.Context`, N+1 queries — and naïve caches!";
        let found: Vec<&str> = words(text).map(|(s, e)| &text[s..e]).collect();
        assert_eq!(found, ["Use", "context", "Context", "N", "1", "queries", "and", "naïve", "caches"]);
        let stemmer = Stemmer::new(Algorithm::English);
        assert_eq!(term(stemmer, "Queries").as_deref(), Some("queri"));
        assert_eq!(term(stemmer, "testing"), term(stemmer, "tests"));
        assert_eq!(term(stemmer, &"x".repeat(MAX_WORD_BYTES)), None, "too long to index");
    }

    #[test]
    fn a_section_is_split_into_prose_code_and_bold_lead_ins() {
        let text = "## Build queries safely\n\n**SQL**: use placeholders, __always__.\n\n```go\n// **not bold**\nq := db.Query(sql, id)\n```\nAfter the code.\n";
        let parts = parts(text, true);
        assert_eq!(parts.prose, "\n**SQL**: use placeholders, __always__.\n\nAfter the code.\n");
        assert_eq!(parts.code, "// **not bold**\nq := db.Query(sql, id)\n");
        assert_eq!(parts.emphasis, "SQL\nalways\n");
        assert_eq!(super::parts("intro **a** and **b\n", false).emphasis, "a\n", "an unclosed span is not bold");
    }

    #[test]
    fn identifiers_are_tokens_whole_after_their_words() {
        let text =
            "Use `ctx context.Context`, snake_case, std::io::Read, useEffect and XMLHttpRequest; OAuth v1.2 ends. Next";
        let mut found = Vec::new();
        let positions = tokens(text, |t| found.push((&text[t.start..t.end], t.position, t.whole)));
        let wholes: Vec<(&str, u32)> = found.iter().filter(|t| t.2).map(|t| (t.0, t.1)).collect();
        assert_eq!(
            wholes,
            [
                ("context.Context", 2),
                ("snake_case", 4),
                ("std::io::Read", 6),
                ("useEffect", 9),
                ("XMLHttpRequest", 12),
                ("v1.2", 16),
            ]
        );
        let words: Vec<&str> = found.iter().filter(|t| !t.2).map(|t| t.0).collect();
        assert_eq!(
            words,
            [
                "Use", "ctx", "context", "Context", "snake", "case", "std", "io", "Read", "use", "Effect", "and",
                "XML", "Http", "Request", "OAuth", "v1", "2", "ends", "Next"
            ]
        );
        assert_eq!(positions, 20, "an identifier whole takes no position of its own");
        let mut plural = Vec::new();
        tokens("APIs and URLs, SLOs", |t| plural.push(t.whole));
        assert_eq!(plural, [false; 4], "an acronym's plural is one word");
        // "ends. Next": a sentence's full stop followed by a space joins nothing.
        assert!(!wholes.iter().any(|w| w.0.contains("ends")));
        let text = "call tokio::task::spawn_blocking(f)";
        let mut wholes = Vec::new();
        tokens(text, |t| {
            if t.whole {
                wholes.push((&text[t.start..t.end], t.position));
            }
        });
        assert_eq!(wholes, [("tokio::task::spawn_blocking", 1), ("spawn_blocking", 3)]);
    }
}
