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
/// x86_64: AES-NI, PCLMULQDQ, VAES, VPCLMULQDQ, AVX2, AVX-512F, SHA-NI. aarch64: AES, PMULL,
/// SHA2.
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
        add(
            "SHA-NI",
            "SHA-256 (handshakes)",
            std::arch::is_x86_feature_detected!("sha"),
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
    /// The kernel: `uname -sr` (`Linux 6.1.0-18-amd64`), or the OS name where it cannot be read.
    pub kernel: String,
    /// The TLS and crypto libraries this binary was built with, and their versions.
    pub libraries: Vec<Library>,
}

/// One library the figures depend on, and its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Library {
    /// The crate (or system library) name.
    pub name: &'static str,
    /// Its version.
    pub version: String,
}

/// The crates behind the backends, at the versions `Cargo.lock` pins (a unit test keeps this
/// list and the lock file in step).
const CRATES: &[(&str, &str)] = &[
    ("rustls", "0.23.46"),
    ("tokio-rustls", "0.26.6"),
    ("aws-lc-rs", "1.19.0"),
    ("aws-lc-sys", "0.47.0"),
    ("ring", "0.17.14"),
    ("native-tls", "0.2.18"),
    ("openssl", "0.10.82"),
    ("tokio-openssl", "0.6.5"),
    ("openssl-sys", "0.9.118"),
    ("tokio", "1.54.1"),
];

/// The libraries: the crates above, and the system OpenSSL (which native-tls links) as
/// `openssl version` names it, when that command is present.
fn libraries() -> Vec<Library> {
    let mut libraries: Vec<Library> = CRATES
        .iter()
        .map(|(name, version)| Library {
            name,
            version: (*version).to_owned(),
        })
        .collect();
    if let Some(version) = std::process::Command::new("openssl")
        .arg("version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    {
        libraries.push(Library {
            name: "system OpenSSL",
            version,
        });
    }
    libraries
}

/// `Linux 6.1.0-18-amd64` from `/proc/sys/kernel/{ostype,osrelease}`.
fn kernel() -> String {
    let read = |file: &str| {
        std::fs::read_to_string(format!("/proc/sys/kernel/{file}"))
            .ok()
            .map(|text| text.trim().to_owned())
    };
    match (read("ostype"), read("osrelease")) {
        (Some(os), Some(release)) => format!("{os} {release}"),
        _ => std::env::consts::OS.to_owned(),
    }
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
            kernel: kernel(),
            libraries: libraries(),
        }
    }

    /// One line: `CPU: <model> (<arch>, <n> logical CPUs, <kernel>); crypto paths: AES-NI yes, ...`.
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
            "CPU: {} ({}, {} logical CPUs, {}); crypto paths: {paths}",
            self.cpu_model, self.arch, self.logical_cpus, self.kernel
        )
    }

    /// One line: `libraries: rustls 0.23.46, ...`.
    pub fn libraries_line(&self) -> String {
        let list: Vec<String> = self
            .libraries
            .iter()
            .map(|library| format!("{} {}", library.name, library.version))
            .collect();
        format!("libraries: {}", list.join(", "))
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
                    "AVX-512F",
                    "SHA-NI"
                ]
            );
        }
        assert!(Machine::detect().summary().starts_with("CPU: "));
    }

    #[test]
    fn library_versions_match_the_lock_file() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
            .expect("Cargo.lock");
        for (name, version) in CRATES {
            let entry = format!("name = \"{name}\"\nversion = \"{version}\"");
            assert!(
                lock.contains(&entry),
                "{name} {version} is not what Cargo.lock pins: update CRATES in bench/src/cpu.rs"
            );
        }
    }
}
