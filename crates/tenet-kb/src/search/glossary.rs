//! The glossary: names that mean the same thing (an acronym and its expansion, two
//! spellings of one word), so that a search for one finds text that says another.
//!
//! Each term's names are matched as phrases, word by word after stemming, in the text
//! as it is indexed and in the query. Where the text says a name, the index also holds
//! the term there; a query word that is part of a name also stands for the term. So
//! "prevent CSRF" finds "cross-site request forgery", and "dependency injection"
//! finds "DI".
//!
//! The built-in glossary is `glossary.txt`; a team adds its own terms with `aliases` in
//! a document's front matter.

/// The built-in glossary: one term per line, its names separated by `|`, `#` comments.
const BUILTIN: &str = include_str!("glossary.txt");

/// The built-in glossary's terms, each as its names.
pub(super) fn builtin() -> impl Iterator<Item = Vec<&'static str>> {
    BUILTIN
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split('|').map(str::trim).filter(|name| !name.is_empty()).collect::<Vec<_>>())
        .filter(|names| names.len() > 1)
}

/// A phrase of one term: its words' term ids after the first, and the term's own id.
pub(super) type Form = (Box<[u32]>, u32);

/// Calls `f(start, length, concept)` for every name of `forms` said in `words` (term
/// ids, `None` for a word the index does not know, with their positions, in order):
/// `start` is the index in `words` of the name's first word, `length` how many words
/// it has. A name's words must stand at consecutive positions.
pub(super) fn matches(
    forms: &std::collections::HashMap<u32, Vec<Form>>,
    words: &[(Option<u32>, u32)],
    mut f: impl FnMut(usize, usize, u32),
) {
    for (i, &(first, at)) in words.iter().enumerate() {
        let Some(list) = first.and_then(|t| forms.get(&t)) else { continue };
        for (rest, concept) in list {
            let said = rest.iter().enumerate().all(|(j, &t)| {
                words.get(i + 1 + j).is_some_and(|&(term, position)| {
                    term == Some(t) && u64::from(position) == u64::from(at) + 1 + j as u64
                })
            });
            if said {
                f(i, rest.len() + 1, *concept);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_glossary_reads_as_terms_of_two_names_or_more() {
        let terms: Vec<Vec<&str>> = builtin().collect();
        assert!(terms.len() > 80, "{}", terms.len());
        assert!(terms.contains(&vec!["CSRF", "XSRF", "cross-site request forgery"]));
        assert!(terms.iter().all(|t| t.len() > 1 && t.iter().all(|n| !n.is_empty() && !n.contains('|'))));
    }

    #[test]
    fn a_name_matches_only_at_consecutive_positions() {
        let mut forms = std::collections::HashMap::new();
        forms.insert(1, vec![(vec![2, 3].into_boxed_slice(), 9)]);
        let mut found = Vec::new();
        matches(
            &forms,
            &[(Some(1), 0), (Some(2), 1), (Some(3), 2), (Some(1), 5), (Some(2), 6), (Some(3), 8)],
            |i, n, c| {
                found.push((i, n, c));
            },
        );
        assert_eq!(found, [(0, 3, 9)], "the second is broken by a gap");
    }
}
