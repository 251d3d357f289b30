//! `tls-policy demo` on every compiled-in backend: its listening lines and commands, a clean
//! stop on SIGTERM, and `--self-test`, which runs curl and `openssl s_client` against itself.

mod serve_harness;
use support::for_each_backend;
use tls_policy_test_support as support;

use std::time::Duration;

use serve_harness::{binary, tool, Served};

/// The demo's self-test runs seven clients, each bounded by 10 s; this bounds the whole.
const SELF_TEST_LIMIT: Duration = Duration::from_secs(120);

for_each_backend! {
    async fn demo_self_test_passes(backend: Backend) {
        if !tool("openssl") || !tool("curl") {
            return;
        }
        let args: Vec<String> = ["demo", "--self-test", "--backend", backend.name()]
            .iter().map(|s| s.to_string()).collect();
        let output = tokio::time::timeout(SELF_TEST_LIMIT, binary(&args).output())
            .await
            .expect("the self-test finishes in time")
            .expect("run tls-policy demo");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "self-test failed ({}):\n{stdout}\n{stderr}", output.status);
        assert!(!stdout.contains("FAIL"), "{stdout}");
        let ok = stdout.lines().filter(|l| l.starts_with("ok ")).count();
        let expected = if backend.capabilities().client_auth { 7 } else { 6 };
        assert_eq!(ok, expected, "{stdout}");
        assert!(stdout.contains(&format!("self-test: {ok} of {ok} checks passed")), "{stdout}");
    }

    async fn demo_prints_its_channels_and_commands_and_stops_cleanly(backend: Backend) {
        let args: Vec<String> = ["demo", "--backend", backend.name()].iter().map(|s| s.to_string()).collect();
        let mut served = Served::start(&args, 3).await;
        for (channel, level) in [("bolt", "REQUIRED"), ("https", "REQUIRED"), ("mixed", "OPTIONAL")] {
            let line = served.channel(channel);
            assert_eq!(line.tls_level, level, "{line:?}");
            assert_eq!(line.backend, backend.name(), "{line:?}");
            assert!(line.addr.ip().is_loopback());
        }
        // The description follows the listening lines: wait (bounded) for its last line.
        let deadline = std::time::Instant::now() + support::STEP;
        let text = loop {
            let text = served.stdout.lock().unwrap().join("\n");
            if text.contains("Ctrl-C stops the demo") {
                break text;
            }
            assert!(std::time::Instant::now() < deadline, "no description:\n{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let home = text
            .lines()
            .find_map(|l| l.split("development certificates in ").nth(1))
            .and_then(|rest| rest.strip_suffix(" (deleted on exit)"))
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| panic!("no home line:\n{text}"));
        assert!(home.join("neo4j.conf").exists(), "{}", home.display());
        let https = served.addr("https").port();
        assert!(text.contains(&format!("curl --http2 --cacert {}/ca.crt https://localhost:{https}/", home.display())), "{text}");
        assert!(text.contains(&format!("openssl s_client -connect {}", served.addr("bolt"))), "{text}");
        assert!(text.contains(&format!("curl --no-buffer telnet://{}", served.addr("mixed"))), "{text}");
        if backend.capabilities().client_auth {
            assert!(text.contains("-cert_chain"), "the intermediate must be sent: {text}");
            assert!(text.contains("--cert ") && text.contains("--key "), "{text}");
            assert_eq!(served.channel("bolt").policy, "bolt");
        } else {
            assert!(text.contains("client_auth=NONE"), "the downgrade is said: {text}");
        }

        served.signal("TERM");
        let status = served.exit(support::STEP).await;
        assert!(status.success(), "exit {status}\n{}", served.stderr());
        assert!(!home.exists(), "the temporary home is removed: {}", home.display());
    }
}
