//! Server instructions generated from the corpus, kept under 2 KB.

use tenet_kb::KnowledgeBase;

/// The most bytes the instructions may take (clients cap them near 2 KB).
pub const MAX_BYTES: usize = 2048;

const GUIDANCE: &str = "Before writing, changing or reviewing code, call get_stdlib(language, domain) for each domain the \
work touches (e.g. testing when writing tests, security when handling input, secrets or auth) and follow it; the \
language-neutral base comes first, then the language's own rules, which win where they differ.\n\
Use search_stdlib(query) for a specific question, and list_stdlib to see what exists. Results are paged by tokens: \
pass next_cursor back as cursor, or use format=\"outline\" to see the sections first and get_stdlib(..., section=id) \
for one of them; a search hit's uri#section reads as a resource too.\n\
Each answer says when the standard was last updated and where it came from.";

/// What exists and when to call which tool, in at most [`MAX_BYTES`]: the guidance
/// always fits; long lists of languages or domains are shortened to fit.
pub fn generate(base: &KnowledgeBase) -> String {
    let languages: Vec<String> = base.languages().into_iter().filter(|l| l != "all").collect();
    let domains = base.domains();
    let fixed = "Tenet serves this team's engineering standards. Languages: . Domains: .\n".len() + GUIDANCE.len();
    let room = MAX_BYTES.saturating_sub(fixed + 1);
    let languages = fit(&languages, room * 2 / 3);
    let domains = fit(&domains, room - languages.len());
    format!("Tenet serves this team's engineering standards. Languages: {languages}. Domains: {domains}.\n{GUIDANCE}")
}

/// The names joined by ", ", cut to at most `limit` bytes with a count of the rest.
fn fit(names: &[String], limit: usize) -> String {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        let rest = names.len() - i;
        let more = format!(" and {rest} more (see list_stdlib)");
        let next = if out.is_empty() { name.len() } else { name.len() + 2 };
        // Keep room for the "and N more" note unless this is the last name.
        let needed = out.len() + next + if rest > 1 { more.len() } else { 0 };
        if needed > limit {
            out.push_str(&more);
            return out;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let names: Vec<String> = (0..100).map(|i| format!("language-number-{i}")).collect();
        let text = fit(&names, 200);
        assert!(text.len() <= 200, "{}", text.len());
        assert!(text.ends_with("more (see list_stdlib)"), "{text}");
        assert_eq!(fit(&names[..2], 200), "language-number-0, language-number-1");
    }
}
