//! A JSON object: the shape of `_meta` and of open-ended settings, which every part
//! of the protocol uses.

use serde_json::{Map, Value};

/// A JSON object, as used for `_meta` and open-ended capability settings.
pub type JsonObject = Map<String, Value>;

/// Whether `json`, the JSON text (already checked) of a member's value in a result,
/// reads into a `serde_json` tree as it is written, within a typed read of that result:
/// nothing in it that a tree refuses or changes. It may not when a number is written
/// with an exponent or with more than 15 characters (a tree refuses `1e400` and rounds
/// long ones), a name is given twice (a tree keeps the last), an escape may be half of a
/// UTF-16 pair (a tree refuses a lone one; a pair is let go too, for a full read), or it
/// nests deeper than a message may hold it (127 levels with the result's own, as many
/// as a typed read takes). Names that differ only in case, or hold a NUL, are let go too
/// ([`tenet_jsonrpc::unambiguous`]). `false` says only that the text must be read to be
/// known.
pub(crate) fn reads_as_written(json: &str) -> bool {
    tenet_jsonrpc::unambiguous_below(json, 2) && !may_hold_surrogate(json)
}

/// Whether JSON text `json` may hold an escaped UTF-16 surrogate (`\uD800` to
/// `\uDFFF`), which a reader of text refuses when it stands alone. Any `\ud` or `\uD`
/// counts, an escaped backslash before a `ud` included.
pub(crate) fn may_hold_surrogate(json: &str) -> bool {
    // Most text holds no escape at all: one plain look tells.
    json.as_bytes().contains(&b'\\')
        && json.match_indices("\\u").any(|(at, _)| matches!(json.as_bytes().get(at + 2), Some(b'd' | b'D')))
}
