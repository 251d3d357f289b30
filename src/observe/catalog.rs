//! Every `tls_policy_*` metric in one table ([`METRICS`]: name, kind, labels, help): the only
//! place a metric name is spelled; recorders use its constants, and the docs are tested
//! against it.

/// What kind of metric a [`Metric`] is, as the `metrics` facade and Prometheus call it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricKind {
    /// Only goes up (Prometheus `counter`).
    Counter,
    /// Set to a value (Prometheus `gauge`).
    Gauge,
    /// Samples in buckets (Prometheus `histogram`).
    Histogram,
}

impl MetricKind {
    /// The Prometheus name of the kind: `counter`, `gauge` or `histogram`.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One metric of [`METRICS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metric {
    /// The name (`tls_policy_*`).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// The label keys every sample carries, in order.
    pub labels: &'static [&'static str],
    /// One line of help (Prometheus `# HELP`).
    pub help: &'static str,
}

/// Counter: handshakes by `outcome` (`ok`/`failed`) and `reason`.
pub const HANDSHAKES: &str = "tls_policy_handshakes_total";
/// Histogram: handshake duration in seconds, by `outcome`.
pub const HANDSHAKE_DURATION: &str = "tls_policy_handshake_duration_seconds";
/// Histogram buckets of [`HANDSHAKE_DURATION`], from 1 ms to the 10 s default handshake timeout
/// and beyond: what a Prometheus recorder should be given (`tls-policy serve --metrics` does).
pub const HANDSHAKE_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Gauge: connections open now.
pub const ACTIVE_CONNECTIONS: &str = "tls_policy_active_connections";
/// Gauge: connections accepted and not yet through their handshake (listener).
pub const PENDING_CONNECTIONS: &str = "tls_policy_pending_connections";
/// Counter: plaintext bytes read by the service.
pub const BYTES_READ: &str = "tls_policy_bytes_read_total";
/// Counter: plaintext bytes written by the service.
pub const BYTES_WRITTEN: &str = "tls_policy_bytes_written_total";
/// Gauge: seconds until a policy's certificate expires.
pub const CERTIFICATE_EXPIRY: &str = "tls_policy_certificate_expiry_seconds";
/// Gauge: seconds until a CRL of a policy reaches its nextUpdate (labels `policy`, `crl`: the
/// CRL issuer's distinguished name); past it, handshakes it should cover fail as
/// `revocation_unknown`.
pub const CRL_NEXT_UPDATE: &str = "tls_policy_crl_next_update_seconds";
/// Gauge, always 1: which implementation seals and opens a backend's records, per AEAD family
/// (labels `backend`, `aead`: `aes_gcm` or `chacha20_poly1305`, `implementation`: `aws-lc-rs` or
/// `ring`, `setting`: `fastest` or `provider`, `chosen_by`: `measurement`, `setting` or
/// `only_provider`).
pub const RECORD_AEAD_INFO: &str = "tls_policy_record_aead_info";
/// Gauge: seconds since the stapled response's `thisUpdate`, by `policy` (NaN: no staple).
pub const OCSP_RESPONSE_AGE: &str = "tls_policy_ocsp_response_age_seconds";
/// Gauge: seconds until the stapled response's `nextUpdate`, by `policy` (NaN: no staple, or a
/// response without `nextUpdate`).
pub const OCSP_NEXT_UPDATE: &str = "tls_policy_ocsp_next_update_seconds";
/// Counter: failed fetches by `policy` and `reason` (`timeout`, `connect`, `http`, `url`,
/// `revoked`, `unknown`, `expired`, `not_yet_valid`, `signature`, `unauthorised`, `cert_id`,
/// `responder_error`, `malformed`).
pub const OCSP_FETCH_FAILURES: &str = "tls_policy_ocsp_fetch_failures_total";
/// Gauge: 1 while the file watcher's self-check has seen events from a watched directory
/// (label `directory`), 0 when its watch is dead or unverified (hot reload may not see changes
/// there).
pub const RELOAD_WATCH_HEALTHY: &str = "tls_policy_reload_watch_healthy";

/// The labels of a channel's metrics.
const CHANNEL: &[&str] = &["channel", "policy", "backend"];

/// Every metric this crate records; features.md's Observability table and the [`super`] page
/// list the same (tested).
pub const METRICS: &[Metric] = &[
    Metric {
        name: HANDSHAKES,
        kind: MetricKind::Counter,
        labels: &["channel", "policy", "backend", "outcome", "reason"],
        help: "TLS handshakes by outcome (ok/failed) and failure reason (none when ok).",
    },
    Metric {
        name: HANDSHAKE_DURATION,
        kind: MetricKind::Histogram,
        labels: &["channel", "policy", "backend", "outcome"],
        help: "TLS handshake duration in seconds, by outcome.",
    },
    Metric {
        name: ACTIVE_CONNECTIONS,
        kind: MetricKind::Gauge,
        labels: CHANNEL,
        help: "Connections open now.",
    },
    Metric {
        name: PENDING_CONNECTIONS,
        kind: MetricKind::Gauge,
        labels: CHANNEL,
        help: "Connections accepted and not yet through their handshake (listener).",
    },
    Metric {
        name: BYTES_READ,
        kind: MetricKind::Counter,
        labels: CHANNEL,
        help: "Plaintext bytes the service read (listener).",
    },
    Metric {
        name: BYTES_WRITTEN,
        kind: MetricKind::Counter,
        labels: CHANNEL,
        help: "Plaintext bytes the service wrote (listener).",
    },
    Metric {
        name: CERTIFICATE_EXPIRY,
        kind: MetricKind::Gauge,
        labels: &["policy"],
        help: "Seconds until the policy's certificate expires (negative once expired).",
    },
    Metric {
        name: CRL_NEXT_UPDATE,
        kind: MetricKind::Gauge,
        labels: &["policy", "crl"],
        help: "Seconds until the CRL (by issuer DN) reaches its nextUpdate (negative once past).",
    },
    Metric {
        name: RECORD_AEAD_INFO,
        kind: MetricKind::Gauge,
        labels: &["backend", "aead", "implementation", "setting", "chosen_by"],
        help: "Always 1: which implementation seals a backend's TLS records, per AEAD family.",
    },
    Metric {
        name: OCSP_RESPONSE_AGE,
        kind: MetricKind::Gauge,
        labels: &["policy"],
        help: "Seconds since the stapled OCSP response's thisUpdate (NaN: no staple).",
    },
    Metric {
        name: OCSP_NEXT_UPDATE,
        kind: MetricKind::Gauge,
        labels: &["policy"],
        help: "Seconds until the stapled OCSP response's nextUpdate (NaN: no staple or none).",
    },
    Metric {
        name: RELOAD_WATCH_HEALTHY,
        kind: MetricKind::Gauge,
        labels: &["directory"],
        help: "1 while the file watcher sees events from the directory, 0 when dead or unverified.",
    },
    Metric {
        name: OCSP_FETCH_FAILURES,
        kind: MetricKind::Counter,
        labels: &["policy", "reason"],
        help: "Failed OCSP fetches by reason.",
    },
];

/// The metric named `name`, if this crate records one by that name.
pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|metric| metric.name == name)
}

/// Gives the installed `metrics` recorder every metric's kind and help text (Prometheus
/// `# HELP` lines); `serve --metrics` calls it once it installed its recorder.
pub fn describe_metrics() {
    for metric in METRICS {
        match metric.kind {
            MetricKind::Counter => metrics::describe_counter!(metric.name, metric.help),
            MetricKind::Gauge => metrics::describe_gauge!(metric.name, metric.help),
            MetricKind::Histogram => metrics::describe_histogram!(metric.name, metric.help),
        }
    }
}
