//! English, as search reads it: the words that say nothing of what a text is about.

/// English function words: they occur everywhere and say nothing of what a section is
/// about. Negations are not among them ("never log secrets").
pub(crate) fn is_function_word(word: &str) -> bool {
    const WORDS: &[&str] = &[
        "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "being", "but", "by", "can", "could",
        "did", "do", "does", "doing", "for", "from", "had", "has", "have", "he", "her", "here", "his", "how", "i",
        "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "she", "so", "some", "than",
        "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "us", "was", "we",
        "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with", "would", "you", "your",
    ];
    WORDS.binary_search(&word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_words_are_known_and_negations_are_not_among_them() {
        assert!(is_function_word("how") && is_function_word("the") && !is_function_word("never"));
        assert!(!is_function_word("not") && !is_function_word("no"));
    }
}
