//! [`Target`]: the peer a [`TlsConnector`](super::TlsConnector) dials, host and port, and the
//! name its certificate is checked against.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// A peer to dial: `host` (a DNS name or an IP address) and `port`.
///
/// The TLS server name (sent as SNI when it is a DNS name, and matched against the server's
/// certificate when the policy has `verify_hostname=true`) is the host, unless
/// [`Target::with_server_name`] sets another one (to dial an IP address and verify a DNS name).
///
/// ```
/// use tls_policy::connector::Target;
///
/// let target: Target = "cluster-2.example.net:6000".parse()?;
/// assert_eq!((target.host(), target.port()), ("cluster-2.example.net", 6000));
/// let v6: Target = "[::1]:7000".parse()?;
/// assert_eq!(v6.to_string(), "[::1]:7000");
/// let by_ip = Target::new("10.0.0.7", 6000).with_server_name("cluster-2.example.net");
/// assert_eq!(by_ip.server_name(), "cluster-2.example.net");
/// # Ok::<(), tls_policy::connector::InvalidTarget>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    host: String,
    port: u16,
    server_name: Option<String>,
}

impl Target {
    /// `host` (DNS name or IP address; an IPv6 address may be written in brackets) and `port`.
    pub fn new(host: impl Into<String>, port: u16) -> Target {
        let host = host.into();
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(inner) => inner.to_owned(),
            None => host,
        };
        Target {
            host,
            port,
            server_name: None,
        }
    }

    /// Verifies (and sends as SNI) `server_name` instead of the host dialled.
    pub fn with_server_name(mut self, server_name: impl Into<String>) -> Target {
        self.server_name = Some(server_name.into());
        self
    }

    /// The host dialled, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port dialled.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS server name: the one set by [`Target::with_server_name`], else the host.
    pub fn server_name(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.host)
    }
}

impl fmt::Display for Target {
    /// `host:port`, with an IPv6 host in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl From<(String, u16)> for Target {
    fn from((host, port): (String, u16)) -> Target {
        Target::new(host, port)
    }
}

impl From<(&str, u16)> for Target {
    fn from((host, port): (&str, u16)) -> Target {
        Target::new(host, port)
    }
}

impl From<(IpAddr, u16)> for Target {
    fn from((ip, port): (IpAddr, u16)) -> Target {
        Target::new(ip.to_string(), port)
    }
}

impl From<SocketAddr> for Target {
    fn from(addr: SocketAddr) -> Target {
        Target::new(addr.ip().to_string(), addr.port())
    }
}

impl FromStr for Target {
    type Err = InvalidTarget;

    /// Parses `host:port` or `[ipv6]:port`.
    fn from_str(text: &str) -> Result<Target, InvalidTarget> {
        let invalid = |why: &'static str| InvalidTarget {
            text: text.to_owned(),
            why,
        };
        let text = text.trim();
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| invalid("expected host:port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| invalid("the port must be a number from 0 to 65535"))?;
        let bracketed = host.starts_with('[') && host.ends_with(']');
        if host.contains(':') && !bracketed {
            return Err(invalid("write an IPv6 address in brackets: [::1]:port"));
        }
        if host.is_empty() || host == "[]" {
            return Err(invalid("the host is empty"));
        }
        Ok(Target::new(host, port))
    }
}

/// A [`Target`] that did not parse, with what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid target '{text}': {why}")]
#[non_exhaustive]
pub struct InvalidTarget {
    text: String,
    why: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_addresses() {
        let t: Target = "localhost:7687".parse().unwrap();
        assert_eq!(
            (t.host(), t.port(), t.server_name()),
            ("localhost", 7687, "localhost")
        );
        let t: Target = "[::1]:1".parse().unwrap();
        assert_eq!((t.host(), t.to_string().as_str()), ("::1", "[::1]:1"));
        assert_eq!(Target::from(("127.0.0.1", 5)).to_string(), "127.0.0.1:5");
    }

    #[test]
    fn refuses_what_is_not_host_port() {
        for bad in [
            "localhost",
            "localhost:http",
            "::1:80",
            ":80",
            "[]:80",
            "h:70000",
        ] {
            let err = bad.parse::<Target>().unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
