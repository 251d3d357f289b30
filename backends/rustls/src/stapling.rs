//! The certificate resolver that staples an OCSP response (issue 10, part 2).
//!
//! `server_config::build` installs one when `ServerOptions::ocsp_stapling` is on
//! ([`crate::RustlsAcceptor::stapling`] hands it out); `tls-policy`'s background stapler calls
//! [`StaplingResolver::set_staple`] after each validated fetch: every handshake reads the
//! current [`CertifiedKey`] with one lock-free load, and a new staple needs no config rebuild.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Serves one certificate chain and key, with the OCSP response currently stapled to it.
#[derive(Debug)]
pub struct StaplingResolver {
    current: ArcSwap<CertifiedKey>,
}

impl StaplingResolver {
    /// Serves `key` (its own `ocsp`, if any, is dropped: a staple comes from a validated fetch).
    pub fn new(mut key: CertifiedKey) -> Self {
        key.ocsp = None;
        StaplingResolver {
            current: ArcSwap::from_pointee(key),
        }
    }

    /// Replaces the certificate and key (a reload): the new certificate is served without a
    /// staple until a response about it is fetched.
    pub fn set_key(&self, mut key: CertifiedKey) {
        key.ocsp = None;
        self.current.store(Arc::new(key));
    }

    /// Staples `ocsp` (or stops stapling with `None`) if `end_entity` (the DER certificate the
    /// response was fetched and validated for) is still the one served; returns whether it was
    /// applied. A fetch that finishes after a reload swapped the certificate is thus ignored.
    pub fn set_staple(&self, end_entity: &[u8], ocsp: Option<Vec<u8>>) -> bool {
        let mut applied = false;
        self.current.rcu(|current| {
            applied = current
                .end_entity_cert()
                .is_ok_and(|cert| cert.as_ref() == end_entity);
            if applied {
                let mut key = CertifiedKey::clone(current);
                key.ocsp = ocsp.clone();
                Arc::new(key)
            } else {
                Arc::clone(current)
            }
        });
        applied
    }

    /// The response stapled now, if any.
    pub fn staple(&self) -> Option<Vec<u8>> {
        self.current.load().ocsp.clone()
    }
}

impl ResolvesServerCert for StaplingResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
    use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, ServerConfig};
    use rustls::{ServerConnection, SignatureScheme};

    use super::*;
    use crate::RustlsBackend;

    /// Accepts any server and records the OCSP response it stapled.
    #[derive(Debug)]
    struct RecordStaple {
        provider: Arc<CryptoProvider>,
        seen: Mutex<Option<Vec<u8>>>,
    }

    impl ServerCertVerifier for RecordStaple {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            *self.seen.lock().unwrap() = Some(ocsp_response.to_vec());
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    fn backend() -> RustlsBackend {
        #[cfg(feature = "aws-lc-rs")]
        return RustlsBackend::aws_lc_rs();
        #[cfg(not(feature = "aws-lc-rs"))]
        return RustlsBackend::ring();
    }

    fn certified_key(provider: &CryptoProvider) -> CertifiedKey {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let signing = provider
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(key.serialize_der().into()))
            .unwrap();
        CertifiedKey::new(vec![cert.der().clone()], signing)
    }

    /// One in-memory handshake; the staple the client saw (empty when none).
    fn handshake(resolver: &Arc<StaplingResolver>, provider: &Arc<CryptoProvider>) -> Vec<u8> {
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        let verifier = Arc::new(RecordStaple {
            provider: provider.clone(),
            seen: Mutex::new(None),
        });
        let client = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        let mut client =
            ClientConnection::new(Arc::new(client), "localhost".try_into().unwrap()).unwrap();
        let mut server = ServerConnection::new(Arc::new(server)).unwrap();
        for _ in 0..10 {
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).unwrap();
            }
            let mut rd = &buf[..];
            while !rd.is_empty() {
                server.read_tls(&mut rd).unwrap();
                server.process_new_packets().unwrap();
            }
            let mut buf = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut buf).unwrap();
            }
            let mut rd = &buf[..];
            while !rd.is_empty() {
                client.read_tls(&mut rd).unwrap();
                client.process_new_packets().unwrap();
            }
            if !client.is_handshaking() && !server.is_handshaking() {
                break;
            }
        }
        assert!(!client.is_handshaking(), "the handshake completes");
        let seen = verifier.seen.lock().unwrap().clone();
        seen.expect("the client verified the server")
    }

    #[test]
    fn the_staple_is_served_replaced_and_dropped_with_a_new_certificate() {
        let backend = backend();
        let provider = backend.provider().clone();
        let first = certified_key(&provider);
        let first_der = first.end_entity_cert().unwrap().to_vec();
        let resolver = Arc::new(StaplingResolver::new(first));
        assert!(handshake(&resolver, &provider).is_empty());

        assert!(resolver.set_staple(&first_der, Some(b"response one".to_vec())));
        assert_eq!(handshake(&resolver, &provider), b"response one");
        assert!(resolver.set_staple(&first_der, Some(b"response two".to_vec())));
        assert_eq!(handshake(&resolver, &provider), b"response two");

        // A reload: the new certificate goes without a staple, and a late staple for the old
        // one is not applied to it.
        let second = certified_key(&provider);
        let second_der = second.end_entity_cert().unwrap().to_vec();
        resolver.set_key(second);
        assert!(handshake(&resolver, &provider).is_empty());
        assert!(!resolver.set_staple(&first_der, Some(b"stale".to_vec())));
        assert_eq!(resolver.staple(), None);
        assert!(resolver.set_staple(&second_der, Some(b"fresh".to_vec())));
        assert_eq!(handshake(&resolver, &provider), b"fresh");
        assert!(resolver.set_staple(&second_der, None));
        assert!(handshake(&resolver, &provider).is_empty());
    }
}
