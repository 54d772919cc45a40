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

use super::schema::{percent_decode, push_pointer_token};

/// How many names a `properties` holds before they are looked up in maps.
const FEW: usize = 16;

/// How many `properties` are gathered, references followed, before the schema is read
/// the cautious way (see [`DeclaredNames::of`]).
const MAX_SCOPES: usize = 4096;

/// How many schemas are read, references followed, before the schema is read the
/// cautious way: references that each name another twice would read it 2ⁿ times.
const MAX_READ: usize = 65_536;

/// How deep schemas are read within one another, references followed, before the schema
/// is read the cautious way (a long chain of references would take the stack).
const MAX_NESTING: usize = 256;

/// The property names an input schema declares, and where they apply.
pub(crate) struct DeclaredNames {
    /// The names that surely apply at each place in the arguments.
    places: Place,
    /// The names that may apply anywhere.
    anywhere: Anywhere,
}

/// One `properties` of a schema: where in the arguments it applies, and its names.
struct Scope {
    /// The way there from the top: member names through `properties`, [`Step::Item`]
    /// for an array's items through `items`. `None` where it may apply anywhere: under
    /// `additionalProperties`, `patternProperties`, `prefixItems` and the like, and in
    /// a schema read the cautious way.
    at: Option<Vec<Step>>,
    /// Whether it applies there whenever the schema does: not under `anyOf`, `oneOf`,
    /// `not`, `if`, `then`, `else` or `dependentSchemas`, where it may not.
    sure: bool,
    names: Names,
}

/// A step from a value into one inside it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Step {
    /// The member of that name.
    Name(String),
    /// Any item of an array.
    Item,
}

/// Names as declared and folded, once each.
struct Names {
    list: Vec<(String, String)>,
    /// Past [`FEW`] names: the names as declared, and each folded name's first owner.
    index: Option<(HashSet<String>, HashMap<String, usize>)>,
}

impl Names {
    fn new<'a>(names: impl Iterator<Item = &'a String>) -> Self {
        let mut seen = HashSet::new();
        let list: Vec<(String, String)> =
            names.filter(|name| seen.insert(*name)).map(|name| (name.clone(), fold_case(name))).collect();
        let index = (list.len() > FEW).then(|| {
            let exact = list.iter().map(|(name, _)| name.clone()).collect();
            let mut folded = HashMap::new();
            for (i, (_, fold)) in list.iter().enumerate() {
                folded.entry(fold.clone()).or_insert(i);
            }
            (exact, folded)
        });
        Self { list, index }
    }

    fn has(&self, name: &str) -> bool {
        match &self.index {
            Some((exact, _)) => exact.contains(name),
            None => self.list.iter().any(|(declared, _)| declared == name),
        }
    }

    /// A name here `name` differs from only in case, `name` not being here; `fold` is
    /// `name` folded, once it was needed.
    fn variant(&self, name: &str, fold: &mut Option<String>) -> Option<&str> {
        if let Some((_, folded)) = &self.index {
            let fold = fold.get_or_insert_with(|| fold_case(name));
            return folded.get(fold.as_str()).map(|&i| self.list[i].0.as_str());
        }
        // ASCII folds to its lower case, which a declared name's fold is already in.
        let ascii = name.is_ascii();
        self.list
            .iter()
            .find(|(_, declared)| {
                if ascii {
                    declared.eq_ignore_ascii_case(name)
                } else {
                    declared == fold.get_or_insert_with(|| fold_case(name))
                }
            })
            .map(|(declared, _)| declared.as_str())
    }
}

/// A place in the arguments: the names that surely apply there (of every `properties`
/// that does), those that may (under `anyOf` and the like), and the places below it.
#[derive(Default)]
struct Place {
    names: Option<Names>,
    maybe: Anywhere,
    members: HashMap<String, Place>,
    items: Option<Box<Place>>,
}

impl Place {
    /// The place `path` leads to from here, made if it is not yet.
    fn at(&mut self, path: &[Step]) -> &mut Place {
        path.iter().fold(self, |place, step| match step {
            Step::Name(name) => place.members.entry(name.clone()).or_default(),
            Step::Item => place.items.get_or_insert_with(Box::default),
        })
    }

    /// The place one step below: the member `name`, or an item (`None`).
    fn below(&self, step: Option<&str>) -> Option<&Place> {
        match step {
            Some(name) => self.members.get(name),
            None => self.items.as_deref(),
        }
    }
}

/// The names that may apply anywhere: for each folded name, its spellings, each with
/// whether every `properties` that may apply anywhere and declares a name of that fold
/// declares that spelling.
#[derive(Default)]
struct Anywhere {
    folds: HashMap<String, Vec<(String, bool)>>,
}

impl Anywhere {
    /// The names of `scopes` (each a `properties`), by folded name.
    fn new(scopes: &[&Names]) -> Self {
        // How many declare a name of each fold, and how many each spelling.
        let mut owners: HashMap<&str, usize> = HashMap::new();
        let mut spellings: HashMap<&str, (&str, usize)> = HashMap::new();
        for names in scopes {
            let mut folds = HashSet::new();
            for (name, fold) in &names.list {
                if folds.insert(fold.as_str()) {
                    *owners.entry(fold).or_default() += 1;
                }
                spellings.entry(name).or_insert((fold, 0)).1 += 1;
            }
        }
        let mut folds: HashMap<String, Vec<(String, bool)>> = HashMap::new();
        for (name, (fold, count)) in spellings {
            folds.entry(fold.to_owned()).or_default().push((name.to_owned(), count == owners[fold]));
        }
        Self { folds }
    }

    /// How the names here judge `name`: `None` when none has its fold; `Some(None)` when
    /// every `properties` with a name of its fold declares `name` as written; else
    /// `Some` of a name it differs from only in case.
    fn judge(&self, name: &str, fold: &mut Option<String>) -> Option<Option<&str>> {
        if self.folds.is_empty() {
            return None;
        }
        let spellings = self.folds.get(fold.get_or_insert_with(|| fold_case(name)).as_str())?;
        if spellings.iter().any(|(spelling, everywhere)| spelling == name && *everywhere) {
            return Some(None);
        }
        Some(spellings.iter().find(|(spelling, _)| spelling != name).map(|(spelling, _)| spelling.as_str()))
    }
}

impl DeclaredNames {
    /// The names under every `properties` of `schema`, each `properties` with where it
    /// applies: references within the schema (`#/$defs/…`, `#`, `#anchor`) are followed
    /// and a `properties` reached through one applies where the reference stands; one
    /// met again inside itself may apply anywhere below.
    ///
    /// A schema whose references cannot all be followed so (to another document, within
    /// one that holds an `$id` below its top, or to an anchor that names several
    /// schemas), or that would gather more than [`MAX_SCOPES`], read more than
    /// [`MAX_READ`] schemas or nest them [`MAX_NESTING`] deep, is read the cautious way:
    /// every `properties`, `$defs` included, may apply anywhere.
    pub(crate) fn of(schema: &Value) -> Self {
        // Before draft 6 the keyword was `id`.
        let draft4 = schema
            .get("$schema")
            .and_then(Value::as_str)
            .is_some_and(|uri| uri.contains("draft-04") || uri.contains("draft-03"));
        let mut reader = Reader::new(schema, !has_inner_id(schema, true, draft4));
        if reader.follow_refs {
            reader.schema(schema, Some(&mut Vec::new()));
        }
        if !reader.follow_refs || reader.unresolved {
            reader = Reader::new(schema, false);
            reader.schema(schema, None);
        }
        let mut sure: HashMap<&[Step], Vec<&String>> = HashMap::new();
        let mut maybe: HashMap<&[Step], Vec<&Names>> = HashMap::new();
        let mut anywhere = Vec::new();
        for scope in &reader.scopes {
            match &scope.at {
                Some(path) if scope.sure => {
                    sure.entry(path).or_default().extend(scope.names.list.iter().map(|(name, _)| name));
                }
                Some(path) => maybe.entry(path).or_default().push(&scope.names),
                None => anywhere.push(&scope.names),
            }
        }
        let mut places = Place::default();
        for (path, names) in sure {
            places.at(path).names = Some(Names::new(names.into_iter()));
        }
        for (path, scopes) in maybe {
            places.at(path).maybe = Anywhere::new(&scopes);
        }
        Self { places, anywhere: Anywhere::new(&anywhere) }
    }

    /// Each member of `arguments`, at any depth, named so that a reader ignoring case
    /// would take it for a declared property, or whose name holds a NUL: (JSON Pointer,
    /// what is wrong), at most `max`.
    ///
    /// A member is refused where a `properties` that may apply there declares a name it
    /// differs from only in case and not the name as written, unless one that surely
    /// applies there declares that.
    pub(crate) fn problems(&self, arguments: &Value, max: usize) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let mut walk =
            Walk { names: self, path: String::new(), places: vec![Some(&self.places)], found: &mut found, max };
        walk.value(arguments);
        found
    }
}

/// A walk through arguments: where it is, and what it found.
struct Walk<'a> {
    names: &'a DeclaredNames,
    /// The JSON Pointer of the value walked, while it is an object or array.
    path: String,
    /// The places from the top to the value walked, while names surely apply there.
    places: Vec<Option<&'a Place>>,
    found: &'a mut Vec<(String, String)>,
    max: usize,
}

impl Walk<'_> {
    fn value(&mut self, value: &Value) {
        let len = self.path.len();
        let here = self.places.last().copied().flatten();
        match value {
            Value::Object(members) => {
                for (name, member) in members {
                    if self.found.len() == self.max {
                        return;
                    }
                    let problem = self.problem(here, name);
                    let nested = member.is_object() || member.is_array();
                    if problem.is_some() || nested {
                        push_pointer_token(&mut self.path, name);
                    }
                    if let Some(problem) = problem {
                        self.found.push((self.path.clone(), problem));
                    }
                    if nested {
                        self.places.push(here.and_then(|place| place.below(Some(name))));
                        self.value(member);
                        self.places.pop();
                    }
                    self.path.truncate(len);
                }
            }
            Value::Array(items) => {
                self.places.push(here.and_then(|place| place.below(None)));
                for (i, item) in items.iter().enumerate().filter(|(_, item)| item.is_object() || item.is_array()) {
                    self.path.push('/');
                    self.path.push_str(&i.to_string());
                    self.value(item);
                    self.path.truncate(len);
                }
                self.places.pop();
            }
            _ => {}
        }
    }

    /// What is wrong with a member named `name` at `here`.
    fn problem(&self, here: Option<&Place>, name: &str) -> Option<String> {
        if name.contains('\0') {
            return Some("a member's name holds a NUL character, which some readers end the name at".to_owned());
        }
        let mut fold = None;
        let sure = here.and_then(|place| place.names.as_ref());
        if sure.is_some_and(|names| names.has(name)) {
            return None;
        }
        // What surely applies here first, then what may (a name declared as written by
        // every properties here that may apply passes), then what may apply anywhere.
        let declared = match sure.and_then(|names| names.variant(name, &mut fold)) {
            Some(declared) => declared,
            None => match here.and_then(|place| place.maybe.judge(name, &mut fold)) {
                Some(None) => return None,
                Some(Some(declared)) => declared,
                None => self.names.anywhere.judge(name, &mut fold).flatten()?,
            },
        };
        Some(format!(
            "\"{name}\" differs from the declared property \"{declared}\" only in case; readers that ignore case \
             would take it for that property unchecked"
        ))
    }
}

/// Keywords whose values are instances, not schemas.
fn is_instance(keyword: &str) -> bool {
    matches!(keyword, "const" | "enum" | "default" | "examples")
}

/// Gathers a schema's [`Scope`]s.
struct Reader<'s> {
    root: &'s Value,
    /// Whether references are followed (else every scope may apply anywhere).
    follow_refs: bool,
    scopes: Vec<Scope>,
    /// The references being followed, innermost last.
    following: Vec<*const Value>,
    /// The references followed to apply anywhere.
    followed_anywhere: HashSet<*const Value>,
    /// The schemas with an `$anchor` or `$dynamicAnchor`, by name, once looked for.
    anchors: Option<HashMap<&'s str, Vec<&'s Value>>>,
    /// How many conditional keywords (`anyOf`, `if`, …) the schema read is under.
    conditional: usize,
    /// How deep the schema read is within others.
    nesting: usize,
    /// How many schemas were read.
    read: usize,
    /// Whether a reference could not be followed, or there was too much to read.
    unresolved: bool,
}

impl<'s> Reader<'s> {
    fn new(root: &'s Value, follow_refs: bool) -> Self {
        Self {
            root,
            follow_refs,
            scopes: Vec::new(),
            following: Vec::new(),
            followed_anywhere: HashSet::new(),
            anchors: None,
            conditional: 0,
            nesting: 0,
            read: 0,
            unresolved: false,
        }
    }

    /// Adds a scope for each `properties` in `schema`, which applies at `at` (`None`:
    /// may apply anywhere). `properties` leads on by name, `items` (alone) to any item;
    /// the keywords that apply to the same value keep `at`; the rest lead where names do
    /// not tell, so what is under them may apply anywhere.
    fn schema(&mut self, schema: &'s Value, at: Option<&mut Vec<Step>>) {
        let Value::Object(keywords) = schema else { return };
        if self.unresolved {
            return;
        }
        self.read += 1;
        if self.follow_refs && (self.scopes.len() > MAX_SCOPES || self.read > MAX_READ || self.nesting >= MAX_NESTING) {
            self.unresolved = true;
            return;
        }
        self.nesting += 1;
        self.keywords(keywords, at);
        self.nesting -= 1;
    }

    fn keywords(&mut self, keywords: &'s serde_json::Map<String, Value>, mut at: Option<&mut Vec<Step>>) {
        for (keyword, value) in keywords {
            match (keyword.as_str(), value) {
                (keyword, _) if is_instance(keyword) => {}
                ("properties", Value::Object(properties)) => {
                    let names = Names::new(properties.keys());
                    self.scopes.push(Scope { at: at.as_deref().cloned(), sure: self.conditional == 0, names });
                    for (name, property) in properties {
                        self.under(property, at.as_deref_mut(), Step::Name(name.clone()));
                    }
                }
                ("items", Value::Object(_)) if !keywords.contains_key("prefixItems") => {
                    self.under(value, at.as_deref_mut(), Step::Item);
                }
                ("allOf", Value::Array(branches)) => {
                    branches.iter().for_each(|branch| self.schema(branch, at.as_deref_mut()));
                }
                ("anyOf" | "oneOf", Value::Array(branches)) => {
                    self.conditional += 1;
                    branches.iter().for_each(|branch| self.schema(branch, at.as_deref_mut()));
                    self.conditional -= 1;
                }
                ("not" | "if" | "then" | "else", _) => {
                    self.conditional += 1;
                    self.schema(value, at.as_deref_mut());
                    self.conditional -= 1;
                }
                ("dependentSchemas" | "dependencies", Value::Object(schemas)) => {
                    self.conditional += 1;
                    schemas.values().for_each(|schema| self.schema(schema, at.as_deref_mut()));
                    self.conditional -= 1;
                }
                ("$ref" | "$dynamicRef" | "$recursiveRef", Value::String(reference)) if self.follow_refs => {
                    self.reference(reference, at.as_deref_mut());
                }
                // Reached through references when they are followed.
                ("$defs" | "definitions", Value::Object(_)) if self.follow_refs => {}
                ("$defs" | "definitions" | "patternProperties", Value::Object(schemas)) => {
                    schemas.values().for_each(|schema| self.schema(schema, None));
                }
                _ => self.anywhere(value),
            }
        }
    }

    /// `schema` one `step` below `at`.
    fn under(&mut self, schema: &'s Value, at: Option<&mut Vec<Step>>, step: Step) {
        match at {
            Some(path) => {
                path.push(step);
                self.schema(schema, Some(path));
                path.pop();
            }
            None => self.schema(schema, None),
        }
    }

    /// The schemas in `value` (a schema, or an array or map of them), applying anywhere.
    fn anywhere(&mut self, value: &'s Value) {
        match value {
            Value::Object(_) => self.schema(value, None),
            Value::Array(items) => items.iter().for_each(|item| self.anywhere(item)),
            _ => {}
        }
    }

    /// The schema `reference` names, applied at `at`; one met again inside itself may
    /// apply anywhere below.
    fn reference(&mut self, reference: &str, at: Option<&mut Vec<Step>>) {
        let Some(target) = self.resolve(reference) else {
            self.unresolved = true;
            return;
        };
        let key = std::ptr::from_ref(target);
        let at = at.filter(|_| !self.following.contains(&key));
        if at.is_none() && !self.followed_anywhere.insert(key) {
            return;
        }
        self.following.push(key);
        self.schema(target, at);
        self.following.pop();
    }

    /// The schema within the root that `reference` names: `#`, a JSON Pointer
    /// (`#/$defs/a`, percent-encoded as URI fragments are) or an anchor (`#name`, of one
    /// `$anchor` or `$dynamicAnchor` alone); `None` for a reference to another document,
    /// or an anchor that names no schema or several.
    fn resolve(&mut self, reference: &str) -> Option<&'s Value> {
        let fragment = reference.strip_prefix('#')?;
        if fragment.is_empty() || fragment.starts_with('/') {
            // A fragment with a bad `%` escape never gets here: the validator, compiled
            // first, refuses it.
            return self.root.pointer(&percent_decode(fragment)?);
        }
        let root = self.root;
        let anchors = self.anchors.get_or_insert_with(|| {
            let mut anchors = HashMap::new();
            gather_anchors(root, &mut anchors);
            anchors
        });
        match anchors.get(fragment).map(Vec::as_slice) {
            Some([schema]) => Some(schema),
            _ => None,
        }
    }
}

/// Every object in `value` that names itself with `$anchor` or `$dynamicAnchor`, by that
/// name. Values that are instances are searched too: an anchor found there as well makes
/// the name ambiguous, which is read the cautious way.
fn gather_anchors<'s>(value: &'s Value, anchors: &mut HashMap<&'s str, Vec<&'s Value>>) {
    match value {
        Value::Object(members) => {
            for keyword in ["$anchor", "$dynamicAnchor"] {
                if let Some(name) = members.get(keyword).and_then(Value::as_str) {
                    let named = anchors.entry(name).or_default();
                    if !named.iter().any(|known| std::ptr::eq(*known, value)) {
                        named.push(value);
                    }
                }
            }
            members.values().for_each(|member| gather_anchors(member, anchors));
        }
        Value::Array(items) => items.iter().for_each(|item| gather_anchors(item, anchors)),
        _ => {}
    }
}

/// Whether an object below `value`'s top has an `$id` member (or, in a draft-04 schema,
/// an `id` that is a string): a base references below it are read against. Instances
/// are searched too: one found there only makes the schema read the cautious way.
fn has_inner_id(value: &Value, top: bool, draft4: bool) -> bool {
    match value {
        Value::Object(members) => {
            let id = members.contains_key("$id") || (draft4 && members.get("id").is_some_and(Value::is_string));
            (!top && id) || members.values().any(|member| has_inner_id(member, false, draft4))
        }
        Value::Array(items) => items.iter().any(|item| has_inner_id(item, false, draft4)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(schema: &Value, arguments: Value) -> Vec<String> {
        let mut found: Vec<String> =
            DeclaredNames::of(schema).problems(&arguments, 8).into_iter().map(|(path, _)| path).collect();
        found.sort_unstable();
        found
    }

    /// The names of `schema` by where they surely apply ("*" for an item), and those
    /// that may apply "anywhere".
    fn places(schema: &Value) -> Vec<(String, Vec<String>)> {
        fn gather(place: &Place, at: &str, out: &mut Vec<(String, Vec<String>)>) {
            if let Some(names) = &place.names {
                let mut names: Vec<String> = names.list.iter().map(|(name, _)| name.clone()).collect();
                names.sort_unstable();
                out.push((at.to_owned(), names));
            }
            for (name, below) in &place.members {
                gather(below, &format!("{at}/{name}"), out);
            }
            if let Some(items) = &place.items {
                gather(items, &format!("{at}/*"), out);
            }
        }
        let declared = DeclaredNames::of(schema);
        let mut out = Vec::new();
        gather(&declared.places, "", &mut out);
        let mut anywhere: Vec<String> =
            declared.anywhere.folds.values().flatten().map(|(name, _)| name.clone()).collect();
        if !anywhere.is_empty() {
            anywhere.sort_unstable();
            out.push(("anywhere".to_owned(), anywhere));
        }
        out.sort();
        out
    }

    fn tool() -> Value {
        json!({
            "type": "object",
            "properties": {
                "amount": {"type": "number", "maximum": 100, "default": {"Hidden": 1}},
                "size": {"type": "number"},
                "straße": {"type": "number"},
                "items": {"type": "array", "items": {"$ref": "#/$defs/item"}},
                "p": {"$ref": "#/$defs/default"},
                "a/b": {"properties": {"x": {}}},
            },
            "$defs": {
                "item": {"type": "object", "properties": {"σκοπός": {"type": "string"}}},
                // Entries named like keywords are schemas all the same.
                "default": {"properties": {"limit": {"maximum": 5}}},
                "unused": {"properties": {"kind": {}}},
            },
            "enum": [{"Enumerated": 1}],
        })
    }

    #[test]
    fn each_properties_applies_where_its_references_lead() {
        let expected = [
            ("", vec!["a/b", "amount", "items", "p", "size", "straße"]),
            ("/a/b", vec!["x"]),
            ("/items/*", vec!["σκοπός"]),
            ("/p", vec!["limit"]),
        ];
        let expected: Vec<(String, Vec<String>)> = expected
            .into_iter()
            .map(|(at, names)| (at.to_owned(), names.into_iter().map(str::to_owned).collect()))
            .collect();
        assert_eq!(places(&tool()), expected);
    }

    #[test]
    fn case_variants_of_declared_names_and_nul_are_refused_where_they_are() {
        let tool = tool();
        // Exact names, and names nothing declares there, pass, whatever their case.
        assert!(refused(&tool, json!({"amount": 1, "size": 2, "Other": 1, "q": {"Amount": 1, "KIND": 2}})).is_empty());
        assert_eq!(refused(&tool, json!({"Amount": 1000})), ["/Amount"]);
        assert_eq!(refused(&tool, json!({"amount": 1, "AMOUNT": 1000})), ["/AMOUNT"]);
        // Letters Unicode's case folding joins: the long s, capital sharp s, sigma.
        assert_eq!(refused(&tool, json!({"\u{17f}ize": 1})), ["/\u{17f}ize"]);
        assert_eq!(refused(&tool, json!({"stra\u{1e9e}e": 1})), ["/stra\u{1e9e}e"]);
        assert_eq!(refused(&tool, json!({"items": [{"ΣΚΟΠΌΣ": "x"}, {"σκοπός": "y"}]})), ["/items/0/ΣΚΟΠΌΣ"]);
        // Through a definition named like a keyword; a name to escape in the pointer.
        assert_eq!(refused(&tool, json!({"p": {"LIMIT": 9}, "a/b": {"X": 1}})), ["/a~1b/X", "/p/LIMIT"]);
        assert_eq!(refused(&tool, json!({"x\u{0}": 1})), ["/x\u{0}"]);
        let said = &DeclaredNames::of(&tool).problems(&json!({"Amount": 1}), 8)[0].1;
        assert!(said.contains("\"Amount\" differs from the declared property \"amount\" only in case"), "{said}");
        // At most `max`.
        assert_eq!(DeclaredNames::of(&tool).problems(&json!({"AMOUNT": 1, "Size": 2, "SIZE": 3}), 2).len(), 2);
    }

    #[test]
    fn a_name_spelled_two_ways_is_judged_where_it_stands() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"$ref": "#/$defs/A"},
                "b": {"$ref": "#/$defs/B"},
                "meta": {"properties": {"Amount": {}}, "allOf": [{"properties": {"amount": {}}}]},
                "userId": {},
                "userID": {},
            },
            "$defs": {"A": {"properties": {"id": {"maximum": 5}}}, "B": {"properties": {"ID": {}}}},
        });
        let fine =
            json!({"a": {"id": 1}, "b": {"ID": 2}, "meta": {"Amount": 1, "amount": 2}, "userId": 1, "userID": 2});
        assert!(refused(&schema, fine).is_empty());
        let wrong = json!({"a": {"ID": 1}, "b": {"id": 1}, "meta": {"AMOUNT": 1}, "USERID": 1});
        assert_eq!(refused(&schema, wrong), ["/USERID", "/a/ID", "/b/id", "/meta/AMOUNT"]);
    }

    #[test]
    fn references_anywhere_in_the_schema_are_followed() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"properties": {"amount": {"maximum": 100}}},
                "b": {"$ref": "#/properties/a"},
                "c": {"allOf": [{"$ref": "#/properties/a"}]},
                "list": {"items": {"$ref": "#/properties/a"}},
                "t": {"$ref": "#thing"},
                "spaced": {"$ref": "#/$defs/a%20b"},
                "child": {"$ref": "#"},
            },
            "$defs": {
                "x": {"$anchor": "thing", "properties": {"amount": {}}},
                "a b": {"properties": {"amount": {}}},
            },
        });
        for at in ["b", "c", "t", "spaced", "child"] {
            let arguments = json!({ at: {"Amount": 1000} });
            assert_eq!(refused(&schema, arguments), [format!("/{at}/Amount")]);
        }
        assert_eq!(refused(&schema, json!({"list": [{"Amount": 1000}]})), ["/list/0/Amount"]);
        // A reference met inside itself may apply anywhere below.
        assert_eq!(refused(&schema, json!({"child": {"child": {"b": {"AMOUNT": 1}}}})), ["/child/child/b/AMOUNT"]);
        assert!(refused(&schema, json!({"child": {"child": {"child": {"a": {"amount": 1}}}}})).is_empty());
    }

    #[test]
    fn what_names_cannot_place_may_apply_anywhere() {
        // Under additionalProperties or prefixItems: anywhere.
        let schema = json!({
            "properties": {"m": {"additionalProperties": {"properties": {"amount": {}}}}},
            "prefixItems": [{"properties": {"size": {}}}],
        });
        assert_eq!(refused(&schema, json!({"m": {"k": {"Amount": 1}}, "Size": 1})), ["/Size", "/m/k/Amount"]);
        // A reference to another document, or a base set below the top: every
        // properties may apply anywhere, definitions included.
        for schema in [
            json!({"properties": {"r": {"$ref": "https://example.com/s"}}, "$defs": {"d": {"properties": {"kind": {}}}}}),
            json!({"properties": {"r": {"$id": "https://example.com/r", "$ref": "#/$defs/d"}}, "$defs": {"d": {"properties": {"kind": {}}}}}),
        ] {
            assert_eq!(refused(&schema, json!({"x": {"Kind": 1}, "R": 1})), ["/R", "/x/Kind"], "{schema}");
        }
        // What may apply anywhere lets a spelling by only where every properties with a
        // name of its fold declares it; what surely applies is judged first.
        let schema = json!({
            "properties": {"size": {}},
            "prefixItems": [{"properties": {"Size": {}}}],
            "additionalProperties": {"properties": {"id": {}, "ID": {}}},
            "patternProperties": {"^p": {"properties": {"id": {}}}},
        });
        assert_eq!(refused(&schema, json!({"x": {"id": 1, "ID": 2}, "size": 1, "Size": 2})), ["/Size", "/x/ID"]);
        // References that each name another twice: read the cautious way, not 2ⁿ times.
        let mut defs = serde_json::Map::new();
        for i in 0..40 {
            let next = format!("#/$defs/d{}", i + 1);
            defs.insert(format!("d{i}"), json!({"allOf": [{"$ref": next}, {"$ref": next}]}));
        }
        defs.insert("d40".into(), json!({"properties": {"amount": {}}}));
        let schema = json!({"properties": {"p": {"$ref": "#/$defs/d0"}}, "$defs": defs});
        assert_eq!(refused(&schema, json!({"q": {"AMOUNT": 1}})), ["/q/AMOUNT"]);
    }

    #[test]
    fn names_under_conditions_may_apply_where_they_stand() {
        let schema = json!({
            "properties": {
                "amount": {"maximum": 100},
                "m": {"anyOf": [{"$ref": "#/$defs/M"}, {"type": "null"}]},
            },
            "not": {"properties": {"Amount": {"type": "string"}}},
            "if": {"properties": {"SIZE": {}}},
            "$defs": {"M": {"properties": {"id": {"maximum": 5}}}},
        });
        assert!(refused(&schema, json!({"amount": 1, "m": {"id": 1}})).is_empty());
        // A name under `not` or `if` is not declared for the check: its variant is.
        assert_eq!(refused(&schema, json!({"Amount": 1000, "size": 1, "m": {"ID": 9}})), ["/Amount", "/m/ID", "/size"]);
        // Declared as written by what may apply there, a name passes what may apply
        // anywhere (Pydantic: an optional model beside a map of another).
        let pydantic = json!({
            "properties": {
                "item": {"anyOf": [{"$ref": "#/$defs/Item"}, {"type": "null"}]},
                "tags": {"additionalProperties": {"$ref": "#/$defs/Tag"}},
            },
            "$defs": {"Item": {"properties": {"id": {}}}, "Tag": {"properties": {"ID": {}}}},
        });
        assert!(refused(&pydantic, json!({"item": {"id": 1}, "tags": {"a": {"ID": 2}}})).is_empty());
        assert_eq!(refused(&pydantic, json!({"item": {"Id": 1}})), ["/item/Id"]);
    }

    #[test]
    fn schemas_that_would_take_long_or_mislead_are_read_the_cautious_way() {
        // A chain of references longer than the reading goes deep.
        let mut defs = serde_json::Map::new();
        for i in 0..5000 {
            defs.insert(format!("d{i}"), json!({"properties": {"next": {"$ref": format!("#/$defs/d{}", i + 1)}}}));
        }
        defs.insert("d5000".into(), json!({"properties": {"amount": {}}}));
        let schema = json!({"properties": {"p": {"$ref": "#/$defs/d0"}}, "$defs": defs});
        assert_eq!(refused(&schema, json!({"q": {"AMOUNT": 1}})), ["/q/AMOUNT"]);
        // An anchor named twice (once in an instance), an `$id` below the top (in a
        // property named like a keyword).
        let schema = json!({
            "properties": {"t": {"$ref": "#thing"}, "default": {"$id": "https://example.com/d"}},
            "$defs": {"x": {"$anchor": "thing", "properties": {"amount": {}}}},
            "examples": [{"$anchor": "thing"}],
        });
        assert_eq!(refused(&schema, json!({"q": {"AMOUNT": 1}})), ["/q/AMOUNT"]);
        // Draft 4 sets a base with `id`.
        let schema = json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "properties": {"a": {"id": "http://example.com/a", "properties": {"p": {"$ref": "#/definitions/A"}}}},
            "definitions": {"A": {"properties": {"Amount": {}}}},
        });
        assert_eq!(refused(&schema, json!({"q": {"amount": 1}})), ["/q/amount"]);
        // Many names that may apply anywhere.
        let properties: serde_json::Map<String, Value> = (0..50_000).map(|i| (format!("n{i}"), json!({}))).collect();
        let schema = json!({"additionalProperties": {"properties": properties}});
        assert_eq!(refused(&schema, json!({"x": {"n1": 1, "N2": 2}})), ["/x/N2"]);
    }

    #[test]
    fn many_names_are_looked_up_alike() {
        let mut properties: serde_json::Map<String, Value> =
            (0..40).map(|i| (format!("field{i}"), json!({"type": "number"}))).collect();
        properties.insert("\u{212a}elvin".into(), json!({}));
        let schema = json!({"type": "object", "properties": properties});
        assert!(DeclaredNames::of(&schema).places.names.as_ref().unwrap().index.is_some());
        assert!(refused(&schema, json!({"field3": 1, "field39": 2, "Field40": 3, "\u{212a}elvin": 4})).is_empty());
        assert_eq!(refused(&schema, json!({"FIELD3": 1, "field\u{17f}": 2, "kelvin": 3})), ["/FIELD3", "/kelvin"]);
        let few = json!({"properties": {"\u{17f}": {}}});
        assert_eq!(refused(&few, json!({"S": 1, "s": 2, "\u{17f}": 3})), ["/S", "/s"]);
    }
}
