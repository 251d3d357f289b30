//! `allowed_peers`: the identity patterns a policy admits, parsed once and matched against a
//! verified peer's [`PeerIdentity`].
//!
//! A list is a comma-separated set of patterns; a peer is admitted when any one matches:
//!
//! | pattern | matches |
//! |---|---|
//! | `dns:api.example.org`, `dns:*.example.org` | a DNS SAN, case-insensitive, a trailing dot ignored; `*` is a whole leftmost label and matches exactly one label |
//! | `uri:spiffe://example.org/ns/prod/sa/*` | a URI SAN; scheme and host case-insensitive, the path exact, segment by segment; `*` is a whole path segment and matches exactly one non-empty segment (any number of `*` segments, none in the scheme or host) |
//! | `ip:10.1.2.3`, `ip:10.0.0.0/8`, `ip:2001:db8::/32` | an IP SAN equal to the address or inside the network (IPv4 and IPv6 kept apart) |
//! | `cn:client-1` | the subject's (first) common name, exactly |
//! | `ou:payments` | any organizational unit of the subject, exactly |
//! | `sha256:AB:CD:…` | the SHA-256 fingerprint of the leaf's DER: 64 hex digits, case-insensitive, with or without `:` between the bytes (as `openssl x509 -fingerprint -sha256` prints it) |
//! | `spki-sha256:…` | the SHA-256 of the leaf's SubjectPublicKeyInfo (a key pin surviving re-issuance with the same key): 64 hex digits (colons allowed as above) or 44 characters of padded standard base64, the form of HPKP's `pin-sha256` and Envoy's `verify_certificate_spki` |
//!
//! A pattern that could never match (unknown prefix, bad address or prefix length, host bits
//! set in a network, `*` anywhere but a whole DNS label or URI path segment, a digest of the
//! wrong length, nothing after the prefix) is a parse error naming it.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use base64::Engine as _;

use crate::PeerIdentity;

/// A parsed, non-empty `allowed_peers` list: admits a peer when any pattern matches.
///
/// ```
/// # use tls_policy_backend as tls_policy; // users write `tls_policy::`
/// use tls_policy::AllowedPeers;
///
/// let list: AllowedPeers = "uri:spiffe://example.org/ns/prod/sa/*, dns:*.internal".parse()?;
/// assert_eq!(list.patterns().len(), 2);
/// assert!("dns:ex*ample.com".parse::<AllowedPeers>().is_err());
/// # Ok::<(), tls_policy::PatternError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedPeers {
    patterns: Vec<PeerPattern>,
}

impl AllowedPeers {
    /// The list from patterns already parsed; `None` when `patterns` is empty (a list that
    /// admits nobody is refused rather than built).
    pub fn new(patterns: Vec<PeerPattern>) -> Option<AllowedPeers> {
        (!patterns.is_empty()).then_some(AllowedPeers { patterns })
    }

    /// The patterns, in the order written.
    pub fn patterns(&self) -> &[PeerPattern] {
        &self.patterns
    }

    /// Whether any pattern matches `peer`.
    pub fn admits(&self, peer: &PeerIdentity) -> bool {
        self.patterns.iter().any(|pattern| pattern.matches(peer))
    }

    /// Whether every pattern pins a certificate or a key (`sha256:`, `spki-sha256:`): the only
    /// kind that still means something when the chain is not verified (`trust_all`), since
    /// anyone can issue themselves a certificate with any name.
    pub fn only_pins(&self) -> bool {
        self.patterns.iter().all(PeerPattern::is_pin)
    }
}

impl FromStr for AllowedPeers {
    type Err = PatternError;

    /// Parses a comma-separated list; blanks around each pattern are ignored, an empty entry
    /// (`a,,b`, a trailing comma, an empty value) is an error.
    fn from_str(list: &str) -> Result<AllowedPeers, PatternError> {
        if list.trim().is_empty() {
            return Err(PatternError::new(
                list,
                "the list is empty, which would admit no peer; give at least one pattern, or \
                 remove the setting to admit every peer whose certificate verifies",
            ));
        }
        let patterns = list
            .split(',')
            .map(|pattern| pattern.trim().parse())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AllowedPeers { patterns })
    }
}

impl fmt::Display for AllowedPeers {
    /// The patterns in canonical form, separated by `,`: parses back to the same list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pattern) in self.patterns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{pattern}")?;
        }
        Ok(())
    }
}

// === PeerPattern ===

/// One `allowed_peers` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerPattern {
    /// `dns:`: a DNS SAN, labels lower-case, `None` for the one wildcard label (leftmost only).
    Dns(Vec<Option<String>>),
    /// `uri:`: a URI SAN.
    Uri(UriPattern),
    /// `ip:`: an IP SAN inside the network (an address is a full-length network).
    Ip {
        /// The network address (host bits zero).
        network: IpAddr,
        /// The prefix length: up to 32 for IPv4, 128 for IPv6.
        prefix: u8,
    },
    /// `cn:`: the subject's first common name.
    Cn(String),
    /// `ou:`: any organizational unit of the subject.
    Ou(String),
    /// `sha256:`: the SHA-256 fingerprint of the leaf certificate's DER.
    Sha256([u8; 32]),
    /// `spki-sha256:`: the SHA-256 of the leaf's SubjectPublicKeyInfo.
    SpkiSha256([u8; 32]),
}

/// The parsed form of a `uri:` pattern: `scheme://host` (lower-case) and the path segments after
/// it, `None` for a `*` segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriPattern {
    scheme: String,
    authority: String,
    segments: Vec<Option<String>>,
}

impl PeerPattern {
    /// Whether the pattern matches `peer`.
    pub fn matches(&self, peer: &PeerIdentity) -> bool {
        match self {
            PeerPattern::Dns(labels) => peer.dns_names.iter().any(|name| dns_matches(labels, name)),
            PeerPattern::Uri(pattern) => peer.uris.iter().any(|uri| pattern.matches(uri)),
            PeerPattern::Ip { network, prefix } => peer
                .ip_addresses
                .iter()
                .any(|ip| in_network(*ip, *network, *prefix)),
            PeerPattern::Cn(cn) => peer.common_name.as_deref() == Some(cn.as_str()),
            PeerPattern::Ou(ou) => peer.organizational_units.iter().any(|unit| unit == ou),
            PeerPattern::Sha256(digest) => peer.sha256_fingerprint == *digest,
            PeerPattern::SpkiSha256(digest) => peer.spki_sha256 == *digest,
        }
    }

    /// Whether the pattern pins a certificate or key rather than naming an identity.
    pub fn is_pin(&self) -> bool {
        matches!(self, PeerPattern::Sha256(_) | PeerPattern::SpkiSha256(_))
    }
}

impl FromStr for PeerPattern {
    type Err = PatternError;

    fn from_str(pattern: &str) -> Result<PeerPattern, PatternError> {
        let bad = |message: &str| PatternError::new(pattern, message);
        if pattern.is_empty() {
            return Err(bad("empty pattern (a stray comma?)"));
        }
        let Some((prefix, value)) = pattern.split_once(':') else {
            return Err(bad(PREFIXES_EXPECTED));
        };
        if value.is_empty() {
            return Err(bad("nothing after the prefix"));
        }
        match prefix.to_ascii_lowercase().as_str() {
            "dns" => dns_pattern(value).map(PeerPattern::Dns),
            "uri" => uri_pattern(value).map(PeerPattern::Uri),
            "ip" => ip_pattern(value).map(|(network, prefix)| PeerPattern::Ip { network, prefix }),
            "cn" => exact(value).map(PeerPattern::Cn),
            "ou" => exact(value).map(PeerPattern::Ou),
            "sha256" => hex_digest(value).map(PeerPattern::Sha256),
            "spki-sha256" => spki_digest(value).map(PeerPattern::SpkiSha256),
            _ => Err(PREFIXES_EXPECTED.to_owned()),
        }
        .map_err(|message| bad(&message))
    }
}

const PREFIXES_EXPECTED: &str =
    "unknown kind of pattern; expected one of dns:, uri:, ip:, cn:, ou:, sha256:, spki-sha256:";

impl fmt::Display for PeerPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerPattern::Dns(labels) => {
                f.write_str("dns:")?;
                let labels: Vec<&str> =
                    labels.iter().map(|l| l.as_deref().unwrap_or("*")).collect();
                f.write_str(&labels.join("."))
            }
            PeerPattern::Uri(uri) => write!(f, "uri:{uri}"),
            PeerPattern::Ip { network, prefix } => {
                let full = if network.is_ipv4() { 32 } else { 128 };
                if *prefix == full {
                    write!(f, "ip:{network}")
                } else {
                    write!(f, "ip:{network}/{prefix}")
                }
            }
            PeerPattern::Cn(cn) => write!(f, "cn:{cn}"),
            PeerPattern::Ou(ou) => write!(f, "ou:{ou}"),
            PeerPattern::Sha256(digest) => write!(f, "sha256:{}", hex(digest)),
            PeerPattern::SpkiSha256(digest) => write!(f, "spki-sha256:{}", hex(digest)),
        }
    }
}

impl fmt::Display for UriPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority)?;
        for segment in &self.segments {
            write!(f, "/{}", segment.as_deref().unwrap_or("*"))?;
        }
        Ok(())
    }
}

impl UriPattern {
    fn matches(&self, uri: &str) -> bool {
        let Some((scheme, authority, path)) = split_uri(uri) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(&self.scheme)
            || !authority.eq_ignore_ascii_case(&self.authority)
            || path.contains(['?', '#'])
        {
            return false;
        }
        let segments: Vec<&str> = match path.strip_prefix('/') {
            Some(rest) => rest.split('/').collect(),
            None if path.is_empty() => Vec::new(),
            None => return false,
        };
        segments.len() == self.segments.len()
            && segments
                .iter()
                .zip(&self.segments)
                .all(|(segment, wanted)| match wanted {
                    Some(exact) => segment == exact,
                    None => !segment.is_empty(),
                })
    }
}

// === parsing ===

/// `a.example.org`, `*.example.org`: labels of letters, digits, `-` and `_`, one leftmost `*`
/// label at most, never the only label.
fn dns_pattern(value: &str) -> Result<Vec<Option<String>>, String> {
    let name = value.strip_suffix('.').unwrap_or(value);
    if name.len() > 253 {
        return Err("a DNS name has at most 253 characters".into());
    }
    let labels: Vec<&str> = name.split('.').collect();
    let mut parsed = Vec::with_capacity(labels.len());
    for (i, label) in labels.iter().enumerate() {
        if *label == "*" {
            if i != 0 {
                return Err(
                    "`*` may only be the leftmost label (`dns:*.example.org`); it \
                            matches exactly one label"
                        .into(),
                );
            }
            if labels.len() == 1 {
                return Err("`*` needs a parent domain (`dns:*.example.org`)".into());
            }
            parsed.push(None);
            continue;
        }
        if label.contains('*') {
            return Err("`*` must be a whole label (`dns:*.example.org`), not part of one".into());
        }
        if label.is_empty() || label.len() > 63 {
            return Err("every label needs 1 to 63 characters".into());
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "label '{label}' may hold only letters, digits, '-' and '_' (write \
                 internationalised names in their xn-- form)"
            ));
        }
        parsed.push(Some(label.to_ascii_lowercase()));
    }
    Ok(parsed)
}

fn dns_matches(labels: &[Option<String>], name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let mut presented = name.split('.');
    let mut count = 0;
    for wanted in labels {
        let Some(label) = presented.next() else {
            return false;
        };
        count += 1;
        let ok = match wanted {
            Some(exact) => label.eq_ignore_ascii_case(exact),
            None => !label.is_empty(),
        };
        if !ok {
            return false;
        }
    }
    presented.next().is_none() && count == labels.len()
}

/// `scheme://authority/segment/…`, with `*` whole path segments only.
fn uri_pattern(value: &str) -> Result<UriPattern, String> {
    let Some((scheme, authority, path)) = split_uri(value) else {
        return Err("expected scheme://host/path (for example \
                    uri:spiffe://example.org/ns/prod/sa/api)"
            .into());
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err(format!("'{scheme}' is not a URI scheme"));
    }
    if authority.is_empty() {
        return Err("the URI has no host (trust domain) after `//`".into());
    }
    if authority.contains('*') {
        return Err("`*` may only be a whole path segment, never in the scheme or host".into());
    }
    if value.contains(['?', '#']) {
        return Err(
            "a query or fragment never belongs to a peer's identity; match the path".into(),
        );
    }
    let segments = match path.strip_prefix('/') {
        Some(rest) => rest
            .split('/')
            .map(|segment| match segment {
                "*" => Ok(None),
                s if s.contains('*') => Err("`*` must be a whole path segment \
                                              (`.../sa/*`), not part of one"
                    .to_owned()),
                s => Ok(Some(s.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    Ok(UriPattern {
        scheme: scheme.to_ascii_lowercase(),
        authority: authority.to_ascii_lowercase(),
        segments,
    })
}

/// `(scheme, authority, path)` of `scheme://authority/path`; the path keeps its leading `/`.
fn split_uri(uri: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = uri.split_once("://")?;
    let end = rest.find('/').unwrap_or(rest.len());
    Some((scheme, &rest[..end], &rest[end..]))
}

/// An address or a network in CIDR notation, host bits zero.
fn ip_pattern(value: &str) -> Result<(IpAddr, u8), String> {
    let (address, prefix) = match value.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (value, None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("'{address}' is not an IPv4 or IPv6 address"))?;
    let full = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => full,
        Some(prefix) => match prefix.parse::<u8>() {
            Ok(length) if length <= full && !prefix.starts_with('+') => length,
            _ => {
                return Err(format!(
                    "'/{prefix}' is not a prefix length (0 to {full} for this address)"
                ))
            }
        },
    };
    let network = mask(address, prefix);
    if network != address {
        return Err(format!(
            "{address}/{prefix} has host bits set; the network is {network}/{prefix}"
        ));
    }
    Ok((network, prefix))
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::from((bits & keep).to_be_bytes())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::from((bits & keep).to_be_bytes())
        }
    }
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    ip.is_ipv4() == network.is_ipv4() && mask(ip, prefix) == network
}

/// A `cn:`/`ou:` value: matched exactly, so a `*` (no wildcard there) is refused.
fn exact(value: &str) -> Result<String, String> {
    if value.contains('*') {
        return Err(
            "`*` is a wildcard only in dns: and uri: patterns; cn: and ou: match exactly".into(),
        );
    }
    Ok(value.to_owned())
}

/// 64 hex digits, optionally `AB:CD:…` (a colon between every two digits).
fn hex_digest(value: &str) -> Result<[u8; 32], String> {
    let digits: String = if value.contains(':') {
        let pairs: Vec<&str> = value.split(':').collect();
        if pairs.len() != 32 || pairs.iter().any(|pair| pair.len() != 2) {
            return Err("with colons, a SHA-256 digest is 32 two-digit hex bytes (AB:CD:…)".into());
        }
        pairs.concat()
    } else {
        value.to_owned()
    };
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("a SHA-256 digest holds only hex digits (0-9, a-f)".into());
    }
    if digits.len() != 64 {
        return Err(format!(
            "a SHA-256 digest is 64 hex digits, this has {}",
            digits.len()
        ));
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(digits.as_bytes().chunks(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| "not hex".to_owned())?;
        *byte = u8::from_str_radix(text, 16).map_err(|_| "not hex".to_owned())?;
    }
    Ok(digest)
}

/// Hex as [`hex_digest`], or padded standard base64 (44 characters).
fn spki_digest(value: &str) -> Result<[u8; 32], String> {
    if value.len() == 44 && value.ends_with('=') {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| "not valid base64 (HPKP/Envoy form: 44 characters, ending in =)")?;
        return <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| "the base64 does not hold 32 bytes".to_owned());
    }
    hex_digest(value).map_err(|message| {
        format!("{message}; or give the 44-character base64 form (as HPKP's pin-sha256)")
    })
}

fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|byte| format!("{byte:02X}")).collect()
}

// === PatternError ===

/// A pattern of an `allowed_peers` list that cannot match anything, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it and what would be right.
    pub message: String,
}

impl PatternError {
    fn new(pattern: &str, message: &str) -> PatternError {
        PatternError {
            pattern: pattern.to_owned(),
            message: message.to_owned(),
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pattern '{}': {}", self.pattern, self.message)
    }
}

impl std::error::Error for PatternError {}

#[cfg(test)]
#[path = "allowed_peers_tests.rs"]
mod tests;
