//! `demo --self-test`: runs each probe's command and checks what it did.

use std::io;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use super::probes::{Expect, Probe};
use tls_policy::Backend;

/// How long each self-test client may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// The subject's common name of the development client certificate.
const CLIENT_CN: &str = "tls-policy development client";

/// Runs every probe; prints `ok` or `FAIL` per check and a summary; true if all passed.
pub(super) async fn self_test(probes: &[Probe], backend: Backend) -> bool {
    println!("\nself-test:");
    let mut passed = 0;
    for probe in probes {
        let label = format!("{}: {}", probe.channel, probe.title);
        match check(probe, backend).await {
            Ok(()) => {
                passed += 1;
                println!("ok   {label}");
            }
            Err(reason) => println!("FAIL {label}: {reason}"),
        }
    }
    println!("self-test: {passed} of {} checks passed", probes.len());
    passed == probes.len()
}

/// Runs one probe's command and checks what it did.
async fn check(probe: &Probe, backend: Backend) -> Result<(), String> {
    let mut child = Command::new(probe.program)
        .args(&probe.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => format!("{} is not installed", probe.program),
            _ => format!("cannot run {}: {error}", probe.program),
        })?;
    match probe.expect {
        Expect::Echo => expect_echo(&mut child).await,
        Expect::Refused => expect_refused(&mut child).await,
        Expect::Page {
            alpn,
            client_certificate,
        } => expect_page(child, probe, backend, alpn, client_certificate).await,
    }
}

/// A unique line to send, so that nothing else in the client's output can match it.
fn token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("tls-policy-demo-{}-{nanos}", std::process::id())
}

/// Sends a line and waits for it on stdout; stdin stays open (closing it ends s_client early).
async fn expect_echo(child: &mut Child) -> Result<(), String> {
    let token = token();
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    stdin
        .write_all(format!("{token}\n").as_bytes())
        .await
        .map_err(|error| format!("writing to the client failed: {error}"))?;
    let mut seen = Vec::new();
    let read = tokio::time::timeout(PROBE_TIMEOUT, async {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
            if contains(&seen, token.as_bytes()) {
                return true;
            }
        }
    })
    .await;
    let _ = child.start_kill();
    match read {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "the line did not come back; the client ended:\n{}",
            output_tail(&seen, &stderr_of(child).await)
        )),
        Err(_) => Err(format!(
            "the line did not come back within {PROBE_TIMEOUT:?}:\n{}",
            output_tail(&seen, &stderr_of(child).await)
        )),
    }
}

/// Sends a line; the client must end without it coming back.
async fn expect_refused(child: &mut Child) -> Result<(), String> {
    let token = token();
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    // The write may fail once the server has hung up: that is the expected outcome.
    let _ = stdin.write_all(format!("{token}\n").as_bytes()).await;
    let mut seen = Vec::new();
    let ended = tokio::time::timeout(PROBE_TIMEOUT, stdout.read_to_end(&mut seen)).await;
    let _ = child.start_kill();
    drop(stdin);
    if contains(&seen, token.as_bytes()) {
        return Err(format!(
            "the server accepted the connection and echoed:\n{}",
            output_tail(&seen, &stderr_of(child).await)
        ));
    }
    match ended {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "the client was still connected after {PROBE_TIMEOUT:?}, not refused:\n{}",
            output_tail(&seen, &stderr_of(child).await)
        )),
    }
}

/// curl's output must be the JSON page with the expected fields.
async fn expect_page(
    child: Child,
    probe: &Probe,
    backend: Backend,
    alpn: &str,
    client_certificate: bool,
) -> Result<(), String> {
    let output = tokio::time::timeout(PROBE_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| format!("curl did not finish within {PROBE_TIMEOUT:?}"))?
        .map_err(|error| format!("curl failed: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "curl exited with {}:\n{}",
            output.status,
            output_tail(&output.stdout, &output.stderr)
        ));
    }
    let page: Value = serde_json::from_slice(&output.stdout).map_err(|error| {
        format!(
            "not JSON ({error}):\n{}",
            output_tail(&output.stdout, &output.stderr)
        )
    })?;
    let mut wrong = Vec::new();
    let mut want = |field: &str, ok: bool| {
        if !ok {
            wrong.push(format!("{field}={}", page[field]));
        }
    };
    want("channel", page["channel"] == probe.channel.as_str());
    want("tls", page["tls"] == true);
    want("backend", page["backend"] == backend.name());
    want("alpn", page["alpn"] == alpn);
    let details = backend.capabilities().session_details;
    want(
        "protocol_version",
        page["protocol_version"].is_string() == details,
    );
    want("cipher_suite", page["cipher_suite"].is_string() == details);
    let subject = page["client_certificate"]["subject"].as_str();
    want(
        "client_certificate",
        match client_certificate {
            true => subject.is_some_and(|s| s.contains(CLIENT_CN)),
            false => page["client_certificate"].is_null(),
        },
    );
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("unexpected {} in {page}", wrong.join(", ")))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whatever the client wrote to stderr (it has been killed or has ended), bounded in time.
async fn stderr_of(child: &mut Child) -> Vec<u8> {
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = tokio::time::timeout(Duration::from_secs(2), pipe.read_to_end(&mut stderr)).await;
    }
    stderr
}

/// The last lines of a client's output, for a failure message.
fn output_tail(stdout: &[u8], stderr: &[u8]) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(12);
    lines[start..]
        .iter()
        .map(|line| format!("    | {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}
