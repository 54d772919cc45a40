//! Lower-case hexadecimal, the one way ids and digests are written here.

/// `bytes` in lower-case hexadecimal, two digits a byte.
///
/// ```
/// assert_eq!(tenet_server::hex(&[0x0f, 0xa0]), "0fa0");
/// ```
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
