//! Which crypto instructions this CPU offers, and what the machine is, for the report's first lines.

use serde::Serialize;

/// One CPU feature that AES-GCM, ChaCha20 or SHA code paths use, and whether this CPU has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CryptoPath {
    /// The feature as the ISA names it (`AES-NI`, `VAES`, `PMULL`, ...).
    pub name: &'static str,
    /// What the feature accelerates.
    pub used_for: &'static str,
    /// Whether this CPU (and OS) offers it, as detected at run time.
    pub present: bool,
}

/// The crypto-relevant features of this CPU, detected at run time.
///
/// x86_64: AES-NI, PCLMULQDQ, VAES, VPCLMULQDQ, AVX2, AVX-512F. aarch64: AES, PMULL, SHA2.
/// Other architectures: none listed.
pub fn crypto_paths() -> Vec<CryptoPath> {
    #[allow(unused_mut)]
    let mut paths = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let mut add = |name, used_for, present| {
            paths.push(CryptoPath {
                name,
                used_for,
                present,
            })
        };
        add(
            "AES-NI",
            "AES rounds",
            std::arch::is_x86_feature_detected!("aes"),
        );
        add(
            "PCLMULQDQ",
            "GHASH (GCM)",
            std::arch::is_x86_feature_detected!("pclmulqdq"),
        );
        add(
            "VAES",
            "AES on 256/512-bit vectors",
            std::arch::is_x86_feature_detected!("vaes"),
        );
        add(
            "VPCLMULQDQ",
            "GHASH on 256/512-bit vectors",
            std::arch::is_x86_feature_detected!("vpclmulqdq"),
        );
        add(
            "AVX2",
            "ChaCha20-Poly1305, wide AES-GCM",
            std::arch::is_x86_feature_detected!("avx2"),
        );
        add(
            "AVX-512F",
            "512-bit AES-GCM and ChaCha20",
            std::arch::is_x86_feature_detected!("avx512f"),
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        let mut add = |name, used_for, present| {
            paths.push(CryptoPath {
                name,
                used_for,
                present,
            })
        };
        add(
            "AES",
            "AES rounds (ARMv8 crypto)",
            std::arch::is_aarch64_feature_detected!("aes"),
        );
        add(
            "PMULL",
            "GHASH (GCM)",
            std::arch::is_aarch64_feature_detected!("pmull"),
        );
        add(
            "SHA2",
            "SHA-256 (handshakes)",
            std::arch::is_aarch64_feature_detected!("sha2"),
        );
    }
    paths
}

/// What machine the figures come from.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// The CPU model name from `/proc/cpuinfo`, or the architecture where there is none.
    pub cpu_model: String,
    /// The architecture this binary was built for.
    pub arch: &'static str,
    /// Logical CPUs available to this process.
    pub logical_cpus: usize,
    /// The crypto instructions offered.
    pub crypto_paths: Vec<CryptoPath>,
}

impl Machine {
    /// Describes this machine.
    pub fn detect() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        Machine {
            cpu_model,
            arch: std::env::consts::ARCH,
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            crypto_paths: crypto_paths(),
        }
    }

    /// One line: `CPU: <model> (<arch>, <n> logical CPUs); crypto paths: AES-NI yes, ...`.
    pub fn summary(&self) -> String {
        let paths = if self.crypto_paths.is_empty() {
            "none detected for this architecture".to_owned()
        } else {
            self.crypto_paths
                .iter()
                .map(|path| format!("{} {}", path.name, if path.present { "yes" } else { "no" }))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "CPU: {} ({}, {} logical CPUs); crypto paths: {paths}",
            self.cpu_model, self.arch, self.logical_cpus
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_architecture_features() {
        let paths = crypto_paths();
        if cfg!(target_arch = "x86_64") {
            let names: Vec<_> = paths.iter().map(|p| p.name).collect();
            assert_eq!(
                names,
                [
                    "AES-NI",
                    "PCLMULQDQ",
                    "VAES",
                    "VPCLMULQDQ",
                    "AVX2",
                    "AVX-512F"
                ]
            );
        }
        assert!(Machine::detect().summary().starts_with("CPU: "));
    }
}
