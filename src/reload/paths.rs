//! Which directories to watch for a policy: those holding its key, chain and
//! `session_ticket_keys` file, its `trusted_dir` and its `revoked_dir` (directories, since editors and certificate tools replace files by
//! renaming a new one over them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::{Settings, LEGACY_POLICY};
use crate::load::legacy::{legacy_cert_path, legacy_key_path};

/// A watched directory: the policies it belongs to, and the first policy and setting it came
/// from (to name in an error).
#[derive(Clone, Debug)]
pub(crate) struct WatchedDir {
    /// The policies whose files live here.
    pub(crate) policies: BTreeSet<String>,
    /// The first policy that needs it.
    pub(crate) policy: String,
    /// The setting that names it (`private_key`, `public_certificate`, `trusted_dir`, ...).
    pub(crate) setting: &'static str,
}

/// The directories to watch for `policies`, each with the policies it belongs to.
pub(crate) fn watched_dirs<'a>(
    settings: &Settings,
    policies: impl Iterator<Item = &'a String>,
) -> BTreeMap<PathBuf, WatchedDir> {
    let mut dirs: BTreeMap<PathBuf, WatchedDir> = BTreeMap::new();
    for policy in policies {
        for (setting, dir) in policy_dirs(settings, policy) {
            dirs.entry(dir)
                .or_insert_with(|| WatchedDir {
                    policies: BTreeSet::new(),
                    policy: policy.clone(),
                    setting,
                })
                .policies
                .insert(policy.clone());
        }
    }
    dirs
}

/// The policies an event on `path` concerns: a file in a watched directory, or the directory.
pub(crate) fn policies_for<'a>(
    dirs: &'a BTreeMap<PathBuf, WatchedDir>,
    path: &Path,
) -> impl Iterator<Item = &'a String> + 'a {
    let parent = path.parent().map(Path::to_path_buf);
    let itself = path.to_path_buf();
    [parent, Some(itself)]
        .into_iter()
        .flatten()
        .filter_map(move |dir| dirs.get(&dir))
        .flat_map(|watched| watched.policies.iter())
}

/// One policy's directories with the setting naming each.
fn policy_dirs(settings: &Settings, policy: &str) -> Vec<(&'static str, PathBuf)> {
    if policy == LEGACY_POLICY {
        return vec![
            ("private_key", parent(&legacy_key_path(settings))),
            ("public_certificate", parent(&legacy_cert_path(settings))),
        ];
    }
    let Some(p) = settings.policies.get(policy) else {
        return Vec::new();
    };
    let mut dirs = vec![
        ("private_key", parent(&p.private_key)),
        ("public_certificate", parent(&p.public_certificate)),
        ("revoked_dir", p.revoked_dir.clone()),
    ];
    if !p.trust_all {
        dirs.push(("trusted_dir", p.trusted_dir.clone()));
    }
    if let Some(keys) = &p.session_ticket_keys {
        dirs.push(("session_ticket_keys", parent(keys)));
    }
    dirs
}

/// The directory holding `file` (`.` for a bare file name).
fn parent(file: &Path) -> PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
