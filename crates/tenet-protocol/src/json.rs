//! A JSON object: the shape of `_meta` and of open-ended settings, which every part
//! of the protocol uses.

use serde_json::{Map, Value};

/// A JSON object, as used for `_meta` and open-ended capability settings.
pub type JsonObject = Map<String, Value>;
