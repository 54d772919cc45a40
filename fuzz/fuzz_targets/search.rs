//! Search over the built-in corpus with any query and filters: it never panics, returns
//! at most the limit, in score order, each hit a section of its document, its snippet
//! quoting text of that section (matches in bold).
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tenet_kb::{KnowledgeBase, Query, Root};

#[derive(Debug, Arbitrary)]
struct Input {
    text: String,
    language: Option<String>,
    domain: Option<String>,
    tags: Vec<String>,
    limit: u8,
}

fn base() -> &'static KnowledgeBase {
    static BASE: OnceLock<KnowledgeBase> = OnceLock::new();
    BASE.get_or_init(|| {
        let base = KnowledgeBase::load(&[Root::Builtin]).expect("the built-in corpus loads");
        base.build_index().expect("the built-in corpus is indexed");
        base
    })
}

fuzz_target!(|input: Input| {
    let limit = usize::from(input.limit);
    let query = Query { text: input.text, language: input.language, domain: input.domain, tags: input.tags, limit };
    let hits = base().search(&query).expect("a search on a built index answers");
    assert!(hits.len() <= limit.clamp(1, 100), "{} hits for a limit of {limit}", hits.len());
    for pair in hits.windows(2) {
        assert!(pair[0].score >= pair[1].score - 1e-5, "hits out of order: {} then {}", pair[0].score, pair[1].score);
    }
    let plain = |s: &str| s.replace("**", "").replace('…', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    for hit in &hits {
        let section = &hit.document.sections[hit.section];
        let text = plain(hit.document.section_text(section));
        assert!(text.contains(&plain(&hit.snippet)), "the snippet {:?} is not in {}", hit.snippet, section.id);
    }
});
