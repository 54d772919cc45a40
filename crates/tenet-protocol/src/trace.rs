//! W3C Trace Context (`traceparent`, `tracestate`) as carried in a request's `_meta`.
//!
//! MCP reserves OpenTelemetry's `traceparent` and `tracestate` keys in `_meta`, so a
//! caller's trace continues through the server. A header that does not follow the W3C
//! rules is ignored, never an error: tracing must not break a request.
//!
//! ```
//! use tenet_protocol::{SpanId, TraceContext};
//!
//! let caller = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
//! assert_eq!(caller.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert!(caller.sampled());
//!
//! // Requests we send on the caller's behalf continue its trace from our own span.
//! let ours = caller.child(SpanId::from_bytes([1, 2, 3, 4, 5, 6, 7, 8]).unwrap());
//! assert_eq!(ours.traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01");
//!
//! assert!(TraceContext::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
//! ```

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::json::JsonObject;

/// `_meta` key: the caller's W3C `traceparent`.
pub const TRACEPARENT_KEY: &str = "traceparent";
/// `_meta` key: the caller's W3C `tracestate` (vendor entries, passed on unchanged).
pub const TRACESTATE_KEY: &str = "tracestate";

/// The longest `tracestate` kept (the W3C limit for propagation is 512 characters).
const MAX_TRACESTATE: usize = 512;
/// The only flag version 00 defines: the caller may have recorded its span.
const SAMPLED: u8 = 0x01;

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $len:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name([u8; $len]);

        impl $name {
            /// The id of these bytes; `None` when they are all zero (invalid per W3C).
            pub fn from_bytes(bytes: [u8; $len]) -> Option<Self> {
                bytes.iter().any(|&b| b != 0).then_some(Self(bytes))
            }

            /// The raw bytes.
            pub fn to_bytes(self) -> [u8; $len] {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }
    };
}

hex_id!(
    /// A 16-byte trace id, never all zero; shown as 32 lowercase hex digits.
    TraceId,
    16
);
hex_id!(
    /// An 8-byte span id, never all zero; shown as 16 lowercase hex digits.
    SpanId,
    8
);

/// A valid W3C trace context: which trace a request belongs to, the span that sent it,
/// its flags, and the vendors' `tracestate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: TraceId,
    parent_id: SpanId,
    flags: u8,
    state: Option<String>,
}

/// `N` bytes from exactly `2N` lowercase hex digits.
fn lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

impl TraceContext {
    /// Parses a `traceparent` value: `version-traceid-parentid-flags`, lowercase hex.
    ///
    /// Version `00` must be exactly that; a later version may append `-` and more
    /// fields, which are ignored (its first four fields are read as version 00's).
    /// Version `ff`, uppercase hex, all-zero ids and wrong lengths are invalid.
    pub fn parse(traceparent: &str) -> Option<Self> {
        let text = traceparent.trim_matches([' ', '\t']);
        let [version] = lower_hex::<1>(text.get(..2)?)?;
        if version == 0xff || (version == 0 && text.len() != 55) {
            return None;
        }
        if text.len() > 55 && text.as_bytes()[55] != b'-' {
            return None;
        }
        let fields = text.get(2..55)?;
        let mut parts = fields.split('-');
        let (Some(""), Some(trace), Some(parent), Some(flags), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Self {
            trace_id: TraceId::from_bytes(lower_hex(trace)?)?,
            parent_id: SpanId::from_bytes(lower_hex(parent)?)?,
            flags: lower_hex::<1>(flags)?[0],
            state: None,
        })
    }

    /// Keeps `tracestate` alongside, when it is at most 512 printable ASCII
    /// characters; otherwise it is dropped (the `traceparent` stays valid).
    #[must_use]
    pub fn with_state(mut self, tracestate: &str) -> Self {
        let state = tracestate.trim_matches([' ', '\t']);
        let printable = state.bytes().all(|b| (0x20..=0x7e).contains(&b));
        self.state = (printable && !state.is_empty() && state.len() <= MAX_TRACESTATE).then(|| state.to_owned());
        self
    }

    /// The trace context in a request's `_meta` object, if it holds a valid one.
    pub fn from_meta(meta: &JsonObject) -> Option<Self> {
        let parent = Self::parse(meta.get(TRACEPARENT_KEY)?.as_str()?)?;
        match meta.get(TRACESTATE_KEY).and_then(serde_json::Value::as_str) {
            Some(state) => Some(parent.with_state(state)),
            None => Some(parent),
        }
    }

    /// Writes `traceparent` (and `tracestate`, if any) into a `_meta` object.
    pub fn write_meta(&self, meta: &mut JsonObject) {
        meta.insert(TRACEPARENT_KEY.into(), self.traceparent().into());
        if let Some(state) = &self.state {
            meta.insert(TRACESTATE_KEY.into(), state.clone().into());
        }
    }

    /// The trace this request belongs to.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The caller's span: the parent of whatever the receiver does.
    pub fn parent_id(&self) -> SpanId {
        self.parent_id
    }

    /// The trace flags as received.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the caller may have recorded its span (flag `01`).
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }

    /// The vendors' `tracestate`, if one came with it and was valid.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The context for requests made from within the span `span`: the same trace,
    /// `span` as their parent, the sampled flag (the only one version 00 defines)
    /// and the same `tracestate`.
    #[must_use]
    pub fn child(&self, span: SpanId) -> Self {
        Self { trace_id: self.trace_id, parent_id: span, flags: self.flags & SAMPLED, state: self.state.clone() }
    }

    /// A context that starts trace `trace_id` at span `span` (a root: no caller sent
    /// one), sampled or not.
    pub fn root(trace_id: TraceId, span: SpanId, sampled: bool) -> Self {
        Self { trace_id, parent_id: span, flags: if sampled { SAMPLED } else { 0 }, state: None }
    }

    /// The same context with the sampled flag set as `sampled` says: what a
    /// receiver that decided for itself passes on.
    #[must_use]
    pub fn with_sampled(mut self, sampled: bool) -> Self {
        self.flags = if sampled { self.flags | SAMPLED } else { self.flags & !SAMPLED };
        self
    }

    /// The `traceparent` value, in version 00.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.parent_id, self.flags)
    }

    /// A serde `deserialize_with` for a `traceparent` member: a valid one parses,
    /// anything else — wrong type, wrong form — reads as `None` instead of failing.
    ///
    /// # Errors
    /// Only when the input itself is not valid JSON.
    pub fn deserialize_lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        deserializer.deserialize_any(Lenient(Self::parse))
    }
}

/// A serde `deserialize_with` for an optional text member read leniently: a string
/// is kept, a value of any other type reads as `None` instead of failing.
///
/// # Errors
/// Only when the input itself is not valid JSON.
pub fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_any(Lenient(|s: &str| Some(s.to_owned())))
}

/// Reads a string through `F`, and anything else as `None`.
struct Lenient<F>(F);

impl<'de, T, F: FnOnce(&str) -> Option<T>> Visitor<'de> for Lenient<F> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok((self.0)(v))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_parses_into_its_fields() {
        let t = TraceContext::parse(VALID).unwrap();
        assert_eq!(t.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.parent_id().to_string(), "00f067aa0ba902b7");
        assert_eq!(t.flags(), 1);
        assert!(t.sampled());
        assert_eq!(t.traceparent(), VALID);
        let unsampled = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
        assert!(!unsampled.sampled());
    }

    #[test]
    fn uppercase_hex_is_invalid() {
        assert!(TraceContext::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").is_none());
        assert!(TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01").is_none());
        assert!(TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A").is_none());
    }

    #[test]
    fn all_zero_ids_are_invalid() {
        assert!(TraceContext::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
        assert!(TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01").is_none());
    }

    #[test]
    fn wrong_lengths_and_shapes_are_invalid() {
        for bad in [
            "",
            "00",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902g7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\u{e9}",
        ] {
            assert!(TraceContext::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_future_version_is_read_as_version_00_and_its_extra_fields_ignored() {
        let t = TraceContext::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds")
            .unwrap();
        assert_eq!(t.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.traceparent(), VALID, "we answer in version 00");
        assert!(TraceContext::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").is_some());
        assert!(
            TraceContext::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.more").is_none(),
            "more fields must follow a dash"
        );
    }

    #[test]
    fn a_child_keeps_the_trace_and_state_and_names_the_new_parent() {
        let caller = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03").unwrap();
        let caller = caller.with_state("vendor=abc,other=1");
        let span = SpanId::from_bytes([0xab; 8]).unwrap();
        let child = caller.child(span);
        assert_eq!(child.trace_id(), caller.trace_id());
        assert_eq!(child.parent_id(), span);
        assert_eq!(format!("{span:?}"), "SpanId(abababababababab)");
        assert_eq!(SpanId::from_bytes(span.to_bytes()), Some(span));
        assert_eq!(TraceId::from_bytes([0; 16]), None);
        assert_eq!(child.flags(), 1, "only the sampled flag is propagated");
        assert_eq!(child.state(), Some("vendor=abc,other=1"));
        let mut meta = JsonObject::new();
        child.write_meta(&mut meta);
        assert_eq!(meta[TRACEPARENT_KEY], "00-4bf92f3577b34da6a3ce929d0e0e4736-abababababababab-01");
        assert_eq!(TraceContext::from_meta(&meta), Some(child));
    }

    #[test]
    fn a_bad_tracestate_is_dropped_but_the_traceparent_kept() {
        let t = TraceContext::parse(VALID).unwrap();
        assert_eq!(t.clone().with_state("a=b\n").state(), None);
        assert_eq!(t.clone().with_state(&"x".repeat(513)).state(), None);
        assert_eq!(t.clone().with_state("").state(), None);
        assert_eq!(t.with_state(" a=b ").state(), Some("a=b"));
    }

    #[test]
    fn lenient_members_never_fail() {
        #[derive(serde::Deserialize)]
        struct Meta {
            #[serde(default, deserialize_with = "TraceContext::deserialize_lenient")]
            traceparent: Option<TraceContext>,
            #[serde(default, deserialize_with = "lenient_string")]
            tracestate: Option<String>,
        }
        let read = |json: &str| serde_json::from_str::<Meta>(json).unwrap();
        let m = read(&format!(r#"{{"traceparent":"{VALID}","tracestate":"a=b"}}"#));
        assert!(m.traceparent.is_some());
        assert_eq!(m.tracestate.as_deref(), Some("a=b"));
        for junk in [r#"{"traceparent":1,"tracestate":[1,{"a":2}]}"#, r#"{"traceparent":{"x":[]},"tracestate":null}"#] {
            let m = read(junk);
            assert!(m.traceparent.is_none() && m.tracestate.is_none(), "{junk}");
        }
        assert!(read(r#"{"traceparent":"00-bad"}"#).traceparent.is_none());
    }
}
