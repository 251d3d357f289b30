//! The 4.x/5.x scope form (`dbms.ssl.policy.<scope>.enabled=true`): telling it from the 3.5
//! named form, its per-scope defaults, and the defaults of ours that differ from the framework's.
//!
//! How the forms are told apart: a `dbms.ssl.policy.<scope>.enabled` line (whatever its value)
//! or a `dbms.ssl.custom_scopes` line makes a file the scope form; a `<channel>.ssl_policy` binding line, or a policy whose name
//! is not a scope, makes it the named form. Both in one file is an error naming one line of
//! each. A file with neither (only `dbms.ssl.policy.bolt.base_directory`, say) is the named
//! form, as 3.5 read it: the policy is defined and bound to nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tls_policy_backend::ClientAuth;

use super::keys::PolicySuffix;
use super::model::{ConfigForm, DefaultDifference, PolicySettings};
use super::policies::PolicyDraft;
use crate::error::{Error, Source};

/// The defaults a policy's unset suffixes take, which depend on the form and the scope.
pub(crate) struct PolicyDefaults {
    /// `base_directory` when unset; `None`: mandatory (the named form).
    pub(crate) base_directory: Option<PathBuf>,
    /// `client_auth` when unset.
    pub(crate) client_auth: ClientAuth,
    /// `verify_hostname` when unset.
    pub(crate) verify_hostname: bool,
}

impl PolicyDefaults {
    /// The 3.5 named form: `base_directory` mandatory, `client_auth=REQUIRE`,
    /// `verify_hostname=false`.
    pub(crate) fn named() -> PolicyDefaults {
        PolicyDefaults {
            base_directory: None,
            client_auth: ClientAuth::Require,
            verify_hostname: false,
        }
    }

    /// The scope form: `base_directory` = `<certificates directory>/<scope>`, `client_auth` per
    /// scope (bolt, https `OPTIONAL`; cluster, backup `REQUIRE`; fabric `NONE`), and
    /// `verify_hostname=true` (**ours**; the framework's from 2025.01).
    pub(crate) fn scope(scope: &str, certificates_directory: &Path) -> PolicyDefaults {
        PolicyDefaults {
            base_directory: Some(certificates_directory.join(scope)),
            client_auth: scope_client_auth(scope),
            verify_hostname: true,
        }
    }
}

/// The framework's `client_auth` default for a scope.
pub(crate) fn scope_client_auth(scope: &str) -> ClientAuth {
    match scope {
        "bolt" | "https" => ClientAuth::Optional,
        "fabric" => ClientAuth::None,
        _ => ClientAuth::Require,
    }
}

/// Where a line was written and the key it was written as (the first of its kind).
pub(crate) struct Marker<'a> {
    pub(crate) source: &'a Source,
    pub(crate) key: &'a str,
}

/// The form of a file from its first scope-form line and its first named-form line; both is
/// an error at the later of the two, naming both.
pub(crate) fn decide_form(
    scope: Option<Marker<'_>>,
    named: Option<Marker<'_>>,
    any_policy: bool,
) -> Result<ConfigForm, Error> {
    match (scope, named) {
        (Some(scope), Some(named)) => {
            let later = if order(scope.source) <= order(named.source) {
                &named
            } else {
                &scope
            };
            Err(Error::Config {
                source_location: later.source.clone(),
                key: later.key.to_owned(),
                message: format!(
                    "this file mixes the 4.x/5.x scope form (`{}` at {}) with the 3.5 named-policy \
                     form (`{}` at {}); write one form: either switch each channel's policy on \
                     with `dbms.ssl.policy.<scope>.enabled=true` (scopes bolt, https, cluster, \
                     backup, fabric) and remove the `<channel>.ssl_policy` lines and other policy \
                     names, or name policies, bind them with `<channel>.ssl_policy=<name>` and \
                     remove the `.enabled` lines",
                    scope.key, scope.source, named.key, named.source,
                ) + &mistyped_scope(named.key),
            })
        }
        (Some(_), None) => Ok(ConfigForm::Scope),
        (None, Some(_)) => Ok(ConfigForm::Named),
        (None, None) if any_policy => Ok(ConfigForm::Named),
        (None, None) => Ok(ConfigForm::NoPolicies),
    }
}

/// `; did you mean scope `bolt`?` when the named-form line is a policy key whose name is a
/// typo of a scope (the likeliest reason for a "mixed" scope-form file).
fn mistyped_scope(key: &str) -> String {
    let name = key
        .strip_prefix(super::keys::POLICY_PREFIX)
        .and_then(|rest| rest.rsplit_once('.'))
        .map(|(name, _)| name);
    match name
        .and_then(|name| super::suggest::closest(name, super::keys::SCOPES.iter().copied(), 2))
    {
        Some(scope) => format!(
            " (is `{}` a typo of scope `{scope}`?)",
            name.unwrap_or_default()
        ),
        None => String::new(),
    }
}

fn order(source: &Source) -> usize {
    match source {
        Source::File { line, .. } => *line,
        Source::Builder => 0,
    }
}

/// The error for `dbms.ssl.policy.<name>.enabled` where `<name>` is not a scope (neither the
/// framework's nor one of `custom_scopes`).
pub(crate) fn not_a_scope(name: &str, custom_scopes: &[String]) -> String {
    let mut message = format!(
        "`enabled` switches on a policy of the 4.x/5.x scope form, whose scopes are {}{}; `{name}` \
         is not one",
        super::keys::SCOPES.join(", "),
        if custom_scopes.is_empty() {
            String::new()
        } else {
            format!(
                " and the custom scopes of `{}`: {}",
                super::keys::CUSTOM_SCOPES_KEY,
                custom_scopes.join(", ")
            )
        }
    );
    let candidates = super::keys::SCOPES
        .iter()
        .copied()
        .chain(custom_scopes.iter().map(String::as_str));
    if let Some(guess) = super::suggest::closest(name, candidates, 2) {
        message.push_str(&format!(" (did you mean `{guess}`?)"));
    }
    message.push_str(&format!(
        ". For an application's own channel `{name}` in this form, declare it as a custom scope \
         with `{}={name}`. In the 3.5 named form a policy is defined by its base_directory and \
         applied by binding a channel to it: remove this line and write \
         `<channel>.ssl_policy={name}`",
        super::keys::CUSTOM_SCOPES_KEY
    ));
    message
}

/// The defaults of ours that differ from the framework's, for the policies and bound channels of
/// a file in `form`. `bolt_tls_level_default`: when the `bolt` channel has a policy and takes
/// the default `tls_level`, that setting's key as the file would spell it.
pub(crate) fn default_differences(
    form: ConfigForm,
    policies: &BTreeMap<String, PolicySettings>,
    bolt_tls_level_default: Option<String>,
    any_tls_channel: bool,
    tls_reload_set: bool,
) -> Vec<DefaultDifference> {
    let mut differences = Vec::new();
    for (name, policy) in policies {
        if !policy.sources.contains_key("tls_versions") {
            differences.push(DefaultDifference {
                key: format!("dbms.ssl.policy.{name}.tls_versions"),
                framework: match form {
                    ConfigForm::Scope => "TLSv1.2 before 5.24, TLSv1.2,TLSv1.3 from 5.24",
                    _ => "TLSv1.2",
                }
                .to_owned(),
                ours: "TLSv1.2,TLSv1.3".to_owned(),
                reason: "TLS 1.3 is offered as well (the framework's own default from 5.24); \
                         TLSv1 and TLSv1.1 are refused"
                    .to_owned(),
            });
        }
        if form == ConfigForm::Scope && !policy.sources.contains_key("verify_hostname") {
            differences.push(DefaultDifference {
                key: format!("dbms.ssl.policy.{name}.verify_hostname"),
                framework: "false before 2025.01, true from 2025.01".to_owned(),
                ours: "true".to_owned(),
                reason: "a client side dialling with this policy checks the server's certificate \
                         against the host it dialled (the framework's own default from 2025.01)"
                    .to_owned(),
            });
        }
    }
    if let Some(key) = bolt_tls_level_default {
        differences.push(DefaultDifference {
            key,
            framework: match form {
                ConfigForm::Named => "OPTIONAL (3.5)",
                _ => "DISABLED (4.x, 5.x)",
            }
            .to_owned(),
            ours: "REQUIRED".to_owned(),
            reason: "a channel with a policy is served with TLS only; a plaintext client could \
                     otherwise connect unnoticed (set tls_level=OPTIONAL, with client_auth=NONE, \
                     to accept both)"
                .to_owned(),
        });
    }
    if any_tls_channel && !tls_reload_set {
        differences.push(DefaultDifference {
            key: super::keys::TLS_RELOAD_ENABLED_KEY.to_owned(),
            framework: "false (2025.03+; earlier versions never reload)".to_owned(),
            ours: "true".to_owned(),
            reason: "keys, certificates, CAs and CRLs replaced on disk are picked up without a \
                     restart (file watching and SIGHUP in `tls-policy serve`); set it to false to \
                     turn that off"
                .to_owned(),
        });
    }
    differences
}

/// A scope-form policy's defaults, `None` when it is not enabled (it then does not exist), or
/// the problem of a suffix that form does not have.
pub(super) fn scope_policy(
    name: &str,
    draft: &PolicyDraft,
    certificates_directory: &std::path::Path,
) -> std::result::Result<Option<PolicyDefaults>, (usize, Error)> {
    if draft.enabled != Some(true) {
        return Ok(None);
    }
    if let Some(origin) = draft.origins.get(&PolicySuffix::AllowKeyGeneration) {
        return Err((
            origin.order(),
            origin.error(format!(
                "`allow_key_generation` is a setting of the 3.5 named form; the 4.x/5.x scope \
                 form (this file: `dbms.ssl.policy.{name}.enabled`) has no such setting and never \
                 generates keys: remove this line and put a key and certificate in the policy's \
                 base_directory (`tls-policy init --dev-certs` makes development ones)"
            )),
        ));
    }
    Ok(Some(PolicyDefaults::scope(name, certificates_directory)))
}

/// A scope-form policy not switched on, whose other settings are then ignored: said, once.
pub(super) fn not_enabled_warning(name: &str, draft: &PolicyDraft) -> Option<String> {
    let first = draft
        .origins
        .iter()
        .filter(|(suffix, _)| **suffix != PolicySuffix::Enabled)
        .map(|(_, origin)| origin)
        .min_by_key(|origin| origin.order())?;
    Some(format!(
        "{}: {}: policy `{name}` is not switched on (`dbms.ssl.policy.{name}.enabled=true` is \
         missing), so its settings are ignored and channel `{name}` has no policy",
        first.source, first.key
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tls_policy_backend::TlsVersion;

    use super::*;
    use crate::config::{Settings, TlsLevel};

    use crate::config::test_support::{error, parse};

    fn keys(settings: &Settings) -> Vec<&str> {
        settings
            .default_differences
            .iter()
            .map(|d| d.key.as_str())
            .collect()
    }

    #[test]
    fn an_enabled_scope_is_a_policy_bound_to_its_channel_with_the_framework_defaults() {
        let settings = parse("dbms.ssl.policy.bolt.enabled=true\n").unwrap();
        assert_eq!(settings.form, ConfigForm::Scope);
        let bolt = &settings.policies["bolt"];
        let base = Path::new("/var/lib/neo4j/certificates/bolt");
        assert_eq!(bolt.base_directory, base);
        assert_eq!(bolt.private_key, base.join("private.key"));
        assert_eq!(bolt.public_certificate, base.join("public.crt"));
        assert_eq!(bolt.trusted_dir, base.join("trusted"));
        assert_eq!(bolt.revoked_dir, base.join("revoked"));
        assert_eq!(bolt.client_auth, ClientAuth::Optional);
        assert!(bolt.verify_hostname, "ours in the scope form");
        assert_eq!(bolt.tls_versions, [TlsVersion::Tls12, TlsVersion::Tls13]);
        assert_eq!(settings.channels["bolt"].policy.as_deref(), Some("bolt"));
        assert_eq!(settings.channels["bolt"].tls_level, TlsLevel::Required);
        assert_eq!(settings.channels.len(), 1);
    }

    #[test]
    fn base_directories_default_under_the_certificates_directory_of_any_spelling() {
        for key in [
            "dbms.directories.certificates",
            "server.directories.certificates",
        ] {
            let settings = parse(&format!(
                "{key}=/etc/neo4j/certs\ndbms.ssl.policy.https.enabled=true\n"
            ))
            .unwrap();
            assert_eq!(
                settings.policies["https"].base_directory,
                Path::new("/etc/neo4j/certs/https"),
                "{key}"
            );
        }
        let settings = parse(
            "dbms.ssl.policy.cluster.enabled=true\n\
             dbms.ssl.policy.cluster.base_directory=tls/cluster\n",
        )
        .unwrap();
        assert_eq!(
            settings.policies["cluster"].base_directory,
            Path::new("/var/lib/neo4j/tls/cluster"),
            "an explicit relative base_directory resolves against home, as in 3.5"
        );
    }

    #[test]
    fn client_auth_defaults_per_scope() {
        let mut text = String::new();
        for scope in crate::config::SCOPES {
            text.push_str(&format!("dbms.ssl.policy.{scope}.enabled=true\n"));
        }
        let settings = parse(&text).unwrap();
        for (scope, expected) in [
            ("bolt", ClientAuth::Optional),
            ("https", ClientAuth::Optional),
            ("cluster", ClientAuth::Require),
            ("backup", ClientAuth::Require),
            ("fabric", ClientAuth::None),
        ] {
            assert_eq!(settings.policies[scope].client_auth, expected, "{scope}");
            assert_eq!(
                settings.channels[scope].policy.as_deref(),
                Some(scope),
                "{scope}"
            );
        }
    }

    #[test]
    fn a_scope_not_enabled_does_not_exist_and_says_so() {
        let settings = parse(
            "dbms.ssl.policy.bolt.enabled=true\n\
             dbms.ssl.policy.cluster.enabled=false\n\
             dbms.ssl.policy.cluster.client_auth=NONE\n\
             dbms.ssl.policy.backup.base_directory=certificates/backup\n",
        )
        .unwrap();
        assert_eq!(settings.policies.keys().collect::<Vec<_>>(), vec!["bolt"]);
        assert!(!settings.channels.contains_key("cluster"));
        assert_eq!(settings.warnings.len(), 2, "{:?}", settings.warnings);
        assert!(
            settings.warnings[0].starts_with(
                "/etc/neo4j.conf:4: dbms.ssl.policy.backup.base_directory: policy `backup` is \
                 not switched on"
            ),
            "{:?}",
            settings.warnings
        );
        assert!(
            settings.warnings[1].starts_with(
                "/etc/neo4j.conf:3: dbms.ssl.policy.cluster.client_auth: policy `cluster`"
            ),
            "{:?}",
            settings.warnings
        );
    }

    #[test]
    fn allow_key_generation_is_not_a_setting_of_the_scope_form() {
        let err = error(
            "dbms.ssl.policy.bolt.enabled=true\n\
             dbms.ssl.policy.bolt.allow_key_generation=true\n",
        );
        assert!(
            err.starts_with(
                "/etc/neo4j.conf:2: dbms.ssl.policy.bolt.allow_key_generation: \
                 `allow_key_generation` is a setting of the 3.5 named form"
            ),
            "{err}"
        );
        // The named form keeps it.
        assert!(parse(
            "dbms.ssl.policy.bolt.base_directory=b\n\
             dbms.ssl.policy.bolt.allow_key_generation=true\n\
             bolt.ssl_policy=bolt\n"
        )
        .is_ok());
    }

    #[test]
    fn mixing_the_forms_names_one_line_of_each() {
        let err = error(
            "dbms.ssl.policy.bolt.enabled=true\n\
             dbms.memory.heap.max_size=1G\n\
             bolt.ssl_policy=bolt\n",
        );
        assert!(
            err.starts_with(
                "/etc/neo4j.conf:3: bolt.ssl_policy: this file mixes the 4.x/5.x scope form \
                 (`dbms.ssl.policy.bolt.enabled` at /etc/neo4j.conf:1) with the 3.5 \
                 named-policy form (`bolt.ssl_policy` at /etc/neo4j.conf:3)"
            ),
            "{err}"
        );
        let err = error(
            "dbms.ssl.policy.client.base_directory=c\n\
             dbms.ssl.policy.https.enabled=true\n",
        );
        assert!(
            err.starts_with("/etc/neo4j.conf:2: dbms.ssl.policy.https.enabled: this file mixes"),
            "{err}"
        );
        assert!(
            err.contains("`dbms.ssl.policy.client.base_directory` at /etc/neo4j.conf:1"),
            "{err}"
        );
    }

    #[test]
    fn a_mistyped_scope_reads_as_a_mix_and_says_so() {
        let err =
            error("dbms.ssl.policy.bolt.enabled=true\ndbms.ssl.policy.blot.client_auth=NONE\n");
        assert!(err.contains("this file mixes"), "{err}");
        assert!(
            err.ends_with(" (is `blot` a typo of scope `bolt`?)"),
            "{err}"
        );
    }

    #[test]
    fn a_custom_scope_is_a_channel_of_the_5x_form() {
        // The declaration may stand anywhere in the file.
        let settings = parse(
            "server.grpc.listen_address=:50051\n\
             server.grpc.alpn=h2\n\
             dbms.ssl.policy.grpc.enabled=true\n\
             dbms.ssl.policy.grpc.client_auth=REQUIRE\n\
             dbms.ssl.custom_scopes=grpc, metrics_v2\n\
             dbms.ssl.policy.metrics_v2.enabled=true\n\
             dbms.connector.metrics_v2.listen_address=:9100\n\
             server.default_listen_address=0.0.0.0\n",
        )
        .unwrap();
        assert_eq!(settings.form, ConfigForm::Scope);
        assert_eq!(settings.custom_scopes, ["grpc", "metrics_v2"]);
        let grpc = &settings.channels["grpc"];
        assert_eq!(grpc.policy.as_deref(), Some("grpc"));
        assert_eq!(grpc.listen_address.as_deref(), Some("0.0.0.0:50051"));
        assert_eq!(grpc.alpn, ["h2"]);
        assert_eq!(grpc.key_form, crate::config::KeyForm::Server);
        assert_eq!(grpc.key("tls_level"), "server.grpc.tls_level");
        assert_eq!(grpc.key("ssl_policy"), "dbms.ssl.policy.grpc.enabled");
        // A scope's defaults: base_directory under the certificates directory, REQUIRE (an
        // application channel authenticates its clients unless told otherwise), hostnames
        // verified by its client side.
        let policy = &settings.policies["grpc"];
        assert_eq!(
            policy.base_directory,
            Path::new("/var/lib/neo4j/certificates/grpc")
        );
        assert_eq!(policy.client_auth, ClientAuth::Require);
        assert!(policy.verify_hostname);
        let metrics = &settings.channels["metrics_v2"];
        assert_eq!(metrics.policy.as_deref(), Some("metrics_v2"));
        assert_eq!(metrics.listen_address.as_deref(), Some("0.0.0.0:9100"));
        assert_eq!(
            metrics.key("tls_level"),
            "dbms.connector.metrics_v2.tls_level",
            "4.x spelling, as its lines are"
        );
        assert_eq!(
            settings.policies["metrics_v2"].client_auth,
            ClientAuth::Require
        );
        assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
        // On by default, like bolt (declaring it is the explicit step).
        let settings = parse(
            "dbms.ssl.custom_scopes=grpc\ndbms.ssl.policy.grpc.enabled=true\n\
             server.grpc.listen_address=:1\nserver.grpc.enabled=false\n",
        )
        .unwrap();
        assert_eq!(settings.channels["grpc"].listen_address, None);
    }

    #[test]
    fn custom_scopes_are_declared_explicitly_so_typos_stay_errors() {
        // Not declared: `enabled` on it is still an error, saying how to declare it.
        let err = error("dbms.ssl.policy.grpc.enabled=true\nserver.grpc.listen_address=:1\n");
        assert!(
            err.starts_with("/etc/neo4j.conf:1: dbms.ssl.policy.grpc.enabled: `enabled` switches"),
            "{err}"
        );
        assert!(
            err.contains("declare it as a custom scope with `dbms.ssl.custom_scopes=grpc`"),
            "{err}"
        );
        // Declared, a near miss is a typo of it.
        let err = error("dbms.ssl.custom_scopes=grpc\ndbms.ssl.policy.grcp.enabled=true\n");
        assert!(
            err.starts_with(
                "/etc/neo4j.conf:2: dbms.ssl.policy.grcp.enabled: `enabled` switches on a policy \
                 of the 4.x/5.x scope form, whose scopes are bolt, https, cluster, backup, \
                 fabric and the custom scopes of `dbms.ssl.custom_scopes`: grpc; `grcp` is not \
                 one (did you mean `grpc`?)"
            ),
            "{err}"
        );
        for (line, expected) in [
            (
                "server.grcp.listen_address=:1",
                "/etc/neo4j.conf:3: server.grcp.listen_address: unknown channel `grcp`; did you \
                 mean `server.grpc.listen_address`?",
            ),
            (
                "server.blot.tls_level=REQUIRED",
                "/etc/neo4j.conf:3: server.blot.tls_level: unknown channel `blot`; did you mean \
                 `server.bolt.tls_level`?",
            ),
            (
                "server.grpc.tls_levle=REQUIRED",
                "/etc/neo4j.conf:3: server.grpc.tls_levle: unknown connector setting \
                 `tls_levle`; did you mean `tls_level`?",
            ),
            (
                "server.search.alpn=h2",
                "/etc/neo4j.conf:3: server.search.alpn: `search` is not a channel of the 5.x \
                 form (`server.<channel>.*` is read for bolt, https and the custom scopes \
                 declared in `dbms.ssl.custom_scopes`: grpc); to serve an application's own \
                 channel `search`, declare it with `dbms.ssl.custom_scopes=search`",
            ),
        ] {
            let err = error(&format!(
                "dbms.ssl.custom_scopes=grpc\ndbms.ssl.policy.grpc.enabled=true\n{line}\n"
            ));
            assert!(
                err.starts_with(expected),
                "expected {expected}\n     got {err}"
            );
        }
        // The 4.x spelling of a mistyped scope: refused too, while a channel far from every
        // scope is the application's plaintext one, as ever.
        let err = error(
            "dbms.ssl.custom_scopes=grpc\ndbms.ssl.policy.grpc.enabled=true\n\
             dbms.connector.grcp.alpn=h2\n",
        );
        assert_eq!(
            err,
            "/etc/neo4j.conf:3: dbms.connector.grcp.alpn: `grcp` is not a scope of this file \
             (did you mean `dbms.connector.grpc.alpn`?); an application's own channel in the \
             4.x/5.x form is declared with `dbms.ssl.custom_scopes=grcp`"
        );
        let err =
            error("dbms.ssl.policy.bolt.enabled=true\ndbms.connector.blot.tls_level=REQUIRED\n");
        assert!(
            err.contains("did you mean `dbms.connector.bolt.tls_level`?"),
            "{err}"
        );
        let settings = parse(
            "dbms.ssl.policy.bolt.enabled=true\ndbms.connector.metrics.listen_address=:9100\n\
             dbms.connector.metrics.tls_level=DISABLED\n",
        )
        .unwrap();
        assert_eq!(settings.channels["metrics"].policy, None);
        // The framework's own server.* keys stay ignored, `http` beside `https` included.
        let settings = parse(
            "dbms.ssl.custom_scopes=grpc\ndbms.ssl.policy.grpc.enabled=true\n\
             server.http.listen_address=:7474\nserver.http.enabled=true\n\
             server.routing.listen_address=:7688\nserver.metrics.enabled=true\n\
             server.grpc.advertised_address=:50051\nserver.search.listen_address=:9\n",
        )
        .unwrap();
        assert_eq!(settings.channels.keys().collect::<Vec<_>>(), ["grpc"]);
    }

    #[test]
    fn custom_scope_declarations_that_are_refused() {
        for (value, why) in [
            ("bolt", "`bolt` is one of the framework's scopes"),
            ("http", "`http` is taken by the framework"),
            ("routing", "`routing` is taken by the framework"),
            ("legacy", "`legacy` is taken by the framework"),
            ("grpc,grpc", "`grpc` is listed twice"),
            ("grpc,", "an empty name"),
            ("g.rpc", "`g.rpc` is not a channel name"),
        ] {
            let err = error(&format!("dbms.ssl.custom_scopes={value}\n"));
            assert!(
                err.starts_with(&format!(
                    "/etc/neo4j.conf:1: dbms.ssl.custom_scopes: invalid value '{value}': {why}"
                )),
                "{err}"
            );
        }
        // The 3.5 form binds its own channels: a declaration there makes a mixed file.
        let err = error(
            "dbms.ssl.policy.p.base_directory=p\ngrpc.ssl_policy=p\ndbms.ssl.custom_scopes=grpc\n",
        );
        assert!(
            err.contains("this file mixes the 4.x/5.x scope form"),
            "{err}"
        );
        // Declared and never switched on: said.
        let settings = parse("dbms.ssl.custom_scopes=grpc\n").unwrap();
        assert_eq!(settings.form, ConfigForm::Scope);
        assert_eq!(
            settings.warnings,
            [
                "/etc/neo4j.conf:1: dbms.ssl.custom_scopes: custom scope `grpc` is declared but \
              its policy is not switched on (`dbms.ssl.policy.grpc.enabled=true` is missing), \
              so channel `grpc` has no policy"
            ]
        );
        // A listener of an undeclared channel in the scope form: how to declare it.
        let err =
            error("dbms.ssl.policy.bolt.enabled=true\ndbms.connector.app.listen_address=:1\n");
        assert!(
            err.contains(
                "declare it with `dbms.ssl.custom_scopes=app` and switch its policy on with \
                 `dbms.ssl.policy.app.enabled=true`"
            ),
            "{err}"
        );
        // The builder: the same.
        let built = Settings::builder()
            .custom_scopes(["grpc"])
            .set("dbms.ssl.policy.grpc.enabled", "true")
            .set("server.grpc.alpn", "h2")
            .build()
            .unwrap();
        assert_eq!(built.channels["grpc"].alpn, ["h2"]);
        let err = Settings::builder()
            .custom_scopes(["bolt"])
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("builder: dbms.ssl.custom_scopes: invalid value 'bolt'"),
            "{err}"
        );
    }

    #[test]
    fn enabled_on_a_name_that_is_not_a_scope() {
        let err = error("dbms.ssl.policy.client.enabled=true\n");
        assert!(
            err.starts_with(
                "/etc/neo4j.conf:1: dbms.ssl.policy.client.enabled: `enabled` switches on a \
                 policy of the 4.x/5.x scope form, whose scopes are bolt, https, cluster, \
                 backup, fabric; `client` is not one"
            ),
            "{err}"
        );
        assert!(err.contains("`<channel>.ssl_policy=client`"), "{err}");
        let err = error("dbms.ssl.policy.blot.enabled=true\n");
        assert!(err.contains("did you mean `bolt`?"), "{err}");
        let err = error("dbms.ssl.policy.bolt.enabled=yes\n");
        assert!(err.contains("expected true or false"), "{err}");
    }

    #[test]
    fn optional_tls_on_bolt_with_the_scope_default_client_auth_is_refused() {
        for key in ["dbms.connector.bolt.tls_level", "server.bolt.tls_level"] {
            let err = error(&format!(
                "dbms.ssl.policy.bolt.enabled=true\n{key}=OPTIONAL\n"
            ));
            assert!(
                err.starts_with(&format!(
                    "/etc/neo4j.conf:2: {key}: channel `bolt` accepts plaintext \
                     (tls_level=OPTIONAL), but its policy `bolt` authenticates clients \
                     (`dbms.ssl.policy.bolt.client_auth=OPTIONAL`, the framework's default for \
                     scope `bolt`)"
                )),
                "{err}"
            );
            assert!(
                err.ends_with(&format!(
                    "set `dbms.ssl.policy.bolt.client_auth=NONE` to accept plaintext, or \
                     `{key}=REQUIRED` for TLS only"
                )),
                "{err}"
            );
        }
        let settings = parse(
            "dbms.ssl.policy.bolt.enabled=true\n\
             dbms.ssl.policy.bolt.client_auth=NONE\n\
             dbms.connector.bolt.tls_level=OPTIONAL\n",
        )
        .unwrap();
        assert_eq!(settings.channels["bolt"].tls_level, TlsLevel::Optional);
    }

    #[test]
    fn connector_keys_of_4x_and_5x() {
        let settings = parse(
            "dbms.ssl.policy.bolt.enabled=true\n\
             dbms.ssl.policy.cluster.enabled=true\n\
             dbms.ssl.policy.backup.enabled=true\n\
             dbms.default_listen_address=0.0.0.0\n\
             dbms.default_advertised_address=db1.example.com\n\
             dbms.connector.bolt.listen_address=:7687\n\
             causal_clustering.transaction_listen_address=:6000\n\
             dbms.backup.listen_address=127.0.0.1:6362\n",
        )
        .unwrap();
        let listen = |s: &Settings, c: &str| s.channels[c].listen_address.clone();
        assert_eq!(listen(&settings, "bolt").as_deref(), Some("0.0.0.0:7687"));
        assert_eq!(
            listen(&settings, "cluster").as_deref(),
            Some("0.0.0.0:6000")
        );
        assert_eq!(
            listen(&settings, "backup").as_deref(),
            Some("127.0.0.1:6362")
        );
        assert_eq!(settings.default_advertised_address, "db1.example.com");

        let settings = parse(
            "dbms.ssl.policy.bolt.enabled=true\n\
             dbms.ssl.policy.https.enabled=true\n\
             dbms.ssl.policy.cluster.enabled=true\n\
             dbms.ssl.policy.backup.enabled=true\n\
             server.default_listen_address=::\n\
             server.default_advertised_address=db2.example.com\n\
             server.bolt.enabled=true\n\
             server.bolt.listen_address=:7687\n\
             server.bolt.tls_level=REQUIRED\n\
             server.https.enabled=true\n\
             server.https.listen_address=:7473\n\
             server.cluster.listen_address=:6000\n\
             server.backup.listen_address=:6362\n",
        )
        .unwrap();
        assert_eq!(listen(&settings, "bolt").as_deref(), Some("[::]:7687"));
        assert_eq!(listen(&settings, "https").as_deref(), Some("[::]:7473"));
        assert_eq!(listen(&settings, "cluster").as_deref(), Some("[::]:6000"));
        assert_eq!(listen(&settings, "backup").as_deref(), Some("[::]:6362"));
        assert_eq!(settings.default_advertised_address, "db2.example.com");
    }

    #[test]
    fn the_bolt_connector_switch_of_5x_is_read() {
        let text = "dbms.ssl.policy.bolt.enabled=true\nserver.bolt.listen_address=:7687\n";
        let settings = parse(&format!("{text}server.bolt.enabled=false\n")).unwrap();
        assert_eq!(settings.channels["bolt"].listen_address, None);
        assert_eq!(settings.channels["bolt"].policy.as_deref(), Some("bolt"));
        let settings = parse(text).unwrap();
        assert_eq!(
            settings.channels["bolt"].listen_address.as_deref(),
            Some("127.0.0.1:7687"),
            "bolt is on by default"
        );
    }

    #[test]
    fn the_backup_service_switch_is_read() {
        let text = "dbms.ssl.policy.backup.enabled=true\nserver.backup.listen_address=:6362\n";
        let settings = parse(&format!("{text}server.backup.enabled=false\n")).unwrap();
        assert_eq!(settings.channels["backup"].listen_address, None);
        assert_eq!(
            settings.channels["backup"].policy.as_deref(),
            Some("backup")
        );
        let settings = parse(&format!("{text}server.backup.enabled=true\n")).unwrap();
        assert!(settings.channels["backup"].listen_address.is_some());
        let settings = parse(
            "dbms.ssl.policy.backup.enabled=true\n\
             dbms.backup.enabled=false\n\
             dbms.backup.listen_address=:6362\n",
        )
        .unwrap();
        assert_eq!(settings.channels["backup"].listen_address, None);
    }

    #[test]
    fn one_setting_in_two_spellings_is_given_twice() {
        let err =
            error("dbms.default_listen_address=0.0.0.0\nserver.default_listen_address=0.0.0.0\n");
        assert!(
            err.starts_with(
                "/etc/neo4j.conf:2: server.default_listen_address: given twice: first at \
                 /etc/neo4j.conf:1 as `dbms.default_listen_address`"
            ),
            "{err}"
        );
        let err = error("dbms.connector.bolt.listen_address=:1\nserver.bolt.listen_address=:2\n");
        assert!(err.contains("given twice"), "{err}");
    }

    #[test]
    fn https_is_off_unless_switched_on_in_the_scope_form() {
        let text =
            "dbms.ssl.policy.https.enabled=true\ndbms.connector.https.listen_address=:7473\n";
        let settings = parse(text).unwrap();
        assert_eq!(settings.channels["https"].listen_address, None);
        assert!(
            settings.warnings[0].contains("the https connector is off"),
            "{:?}",
            settings.warnings
        );
        let settings = parse(&format!("{text}dbms.connector.https.enabled=true\n")).unwrap();
        assert_eq!(
            settings.channels["https"].listen_address.as_deref(),
            Some("127.0.0.1:7473")
        );
        // The 3.5 form keeps ours: on.
        let settings = parse(
            "dbms.ssl.policy.p.base_directory=p\nhttps.ssl_policy=p\n\
             dbms.connector.https.listen_address=:7473\n",
        )
        .unwrap();
        assert!(settings.channels["https"].listen_address.is_some());
    }

    #[test]
    fn the_plaintext_http_connector_is_not_a_channel_in_the_scope_form() {
        let text = "dbms.connector.http.enabled=true\ndbms.connector.http.listen_address=:7474\n";
        let settings = parse(&format!("dbms.ssl.policy.bolt.enabled=true\n{text}")).unwrap();
        assert!(!settings.channels.contains_key("http"));
        // The 3.5 form keeps reading it as a channel (which then needs a policy or DISABLED).
        let err = error(&format!("dbms.ssl.policy.p.base_directory=p\n{text}"));
        assert!(err.contains("channel `http` listens"), "{err}");
    }

    #[test]
    fn a_listener_without_an_enabled_policy_says_how_to_enable_one() {
        let err = error("dbms.ssl.policy.https.enabled=true\nserver.bolt.listen_address=:7687\n");
        assert!(
            err.contains("switch its policy on with `dbms.ssl.policy.bolt.enabled=true`"),
            "{err}"
        );
        let err = error("dbms.connector.bolt.listen_address=:7687\n");
        assert!(err.contains("`dbms.ssl.policy.bolt.enabled=true`"), "{err}");
        assert!(err.contains("`bolt.ssl_policy=<policy>`"), "{err}");
        // Plaintext must be asked for.
        let settings =
            parse("server.bolt.listen_address=:7687\nserver.bolt.tls_level=DISABLED\n").unwrap();
        assert_eq!(settings.form, ConfigForm::NoPolicies);
        assert_eq!(settings.channels["bolt"].policy, None);
    }

    #[test]
    fn reload_switch_and_netty_provider() {
        let settings = parse("dbms.ssl.policy.bolt.enabled=true\n").unwrap();
        assert!(settings.tls_reload_enabled);
        let settings =
            parse("dbms.ssl.policy.bolt.enabled=true\ndbms.security.tls_reload_enabled=false\n")
                .unwrap();
        assert!(!settings.tls_reload_enabled);
        let settings = parse("dbms.netty.ssl.provider=openssl\n").unwrap();
        assert_eq!(settings.warnings.len(), 1);
        assert!(
            settings.warnings[0].starts_with(
                "/etc/neo4j.conf:1: dbms.netty.ssl.provider=OPENSSL: accepted and ignored"
            ),
            "{:?}",
            settings.warnings
        );
        assert!(settings.warnings[0].contains("dbms.ssl.backend"));
        let err = error("dbms.netty.ssl.provider=BORINGSSL\n");
        assert!(
            err.ends_with(
                "invalid value 'BORINGSSL'; expected one of JDK, OPENSSL, OPENSSL_REFCNT"
            ),
            "{err}"
        );
    }

    #[test]
    fn ocsp_stapling_4x_covers_bolt_and_5x_covers_bolt_and_https() {
        let conf = |key: &str, value: &str| {
            format!(
                "dbms.ssl.policy.bolt.enabled=true\n\
                 dbms.ssl.policy.https.enabled=true\n\
                 server.https.enabled=true\n\
                 server.https.listen_address=:7473\n\
                 {key}={value}\n"
            )
        };
        let on = |settings: &Settings, channel: &str| {
            settings.channels[channel]
                .ocsp_stapling
                .as_ref()
                .map(|s| (s.key.clone(), s.source.to_string()))
        };
        let settings = parse(&conf("server.bolt.ocsp_stapling_enabled", "TRUE")).unwrap();
        let expected = Some((
            "server.bolt.ocsp_stapling_enabled".to_owned(),
            "/etc/neo4j.conf:5".to_owned(),
        ));
        assert_eq!(on(&settings, "bolt"), expected);
        assert_eq!(on(&settings, "https"), expected, "5.x: Bolt and HTTP");
        let settings = parse(&conf("dbms.connector.bolt.ocsp_stapling_enabled", "true")).unwrap();
        assert!(on(&settings, "bolt").is_some());
        assert_eq!(on(&settings, "https"), None, "4.x: Bolt only");
        for key in [
            "server.bolt.ocsp_stapling_enabled",
            "dbms.connector.bolt.ocsp_stapling_enabled",
        ] {
            let settings = parse(&conf(key, "false")).unwrap();
            assert_eq!(on(&settings, "bolt"), None);
            assert_eq!(on(&settings, "https"), None);
            let err = error(&conf(key, "yes"));
            assert!(
                err.starts_with(&format!(
                    "/etc/neo4j.conf:5: {key}: invalid value 'yes'; expected true or false"
                )),
                "{err}"
            );
        }
        // Unset: off.
        let settings = parse("dbms.ssl.policy.bolt.enabled=true\n").unwrap();
        assert_eq!(on(&settings, "bolt"), None);
    }

    #[test]
    fn defaults_that_differ_from_the_framework_are_listed() {
        let settings = parse(
            "dbms.ssl.policy.bolt.enabled=true\n\
             dbms.ssl.policy.bolt.client_auth=NONE\n",
        )
        .unwrap();
        assert_eq!(
            keys(&settings),
            vec![
                "dbms.ssl.policy.bolt.tls_versions",
                "dbms.ssl.policy.bolt.verify_hostname",
                "dbms.connector.bolt.tls_level",
                "dbms.security.tls_reload_enabled",
            ]
        );
        let tls_level = &settings.default_differences[2];
        assert_eq!(tls_level.framework, "DISABLED (4.x, 5.x)");
        assert_eq!(tls_level.ours, "REQUIRED");
        // Set explicitly: nothing to say. 5.x keys: named as 5.x spells them.
        let settings = parse(
            "dbms.ssl.policy.bolt.enabled=true\n\
             dbms.ssl.policy.bolt.tls_versions=TLSv1.3\n\
             dbms.ssl.policy.bolt.verify_hostname=false\n\
             dbms.security.tls_reload_enabled=true\n\
             server.bolt.enabled=true\n",
        )
        .unwrap();
        assert_eq!(keys(&settings), vec!["server.bolt.tls_level"]);
        // The named form: 3.5's defaults.
        let settings = parse(
            "dbms.ssl.policy.p.base_directory=p\nbolt.ssl_policy=p\nbolt.ssl_policy_unused=1\n",
        )
        .unwrap();
        assert_eq!(settings.form, ConfigForm::Named);
        assert_eq!(
            keys(&settings),
            vec![
                "dbms.ssl.policy.p.tls_versions",
                "dbms.connector.bolt.tls_level",
                "dbms.security.tls_reload_enabled",
            ]
        );
        assert_eq!(settings.default_differences[0].framework, "TLSv1.2");
        assert_eq!(settings.default_differences[1].framework, "OPTIONAL (3.5)");
    }

    #[test]
    fn a_35_policy_named_like_a_scope_without_a_binding_is_named_form_and_warned() {
        let settings = parse("dbms.ssl.policy.bolt.base_directory=certificates/bolt\n").unwrap();
        assert_eq!(settings.form, ConfigForm::Named);
        assert!(settings.channels.is_empty());
        assert!(
            settings.warnings[0].contains("`dbms.ssl.policy.bolt.enabled=true`"),
            "{:?}",
            settings.warnings
        );
        // Bound, it is the 3.5 form as ever, and the scope form's defaults do not apply.
        let settings =
            parse("dbms.ssl.policy.bolt.base_directory=certificates/bolt\nbolt.ssl_policy=bolt\n")
                .unwrap();
        assert_eq!(settings.form, ConfigForm::Named);
        assert_eq!(settings.policies["bolt"].client_auth, ClientAuth::Require);
        assert!(!settings.policies["bolt"].verify_hostname);
        assert!(settings.warnings.is_empty());
        // Without base_directory the named form has no policy.
        let err = error("dbms.ssl.policy.bolt.client_auth=NONE\nbolt.ssl_policy=bolt\n");
        assert!(err.contains("has no base_directory"), "{err}");
    }
}
