//! Member names that readers which ignore case would take for a declared property
//! (see [`crate::ToolDef::strict_names`]).
//!
//! A schema check reads names exactly: `{"Amount": 1000}` passes a schema whose
//! `amount` has a maximum of 100, as an extra member nobody checked. Go's
//! `encoding/json` matches names to fields without regard to case and so fills
//! `amount` with 1000. A tool whose arguments go on to such a reader refuses the
//! variant instead, and any name holding a NUL, which readers of C strings end early.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use tenet_jsonrpc::fold_case;

/// How many declared names are searched in a list before they are looked up in maps.
const FEW: usize = 16;

/// The property names an input schema declares anywhere in it.
pub(crate) struct DeclaredNames {
    /// Each name as declared, and folded, once each.
    names: Vec<(String, String)>,
    /// Past [`FEW`] names: the names as declared, and each folded name's first owner.
    index: Option<(HashSet<String>, HashMap<String, usize>)>,
}

impl DeclaredNames {
    /// The names under every `properties` in `schema` (in `$defs`, `items`, `anyOf` and
    /// the rest too: a name declared anywhere counts everywhere, which can only refuse
    /// more).
    pub(crate) fn of(schema: &Value) -> Self {
        let mut seen = HashSet::new();
        let mut names = Vec::new();
        collect(schema, &mut seen, &mut names);
        let index = (names.len() > FEW).then(|| {
            let exact = names.iter().map(|(name, _)| name.clone()).collect();
            let mut folded = HashMap::new();
            for (i, (_, fold)) in names.iter().enumerate() {
                folded.entry(fold.clone()).or_insert(i);
            }
            (exact, folded)
        });
        Self { names, index }
    }

    /// The declared name `name` differs from only in case, if it is not itself declared.
    fn variant_of(&self, name: &str) -> Option<&str> {
        if let Some((exact, folded)) = &self.index {
            if exact.contains(name) {
                return None;
            }
            return folded.get(&fold_case(name)).map(|&i| self.names[i].0.as_str());
        }
        // ASCII folds to its lower case, which a declared name's fold is already in.
        let ascii = name.is_ascii();
        let fold = if ascii { None } else { Some(fold_case(name)) };
        let mut near = None;
        for (declared, declared_fold) in &self.names {
            if declared == name {
                return None;
            }
            let alike = match &fold {
                None => declared_fold.eq_ignore_ascii_case(name),
                Some(fold) => declared_fold == fold,
            };
            if alike && near.is_none() {
                near = Some(declared.as_str());
            }
        }
        near
    }

    /// Each member of `arguments`, at any depth, named so that a reader ignoring case
    /// would take it for a declared property, or whose name holds a NUL: (JSON Pointer,
    /// what is wrong), at most `max`.
    pub(crate) fn problems(&self, arguments: &Value, max: usize) -> Vec<(String, String)> {
        let mut found = Vec::new();
        self.walk(arguments, &mut String::new(), &mut found, max);
        found
    }

    fn walk(&self, value: &Value, path: &mut String, found: &mut Vec<(String, String)>, max: usize) {
        let at = path.len();
        match value {
            Value::Object(members) => {
                for (name, member) in members {
                    if found.len() == max {
                        return;
                    }
                    let problem = if name.contains('\0') {
                        Some("a member's name holds a NUL character, which some readers end the name at".to_owned())
                    } else {
                        self.variant_of(name).map(|declared| {
                            format!(
                                "\"{name}\" differs from the declared property \"{declared}\" only in case; \
                                 readers that ignore case would take it for that property unchecked"
                            )
                        })
                    };
                    if problem.is_some() || member.is_object() || member.is_array() {
                        push_token(path, name);
                    }
                    if let Some(problem) = problem {
                        found.push((path.clone(), problem));
                    }
                    self.walk(member, path, found, max);
                    path.truncate(at);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate().filter(|(_, item)| item.is_object() || item.is_array()) {
                    path.push('/');
                    path.push_str(&i.to_string());
                    self.walk(item, path, found, max);
                    path.truncate(at);
                }
            }
            _ => {}
        }
    }
}

/// Appends `/name` to a JSON Pointer, escaped (RFC 6901).
fn push_token(path: &mut String, name: &str) {
    path.push('/');
    path.push_str(&name.replace('~', "~0").replace('/', "~1"));
}

/// Adds the names under each `properties` in `schema` to `names`, once each. Values that
/// are instances rather than schemas (`const`, `enum`, `default`, `examples`) are passed.
fn collect(schema: &Value, seen: &mut HashSet<String>, names: &mut Vec<(String, String)>) {
    match schema {
        Value::Object(keywords) => {
            for (keyword, value) in keywords {
                match (keyword.as_str(), value) {
                    ("const" | "enum" | "default" | "examples", _) => {}
                    ("properties", Value::Object(properties)) => {
                        for (name, property) in properties {
                            if seen.insert(name.clone()) {
                                names.push((name.clone(), fold_case(name)));
                            }
                            collect(property, seen, names);
                        }
                    }
                    _ => collect(value, seen, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, seen, names)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "amount": {"type": "number", "maximum": 100, "default": {"Hidden": 1}},
                "userId": {"type": "string"},
                "userID": {"type": "string"},
                "size": {"type": "number"},
                "items": {"type": "array", "items": {"$ref": "#/$defs/item"}},
            },
            "$defs": {"item": {"type": "object", "properties": {"σκοπός": {"type": "string"}}}},
            "enum": [{"Enumerated": 1}],
        })
    }

    fn pointers(names: &DeclaredNames, arguments: Value) -> Vec<String> {
        names.problems(&arguments, 8).into_iter().map(|(path, _)| path).collect()
    }

    #[test]
    fn a_name_declared_anywhere_is_found_and_instances_are_not_read_as_schemas() {
        let names = DeclaredNames::of(&schema());
        let mut declared: Vec<&str> = names.names.iter().map(|(name, _)| name.as_str()).collect();
        declared.sort_unstable();
        assert_eq!(declared, ["amount", "items", "size", "userID", "userId", "σκοπός"]);
    }

    #[test]
    fn case_variants_of_declared_names_and_nul_are_refused_where_they_are() {
        let names = DeclaredNames::of(&schema());
        // Exact names, and names nothing declares, pass, whatever their case.
        assert!(
            pointers(&names, json!({"amount": 1, "userId": "a", "userID": "b", "Other": 1, "other": 2})).is_empty()
        );
        assert_eq!(pointers(&names, json!({"Amount": 1000})), ["/Amount"]);
        assert_eq!(pointers(&names, json!({"USERID": "x"})), ["/USERID"]);
        // Letters Unicode's case folding joins: the long s, final sigma, the Kelvin sign.
        assert_eq!(pointers(&names, json!({"\u{17f}ize": 1})), ["/\u{17f}ize"]);
        assert_eq!(pointers(&names, json!({"items": [{"ΣΚΟΠΌΣ": "x"}, {"σκοπός": "y"}]})), ["/items/0/ΣΚΟΠΌΣ"]);
        assert_eq!(pointers(&names, json!({"a/b": {"SIZE": 1}})), ["/a~1b/SIZE"]);
        assert_eq!(pointers(&names, json!({"x\u{0}": 1})), ["/x\u{0}"]);
        let (_, said) = &names.problems(&json!({"Amount": 1}), 8)[0];
        assert!(said.contains("\"Amount\" differs from the declared property \"amount\" only in case"), "{said}");
        // At most `max`.
        assert_eq!(names.problems(&json!({"AMOUNT": 1, "Size": 2, "SIZE": 3}), 2).len(), 2);
    }

    #[test]
    fn many_names_are_looked_up_alike() {
        let properties: serde_json::Map<String, Value> =
            (0..40).map(|i| (format!("field{i}"), json!({"type": "number"}))).collect();
        let names = DeclaredNames::of(&json!({"type": "object", "properties": properties}));
        assert!(names.index.is_some());
        assert!(pointers(&names, json!({"field3": 1, "field39": 2, "Field40": 3})).is_empty());
        assert_eq!(pointers(&names, json!({"FIELD3": 1, "field\u{17f}": 2})), ["/FIELD3"]);
        let few = DeclaredNames::of(&json!({"properties": {"\u{17f}": {}}}));
        assert_eq!(pointers(&few, json!({"S": 1, "s": 2, "\u{17f}": 3})), ["/S", "/s"]);
    }
}
