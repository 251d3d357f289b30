//! Which directories to watch for a policy: those really holding its key, chain and
//! `session_ticket_keys` file, its `trusted_dir` and its `revoked_dir` (directories, since editors
//! and certificate tools replace files by renaming a new one over them), and those holding a
//! symlink on the way to any of them (where a link swap changes what the setting means). Each is
//! named by its absolute, symlink-free path: the form the file watcher reports events in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::resolve::resolve;
use crate::config::{Settings, LEGACY_POLICY};
use crate::load::legacy::{legacy_cert_path, legacy_key_path};
use crate::Error;

/// A watched directory: the policies it belongs to, and the first policy, setting and
/// configured path it came from (to name in an error or a log line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WatchedDir {
    /// The policies whose files live here (or are reached through a link here).
    pub(crate) policies: BTreeSet<String>,
    /// The first policy that needs it.
    pub(crate) policy: String,
    /// The setting that names it (`private_key`, `public_certificate`, `trusted_dir`, ...).
    pub(crate) setting: &'static str,
    /// The setting's path as configured.
    pub(crate) configured: PathBuf,
}

/// A file or directory a policy's setting names.
struct Configured {
    setting: &'static str,
    path: PathBuf,
    /// A directory (`trusted_dir`, `revoked_dir`) rather than a file.
    directory: bool,
}

/// The directories to watch for `policies` now, by real path, each with the policies it
/// belongs to; an error names the policy, setting and path that cannot be resolved.
pub(crate) fn watched_dirs<'a>(
    settings: &Settings,
    policies: impl Iterator<Item = &'a String>,
) -> Result<BTreeMap<PathBuf, WatchedDir>, Error> {
    let mut dirs: BTreeMap<PathBuf, WatchedDir> = BTreeMap::new();
    for policy in policies {
        for configured in policy_paths(settings, policy) {
            let resolved = resolve(&configured.path).map_err(|error| Error::Policy {
                policy: policy.clone(),
                setting: configured.setting,
                path: Some(configured.path.clone()),
                message: format!("cannot resolve the path to watch it for changes: {error}"),
            })?;
            let holding = if configured.directory {
                resolved.real.clone()
            } else {
                parent(&resolved.real)
            };
            for dir in std::iter::once(holding).chain(resolved.link_dirs) {
                dirs.entry(dir)
                    .or_insert_with(|| WatchedDir {
                        policies: BTreeSet::new(),
                        policy: policy.clone(),
                        setting: configured.setting,
                        configured: configured.path.clone(),
                    })
                    .policies
                    .insert(policy.clone());
            }
        }
    }
    Ok(dirs)
}

/// The watched directory an event on `path` concerns: the directory holding it, or the
/// directory itself. The watcher reports paths under the real paths it was given; when that
/// form does not match (another backend's spelling of it), the event's directory is resolved
/// again.
pub(crate) fn dir_for<'a>(
    dirs: &'a BTreeMap<PathBuf, WatchedDir>,
    path: &Path,
) -> Option<(&'a PathBuf, &'a WatchedDir)> {
    let parent = path.parent();
    if let Some(found) = parent.and_then(|dir| dirs.get_key_value(dir)) {
        return Some(found);
    }
    if let Some(found) = dirs.get_key_value(path) {
        return Some(found);
    }
    let real = parent.and_then(|dir| resolve(dir).ok())?;
    dirs.get_key_value(&real.real)
}

/// One policy's files and directories with the setting naming each.
fn policy_paths(settings: &Settings, policy: &str) -> Vec<Configured> {
    let file = |setting, path: PathBuf| Configured {
        setting,
        path,
        directory: false,
    };
    let directory = |setting, path: PathBuf| Configured {
        setting,
        path,
        directory: true,
    };
    if policy == LEGACY_POLICY {
        return vec![
            file("private_key", legacy_key_path(settings)),
            file("public_certificate", legacy_cert_path(settings)),
        ];
    }
    let Some(p) = settings.policies.get(policy) else {
        return Vec::new();
    };
    let mut paths = vec![
        file("private_key", p.private_key.clone()),
        file("public_certificate", p.public_certificate.clone()),
        directory("revoked_dir", p.revoked_dir.clone()),
    ];
    if !p.trust_all {
        paths.push(directory("trusted_dir", p.trusted_dir.clone()));
    }
    if let Some(keys) = &p.session_ticket_keys {
        paths.push(file("session_ticket_keys", keys.clone()));
    }
    paths
}

/// The directory holding `file` (`/` for the root itself).
fn parent(file: &Path) -> PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("/"),
    }
}
