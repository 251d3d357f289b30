//! The PROXY protocol settings of a connector: which header versions it reads
//! ([`ProxyProtocol`]) and from which source networks ([`Network`]).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// `dbms.connector.<channel>.proxy_protocol`: whether connections from the trusted proxy
/// networks open with a PROXY protocol header, and which version (default `off`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProxyProtocol {
    /// No header is read; a connection that sends one fails as not TLS.
    #[default]
    Off,
    /// The text header (`PROXY TCP4 ...\r\n`, at most 107 bytes).
    V1,
    /// The binary header (16 bytes and the length it announces).
    V2,
    /// Either version.
    Any,
}

impl ProxyProtocol {
    /// The config spelling: `off`, `v1`, `v2` or `any`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyProtocol::Off => "off",
            ProxyProtocol::V1 => "v1",
            ProxyProtocol::V2 => "v2",
            ProxyProtocol::Any => "any",
        }
    }

    /// Whether a header is read at all.
    pub fn is_on(self) -> bool {
        self != ProxyProtocol::Off
    }

    /// Whether the text header (v1) is accepted.
    pub fn accepts_v1(self) -> bool {
        matches!(self, ProxyProtocol::V1 | ProxyProtocol::Any)
    }

    /// Whether the binary header (v2) is accepted.
    pub fn accepts_v2(self) -> bool {
        matches!(self, ProxyProtocol::V2 | ProxyProtocol::Any)
    }
}

impl fmt::Display for ProxyProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `off`, `v1`, `v2` or `any`, case-insensitive.
pub(crate) fn proxy_protocol(raw: &str) -> Result<ProxyProtocol, String> {
    [
        ProxyProtocol::Off,
        ProxyProtocol::V1,
        ProxyProtocol::V2,
        ProxyProtocol::Any,
    ]
    .into_iter()
    .find(|v| v.as_str().eq_ignore_ascii_case(raw))
    .ok_or_else(|| format!("invalid value '{raw}'; expected one of off, v1, v2, any"))
}

/// One network in CIDR form (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a single
/// host), an entry of `dbms.connector.<channel>.proxy_protocol_trusted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as its IPv4
    /// address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), 32, self.prefix)
                    == masked(u128::from(u32::from(ip)), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix)
                    == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// `value`'s top `prefix` bits of `width`.
fn masked(value: u128, width: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let shift = u32::from(width - prefix);
    (value >> shift) << shift
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(raw: &str) -> Result<Network, String> {
        let invalid = || {
            format!(
                "invalid network '{raw}'; expected an address with an optional prefix length \
                 (e.g. 10.0.0.0/8, 127.0.0.1, 2001:db8::/32)"
            )
        };
        let (address, prefix) = match raw.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (raw, None),
        };
        let address: IpAddr = address.parse().map_err(|_| invalid())?;
        let width = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= width)
                    .ok_or_else(invalid)?
            }
            Some(_) => return Err(invalid()),
        };
        Ok(Network { address, prefix })
    }
}

/// A comma-separated list of at least one [`Network`].
pub(crate) fn networks(raw: &str) -> Result<Vec<Network>, String> {
    let list: Vec<Network> = raw
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    if list.is_empty() {
        return Err(format!(
            "invalid value '{raw}'; expected a comma-separated list of networks in CIDR form \
             (e.g. 10.0.0.0/8, 127.0.0.1)"
        ));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn networks_parse_and_match() {
        let list = networks("127.0.0.0/8, 10.1.2.3,2001:db8::/32").expect("list");
        assert_eq!(list.len(), 3);
        assert!(list[0].contains(ip("127.9.9.9")));
        assert!(list[0].contains(ip("::ffff:127.0.0.5")));
        assert!(!list[0].contains(ip("128.0.0.1")));
        assert!(list[1].contains(ip("10.1.2.3")));
        assert!(!list[1].contains(ip("10.1.2.4")));
        assert!(list[2].contains(ip("2001:db8:ffff::1")));
        assert!(!list[2].contains(ip("2001:db9::1")));
        assert!("0.0.0.0/0"
            .parse::<Network>()
            .expect("all")
            .contains(ip("8.8.8.8")));
        assert_eq!(list[0].to_string(), "127.0.0.0/8");
        for bad in [
            "",
            " , ",
            "10.0.0.0/33",
            "10.0.0/8",
            "::/129",
            "1.2.3.4/",
            "x/8",
            "1.2.3.4/-1",
        ] {
            assert!(networks(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protocols_parse() {
        assert_eq!(proxy_protocol("V2"), Ok(ProxyProtocol::V2));
        assert_eq!(proxy_protocol("any"), Ok(ProxyProtocol::Any));
        assert!(proxy_protocol("v3").is_err());
        assert!(ProxyProtocol::Any.accepts_v1() && ProxyProtocol::Any.accepts_v2());
        assert!(!ProxyProtocol::V1.accepts_v2() && !ProxyProtocol::Off.is_on());
    }
}
