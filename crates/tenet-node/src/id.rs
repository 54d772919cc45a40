//! New node ids.

use tenet_protocol::NodeId;

/// A new random node id: 16 hex digits (64 bits), from the system's random source.
///
/// # Errors
/// When the system has no random source to give.
pub fn generate() -> Result<NodeId, getrandom::Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // 16 hex digits are a valid id.
    hex.parse().map_err(|_| getrandom::Error::UNEXPECTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_and_differ() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 16);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
