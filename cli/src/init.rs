//! `tls-policy init`: creates a policy's directories under a home, optionally with development certificates, and prints the config to add.
//!
//! `certificates/<NAME>/{trusted,revoked}` is created with mode 0755. With `--dev-certs`, a
//! development PKI ([`tls_policy_dev_pki`]) is written: the server key (`private.key`, mode 0600)
//! and chain (`public.crt`), the root CA in `trusted/`, its CRLs in `revoked/`, and a client
//! certificate with the CA for clients in `client/` (outside `trusted/`). An existing key or
//! certificate is never replaced without `--force`.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::CliResult;
use tls_policy::config::{binding_key, Settings, LEGACY_POLICY};
use tls_policy_dev_pki::{DevPki, DevPkiOptions, WritePolicy};

/// Arguments of `tls-policy init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The policy name: letters, digits, '_' and '-' (`legacy` is reserved).
    #[arg(long, value_name = "NAME")]
    pub policy: String,
    /// The home directory `certificates/` is created in (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Also write development certificates: a CA (into trusted/), its CRLs (into revoked/), a
    /// server certificate and key, and a client certificate and key (into client/).
    #[arg(long)]
    pub dev_certs: bool,
    /// A name the development server certificate covers; repeat for several (default:
    /// localhost, 127.0.0.1, ::1).
    #[arg(long = "hostname", value_name = "H", requires = "dev_certs")]
    pub hostnames: Vec<String>,
    /// Replace an existing private.key and public.crt (with --dev-certs).
    #[arg(long)]
    pub force: bool,
    /// The channel the printed config binds to the policy and gives a listen address (default:
    /// the policy's name when it is `bolt`, `https`, `cluster` or `backup`, else `bolt`).
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// The form of the printed config: `3.5` (named policy bound by `<channel>.ssl_policy`),
    /// `4` or `5` (the scope form, `dbms.ssl.policy.<scope>.enabled=true`, with that version's
    /// connector keys; the policy name is then the scope: bolt, https, cluster or backup).
    #[arg(long, value_enum, value_name = "FORM", default_value = "3.5")]
    pub form: InitForm,
}

/// The form `tls-policy init` writes its config lines in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum InitForm {
    /// The 3.5 named-policy form.
    #[default]
    #[value(name = "3.5")]
    Named,
    /// The scope form with 4.x connector keys (`dbms.connector.*`, `causal_clustering.*`).
    #[value(name = "4")]
    Four,
    /// The scope form with 5.x connector keys (`server.*`).
    #[value(name = "5")]
    Five,
}

/// The channels of the framework, with the port each listens on by convention.
const KNOWN_CHANNELS: [(&str, u16); 4] = [
    ("bolt", 7687),
    ("https", 7473),
    ("cluster", 6000),
    ("backup", 6362),
];

/// Runs `tls-policy init`.
pub async fn run(args: InitArgs) -> CliResult {
    check_name(&args.policy)?;
    let channel = channel_for(&args);
    check_name(&channel)?;
    check_form(&args, &channel)?;
    let home = match &args.home {
        Some(home) => {
            std::path::absolute(home).map_err(|e| format!("--home {}: {e}", home.display()))?
        }
        None => std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?,
    };
    let relative_base = format!("certificates/{}", args.policy);
    let base = home.join(&relative_base);
    let mut out = String::new();

    for dir in [base.clone(), base.join("trusted"), base.join("revoked")] {
        let made = create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let _ = writeln!(
            out,
            "{} {}",
            if made { "created" } else { "exists " },
            dir.display()
        );
    }

    let dev = if args.dev_certs {
        Some(write_dev_certs(&args, &base, &mut out)?)
    } else {
        None
    };

    let config = match args.form {
        InitForm::Named => config_lines(&args.policy, &channel, &relative_base, dev.is_some()),
        form => scope_config_lines(&args.policy, form, dev.is_some()),
    };
    // The lines must be what the parser accepts: check them before suggesting them.
    Settings::parse(&config, Path::new("(init)"), &home)
        .map_err(|e| format!("internal error: the suggested config does not parse: {e}"))?;

    if dev.is_none() {
        let _ = writeln!(
            out,
            "\nNow put the policy's files in {}:\n  private.key   the private key, PEM (chmod 600)\n  \
             public.crt    the certificate chain, PEM, leaf first\n  trusted/      the \
             certificates of the CAs whose clients (or servers) you trust\n  revoked/      their \
             CRLs, if any",
            base.display()
        );
    }
    let config_path = home.join("neo4j.conf");
    let _ = write!(
        out,
        "\nAdd these lines to {}:\n\n{config}\nThen check it:\n\n  tls-policy check --config {}\n",
        config_path.display(),
        config_path.display()
    );
    if let Some(client) = &dev {
        let _ = write!(
            out,
            "\nand try it (after `tls-policy serve --config {}`):\n\n  openssl s_client -connect \
             {} -servername localhost -CAfile {} -cert {cert} -cert_chain {cert} -key {}\n",
            config_path.display(),
            listen_address(&channel),
            client.ca.display(),
            client.key.display(),
            cert = client.cert.display(),
        );
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Refuses names the config would refuse, with the rule.
fn check_name(name: &str) -> Result<(), String> {
    if name == LEGACY_POLICY {
        return Err(format!(
            "--policy {name}: the name `{LEGACY_POLICY}` is reserved for the legacy SSL system \
             (neo4j.key and neo4j.cert in dbms.directories.certificates); choose another name"
        ));
    }
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(format!(
            "--policy '{name}': a policy name may contain only letters, digits, '_' and '-'"
        ));
    }
    Ok(())
}

/// In the scope form the policy is named after its scope, which is also its channel.
fn check_form(args: &InitArgs, channel: &str) -> Result<(), String> {
    if args.form == InitForm::Named {
        return Ok(());
    }
    let form = if args.form == InitForm::Four {
        "4"
    } else {
        "5"
    };
    if !KNOWN_CHANNELS.iter().any(|(name, _)| *name == args.policy) {
        return Err(format!(
            "--policy {}: in the scope form (--form {form}) a policy is named after its scope, \
             which is also its channel: bolt, https, cluster or backup (or use --form 3.5 for a \
             named policy)",
            args.policy
        ));
    }
    if channel != args.policy {
        return Err(format!(
            "--channel {channel}: in the scope form (--form {form}) policy `{}` secures channel \
             `{}` only; drop --channel, or use --form 3.5 to bind a named policy to any channel",
            args.policy, args.policy
        ));
    }
    Ok(())
}

/// Creates `dir` (mode 0755 on unix, before the umask); `Ok(false)` when it already existed.
fn create_dir(dir: &Path) -> io::Result<bool> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(false),
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a directory",
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o755);
    }
    builder.create(dir)?;
    Ok(true)
}

/// Where the development client's files went.
struct ClientFiles {
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

/// Writes the development PKI into `base`, refusing to replace a key pair without `--force`.
fn write_dev_certs(args: &InitArgs, base: &Path, out: &mut String) -> Result<ClientFiles, String> {
    let key = base.join("private.key");
    let cert = base.join("public.crt");
    if !args.force {
        if let Some(existing) = [&key, &cert].into_iter().find(|p| p.exists()) {
            return Err(format!(
                "{} already exists; refusing to overwrite it (pass --force to replace the key \
                 pair and the development certificates)",
                existing.display()
            ));
        }
    }
    let mut options = DevPkiOptions::default();
    if !args.hostnames.is_empty() {
        options = options.with_hostnames(args.hostnames.iter().cloned());
    }
    let pki = DevPki::generate(&options)
        .map_err(|e| format!("cannot generate the development certificates: {e}"))?;
    pki.write_policy_dir(base, &WritePolicy::default())
        .map_err(|e| format!("cannot write into {}: {e}", base.display()))?;
    let client_dir = base.join("client");
    let (client_cert, client_key) = pki
        .write_client(&pki.client, &client_dir)
        .map_err(|e| format!("cannot write into {}: {e}", client_dir.display()))?;
    let ca = client_dir.join("ca.crt");
    fs::write(&ca, &pki.root.cert_pem)
        .map_err(|e| format!("cannot write {}: {e}", ca.display()))?;

    let _ = writeln!(
        out,
        "wrote   {} (server key, mode 0600)\nwrote   {} (server certificate for {}, and the \
         intermediate CA)\nwrote   {} and {} (the development root and intermediate CAs: \
         clients they issued are trusted, and the CRLs they issued are believed)\n\
         wrote   {} and {} (CRLs)\nwrote   {} and {} (a client certificate and key, \
         mode 0600)\nwrote   {} (the root CA, for clients to verify the server)\n\
         These certificates are for development only.",
        key.display(),
        cert.display(),
        options.hostnames.join(", "),
        base.join("trusted/root.crt").display(),
        base.join("trusted/intermediate.crt").display(),
        base.join("revoked/intermediate.crl").display(),
        base.join("revoked/root.crl").display(),
        client_cert.display(),
        client_key.display(),
        ca.display(),
    );
    Ok(ClientFiles {
        cert: client_cert,
        key: client_key,
        ca,
    })
}

/// `--channel`, else the policy's name when it is a known channel, else `bolt`.
fn channel_for(args: &InitArgs) -> String {
    match &args.channel {
        Some(channel) => channel.clone(),
        None if KNOWN_CHANNELS.iter().any(|(name, _)| *name == args.policy) => args.policy.clone(),
        None => "bolt".to_owned(),
    }
}

/// Where the printed config has `channel` listen: its conventional port on loopback, or any
/// free port for a channel of the application's own.
fn listen_address(channel: &str) -> String {
    let port = KNOWN_CHANNELS
        .iter()
        .find(|(name, _)| *name == channel)
        .map_or(0, |(_, port)| *port);
    format!("127.0.0.1:{port}")
}

/// The lines defining the policy and binding `channel` to it.
fn config_lines(policy: &str, channel: &str, relative_base: &str, dev_certs: bool) -> String {
    let client_auth = if dev_certs {
        "# REQUIRE (the default): mutual TLS, clients need a certificate from a CA in trusted/\n\
         dbms.ssl.policy.{p}.client_auth=REQUIRE\n"
    } else {
        "# NONE until trusted/ holds your clients' CA; REQUIRE (the default) then gives mutual TLS\n\
         dbms.ssl.policy.{p}.client_auth=NONE\n"
    };
    format!(
        "dbms.ssl.policy.{policy}.base_directory={relative_base}\n{}\
         # bind the channel to the policy, and give it an address to listen on\n\
         {}={policy}\n\
         dbms.connector.{channel}.listen_address={}\n",
        client_auth.replace("{p}", policy),
        binding_key(channel),
        listen_address(channel),
    )
}

/// The scope form's lines for `scope` (also its channel), with 4.x or 5.x connector keys. The
/// base directory is the scope form's default, `certificates/<scope>` under home.
fn scope_config_lines(scope: &str, form: InitForm, dev_certs: bool) -> String {
    let five = form == InitForm::Five;
    let client_auth = if dev_certs {
        "# REQUIRE: mutual TLS, clients need a certificate from a CA in trusted/\n\
         dbms.ssl.policy.{p}.client_auth=REQUIRE\n"
    } else {
        "# NONE until trusted/ holds your clients' CA; REQUIRE then gives mutual TLS\n\
         dbms.ssl.policy.{p}.client_auth=NONE\n"
    };
    let address = listen_address(scope);
    let connector = match (scope, five) {
        ("bolt", false) => format!(
            "dbms.connector.bolt.enabled=true\n\
             dbms.connector.bolt.tls_level=REQUIRED\n\
             dbms.connector.bolt.listen_address={address}\n"
        ),
        ("bolt", true) => format!(
            "server.bolt.enabled=true\n\
             server.bolt.tls_level=REQUIRED\n\
             server.bolt.listen_address={address}\n"
        ),
        ("https", false) => format!(
            "dbms.connector.https.enabled=true\n\
             dbms.connector.https.listen_address={address}\n"
        ),
        ("https", true) => format!(
            "server.https.enabled=true\n\
             server.https.listen_address={address}\n"
        ),
        ("cluster", false) => format!("causal_clustering.transaction_listen_address={address}\n"),
        ("cluster", true) => format!("server.cluster.listen_address={address}\n"),
        (_, false) => format!("dbms.backup.listen_address={address}\n"),
        (_, true) => format!("server.backup.listen_address={address}\n"),
    };
    format!(
        "# the {scope} scope's policy; its files are in certificates/{scope} under home (the \
         default base_directory)\n\
         dbms.ssl.policy.{scope}.enabled=true\n{}\
         # the {scope} connector\n{connector}",
        client_auth.replace("{p}", scope),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("client_policy-2").is_ok());
        assert!(check_name("legacy").unwrap_err().contains("reserved"));
        assert!(check_name("a.b").unwrap_err().contains("only letters"));
        assert!(check_name("").is_err());
    }

    #[test]
    fn suggested_config_parses() {
        for dev in [false, true] {
            for (channel, address) in [
                ("bolt", "127.0.0.1:7687"),
                ("https", "127.0.0.1:7473"),
                ("cluster", "127.0.0.1:6000"),
                ("backup", "127.0.0.1:6362"),
                ("metrics", "127.0.0.1:0"),
            ] {
                let text = config_lines("p", channel, "certificates/p", dev);
                let settings = Settings::parse(&text, Path::new("x"), Path::new("/h")).unwrap();
                assert_eq!(
                    settings.channel_policy(channel).map(|p| p.name.as_str()),
                    Some("p"),
                    "{text}"
                );
                let listen = settings.channels[channel].listen_address.as_deref();
                assert_eq!(listen, Some(address), "{text}");
                assert_eq!(
                    settings.channels.len(),
                    1,
                    "only {channel} is bound: {text}"
                );
            }
        }
    }

    #[test]
    fn scope_form_config_parses_to_the_same_channel() {
        for form in [InitForm::Four, InitForm::Five] {
            for dev in [false, true] {
                for (scope, address) in [
                    ("bolt", "127.0.0.1:7687"),
                    ("https", "127.0.0.1:7473"),
                    ("cluster", "127.0.0.1:6000"),
                    ("backup", "127.0.0.1:6362"),
                ] {
                    let text = scope_config_lines(scope, form, dev);
                    let settings = Settings::parse(&text, Path::new("x"), Path::new("/h")).unwrap();
                    assert_eq!(settings.form, tls_policy::config::ConfigForm::Scope);
                    let policy = settings.channel_policy(scope).expect("bound");
                    assert_eq!(policy.name, scope);
                    assert_eq!(
                        policy.base_directory,
                        Path::new("/h/certificates").join(scope),
                        "{text}"
                    );
                    let listen = settings.channels[scope].listen_address.as_deref();
                    assert_eq!(listen, Some(address), "{text}");
                    assert_eq!(settings.channels.len(), 1, "{text}");
                    assert_eq!(text.contains("server."), form == InitForm::Five, "{text}");
                }
            }
        }
    }

    #[test]
    fn the_scope_form_needs_a_scope() {
        let args = |policy: &str, channel: Option<&str>| InitArgs {
            policy: policy.to_owned(),
            home: None,
            dev_certs: false,
            hostnames: Vec::new(),
            force: false,
            channel: channel.map(str::to_owned),
            form: InitForm::Five,
        };
        let check = |a: InitArgs| check_form(&a, &channel_for(&a));
        assert!(check(args("bolt", None)).is_ok());
        assert!(check(args("client", None))
            .unwrap_err()
            .contains("named after its scope"));
        assert!(check(args("bolt", Some("https")))
            .unwrap_err()
            .contains("secures channel `bolt` only"));
    }

    #[test]
    fn the_channel_defaults_to_a_known_policy_name() {
        let args = |policy: &str, channel: Option<&str>| InitArgs {
            policy: policy.to_owned(),
            home: None,
            dev_certs: false,
            hostnames: Vec::new(),
            force: false,
            channel: channel.map(str::to_owned),
            form: InitForm::Named,
        };
        assert_eq!(channel_for(&args("https", None)), "https");
        assert_eq!(channel_for(&args("cluster", None)), "cluster");
        assert_eq!(channel_for(&args("client", None)), "bolt");
        assert_eq!(channel_for(&args("web", Some("https"))), "https");
        let text = config_lines("https", "https", "certificates/https", false);
        assert!(text.contains("\nhttps.ssl_policy=https\n"), "{text}");
        assert!(!text.contains("bolt"), "{text}");
        let text = config_lines("cluster", "cluster", "certificates/cluster", false);
        assert!(
            text.contains("\ncausal_clustering.ssl_policy=cluster\n"),
            "{text}"
        );
    }
}
