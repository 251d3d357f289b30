//! Splitting trusted_dir into trust anchors and path links (spec §2 "Anchors and path links").
//!
//! A certificate of trusted_dir issued by another certificate of trusted_dir (the issuer's
//! subject is its issuer name, and its signature verifies with the issuer's key) is a **path
//! link**: verifiers use it to complete chains and check it for revocation like any
//! intermediate, so a root's CRL can revoke it (OpenSSL's `X509_V_FLAG_CRL_CHECK_ALL`). The
//! others are the **anchors**: self-signed roots, and CAs whose issuer is absent (the operator
//! trusts only that sub-tree). A self-signed certificate is always an anchor, even when another
//! one with the same name and key would verify it (a re-issued root).
//!
//! Each certificate is compared with every other once, so cross-signed certificates cannot make
//! this loop; path links from which no anchor can be reached (certificates that only issue each
//! other) are refused, since no chain through them could ever verify.

use std::path::{Path, PathBuf};

use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use x509_parser::prelude::{CertificateRevocationList, FromDer, X509Certificate, X509Error};

use super::policy_error;
use crate::error::Result;

/// trusted_dir, split: what verifiers trust outright and what they only build chains with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TrustSplit {
    /// The trust anchors, in load order.
    pub(crate) anchors: Vec<CertificateDer<'static>>,
    /// The path links (issued by another certificate of trusted_dir), in load order.
    pub(crate) path_links: Vec<CertificateDer<'static>>,
}

/// One certificate of trusted_dir and the file it came from.
pub(crate) struct TrustedCert {
    /// The file of trusted_dir that holds it (for errors).
    pub(crate) path: PathBuf,
    /// The certificate.
    pub(crate) der: CertificateDer<'static>,
}

/// Splits the certificates of the `trusted_dir` of `policy` (deduplicated, in load order).
///
/// Errors (setting `trusted_dir`, path: the certificate's file): a certificate that does not
/// parse; one whose issuer is in trusted_dir by name but whose signature algorithm cannot be
/// checked (whether it is an anchor cannot be told); path links that reach no anchor.
pub(crate) fn split_trusted(policy: &str, certs: &[TrustedCert]) -> Result<TrustSplit> {
    let parsed = certs
        .iter()
        .map(|cert| {
            X509Certificate::from_der(cert.der.as_ref())
                .map(|(_, x509)| x509)
                .map_err(|e| {
                    policy_error(
                        policy,
                        "trusted_dir",
                        &cert.path,
                        format!("certificate does not parse: {e}"),
                    )
                })
        })
        .collect::<Result<Vec<_>>>()?;

    // issuers[i]: the indices of the other certificates that issued certificate i; `None` for a
    // self-signed one (an anchor whatever else is there).
    let mut issuers: Vec<Option<Vec<usize>>> = Vec::with_capacity(parsed.len());
    for (i, cert) in parsed.iter().enumerate() {
        if is_self_signed(cert) {
            issuers.push(None);
            continue;
        }
        let mut found = Vec::new();
        for (j, candidate) in parsed.iter().enumerate() {
            if j == i || candidate.subject().as_raw() != cert.issuer().as_raw() {
                continue;
            }
            match cert.verify_signature(Some(candidate.public_key())) {
                Ok(()) => found.push(j),
                Err(X509Error::SignatureUnsupportedAlgorithm) => {
                    return Err(policy_error(
                        policy,
                        "trusted_dir",
                        &certs[i].path,
                        format!(
                            "certificate '{}' names '{}' as its issuer, which is also in \
                             trusted_dir ({}), but its signature algorithm cannot be checked, so \
                             whether it is a trust anchor or a path link (checked for \
                             revocation) cannot be told: re-issue it with an RSA, ECDSA or \
                             Ed25519 signature, or remove one of the two",
                            cert.subject(),
                            cert.issuer(),
                            certs[j].path.display()
                        ),
                    ));
                }
                // Same name, another key: a different CA of that name issued it.
                Err(_) => {}
            }
        }
        issuers.push(Some(found));
    }

    let is_anchor = |i: usize| issuers[i].as_ref().is_none_or(Vec::is_empty);
    let mut reaches_anchor: Vec<bool> = (0..parsed.len()).map(is_anchor).collect();
    // Each pass marks at least one more path link, or stops: at most n passes.
    loop {
        let mut changed = false;
        for i in 0..parsed.len() {
            if reaches_anchor[i] {
                continue;
            }
            if issuers[i]
                .as_ref()
                .is_some_and(|found| found.iter().any(|&j| reaches_anchor[j]))
            {
                reaches_anchor[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    if let Some(stranded) = (0..parsed.len()).find(|&i| !reaches_anchor[i]) {
        return Err(policy_error(
            policy,
            "trusted_dir",
            &certs[stranded].path,
            format!(
                "certificate '{}' is issued by '{}', which is also in trusted_dir, but following \
                 the issuers through trusted_dir never ends at a trust anchor (certificates that \
                 only issue each other, as cross-signed CAs do): no chain through it can verify. \
                 Add the root CA's self-signed certificate, or remove one of the cross-signed \
                 certificates",
                parsed[stranded].subject(),
                parsed[stranded].issuer()
            ),
        ));
    }

    let mut split = TrustSplit::default();
    for (i, cert) in certs.iter().enumerate() {
        if is_anchor(i) {
            split.anchors.push(cert.der.clone());
        } else {
            split.path_links.push(cert.der.clone());
        }
    }
    Ok(split)
}

/// Whether `cert` names itself as its issuer and its signature verifies with its own key.
fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    cert.subject().as_raw() == cert.issuer().as_raw() && cert.verify_signature(None).is_ok()
}

/// What the policy's CRLs say of one path link (for load warnings and `check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRevocation {
    /// No CRL at all: revocation checking is off.
    Off,
    /// A CRL from its issuer covers it and does not list it.
    Good,
    /// A CRL from its issuer lists it: every certificate below it is refused (`revoked`).
    Revoked,
    /// Revocation is on but no CRL from its issuer covers it: every certificate below it is
    /// refused (`revocation_unknown`).
    Unknown,
}

/// What `crls` (already checked at load: issued by trusted_dir, signed, current) say of the
/// path link `link`; `None` when it does not parse.
pub fn link_revocation(
    link: &CertificateDer<'_>,
    crls: &[CertificateRevocationListDer<'_>],
) -> Option<LinkRevocation> {
    let (_, link) = X509Certificate::from_der(link.as_ref()).ok()?;
    if crls.is_empty() {
        return Some(LinkRevocation::Off);
    }
    let mut covered = false;
    for der in crls {
        let Ok((_, crl)) = CertificateRevocationList::from_der(der.as_ref()) else {
            continue;
        };
        if crl.issuer().as_raw() != link.issuer().as_raw() {
            continue;
        }
        covered = true;
        if crl
            .iter_revoked_certificates()
            .any(|revoked| revoked.raw_serial() == link.raw_serial())
        {
            return Some(LinkRevocation::Revoked);
        }
    }
    Some(if covered {
        LinkRevocation::Good
    } else {
        LinkRevocation::Unknown
    })
}

/// With revocation on: a warning for each path link that no CRL of its issuer covers, because
/// every chain through it will then be refused as `revocation_unknown` (fail closed), and for
/// each one its issuer's CRL lists (every chain through it is refused as `revoked`: what the
/// operator asked for, but worth saying once). The warnings name `policy` and `revoked_dir`.
pub(crate) fn path_link_warnings(
    policy: &str,
    revoked_dir: &Path,
    path_links: &[CertificateDer<'_>],
    crls: &[CertificateRevocationListDer<'_>],
) -> Vec<String> {
    path_links
        .iter()
        .filter_map(|der| {
            let status = link_revocation(der, crls)?;
            let (_, link) = X509Certificate::from_der(der.as_ref()).ok()?;
            let (subject, issuer) = (link.subject(), link.issuer());
            let message = match status {
                LinkRevocation::Off | LinkRevocation::Good => return None,
                LinkRevocation::Unknown => format!(
                    "revocation is on, but no CRL from '{issuer}' covers the intermediate CA \
                     '{subject}' of trusted_dir: every peer certificate it issued will be \
                     refused as revocation_unknown; add a current CRL from '{issuer}'"
                ),
                LinkRevocation::Revoked => format!(
                    "the CRL from '{issuer}' revokes the intermediate CA '{subject}' of \
                     trusted_dir: every peer certificate it issued will be refused as revoked"
                ),
            };
            Some(super::policy_warning(
                policy,
                "revoked_dir",
                Some(revoked_dir),
                &message,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::test_support::*;
    use crate::Error;

    fn trusted(certs: &[&rcgen::Certificate]) -> Vec<TrustedCert> {
        certs
            .iter()
            .enumerate()
            .map(|(i, cert)| TrustedCert {
                path: PathBuf::from(format!("/t/{i}.crt")),
                der: cert.der().clone(),
            })
            .collect()
    }

    #[test]
    fn an_intermediate_under_a_trusted_root_is_a_path_link() {
        let root = Ca::new("Root");
        let intermediate = root.sub_ca("Intermediate");
        let split = split_trusted("p", &trusted(&[&intermediate.cert, &root.cert])).unwrap();
        assert_eq!(split.anchors, vec![root.cert.der().clone()]);
        assert_eq!(split.path_links, vec![intermediate.cert.der().clone()]);
    }

    #[test]
    fn an_intermediate_alone_is_an_anchor_and_so_is_every_root() {
        let root = Ca::new("Root");
        let intermediate = root.sub_ca("Intermediate");
        let other = Ca::new("Other");
        let split = split_trusted("p", &trusted(&[&intermediate.cert, &other.cert])).unwrap();
        assert_eq!(
            split.anchors,
            vec![intermediate.cert.der().clone(), other.cert.der().clone()]
        );
        assert!(split.path_links.is_empty());
    }

    #[test]
    fn the_same_name_with_another_key_does_not_issue() {
        let root = Ca::new("Root");
        let intermediate = root.sub_ca("Intermediate");
        let impostor = Ca::new("Root");
        let split = split_trusted("p", &trusted(&[&intermediate.cert, &impostor.cert])).unwrap();
        assert_eq!(split.anchors.len(), 2);
        assert!(split.path_links.is_empty());
    }

    #[test]
    fn a_chain_of_two_intermediates_links_both() {
        let root = Ca::new("Root");
        let first = root.sub_ca("First");
        let second = first.sub_ca("Second");
        let split = split_trusted("p", &trusted(&[&second.cert, &first.cert, &root.cert])).unwrap();
        assert_eq!(split.anchors, vec![root.cert.der().clone()]);
        assert_eq!(
            split.path_links,
            vec![second.cert.der().clone(), first.cert.der().clone()]
        );
    }

    #[test]
    fn cross_signed_cas_with_their_root_load_and_without_it_are_refused() {
        let a = Ca::new("A");
        let b = Ca::new("B");
        let a_by_b = b.cross_sign(&a, "A");
        let b_by_a = a.cross_sign(&b, "B");

        // With A's self-signed root: A anchors, B-by-A and A-by-B link back to it.
        let split = split_trusted("p", &trusted(&[&a_by_b, &b_by_a, &a.cert])).unwrap();
        assert_eq!(split.anchors, vec![a.cert.der().clone()]);
        assert_eq!(split.path_links.len(), 2);

        // Only the two cross-signatures: a cycle, no anchor; refused, naming the file.
        let e = split_trusted("p", &trusted(&[&a_by_b, &b_by_a])).unwrap_err();
        let Error::Policy {
            setting,
            path,
            message,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*setting, "trusted_dir");
        assert_eq!(path.as_deref(), Some(Path::new("/t/0.crt")));
        assert!(
            message.contains("never ends at a trust anchor"),
            "{message}"
        );
    }

    #[test]
    fn a_reissued_root_with_the_same_key_stays_an_anchor() {
        let root = Ca::new("Root");
        let again = root.reissued("Root");
        let split = split_trusted("p", &trusted(&[&root.cert, &again])).unwrap();
        assert_eq!(split.anchors.len(), 2);
        assert!(split.path_links.is_empty());
    }

    #[test]
    fn a_path_link_without_its_issuers_crl_or_revoked_by_it_is_warned_about() {
        let root = Ca::new("Root");
        let intermediate = root.sub_ca("Intermediate");
        let links = [intermediate.cert.der().clone()];
        let dir = Path::new("/r");
        let only_intermediate = [intermediate.crl().der().clone()];
        let warnings = path_link_warnings("p", dir, &links, &only_intermediate);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("no CRL from 'CN=Root'"),
            "{warnings:?}"
        );
        assert!(warnings[0].contains("revocation_unknown"), "{warnings:?}");

        let both = [root.crl().der().clone(), intermediate.crl().der().clone()];
        assert!(path_link_warnings("p", dir, &links, &both).is_empty());
        assert!(path_link_warnings("p", dir, &links, &[]).is_empty());

        let revoking = [root.crl_revoking(&links[0]).der().clone()];
        let warnings = path_link_warnings("p", dir, &links, &revoking);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("revokes the intermediate CA 'CN=Intermediate'"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_path_link_is_good_revoked_unknown_or_unchecked() {
        let root = Ca::new("Root");
        let link = root.sub_ca("Intermediate").cert.der().clone();
        let other = Ca::new("Other").crl().der().clone();
        assert_eq!(link_revocation(&link, &[]), Some(LinkRevocation::Off));
        assert_eq!(
            link_revocation(&link, std::slice::from_ref(&other)),
            Some(LinkRevocation::Unknown)
        );
        // Ca::crl lists serial 42, which the link does not have.
        let listing_another = root.crl().der().clone();
        assert_eq!(
            link_revocation(&link, &[other, listing_another]),
            Some(LinkRevocation::Good)
        );
        let revoking = root.crl_revoking(&link).der().clone();
        assert_eq!(
            link_revocation(&link, &[revoking]),
            Some(LinkRevocation::Revoked)
        );
    }
}
