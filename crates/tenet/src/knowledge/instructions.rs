//! Server instructions generated from the corpus, kept under 2 KB.

use tenet_kb::KnowledgeBase;

/// The most bytes the instructions may take (clients cap them near 2 KB).
pub const MAX_BYTES: usize = 2048;

/// What exists and when to call which tool.
pub fn generate(base: &KnowledgeBase) -> String {
    let languages: Vec<String> = base.languages().into_iter().filter(|l| l != "all").collect();
    let domains = base.domains();
    let mut text = format!(
        "Tenet serves this team's engineering standards. Languages: {}. Domains: {}.\n\
         Before writing, changing or reviewing code, call get_stdlib(language, domain) for each domain the work touches \
         (e.g. testing when writing tests, security when handling input, secrets or auth) and follow it; the language-neutral \
         base comes first, then the language's own rules, which win where they differ.\n\
         Use search_stdlib(query) for a specific question, and list_stdlib to see what exists. Results are paged by tokens: \
         pass next_cursor back as cursor, or use format=\"outline\" to see the sections first.\n\
         Each answer says when the standard was last updated and where it came from.",
        languages.join(", "),
        domains.join(", ")
    );
    if text.len() > MAX_BYTES {
        let mut end = MAX_BYTES - 1;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}
