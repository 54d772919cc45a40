//! What a document's front matter tells search beyond its text: `keywords`, `aliases`
//! (the team's glossary) and per-section `sections: {<id>: {keywords: […]}}`.
//!
//! Read leniently: a value of another shape (a Hugo-style `aliases` list, a keyword that
//! is a number), or anything past a bound, is left out with a warning, which `tenet
//! check` reports as an error at its line; the rest of the front matter is read as
//! usual.

use std::collections::HashMap;

use serde_json::Value;

use crate::section::Section;

/// The most keywords a document, or one of its sections, may have.
pub const MAX_KEYWORDS: usize = 32;

/// The most aliased terms one document may declare.
pub const MAX_ALIASES: usize = 64;

/// The most other names one aliased term may have.
pub const MAX_ALIAS_NAMES: usize = 8;

/// The longest keyword or alias, in characters.
pub const MAX_KEYWORD_CHARS: usize = 80;

/// The most words an alias may have (it is matched as a phrase).
pub const MAX_ALIAS_WORDS: usize = 6;

/// The most sections one document's `sections` may name.
pub const MAX_SECTIONS: usize = 256;

/// How a warning is given: the line (when known) and what is wrong.
type Warn<'a> = dyn FnMut(Option<usize>, String) + 'a;

/// Reads `keywords`, `aliases` and `sections` (giving `sections` their keywords):
/// returns the document's keywords and its aliased terms (each its names, the term
/// first).
pub(crate) fn read(
    keywords: Option<&Value>,
    aliases: Option<&Value>,
    section_matter: Option<&Value>,
    sections: &mut [Section],
    warn: &mut Warn<'_>,
) -> (Vec<String>, Vec<Vec<String>>) {
    let document = keywords.map(|v| self::keywords(v, "keywords", warn)).unwrap_or_default();
    if let Some(value) = section_matter {
        read_sections(value, sections, warn);
    }
    let aliases = aliases.map(|v| self::aliases(v, warn)).unwrap_or_default();
    (document, aliases)
}

/// A name as a warning quotes it: at most 40 characters.
fn quote(name: &str) -> String {
    let mut short: String = name.chars().take(40).collect();
    if short.len() < name.len() {
        short.push('…');
    }
    format!("{short:?}")
}

/// Keywords: a list of words and phrases (or one string of them, comma-separated), the
/// empty, too long and those past [`MAX_KEYWORDS`] left out with a warning naming
/// `field`.
fn keywords(value: &Value, field: &str, warn: &mut Warn<'_>) -> Vec<String> {
    let given: Vec<&str> = match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let text = item.as_str();
                if text.is_none() {
                    warn(Some(1), format!("{field}: {item} is not a word or phrase: left out"));
                }
                text
            })
            .collect(),
        Value::String(text) => text.split(',').collect(),
        Value::Null => Vec::new(),
        other => {
            warn(Some(1), format!("{field}: expected a list of words and phrases, not {}: left out", kind(other)));
            return Vec::new();
        }
    };
    let mut out: Vec<String> = Vec::new();
    for keyword in given.into_iter().map(str::trim) {
        if keyword.is_empty() {
            warn(Some(1), format!("{field}: an empty keyword is left out"));
        } else if keyword.chars().count() > MAX_KEYWORD_CHARS {
            let quoted = quote(keyword);
            warn(Some(1), format!("{field}: {quoted} is longer than {MAX_KEYWORD_CHARS} characters: left out"));
        } else if out.len() == MAX_KEYWORDS {
            warn(Some(1), format!("{field}: more than {MAX_KEYWORDS} keywords; the rest are left out"));
            break;
        } else {
            out.push(keyword.to_owned());
        }
    }
    out
}

/// `sections`: each named section's keywords, from a map of section ids.
fn read_sections(value: &Value, sections: &mut [Section], warn: &mut Warn<'_>) {
    let Value::Object(map) = value else {
        if !value.is_null() {
            warn(Some(1), format!("sections: expected a map of section ids, not {}: left out", kind(value)));
        }
        return;
    };
    let by_id: HashMap<&str, usize> = sections.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut found: Vec<(usize, Vec<String>)> = Vec::new();
    for (n, (id, matter)) in map.iter().enumerate() {
        if n == MAX_SECTIONS {
            warn(Some(1), format!("sections: more than {MAX_SECTIONS} sections; the rest are left out"));
            break;
        }
        let field = format!("sections: {}", quote(id));
        let Some(&at) = by_id.get(id.as_str()) else {
            warn(
                Some(1),
                format!(
                    "{field}: no such section in this document (`tenet get <language> <domain> --outline` lists the ids)"
                ),
            );
            continue;
        };
        let Value::Object(matter) = matter else {
            warn(Some(1), format!("{field}: expected `keywords: […]`, not {}", kind(matter)));
            continue;
        };
        for key in matter.keys().filter(|k| *k != "keywords") {
            warn(Some(1), format!("{field}: {} is not read (a section has `keywords`)", quote(key)));
        }
        if let Some(value) = matter.get("keywords") {
            found.push((at, keywords(value, &field, warn)));
        }
    }
    for (at, keywords) in found {
        sections[at].keywords = keywords;
    }
}

/// `aliases`: a map of each term to its other names (a list, or one string), within
/// the bounds; a name too common to alias (function words, single letters) is refused.
fn aliases(value: &Value, warn: &mut Warn<'_>) -> Vec<Vec<String>> {
    let map = match value {
        Value::Object(map) => map,
        Value::Null => return Vec::new(),
        Value::Array(_) => {
            warn(
                Some(1),
                "aliases: expected a map of each term to its other names (`PR: [pull request]`); a list, such as Hugo's page aliases, is not read".into(),
            );
            return Vec::new();
        }
        other => {
            warn(Some(1), format!("aliases: expected a map of each term to its other names, not {}", kind(other)));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (term, names) in map {
        if out.len() == MAX_ALIASES {
            warn(Some(1), format!("aliases: more than {MAX_ALIASES} terms; the rest are left out"));
            break;
        }
        let term = term.trim();
        if !fits(term, warn) {
            continue;
        }
        let names: Vec<&str> = match names {
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            Value::String(name) => vec![name.as_str()],
            _ => Vec::new(),
        };
        if names.len() > MAX_ALIAS_NAMES {
            let quoted = quote(term);
            warn(
                Some(1),
                format!("aliases: {quoted} has more than {MAX_ALIAS_NAMES} other names; the rest are left out"),
            );
        }
        let mut group = vec![term.to_owned()];
        for name in names.into_iter().take(MAX_ALIAS_NAMES).map(str::trim) {
            if fits(name, warn) && !group.iter().any(|g| g.eq_ignore_ascii_case(name)) {
                group.push(name.to_owned());
            }
        }
        if group.len() < 2 {
            warn(Some(1), format!("aliases: {} has no other names", quote(term)));
            continue;
        }
        out.push(group);
    }
    out
}

/// Whether an alias's name may be one: letters or digits, not too long, not too many
/// words, and not made only of function words and single letters (which would stand
/// for half of every text).
fn fits(name: &str, warn: &mut Warn<'_>) -> bool {
    let words: Vec<String> =
        name.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    let why = if words.is_empty() {
        "has no letters or digits"
    } else if name.chars().count() > MAX_KEYWORD_CHARS {
        "is too long"
    } else if words.len() > MAX_ALIAS_WORDS {
        "has too many words"
    } else if words.iter().all(|w| w.chars().count() == 1 || crate::english::is_function_word(w)) {
        "is too common a word to alias"
    } else {
        return true;
    };
    warn(
        Some(1),
        format!(
            "aliases: {} {why} (at most {MAX_ALIAS_WORDS} words and {MAX_KEYWORD_CHARS} characters, not only function words or single letters): left out",
            quote(name)
        ),
    );
    false
}

/// What a YAML value is, for a warning.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}
