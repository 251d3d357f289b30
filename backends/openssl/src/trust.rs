//! How peers are verified: the `X509_STORE` of trust anchors, path links and CRLs, and the
//! verify callback that keeps revocation fail-closed along the whole chain and applies the
//! [`PeerGate`] inside the handshake.
//!
//! Anchors and path links both go into the store. Without `X509_V_FLAG_PARTIAL_CHAIN`,
//! OpenSSL trusts only a self-signed certificate of the store and completes chains upwards
//! through the others, so a path link (an intermediate from `trusted_dir`) links a peer that
//! sent its leaf alone to its root, and is never an anchor itself. With CRLs,
//! `CRL_CHECK | CRL_CHECK_ALL` make every certificate of the chain need a current CRL from its
//! issuer: a missing or expired CRL fails the handshake (`unable to get certificate CRL`,
//! `CRL has expired`), except for the trust anchor at the top, which spec §2 does not check
//! (OpenSSL would look for the root's CRL about itself).
//!
//! A trust anchor that is not self-signed (a CA whose issuer is absent from `trusted_dir`)
//! needs `PARTIAL_CHAIN`, under which OpenSSL would stop at a path link as well and could not
//! check it against its issuer's CRL: that one combination (a non-self-signed anchor, path
//! links and CRLs) is refused rather than half-checked.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use openssl::ssl::SslRef;
use openssl::ssl::SslVerifyMode;
use openssl::x509::store::{X509Lookup, X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509StoreContextRef, X509VerifyResult, X509};
use tls_policy_backend::{PeerGate, PeerRefused, ServerPolicy};

use crate::capabilities::{rejected, unsupported};

/// The verification material of one compiled policy and side, shared by its handshakes.
#[derive(Clone)]
pub(crate) struct Verifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    // The DER of every trust anchor: the top of a chain that needs no CRL about itself.
    anchors: HashSet<Vec<u8>>,
    crls: bool,
    trust_all: bool,
    gate: Option<PeerGate>,
}

/// What the verify callback saw go wrong in one handshake, read when it fails.
#[derive(Default)]
pub(crate) struct Verdict {
    /// The peer the gate refused.
    pub(crate) refused: Option<PeerRefused>,
    /// The verification error, its depth in the chain and that certificate's subject.
    pub(crate) failed: Option<(X509VerifyResult, u32, String)>,
}

/// One handshake's [`Verdict`], shared with its verify callback.
pub(crate) type VerdictSlot = Arc<Mutex<Verdict>>;

impl Verifier {
    /// The store for `policy` (anchors, path links, CRLs, flags) and the verifier around it.
    pub(crate) fn new(
        policy: &ServerPolicy,
        gate: Option<PeerGate>,
    ) -> Result<(Verifier, X509Store), BackendError> {
        let mut store =
            X509StoreBuilder::new().map_err(|err| rejected("trusted_dir", err.to_string()))?;
        let mut anchors = HashSet::new();
        let mut partial = false;
        for (kind, list) in [
            ("trust anchor", &policy.trusted),
            ("path link", &policy.path_links),
        ] {
            for (index, der) in list.iter().enumerate() {
                let cert = X509::from_der(der.as_ref()).map_err(|err| {
                    rejected("trusted_dir", format!("{kind} #{}: {err}", index + 1))
                })?;
                if kind == "trust anchor" {
                    anchors.insert(der.as_ref().to_vec());
                    partial |= cert.issued(&cert) != X509VerifyResult::OK;
                }
                store.add_cert(cert).map_err(|err| {
                    rejected("trusted_dir", format!("{kind} #{}: {err}", index + 1))
                })?;
            }
        }
        let crls = !policy.crls.is_empty();
        if partial && crls && !policy.path_links.is_empty() {
            return Err(unsupported(
                "trusted_dir",
                "a trust anchor that is not self-signed together with path links and revoked_dir \
                 CRLs (OpenSSL cannot check the path links' revocation then)",
            ));
        }
        let mut flags = X509VerifyFlags::empty();
        if partial {
            flags |= X509VerifyFlags::PARTIAL_CHAIN;
        }
        if crls {
            load_crls(&mut store, policy)?;
            flags |= X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL;
        }
        store
            .set_flags(flags)
            .map_err(|err| rejected("revoked_dir", err.to_string()))?;
        let verifier = Verifier {
            inner: Arc::new(VerifierInner {
                anchors,
                crls,
                trust_all: policy.trust_all,
                gate,
            }),
        };
        Ok((verifier, store.build()))
    }

    /// Whether a gate (`allowed_peers`, a peer check) must see the peer's certificate.
    pub(crate) fn gated(&self) -> bool {
        self.inner.gate.is_some()
    }

    /// Installs this verifier's callback on one handshake's `ssl`, reporting into the slot
    /// returned.
    pub(crate) fn install(&self, ssl: &mut SslRef, mode: SslVerifyMode) -> VerdictSlot {
        let slot = VerdictSlot::default();
        let verdict = Arc::clone(&slot);
        let inner = Arc::clone(&self.inner);
        ssl.set_verify_callback(mode, move |ok, ctx| inner.verify(ok, ctx, &verdict));
        slot
    }
}

impl VerifierInner {
    /// OpenSSL's verify callback: called for each error, then once per certificate from the
    /// top of the chain down to the leaf with `ok`.
    fn verify(&self, ok: bool, ctx: &mut X509StoreContextRef, verdict: &Mutex<Verdict>) -> bool {
        let depth = ctx.error_depth();
        if !ok && !self.trust_all {
            let error = ctx.error();
            if self.crls && self.is_anchor_crl_gap(ctx, depth, error) {
                ctx.set_error(X509VerifyResult::OK);
                return true;
            }
            let subject = ctx
                .current_cert()
                .map(|cert| describe_name(cert.subject_name()))
                .unwrap_or_default();
            if let Ok(mut verdict) = verdict.lock() {
                verdict.failed.get_or_insert((error, depth, subject));
            }
            return false;
        }
        if depth == 0 {
            if let Some(gate) = &self.gate {
                let leaf = ctx.current_cert().and_then(|cert| cert.to_der().ok());
                let admitted = match leaf {
                    Some(der) => gate.admit(&der.into()),
                    None => Err(PeerRefused {
                        policy: gate.policy().to_owned(),
                        by: tls_policy_backend::RefusedBy::Unreadable,
                        peer: "its certificate cannot be read".to_owned(),
                    }),
                };
                if let Err(refused) = admitted {
                    if let Ok(mut verdict) = verdict.lock() {
                        verdict.refused = Some(refused);
                    }
                    ctx.set_error(X509VerifyResult::APPLICATION_VERIFICATION);
                    return false;
                }
            }
        }
        if !ok {
            // trust_all: every chain error is accepted, the gate above still applies.
            ctx.set_error(X509VerifyResult::OK);
        }
        true
    }

    /// A missing or expired CRL about the trust anchor at the top of the chain: not needed.
    fn is_anchor_crl_gap(
        &self,
        ctx: &X509StoreContextRef,
        depth: u32,
        error: X509VerifyResult,
    ) -> bool {
        let code = error.as_raw();
        let crl_gap = code == openssl_sys::X509_V_ERR_UNABLE_TO_GET_CRL
            || code == openssl_sys::X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER
            || code == openssl_sys::X509_V_ERR_CRL_HAS_EXPIRED;
        if !crl_gap {
            return false;
        }
        let Some(chain) = ctx.chain() else {
            return false;
        };
        let top = chain.len().saturating_sub(1);
        if depth as usize != top {
            return false;
        }
        chain
            .get(top)
            .and_then(|cert| cert.to_der().ok())
            .is_some_and(|der| self.anchors.contains(&der))
    }
}

/// The CRLs into the store: written as one PEM file (private, removed when loaded), since the
/// openssl crate loads CRLs only from files.
fn load_crls(store: &mut X509StoreBuilder, policy: &ServerPolicy) -> Result<(), BackendError> {
    let failed = |err: &dyn std::fmt::Display| {
        rejected(
            "revoked_dir",
            format!("the CRLs cannot be loaded into OpenSSL: {err}"),
        )
    };
    let mut file = tempfile::NamedTempFile::new().map_err(|err| failed(&err))?;
    for (index, der) in policy.crls.iter().enumerate() {
        let crl = openssl::x509::X509Crl::from_der(der.as_ref())
            .map_err(|err| rejected("revoked_dir", format!("CRL #{}: {err}", index + 1)))?;
        let pem = crl.to_pem().map_err(|err| failed(&err))?;
        file.write_all(&pem).map_err(|err| failed(&err))?;
    }
    file.flush().map_err(|err| failed(&err))?;
    let lookup = store
        .add_lookup(X509Lookup::file())
        .map_err(|err| failed(&err))?;
    let loaded = lookup
        .load_crl_file(file.path(), openssl::ssl::SslFiletype::PEM)
        .map_err(|err| failed(&err))?;
    if loaded as usize != policy.crls.len() {
        return Err(failed(&format!(
            "OpenSSL loaded {loaded} of {} CRLs",
            policy.crls.len()
        )));
    }
    Ok(())
}

/// `CN=…, O=…`: a certificate name for an error message, bounded.
pub(crate) fn describe_name(name: &openssl::x509::X509NameRef) -> String {
    let mut parts = Vec::new();
    for entry in name.entries() {
        let key = entry.object().nid().short_name().unwrap_or("?");
        let value = entry.data().to_string().unwrap_or_else(|_| "?".to_owned());
        parts.push(format!("{key}={value}"));
    }
    let mut text = parts.join(", ");
    if text.len() > 256 {
        let mut cut = 256;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

use tls_policy_backend::BackendError;
