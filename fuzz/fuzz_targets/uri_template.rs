//! RFC 6570 template matching (`resources/read` against resource templates): any
//! template parses or is refused, any URI matches or not, and a match names only the
//! template's variables; a URI made from a template by substituting plain values
//! matches it with exactly those values.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tenet_server::uri_template::UriTemplate;

#[derive(Debug, Arbitrary)]
struct Input {
    template: String,
    uri: String,
    /// Segments of a template built to be matched: (literal, value) pairs.
    segments: Vec<(String, String)>,
}

fn plain(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).take(16).collect()
}

fuzz_target!(|input: Input| {
    if let Ok(template) = UriTemplate::parse(&input.template) {
        let names: Vec<&str> = template.variables().collect();
        if let Some(found) = template.matches(&input.uri) {
            for name in found.keys() {
                assert!(names.contains(&name.as_str()), "{name} is not a variable of {}", input.template);
            }
        }
    }

    // `scheme://a{v0}/b{v1}/…`: each value plain and non-empty, each literal after a
    // variable starting with `/`, which ends a simple expansion.
    let mut source = String::from("test://");
    let mut uri = source.clone();
    let mut expected = BTreeMap::new();
    for (i, (literal, value)) in input.segments.iter().take(8).enumerate() {
        let value = plain(value);
        if value.is_empty() {
            continue;
        }
        let literal = format!("/{}", plain(literal));
        source.push_str(&format!("{literal}{{v{i}}}"));
        uri.push_str(&format!("{literal}{value}"));
        expected.insert(format!("v{i}"), value);
    }
    let template = UriTemplate::parse(&source).expect("a plain template parses");
    assert_eq!(template.matches(&uri), Some(expected), "{source} against {uri}");
});
