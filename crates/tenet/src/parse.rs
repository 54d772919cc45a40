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

/// The value parser of a network: CIDR notation (`10.0.0.0/8`, `2001:db8::/32`), or a
/// single address (`192.0.2.1`, as `/32`; an IPv6 address as `/128`).
///
/// # Errors
/// Text that is neither, or a prefix longer than the address.
pub(crate) fn network(s: &str) -> Result<tenet_http::IpNet, String> {
    let s = s.trim();
    if let Ok(net) = s.parse::<tenet_http::IpNet>() {
        // An IPv4-mapped network is its IPv4 network (peers are compared as IPv4).
        if let tenet_http::IpNet::V6(v6) = net
            && let Some(v4) = v6.addr().to_ipv4_mapped()
            && v6.prefix_len() >= 96
        {
            return tenet_http::IpNet::new(v4.into(), v6.prefix_len() - 96)
                .map(|n| n.trunc())
                .map_err(|e| e.to_string());
        }
        return Ok(net.trunc());
    }
    s.parse::<std::net::IpAddr>()
        .map(|ip| tenet_http::IpNet::from(ip.to_canonical()))
        .map_err(|_| format!("{s:?} is neither a network (10.0.0.0/8, 2001:db8::/32) nor an address"))
}

/// "unknown WHAT; expected one of: …", what a config file's table says of a name it
/// does not take (a section, a key).
pub(crate) fn unknown(what: &str, known: impl Iterator<Item = String>) -> String {
    let known: Vec<String> = known.collect();
    format!("unknown {what}; expected one of: {}", known.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_is_cidr_or_one_address_and_anything_else_is_refused_by_name() {
        let net = |s: &str| network(s).map(|n| n.to_string());
        assert_eq!(net("10.0.0.0/8").unwrap(), "10.0.0.0/8");
        assert_eq!(net(" 10.1.2.3/8 ").unwrap(), "10.0.0.0/8", "host bits dropped");
        assert_eq!(net("192.0.2.1").unwrap(), "192.0.2.1/32");
        assert_eq!(net("::ffff:192.0.2.1").unwrap(), "192.0.2.1/32", "an IPv4-mapped address is its IPv4 address");
        assert_eq!(net("2001:db8::1").unwrap(), "2001:db8::1/128");
        assert_eq!(net("2001:db8::/32").unwrap(), "2001:db8::/32");
        assert_eq!(net("::ffff:10.1.0.0/104").unwrap(), "10.0.0.0/8", "an IPv4-mapped network is its IPv4 network");
        for bad in ["", "proxy.internal", "10.0.0.0/33", "10.0.0.0/8/8", "2001:db8::/129"] {
            let error = network(bad).unwrap_err();
            assert!(error.contains(&format!("{:?}", bad.trim())), "{bad}: {error}");
        }
    }
}
