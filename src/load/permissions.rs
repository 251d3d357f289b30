//! Checking permissions as ssh does (unix only): the private key file is not readable by others,
//! and the directories that decide whom the server trusts are not writable by others.

use std::path::Path;

use crate::error::Result;

/// Checks the permission bits of the `private_key` file of `policy` (symbolic links followed).
///
/// Readable by others (`o+r`): an error (setting `private_key`) naming the file, the mode found
/// and the mode wanted. Readable by the group (`g+r`): `Ok(Some(warning))`. Otherwise, and on
/// platforms without unix permissions, `Ok(None)`. The caller logs the warning.
pub fn check_key_permissions(policy: &str, path: &Path) -> Result<Option<String>> {
    check_secret_file_permissions(policy, "private_key", "private key file", path)
}

/// Checks the permission bits of a file of `policy` that holds secrets (`setting`:
/// `private_key`, `session_ticket_keys`; `what` names the file in the message, e.g. `private
/// key file`), by the private key's rule: readable by others is an error, readable by the group
/// a warning (see [`check_key_permissions`]).
pub fn check_secret_file_permissions(
    policy: &str,
    setting: &'static str,
    what: &str,
    path: &Path,
) -> Result<Option<String>> {
    #[cfg(unix)]
    {
        unix::check(policy, setting, what, path)
    }
    #[cfg(not(unix))]
    {
        let _ = (policy, setting, what, path);
        Ok(None)
    }
}

/// Checks the permission bits of a directory of `policy` (`setting`: `base_directory`,
/// `trusted_dir` or `revoked_dir`; symbolic links followed): whoever can write there decides
/// which key is served, whom the server trusts and which certificates count as revoked.
///
/// Writable by others (`o+w`): an error naming the directory, the mode found and the mode
/// wanted — unless the directory is sticky (`+t`, as a Kubernetes Secret or ConfigMap mount
/// is) and every file of `protected` is owned by root or by the user running this process: the
/// sticky bit then keeps others from replacing those entries, and nothing else in the directory
/// is read. `trusted_dir` and `revoked_dir`, where every file is read, pass no `protected`
/// files, so a writable one is always refused (a new file there would be a new trust anchor or
/// CRL). Writable by the group (`g+w`): `Ok(Some(warning))`. Otherwise, and on platforms
/// without unix permissions, `Ok(None)`. A directory that cannot be read is left to the loader,
/// which names it.
pub fn check_directory_permissions(
    policy: &str,
    setting: &'static str,
    path: &Path,
    protected: &[&Path],
) -> Result<Option<String>> {
    #[cfg(unix)]
    {
        unix::check_directory(policy, setting, path, protected)
    }
    #[cfg(not(unix))]
    {
        let _ = (policy, setting, path, protected);
        Ok(None)
    }
}

#[cfg(unix)]
mod unix {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use crate::error::Result;
    use crate::load::{policy_error, policy_warning};

    pub(super) fn check(
        policy: &str,
        setting: &'static str,
        what: &str,
        path: &Path,
    ) -> Result<Option<String>> {
        let meta = fs::metadata(path).map_err(|e| {
            policy_error(
                policy,
                setting,
                path,
                format!("cannot read the permissions of the {what}: {e}"),
            )
        })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o004 != 0 {
            return Err(policy_error(
                policy,
                setting,
                path,
                format!(
                    "{what} is readable by others (mode {mode:04o}); refusing to \
                     start: wanted 0600 or 0400, run `chmod 600 {}`",
                    path.display()
                ),
            ));
        }
        if mode & 0o040 != 0 {
            return Ok(Some(policy_warning(
                policy,
                setting,
                Some(path),
                &format!(
                    "{what} is readable by its group (mode {mode:04o}); 0600 or 0400 \
                     is recommended: `chmod 600 {}`",
                    path.display()
                ),
            )));
        }
        Ok(None)
    }

    pub(super) fn check_directory(
        policy: &str,
        setting: &'static str,
        path: &Path,
        protected: &[&Path],
    ) -> Result<Option<String>> {
        let Ok(meta) = fs::metadata(path) else {
            return Ok(None);
        };
        let mode = meta.permissions().mode() & 0o7777;
        let wanted = mode & !0o022 & 0o7777;
        if mode & 0o022 != 0 && sticky_and_protected(mode, protected) {
            return Ok(None);
        }
        if mode & 0o002 != 0 {
            return Err(policy_error(
                policy,
                setting,
                path,
                format!(
                    "directory is writable by others (mode {mode:04o}), so anyone on this host \
                     could decide whom the server trusts; refusing to start: wanted {wanted:04o} \
                     or stricter, run `chmod o-w {}`",
                    path.display()
                ),
            ));
        }
        if mode & 0o020 != 0 {
            return Ok(Some(policy_warning(
                policy,
                setting,
                Some(path),
                &format!(
                    "directory is writable by its group (mode {mode:04o}); {wanted:04o} or \
                     stricter is recommended: `chmod g-w {}`",
                    path.display()
                ),
            )));
        }
        Ok(None)
    }

    /// Whether a sticky directory keeps others from replacing every `protected` entry: each
    /// exists and is owned (the entry itself, not a link's target) by root or by us.
    fn sticky_and_protected(mode: u32, protected: &[&Path]) -> bool {
        use std::os::unix::fs::MetadataExt;
        const STICKY: u32 = 0o1000;
        let us = rustix::process::geteuid().as_raw();
        mode & STICKY != 0
            && !protected.is_empty()
            && protected.iter().all(|entry| {
                fs::symlink_metadata(entry).is_ok_and(|meta| meta.uid() == 0 || meta.uid() == us)
            })
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::load::test_support::set_mode;
    use crate::Error;

    fn key_file(mode: u32) -> (tempfile::TempDir, std::path::PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("private.key");
        std::fs::write(&path, b"k").unwrap();
        set_mode(&path, mode);
        (tmp, path)
    }

    #[test]
    fn owner_only_is_fine() {
        for mode in [0o600, 0o400, 0o700] {
            let (_tmp, path) = key_file(mode);
            assert_eq!(check_key_permissions("p", &path).unwrap(), None);
        }
    }

    #[test]
    fn world_readable_is_refused_with_modes() {
        let (_tmp, path) = key_file(0o644);
        let e = check_key_permissions("p", &path).unwrap_err();
        let (policy, setting, p, message) = parts(&e);
        assert_eq!((policy, setting), ("p", "private_key"));
        assert_eq!(p, Some(path.as_path()));
        assert!(message.contains("0644"), "{message}");
        assert!(message.contains("0600"), "{message}");
        assert!(message.contains("chmod 600"), "{message}");

        let (_tmp, path) = key_file(0o604);
        let e = check_key_permissions("p", &path).unwrap_err().to_string();
        assert!(e.contains("0604"), "{e}");
    }

    /// The policy, setting, path and message of an `Error::Policy`.
    fn parts(e: &Error) -> (&str, &'static str, Option<&std::path::Path>, &str) {
        match e {
            Error::Policy {
                policy,
                setting,
                path,
                message,
            } => (policy, setting, path.as_deref(), message),
            other => panic!("{other:?}"),
        }
    }

    fn dir(mode: u32) -> (tempfile::TempDir, std::path::PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("trusted");
        std::fs::create_dir(&path).unwrap();
        set_mode(&path, mode);
        (tmp, path)
    }

    #[test]
    fn directories_writable_by_others_are_refused() {
        for mode in [0o777, 0o1777, 0o702] {
            let (_tmp, path) = dir(mode);
            let e = check_directory_permissions("p", "trusted_dir", &path, &[]).unwrap_err();
            let (policy, setting, p, message) = parts(&e);
            assert_eq!((policy, setting), ("p", "trusted_dir"));
            assert_eq!(p, Some(path.as_path()));
            assert!(message.contains(&format!("{mode:04o}")), "{message}");
            assert!(message.contains("writable by others"), "{message}");
            assert!(message.contains("chmod o-w"), "{message}");
        }
        let (_tmp, path) = dir(0o777);
        let e = check_directory_permissions("p", "revoked_dir", &path, &[]).unwrap_err();
        assert!(e.to_string().contains("wanted 0755"), "{e}");
    }

    #[test]
    fn a_sticky_directory_may_hold_the_files_it_protects() {
        // A Kubernetes Secret mount: drwxrwxrwt, its entries owned by root (here: by us).
        let (tmp, path) = dir(0o1777);
        let key = path.join("private.key");
        std::fs::write(&key, b"k").unwrap();
        assert_eq!(
            check_directory_permissions("p", "base_directory", &path, &[&key]).unwrap(),
            None
        );
        // Not sticky, or an entry missing: refused.
        set_mode(&path, 0o777);
        assert!(check_directory_permissions("p", "base_directory", &path, &[&key]).is_err());
        set_mode(&path, 0o1777);
        let missing = path.join("public.crt");
        assert!(
            check_directory_permissions("p", "base_directory", &path, &[&key, &missing]).is_err()
        );
        // An entry owned by someone else could be theirs to replace: refused (needs root to set up).
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::lchown(&key, Some(65534), Some(65534)).unwrap();
            let e = check_directory_permissions("p", "base_directory", &path, &[&key]).unwrap_err();
            assert!(e.to_string().contains("1777"), "{e}");
        }
        drop(tmp);
    }

    #[test]
    fn directories_writable_by_the_group_warn_others_pass() {
        let (_tmp, path) = dir(0o775);
        let w = check_directory_permissions("p", "base_directory", &path, &[])
            .unwrap()
            .unwrap();
        assert!(w.contains("0775") && w.contains("base_directory"), "{w}");
        for mode in [0o755, 0o700, 0o555] {
            let (_tmp, path) = dir(mode);
            assert_eq!(
                check_directory_permissions("p", "base_directory", &path, &[]).unwrap(),
                None
            );
        }
    }

    #[test]
    fn group_readable_warns() {
        let (_tmp, path) = key_file(0o640);
        let w = check_key_permissions("p", &path).unwrap().unwrap();
        assert!(w.contains("0640"), "{w}");
        assert!(w.contains("policy 'p'") && w.contains("private_key"), "{w}");
        assert!(w.contains(&path.display().to_string()), "{w}");
    }
}
