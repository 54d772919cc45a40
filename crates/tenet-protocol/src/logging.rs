//! Log levels and log messages.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// RFC 5424 severities, least severe first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoggingLevel {
    /// Debugging detail (the default: a client hears everything until it says otherwise).
    #[default]
    Debug,
    /// Informational.
    Info,
    /// Normal but significant.
    Notice,
    /// Warning.
    Warning,
    /// Error.
    Error,
    /// Critical.
    Critical,
    /// Action must be taken.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl LoggingLevel {
    /// Its name on the wire (`"debug"` … `"emergency"`), as serde writes it.
    ///
    /// ```
    /// use tenet_protocol::LoggingLevel;
    ///
    /// assert_eq!(LoggingLevel::Warning.as_str(), "warning");
    /// assert_eq!(serde_json::to_string(&LoggingLevel::Warning).unwrap(), r#""warning""#);
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Notice => "notice",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
            Self::Alert => "alert",
            Self::Emergency => "emergency",
        }
    }
}

impl fmt::Display for LoggingLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `logging/setLevel` params (legacy).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetLevelParams {
    /// The least severe level the client wants.
    pub level: LoggingLevel,
}

/// `notifications/message` params.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoggingMessageParams {
    /// Severity.
    pub level: LoggingLevel,
    /// The logger's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// Any JSON.
    pub data: Value,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<crate::json::JsonObject>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_is_named_as_serde_writes_and_reads_it() {
        use LoggingLevel::*;
        for level in [Debug, Info, Notice, Warning, Error, Critical, Alert, Emergency] {
            let written = serde_json::to_string(&level).expect("writable");
            assert_eq!(written, format!("\"{}\"", level.as_str()));
            assert_eq!(serde_json::from_str::<LoggingLevel>(&written).expect("readable"), level);
            assert_eq!(level.to_string(), level.as_str());
        }
    }
}
