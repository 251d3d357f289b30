//! `tls-policy bench --quick --json FILE` runs to the end and writes comparisons for every compiled-in backend.

use support::tools::tool;
use tls_policy_test_support as support;

use std::process::Command;
use std::time::{Duration, Instant};

/// The whole quick run; a debug build is slower than the release build's 60 s.
const LIMIT: Duration = Duration::from_secs(600);

#[test]
fn quick_bench_writes_every_backends_comparisons() {
    // nginx is the outside reference: missing, it fails the test unless the skip variable is set.
    let nginx = tool("nginx");
    let dir = tempfile::tempdir().expect("tempdir");
    let json_path = dir.path().join("bench.json");
    let svg_path = dir.path().join("bench.svg");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tls-policy"))
        .args(["bench", "--quick", "--json"])
        .arg(&json_path)
        .arg("--svg")
        .arg(&svg_path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tls-policy bench");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for tls-policy bench") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("tls-policy bench --quick did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = child.wait_with_output().expect("bench output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(status.success(), "bench failed: {stderr}\n{stdout}");

    // The first line names the CPU's crypto paths; the backends follow.
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("CPU: ") && first.contains("crypto paths"),
        "{first}"
    );
    for backend in tls_policy::Backend::compiled() {
        assert!(
            stdout.contains(&format!("backend {backend}:")),
            "{backend} not announced:\n{stdout}"
        );
    }
    assert!(stdout.contains("ratio"), "no table:\n{stdout}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("read the JSON"))
            .expect("the JSON parses");
    let comparisons = json["comparisons"].as_array().expect("comparisons array");
    for backend in tls_policy::Backend::compiled() {
        let mine: Vec<&serde_json::Value> = comparisons
            .iter()
            .filter(|c| c["backend"] == backend.name())
            .collect();
        assert!(!mine.is_empty(), "no comparisons for {backend}");
        for comparison in &mine {
            for field in ["metric", "ours", "raw", "ratio"] {
                assert!(
                    !comparison[field].is_null(),
                    "{field} missing: {comparison}"
                );
            }
            let ratio = comparison["ratio"].as_f64().expect("numeric ratio");
            assert!(
                ratio.is_finite() && ratio > 0.0,
                "{backend}: bad ratio in {comparison}"
            );
        }
        // The families of figures the issue asks for, per backend.
        for prefix in [
            "handshake_full_",
            "handshake_resumed_",
            "bulk_",
            "latency_",
            "records_",
            "idle_memory",
        ] {
            assert!(
                mine.iter()
                    .any(|c| c["metric"].as_str().is_some_and(|m| m.starts_with(prefix))),
                "{backend}: no {prefix}* comparison"
            );
        }
    }
    assert!(json["machine"]["crypto_paths"].is_array());
    assert!(json["machine"]["kernel"].is_string());
    assert!(json["machine"]["libraries"]
        .as_array()
        .is_some_and(|l| l.iter().any(|lib| lib["name"] == "rustls")));
    assert!(json["targets"].as_array().is_some_and(|t| t.len() == 5));
    // The limit terms and the shares of them, and the serve listener path.
    let terms = json["limit_terms"].as_array().expect("limit_terms");
    let rustls: Vec<_> = tls_policy::Backend::compiled()
        .iter()
        .filter(|b| b.name().starts_with("rustls"))
        .collect();
    if !rustls.is_empty() {
        for prefix in ["aead_", "in_memory_handshake_"] {
            assert!(
                terms
                    .iter()
                    .any(|t| t["metric"].as_str().is_some_and(|m| m.starts_with(prefix))),
                "no {prefix}* limit term"
            );
        }
        let shares = json["shares"].as_array().expect("shares");
        assert!(
            shares.iter().any(
                |s| s["metric"].as_str().is_some_and(|m| m.starts_with("bulk_"))
                    && s["ours"].as_f64().is_some_and(|v| v > 0.0)
            ),
            "no bulk share"
        );
    }
    assert!(
        comparisons.iter().any(|c| c["metric"]
            .as_str()
            .is_some_and(|m| m.starts_with("listener_"))),
        "no serve listener comparison"
    );
    assert!(json["settings"]["observability"]
        .as_str()
        .is_some_and(|o| o.contains("Prometheus") && o.contains("tracing")));
    // nginx rows for every rustls backend, or a report that says they were skipped.
    let reference = json["reference"].as_str().unwrap_or_default();
    if nginx {
        assert!(reference.starts_with("nginx "), "{reference}");
        for backend in &rustls {
            for prefix in ["nginx_handshake_full_", "nginx_bulk_"] {
                assert!(
                    comparisons.iter().any(|c| c["backend"] == backend.name()
                        && c["metric"].as_str().is_some_and(|m| m.starts_with(prefix))),
                    "{backend}: no {prefix}* comparison"
                );
            }
        }
    }

    let svg = std::fs::read_to_string(&svg_path).expect("read the SVG");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.matches("<rect").count() > comparisons.len() / 2);
}
