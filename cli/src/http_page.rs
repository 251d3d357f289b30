//! The HTTP channels of `tls-policy serve`: HTTP/1.1 and HTTP/2 (by ALPN), each GET answered
//! with a JSON object describing its connection, under a header-read and an idle timeout.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::net::TcpStream;

use super::http_idle::{Activity, HttpTimeouts, Watched};
use tls_policy::listener::Connection;
use tls_policy::{PeerIdentity, TlsInfo};

/// How long an HTTP/2 connection closed for idleness may take to say goodbye (GOAWAY).
const GOODBYE: Duration = Duration::from_secs(1);

/// The error of one HTTP connection (hyper's, boxed).
pub(crate) type HttpError = Box<dyn std::error::Error + Send + Sync>;

/// What the page says about the channel itself, the same for each of its connections.
#[derive(Clone, Debug)]
pub(crate) struct Page {
    /// The channel name.
    pub(crate) channel: String,
    /// The policy securing it, `None` when its tls_level is DISABLED.
    pub(crate) policy: Option<String>,
    /// The backend the server runs (reported for plaintext connections too).
    pub(crate) backend: &'static str,
    /// The channel's header-read and idle timeouts.
    pub(crate) timeouts: HttpTimeouts,
}

/// The JSON object each GET returns.
#[derive(Debug, Serialize)]
struct Report<'a> {
    channel: &'a str,
    policy: Option<&'a str>,
    backend: &'a str,
    /// The client's address, `host:port` (from the PROXY header when the channel reads one).
    peer_address: String,
    tls: bool,
    protocol_version: Option<&'static str>,
    cipher_suite: Option<&'static str>,
    alpn: Option<String>,
    sni: Option<&'a str>,
    client_certificate: Option<Value>,
}

/// Serves HTTP on `connection` until the peer closes it, the listener drains, or it stays idle
/// (no request in flight, no bytes) for the idle timeout.
///
/// HTTP/2 when ALPN chose `h2`, HTTP/1.1 when it chose `http/1.1`, either (by the HTTP/2
/// preface) when no ALPN was negotiated. An HTTP/1.1 request's header must arrive within the
/// header-read timeout, counted from when the server waits for it (on a kept-alive connection,
/// from the end of the previous response).
pub(crate) async fn serve_http(
    connection: Connection<TcpStream>,
    page: Arc<Page>,
) -> Result<(), HttpError> {
    let peer = connection.peer_addr();
    let body = Bytes::from(describe(&page, peer, connection.tls_info())?);
    let draining = connection.draining();
    let timeouts = page.timeouts;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    builder.http2().timer(TokioTimer::new());
    builder = match connection.tls_info().and_then(|info| info.alpn.as_deref()) {
        Some(b"h2") => builder.http2_only(),
        Some(b"http/1.1") => builder.http1_only(),
        _ => builder,
    };
    let activity = Activity::new();
    let service = hyper::service::service_fn({
        let activity = Arc::clone(&activity);
        move |request: Request<Incoming>| {
            let body = body.clone();
            let in_flight = activity.request();
            async move {
                let response = respond(&request, body);
                drop(in_flight);
                Ok::<_, Infallible>(response)
            }
        }
    });
    let io = TokioIo::new(Watched::new(connection, Arc::clone(&activity)));
    let served = builder.serve_connection(io, service);
    tokio::pin!(served);
    loop {
        let idle_at = tokio::time::Instant::from_std(activity.idle_at(timeouts.idle));
        tokio::select! {
            result = served.as_mut() => return result,
            () = draining.wait() => {
                served.as_mut().graceful_shutdown();
                return served.await;
            }
            () = tokio::time::sleep_until(idle_at) => {
                if activity.is_idle(timeouts.idle) {
                    tracing::debug!(%peer, idle = ?timeouts.idle, "closing an idle HTTP connection (http_idle_timeout)");
                    served.as_mut().graceful_shutdown();
                    // HTTP/1.1 closes at once; HTTP/2 sends GOAWAY and may wait for the peer.
                    return tokio::time::timeout(GOODBYE, served).await.unwrap_or(Ok(()));
                }
            }
        }
    }
}

/// GET and HEAD: the report; any other method: 405.
fn respond(request: &Request<Incoming>, report: Bytes) -> Response<Full<Bytes>> {
    let mut response = match *request.method() {
        Method::GET | Method::HEAD => Response::new(Full::new(report)),
        _ => {
            let message = json!({
                "error": format!("method {} not allowed: this page answers GET", request.method())
            });
            let mut response = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
    };
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The report of one connection, as a JSON line.
fn describe(
    page: &Page,
    peer: SocketAddr,
    tls: Option<&TlsInfo>,
) -> Result<String, serde_json::Error> {
    let report = Report {
        channel: &page.channel,
        policy: page.policy.as_deref(),
        backend: tls.map_or(page.backend, |info| info.backend),
        peer_address: peer.to_string(),
        tls: tls.is_some(),
        protocol_version: tls.and_then(|info| info.protocol_version.map(|v| v.as_str())),
        cipher_suite: tls.and_then(|info| info.cipher_suite.map(|s| s.name())),
        alpn: tls.and_then(|info| {
            info.alpn
                .as_deref()
                .map(|alpn| String::from_utf8_lossy(alpn).into_owned())
        }),
        sni: tls.and_then(|info| info.sni.as_deref()),
        client_certificate: tls
            .filter(|info| info.peer_certificate().is_some())
            .map(|info| certificate(info.peer_identity())),
    };
    let mut text = serde_json::to_string(&report)?;
    text.push('\n');
    Ok(text)
}

/// The peer's identity: `{subject, issuer, serial, not_after, sha256_fingerprint, dns_names,
/// ip_addresses, uris, spiffe_id}`, or `{error}` if its certificate does not parse.
fn certificate(identity: Option<&PeerIdentity>) -> Value {
    match identity {
        Some(peer) => json!({
            "subject": peer.subject,
            "issuer": peer.issuer,
            "serial": peer.serial,
            "not_after": rfc3339(time::OffsetDateTime::from(peer.not_after)),
            "sha256_fingerprint": peer.fingerprint_hex(),
            "dns_names": peer.dns_names,
            "ip_addresses": peer.ip_addresses.iter().map(|ip| ip.to_string()).collect::<Vec<_>>(),
            "uris": peer.uris,
            "spiffe_id": peer.spiffe_id(),
        }),
        None => json!({ "error": "the certificate does not parse" }),
    }
}

/// `2026-01-31T23:59:59Z`.
fn rfc3339(time: time::OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plaintext_connection_reports_no_tls() {
        let page = Page {
            channel: "https".into(),
            policy: None,
            backend: "rustls-ring",
            timeouts: HttpTimeouts::default(),
        };
        let peer: SocketAddr = "[::1]:4000".parse().expect("peer");
        let text = describe(&page, peer, None).expect("serializes");
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(value["channel"], "https");
        assert_eq!(value["peer_address"], "[::1]:4000");
        assert_eq!(value["tls"], false);
        assert_eq!(value["backend"], "rustls-ring");
        for field in [
            "policy",
            "protocol_version",
            "cipher_suite",
            "alpn",
            "sni",
            "client_certificate",
        ] {
            assert!(value[field].is_null(), "{field} should be null: {text}");
        }
    }

    #[test]
    fn a_certificate_is_described() {
        let pki = tls_policy_dev_pki::DevPki::generate(&Default::default()).expect("PKI");
        let mut info = TlsInfo::new("test");
        info.peer_certificates = vec![pki.client.cert_der.clone()];
        let value = certificate(info.peer_identity());
        let fingerprint = value["sha256_fingerprint"].as_str().expect("fingerprint");
        assert_eq!(fingerprint.len(), 32 * 3 - 1, "{value}");
        assert!(
            value["dns_names"].is_array() && value["uris"].is_array(),
            "{value}"
        );
        let subject = value["subject"].as_str().expect("subject");
        assert!(subject.contains("tls-policy development client"), "{value}");
        assert!(
            value["issuer"]
                .as_str()
                .expect("issuer")
                .contains("intermediate"),
            "{value}"
        );
        assert!(!value["serial"].as_str().expect("serial").is_empty());
        let not_after = value["not_after"].as_str().expect("not_after");
        assert!(
            not_after.ends_with('Z') && not_after.len() == 20,
            "{not_after}"
        );
        let mut garbage = TlsInfo::new("test");
        garbage.peer_certificates = vec![b"not a certificate".to_vec().into()];
        assert!(certificate(garbage.peer_identity())["error"].is_string());
    }

    #[test]
    fn rfc3339_pads_every_field() {
        let time = time::OffsetDateTime::from_unix_timestamp(0).expect("epoch");
        assert_eq!(rfc3339(time), "1970-01-01T00:00:00Z");
    }
}
