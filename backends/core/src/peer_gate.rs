//! The gate a verified peer passes before its connection is handed on: the policy's
//! `allowed_peers` list and the application's own [`PeerCheck`], both of which must admit it.
//!
//! Backends build one [`PeerGate`] per compiled policy and side ([`PeerGate::new`]) and call
//! [`PeerGate::admit`] with the peer's leaf once its chain has verified; a refusal is a
//! [`PeerRefused`] whose text names the policy and the peer (bounded in length, whatever the
//! certificate holds).

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;

use crate::{AllowedPeers, PeerIdentity, ServerPolicy};

/// An application's rule for admitting peers, for what no `allowed_peers` pattern can say
/// (a lookup in its own registry, a time window, …): a function of the verified peer's
/// identity returning `true` to admit it.
///
/// Set per channel in [`crate::ServerOptions::peer_check`] (server side) and
/// [`crate::ClientOptions::peer_check`] (the servers dialled); it runs inside the handshake
/// after the chain verified and after the policy's `allowed_peers`, on the handshake path, so
/// keep it fast and never block.
///
/// ```
/// # use tls_policy_backend as tls_policy; // users write `tls_policy::`
/// use tls_policy::PeerCheck;
///
/// let only_prod = PeerCheck::new(|peer| {
///     peer.spiffe_id().is_some_and(|id| id.starts_with("spiffe://example.org/ns/prod/"))
/// });
/// # let _ = only_prod;
/// ```
#[derive(Clone)]
pub struct PeerCheck(Arc<dyn Fn(&PeerIdentity) -> bool + Send + Sync>);

impl PeerCheck {
    /// The rule `admit`: `true` admits the peer, `false` refuses it (`not_allowed`).
    pub fn new(admit: impl Fn(&PeerIdentity) -> bool + Send + Sync + 'static) -> PeerCheck {
        PeerCheck(Arc::new(admit))
    }

    /// Whether the rule admits `peer`.
    pub fn admits(&self, peer: &PeerIdentity) -> bool {
        (self.0)(peer)
    }
}

impl fmt::Debug for PeerCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PeerCheck(<fn>)")
    }
}

/// The same rule: two clones of one [`PeerCheck`] are equal, two separately made are not.
impl PartialEq for PeerCheck {
    fn eq(&self, other: &PeerCheck) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for PeerCheck {}

/// A policy's `allowed_peers` and a channel's [`PeerCheck`] together, for one side.
#[derive(Clone, Debug)]
pub struct PeerGate {
    policy: String,
    allowed: Option<AllowedPeers>,
    check: Option<PeerCheck>,
}

impl PeerGate {
    /// The gate of `policy` with the channel's `check`; `None` when neither restricts peers.
    pub fn new(policy: &ServerPolicy, check: Option<&PeerCheck>) -> Option<PeerGate> {
        if policy.allowed_peers.is_none() && check.is_none() {
            return None;
        }
        Some(PeerGate {
            policy: policy.name.clone(),
            allowed: policy.allowed_peers.clone(),
            check: check.cloned(),
        })
    }

    /// The policy whose `allowed_peers` this gate applies.
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// Admits the peer whose verified leaf is `leaf` when both the list and the check do.
    /// A leaf that cannot be read as a [`PeerIdentity`] is refused (fail closed).
    pub fn admit(&self, leaf: &CertificateDer<'_>) -> Result<(), PeerRefused> {
        let peer = PeerIdentity::from_der(leaf).map_err(|error| PeerRefused {
            policy: self.policy.clone(),
            by: RefusedBy::Unreadable,
            peer: error.to_string(),
        })?;
        let by = if self
            .allowed
            .as_ref()
            .is_some_and(|list| !list.admits(&peer))
        {
            RefusedBy::AllowedPeers
        } else if self
            .check
            .as_ref()
            .is_some_and(|check| !check.admits(&peer))
        {
            RefusedBy::PeerCheck
        } else {
            return Ok(());
        };
        Err(PeerRefused {
            policy: self.policy.clone(),
            by,
            peer: describe(&peer),
        })
    }
}

/// What refused a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusedBy {
    /// No pattern of the policy's `allowed_peers` matched.
    AllowedPeers,
    /// The application's [`PeerCheck`] said no.
    PeerCheck,
    /// The leaf could not be read, so no rule could be applied.
    Unreadable,
}

/// A verified peer the policy does not admit: the reason `not_allowed`.
///
/// Backends return it inside the handshake's [`std::io::Error`] (`error.get_ref()` downcasts to
/// it), so the log line and the client's error name who was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRefused {
    /// The policy whose rules refused the peer.
    pub policy: String,
    /// Which rule.
    pub by: RefusedBy,
    /// The peer's subject and SANs, bounded (at most a few hundred characters, control
    /// characters escaped), or why its certificate could not be read.
    pub peer: String,
}

impl fmt::Display for PeerRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = &self.policy;
        match self.by {
            RefusedBy::AllowedPeers => write!(
                f,
                "peer not allowed: no pattern of dbms.ssl.policy.{policy}.allowed_peers matches \
                 its certificate ({})",
                self.peer
            ),
            RefusedBy::PeerCheck => write!(
                f,
                "peer not allowed by the application's peer check of policy '{policy}' ({})",
                self.peer
            ),
            RefusedBy::Unreadable => write!(
                f,
                "peer not allowed by policy '{policy}': its certificate cannot be matched ({})",
                self.peer
            ),
        }
    }
}

impl std::error::Error for PeerRefused {}

/// How many SANs a description lists, and how long each text field may be.
const MAX_SANS: usize = 6;
const MAX_FIELD: usize = 128;

/// `subject CN=…, SANs dns:a, uri:b (+3 more)`: bounded whatever the certificate holds.
fn describe(peer: &PeerIdentity) -> String {
    let sans: Vec<String> = peer
        .dns_names
        .iter()
        .map(|dns| format!("dns:{}", bounded(dns)))
        .chain(peer.uris.iter().map(|uri| format!("uri:{}", bounded(uri))))
        .chain(peer.ip_addresses.iter().map(|ip| format!("ip:{ip}")))
        .collect();
    let mut text = format!("subject {}", bounded(&peer.subject));
    if sans.is_empty() {
        text.push_str(", no DNS/URI/IP SANs");
    } else {
        text.push_str(", SANs ");
        text.push_str(&sans[..sans.len().min(MAX_SANS)].join(", "));
        if sans.len() > MAX_SANS {
            text.push_str(&format!(" (+{} more)", sans.len() - MAX_SANS));
        }
    }
    text
}

/// `text` with control characters escaped, cut at [`MAX_FIELD`] characters (`…` marks a cut).
fn bounded(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_FIELD {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> PeerIdentity {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["api.example.org".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "api\nforged");
        let der = params.self_signed(&key).unwrap().der().clone();
        PeerIdentity::from_der(&der).unwrap()
    }

    #[test]
    fn descriptions_are_bounded_and_escaped() {
        let mut peer = identity();
        assert!(
            describe(&peer).contains("api\\nforged"),
            "{}",
            describe(&peer)
        );
        peer.subject = "x".repeat(10_000);
        peer.dns_names = (0..1000)
            .map(|i| format!("{}.example", "y".repeat(i)))
            .collect();
        let text = describe(&peer);
        assert!(text.len() < 2_000, "{}", text.len());
        assert!(text.contains("(+994 more)"), "{text}");
        assert!(text.contains('…'));
    }

    #[test]
    fn checks_compare_by_identity() {
        let a = PeerCheck::new(|_| true);
        let b = PeerCheck::new(|_| true);
        assert_eq!(a, a.clone());
        assert_ne!(a, b);
        assert!(a.admits(&identity()));
        assert_eq!(format!("{a:?}"), "PeerCheck(<fn>)");
    }
}
