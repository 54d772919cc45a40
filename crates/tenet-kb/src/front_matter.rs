//! YAML front matter: splitting it from the body, reading it, checking it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The front matter fields Tenet knows; any others are kept in `extra`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrontMatter {
    /// The document's title.
    pub title: Option<String>,
    /// One sentence on what it covers.
    pub description: Option<String>,
    /// The language it is for, or `all`.
    pub language: Option<String>,
    /// Its domain: architecture, testing, security, performance, patterns, or another.
    pub domain: Option<String>,
    /// Its topic, when a key holds several documents.
    pub topic: Option<String>,
    /// Keywords.
    #[serde(default)]
    pub tags: Vec<String>,
    /// When it was written (RFC 3339).
    pub created_at: Option<String>,
    /// When it last changed (RFC 3339).
    pub updated_at: Option<String>,
    /// Any other fields.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Splits `text` into its front matter block (without the `---` fences) and the body.
/// Returns `None` for the block when the text does not start with a `---` line.
pub fn split(text: &str) -> (Option<&str>, &str) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = text.strip_prefix("---").filter(|r| r.starts_with('\n') || r.starts_with("\r\n")) else {
        return (None, text);
    };
    let rest = rest.trim_start_matches('\r').strip_prefix('\n').unwrap_or(rest);
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if matches!(line.trim_end(), "---" | "...") {
            let body = &rest[offset + line.len()..];
            return (Some(&rest[..offset]), body);
        }
        offset += line.len();
    }
    (None, text)
}

/// Parses a front matter block.
///
/// # Errors
/// A message naming the problem (and, from the YAML parser, its line).
pub fn parse(block: &str) -> Result<FrontMatter, String> {
    if block.trim().is_empty() {
        return Ok(FrontMatter::default());
    }
    serde_saphyr::from_str::<FrontMatter>(block)
        .map_err(|e| e.to_string().lines().next().unwrap_or("invalid YAML").to_owned())
}

/// Whether `s` looks like an RFC 3339 timestamp (`2026-03-02T10:00:00Z`, with optional
/// fraction and offset) or a plain date (`2026-03-02`).
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let date = b.len() >= 10 && digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10);
    if !date {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    let time = b.len() >= 19
        && matches!(b[10], b'T' | b't' | b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !time {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    matches!(rest, "Z" | "z")
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':'
            && rest[1..3].bytes().chain(rest[4..6].bytes()).all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_front_matter_from_the_body() {
        let (fm, body) = split("---\ntitle: A\n---\n# A\ntext\n");
        assert_eq!(fm, Some("title: A\n"));
        assert_eq!(body, "# A\ntext\n");
        let (fm, body) = split("# No front matter\n");
        assert_eq!(fm, None);
        assert_eq!(body, "# No front matter\n");
        let (fm, _) = split("---\r\ntitle: A\r\n---\r\nbody");
        assert_eq!(fm, Some("title: A\r\n"));
        assert_eq!(split("---\nnever closed\n").0, None);
    }

    #[test]
    fn parses_known_and_extra_fields() {
        let fm = parse("title: T\ntags: [a, b]\nupdatedAt: '2026-10-14T08:30:00Z'\nowner: team-x\n").unwrap();
        assert_eq!(fm.title.as_deref(), Some("T"));
        assert_eq!(fm.tags, ["a", "b"]);
        assert_eq!(fm.updated_at.as_deref(), Some("2026-10-14T08:30:00Z"));
        assert_eq!(fm.extra["owner"], "team-x");
        assert!(parse("title: [unclosed").is_err());
        assert!(parse("tags: 5").is_err());
    }

    #[test]
    fn timestamps() {
        for ok in ["2026-03-02", "2026-03-02T10:00:00Z", "2026-03-02T10:00:00.123Z", "2026-03-02T10:00:00+02:00"] {
            assert!(is_timestamp(ok), "{ok}");
        }
        for bad in ["yesterday", "2026-3-2", "2026-03-02T10:00", "2026-03-02T10:00:00", "2026-03-02T10:00:00.Z"] {
            assert!(!is_timestamp(bad), "{bad}");
        }
    }
}
