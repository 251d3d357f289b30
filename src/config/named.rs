//! The 3.5 named form's own rules: channels bound to defined policies, the reserved `legacy`
//! name, and policies bound to nothing.

use std::collections::BTreeMap;

use super::keys::{Target, LEGACY_POLICY, SCOPES};
use super::model::{ChannelSettings, PolicySettings};
use super::resolve::Origin;
use super::suggest;
use crate::error::Error;

/// The error for configuring `dbms.ssl.policy.legacy.*`: the name is the legacy system's.
pub(super) fn reserved_legacy_name() -> String {
    format!(
        "the policy name `{LEGACY_POLICY}` is reserved for the legacy SSL system (neo4j.key and \
         neo4j.cert in dbms.directories.certificates) and cannot be configured; rename the \
         policy (dbms.ssl.policy.<new-name>.*) and bind channels to the new name"
    )
}

pub(super) fn undefined_policy(
    channel: &str,
    policy: &str,
    origin: &Origin,
    defined: &BTreeMap<String, PolicySettings>,
) -> Error {
    let mut message = format!(
        "channel `{channel}` is bound to policy `{policy}`, which is not defined; define it with \
         `dbms.ssl.policy.{policy}.base_directory=<directory>`"
    );
    let names = defined.keys().map(String::as_str).chain([LEGACY_POLICY]);
    if let Some(guess) = suggest::did_you_mean(policy, names) {
        message.push_str(&format!(", or did you mean `{guess}`?"));
    }
    origin.error(message)
}

/// Named-form policies called like a scope and bound to nothing: probably a 4.x/5.x file
/// missing its `enabled` line.
pub(super) fn unbound_scope_named_policies(
    policies: &BTreeMap<String, PolicySettings>,
    channels: &BTreeMap<String, ChannelSettings>,
) -> Vec<String> {
    policies
        .keys()
        .filter(|name| SCOPES.contains(&name.as_str()))
        .filter(|name| {
            !channels
                .values()
                .any(|c| c.policy.as_deref() == Some(name.as_str()))
        })
        .map(|name| {
            let source = policies[name]
                .sources
                .get("base_directory")
                .map_or_else(|| "builder".to_owned(), ToString::to_string);
            format!(
                "{source}: dbms.ssl.policy.{name}.base_directory: policy `{name}` is defined \
                 but no channel is bound to it; in the 3.5 form bind it \
                 (`{}={name}`), in the 4.x/5.x form switch it on \
                 (`dbms.ssl.policy.{name}.enabled=true`)",
                Target::Binding {
                    channel: name.clone()
                }
            )
        })
        .collect()
}
