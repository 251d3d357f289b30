//! Where a backend takes its record encryption from: the fastest implementation on this CPU, or
//! strictly its own provider's (the `dbms.ssl.record_cipher` setting).

use std::fmt;

/// Where a backend's record AEAD (the cipher that seals and opens every TLS record) comes from.
///
/// Only backends with several implementations to choose from act on it: a rustls backend when
/// both rustls providers (aws-lc-rs and ring) are compiled in. Key exchange, signatures,
/// randomness and session tickets always stay on the backend's own provider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RecordCipher {
    /// Each cipher suite's record AEAD from whichever compiled-in implementation seals records
    /// faster on this CPU; the suite's hash, HKDF or PRF stay the backend's own (the default).
    #[default]
    Fastest,
    /// Every primitive from the backend's own provider, as its name says (for FIPS or an audit).
    Provider,
}

impl RecordCipher {
    /// Every value, in the order the setting documents them.
    pub const ALL: [RecordCipher; 2] = [RecordCipher::Fastest, RecordCipher::Provider];

    /// The value as written in the setting: `fastest` or `provider`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordCipher::Fastest => "fastest",
            RecordCipher::Provider => "provider",
        }
    }

    /// Parses a setting's value, exactly (ASCII case ignored, surrounding spaces trimmed);
    /// `None` for anything else.
    pub fn from_name(value: &str) -> Option<RecordCipher> {
        RecordCipher::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

impl fmt::Display for RecordCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which implementation seals and opens a backend's records, per AEAD family, and why: what
/// `tls-policy check`, the start-up log, the `tls_policy_record_aead_info` metric and the
/// benchmark report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordAead {
    /// The setting it was chosen under.
    pub setting: RecordCipher,
    /// The AES-GCM suites (AES-128-GCM and AES-256-GCM, TLS 1.2 and 1.3).
    pub aes_gcm: AeadSource,
    /// The ChaCha20-Poly1305 suites (TLS 1.2 and 1.3).
    pub chacha20_poly1305: AeadSource,
}

/// One AEAD family's implementation and the reason it was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AeadSource {
    /// The implementation: a crate name (`aws-lc-rs`, `ring`).
    pub implementation: &'static str,
    /// Why: the setting, or the measured speeds that decided it.
    pub reason: String,
}

impl fmt::Display for RecordAead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AES-GCM from {} ({}); ChaCha20-Poly1305 from {} ({})",
            self.aes_gcm.implementation,
            self.aes_gcm.reason,
            self.chacha20_poly1305.implementation,
            self.chacha20_poly1305.reason
        )
    }
}

#[cfg(test)]
mod tests {
    use super::RecordCipher;

    #[test]
    fn parses_exactly_the_documented_values() {
        assert_eq!(
            RecordCipher::from_name("fastest"),
            Some(RecordCipher::Fastest)
        );
        assert_eq!(
            RecordCipher::from_name(" Provider "),
            Some(RecordCipher::Provider)
        );
        assert_eq!(RecordCipher::from_name("fast"), None);
        assert_eq!(RecordCipher::from_name(""), None);
        assert_eq!(RecordCipher::default(), RecordCipher::Fastest);
    }
}
