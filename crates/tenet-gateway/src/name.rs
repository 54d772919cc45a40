//! Names: upstream namespaces, the tool names the gateway advertises (always valid
//! under the spec's rules: 1 to 128 characters of `A-Z a-z 0-9 _ - .`), and the
//! `*` patterns of tool filters.

/// The longest tool name the spec allows.
pub const MAX_TOOL_NAME: usize = 128;

/// Whether `name` may name an upstream: 1 to 64 characters of `A-Z a-z 0-9 _ -`.
pub fn is_namespace(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `name` is a valid tool name under the spec.
pub fn is_tool_name(name: &str) -> bool {
    (1..=MAX_TOOL_NAME).contains(&name.len()) && name.bytes().all(allowed)
}

fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// The name an upstream tool is advertised under: `namespace`, `separator`, then the
/// tool's name with every character the spec forbids replaced by `_`; no namespace in
/// a prefix-less gateway. `None` when the result would be longer than the spec allows
/// or empty (the tool is left out).
pub fn advertised(namespace: Option<&str>, separator: &str, tool: &str) -> Option<String> {
    let mut name = String::with_capacity(namespace.map_or(0, |n| n.len() + separator.len()) + tool.len());
    if let Some(namespace) = namespace {
        name.push_str(namespace);
        name.push_str(separator);
    }
    name.extend(tool.chars().map(|c| if c.is_ascii() && allowed(c as u8) { c } else { '_' }));
    is_tool_name(&name).then_some(name)
}

/// A tool filter's pattern: literal characters, and `*` for any run of them.
#[derive(Debug, Clone, Copy)]
pub struct Glob<'a>(pub &'a str);

impl Glob<'_> {
    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let mut parts = self.0.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = text.strip_prefix(first) else { return false };
        let parts: Vec<&str> = parts.collect();
        let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
        for part in middle {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        assert!(Glob("*").matches(""));
        assert!(Glob("*").matches("anything"));
        assert!(Glob("read_*").matches("read_file"));
        assert!(!Glob("read_*").matches("unread_file"));
        assert!(Glob("*_file").matches("read_file"));
        assert!(Glob("a*b*c").matches("a-b-b-c"));
        assert!(!Glob("a*b*c").matches("a-c"));
        assert!(Glob("exact").matches("exact"));
        assert!(!Glob("exact").matches("exactly"));
        assert!(!Glob("ab*ba").matches("aba"), "the prefix and suffix may not overlap");
    }

    #[test]
    fn advertised_names_are_always_valid() {
        assert_eq!(advertised(Some("gh"), "__", "create_issue").as_deref(), Some("gh__create_issue"));
        assert_eq!(advertised(None, "__", "echo").as_deref(), Some("echo"));
        assert_eq!(advertised(Some("x"), "__", "has space/and:colon").as_deref(), Some("x__has_space_and_colon"));
        assert_eq!(advertised(Some("x"), "__", "naïve").as_deref(), Some("x__na_ve"));
        assert_eq!(advertised(Some("x"), "__", &"t".repeat(126)), None, "too long once namespaced");
        assert_eq!(advertised(None, "__", ""), None);
        for name in ["gh__create_issue", "a.b-c_D9"] {
            assert!(is_tool_name(name));
        }
        assert!(!is_tool_name("a b"));
        assert!(!is_tool_name(""));
    }

    #[test]
    fn namespaces_are_a_narrower_alphabet() {
        assert!(is_namespace("my-server_2"));
        assert!(!is_namespace("my.server"));
        assert!(!is_namespace(""));
        assert!(!is_namespace(&"n".repeat(65)));
    }
}
