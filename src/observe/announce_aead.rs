//! Says which implementation seals a backend's TLS records: the start-up log line and the
//! `tls_policy_record_aead_info` gauge (`dbms.ssl.record_cipher`).

use tls_policy_backend::{RecordAead, RecordCipher};

use super::RECORD_AEAD_INFO;
use crate::Backend;

/// Logs (info) and records as [`RECORD_AEAD_INFO`] what `backend`'s record AEAD is under
/// `setting`, and returns it; `None` (nothing logged) for native-tls, whose library chooses.
///
/// [`TlsChannels::load`](crate::TlsChannels::load) calls it once per load.
pub fn announce_record_aead(backend: Backend, setting: RecordCipher) -> Option<RecordAead> {
    let aead = backend.record_aead(setting)?;
    let chosen_by = chosen_by(setting);
    for (family, source) in [
        ("aes_gcm", &aead.aes_gcm),
        ("chacha20_poly1305", &aead.chacha20_poly1305),
    ] {
        metrics::gauge!(
            RECORD_AEAD_INFO,
            "backend" => backend.name(),
            "aead" => family,
            "implementation" => source.implementation,
            "setting" => setting.as_str(),
            "chosen_by" => chosen_by,
        )
        .set(1.0);
    }
    tracing::info!(
        backend = backend.name(),
        record_cipher = setting.as_str(),
        aes_gcm = aead.aes_gcm.implementation,
        chacha20_poly1305 = aead.chacha20_poly1305.implementation,
        "record AEAD: {aead}"
    );
    Some(aead)
}

/// How the implementation was chosen, as the gauge's `chosen_by` label says it.
fn chosen_by(setting: RecordCipher) -> &'static str {
    let both = cfg!(all(feature = "rustls-aws-lc-rs", feature = "rustls-ring"));
    match setting {
        RecordCipher::Provider => "setting",
        RecordCipher::Fastest if both => "measurement",
        RecordCipher::Fastest => "only_provider",
    }
}
