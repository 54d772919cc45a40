//! Snippets: the part of a section a hit quotes, its matches in bold.

use std::collections::HashSet;

use super::text::{lowercase, words};

/// A snippet is looked for around at most this many matches of each run of prose.
const MAX_SNIPPET_ANCHORS: usize = 32;

/// The longest snippet, in characters.
const SNIPPET_CHARS: usize = 240;

/// A snippet of a section's text (its heading line removed) around the query's words,
/// as Markdown: the matching words in bold, and only they (the text's own `**` markers
/// are dropped, so a bold lead-in is not mistaken for a match), whitespace collapsed.
/// Taken from the prose, not from fenced code blocks, within one run of prose so that
/// it quotes the text as written; the section's opening words when no word matches
/// (its code, when it has no prose).
pub(super) fn snippet(text: &str, says: impl Fn(&str) -> bool) -> String {
    let mut best: Option<Window<'_>> = None;
    let mut best_score = (0, 0);
    for run in prose_runs(text) {
        // Each word with its span in bytes and where it starts and ends in letters.
        let mut letters = 0;
        let mut last = 0;
        let words: Vec<(usize, usize, usize, usize)> = words(run)
            .map(|(s, e)| {
                letters += run[last..s].chars().count();
                let from = letters;
                letters += run[s..e].chars().count();
                last = e;
                (s, e, from, letters)
            })
            .collect();
        let matched: Vec<bool> = words.iter().map(|&(s, e, ..)| says(&lowercase(&run[s..e]))).collect();
        let anchors = (0..words.len()).filter(|&i| matched[i]).take(MAX_SNIPPET_ANCHORS);
        // The window's last word only moves forward as its first one does.
        let mut last_word = 0;
        for first in anchors {
            // Start at the run's beginning when the first match is close to it.
            let (start, start_letter) = if words[first].2 <= 60 { (0, 0) } else { (words[first].0, words[first].2) };
            last_word = last_word.max(first);
            while last_word + 1 < words.len() && words[last_word + 1].3 - start_letter <= SNIPPET_CHARS {
                last_word += 1;
            }
            let mut end = words[last_word].1;
            // The punctuation that closes the last word goes with it (a few letters).
            end += run[end..]
                .char_indices()
                .take(8)
                .find(|(_, c)| c.is_whitespace() || c.is_alphanumeric())
                .map_or_else(|| run[end..].chars().take(8).map(char::len_utf8).sum(), |(i, _)| i);
            let inside: Vec<(usize, usize)> =
                (first..=last_word).filter(|&i| matched[i]).map(|i| (words[i].0, words[i].1)).collect();
            let distinct: HashSet<String> = inside.iter().map(|&(s, e)| lowercase(&run[s..e])).collect();
            let score = (distinct.len(), inside.len());
            if score > best_score {
                best_score = score;
                best = Some(Window { run, start, end, matches: inside });
            }
        }
    }
    match best {
        Some(window) => window.render(),
        // No word as written: the opening words, without the text's own bold markers.
        None => prose_runs(text).next().map_or_else(|| opening(text), opening).replace("**", ""),
    }
}

/// The part of a run of prose a snippet quotes, with the matches in it.
struct Window<'a> {
    run: &'a str,
    start: usize,
    end: usize,
    matches: Vec<(usize, usize)>,
}

impl Window<'_> {
    /// The quote: matches in bold, the text's own bold markers dropped, an ellipsis
    /// where the run goes on, whitespace collapsed.
    fn render(&self) -> String {
        let run = self.run;
        let mut out = String::new();
        if self.start > 0 {
            out.push('…');
        }
        let mut last = self.start;
        for &(s, e) in &self.matches {
            out.push_str(&run[last..s].replace("**", ""));
            out.push_str("**");
            out.push_str(&run[s..e]);
            out.push_str("**");
            last = e;
        }
        out.push_str(&run[last..self.end].replace("**", ""));
        if self.end < run.trim_end().len() {
            out.push('…');
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// The runs of prose in a section's text: the text between code blocks (fence lines
/// and the code itself left out).
fn prose_runs(text: &str) -> impl Iterator<Item = &str> {
    let mut runs = Vec::new();
    let mut fence: Option<&str> = None;
    let mut start = Some(0);
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
                start = Some(offset + line.len());
            }
        } else if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            if let Some(s) = start.take() {
                runs.push(&text[s..offset]);
            }
        }
        offset += line.len();
    }
    if let (Some(s), None) = (start, fence) {
        runs.push(&text[s..]);
    }
    runs.into_iter().filter(|r| !r.trim().is_empty())
}

/// The first words of a section, for a hit whose text has none of the query's words as
/// written (they were in its heading or document, or were misspelt): at most
/// [`SNIPPET_CHARS`] characters and an ellipsis, cut after a word, or inside the first
/// word when that alone is longer (a URL, or text written without spaces).
fn opening(text: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for word in text.split_whitespace() {
        let separator = usize::from(chars > 0);
        let length = word.chars().count();
        if chars + separator + length > SNIPPET_CHARS {
            if chars == 0 {
                out.extend(word.chars().take(SNIPPET_CHARS));
            }
            out.push('…');
            break;
        }
        if separator > 0 {
            out.push(' ');
        }
        out.push_str(word);
        chars += separator + length;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_bolds_only_matches_and_skips_code() {
        let text = "**SQL**: always use placeholders for queries.\n\n```go\ndb.Query(\"SELECT \" + id) // placeholders\n```\n\nNever concatenate.\n";
        let got = snippet(text, |word| word.starts_with("placeholder"));
        assert_eq!(got, "SQL: always use **placeholders** for queries.");
        assert_eq!(
            snippet(text, |word| word == "zebra"),
            "SQL: always use placeholders for queries.",
            "the opening, its own bold markers dropped"
        );
        let runs: Vec<&str> = prose_runs(text).collect();
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert!(runs.iter().all(|r| !r.contains("db.Query")), "{runs:?}");
    }

    #[test]
    fn an_opening_is_cut_at_a_word_within_the_snippet_length() {
        let long = "word ".repeat(200);
        let opening = opening(&long);
        assert!(opening.len() <= SNIPPET_CHARS + '…'.len_utf8() && opening.ends_with('…'), "{opening}");
        assert_eq!(super::opening("  short\n text "), "short text");
    }

    #[test]
    fn an_opening_counts_characters_and_cuts_a_long_first_word() {
        // CJK text has no spaces and three bytes a character: 100 characters fit.
        let cjk = "錯誤處理".repeat(25);
        assert_eq!(opening(&cjk), cjk, "100 characters are within the snippet length");
        let words = format!("{} {}", "錯".repeat(100), "誤".repeat(139));
        assert_eq!(opening(&words), words, "240 characters fit, however many bytes");
        let long = "錯誤處理".repeat(100);
        let cut = opening(&long);
        assert_eq!(cut.chars().count(), SNIPPET_CHARS + 1, "{cut}");
        assert!(cut.ends_with('…') && long.starts_with(cut.trim_end_matches('…')), "{cut}");
        let url = format!("https://example.com/{} and then words", "a".repeat(400));
        let cut = opening(&url);
        assert!(cut.starts_with("https://example.com/aaa") && cut.ends_with('…'), "{cut}");
        assert_eq!(cut.chars().count(), SNIPPET_CHARS + 1, "{cut}");
        assert_eq!(opening(&format!("short {}", "é".repeat(300))), "short…", "a later long word is left out");
    }
}
