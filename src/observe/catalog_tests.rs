//! The metric table against the docs, the sources and what the recorders record.

use std::collections::BTreeMap;
use std::path::Path;

use metrics_util::debugging::DebuggingRecorder;
use metrics_util::MetricKind as RecordedKind;
use tls_policy_backend::RecordCipher;

use super::catalog::{describe_metrics, metric, MetricKind, METRICS};

/// `name → (kind, labels)` from a markdown table whose rows start `| \`tls_policy_...\``: the
/// first cell names one or more metrics, the second starts with the kind, the third lists the
/// labels (commas outside parentheses, up to a `:` that starts the explanation).
fn table_rows(markdown: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut rows = BTreeMap::new();
    for line in markdown.lines() {
        let line = line.trim_start_matches("//!").trim();
        if !line.starts_with("| `tls_policy_") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
        assert!(
            cells.len() >= 3,
            "a metric row with fewer than 3 cells: {line}"
        );
        let kind = cells[1].split_whitespace().next().unwrap_or("").to_owned();
        let mut labels_text = String::new();
        let mut depth = 0_u32;
        for c in cells[2..].join(" | ").chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ':' if depth == 0 => break,
                _ if depth == 0 => labels_text.push(c),
                _ => {}
            }
        }
        let labels: Vec<String> = labels_text
            .split(',')
            .map(|label| label.trim().trim_matches('`').to_owned())
            .filter(|label| !label.is_empty())
            .collect();
        for name in cells[0].split('`').filter(|s| s.starts_with("tls_policy_")) {
            rows.insert(name.to_owned(), (kind.clone(), labels.clone()));
        }
    }
    rows
}

fn table_of_the_catalog() -> BTreeMap<String, (String, Vec<String>)> {
    METRICS
        .iter()
        .map(|m| {
            let labels = m.labels.iter().map(|l| (*l).to_owned()).collect();
            (m.name.to_owned(), (m.kind.as_str().to_owned(), labels))
        })
        .collect()
}

#[test]
fn the_catalog_names_each_metric_once_with_its_prefix() {
    for (i, m) in METRICS.iter().enumerate() {
        assert!(m.name.starts_with("tls_policy_"), "{}", m.name);
        assert!(!m.help.is_empty(), "{} has no help", m.name);
        assert_eq!(metric(m.name).map(|found| found.name), Some(m.name));
        assert!(
            METRICS[..i].iter().all(|other| other.name != m.name),
            "{} twice",
            m.name
        );
    }
}

#[test]
fn features_md_lists_the_catalog() {
    let features = include_str!("../../features.md");
    assert_eq!(table_rows(features), table_of_the_catalog());
}

#[test]
fn the_observe_page_lists_the_catalog() {
    let page = include_str!("mod.rs");
    assert_eq!(table_rows(page), table_of_the_catalog());
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_metric_name_is_spelled_outside_the_catalog() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "backends"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let catalog = root.join("src/observe/catalog.rs");
    let this = root.join("src/observe/catalog_tests.rs");
    let mut spelled = Vec::new();
    for file in files.iter().filter(|f| **f != catalog && **f != this) {
        let text = std::fs::read_to_string(file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            if line.contains("\"tls_policy_") {
                spelled.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        spelled.is_empty(),
        "metric names spelled outside src/observe/catalog.rs (use its constants):\n{}",
        spelled.join("\n")
    );
}

#[test]
fn the_recorders_record_the_catalogs_kinds_labels_and_help() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        describe_metrics();
        super::ChannelMetrics::new("bolt", None).register();
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        assert!(super::expiry::record_certificate_expiry("p", cert.der()).is_some());
        for backend in crate::Backend::compiled() {
            super::announce_record_aead(*backend, RecordCipher::Provider);
        }
        crate::ocsp::stapler::record("p", None);
    });
    let snapshot = snapshotter.snapshot().into_vec();
    let mut seen = std::collections::BTreeSet::new();
    for (key, _unit, help, _value) in &snapshot {
        let name = key.key().name();
        let Some(entry) = metric(name) else {
            panic!("{name} is recorded but not in METRICS");
        };
        let kind = match key.kind() {
            RecordedKind::Counter => MetricKind::Counter,
            RecordedKind::Gauge => MetricKind::Gauge,
            RecordedKind::Histogram => MetricKind::Histogram,
        };
        assert_eq!(kind, entry.kind, "{name}");
        let labels: Vec<&str> = key.key().labels().map(|l| l.key()).collect();
        assert_eq!(labels, entry.labels, "{name}");
        assert_eq!(help.as_deref(), Some(entry.help), "{name}: help");
        seen.insert(name.to_owned());
    }
    for expected in [
        super::HANDSHAKES,
        super::HANDSHAKE_DURATION,
        super::ACTIVE_CONNECTIONS,
        super::PENDING_CONNECTIONS,
        super::BYTES_READ,
        super::BYTES_WRITTEN,
        super::CERTIFICATE_EXPIRY,
        super::OCSP_RESPONSE_AGE,
        super::OCSP_NEXT_UPDATE,
    ] {
        assert!(
            seen.contains(expected),
            "{expected} was not recorded: {seen:?}"
        );
    }
}

/// What the recorders record, in the Prometheus text format `serve --metrics` serves.
#[test]
fn the_prometheus_page_types_and_helps_each_metric_as_the_table_says() {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

    // As `MetricsEndpoint::start` builds it: the handshake duration has buckets.
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(super::HANDSHAKE_DURATION.to_owned()),
            &super::HANDSHAKE_BUCKETS,
        )
        .expect("buckets")
        .build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        describe_metrics();
        let channel = super::ChannelMetrics::new("bolt", None);
        channel.handshake_succeeded(std::time::Duration::from_millis(3));
        channel.bytes_read(1);
        channel.bytes_written(1);
        crate::ocsp::stapler::record("p", None);
        for backend in crate::Backend::compiled() {
            super::announce_record_aead(*backend, RecordCipher::Provider);
        }
    });
    let page = handle.render();
    let mut typed = std::collections::BTreeSet::new();
    for line in page.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            let entry = metric(name).unwrap_or_else(|| panic!("{name} is not in METRICS"));
            assert_eq!(kind, entry.kind.as_str(), "{name}");
            typed.insert(name.to_owned());
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("# HELP name text");
            let entry = metric(name).unwrap_or_else(|| panic!("{name} is not in METRICS"));
            assert_eq!(help, entry.help, "{name}");
        }
    }
    for expected in [
        super::HANDSHAKES,
        super::HANDSHAKE_DURATION,
        super::ACTIVE_CONNECTIONS,
        super::PENDING_CONNECTIONS,
        super::BYTES_READ,
        super::BYTES_WRITTEN,
        super::OCSP_RESPONSE_AGE,
        super::OCSP_NEXT_UPDATE,
    ] {
        assert!(
            typed.contains(expected),
            "{expected} not on the page:\n{page}"
        );
    }
}
