//! Scope strings: splitting, union and the `offline_access` rule.

/// The scopes of a space-separated scope string, in order, without duplicates.
/// Runs of spaces, tabs and newlines count as one separator.
pub fn split(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split_ascii_whitespace() {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

/// `a` followed by every scope of `b` not already in `a`.
pub fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for s in b {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Joins scopes with single spaces; `None` when there are none (the parameter is
/// then omitted).
pub fn join(scopes: &[String]) -> Option<String> {
    (!scopes.is_empty()).then(|| scopes.join(" "))
}
