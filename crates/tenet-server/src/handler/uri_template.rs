//! RFC 6570 URI templates: expansion-free matching of a URI against a template.
//!
//! Supported expressions: `{var}`, `{+var}`, `{#var}`, `{/var}`, `{.var}`, `{;var}`,
//! `{?a,b}` and `{&a,b}`, with several variables per expression. Matching finds values
//! that would expand back to the URI, percent-decoding them.

use std::collections::BTreeMap;

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

    /// The variables' values if `uri` matches the template.
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut vars = BTreeMap::new();
        match_parts(&self.parts, uri, &mut vars).then_some(vars)
    }
}

fn stops(op: Option<char>) -> &'static [char] {
    match op {
        None => &['/', '?', '#', '&', ',', '.', ';', '='],
        Some('+') => &['?', '#'],
        Some('#') => &[],
        Some('/') => &['/', '?', '#'],
        Some('.') => &['.', '/', '?', '#'],
        _ => &['&', '#', ';', '/'],
    }
}

fn match_parts(parts: &[Part], uri: &str, vars: &mut BTreeMap<String, String>) -> bool {
    let Some((first, rest)) = parts.split_first() else { return uri.is_empty() };
    match first {
        Part::Literal(lit) => uri.strip_prefix(lit.as_str()).is_some_and(|tail| match_parts(rest, tail, vars)),
        Part::Expr { op, vars: names } => {
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
            if match_parts(rest, uri, vars) {
                return true;
            }
            let Some(body_start) = uri.strip_prefix(prefix) else { return false };
            let limit = body_start
                .find(|c| stops(*op).contains(&c) && !(c == sep && names.len() > 1))
                .unwrap_or(body_start.len());
            // Try the longest candidate first, then shorter ones.
            for end in (1..=limit).rev() {
                if !body_start.is_char_boundary(end) {
                    continue;
                }
                let body = &body_start[..end];
                let mut found = BTreeMap::new();
                if !assign(body, sep, named, names, &mut found) {
                    continue;
                }
                let mut trial = vars.clone();
                trial.extend(found);
                if match_parts(rest, &body_start[end..], &mut trial) {
                    *vars = trial;
                    return true;
                }
            }
            false
        }
    }
}

fn assign(body: &str, sep: char, named: bool, names: &[String], out: &mut BTreeMap<String, String>) -> bool {
    let pieces: Vec<&str> = if names.len() > 1 || named { body.split(sep).collect() } else { vec![body] };
    if named {
        for piece in pieces {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            if !names.iter().any(|n| n == k) {
                return false;
            }
            out.insert(k.to_owned(), decode(v));
        }
        return true;
    }
    if pieces.len() > names.len() {
        return false;
    }
    for (name, value) in names.iter().zip(pieces) {
        out.insert(name.clone(), decode(value));
    }
    true
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
    }

    #[test]
    fn bad_templates_are_rejected() {
        assert!(UriTemplate::parse("x://{a").is_err());
        assert!(UriTemplate::parse("x://a}").is_err());
        assert!(UriTemplate::parse("x://{}").is_err());
    }
}
