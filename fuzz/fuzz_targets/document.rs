//! A standards document: YAML front matter, then Markdown cut into sections. Any
//! text either loads (with warnings) or is refused with a warning; a loaded document's
//! sections lie inside its text, in order, and each is found again by its id.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tenet_kb::{Document, Source};

#[derive(Debug, Arbitrary)]
struct Input {
    /// The file's path in its root (it supplies language and domain when the front
    /// matter does not).
    path: String,
    text: String,
}

fuzz_target!(|input: Input| {
    let _ = tenet_kb::front_matter::split(&input.text);
    let mut warnings = Vec::new();
    let source = Source { root: "fuzz".into(), path: input.path.clone() };
    let Some(document) = Document::parse(&input.text, source, &mut warnings) else {
        assert!(!warnings.is_empty(), "a document was refused without a warning");
        return;
    };
    let _ = document.uri();
    let body = &document.body;
    let mut at = 0;
    for section in &document.sections {
        assert_eq!(section.start, at, "sections leave a gap or overlap: {:?}", document.sections);
        assert!(section.start <= section.end && section.end <= body.len(), "section {section:?} outside the body");
        assert!(body.is_char_boundary(section.start) && body.is_char_boundary(section.end), "{section:?} cuts a char");
        at = section.end;
    }
    for (index, section) in document.sections.iter().enumerate() {
        let _ = document.section_text(section);
        let _ = document.section_uri(&section.id);
        let found = document.section_index(&section.id).expect("a section is found by its id");
        assert_eq!(document.sections[found].id, section.id);
        let subtree = document.subtree(index);
        assert!(subtree.start == index && subtree.end <= document.sections.len(), "subtree {subtree:?} of {index}");
    }
});
