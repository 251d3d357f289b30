//! IANA cipher suite names and code points: the one vocabulary of the `ciphers` setting.
//!
//! ```
//! # use tls_policy_backend as tls_policy; // users write `tls_policy::`
//! use tls_policy::CipherSuite;
//! let suite = CipherSuite::from_name("TLS_AES_128_GCM_SHA256").unwrap();
//! assert_eq!(suite.code(), 0x1301);
//! assert_eq!(CipherSuite::from_code(0x1301), Some(suite));
//! ```

use std::fmt;

use crate::TlsVersion;

/// A TLS cipher suite known by its IANA registry name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CipherSuite {
    code: u16,
    name: &'static str,
    version: TlsVersion,
}

impl CipherSuite {
    /// Looks a suite up by its IANA name (case-insensitive), e.g. `TLS_AES_256_GCM_SHA384`.
    pub fn from_name(name: &str) -> Option<CipherSuite> {
        KNOWN
            .iter()
            .copied()
            .find(|s| s.name.eq_ignore_ascii_case(name.trim()))
    }

    /// Looks a suite up by its two-byte code point, e.g. `0x1301`.
    pub fn from_code(code: u16) -> Option<CipherSuite> {
        KNOWN.iter().copied().find(|s| s.code == code)
    }

    /// Every suite this table knows, TLS 1.3 first.
    pub fn all() -> &'static [CipherSuite] {
        KNOWN
    }

    /// The two-byte code point from the IANA registry.
    pub fn code(self) -> u16 {
        self.code
    }

    /// The IANA registry name.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The protocol version the suite belongs to (TLS 1.2 suites also cover TLS 1.0/1.1, which
    /// this project refuses).
    pub fn version(self) -> TlsVersion {
        self.version
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

const fn tls13(code: u16, name: &'static str) -> CipherSuite {
    CipherSuite {
        code,
        name,
        version: TlsVersion::Tls13,
    }
}

const fn tls12(code: u16, name: &'static str) -> CipherSuite {
    CipherSuite {
        code,
        name,
        version: TlsVersion::Tls12,
    }
}

/// From the IANA "TLS Cipher Suites" registry: every suite a current TLS library may offer.
const KNOWN: &[CipherSuite] = &[
    tls13(0x1301, "TLS_AES_128_GCM_SHA256"),
    tls13(0x1302, "TLS_AES_256_GCM_SHA384"),
    tls13(0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
    tls13(0x1304, "TLS_AES_128_CCM_SHA256"),
    tls13(0x1305, "TLS_AES_128_CCM_8_SHA256"),
    tls12(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    tls12(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    tls12(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    tls12(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    tls12(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    tls12(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    tls12(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    tls12(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    tls12(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    tls12(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
    tls12(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    tls12(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    tls12(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    tls12(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    tls12(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
    tls12(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
    tls12(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    tls12(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    tls12(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    tls12(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    tls12(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    tls12(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    tls12(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    tls12(0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_are_unique() {
        for (i, a) in KNOWN.iter().enumerate() {
            for b in &KNOWN[i + 1..] {
                assert_ne!(a.code, b.code, "{} and {}", a.name, b.name);
                assert_ne!(a.name, b.name);
            }
        }
    }

    #[test]
    fn lookup_ignores_case_and_spaces() {
        let s = CipherSuite::from_name(" tls_chacha20_poly1305_sha256 ").unwrap();
        assert_eq!(s.code(), 0x1303);
        assert_eq!(s.version(), TlsVersion::Tls13);
        assert!(CipherSuite::from_name("TLS_NOT_A_SUITE").is_none());
    }
}
