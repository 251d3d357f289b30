//! What a reload did: per policy, the certificate served before and after, or why the policy
//! kept its material.

use std::fmt;

use tls_policy_backend::AllowedPeers;

use crate::Error;

/// Whether a policy's material changed, named by the leaf certificate's serial number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadChange {
    /// The files hold what is already served (key, chain, trusted and revoked alike); nothing
    /// was swapped.
    Unchanged {
        /// The serial of the leaf served, hex bytes separated by `:`.
        serial: String,
    },
    /// The new material was compiled and swapped in: the next handshake uses it.
    Replaced {
        /// The serial of the leaf served before.
        previous_serial: String,
        /// The serial of the leaf served now.
        serial: String,
    },
}

/// One policy reloaded successfully.
#[derive(Clone, Debug)]
pub struct PolicyReload {
    /// The policy name.
    pub policy: String,
    /// The channels bound to it, all swapped together.
    pub channels: Vec<String>,
    /// What changed.
    pub change: ReloadChange,
    /// The new material's warnings (already logged), as at start-up.
    pub warnings: Vec<String>,
    /// The `allowed_peers` list before and after, when this reload changed it
    /// ([`crate::TlsChannels::reload_with`]); `None` when it stayed as it was.
    pub allowed_peers: Option<AllowedPeersChange>,
}

/// A policy's `allowed_peers` replaced by a reload; `None` on either side is unset (every
/// verified peer). New handshakes are matched against `after`; live connections stay, unless
/// the policy says `allowed_peers_reload=all` ([`AllowedPeersChange::closed_live`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedPeersChange {
    /// The list in force before.
    pub before: Option<AllowedPeers>,
    /// The list in force now.
    pub after: Option<AllowedPeers>,
    /// How many established connections were closed because `after` refuses their peer
    /// (`allowed_peers_reload=all`; always 0 under the default `new`).
    pub closed_live: usize,
}

impl fmt::Display for AllowedPeersChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |list: &Option<AllowedPeers>| match list {
            Some(list) => list.to_string(),
            None => "unset".to_owned(),
        };
        write!(
            f,
            "allowed_peers {} → {}",
            show(&self.before),
            show(&self.after)
        )?;
        if self.closed_live > 0 {
            write!(f, " ({} live connections closed)", self.closed_live)?;
        }
        Ok(())
    }
}

impl fmt::Display for PolicyReload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.change {
            ReloadChange::Replaced {
                previous_serial,
                serial,
            } => write!(
                f,
                "reloaded policy {}: serial {previous_serial} → {serial}",
                self.policy
            )?,
            ReloadChange::Unchanged { serial } => {
                write!(f, "policy {}: unchanged (serial {serial})", self.policy)?
            }
        }
        if let Some(change) = &self.allowed_peers {
            write!(f, ", {change}")?;
        }
        write!(f, " (channels: {})", self.channels.join(", "))
    }
}

/// Every policy of a [`crate::TlsChannels`] reloaded successfully.
#[derive(Clone, Debug, Default)]
pub struct ReloadReport {
    /// One entry per policy, in name order.
    pub policies: Vec<PolicyReload>,
}

impl ReloadReport {
    /// The entry of `policy`, if it was reloaded.
    pub fn policy(&self, policy: &str) -> Option<&PolicyReload> {
        self.policies.iter().find(|p| p.policy == policy)
    }
}

impl fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, policy) in self.policies.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{policy}")?;
        }
        Ok(())
    }
}

/// A policy whose new material was refused; it keeps serving the previous material.
#[derive(Debug)]
#[non_exhaustive]
pub struct ReloadFailure {
    /// The policy name.
    pub policy: String,
    /// What is wrong with the new material: the setting and path, as at start-up.
    pub error: Error,
}

/// At least one policy kept its previous material because the new one is broken; the others
/// were reloaded (each policy is all-or-nothing on its own).
///
/// `Debug` prints the `Display` text, like [`crate::Error`].
#[non_exhaustive]
pub struct ReloadError {
    /// The policies that reloaded.
    pub reloaded: ReloadReport,
    /// The policies that kept their previous material, and why; never empty.
    pub failures: Vec<ReloadFailure>,
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reload refused, the previous material is still served: ")?;
        for (i, failure) in self.failures.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", failure.error)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::error::debug_as_display(self, f)
    }
}

impl std::error::Error for ReloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failures
            .first()
            .map(|f| &f.error as &(dyn std::error::Error + 'static))
    }
}
