//! Fetching a response from the responder named in the certificate: one HTTP/1.0 POST of the
//! DER request (`application/ocsp-request`), the whole exchange bounded in time and size.
//!
//! HTTP/1.0 with `Connection: close`, so the answer is never chunked and ends with the
//! connection: a plain `http://` responder URL is all RFC 6960 (appendix A) and the CA/Browser
//! Forum ask of a responder, and this needs no HTTP client dependency. `https://` responder URLs
//! are refused (fetching the status of the TLS certificate over TLS is circular, RFC 5019 §5).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest response accepted (headers and body); real responses are a few KiB.
pub(crate) const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not `http://host[:port][/path]`.
    #[error("unsupported OCSP responder URL {0:?} (only http://host[:port]/path)")]
    BadUrl(String),
    /// Connecting, writing or reading failed.
    #[error("OCSP responder {url}: {detail}")]
    Io {
        /// The responder.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The whole exchange took longer than the timeout.
    #[error("OCSP responder {0}: no answer within the timeout")]
    Timeout(String),
    /// Not `200` with a body.
    #[error("OCSP responder {url}: {detail}")]
    BadAnswer {
        /// The responder.
        url: String,
        /// The status line or what is wrong with the answer.
        detail: String,
    },
}

/// `(host:port, Host header, path)` of an `http://` URL.
fn split_url(url: &str) -> Result<(String, String, String), FetchError> {
    let bad = || FetchError::BadUrl(url.to_owned());
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') || path.contains(char::is_whitespace) {
        return Err(bad());
    }
    let has_port = match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    };
    let address = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((address, authority.to_owned(), path.to_owned()))
}

/// POSTs `request` (a DER `OCSPRequest`) to `url` and returns the body of a `200` answer,
/// giving up after `timeout` for the whole exchange.
pub async fn fetch(url: &str, request: &[u8], timeout: Duration) -> Result<Vec<u8>, FetchError> {
    let (address, host, path) = split_url(url)?;
    let io = |e: std::io::Error| FetchError::Io {
        url: url.to_owned(),
        detail: e.to_string(),
    };
    let exchange = async {
        let mut stream = TcpStream::connect(&address).await.map_err(io)?;
        let head = format!(
            "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/ocsp-request\r\n\
             Accept: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            request.len()
        );
        stream.write_all(head.as_bytes()).await.map_err(io)?;
        stream.write_all(request).await.map_err(io)?;
        stream.flush().await.map_err(io)?;
        let mut answer = Vec::new();
        (&mut stream)
            .take(MAX_RESPONSE_BYTES + 1)
            .read_to_end(&mut answer)
            .await
            .map_err(io)?;
        Ok::<_, FetchError>(answer)
    };
    let answer = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| FetchError::Timeout(url.to_owned()))??;
    body(url, &answer)
}

fn body(url: &str, answer: &[u8]) -> Result<Vec<u8>, FetchError> {
    let bad = |detail: String| FetchError::BadAnswer {
        url: url.to_owned(),
        detail,
    };
    if answer.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(bad(format!("answer over {MAX_RESPONSE_BYTES} bytes")));
    }
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers".to_owned()))?;
    let head = String::from_utf8_lossy(&answer[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1);
    if !status.starts_with("HTTP/1.") || code != Some("200") {
        return Err(bad(format!("answered {status:?}")));
    }
    let mut body = answer[end + 4..].to_vec();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                let length: usize = value
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("bad Content-Length {value:?}")))?;
                if length > body.len() {
                    return Err(bad("answer shorter than its Content-Length".to_owned()));
                }
                body.truncate(length);
            }
        }
    }
    if body.is_empty() {
        return Err(bad("empty body".to_owned()));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_into_address_host_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8888/ocsp").unwrap(),
            (
                "127.0.0.1:8888".to_owned(),
                "127.0.0.1:8888".to_owned(),
                "/ocsp".to_owned()
            )
        );
        assert_eq!(
            split_url("http://ocsp.example").unwrap(),
            (
                "ocsp.example:80".to_owned(),
                "ocsp.example".to_owned(),
                "/".to_owned()
            )
        );
        assert_eq!(split_url("http://[::1]/").unwrap().0, "[::1]:80");
        assert_eq!(split_url("http://[::1]:81/").unwrap().0, "[::1]:81");
        for bad in [
            "https://ocsp.example/",
            "ftp://x/",
            "http:///x",
            "http://u@h/",
        ] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_200_answer_with_a_body_is_taken() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(body("u", ok).unwrap(), b"abc");
        assert_eq!(body("u", b"HTTP/1.1 200 OK\r\n\r\nxyz").unwrap(), b"xyz");
        assert!(body("u", b"HTTP/1.0 500 Oops\r\n\r\nxyz").is_err());
        assert!(body("u", b"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nxyz").is_err());
        assert!(body("u", b"HTTP/1.0 200 OK\r\n\r\n").is_err());
        assert!(body("u", b"garbage").is_err());
    }

    #[tokio::test]
    async fn a_silent_responder_times_out_and_a_closed_port_fails() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let silent = fetch(&url, b"req", Duration::from_millis(200)).await;
        assert_eq!(silent, Err(FetchError::Timeout(url.clone())));
        drop(listener);
        let closed = fetch(&url, b"req", Duration::from_secs(5)).await;
        assert!(matches!(closed, Err(FetchError::Io { .. })), "{closed:?}");
    }
}
