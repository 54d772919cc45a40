//! The schemas tools advertise, in a form every client can read.
//!
//! schemars writes Rust-specific `format`s (`uint32`, `float`, …) and puts every named
//! type in `$defs`, reached through `$ref`. Clients warn about the formats and some
//! cannot resolve the references (the TypeScript SDK 1.22 fails `listTools` with
//! "can't resolve reference #/$defs/…"). [`advertised_schema`] rewrites a schema so
//! that it validates exactly the same instances, or fewer where a Rust type could never
//! hold the rest, while using only what JSON Schema 2020-12 defines:
//!
//! - a `format` that 2020-12 does not define is dropped; an integer format becomes the
//!   `minimum`/`maximum` of its width (`uint32` → 0 to 4294967295), unless the schema
//!   already has tighter bounds; `uint64` only gets `minimum: 0` (its maximum is not
//!   exact in every JSON parser), `int64` nothing;
//! - every `$ref` to `#/$defs/…` (or `#/definitions/…`) is replaced by the definition
//!   it names, and the definitions no longer used are dropped. A recursive type (one
//!   whose definition reaches itself) cannot be written out, so its definition stays in
//!   `$defs` and is referenced as before; it is the only reason `$defs` remain;
//! - the top-level schema gets `"type": "object"` when it names no type (MCP requires
//!   object schemas for `inputSchema` and `outputSchema`; arguments and structured
//!   content are objects anyway).
//!
//! - a top-level `$schema` naming 2020-12 is dropped: 2020-12 is MCP's default dialect,
//!   so it says nothing to a conforming client, while the TypeScript SDK 1.20 and older
//!   (a draft-07 Ajv) cannot compile a schema naming it, and so validate no structured
//!   content at all. A `$schema` naming another dialect is kept.
//!
//! `title` is kept: clients ignore it or read it correctly.
//! Schemas this cannot rewrite faithfully (other local references, nested `$id`s,
//! anchors, dynamic references, extreme depth or size) keep their references.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// The formats JSON Schema 2020-12 defines (its validation vocabulary, section 7.3).
const STANDARD_FORMATS: [&str; 19] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Keywords that only annotate: a `$ref` beside nothing else can merge with its target.
const ANNOTATIONS: [&str; 8] =
    ["title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment"];

/// Keywords that give a schema's place in the document rather than constrain values.
const STRUCTURE: [&str; 4] = ["$schema", "$id", "$defs", "definitions"];

/// Keywords that move references away from the document root, or name places other
/// than `$defs`: a schema using them keeps its references.
const RELOCATING: [&str; 5] = ["$anchor", "$dynamicAnchor", "$recursiveAnchor", "$dynamicRef", "$recursiveRef"];

/// How deep a schema may nest for its references to be written out.
const MAX_DEPTH: usize = 96;

/// How many JSON values writing out the references may produce (a type used in many
/// places is copied to each).
const MAX_NODES: usize = 50_000;

/// `schema`, rewritten for clients: standard formats only, definitions written out
/// where they are used, an object type at the top. The full rules are written down at
/// the top of `crates/tenet-server/src/handler/schema.rs`.
///
/// ```
/// use serde_json::json;
///
/// let schema = json!({
///     "$schema": "https://json-schema.org/draft/2020-12/schema",
///     "type": "object",
///     "properties": {
///         "count": {"type": "integer", "format": "uint32", "minimum": 0},
///         "page": {"$ref": "#/$defs/Page"}
///     },
///     "$defs": {"Page": {"type": "object", "properties": {"size": {"type": "number", "format": "float"}}}}
/// });
/// let advertised = tenet_server::advertised_schema(schema);
/// assert_eq!(advertised["properties"]["count"], json!({"type": "integer", "minimum": 0, "maximum": 4294967295u32}));
/// assert_eq!(advertised["properties"]["page"]["properties"]["size"], json!({"type": "number"}));
/// assert!(advertised.get("$defs").is_none());
/// ```
pub fn advertised_schema(schema: Value) -> Value {
    let mut schema = inline_definitions(schema);
    visit(&mut schema, 0, true, &mut |s, narrows| {
        if let Value::Object(map) = s {
            standardize_format(map, narrows);
        }
    });
    let refers_to_root = refers_to_root(&schema);
    if let Value::Object(root) = &mut schema {
        if root.get("$schema").and_then(Value::as_str).is_some_and(|s| s.contains("/draft/2020-12/")) {
            root.remove("$schema");
        }
        if !refers_to_root {
            object_at_top(root);
        }
    }
    schema
}

/// Calls `f` on every schema inside `schema` (children first), up to [`MAX_DEPTH`],
/// with whether narrowing that schema can only narrow the whole (`narrows`: false
/// below a `not`, an `if` or a `oneOf`, where accepting less can accept more); returns
/// whether it reached everything.
fn visit(schema: &mut Value, depth: usize, narrows: bool, f: &mut dyn FnMut(&mut Value, bool)) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let mut complete = true;
    if let Value::Object(map) = schema {
        for (child, monotone) in subschemas(map) {
            complete &= visit(child, depth + 1, narrows && monotone, f);
        }
    }
    f(schema, narrows);
    complete
}

/// The schemas directly inside a schema object, by the 2020-12 applicators (and the
/// draft-07 ones, `additionalItems`, `dependencies` and `definitions`), each with
/// whether it applies monotonically (a narrower child makes a narrower parent). Values
/// of annotations (`default`, `examples`, `const`, `enum`) are data, never visited.
fn subschemas(map: &mut Map<String, Value>) -> Vec<(&mut Value, bool)> {
    let mut out = Vec::new();
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "additionalProperties"
            | "additionalItems"
            | "contains"
            | "propertyNames"
            | "then"
            | "else"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "contentSchema" => out.push((value, true)),
            // Rejecting more here accepts more above.
            "not" | "if" => out.push((value, false)),
            "items" => match value {
                Value::Array(items) => out.extend(items.iter_mut().map(|v| (v, true))),
                item => out.push((item, true)),
            },
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                // `oneOf` passes when exactly one passes: one branch less can make it pass.
                let monotone = key != "oneOf";
                if let Value::Array(items) = value {
                    out.extend(items.iter_mut().map(|v| (v, monotone)));
                }
            }
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" | "dependencies" => {
                if let Value::Object(schemas) = value {
                    // `dependencies` also holds arrays of property names: not schemas,
                    // and nothing is ever done to an array.
                    out.extend(schemas.values_mut().map(|v| (v, true)));
                }
            }
            _ => {}
        }
    }
    out
}

/// Where a definition lives: `$defs` or `definitions`, and its name.
type DefKey = (&'static str, String);

/// The definition a `$ref` names, when it names one of the root's definitions whole.
fn definition_ref(reference: &str) -> Option<DefKey> {
    let pointer = percent_decode(reference.strip_prefix('#')?)?;
    let (container, token) = if let Some(rest) = pointer.strip_prefix("/$defs/") {
        ("$defs", rest)
    } else {
        ("definitions", pointer.strip_prefix("/definitions/")?)
    };
    if token.contains('/') {
        return None;
    }
    Some((container, token.replace("~1", "/").replace("~0", "~")))
}

/// A URI fragment with its `%XX` escapes decoded; `None` if they are not UTF-8.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Appends `/name` to a JSON Pointer, escaped (RFC 6901).
pub(super) fn push_pointer_token(path: &mut String, name: &str) {
    path.push('/');
    path.push_str(&name.replace('~', "~0").replace('/', "~1"));
}

/// Whether some `$ref` points at the whole document (`#`): the top then describes
/// nested values too, and must keep its exact meaning.
fn refers_to_root(schema: &Value) -> bool {
    let mut found = false;
    let mut copy = schema.clone();
    visit(&mut copy, 0, true, &mut |s, _| found |= s.get("$ref").and_then(Value::as_str) == Some("#"));
    found
}

/// The top-level schema as MCP wants it: `"type": "object"`.
fn object_at_top(root: &mut Map<String, Value>) {
    match root.get("type") {
        None => {
            root.insert("type".to_owned(), Value::from("object"));
        }
        Some(Value::Array(types)) if types.iter().any(|t| t == "object") => {
            root.insert("type".to_owned(), Value::from("object"));
        }
        Some(_) => {}
    }
}

/// Writes out the references to non-recursive definitions of `schema`, or returns it
/// unchanged when that cannot be done faithfully.
fn inline_definitions(schema: Value) -> Value {
    let Value::Object(root) = &schema else { return schema };
    let mut definitions: HashMap<DefKey, Value> = HashMap::new();
    for container in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = root.get(container) {
            for (name, def) in defs {
                definitions.insert((container, name.clone()), def.clone());
            }
        }
    }
    if definitions.is_empty() {
        return schema;
    }
    let Some(edges) = scan(&schema, &definitions) else { return schema };
    let recursive = recursive_definitions(&edges);
    let mut inliner = Inliner {
        definitions: &definitions,
        recursive: &recursive,
        written: HashMap::new(),
        nodes: 0,
        siblings_ignored: ignores_ref_siblings(root),
        failed: false,
    };
    let mut work = schema.clone();
    if let Value::Object(root) = &mut work {
        for container in ["$defs", "definitions"] {
            if let Some(Value::Object(defs)) = root.get_mut(container) {
                defs.retain(|name, _| recursive.contains(&(container, name.clone())));
                if defs.is_empty() {
                    root.remove(container);
                }
            }
        }
    }
    let complete = visit(&mut work, 0, true, &mut |s, _| inliner.replace_ref(s, 0));
    if !complete || inliner.failed || depth_exceeds(&work, MAX_DEPTH) {
        return schema;
    }
    work
}

/// Each definition's references to other definitions; `None` when a reference, an
/// `$id` or an anchor means they cannot be written out faithfully.
fn scan(schema: &Value, definitions: &HashMap<DefKey, Value>) -> Option<HashMap<DefKey, Vec<DefKey>>> {
    let mut root = schema.clone();
    if !collect_refs(&mut root, true, definitions, &mut Vec::new()) {
        return None;
    }
    let mut edges = HashMap::new();
    for (key, def) in definitions {
        let mut refs = Vec::new();
        if !collect_refs(&mut def.clone(), false, definitions, &mut refs) {
            return None;
        }
        edges.insert(key.clone(), refs);
    }
    Some(edges)
}

/// The definitions `schema` refers to (the root's own definitions not included when
/// `is_root`); `false` when it holds something that blocks writing them out.
fn collect_refs(
    schema: &mut Value,
    is_root: bool,
    definitions: &HashMap<DefKey, Value>,
    out: &mut Vec<DefKey>,
) -> bool {
    if let Value::Object(map) = schema
        && is_root
    {
        map.remove("$defs");
        map.remove("definitions");
        map.remove("$id");
    }
    let mut ok = true;
    let complete = visit(schema, 0, true, &mut |s, _| {
        let Value::Object(map) = s else { return };
        if map.contains_key("$id") || RELOCATING.iter().any(|k| map.contains_key(*k)) {
            ok = false;
        }
        match map.get("$ref") {
            None => {}
            Some(Value::String(reference)) if reference == "#" => {}
            Some(Value::String(reference)) => match definition_ref(reference) {
                Some(key) if definitions.contains_key(&key) => out.push(key),
                _ => ok = false,
            },
            Some(_) => ok = false,
        }
    });
    ok && complete
}

/// The definitions that reach themselves through references.
fn recursive_definitions(edges: &HashMap<DefKey, Vec<DefKey>>) -> HashSet<DefKey> {
    let mut recursive = HashSet::new();
    for start in edges.keys() {
        let mut seen: HashSet<&DefKey> = HashSet::new();
        let mut stack: Vec<&DefKey> = edges.get(start).map(|e| e.iter().collect()).unwrap_or_default();
        while let Some(key) = stack.pop() {
            if key == start {
                recursive.insert(start.clone());
                break;
            }
            if seen.insert(key) {
                stack.extend(edges.get(key).into_iter().flatten());
            }
        }
    }
    recursive
}

/// Whether the schema dialect (draft-07 and before) ignores the keywords beside `$ref`.
fn ignores_ref_siblings(root: &Map<String, Value>) -> bool {
    root.get("$schema")
        .and_then(Value::as_str)
        .is_some_and(|s| ["draft-04", "draft-06", "draft-07"].iter().any(|d| s.contains(d)))
}

/// Whether `value` nests deeper than `max`.
fn depth_exceeds(value: &Value, max: usize) -> bool {
    if max == 0 {
        return matches!(value, Value::Array(a) if !a.is_empty()) || matches!(value, Value::Object(o) if !o.is_empty());
    }
    match value {
        Value::Array(items) => items.iter().any(|v| depth_exceeds(v, max - 1)),
        Value::Object(map) => map.values().any(|v| depth_exceeds(v, max - 1)),
        _ => false,
    }
}

/// How many JSON values `value` holds (counting stops a little past [`MAX_NODES`]).
fn node_count(value: &Value) -> usize {
    fn count(value: &Value, total: &mut usize) {
        *total += 1;
        if *total > MAX_NODES {
            return;
        }
        match value {
            Value::Array(items) => items.iter().for_each(|v| count(v, total)),
            Value::Object(map) => map.values().for_each(|v| count(v, total)),
            _ => {}
        }
    }
    let mut total = 0;
    count(value, &mut total);
    total
}

/// Replaces references by the definitions they name.
struct Inliner<'a> {
    definitions: &'a HashMap<DefKey, Value>,
    recursive: &'a HashSet<DefKey>,
    /// Definitions already written out (their own references replaced).
    written: HashMap<DefKey, Value>,
    /// Values produced so far.
    nodes: usize,
    siblings_ignored: bool,
    /// Set when a limit was reached: the result must not be used.
    failed: bool,
}

impl Inliner<'_> {
    /// The definition `key`, its own references written out.
    fn written(&mut self, key: &DefKey, depth: usize) -> Option<Value> {
        if let Some(done) = self.written.get(key) {
            return Some(done.clone());
        }
        if depth > MAX_DEPTH {
            self.failed = true;
            return None;
        }
        let mut def = self.definitions.get(key)?.clone();
        let complete = visit(&mut def, 0, true, &mut |s, _| self.replace_ref(s, depth + 1));
        if !complete {
            self.failed = true;
            return None;
        }
        self.written.insert(key.clone(), def.clone());
        Some(def)
    }

    /// Writes out `schema`'s `$ref` when it names a non-recursive definition.
    fn replace_ref(&mut self, schema: &mut Value, depth: usize) {
        if self.failed {
            return;
        }
        let Value::Object(map) = schema else { return };
        let Some(key) = map.get("$ref").and_then(Value::as_str).and_then(definition_ref) else { return };
        if self.recursive.contains(&key) {
            return;
        }
        let Some(def) = self.written(&key, depth) else {
            self.failed = true;
            return;
        };
        self.nodes += node_count(&def);
        if self.nodes > MAX_NODES {
            self.failed = true;
            return;
        }
        map.remove("$ref");
        if self.siblings_ignored {
            map.retain(|k, _| STRUCTURE.contains(&k.as_str()));
        }
        *schema = merge(std::mem::take(map), def);
    }
}

/// The schema `siblings` + `$ref` to `def` (the `$ref` already removed from `siblings`).
fn merge(mut siblings: Map<String, Value>, def: Value) -> Value {
    if siblings.is_empty() {
        return def;
    }
    if def == Value::Bool(true) {
        return Value::Object(siblings);
    }
    if let Value::Object(mut target) = def {
        if siblings.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) {
            // Annotations beside a reference override the target's own.
            target.append(&mut siblings);
            return Value::Object(target);
        }
        return Value::Object(with_all_of(siblings, Value::Object(target)));
    }
    Value::Object(with_all_of(siblings, def))
}

/// `siblings` with `def` added to its `allOf`: both must hold, as with `$ref`.
fn with_all_of(mut siblings: Map<String, Value>, def: Value) -> Map<String, Value> {
    match siblings.get_mut("allOf") {
        Some(Value::Array(all)) => all.push(def),
        _ => {
            siblings.insert("allOf".to_owned(), Value::Array(vec![def]));
        }
    }
    siblings
}

/// The inclusive range of an integer `format`, where it has one JSON can state exactly.
fn integer_bounds(format: &str) -> Option<(i64, Option<i64>)> {
    Some(match format {
        "uint8" | "u8" => (0, Some(i64::from(u8::MAX))),
        "uint16" | "u16" => (0, Some(i64::from(u16::MAX))),
        "uint32" | "u32" => (0, Some(i64::from(u32::MAX))),
        "uint64" | "u64" | "uint128" | "u128" | "uint" | "usize" => (0, None),
        "int8" | "i8" => (i64::from(i8::MIN), Some(i64::from(i8::MAX))),
        "int16" | "i16" => (i64::from(i16::MIN), Some(i64::from(i16::MAX))),
        "int32" | "i32" => (i64::from(i32::MIN), Some(i64::from(i32::MAX))),
        _ => return None,
    })
}

/// Drops a non-standard `format` (an annotation in 2020-12: validation is unchanged),
/// stating an integer format's range instead where a narrower schema cannot accept
/// more (`narrows`).
fn standardize_format(map: &mut Map<String, Value>, narrows: bool) {
    let Some(format) = map.get("format").and_then(Value::as_str) else { return };
    if STANDARD_FORMATS.contains(&format) {
        return;
    }
    let bounds = integer_bounds(format);
    map.remove("format");
    let numeric = match map.get("type") {
        Some(Value::String(t)) => t == "integer" || t == "number",
        Some(Value::Array(types)) => types.iter().any(|t| t == "integer" || t == "number"),
        _ => false,
    };
    if let (Some((min, max)), true, true) = (bounds, numeric, narrows) {
        tighten(map, "minimum", min, |new, old| new > old);
        if let Some(max) = max {
            tighten(map, "maximum", max, |new, old| new < old);
        }
    }
}

/// Sets `keyword` to `bound` unless it already holds a bound at least as tight.
fn tighten(map: &mut Map<String, Value>, keyword: &str, bound: i64, tighter: fn(f64, f64) -> bool) {
    // i64 bounds here are at most 2^32 in size: exact as f64.
    #[allow(clippy::cast_precision_loss)]
    let new = bound as f64;
    match map.get(keyword) {
        Some(old) => {
            if old.as_f64().is_some_and(|old| tighter(new, old)) {
                map.insert(keyword.to_owned(), Value::from(bound));
            }
        }
        None => {
            map.insert(keyword.to_owned(), Value::from(bound));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use schemars::JsonSchema;
    use serde_json::json;

    use super::*;

    fn generated<T: JsonSchema>() -> Value {
        schemars::schema_for!(T).to_value()
    }

    /// Every `$ref` and `format` anywhere in `value`.
    fn refs_and_formats(value: &Value) -> (Vec<String>, Vec<String>) {
        fn walk(value: &Value, refs: &mut Vec<String>, formats: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    for (key, v) in map {
                        match (key.as_str(), v) {
                            ("$ref", Value::String(r)) => refs.push(r.clone()),
                            ("format", Value::String(f)) => formats.push(f.clone()),
                            _ => {}
                        }
                        walk(v, refs, formats);
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, refs, formats)),
                _ => {}
            }
        }
        let (mut refs, mut formats) = (Vec::new(), Vec::new());
        walk(value, &mut refs, &mut formats);
        (refs, formats)
    }

    /// Asserts that `before` and `after` accept exactly the same of `instances`, and
    /// that `after` is a valid 2020-12 schema.
    fn same_verdicts(before: &Value, after: &Value, instances: &[Value]) {
        jsonschema::meta::validate(after).unwrap_or_else(|e| panic!("not a valid schema ({e}): {after:#}"));
        let (b, a) = (jsonschema::validator_for(before).unwrap(), jsonschema::validator_for(after).unwrap());
        for instance in instances {
            assert_eq!(b.is_valid(instance), a.is_valid(instance), "{instance} in {after:#}");
        }
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Numbers {
        a: u8,
        b: u16,
        c: u32,
        d: u64,
        e: usize,
        f: i8,
        g: i16,
        h: i32,
        i: i64,
        j: NonZeroU32,
        k: Option<u32>,
        l: f32,
        m: f64,
        #[schemars(range(min = 1, max = 50))]
        n: u32,
    }

    #[test]
    fn integer_formats_become_bounds_and_float_formats_go() {
        let schema = advertised_schema(generated::<Numbers>());
        let p = &schema["properties"];
        assert_eq!(p["a"], json!({"type": "integer", "minimum": 0, "maximum": 255}));
        assert_eq!(p["b"], json!({"type": "integer", "minimum": 0, "maximum": 65535}));
        assert_eq!(p["c"], json!({"type": "integer", "minimum": 0, "maximum": 4_294_967_295u32}));
        assert_eq!(p["d"], json!({"type": "integer", "minimum": 0}), "u64's maximum is not exact in JSON");
        assert_eq!(p["e"], json!({"type": "integer", "minimum": 0}));
        assert_eq!(p["f"], json!({"type": "integer", "minimum": -128, "maximum": 127}));
        assert_eq!(p["g"], json!({"type": "integer", "minimum": -32768, "maximum": 32767}));
        assert_eq!(p["h"], json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX}));
        assert_eq!(p["i"], json!({"type": "integer"}));
        assert_eq!(
            p["j"],
            json!({"type": "integer", "minimum": 1, "maximum": 4_294_967_295u32}),
            "tighter bounds stay"
        );
        assert_eq!(p["k"], json!({"type": ["integer", "null"], "minimum": 0, "maximum": 4_294_967_295u32}));
        assert_eq!(p["l"], json!({"type": "number"}));
        assert_eq!(p["m"], json!({"type": "number"}));
        assert_eq!(p["n"], json!({"type": "integer", "minimum": 1, "maximum": 50}));
        assert_eq!(refs_and_formats(&schema).1, Vec::<String>::new());

        let before = generated::<Numbers>();
        let base = json!({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "g": 1, "h": 1, "i": 1, "j": 1, "k": null, "l": 1.5, "m": 2.5, "n": 3});
        let mut instances = vec![base.clone()];
        for (field, value) in [("a", json!(-1)), ("c", json!(7)), ("d", json!(-3)), ("j", json!(0)), ("n", json!(51))] {
            let mut instance = base.clone();
            instance[field] = value;
            instances.push(instance);
        }
        same_verdicts(&before, &schema, &instances);
        let mut bigger = base;
        bigger["c"] = json!(4_294_967_296u64);
        assert!(!jsonschema::is_valid(&schema, &bigger), "stricter only where a u32 cannot go");
    }

    #[test]
    fn standard_formats_stay_and_others_go_only_from_schemas() {
        let schema = advertised_schema(json!({
            "type": "object",
            "properties": {
                "format": {"type": "string", "format": "date-time"},
                "when": {"type": "string", "format": "date", "default": {"format": "uint"}},
                "ip": {"type": "string", "format": "ip"},
                "odd": {"type": "string", "format": "uint32"}
            },
            "examples": [{"format": "float"}]
        }));
        assert_eq!(schema["properties"]["format"], json!({"type": "string", "format": "date-time"}));
        assert_eq!(schema["properties"]["when"]["default"], json!({"format": "uint"}), "data is not a schema");
        assert_eq!(schema["properties"]["ip"], json!({"type": "string"}));
        assert_eq!(schema["properties"]["odd"], json!({"type": "string"}), "no numeric bounds on strings");
        assert_eq!(schema["examples"], json!([{"format": "float"}]));
    }

    /// An item of a nested list.
    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Item {
        /// How many.
        count: u32,
        weight: f32,
        kind: Kind,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    enum Kind {
        Small,
        Large,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Order {
        items: Option<Vec<Item>>,
        /// The main item.
        main: Item,
        backup: Option<Item>,
    }

    #[test]
    fn bounds_are_only_added_where_rejecting_more_cannot_accept_more() {
        // Under `not`, `if` and `oneOf`, a bound on a branch would widen the whole: 300
        // fails `not: uint8` before, so it must fail after.
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"not": {"type": "integer", "format": "uint8"}},
                "b": {"oneOf": [{"type": "integer", "format": "uint8"}, {"type": "integer", "minimum": 100}]},
                "c": {"if": {"type": "integer", "format": "uint8"}, "then": {"maximum": 10}},
                "d": {"anyOf": [{"type": "integer", "format": "uint8"}, {"type": "string"}]},
            }
        });
        let advertised = advertised_schema(schema);
        for key in ["a", "b", "c"] {
            let text = advertised["properties"][key].to_string();
            assert!(!text.contains("format") && !text.contains("255"), "{key}: {text}");
        }
        assert_eq!(advertised["properties"]["d"]["anyOf"][0], json!({"type": "integer", "minimum": 0, "maximum": 255}));
        let validator = jsonschema::validator_for(&advertised).unwrap();
        assert!(!validator.is_valid(&json!({"a": 300})), "300 is a u8 to `not`: still refused");
        assert!(!validator.is_valid(&json!({"b": 300})), "300 passes both branches of the oneOf: still refused");
        assert!(!validator.is_valid(&json!({"c": 300})), "300 is an integer, so `then` applies: still refused");
        assert!(validator.is_valid(&json!({"c": 5})));
    }

    #[test]
    fn nested_definitions_are_written_out() {
        let before = generated::<Order>();
        assert!(!refs_and_formats(&before).0.is_empty(), "schemars uses $ref here: {before:#}");
        let schema = advertised_schema(before.clone());
        let (refs, formats) = refs_and_formats(&schema);
        assert!(refs.is_empty() && formats.is_empty(), "{schema:#}");
        assert!(schema.get("$defs").is_none(), "{schema:#}");
        assert_eq!(schema["type"], "object");
        assert!(schema.get("$schema").is_none(), "2020-12 is the default dialect: {schema:#}");
        let items = &schema["properties"]["items"];
        assert_eq!(items["type"], json!(["array", "null"]));
        assert_eq!(items["items"]["properties"]["count"]["maximum"], u32::MAX);
        assert_eq!(items["items"]["properties"]["kind"]["enum"], json!(["Small", "Large"]));
        assert_eq!(schema["properties"]["main"]["description"], "The main item.", "the field's own text wins");
        assert_eq!(schema["properties"]["main"]["required"], json!(["count", "weight", "kind"]));

        let item = json!({"count": 1, "weight": 0.5, "kind": "Small"});
        let instances = [
            json!({"items": null, "main": item, "backup": null}),
            json!({"items": [item, item], "main": item, "backup": item}),
            json!({"items": [{"count": 1, "weight": 0.5, "kind": "Huge"}], "main": item}),
            json!({"items": [], "main": {"count": -1, "weight": 0.5, "kind": "Small"}}),
            json!({"main": {"count": 1, "kind": "Small"}}),
            json!({"items": [item]}),
            json!({"items": "no", "main": item}),
        ];
        same_verdicts(&before, &schema, &instances);
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Tree {
        label: String,
        size: u64,
        children: Vec<Tree>,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Forest {
        trees: Vec<Tree>,
        first: Option<Item>,
    }

    #[test]
    fn recursive_definitions_stay_referenced_and_the_rest_is_written_out() {
        let before = generated::<Forest>();
        let schema = advertised_schema(before.clone());
        let (refs, formats) = refs_and_formats(&schema);
        assert!(formats.is_empty(), "{schema:#}");
        assert!(refs.iter().all(|r| r == "#/$defs/Tree"), "{refs:?}");
        let defs = schema["$defs"].as_object().unwrap();
        assert_eq!(defs.keys().collect::<Vec<_>>(), ["Tree"], "only the recursive type keeps a definition");
        assert_eq!(defs["Tree"]["properties"]["size"], json!({"type": "integer", "minimum": 0}));
        assert_eq!(schema["properties"]["first"]["anyOf"][0]["properties"]["kind"]["enum"], json!(["Small", "Large"]));

        let leaf = json!({"label": "l", "size": 1, "children": []});
        let instances = [
            json!({"trees": [{"label": "a", "size": 2, "children": [leaf, leaf]}], "first": null}),
            json!({"trees": [{"label": "a", "size": 2, "children": [{"label": "x", "size": -1, "children": []}]}]}),
            json!({"trees": [], "first": {"count": 1, "weight": 1.0, "kind": "Large"}}),
            json!({"trees": [{"label": "a", "size": 2}]}),
        ];
        same_verdicts(&before, &schema, &instances);

        // A type that is itself recursive refers to the whole document.
        let tree = advertised_schema(generated::<Tree>());
        assert_eq!(tree["properties"]["children"]["items"]["$ref"], "#");
        same_verdicts(&generated::<Tree>(), &tree, &instances.map(|i| i["trees"][0].clone()));
    }

    #[test]
    fn mutually_recursive_definitions_both_stay() {
        let before = json!({
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/A"}, "leaf": {"$ref": "#/$defs/Leaf"}},
            "$defs": {
                "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}, "leaf": {"$ref": "#/$defs/Leaf"}}},
                "B": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
                "Leaf": {"type": "integer", "format": "uint8"}
            }
        });
        let schema = advertised_schema(before.clone());
        let mut kept: Vec<&String> = schema["$defs"].as_object().unwrap().keys().collect();
        kept.sort();
        assert_eq!(kept, ["A", "B"]);
        assert_eq!(
            schema["$defs"]["A"]["properties"]["leaf"],
            json!({"type": "integer", "minimum": 0, "maximum": 255})
        );
        let instances = [
            json!({"a": {"b": {"a": {"leaf": 3}}}, "leaf": 1}),
            json!({"a": {"b": {"a": {"leaf": "x"}}}}),
            json!({"a": {"b": 5}}),
        ];
        same_verdicts(&before, &schema, &instances);
    }

    #[test]
    fn references_beside_other_keywords_keep_their_meaning() {
        let before = json!({
            "type": "object",
            "properties": {
                "x": {"$ref": "#/definitions/Point", "required": ["y"], "description": "a point"},
                "y": {"$ref": "#/definitions/Point", "allOf": [{"required": ["x"]}]},
                "z": {"$ref": "#/definitions/Any", "type": "string"}
            },
            "definitions": {
                "Point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}},
                "Any": true
            }
        });
        let schema = advertised_schema(before.clone());
        assert!(refs_and_formats(&schema).0.is_empty(), "{schema:#}");
        assert!(schema.get("definitions").is_none());
        assert_eq!(schema["properties"]["x"]["allOf"][0]["type"], "object");
        assert_eq!(schema["properties"]["y"]["allOf"].as_array().unwrap().len(), 2);
        assert_eq!(schema["properties"]["z"], json!({"type": "string"}));
        let instances = [
            json!({"x": {"x": 1, "y": 2}, "y": {"x": 1}, "z": "s"}),
            json!({"x": {"x": 1}}),
            json!({"y": {"y": 1}}),
            json!({"x": {"y": "no"}}),
            json!({"z": 1}),
        ];
        same_verdicts(&before, &schema, &instances);
    }

    #[test]
    fn draft_07_ignores_what_is_beside_a_reference() {
        let before = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"p": {"$ref": "#/definitions/N", "maximum": 1}},
            "definitions": {"N": {"type": "integer"}}
        });
        let schema = advertised_schema(before.clone());
        assert_eq!(schema["properties"]["p"], json!({"type": "integer"}));
        same_verdicts(&before, &schema, &[json!({"p": 5}), json!({"p": "x"})]);
    }

    #[test]
    fn escaped_names_are_resolved() {
        let before = json!({
            "type": "object",
            "properties": {"p": {"$ref": "#/$defs/Wrap%3CT%3E~1x"}},
            "$defs": {"Wrap<T>/x": {"type": "string", "maxLength": 2}}
        });
        let schema = advertised_schema(before.clone());
        assert_eq!(schema["properties"]["p"], json!({"type": "string", "maxLength": 2}));
        assert!(schema.get("$defs").is_none());
        same_verdicts(&before, &schema, &[json!({"p": "ab"}), json!({"p": "abc"}), json!({"p": 1})]);
    }

    #[test]
    fn what_cannot_be_written_out_faithfully_keeps_its_references() {
        for schema in [
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}, "b": {"$ref": "#/properties/a"}}, "$defs": {"A": {"type": "string"}}}),
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A/properties/x"}}, "$defs": {"A": {"properties": {"x": {}}}}}),
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}, "$defs": {"A": {}}}),
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {"A": {"$id": "https://x.example/a", "type": "string"}}}),
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {"A": {"$anchor": "a"}}}),
        ] {
            let advertised = advertised_schema(schema.clone());
            assert_eq!(advertised["$defs"], schema["$defs"], "{schema}");
            assert_eq!(advertised["properties"], schema["properties"], "{schema}");
        }
    }

    #[test]
    fn an_exploding_schema_keeps_its_references() {
        // D0 holds two D1s, each holding two D2s…: written out, 2^40 copies.
        let mut defs = Map::new();
        for i in 0..40 {
            let next = json!({"$ref": format!("#/$defs/D{}", i + 1)});
            defs.insert(format!("D{i}"), json!({"type": "object", "properties": {"l": next, "r": next}}));
        }
        defs.insert("D40".to_owned(), json!({"type": "integer", "format": "uint8"}));
        let schema = json!({"type": "object", "properties": {"root": {"$ref": "#/$defs/D0"}}, "$defs": defs});
        let advertised = advertised_schema(schema.clone());
        assert_eq!(advertised["$defs"].as_object().unwrap().len(), 41);
        assert_eq!(advertised["$defs"]["D40"], json!({"type": "integer", "minimum": 0, "maximum": 255}));
        assert_eq!(advertised["properties"], schema["properties"]);
    }

    #[test]
    fn the_top_is_an_object_schema() {
        #[allow(dead_code)]
        #[derive(JsonSchema)]
        enum Shape {
            Circle { r: f64 },
            Square { side: f64 },
        }
        let schema = advertised_schema(generated::<Shape>());
        assert_eq!(schema["type"], "object");
        assert_eq!(advertised_schema(json!({"type": ["object", "null"]}))["type"], "object");
        assert_eq!(advertised_schema(json!({"type": "string"}))["type"], "string", "not ours to repair");
        let recursive = json!({"type": ["object", "null"], "properties": {"next": {"$ref": "#"}}});
        assert_eq!(advertised_schema(recursive.clone()), recursive, "the top also describes nested values");
    }

    #[test]
    fn rewriting_twice_changes_nothing_more() {
        for schema in [generated::<Order>(), generated::<Forest>(), generated::<Numbers>(), generated::<Tree>()] {
            let once = advertised_schema(schema);
            assert_eq!(advertised_schema(once.clone()), once);
        }
    }

    #[test]
    fn no_input_makes_it_panic() {
        let deep = (0..500).fold(json!({"$ref": "#/$defs/A"}), |inner, _| json!({"items": inner}));
        for schema in [
            json!(null),
            json!(true),
            json!([1, 2]),
            json!({"$defs": 5, "$ref": 3, "format": 7}),
            json!({"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}),
            json!({"$ref": "#/$defs/%ZZ%", "$defs": {"%ZZ%": {}}}),
            json!({"$ref": "#/$defs/%FF", "$defs": {"A": {}}}),
            json!({"type": "object", "properties": {"x": deep}, "$defs": {"A": {"type": "string"}}}),
        ] {
            let _ = advertised_schema(schema);
        }
    }
}
