//! The value parsers the CLI's options share (the flags of `serve`, the gateway's and
//! the other commands') and the words for a config file's unknown names, in a module of
//! their own so that every options module can use them without depending on another.

/// The spellings of yes and no that every boolean option (and its environment
/// variable) takes, as container and CI settings write them.
pub const SWITCH_SPELLINGS: &str = "1/0, true/false, yes/no or on/off";

/// The value parser of every boolean option: `1/0`, `true/false`, `yes/no`, `on/off`,
/// in any case.
///
/// # Errors
/// Any other text, with the spellings that are accepted.
pub fn switch(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{s:?} is neither yes nor no: use {SWITCH_SPELLINGS}")),
    }
}

/// The value parser of options in seconds: a number above 0, at most a day.
///
/// # Errors
/// Text that is not such a number.
pub(crate) fn positive_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(v)
    } else {
        Err(format!("{s} must be more than 0 and at most 86400 seconds"))
    }
}

/// "unknown WHAT; expected one of: …", what a config file's table says of a name it
/// does not take (a section, a key).
pub(crate) fn unknown(what: &str, known: impl Iterator<Item = String>) -> String {
    let known: Vec<String> = known.collect();
    format!("unknown {what}; expected one of: {}", known.join(", "))
}
