//! Listing the files of a trusted or revoked directory: regular files, not hidden, sorted by name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::policy_error;
use crate::error::Result;

/// What one file of a directory held: certificates for `trusted_dir`, CRLs for `revoked_dir`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirFile<T> {
    /// The file.
    pub path: PathBuf,
    /// Its items, in file order (never empty).
    pub items: Vec<T>,
}

/// The files [`load_trusted_dir`](super::load_trusted_dir) and
/// [`load_revoked_dir`](super::load_revoked_dir) read from `dir`, sorted by name.
///
/// Symbolic links are followed (a dangling one is an error naming it). Names starting with `.`
/// are skipped, and so are subdirectories and special files (FIFOs, sockets). The directory
/// must exist, even when empty. Errors name `policy`, `setting` and the path at fault.
pub fn list_dir_files(policy: &str, setting: &'static str, dir: &Path) -> Result<Vec<PathBuf>> {
    let err = |path: &Path, message: String| policy_error(policy, setting, path, message);
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(err(dir, "is not a directory".into())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(err(
                dir,
                "directory does not exist (it is mandatory, even when empty)".into(),
            ))
        }
        Err(e) => return Err(err(dir, format!("cannot access directory: {e}"))),
    }
    let entries = fs::read_dir(dir).map_err(|e| err(dir, format!("cannot list directory: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| err(dir, format!("cannot list directory: {e}")))?;
        let path = entry.path();
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            tracing::debug!(policy, setting, path = %path.display(), "skipping hidden file");
            continue;
        }
        let meta = fs::metadata(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => err(&path, "dangling symbolic link".into()),
            _ => err(&path, format!("cannot access file: {e}")),
        })?;
        if meta.is_file() {
            files.push(path);
        } else {
            tracing::debug!(policy, setting, path = %path.display(), "skipping non-regular file");
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn lists_regular_files_sorted_skipping_hidden_and_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["b.pem", "a.der", ".hidden", "c"] {
            fs::write(tmp.path().join(name), b"x").unwrap();
        }
        fs::create_dir(tmp.path().join("sub")).unwrap();
        let files = list_dir_files("p", "trusted_dir", tmp.path()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.der", "b.pem", "c"]);
    }

    #[test]
    fn missing_dir_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nope");
        let e = list_dir_files("p", "revoked_dir", &dir).unwrap_err();
        let Error::Policy {
            setting,
            path,
            message,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*setting, "revoked_dir");
        assert_eq!(path.as_deref(), Some(dir.as_path()));
        assert!(message.contains("does not exist"), "{message}");
    }

    #[test]
    fn a_file_is_not_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        fs::write(&file, b"x").unwrap();
        let e = list_dir_files("p", "trusted_dir", &file).unwrap_err();
        assert!(e.to_string().contains("is not a directory"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn dangling_symlink_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let link = tmp.path().join("gone.pem");
        std::os::unix::fs::symlink(tmp.path().join("missing"), &link).unwrap();
        let e = list_dir_files("p", "trusted_dir", tmp.path()).unwrap_err();
        let Error::Policy { path, message, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(path.as_deref(), Some(link.as_path()));
        assert!(message.contains("dangling"), "{message}");
    }
}
