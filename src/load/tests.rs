//! Tests of `load_policy`: every start-up rule, in order, on policies written to temporary dirs.

use std::fs;

use rustls_pki_types::PrivateKeyDer;
use tls_policy_backend::ClientAuth;

use super::key::OID_P256;
use super::test_support::*;
use super::*;

/// Unpacks an [`Error::Policy`], checking that its Display names policy, setting and path.
fn policy_err(result: Result<LoadedPolicy>) -> (&'static str, std::path::PathBuf, String) {
    let e = result.unwrap_err();
    let shown = e.to_string();
    match e {
        Error::Policy {
            policy,
            setting,
            path,
            message,
        } => {
            let path = path.expect("every load error names a path");
            assert_eq!(policy, "p");
            assert!(shown.contains("policy 'p'"), "{shown}");
            assert!(shown.contains(setting), "{shown}");
            assert!(shown.contains(&path.display().to_string()), "{shown}");
            (setting, path, message)
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn a_complete_policy_loads() {
    let f = Fixture::new();
    let loaded = load_policy(&f.settings).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let p = &loaded.policy;
    assert_eq!(p.name, "p");
    assert_eq!(p.cert_chain.len(), 1);
    assert_eq!(p.trusted, vec![f.ca.cert.der().clone()]);
    assert!(p.crls.is_empty());
    assert_eq!(p.client_auth, ClientAuth::Require);
    assert!(!p.trust_all);
    assert_eq!(p.tls_versions, f.settings.tls_versions);
    assert_eq!(
        p.private_key.pkcs8.secret_pkcs8_der(),
        f.key.serialized_der()
    );
}

// === rule 1: base_directory ===

#[test]
fn missing_base_directory_comes_first() {
    let tmp = tempfile::tempdir().unwrap();
    let settings = settings_for("p", &tmp.path().join("nope"));
    let (setting, path, message) = policy_err(load_policy(&settings));
    assert_eq!(setting, "base_directory");
    assert_eq!(path, tmp.path().join("nope"));
    assert!(message.contains("does not exist"), "{message}");
    assert!(
        message.contains("nothing is created automatically"),
        "{message}"
    );
    assert!(!tmp.path().join("nope").exists());
}

#[test]
fn base_directory_must_be_a_directory() {
    let f = Fixture::new();
    let file = f.base("public.crt");
    let mut settings = f.settings.clone();
    settings.base_directory = file.clone();
    let (setting, path, message) = policy_err(load_policy(&settings));
    assert_eq!((setting, path), ("base_directory", file));
    assert!(message.contains("not a directory"), "{message}");
}

// === rule 2: key and certificate ===

#[test]
fn missing_key_is_named() {
    let f = Fixture::new();
    fs::remove_file(&f.settings.private_key).unwrap();
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!(
        (setting, path),
        ("private_key", f.settings.private_key.clone())
    );
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn missing_certificate_is_named() {
    let f = Fixture::new();
    fs::remove_file(&f.settings.public_certificate).unwrap();
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!(
        (setting, path),
        ("public_certificate", f.settings.public_certificate.clone())
    );
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn missing_pair_mentions_allow_key_generation() {
    let f = Fixture::new();
    fs::remove_file(&f.settings.private_key).unwrap();
    fs::remove_file(&f.settings.public_certificate).unwrap();
    let (setting, _, message) = policy_err(load_policy(&f.settings));
    assert_eq!(setting, "private_key");
    assert!(
        message.contains("neither the private key nor the certificate"),
        "{message}"
    );
    assert!(message.contains("allow_key_generation=true"), "{message}");
}

#[test]
fn garbage_key_and_garbage_certificate() {
    let f = Fixture::new();
    write_private(&f.settings.private_key, b"garbage");
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!(
        (setting, path),
        ("private_key", f.settings.private_key.clone())
    );
    assert!(message.contains("no private key found"), "{message}");

    let f = Fixture::new();
    fs::write(&f.settings.public_certificate, b"garbage").unwrap();
    let (setting, path, _) = policy_err(load_policy(&f.settings));
    assert_eq!(
        (setting, path),
        ("public_certificate", f.settings.public_certificate.clone())
    );
}

#[test]
fn pkcs1_rsa_key_loads() {
    let f = Fixture::new();
    let rsa = rsa_pkcs8();
    let pair = rcgen::KeyPair::try_from(&PrivateKeyDer::Pkcs8(rsa.clone().into())).unwrap();
    fs::write(
        &f.settings.public_certificate,
        f.ca.issue(&pair, |_| {}).pem(),
    )
    .unwrap();
    let pkcs1 = pkcs1_from_pkcs8(&rsa);
    write_private(
        &f.settings.private_key,
        pem("RSA PRIVATE KEY", &pkcs1).as_bytes(),
    );
    let loaded = load_policy(&f.settings).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let key = &loaded.policy.private_key;
    assert!(matches!(key.der, PrivateKeyDer::Pkcs1(_)));
    assert_eq!(key.pkcs8.secret_pkcs8_der(), rsa.as_slice());
}

#[test]
fn sec1_key_loads() {
    let f = Fixture::new();
    let sec1 = sec1_from_pkcs8(f.key.serialized_der(), Some(OID_P256));
    write_private(
        &f.settings.private_key,
        pem("EC PRIVATE KEY", &sec1).as_bytes(),
    );
    let loaded = load_policy(&f.settings).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(matches!(
        loaded.policy.private_key.der,
        PrivateKeyDer::Sec1(_)
    ));
}

#[test]
fn encrypted_key_loads_and_password_errors() {
    let f = Fixture::new();
    let enc = encrypt_pkcs8(f.key.serialized_der(), "pw");
    write_private(&f.settings.private_key, enc.as_bytes());
    let mut settings = f.settings.clone();

    settings.private_key_password = Some("pw".into());
    let loaded = load_policy(&settings).unwrap();
    assert_eq!(
        loaded.policy.private_key.pkcs8.secret_pkcs8_der(),
        f.key.serialized_der()
    );

    settings.private_key_password = Some("nope".into());
    let (setting, path, message) = policy_err(load_policy(&settings));
    assert_eq!(
        (setting, path),
        ("private_key_password", settings.private_key.clone())
    );
    assert_eq!(message, "wrong private_key_password or corrupt key");

    settings.private_key_password = None;
    let (setting, _, message) = policy_err(load_policy(&settings));
    assert_eq!(setting, "private_key_password");
    assert!(message.contains("not set"), "{message}");
}

#[test]
fn password_for_plain_key_is_an_error() {
    let mut f = Fixture::new();
    f.settings.private_key_password = Some("pw".into());
    let (setting, _, message) = policy_err(load_policy(&f.settings));
    assert_eq!(setting, "private_key_password");
    assert!(message.contains("not encrypted"), "{message}");
}

#[test]
fn key_must_match_certificate() {
    let f = Fixture::new();
    write_private(&f.settings.private_key, p256().serialize_pem().as_bytes());
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!(
        (setting, path),
        ("private_key", f.settings.private_key.clone())
    );
    assert!(
        message.contains("private key does not match the certificate (subject CN=leaf.test)"),
        "{message}"
    );
}

#[test]
fn expired_certificate_only_warns() {
    let f = Fixture::new();
    let old = f.ca.issue(&f.key, |p| {
        p.not_before = rcgen::date_time_ymd(2010, 1, 1);
        p.not_after = rcgen::date_time_ymd(2011, 6, 30);
    });
    fs::write(&f.settings.public_certificate, old.pem()).unwrap();
    let loaded = load_policy(&f.settings).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        loaded.warnings[0].contains("expired"),
        "{:?}",
        loaded.warnings
    );
    assert!(loaded.warnings[0].contains("2011"), "{:?}", loaded.warnings);
}

// === rule 3: trusted_dir and revoked_dir ===

#[test]
fn missing_trusted_dir_is_named() {
    let f = Fixture::new();
    fs::remove_dir_all(&f.settings.trusted_dir).unwrap();
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!(
        (setting, path),
        ("trusted_dir", f.settings.trusted_dir.clone())
    );
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn missing_revoked_dir_is_named() {
    let f = Fixture::new();
    fs::remove_dir_all(&f.settings.revoked_dir).unwrap();
    let (setting, path, _) = policy_err(load_policy(&f.settings));
    assert_eq!(
        (setting, path),
        ("revoked_dir", f.settings.revoked_dir.clone())
    );
}

#[test]
fn bad_trusted_file_is_named() {
    let f = Fixture::new();
    let bad = f.settings.trusted_dir.join("zz-broken.crt");
    fs::write(
        &bad,
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let (setting, path, _) = policy_err(load_policy(&f.settings));
    assert_eq!((setting, path), ("trusted_dir", bad));
}

#[test]
fn der_certificates_and_pem_bundles_are_trusted() {
    let f = Fixture::new();
    let (a, b, c) = (Ca::new("A"), Ca::new("B"), Ca::new("C"));
    fs::write(f.settings.trusted_dir.join("a.der"), a.cert.der()).unwrap();
    fs::write(
        f.settings.trusted_dir.join("bundle.pem"),
        format!("{}{}", b.cert.pem(), c.cert.pem()),
    )
    .unwrap();
    let loaded = load_policy(&f.settings).unwrap();
    assert_eq!(
        loaded.policy.trusted,
        vec![
            a.cert.der().clone(),
            b.cert.der().clone(),
            c.cert.der().clone(),
            f.ca.cert.der().clone(),
        ]
    );
}

#[cfg(unix)]
#[test]
fn duplicate_anchors_via_symlink_are_kept_once() {
    let f = Fixture::new();
    std::os::unix::fs::symlink(
        f.settings.trusted_dir.join("ca.pem"),
        f.settings.trusted_dir.join("1a2b3c4d.0"),
    )
    .unwrap();
    let loaded = load_policy(&f.settings).unwrap();
    assert_eq!(loaded.policy.trusted.len(), 1);
}

#[test]
fn pem_and_der_crls_load() {
    let f = Fixture::new();
    let other = Ca::new("Other");
    fs::write(
        f.settings.revoked_dir.join("a.pem"),
        f.ca.crl().pem().unwrap(),
    )
    .unwrap();
    fs::write(f.settings.revoked_dir.join("b.crl"), other.crl().der()).unwrap();
    // Rule 8: each CRL's issuer must be trusted.
    fs::write(f.settings.trusted_dir.join("other.pem"), other.cert.pem()).unwrap();
    let loaded = load_policy(&f.settings).unwrap();
    assert_eq!(loaded.policy.crls.len(), 2);
}

// === rule 8: every CRL issued and signed by a trusted certificate, and current ===

#[test]
fn crl_from_an_untrusted_ca_is_refused_naming_file_and_issuer() {
    let f = Fixture::new();
    let stranger = Ca::new("Stranger CA");
    let file = f.settings.revoked_dir.join("stranger.crl");
    fs::write(&file, stranger.crl().der()).unwrap();
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!((setting, path), ("revoked_dir", file));
    assert!(message.contains("CN=Stranger CA"), "{message}");
    assert!(
        message.contains("not among the trusted certificates"),
        "{message}"
    );
    assert!(
        message.contains("put the issuing CA's certificate"),
        "{message}"
    );
}

#[test]
fn crl_with_a_bad_signature_is_refused() {
    let f = Fixture::new();
    // Same issuer name as the trusted CA, another key.
    let impostor = Ca::new("Test CA");
    let file = f.settings.revoked_dir.join("forged.crl");
    fs::write(&file, impostor.crl().pem().unwrap()).unwrap();
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!((setting, path), ("revoked_dir", file));
    assert!(message.contains("CN=Test CA"), "{message}");
    assert!(message.contains("signature does not verify"), "{message}");
}

#[test]
fn expired_crl_is_refused_naming_the_date() {
    let f = Fixture::new();
    let file = f.settings.revoked_dir.join("old.crl");
    fs::write(
        &file,
        f.ca.crl_until(rcgen::date_time_ymd(2020, 6, 1)).der(),
    )
    .unwrap();
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!((setting, path), ("revoked_dir", file));
    assert!(message.contains("expired"), "{message}");
    assert!(message.contains("2020"), "{message}");
}

#[test]
fn crl_without_next_update_is_refused() {
    let f = Fixture::new();
    let file = f.settings.revoked_dir.join("open-ended.crl");
    fs::write(&file, f.ca.crl_without_next_update()).unwrap();
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!((setting, path), ("revoked_dir", file));
    assert!(message.contains("CN=Test CA"), "{message}");
    assert!(message.contains("has no nextUpdate"), "{message}");
}

#[test]
fn crl_from_an_issuer_without_crl_sign_is_refused() {
    let f = Fixture::new();
    let ca = Ca::without_crl_sign("No CRL Sign CA");
    fs::write(f.settings.trusted_dir.join("nocrl.pem"), ca.cert.pem()).unwrap();
    let file = f.settings.revoked_dir.join("nocrl.crl");
    fs::write(&file, ca.crl().der()).unwrap();
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!((setting, path), ("revoked_dir", file));
    assert!(message.contains("cRLSign"), "{message}");
}

#[test]
fn crl_in_a_bundle_is_numbered() {
    let f = Fixture::new();
    let file = f.settings.revoked_dir.join("bundle.pem");
    let stranger = Ca::new("Stranger CA");
    fs::write(
        &file,
        format!(
            "{}{}",
            f.ca.crl().pem().unwrap(),
            stranger.crl().pem().unwrap()
        ),
    )
    .unwrap();
    let (_, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!(path, file);
    assert!(message.starts_with("CRL #2 "), "{message}");
}

#[test]
fn trust_all_ignores_crls_with_a_warning() {
    let mut f = Fixture::new();
    f.settings.trust_all = true;
    fs::write(
        f.settings.revoked_dir.join("stranger.crl"),
        Ca::new("Stranger CA").crl().der(),
    )
    .unwrap();
    let loaded = load_policy(&f.settings).unwrap();
    assert!(loaded.policy.crls.is_empty());
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("revoked_dir") && w.contains("play no part")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn bad_crl_is_named() {
    let f = Fixture::new();
    let bad = f.settings.revoked_dir.join("bad.crl");
    fs::write(&bad, b"nope").unwrap();
    let (setting, path, _) = policy_err(load_policy(&f.settings));
    assert_eq!((setting, path), ("revoked_dir", bad));
}

// === rule 4: REQUIRE needs trust anchors ===

#[test]
fn require_without_anchors_is_an_error() {
    let f = Fixture::new();
    fs::remove_file(f.settings.trusted_dir.join("ca.pem")).unwrap();
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!(
        (setting, path),
        ("client_auth", f.settings.trusted_dir.clone())
    );
    assert!(
        message.contains("REQUIRE needs at least one trusted certificate"),
        "{message}"
    );

    let mut settings = f.settings.clone();
    settings.client_auth = ClientAuth::Optional;
    assert!(load_policy(&settings).unwrap().policy.trusted.is_empty());
    settings.client_auth = ClientAuth::None;
    load_policy(&settings).unwrap();
}

#[test]
fn trust_all_ignores_trusted_dir_and_warns() {
    let mut f = Fixture::new();
    fs::remove_dir_all(&f.settings.trusted_dir).unwrap();
    f.settings.trust_all = true;
    let loaded = load_policy(&f.settings).unwrap();
    assert!(loaded.policy.trust_all);
    assert!(loaded.policy.trusted.is_empty());
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        loaded.warnings[0].contains("trust_all=true: any peer certificate is accepted"),
        "{:?}",
        loaded.warnings
    );
}

// === rule 5: permissions ===

#[cfg(unix)]
#[test]
fn world_readable_key_is_refused() {
    let f = Fixture::new();
    set_mode(&f.settings.private_key, 0o644);
    let (setting, path, message) = policy_err(load_policy(&f.settings));
    assert_eq!(
        (setting, path),
        ("private_key", f.settings.private_key.clone())
    );
    assert!(message.contains("mode 0644"), "{message}");
    assert!(message.contains("0600 or 0400"), "{message}");
    assert!(message.contains("chmod 600"), "{message}");
}

#[cfg(unix)]
#[test]
fn group_readable_key_warns() {
    let f = Fixture::new();
    set_mode(&f.settings.private_key, 0o640);
    let loaded = load_policy(&f.settings).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].contains("0640"), "{:?}", loaded.warnings);
}

#[cfg(unix)]
#[test]
fn rules_apply_in_order() {
    // Rule 3 (missing trusted_dir) is reported before rule 5 (world-readable key).
    let f = Fixture::new();
    set_mode(&f.settings.private_key, 0o644);
    fs::remove_dir_all(&f.settings.trusted_dir).unwrap();
    let (setting, _, _) = policy_err(load_policy(&f.settings));
    assert_eq!(setting, "trusted_dir");
    // Rule 2 (mismatch) before rule 3.
    write_private(&f.settings.private_key, p256().serialize_pem().as_bytes());
    let (setting, _, _) = policy_err(load_policy(&f.settings));
    assert_eq!(setting, "private_key");
    // Rule 4 (no anchors) before rule 5.
    let f = Fixture::new();
    set_mode(&f.settings.private_key, 0o644);
    fs::remove_file(f.settings.trusted_dir.join("ca.pem")).unwrap();
    let (setting, _, _) = policy_err(load_policy(&f.settings));
    assert_eq!(setting, "client_auth");
}

// === rule 7: directories others can write to ===

#[cfg(unix)]
#[test]
fn directories_writable_by_others_are_refused() {
    for setting in ["base_directory", "trusted_dir", "revoked_dir"] {
        let f = Fixture::new();
        let dir = match setting {
            "base_directory" => f.settings.base_directory.clone(),
            "trusted_dir" => f.settings.trusted_dir.clone(),
            _ => f.settings.revoked_dir.clone(),
        };
        set_mode(&dir, 0o777);
        let (refused, path, message) = policy_err(load_policy(&f.settings));
        assert_eq!((refused, path), (setting, dir.clone()));
        assert!(
            message.contains("writable by others (mode 0777)"),
            "{message}"
        );
        assert!(message.contains("wanted 0755"), "{message}");
    }
    // trust_all ignores trusted_dir, so its mode does not matter.
    let mut f = Fixture::new();
    f.settings.trust_all = true;
    set_mode(&f.settings.trusted_dir, 0o777);
    assert!(load_policy(&f.settings).is_ok());
}

#[cfg(unix)]
#[test]
fn group_writable_directory_warns() {
    let f = Fixture::new();
    set_mode(&f.settings.revoked_dir, 0o775);
    let loaded = load_policy(&f.settings).unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("revoked_dir") && loaded.warnings[0].contains("0775"),
        "{:?}",
        loaded.warnings
    );
}

#[cfg(unix)]
#[test]
fn a_sticky_base_directory_like_a_kubernetes_secret_mount_loads() {
    // drwxrwxrwt, as Kubernetes mounts a Secret; the entries read are ours, so others cannot
    // replace them. trusted_dir and revoked_dir stay 0755.
    let f = Fixture::new();
    set_mode(&f.settings.base_directory, 0o1777);
    let loaded = load_policy(&f.settings).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    // A sticky trusted_dir is still refused: a new file there is a new trust anchor.
    set_mode(&f.settings.trusted_dir, 0o1777);
    let (setting, _, message) = policy_err(load_policy(&f.settings));
    assert_eq!(setting, "trusted_dir");
    assert!(message.contains("mode 1777"), "{message}");
}

// === rule 8 (ours): session_ticket_keys ===

#[test]
fn session_ticket_keys_load_into_the_policy() {
    let f = Fixture::new();
    assert!(load_policy(&f.settings)
        .unwrap()
        .policy
        .session_ticket_keys
        .is_none());
    let mut settings = f.settings.clone();
    let file = f.base("ticket.keys");
    let mut raw = [0x90u8; 160];
    raw[80] = 0x91; // a second key with its own name
    write_private(&file, &raw);
    settings.session_ticket_keys = Some(file.clone());
    let keys = load_policy(&settings)
        .unwrap()
        .policy
        .session_ticket_keys
        .unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys.current().to_bytes()[..], raw[..80]);

    write_private(&file, &raw[..100]);
    let (setting, path, message) = policy_err(load_policy(&settings));
    assert_eq!((setting, path), ("session_ticket_keys", file.clone()));
    assert!(message.contains("100 bytes"), "{message}");

    fs::remove_file(&file).unwrap();
    let (setting, _, message) = policy_err(load_policy(&settings));
    assert_eq!(setting, "session_ticket_keys");
    assert!(message.contains("does not exist"), "{message}");
}

#[cfg(unix)]
#[test]
fn session_ticket_keys_follow_the_private_key_permission_rule() {
    let f = Fixture::new();
    let mut settings = f.settings.clone();
    let file = f.base("ticket.keys");
    write_private(&file, &[0x90u8; 80]);
    settings.session_ticket_keys = Some(file.clone());

    set_mode(&file, 0o640);
    let loaded = load_policy(&settings).unwrap();
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("session_ticket_keys") && w.contains("0640")),
        "{:?}",
        loaded.warnings
    );

    set_mode(&file, 0o604);
    let (setting, path, message) = policy_err(load_policy(&settings));
    assert_eq!((setting, path), ("session_ticket_keys", file));
    assert!(message.contains("readable by others"), "{message}");
}
