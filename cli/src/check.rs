//! `tls-policy check`: validates a config in full, files included, and prints a table per channel.
//!
//! It runs the same loading as start-up (every bound policy, the legacy system included) and
//! compiles each channel for the chosen backend, so a backend's refusal shows here. It never
//! writes: a key pair that start-up would generate (`allow_key_generation=true`, or the legacy
//! system with no `neo4j.key`/`neo4j.cert`) is reported, not made. Exit 0 when every channel
//! loads; otherwise each error goes to stderr, naming the channel, the setting and the file,
//! and the exit code is 1.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rustls_pki_types::CertificateDer;
use tls_policy_backend::{ClientOptions, ServerOptions};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::CliResult;
use tls_policy::config::{ChannelSettings, ConfigForm, Settings, LEGACY_POLICY};
use tls_policy::inspect::{
    bound_policy_would_generate, choose_backend, legacy_cert_path, legacy_hostnames,
    legacy_key_path, load_private_key, summarize_certificate, LinkRevocation,
};
use tls_policy::load::{load_bound_policy, LoadedPolicy};
use tls_policy::{Backend, Error, RecordCipher};

/// The settings whose default is a path under `base_directory`.
const RELATIVE_TO_BASE: [&str; 4] = [
    "private_key",
    "public_certificate",
    "trusted_dir",
    "revoked_dir",
];

/// Channels that are dialled as well as served (spec §3; 4.x `fabric` is dialled only): their
/// client side is compiled too.
const DIALLED_CHANNELS: [&str; 3] = ["cluster", "backup", "fabric"];

/// Arguments of `tls-policy check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The config file (neo4j.conf style).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The directory relative paths resolve against (default: the config file's directory).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The backend to check against (default: dbms.ssl.backend, else the first compiled in).
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
}

/// Runs `tls-policy check`: the report on stdout, errors on stderr, exit 1 on any error.
pub async fn run(args: CheckArgs) -> CliResult {
    let settings = Settings::from_file(&args.config, args.home.as_deref())?;
    let backend = match &args.backend {
        Some(name) => Backend::from_name(name).map_err(|e| format!("--backend: {e}"))?,
        None => choose_backend(&settings, None)?,
    };
    let report = check(&settings, backend);
    print!("{}", report.text);
    for error in &report.errors {
        eprintln!("error: {error}");
    }
    if report.errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "check failed: {} error(s) in {}",
            report.errors.len(),
            args.config.display()
        );
        Ok(ExitCode::FAILURE)
    }
}

/// What `check` found: the report to print, and the errors (each already explained).
struct Report {
    text: String,
    errors: Vec<String>,
}

/// One policy's outcome, shared by the channels bound to it.
enum PolicyState {
    /// Loaded and validated.
    Loaded(Box<LoadedPolicy>),
    /// Start-up would generate its key pair; nothing was checked past that.
    WouldGenerate,
    /// Failed to load, with the explained error.
    Failed(String),
}

/// Loads every bound policy once, compiles every bound channel, and writes the report.
fn check(settings: &Settings, backend: Backend) -> Report {
    let mut text = String::new();
    let mut errors = Vec::new();
    let compiled: Vec<&str> = Backend::compiled().iter().map(|b| b.name()).collect();
    let _ = writeln!(text, "home     {}", settings.home.display());
    let _ = writeln!(
        text,
        "backend  {backend} (compiled in: {})",
        compiled.join(", ")
    );
    describe_record_aead(&mut text, settings.record_cipher, backend);
    let _ = writeln!(text, "form     {}", settings.form.describe());
    let _ = writeln!(
        text,
        "reload   {}",
        if settings.tls_reload_enabled {
            "on (file watching and SIGHUP)"
        } else {
            "off (dbms.security.tls_reload_enabled=false)"
        }
    );
    for warning in &settings.warnings {
        let _ = writeln!(text, "warning  {warning}");
    }
    if !settings.default_differences.is_empty() {
        let _ = writeln!(text, "\ndefaults that differ from the framework's:");
        for difference in &settings.default_differences {
            let _ = writeln!(
                text,
                "  {}: {} here, framework {}: {}",
                difference.key, difference.ours, difference.framework, difference.reason
            );
        }
    }

    let mut policies: BTreeMap<&str, PolicyState> = BTreeMap::new();
    for channel in settings.channels.values() {
        let Some(policy) = channel.policy.as_deref() else {
            continue;
        };
        policies.entry(policy).or_insert_with(|| {
            if bound_policy_would_generate(settings, policy) {
                PolicyState::WouldGenerate
            } else {
                match load_bound_policy(settings, policy) {
                    Ok(loaded) => PolicyState::Loaded(Box::new(loaded)),
                    Err(error) => {
                        let explained = format!(
                            "{}: {}",
                            bound_channels(settings, policy),
                            explain(settings, &error)
                        );
                        errors.push(explained.clone());
                        PolicyState::Failed(explained)
                    }
                }
            }
        });
    }

    let mut tls_channels = 0;
    for channel in settings.channels.values() {
        let _ = writeln!(text, "\nchannel {}", channel.name);
        row(
            &mut text,
            "listen_address",
            channel
                .listen_address
                .as_deref()
                .unwrap_or("(none: not served by `tls-policy serve`)"),
        );
        row(&mut text, "tls_level", channel.tls_level.as_str());
        if channel.policy.is_some() {
            let alpn = if channel.alpn.is_empty() {
                "none".to_owned()
            } else {
                channel.alpn.join(",")
            };
            row(&mut text, "alpn", &alpn);
        }
        if channel.proxy_protocol.is_on() {
            let trusted: Vec<String> = channel
                .proxy_protocol_trusted
                .iter()
                .map(ToString::to_string)
                .collect();
            row(
                &mut text,
                "proxy_protocol",
                &format!("{} from {}", channel.proxy_protocol, trusted.join(", ")),
            );
        }
        let Some(policy) = channel.policy.as_deref() else {
            row(&mut text, "policy", "none (plaintext)");
            continue;
        };
        tls_channels += 1;
        row(&mut text, "policy", policy);
        match policies.get(policy) {
            Some(PolicyState::Loaded(loaded)) => {
                describe_policy(&mut text, settings, policy, loaded);
                if let Some(stapling) = &channel.ocsp_stapling {
                    row(
                        &mut text,
                        "ocsp_stapling",
                        &format!(
                            "on ({} at {}): {}",
                            stapling.key,
                            stapling.source,
                            tls_policy::inspect::describe_stapling(&loaded.policy)
                        ),
                    );
                }
                if let Err(error) = compile(backend, settings, channel, loaded) {
                    let explained =
                        format!("channel '{}': {}", channel.name, explain(settings, &error));
                    row(&mut text, "status", &format!("FAILED: {explained}"));
                    errors.push(explained);
                } else {
                    row(&mut text, "status", &format!("ok ({backend})"));
                }
            }
            Some(PolicyState::WouldGenerate) => describe_generation(&mut text, settings, policy),
            Some(PolicyState::Failed(error)) => {
                row(&mut text, "status", &format!("FAILED: {error}"))
            }
            None => {}
        }
    }
    let loaded = policies
        .values()
        .filter(|p| matches!(p, PolicyState::Loaded(_)))
        .count();
    let _ = writeln!(
        text,
        "\n{}: {} channel(s), {tls_channels} with TLS, {loaded} of {} polic{} loaded, backend {backend}",
        if errors.is_empty() { "OK" } else { "FAILED" },
        settings.channels.len(),
        policies.len(),
        if policies.len() == 1 { "y" } else { "ies" },
    );
    Report { text, errors }
}

/// `channel 'a'` or `channels 'a', 'b'`: the channels bound to `policy`.
fn bound_channels(settings: &Settings, policy: &str) -> String {
    let names: Vec<String> = settings
        .channels
        .values()
        .filter(|c| c.policy.as_deref() == Some(policy))
        .map(|c| format!("'{}'", c.name))
        .collect();
    let plural = if names.len() == 1 { "" } else { "s" };
    format!("channel{plural} {}", names.join(", "))
}

/// The `records` rows: per compiled-in backend, which implementation seals its TLS records and
/// why (`dbms.ssl.record_cipher`), the one checked against marked.
fn describe_record_aead(text: &mut String, setting: RecordCipher, checked: Backend) {
    let mut first = true;
    if checked.record_aead(setting).is_none() {
        let _ = writeln!(
            text,
            "records  {checked} (checked): its TLS library chooses the record AEAD \
             (dbms.ssl.record_cipher applies to the rustls backends only)"
        );
        first = false;
    }
    for backend in Backend::compiled() {
        let Some(aead) = backend.record_aead(setting) else {
            continue;
        };
        let label = if first { "records " } else { "        " };
        first = false;
        let mark = if *backend == checked {
            " (checked)"
        } else {
            ""
        };
        let _ = writeln!(
            text,
            "{label} {backend}{mark}: AES-GCM from {}, ChaCha20-Poly1305 from {} \
             (dbms.ssl.record_cipher={setting})",
            aead.aes_gcm.implementation, aead.chacha20_poly1305.implementation
        );
        let _ = writeln!(text, "           AES-GCM: {}", aead.aes_gcm.reason);
        let _ = writeln!(
            text,
            "           ChaCha20-Poly1305: {}",
            aead.chacha20_poly1305.reason
        );
    }
}

/// Compiles the channel's server side (with its ALPN), and its client side too
/// for the channels that are dialled.
fn compile(
    backend: Backend,
    settings: &Settings,
    channel: &ChannelSettings,
    loaded: &LoadedPolicy,
) -> Result<(), Error> {
    let mut options = ServerOptions {
        alpn_protocols: channel.alpn_protocols(),
        ..Default::default()
    };
    if let Some(stapling) = &channel.ocsp_stapling {
        tls_policy::inspect::refuse_stapling_without_backend(backend, stapling)?;
        options.ocsp_stapling = true;
    }
    backend.server_with(&loaded.policy, &options, settings.record_cipher)?;
    if DIALLED_CHANNELS.contains(&channel.name.as_str()) {
        backend.client_with(
            &loaded.policy,
            &ClientOptions::default(),
            settings.record_cipher,
        )?;
    }
    Ok(())
}

/// The rows describing a loaded policy: files, settings, certificate, key, warnings.
fn describe_policy(text: &mut String, settings: &Settings, policy: &str, loaded: &LoadedPolicy) {
    let server = &loaded.policy;
    let (key_path, password, cert_path, dirs) = match settings.policies.get(policy) {
        Some(p) => (
            p.private_key.clone(),
            p.private_key_password.as_deref(),
            p.public_certificate.clone(),
            Some((p.trusted_dir.clone(), p.revoked_dir.clone(), p.trust_all)),
        ),
        None => (
            legacy_key_path(settings),
            None,
            legacy_cert_path(settings),
            None,
        ),
    };
    // The key loaded a moment ago; read again only for its format and algorithm.
    let key = load_private_key(policy, &key_path, password).ok();
    let key_format = key
        .as_ref()
        .map_or("?".to_owned(), |k| k.format.to_string());
    row(
        text,
        "private_key",
        &format!(
            "{} ({key_format}{})",
            key_path.display(),
            mode_of(&key_path)
        ),
    );
    row(
        text,
        "key type",
        key.as_ref().map_or("?", |k| k.algorithm.as_str()),
    );
    row(
        text,
        "certificate",
        &format!(
            "{} (chain of {})",
            cert_path.display(),
            server.cert_chain.len()
        ),
    );
    match dirs {
        Some((trusted, revoked, trust_all)) => {
            let trusted_text = if trust_all {
                format!("{} (ignored: trust_all=true)", trusted.display())
            } else {
                format!(
                    "{} ({} certificate(s))",
                    trusted.display(),
                    server.trusted.len() + server.path_links.len()
                )
            };
            row(text, "trusted_dir", &trusted_text);
            describe_trust(text, server);
            row(
                text,
                "revoked_dir",
                &format!("{} ({} CRL(s))", revoked.display(), server.crls.len()),
            );
        }
        None => {
            row(text, "trusted_dir", "none (legacy system)");
            row(text, "revoked_dir", "none (legacy system)");
        }
    }
    row(text, "client_auth", server.client_auth.as_str());
    describe_allowed_peers(text, server);
    if server.allowed_peers.is_some() {
        let on_reload = settings
            .policies
            .get(policy)
            .map(|p| p.allowed_peers_reload)
            .unwrap_or_default();
        let value = match on_reload {
            tls_policy::config::AllowedPeersReload::All => {
                "all: a reload that changes the list closes the live connections it refuses"
            }
            _ => "new: a changed list applies to new handshakes; live connections stay",
        };
        row(text, "peers on reload", value);
    }
    let versions: Vec<&str> = server.tls_versions.iter().map(|v| v.as_str()).collect();
    row(text, "tls_versions", &versions.join(", "));
    let ciphers = match &server.ciphers {
        Some(list) => list.iter().map(|c| c.name()).collect::<Vec<_>>().join(", "),
        None => "backend default".to_owned(),
    };
    row(text, "ciphers", &ciphers);
    let ticket_file = settings
        .policies
        .get(policy)
        .and_then(|p| p.session_ticket_keys.as_deref());
    row(
        text,
        "session tickets",
        &describe_tickets(server, ticket_file),
    );
    if let Some(leaf) = server.cert_chain.first() {
        describe_leaf(text, leaf);
    }
    for warning in &loaded.warnings {
        row(text, "warning", warning);
    }
}

/// One row per trust anchor and per path link (spec §2 "Anchors and path links"): its subject,
/// and for a path link the issuer it links to and what that issuer's CRL says of it.
fn describe_trust(text: &mut String, server: &tls_policy_backend::ServerPolicy) {
    for anchor in &server.trusted {
        let value = match summarize_certificate(anchor) {
            Ok(s) if s.subject == s.issuer => format!("{} (self-signed)", s.subject),
            Ok(s) => format!(
                "{} (issued by {}, which is not in trusted_dir: only this sub-tree is trusted)",
                s.subject, s.issuer
            ),
            Err(e) => e,
        };
        row(text, "  anchor", &value);
    }
    for link in &server.path_links {
        let status = match tls_policy::inspect::link_revocation(link, &server.crls) {
            Some(LinkRevocation::Off) => "not checked for revocation: no CRL in revoked_dir",
            Some(LinkRevocation::Good) => "not revoked: its issuer's CRL covers it",
            Some(LinkRevocation::Revoked) => {
                "REVOKED by its issuer's CRL: every certificate below it is refused"
            }
            Some(LinkRevocation::Unknown) | None => {
                "no CRL from its issuer: every certificate below it is refused as \
                 revocation_unknown"
            }
        };
        let value = match summarize_certificate(link) {
            Ok(s) => format!("{} (issued by {}; {status})", s.subject, s.issuer),
            Err(e) => e,
        };
        row(text, "  path link", &value);
    }
}

/// The identities admitted, one pattern a line in canonical form, or that any verified peer is.
fn describe_allowed_peers(text: &mut String, server: &tls_policy_backend::ServerPolicy) {
    let Some(list) = &server.allowed_peers else {
        row(
            text,
            "allowed_peers",
            "unset: every peer whose certificate verifies",
        );
        return;
    };
    for (i, pattern) in list.patterns().iter().enumerate() {
        let name = if i == 0 { "allowed_peers" } else { "" };
        row(text, name, &pattern.to_string());
    }
}

/// How sessions resume: the fleet's shared keys (file, form, mode, count and the sealing key's
/// name, never a secret), the backend's own key, or not at all.
fn describe_tickets(server: &tls_policy_backend::ServerPolicy, file: Option<&Path>) -> String {
    if !server.session_resumption {
        return "off (session_resumption=false)".to_owned();
    }
    match (&server.session_ticket_keys, file) {
        (Some(keys), Some(file)) => {
            let form = tls_policy::load::ticket_keys::read_key_file(file)
                .ok()
                .and_then(|bytes| tls_policy::load::ticket_keys::parse_ticket_keys(&bytes).ok())
                .map_or("?", |parsed| parsed.format.as_str());
            format!(
                "shared: {} ({form}{}), {} key(s), new tickets sealed with {}",
                file.display(),
                mode_of(file),
                keys.len(),
                keys.current().name_hex()
            )
        }
        _ => "this server's own key (session_ticket_keys not set)".to_owned(),
    }
}

/// Subject, issuer, SANs and expiry of the served certificate.
fn describe_leaf(text: &mut String, leaf: &CertificateDer<'_>) {
    let summary = match summarize_certificate(leaf) {
        Ok(summary) => summary,
        Err(message) => return row(text, "subject", &format!("? ({message})")),
    };
    row(text, "subject", &summary.subject);
    row(text, "issuer", &summary.issuer);
    let Ok((_, cert)) = X509Certificate::from_der(leaf.as_ref()) else {
        return;
    };
    let sans: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext.value.general_names.iter().map(general_name).collect(),
        _ => Vec::new(),
    };
    row(
        text,
        "SANs",
        &if sans.is_empty() {
            "none".to_owned()
        } else {
            sans.join(", ")
        },
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let left = cert.validity().not_after.timestamp() - now;
    let days = left.div_euclid(86_400);
    let expiry = if left < 0 {
        format!("{} (EXPIRED {} day(s) ago)", summary.not_after, -days)
    } else {
        format!("{} ({days} days until expiry)", summary.not_after)
    };
    row(text, "not_after", &expiry);
}

/// The rows for a policy whose key pair start-up would generate.
fn describe_generation(text: &mut String, settings: &Settings, policy: &str) {
    let (where_, names) = if policy == LEGACY_POLICY {
        (
            format!(
                "{} and {}",
                legacy_key_path(settings).display(),
                legacy_cert_path(settings).display()
            ),
            legacy_hostnames(settings).join(", "),
        )
    } else {
        let p = settings.policies.get(policy);
        (
            p.map_or_else(String::new, |p| {
                format!(
                    "{} and {}",
                    p.private_key.display(),
                    p.public_certificate.display()
                )
            }),
            "localhost, 127.0.0.1, ::1, the advertised address and the channels' listen hosts"
                .to_owned(),
        )
    };
    row(
        text,
        "status",
        &format!(
            "not checked: no key pair yet; start-up will generate a self-signed pair at \
             {where_} (for {names}) — development only. `check` never writes files"
        ),
    );
}

/// One `name  value` row of a channel's table.
fn row(text: &mut String, name: &str, value: &str) {
    let _ = writeln!(text, "  {name:<15} {value}");
}

/// `, mode 0600` on unix, nothing elsewhere or when unreadable.
fn mode_of(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            return format!(", mode {:04o}", meta.permissions().mode() & 0o7777);
        }
    }
    let _ = path;
    String::new()
}

/// A subject alternative name as `DNS:name` or `IP:address`.
fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(dns) => format!("DNS:{dns}"),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => <[u8; 4]>::try_from(*bytes)
                .map(|b| format!("IP:{}", IpAddr::from(b)))
                .unwrap_or_default(),
            16 => <[u8; 16]>::try_from(*bytes)
                .map(|b| format!("IP:{}", IpAddr::from(b)))
                .unwrap_or_default(),
            _ => format!("IP:{bytes:02x?}"),
        },
        other => other.to_string(),
    }
}

/// The key that binds `channel` to a policy.
fn binding_key(channel: &str) -> String {
    match channel {
        "cluster" => "causal_clustering.ssl_policy".to_owned(),
        "backup" => "dbms.backup.ssl_policy".to_owned(),
        _ => format!("{channel}.ssl_policy"),
    }
}

/// The error, plus the full key of the setting responsible and where it was written (or that
/// the default applied).
fn explain(settings: &Settings, error: &Error) -> String {
    let (policy, setting) = match error {
        Error::Policy {
            policy, setting, ..
        } => (policy.as_str(), *setting),
        Error::Backend {
            policy,
            source:
                tls_policy_backend::BackendError::Unsupported { setting, .. }
                | tls_policy_backend::BackendError::Rejected { setting, .. },
        } => (policy.as_str(), *setting),
        _ => return error.to_string(),
    };
    let origin = if policy == LEGACY_POLICY {
        format!(
            "the legacy system: dbms.directories.certificates={}",
            settings.certificates_directory.display()
        )
    } else if setting == "ssl_policy" {
        let bound: Vec<String> = settings
            .channels
            .values()
            .filter(|c| c.policy.as_deref() == Some(policy))
            .map(|c| binding_key(&c.name))
            .collect();
        format!("bound by {}", bound.join(", "))
    } else {
        let key = format!("dbms.ssl.policy.{policy}.{setting}");
        let sources = settings.policies.get(policy).map(|p| &p.sources);
        let source_of = |suffix: &str| sources.and_then(|s| s.get(suffix));
        match source_of(setting) {
            Some(source) => format!("{key}, set at {source}"),
            None => match source_of("base_directory") {
                Some(base) if RELATIVE_TO_BASE.contains(&setting) => format!(
                    "{key}, not set: its default applies, under \
                     dbms.ssl.policy.{policy}.base_directory set at {base}"
                ),
                _ if setting == "base_directory" && settings.form == ConfigForm::Scope => format!(
                    "{key}, not set: the scope form's default, `{policy}` under the \
                     certificates directory (dbms.directories.certificates or \
                     server.directories.certificates)"
                ),
                _ => format!("{key}, not set: its default applies"),
            },
        }
    };
    format!("{error}\n  setting: {origin}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_print_as_openssl_does() {
        assert_eq!(
            general_name(&GeneralName::DNSName("localhost")),
            "DNS:localhost"
        );
        assert_eq!(
            general_name(&GeneralName::IPAddress(&[127, 0, 0, 1])),
            "IP:127.0.0.1"
        );
        let v6 = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(general_name(&GeneralName::IPAddress(&v6)), "IP:::1");
    }
}
