//! Splitting Markdown into sections at its headings, with stable ids.

use std::collections::HashMap;

/// A section: a heading and everything up to the next heading of any level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// A stable id: the heading's slug, made unique within the document (`-2`, `-3` …).
    pub id: String,
    /// The heading text (empty for text before the first heading).
    pub heading: String,
    /// 1 for `#`, 2 for `##` … (0 for text before the first heading).
    pub level: u8,
    /// Where it starts in the body, in bytes (at its heading line).
    pub start: usize,
    /// Where it ends (the next section's start, or the body's end).
    pub end: usize,
    /// Words and phrases a search finds it by besides its text, from its document's
    /// front matter (`sections: {<id>: {keywords: […]}}`).
    pub keywords: Vec<String>,
}

/// Splits `body` into sections. Headings inside fenced code blocks do not count.
pub fn split(body: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut fence: Option<&str> = None;
    let mut offset = 0;
    let mut current =
        Section { id: String::new(), heading: String::new(), level: 0, start: 0, end: 0, keywords: Vec::new() };
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
        } else if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
        } else if let Some((level, heading)) = heading(line) {
            current.end = offset;
            if current.level == 0 && current.end > current.start {
                // The text before the first heading is `preamble`: no heading takes it.
                seen.insert("preamble".into(), 1);
            }
            if current.end > current.start || current.level > 0 {
                sections.push(current);
            }
            let slug = slug(&heading);
            let n = seen.entry(slug.clone()).or_insert(0);
            *n += 1;
            let id = if *n == 1 { slug } else { format!("{slug}-{n}") };
            current = Section { id, heading, level, start: offset, end: 0, keywords: Vec::new() };
        }
        offset += line.len();
    }
    current.end = body.len();
    if current.end > current.start || current.level > 0 {
        sections.push(current);
    }
    if let Some(first) = sections.first_mut().filter(|s| s.level == 0) {
        first.id = "preamble".into();
    }
    sections
}

/// An ATX heading (`## Title`), as (level, text).
fn heading(line: &str) -> Option<(u8, String)> {
    if line.starts_with("    ") {
        return None;
    }
    let line = line.trim_start_matches(' ');
    let level = line.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if !(rest.starts_with(' ') || rest.starts_with('\t') || rest.trim().is_empty()) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim_end().to_owned();
    Some((u8::try_from(level).unwrap_or(6), text))
}

/// A URL-friendly id: lowercase letters and digits, words joined by `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() { "section".into() } else { trimmed.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_headings_outside_code() {
        let body = "intro\n# Title\ntext\n## Errors & panics\n```\n# not a heading\n```\n## Errors & Panics\nmore\n";
        let sections = split(body);
        let ids: Vec<_> = sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["preamble", "title", "errors-panics", "errors-panics-2"]);
        assert_eq!(sections[2].level, 2);
        assert!(body[sections[2].start..sections[2].end].contains("# not a heading"));
        assert_eq!(sections.last().unwrap().end, body.len());
        let covered: usize = sections.iter().map(|s| s.end - s.start).sum();
        assert_eq!(covered, body.len());
    }

    #[test]
    fn ids_are_unique_even_against_the_preamble() {
        let ids = |body: &str| split(body).into_iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids("intro\n## Preamble\n## Preamble\n"), ["preamble", "preamble-2", "preamble-3"]);
        assert_eq!(ids("## Preamble\n"), ["preamble"], "no text before it: the heading keeps its id");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Rust error handling"), "rust-error-handling");
        assert_eq!(slug("  Use `?` — not unwrap()! "), "use-not-unwrap");
        assert_eq!(slug("***"), "section");
        assert_eq!(heading("#hashtag"), None);
        assert_eq!(heading("### Three ###\n"), Some((3, "Three".into())));
    }
}
