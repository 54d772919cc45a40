//! RFC 6570 URI templates: expansion-free matching of a URI against a template.
//!
//! Supported expressions: `{var}`, `{+var}`, `{#var}`, `{/var}`, `{.var}`, `{;var}`,
//! `{?a,b}` and `{&a,b}`, with several variables per expression. Matching finds values
//! that would expand back to the URI, percent-decoding them.

use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Expr { op: Option<char>, vars: Vec<String> },
}

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

impl UriTemplate {
    /// Parses a template.
    ///
    /// # Errors
    /// A message when braces do not pair up or an expression is empty.
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..].find('}').ok_or("unclosed '{'")? + open;
            let mut body = &rest[open + 1..close];
            let op = body.chars().next().filter(|c| "+#/.;?&".contains(*c));
            if op.is_some() {
                body = &body[1..];
            }
            let vars: Vec<String> =
                body.split(',').map(|v| v.trim_end_matches('*').split(':').next().unwrap_or("").to_owned()).collect();
            if vars.iter().any(String::is_empty) {
                return Err(format!("empty variable in {{{body}}}"));
            }
            parts.push(Part::Expr { op, vars });
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err("unmatched '}'".into());
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Self { source: source.to_owned(), parts })
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The variable names, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().flat_map(|p| match p {
            Part::Expr { vars, .. } => vars.iter().map(String::as_str).collect::<Vec<_>>(),
            Part::Literal(_) => Vec::new(),
        })
    }

    /// How narrow the template is, as a sort key (narrowest first): templates without a
    /// reserved expansion (`{+x}`, `{#x}`: a value that may hold `/`, `?` and `#`)
    /// before those with one, then more literal text first, then fewer reserved
    /// expansions. Tried in this order, a catch-all never hides a narrower template,
    /// whatever order they came in.
    pub fn specificity(&self) -> (bool, std::cmp::Reverse<usize>, usize) {
        let (mut reserved, mut literal) = (0, 0);
        for part in &self.parts {
            match part {
                Part::Literal(text) => literal += text.len(),
                Part::Expr { op: Some('+' | '#'), .. } => reserved += 1,
                Part::Expr { .. } => {}
            }
        }
        (reserved > 0, std::cmp::Reverse(literal), reserved)
    }

    /// The variables' values if `uri` matches the template.
    ///
    /// The search remembers where it failed, so each expression is tried at each
    /// position of the URI at most once, and gives up (no match) after
    /// [`MAX_MATCH_STEPS`]: a template whose expressions follow each other without a
    /// literal between them is ambiguous, and a hostile URI could otherwise make the
    /// search take exponential time.
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut search = Search { uri, failed: HashSet::new(), steps: 0 };
        let mut vars = BTreeMap::new();
        search.parts(&self.parts, 0, &mut vars).then_some(vars)
    }
}

/// How many candidate values a match tries before it gives up.
pub const MAX_MATCH_STEPS: usize = 100_000;

/// The characters that end a value of an expression with operator `op`.
fn value_stops(op: Option<char>) -> &'static [char] {
    match op {
        None => &['/', '?', '#', '&', ',', '.', ';', '='],
        Some('+') => &['?', '#'],
        Some('#') => &[],
        Some('/') => &['/', '?', '#'],
        Some('.') => &['.', '/', '?', '#'],
        _ => &['&', '#', ';', '/'],
    }
}

/// One match of a URI: the positions (number of parts left, offset) known to fail, and
/// the candidates tried so far.
struct Search<'u> {
    uri: &'u str,
    failed: HashSet<(usize, usize)>,
    steps: usize,
}

impl Search<'_> {
    /// Whether `parts` match the URI from byte `at` to its end, filling `vars`.
    fn parts(&mut self, parts: &[Part], at: usize, vars: &mut BTreeMap<String, String>) -> bool {
        if self.steps > MAX_MATCH_STEPS || self.failed.contains(&(parts.len(), at)) {
            return false;
        }
        self.steps += 1;
        let matched = self.first_part(parts, at, vars);
        if !matched {
            self.failed.insert((parts.len(), at));
        }
        matched
    }

    fn first_part(&mut self, parts: &[Part], at: usize, vars: &mut BTreeMap<String, String>) -> bool {
        let uri = &self.uri[at..];
        let Some((first, rest)) = parts.split_first() else { return uri.is_empty() };
        let (op, names) = match first {
            Part::Literal(lit) => return uri.starts_with(lit.as_str()) && self.parts(rest, at + lit.len(), vars),
            Part::Expr { op, vars: names } => (op, names),
        };
        let (prefix, sep, named) = match op {
            None | Some('+') => ("", ',', false),
            Some('#') => ("#", ',', false),
            Some('/') => ("/", '/', false),
            Some('.') => (".", '.', false),
            Some(';') => (";", ';', true),
            Some('?') => ("?", '&', true),
            _ => ("&", '&', true),
        };
        // An expression may expand to nothing (undefined variables).
        if self.parts(rest, at, vars) {
            return true;
        }
        let Some(body_start) = uri.strip_prefix(prefix) else { return false };
        let start = at + prefix.len();
        // A reserved expansion may hold `?` and `#` (RFC 6570 3.2.3): one that ends the
        // template takes the rest of the URI, query and fragment included.
        let stops = if rest.is_empty() && *op == Some('+') { &[][..] } else { value_stops(*op) };
        let limit =
            body_start.find(|c| stops.contains(&c) && !(c == sep && names.len() > 1)).unwrap_or(body_start.len());
        // A literal that follows must start where the value ends.
        let next = match rest.first() {
            Some(Part::Literal(lit)) => Some(lit.as_str()),
            _ => None,
        };
        // Try the longest candidate first, then shorter ones. Whether the rest matches
        // does not depend on the values taken so far, so they are read (and decoded)
        // only once it has: values read later win, as they would have in order.
        for end in (1..=limit).rev() {
            if !body_start.is_char_boundary(end) || next.is_some_and(|lit| !body_start[end..].starts_with(lit)) {
                continue;
            }
            self.steps += 1;
            if self.steps > MAX_MATCH_STEPS {
                return false;
            }
            let body = &body_start[..end];
            if self.failed.contains(&(rest.len(), start + end)) || !fits(body, sep, named, names) {
                continue;
            }
            if self.parts(rest, start + end, vars) {
                let mut found = BTreeMap::new();
                assign(body, sep, named, names, &mut found);
                for (name, value) in found {
                    vars.entry(name).or_insert(value);
                }
                return true;
            }
        }
        false
    }
}

/// Whether `body` can be the expansion of an expression with `names`: no more values
/// than names, and for named expansions (`;`, `?`, `&`) only its names.
fn fits(body: &str, sep: char, named: bool, names: &[String]) -> bool {
    if named {
        return body.split(sep).all(|piece| names.iter().any(|n| n == piece.split_once('=').map_or(piece, |(k, _)| k)));
    }
    names.len() == 1 || body.split(sep).count() <= names.len()
}

/// The values of an expansion that [`fits`], percent-decoded, into `out`.
fn assign(body: &str, sep: char, named: bool, names: &[String], out: &mut BTreeMap<String, String>) {
    if named {
        for piece in body.split(sep) {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            out.insert(k.to_owned(), decode(v));
        }
    } else if names.len() == 1 {
        out.insert(names[0].clone(), decode(body));
    } else {
        for (name, value) in names.iter().zip(body.split(sep)) {
            out.insert(name.clone(), decode(value));
        }
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrower_templates_rank_first() {
        let mut templates: Vec<UriTemplate> =
            ["docs://{+path}", "docs://{id}", "docs://{+repo}/blob/{+path}", "docs://{id}/meta", "docs://x{#f}"]
                .iter()
                .map(|t| UriTemplate::parse(t).unwrap())
                .collect();
        templates.sort_by_key(UriTemplate::specificity);
        let order: Vec<&str> = templates.iter().map(UriTemplate::as_str).collect();
        let narrowest_first =
            ["docs://{id}/meta", "docs://{id}", "docs://{+repo}/blob/{+path}", "docs://x{#f}", "docs://{+path}"];
        assert_eq!(order, narrowest_first);
    }

    fn m(t: &str, uri: &str) -> Option<Vec<(String, String)>> {
        UriTemplate::parse(t).unwrap().matches(uri).map(|v| v.into_iter().collect())
    }

    fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(p.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect())
    }

    #[test]
    fn simple_variables() {
        assert_eq!(m("test://template/{id}/data", "test://template/42/data"), pairs(&[("id", "42")]));
        assert_eq!(
            m("stdlib://{language}/{domain}", "stdlib://rust/testing"),
            pairs(&[("domain", "testing"), ("language", "rust")])
        );
        assert_eq!(m("stdlib://{language}/{domain}", "stdlib://rust/testing/extra"), None);
        assert_eq!(m("test://template/{id}/data", "test://other/42/data"), None);
        assert_eq!(m("x://{name}", "x://a%20b"), pairs(&[("name", "a b")]));
    }

    #[test]
    fn reserved_and_path_expansions() {
        assert_eq!(m("file://{+path}", "file:///etc/hosts"), pairs(&[("path", "/etc/hosts")]));
        assert_eq!(m("x://a{/b,c}", "x://a/1/2"), pairs(&[("b", "1"), ("c", "2")]));
        assert_eq!(m("x://s{?q,lang}", "x://s?q=rust&lang=en"), pairs(&[("lang", "en"), ("q", "rust")]));
        assert_eq!(m("x://s{?q}", "x://s"), pairs(&[]));
        // Last in the template, a reserved expansion keeps a query and a fragment; before
        // a query expression it leaves the query to it.
        assert_eq!(m("tenet://a/{+uri}", "tenet://a/https://x/d?id=5#top"), pairs(&[("uri", "https://x/d?id=5#top")]));
        assert_eq!(m("{+uri}", "https://x/d?id=5"), pairs(&[("uri", "https://x/d?id=5")]));
        assert_eq!(m("x://{+p}{?q}", "x://a/b?q=1"), pairs(&[("p", "a/b"), ("q", "1")]));
    }

    /// Found by the `uri_template` fuzz target: expressions without a literal between
    /// them made a URI that does not match take exponential time (a 248-byte input ran
    /// past the fuzzer's 10 s timeout).
    #[test]
    fn fuzz_uri_template_adjacent_expressions_fail_fast() {
        // (A literal ends the template: a reserved expansion that ended it would take
        // the `?` too, and match.)
        let template = UriTemplate::parse(&("{+a}{+b}".repeat(8) + "!")).unwrap();
        // 300 characters: some 10^25 ways to cut them among sixteen expressions, and
        // milliseconds for the matcher (2 000 took ~1 s of debug code on a busy machine).
        let uri = "x".repeat(300) + "?";
        let started = std::time::Instant::now();
        assert_eq!(template.matches(&uri), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "took {:?}", started.elapsed());
        // What matches still does, values and all.
        assert_eq!(m("x://{a}/{+b}{?q}", "x://1/2/3?q=4"), pairs(&[("a", "1"), ("b", "2/3"), ("q", "4")]));
    }

    #[test]
    fn bad_templates_are_rejected() {
        assert!(UriTemplate::parse("x://{a").is_err());
        assert!(UriTemplate::parse("x://a}").is_err());
        assert!(UriTemplate::parse("x://{}").is_err());
    }
}
