//! The methods a certificate-verifier wrapper hands unchanged to the verifier it wraps.
//!
//! Every wrapper here (path-link completion, the skipped name check, the `allowed_peers` gate)
//! changes only how the certificate itself is judged; the handshake signatures, the schemes
//! offered, raw-key support and the CA names sent stay the inner verifier's. These macros write
//! those pass-throughs once, so a wrapper states only what it changes, and a method rustls adds
//! to the traits is delegated in one place.

/// The signature checks and capabilities both verifier traits share, delegated to `self.$inner`.
macro_rules! delegate_signature_checks {
    ($inner:ident) => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            self.$inner.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            self.$inner.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.$inner.supported_verify_schemes()
        }

        fn requires_raw_public_keys(&self) -> bool {
            self.$inner.requires_raw_public_keys()
        }
    };
}

/// A `ServerCertVerifier` wrapper's pass-throughs: the shared ones and the CA-name hints.
macro_rules! delegate_server_cert_verifier {
    ($inner:ident) => {
        $crate::verifier_delegate::delegate_signature_checks!($inner);

        fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
            self.$inner.root_hint_subjects()
        }
    };
}

/// A `ClientCertVerifier` wrapper's pass-throughs: the shared ones and the CA names the server
/// sends in its CertificateRequest (whether a certificate is asked for stays the wrapper's).
macro_rules! delegate_client_cert_verifier {
    ($inner:ident) => {
        $crate::verifier_delegate::delegate_signature_checks!($inner);

        fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
            self.$inner.root_hint_subjects()
        }
    };
}

pub(crate) use {
    delegate_client_cert_verifier, delegate_server_cert_verifier, delegate_signature_checks,
};
