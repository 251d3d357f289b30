//! Where a configured path really is: its absolute, symlink-free form, and every directory
//! holding a symlink met on the way there (where a `ln -sfn` or a Kubernetes `..data` swap
//! changes what the path means).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

/// More symlinks than this on one path is a loop (the kernel's own limit is 40).
const MAX_LINKS: usize = 40;

/// A path resolved the way the kernel resolves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The path with every symlink followed and every `.` and `..` applied; the part past the
    /// first missing component is kept as written.
    pub(crate) real: PathBuf,
    /// The (symlink-free) directories holding each symlink followed, in the order met.
    pub(crate) link_dirs: Vec<PathBuf>,
}

/// Resolves `path` (relative to the working directory when relative), following symlinks as
/// `realpath` does, and records the directory holding each link it follows. A path that does
/// not (fully) exist is resolved as far as it does; an unreadable link or a loop is an error.
pub(crate) fn resolve(path: &Path) -> io::Result<Resolved> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut pending: VecDeque<OsString> = VecDeque::new();
    push_front(&mut pending, &absolute);
    let mut real = PathBuf::from("/");
    let mut link_dirs = Vec::new();
    let mut links = 0;
    let mut missing = false;
    while let Some(part) = pending.pop_front() {
        match part.to_str() {
            Some("/") => real = PathBuf::from("/"),
            Some(".") => {}
            Some("..") => {
                if !missing {
                    real.pop();
                } else {
                    real.push("..");
                }
            }
            _ => {
                let candidate = real.join(&part);
                if missing {
                    real = candidate;
                    continue;
                }
                match std::fs::symlink_metadata(&candidate) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        links += 1;
                        if links > MAX_LINKS {
                            return Err(io::Error::other(format!(
                                "more than {MAX_LINKS} symbolic links (a loop?) resolving {}",
                                path.display()
                            )));
                        }
                        if !link_dirs.contains(&real) {
                            link_dirs.push(real.clone());
                        }
                        let target = std::fs::read_link(&candidate)?;
                        if target.is_absolute() {
                            real = PathBuf::from("/");
                        }
                        push_front(&mut pending, &target);
                    }
                    Ok(_) => real = candidate,
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {
                        missing = true;
                        real = candidate;
                    }
                    Err(error) => return Err(error),
                }
            }
        }
    }
    Ok(Resolved { real, link_dirs })
}

/// Puts `path`'s components in front of `pending`, in order.
fn push_front(pending: &mut VecDeque<OsString>, path: &Path) {
    for component in path.components().rev() {
        let part = match component {
            Component::RootDir | Component::Prefix(_) => OsString::from("/"),
            Component::CurDir => continue,
            Component::ParentDir => OsString::from(".."),
            Component::Normal(name) => name.to_os_string(),
        };
        pending.push_front(part);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_plain_directory_resolves_to_its_canonical_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        let resolved = resolve(&dir.path().join("a/./b/../b")).unwrap();
        assert_eq!(
            resolved.real,
            dir.path().canonicalize().unwrap().join("a/b")
        );
        let tmp_links = resolve(dir.path()).unwrap().link_dirs;
        // Only the links of the temporary directory's own path (none on most systems).
        assert_eq!(
            resolve(&dir.path().join("a/b")).unwrap().link_dirs,
            tmp_links
        );
    }

    #[test]
    fn links_are_followed_and_their_directories_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        // The Kubernetes layout: trusted -> ..data/trusted, ..data -> ..2026_v1.
        std::fs::create_dir_all(root.join("..2026_v1/trusted")).unwrap();
        symlink("..2026_v1", root.join("..data")).unwrap();
        symlink("..data/trusted", root.join("trusted")).unwrap();
        let resolved = resolve(&root.join("trusted")).unwrap();
        assert_eq!(resolved.real, root.join("..2026_v1/trusted"));
        assert_eq!(resolved.link_dirs, vec![root.clone()]);

        // An absolute link elsewhere, and `..` after a link applies to its target.
        std::fs::create_dir_all(root.join("store/v1/sub")).unwrap();
        std::fs::create_dir_all(root.join("conf")).unwrap();
        symlink(root.join("store/v1/sub"), root.join("conf/sub")).unwrap();
        let resolved = resolve(&root.join("conf/sub/../sub")).unwrap();
        assert_eq!(resolved.real, root.join("store/v1/sub"));
        assert_eq!(resolved.link_dirs, vec![root.join("conf")]);
    }

    #[test]
    fn a_missing_tail_is_kept_and_a_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let resolved = resolve(&root.join("nope/../x")).unwrap();
        assert_eq!(resolved.real, root.join("nope/../x"));
        symlink("b", root.join("a")).unwrap();
        symlink("a", root.join("b")).unwrap();
        let error = resolve(&root.join("a")).unwrap_err();
        assert!(error.to_string().contains("loop"), "{error}");
    }

    #[test]
    fn a_relative_path_resolves_against_the_working_directory() {
        let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
        assert_eq!(resolve(Path::new("src")).unwrap().real, cwd.join("src"));
    }
}
