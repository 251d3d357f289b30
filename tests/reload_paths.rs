//! The file watcher for every form of path a config may give, on every compiled-in backend: a
//! config named relative to the working directory (the README's `Settings::from_file("neo4j.conf",
//! None)`), one with `..` in it, and a policy directory that is a symlink swapped for another
//! (`ln -sfn`), each reloading a chain renamed into place; and the watcher's start-up self-check
//! saying each directory was seen to deliver events.
//!
//! The tests run concurrently in one process, so none changes the process-wide working
//! directory: each home lives under `CARGO_TARGET_TMPDIR` and is named by a path relative to
//! the directory the test runs in. (`tls-policy serve` run from inside its home is in the
//! command's tests, `cli/tests/reload_relative.rs`.)
#![cfg(unix)]

use support::for_each_backend;
use tls_policy_test_support as support;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::reload::{handshake, install, new_server_cert, wait_for_leaf};
use support::server::Server;
use support::{pki, Home, STEP};
use tls_policy::config::Settings;
use tls_policy::{TlsChannels, WatchHealth};

/// `path` named relative to the working directory (with `..` where it lies outside it).
fn relative_to_cwd(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir()
        .expect("working directory")
        .canonicalize()
        .expect("canonical working directory");
    let path = path.canonicalize().expect("canonical path");
    let common = cwd
        .components()
        .zip(path.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut relative = PathBuf::new();
    for _ in cwd.components().skip(common) {
        relative.push("..");
    }
    for component in path.components().skip(common) {
        relative.push(component);
    }
    assert!(relative.is_relative(), "{}", relative.display());
    relative
}

/// A home under `CARGO_TARGET_TMPDIR`, reachable by a relative path.
fn home(backend: tls_policy::Backend) -> Home {
    Home::new_in(
        backend,
        &["client_auth=NONE"],
        Path::new(env!("CARGO_TARGET_TMPDIR")),
    )
}

/// Loads `config`, serves channel `bolt`, watches; asserts the self-check saw every directory.
async fn serve_and_watch(
    config: &Path,
    backend: tls_policy::Backend,
) -> (Server, tls_policy::Watcher) {
    let settings = Settings::from_file(config, None).expect("config parses");
    let channels = TlsChannels::load(&settings, Some(backend)).expect("loads");
    let server = Server::start(channels.channel("bolt").expect("bolt").acceptor.clone()).await;
    let watch = channels.clone();
    let watcher = tokio::task::spawn_blocking(move || watch.watch_with(Duration::from_millis(200)))
        .await
        .expect("watch task")
        .expect("watch");
    for dir in watcher.health() {
        assert_eq!(
            dir.health,
            WatchHealth::Verified,
            "{}: the self-check did not see its probe",
            dir.directory.display()
        );
    }
    assert!(!watcher.health().is_empty());
    (server, watcher)
}

for_each_backend! {
    async fn a_config_named_relative_to_the_working_directory_reloads(backend: Backend) {
        let home = home(backend);
        let config = relative_to_cwd(&home.config);
        let (server, _watcher) = serve_and_watch(&config, backend).await;
        assert_eq!(handshake(server.addr, None).await.expect("serving"), pki().server.cert_der);

        let new = new_server_cert("relative");
        install(&home.base(), &new);
        assert!(
            wait_for_leaf(server.addr, &new.cert_der, STEP).await,
            "a chain renamed into place under a relative config path was not reloaded"
        );
    }

    async fn a_config_path_through_dot_dot_reloads(backend: Backend) {
        let home = home(backend);
        let config = relative_to_cwd(home.path())
            .join("certificates")
            .join("..")
            .join("neo4j.conf");
        let (server, _watcher) = serve_and_watch(&config, backend).await;

        let new = new_server_cert("dot-dot");
        install(&home.base(), &new);
        assert!(
            wait_for_leaf(server.addr, &new.cert_der, STEP).await,
            "a chain renamed into place under a config path with '..' was not reloaded"
        );
    }

    async fn a_symlinked_policy_directory_is_followed_across_a_swap(backend: Backend) {
        let home = home(backend);
        // certificates/test -> ../store/v1 (relative link), as a deploy tool lays it out.
        let store = home.path().join("store");
        std::fs::create_dir_all(&store).expect("store");
        std::fs::rename(home.base(), store.join("v1")).expect("move the policy directory");
        symlink("../store/v1", home.base()).expect("symlink the policy directory");
        let (server, watcher) = serve_and_watch(&relative_to_cwd(&home.config), backend).await;

        // A chain renamed into the directory the link points at.
        let second = new_server_cert("symlinked-v1");
        install(&store.join("v1"), &second);
        assert!(
            wait_for_leaf(server.addr, &second.cert_der, STEP).await,
            "a chain renamed into the symlinked directory was not reloaded"
        );

        // `ln -sfn ../store/v2 certificates/test`: a new link renamed over the old one, then
        // the old directory removed.
        copy_dir(&store.join("v1"), &store.join("v2"));
        let third = new_server_cert("symlinked-v2");
        install(&store.join("v2"), &third);
        let tmp = home.path().join("certificates/.test.new");
        symlink("../store/v2", &tmp).expect("new link");
        std::fs::rename(&tmp, home.base()).expect("swap the link");
        std::fs::remove_dir_all(store.join("v1")).expect("remove the old version");
        assert!(
            wait_for_leaf(server.addr, &third.cert_der, STEP).await,
            "the symlink swap was not picked up"
        );

        // The watch followed the link: a change in the new directory reloads too.
        let fourth = new_server_cert("symlinked-v2-rotated");
        install(&store.join("v2"), &fourth);
        assert!(
            wait_for_leaf(server.addr, &fourth.cert_der, STEP).await,
            "after the swap, a chain renamed into the new directory was not reloaded: {:?}",
            watcher.health()
        );
        let v2 = store.join("v2").canonicalize().expect("v2");
        assert!(
            watcher.health().iter().any(|dir| dir.directory == v2),
            "the new directory is not watched: {:?}",
            watcher.health()
        );
    }
}

/// Copies the regular files of `from` (one level of subdirectories) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}
