//! Every MCP spec version, and what each allows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A published MCP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// The first public version: stdio and HTTP+SSE.
    V2024_11_05,
    /// Streamable HTTP, OAuth, batching (the only version with batches), audio, annotations.
    V2025_03_26,
    /// Structured tool output, elicitation, resource links; batching removed.
    V2025_06_18,
    /// Icons, URL elicitation, experimental tasks; the last version with `initialize`.
    V2025_11_25,
    /// The stateless redesign: `server/discover`, per-request `_meta`, MRTR.
    V2026_07_28,
}

/// Which half of MCP a version belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Era {
    /// 2024-11-05 to 2025-11-25: `initialize` handshake, sessions, server → client requests.
    Legacy,
    /// 2026-07-28 and later: every request stands alone and carries its version in `_meta`.
    Stateless,
}

impl ProtocolVersion {
    /// Every version, oldest first.
    pub const ALL: [Self; 5] =
        [Self::V2024_11_05, Self::V2025_03_26, Self::V2025_06_18, Self::V2025_11_25, Self::V2026_07_28];
    /// The newest version that uses the `initialize` handshake.
    pub const LATEST_LEGACY: Self = Self::V2025_11_25;
    /// The newest version.
    pub const LATEST: Self = Self::V2026_07_28;

    /// The version's date string, e.g. `"2025-11-25"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// The version named by `s`, if it is one we know.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Which era the version belongs to.
    pub const fn era(self) -> Era {
        match self {
            Self::V2026_07_28 => Era::Stateless,
            _ => Era::Legacy,
        }
    }

    /// Whether JSON-RPC batches are allowed (2025-03-26 only).
    pub const fn allows_batches(self) -> bool {
        matches!(self, Self::V2025_03_26)
    }

    /// Whether an error about a message whose id could not be read leaves `id` out, as
    /// MCP's schema has it since 2025-11-25; earlier versions write `"id": null`
    /// (JSON-RPC 2.0).
    pub const fn omits_unknown_ids(self) -> bool {
        !matches!(self, Self::V2024_11_05 | Self::V2025_03_26 | Self::V2025_06_18)
    }

    /// Whether Streamable HTTP streams open with a priming event (an event id, a
    /// `retry` delay and empty data) and the server may end a stream before its
    /// response for the client to poll (SSE polling, SEP-1699): 2025-11-25 only.
    /// Earlier clients parse every `data:` as JSON; 2026-07-28 has no resumability.
    pub const fn has_sse_priming(self) -> bool {
        matches!(self, Self::V2025_11_25)
    }

    /// Whether a server may answer -32042 (URL elicitation required) to a client that
    /// declared URL elicitation: 2025-11-25 only (2026-07-28 asks in an input round).
    pub const fn has_url_elicitation_error(self) -> bool {
        matches!(self, Self::V2025_11_25)
    }

    /// The versions a client may negotiate with `initialize`.
    pub fn legacy() -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(|v| v.era() == Era::Legacy)
    }

    /// The versions a client may name in a request's `_meta`.
    pub fn stateless() -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(|v| v.era() == Era::Stateless)
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a version string we do not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVersion(pub String);

impl fmt::Display for UnknownVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown protocol version {:?}", self.0)
    }
}

impl std::error::Error for UnknownVersion {}

impl FromStr for ProtocolVersion {
    type Err = UnknownVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownVersion(s.to_owned()))
    }
}

impl Serialize for ProtocolVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_round_trip_and_order() {
        for v in ProtocolVersion::ALL {
            assert_eq!(ProtocolVersion::parse(v.as_str()), Some(v));
        }
        assert!(ProtocolVersion::V2024_11_05 < ProtocolVersion::LATEST);
        assert_eq!(ProtocolVersion::parse("2099-01-01"), None);
    }

    #[test]
    fn only_2025_03_26_has_batches() {
        let with: Vec<_> = ProtocolVersion::ALL.into_iter().filter(|v| v.allows_batches()).collect();
        assert_eq!(with, [ProtocolVersion::V2025_03_26]);
    }

    #[test]
    fn eras_split_at_2026() {
        assert_eq!(ProtocolVersion::legacy().count(), 4);
        assert_eq!(ProtocolVersion::stateless().collect::<Vec<_>>(), [ProtocolVersion::V2026_07_28]);
    }
}
