//! The watcher's self-check: a hidden probe file created and removed in a watched directory
//! (or, where the directory cannot be written, a read of it), whose event must come back
//! within [`SELF_CHECK_TIMEOUT`]. The probe's name starts with a `.`, so the loader, which
//! skips hidden files in `trusted_dir` and `revoked_dir`, never reads it as a certificate or a
//! CRL, and its events never cause a reload.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a probe's event may take to come back before the watch is called dead.
pub const SELF_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The start of every probe file's name (the process id follows).
const PROBE_PREFIX: &str = ".tls-policy-watch-probe-";

/// How a directory was probed: which event proves its watch works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The probe file was created and removed: its events must arrive.
    File,
    /// The directory cannot be written; it was read (listed): the open must arrive.
    Read,
}

/// This process's probe file in `dir`.
pub(crate) fn probe_path(dir: &Path) -> PathBuf {
    dir.join(format!("{PROBE_PREFIX}{}", std::process::id()))
}

/// Whether `path` is a probe file (this process's or another's): never a reason to reload.
pub(crate) fn is_probe(path: &Path) -> bool {
    path.file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|name| name.starts_with(PROBE_PREFIX))
}

/// Probes `dir`: creates and removes the probe file, or, when the directory cannot be written
/// (permissions, a read-only file system), lists it. An error says why neither was possible.
pub(crate) fn touch(dir: &Path) -> io::Result<Probe> {
    let path = probe_path(dir);
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .or_else(|error| {
            // A probe left by a process that had this id before (killed mid-probe).
            if error.kind() == io::ErrorKind::AlreadyExists {
                std::fs::remove_file(&path)?;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
            } else {
                Err(error)
            }
        });
    match created {
        Ok(file) => {
            drop(file);
            std::fs::remove_file(&path)?;
            Ok(Probe::File)
        }
        Err(error) if cannot_write(&error) => {
            std::fs::read_dir(dir)?.for_each(drop);
            Ok(Probe::Read)
        }
        Err(error) => Err(error),
    }
}

/// Whether `error` means the directory may not be written (rather than something broken).
fn cannot_write(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_writable_directory_gets_a_probe_file_that_is_gone_after() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(touch(dir.path()).unwrap(), Probe::File);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(is_probe(&probe_path(dir.path())));
        assert!(probe_path(dir.path())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with('.'));
        assert!(!is_probe(&dir.path().join("public.crt")));
    }

    #[test]
    fn a_read_only_directory_is_read_instead() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        // root writes anyway; the test then only sees the file probe.
        let probe = touch(dir.path()).unwrap();
        let root = std::fs::write(dir.path().join("x"), b"").is_ok();
        assert_eq!(probe, if root { Probe::File } else { Probe::Read });
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}
