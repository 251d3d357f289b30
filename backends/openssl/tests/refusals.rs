//! Revocation along the whole chain (fail closed), allowed_peers and the application's peer
//! check inside the handshake, and how each refusal is classified.

mod common;

use common::{handshake, handshake_with, pki, policy};
use tls_policy_backend::{
    AllowedPeers, ClientOptions, HandshakeFailure, PeerCheck, PeerRefused, ServerOptions,
};
use tls_policy_openssl::classify_handshake_error;

fn reason(result: &std::io::Result<tls_policy_backend::TlsInfo>) -> HandshakeFailure {
    match result {
        Ok(_) => panic!("the handshake succeeded"),
        Err(err) => classify_handshake_error(err),
    }
}

#[tokio::test]
async fn crls_from_every_issuer_admit_the_good_and_refuse_the_revoked() {
    let pki = pki();
    let mut server = policy(&pki.server);
    server.crls = vec![pki.root_crl.clone(), pki.intermediate_crl.clone()];
    handshake(&server, &policy(&pki.client))
        .await
        .server
        .expect("good client, every CRL current");

    let outcome = handshake(&server, &policy(&pki.revoked_client)).await;
    assert_eq!(reason(&outcome.server), HandshakeFailure::Revoked);
    let message = outcome.server.unwrap_err().to_string();
    assert!(
        message.contains("revoked") && message.contains("revoked client"),
        "{message}"
    );
}

#[tokio::test]
async fn a_root_crl_revokes_an_intermediate_path_link() {
    let pki = pki();
    let mut server = policy(&pki.server);
    server.crls = vec![
        pki.root_crl_revoking_intermediate.clone(),
        pki.intermediate_crl.clone(),
    ];
    // The client sends its leaf alone: the intermediate comes from the path links, and is
    // checked all the same.
    let mut client = policy(&pki.client);
    client.cert_chain = pki.client.leaf_only().chain;
    let outcome = handshake(&server, &client).await;
    assert_eq!(reason(&outcome.server), HandshakeFailure::Revoked);
}

#[tokio::test]
async fn a_missing_or_expired_crl_anywhere_below_the_anchor_is_refused() {
    let pki = pki();
    let cases = [
        ("no CRL from the intermediate", vec![pki.root_crl.clone()]),
        (
            "no CRL from the root about the intermediate",
            vec![pki.intermediate_crl.clone()],
        ),
        (
            "the intermediate's CRL expired",
            vec![pki.root_crl.clone(), pki.expired_intermediate_crl.clone()],
        ),
    ];
    for (case, crls) in cases {
        let mut server = policy(&pki.server);
        server.crls = crls;
        let outcome = handshake(&server, &policy(&pki.client)).await;
        assert_eq!(
            reason(&outcome.server),
            HandshakeFailure::RevocationUnknown,
            "{case}"
        );
    }
}

#[tokio::test]
async fn the_client_side_checks_the_servers_chain_against_crls_too() {
    let pki = pki();
    let mut client = policy(&pki.client);
    client.crls = vec![pki.root_crl.clone()];
    let outcome = handshake(&policy(&pki.server), &client).await;
    assert_eq!(reason(&outcome.client), HandshakeFailure::RevocationUnknown);
    client.crls.push(pki.intermediate_crl.clone());
    handshake(&policy(&pki.server), &client)
        .await
        .client
        .expect("server covered by current CRLs");
}

#[tokio::test]
async fn allowed_peers_and_the_peer_check_refuse_inside_the_handshake() {
    let pki = pki();
    let mut server = policy(&pki.server);
    server.allowed_peers = Some("cn:good client".parse::<AllowedPeers>().expect("pattern"));
    handshake(&server, &policy(&pki.client))
        .await
        .server
        .expect("the listed client");
    let outcome = handshake(&server, &policy(&pki.revoked_client)).await;
    assert_eq!(reason(&outcome.server), HandshakeFailure::NotAllowed);
    let err = outcome.server.unwrap_err();
    let refused = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<PeerRefused>())
        .expect("a PeerRefused");
    assert!(refused.peer.contains("revoked client"), "{refused}");
    assert!(outcome.client.is_err(), "the client saw the refusal");

    let options = ServerOptions {
        peer_check: Some(PeerCheck::new(|peer| peer.subject.contains("nobody"))),
        ..Default::default()
    };
    let outcome = handshake_with(
        &policy(&pki.server),
        &options,
        &policy(&pki.client),
        &ClientOptions::default(),
        "localhost",
    )
    .await;
    assert_eq!(reason(&outcome.server), HandshakeFailure::NotAllowed);

    // The client side refuses a server its allowed_peers does not list.
    let mut client = policy(&pki.client);
    client.allowed_peers = Some(
        "dns:elsewhere.example"
            .parse::<AllowedPeers>()
            .expect("pattern"),
    );
    let outcome = handshake(&policy(&pki.server), &client).await;
    assert_eq!(reason(&outcome.client), HandshakeFailure::NotAllowed);
}

/// An anchor that is not self-signed (the intermediate alone in trusted_dir): its own status
/// is not checked (spec §2: every certificate *below* the anchor), what it issued is.
#[tokio::test]
async fn a_non_self_signed_anchor_needs_no_crl_about_itself() {
    let pki = pki();
    let mut server = policy(&pki.server);
    server.trusted = vec![pki.intermediate.clone()];
    server.path_links.clear();
    server.crls = vec![pki.intermediate_crl.clone()];
    let mut client = policy(&pki.client);
    client.cert_chain = pki.client.leaf_only().chain;
    handshake(&server, &client)
        .await
        .server
        .expect("the anchor's issuer CRL is not needed");
    let mut revoked = policy(&pki.revoked_client);
    revoked.cert_chain = pki.revoked_client.leaf_only().chain;
    let outcome = handshake(&server, &revoked).await;
    assert_eq!(reason(&outcome.server), HandshakeFailure::Revoked);
    // That anchor with path links and CRLs is refused at compile time (OpenSSL could not check
    // the path links' revocation under PARTIAL_CHAIN).
    let mut mixed = server.clone();
    mixed.path_links = vec![pki.root.clone()];
    use tls_policy_backend::TlsBackend;
    match tls_policy_openssl::OpensslBackend::new().server(&mixed, &ServerOptions::default()) {
        Err(tls_policy_backend::BackendError::Unsupported {
            setting: "trusted_dir",
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}
