//! The Markdown Tenet hands out: documents joined into one text, sections with their
//! subsections, and outlines whose section ids lead somewhere.

use std::collections::HashMap;
use std::sync::Arc;

use tenet_kb::{Document, SectionError};

/// The text of `docs` as pagination blocks, one per section, with a blank line between
/// one document and the next (so a heading that opens a document stays a heading): the
/// line breaks it takes are a block of their own, so every block is borrowed.
pub fn blocks<'a>(docs: &[&'a Arc<Document>]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (n, doc) in docs.iter().enumerate() {
        out.extend(doc.sections.iter().map(|s| doc.section_text(s)));
        if n + 1 < docs.len()
            && let Some(last) = doc.sections.last()
        {
            let separator = separator(doc.section_text(last));
            if !separator.is_empty() {
                out.push(separator);
            }
        }
    }
    out
}

/// `docs` as one Markdown text, a blank line between documents.
pub fn joined(docs: &[&Arc<Document>]) -> String {
    blocks(docs).concat()
}

/// What `text` needs after it to end with a blank line.
fn separator(text: &str) -> &'static str {
    if text.is_empty() || text.ends_with("\n\n") {
        ""
    } else if text.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    }
}

/// The text of section `index` of `doc` with its subsections.
pub fn subtree_text(doc: &Document, index: usize) -> &str {
    let range = doc.subtree(index);
    match (doc.sections.get(range.start), range.end.checked_sub(1).and_then(|last| doc.sections.get(last))) {
        (Some(first), Some(last)) => &doc.body[first.start..last.end],
        _ => "",
    }
}

/// The outline of some of `docs`' sections (each with the position of its document in
/// `docs` and its own position): a line per document with its title and URI, and one
/// per heading with the id that asks for it. The id is the bare section id when no
/// other document of `docs` has it, else the section's URI, so every id shown leads to
/// exactly one section.
pub fn outline(docs: &[&Arc<Document>], sections: &[(usize, usize)]) -> String {
    // How many of `docs` have each id (ids are unique within a document).
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for section in docs.iter().flat_map(|d| &d.sections) {
        *holders.entry(section.id.as_str()).or_default() += 1;
    }
    let mut out = String::new();
    let mut current = None;
    for &(d, s) in sections {
        let doc = docs[d];
        if current != Some(d) {
            if current.is_some() {
                out.push('\n');
            }
            out.push_str(&format!("{} <{}>\n", doc.title, doc.uri()));
            current = Some(d);
        }
        let section = &doc.sections[s];
        if section.level == 0 {
            continue;
        }
        let shared = holders.get(section.id.as_str()).is_some_and(|&n| n > 1);
        let id = if shared { doc.section_uri(&section.id) } else { format!("#{}", section.id) };
        let indent = "  ".repeat(usize::from(section.level.saturating_sub(1)));
        out.push_str(&format!("{indent}- {} [{id}]\n", section.heading));
    }
    out
}

/// The ids of `docs`' headed sections that start with `typed`, for completions.
pub fn section_ids(docs: &[&Arc<Document>], typed: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    docs.iter()
        .flat_map(|d| d.sections.iter().filter(|s| s.level > 0).map(|s| s.id.clone()))
        .filter(|id| id.starts_with(typed) && seen.insert(id.clone()))
        .collect()
}

/// Where an MCP client finds section ids: the end of [`section_error_message`]'s
/// message (which `tenet get` replaces with its own commands).
pub const SECTION_IDS_HINT: &str =
    "get_stdlib with format \"outline\" lists the section ids; search_stdlib hits carry them too.";

/// What to say when a section id leads nowhere: the error, and where to find ids.
pub fn section_error_message(error: &SectionError) -> String {
    format!("{error}. {SECTION_IDS_HINT}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use tenet_kb::Source;

    fn doc(path: &str, text: &str) -> Arc<Document> {
        let source = Source { root: "t".into(), path: path.into() };
        Arc::new(Document::parse(text, source, &mut Vec::new()).unwrap())
    }

    #[test]
    fn documents_are_joined_with_a_blank_line_whatever_their_endings() {
        let a = doc("all/testing.md", "# Base\n\nlast line");
        let b = doc("go/testing.md", "# Go\n\ngo line\n");
        let c = doc("go/testing/fuzz.md", "# Fuzz\n\nfuzz line\n\n");
        assert_eq!(joined(&[&a, &b, &c]), "# Base\n\nlast line\n\n# Go\n\ngo line\n\n# Fuzz\n\nfuzz line\n\n");
        assert_eq!(joined(&[&b]), "# Go\n\ngo line\n", "a single document is left as it is");
    }

    #[test]
    fn a_subtree_holds_the_section_and_its_subsections() {
        let d = doc("go/testing.md", "# T\n\n## A\na\n### A1\nx\n## B\nb\n");
        assert_eq!(subtree_text(&d, 1), "## A\na\n### A1\nx\n");
        assert_eq!(subtree_text(&d, 3), "## B\nb\n");
        assert_eq!(subtree_text(&d, 7), "");
    }

    #[test]
    fn an_outline_qualifies_ids_that_two_documents_share() {
        let a = doc("all/testing.md", "# Base\n\n## Overview\n\n## Naming\n");
        let b = doc("go/testing.md", "# Go\n\n## Overview\n");
        let docs = [&a, &b];
        let all: Vec<(usize, usize)> =
            docs.iter().enumerate().flat_map(|(d, doc)| (0..doc.sections.len()).map(move |s| (d, s))).collect();
        assert_eq!(
            outline(&docs, &all),
            "Base <stdlib://all/testing>\n- Base [#base]\n  - Overview [stdlib://all/testing#overview]\n  - Naming [#naming]\n\nGo <stdlib://go/testing>\n- Go [#go]\n  - Overview [stdlib://go/testing#overview]\n"
        );
        assert_eq!(section_ids(&docs, "o"), ["overview"]);
    }
}
