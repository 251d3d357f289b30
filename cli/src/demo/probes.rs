//! The client commands that reach each demo channel, and what each should do.

use std::path::Path;

use super::DemoFiles;
use crate::serve::Listening;

/// What a client run should show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    /// A line sent on stdin comes back on stdout.
    Echo,
    /// The server refuses the handshake: nothing comes back and the client ends.
    Refused,
    /// The JSON page, with this ALPN and with or without the client's certificate.
    Page {
        alpn: &'static str,
        client_certificate: bool,
    },
}

/// One client command and what it should do.
#[derive(Clone, Debug)]
pub(super) struct Probe {
    pub(super) channel: String,
    pub(super) title: &'static str,
    pub(super) program: &'static str,
    pub(super) args: Vec<String>,
    pub(super) expect: Expect,
}

impl Probe {
    /// The command line, quoted for a POSIX shell.
    pub(super) fn command_line(&self) -> String {
        std::iter::once(self.program)
            .chain(self.args.iter().map(String::as_str))
            .map(shell_quote)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The commands that reach each channel.
pub(super) fn probes(listening: &[Listening], files: &DemoFiles) -> Vec<Probe> {
    let path = |p: &Path| p.display().to_string();
    let (ca, cert, key) = (
        path(&files.ca),
        path(&files.client_cert),
        path(&files.client_key),
    );
    let s_client = |addr: &str, with_cert: bool| {
        let mut args: Vec<String> = ["s_client", "-connect", addr, "-servername", "localhost"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["-CAfile".into(), ca.clone()]);
        if with_cert {
            // -cert_chain: s_client sends only the leaf without it, and the intermediate is
            // needed to reach the trusted root.
            args.extend([
                "-cert".into(),
                cert.clone(),
                "-cert_chain".into(),
                cert.clone(),
                "-key".into(),
                key.clone(),
            ]);
        }
        args
    };
    let curl = |version: &str, port: u16, with_cert: bool| {
        let mut args = vec![version.to_string(), "--cacert".into(), ca.clone()];
        if with_cert {
            args.extend(["--cert".into(), cert.clone(), "--key".into(), key.clone()]);
        }
        args.push(format!("https://localhost:{port}/"));
        args
    };

    let mut probes = Vec::new();
    for channel in listening {
        let addr = channel.addr.to_string();
        let port = channel.addr.port();
        let name = channel.channel.clone();
        let probe = |title, program, args, expect| Probe {
            channel: name.clone(),
            title,
            program,
            args,
            expect,
        };
        match channel.channel.as_str() {
            "bolt" if files.client_auth => {
                probes.push(probe(
                    "TLS echo with the client certificate (mutual TLS)",
                    "openssl",
                    s_client(&addr, true),
                    Expect::Echo,
                ));
                probes.push(probe(
                    "refused without a client certificate",
                    "openssl",
                    s_client(&addr, false),
                    Expect::Refused,
                ));
            }
            "bolt" => probes.push(probe(
                "TLS echo (client_auth=NONE on this backend)",
                "openssl",
                s_client(&addr, false),
                Expect::Echo,
            )),
            "https" => {
                probes.push(probe(
                    "HTTP/1.1, no client certificate",
                    "curl",
                    curl("--http1.1", port, false),
                    Expect::Page {
                        alpn: "http/1.1",
                        client_certificate: false,
                    },
                ));
                probes.push(probe(
                    "HTTP/1.1 with the client certificate",
                    "curl",
                    curl("--http1.1", port, true),
                    Expect::Page {
                        alpn: "http/1.1",
                        client_certificate: files.client_auth,
                    },
                ));
                probes.push(probe(
                    "HTTP/2",
                    "curl",
                    curl("--http2", port, false),
                    Expect::Page {
                        alpn: "h2",
                        client_certificate: false,
                    },
                ));
            }
            "mixed" => {
                probes.push(probe(
                    "TLS echo",
                    "openssl",
                    s_client(&addr, false),
                    Expect::Echo,
                ));
                probes.push(probe(
                    "plaintext echo on the same port",
                    "curl",
                    // --no-buffer: curl writes what arrives at once, even into a pipe.
                    vec!["--no-buffer".into(), format!("telnet://{addr}")],
                    Expect::Echo,
                ));
            }
            _ => {}
        }
    }
    probes
}

/// Quotes an argument for a POSIX shell when it needs it.
fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("/tmp/a-b/ca.crt"), "/tmp/a-b/ca.crt");
        assert_eq!(shell_quote("https://localhost:1/"), "https://localhost:1/");
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
