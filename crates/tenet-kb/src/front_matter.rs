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
    /// Words and phrases a search finds the document by, besides its text (`[ORM,
    /// "object-relational mapping"]`). Read by [`crate::vocabulary`], which warns about
    /// a value of another shape rather than refuse the whole front matter.
    #[serde(default)]
    pub keywords: Option<serde_json::Value>,
    /// The team's vocabulary: each term with the other names it goes by (`PR: [pull
    /// request, merge request]`). A search for any of them finds text that says
    /// another, in every document of the knowledge base, as the built-in glossary does.
    #[serde(default)]
    pub aliases: Option<serde_json::Value>,
    /// Per section, by its id: what a search finds that section by (`{<id>: {keywords:
    /// […]}}`).
    #[serde(default)]
    pub sections: Option<serde_json::Value>,
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

/// Why a front matter block could not be read, with where in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatterError {
    /// The line of the file (1-based) the YAML parser stopped at, when it says. The
    /// block is taken to start on line 2, right after the opening `---`, as [`split`]
    /// returns it.
    pub line: Option<usize>,
    /// The column (1-based) on that line, when known.
    pub column: Option<usize>,
    /// What is wrong, without the position.
    pub message: String,
}

impl std::fmt::Display for FrontMatterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: {}", self.message),
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for FrontMatterError {}

impl FrontMatterError {
    /// What is wrong as a finding or warning at its line says it: `invalid front
    /// matter: <message> (column N)`.
    pub fn finding(&self) -> String {
        match self.column {
            Some(column) => format!("invalid front matter: {} (column {column})", self.message),
            None => format!("invalid front matter: {}", self.message),
        }
    }
}

/// The file line of a front matter block's first line: the one after the opening `---`.
const BLOCK_START_LINE: usize = 2;

/// Parses a front matter block.
///
/// # Errors
/// What the YAML parser found wrong, with the line counted from the top of the file
/// (not of the block).
pub fn parse(block: &str) -> Result<FrontMatter, FrontMatterError> {
    if block.trim().is_empty() {
        return Ok(FrontMatter::default());
    }
    serde_saphyr::from_str::<FrontMatter>(block).map_err(|e| {
        let location = e.location().filter(|l| l.line() > 0);
        let (line, column) = match location {
            Some(l) => (usize::try_from(l.line()).ok(), usize::try_from(l.column()).ok().filter(|&c| c > 0)),
            None => (None, None),
        };
        let text = e.without_snippet().to_string();
        let first = text.lines().next().unwrap_or("invalid YAML");
        // The parser appends the position (" at line 1, column 8"), counted in the block.
        let message = location
            .and_then(|l| first.strip_suffix(&format!(" at line {}, column {}", l.line(), l.column())))
            .unwrap_or(first);
        // Its advice names a parser option, which means nothing to an author.
        let message = message.split(", set DuplicateKeyPolicy").next().unwrap_or(message);
        FrontMatterError { line: line.map(|l| l + BLOCK_START_LINE - 1), column, message: message.trim().to_owned() }
    })
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
    fn errors_count_lines_from_the_top_of_the_file() {
        // Block line 3 is file line 4: the opening `---` is line 1.
        let e = parse("title: T\ndescription: d\ntags: 5\n").unwrap_err();
        assert_eq!((e.line, e.column, e.message.as_str()), (Some(4), Some(7), "expected sequence start"));
        assert_eq!(e.to_string(), "line 4, column 7: expected sequence start");
        let e = parse("title: T\ntitle: U\n").unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (Some(3), "duplicate mapping key: title"));
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
