//! `tls-policy ticket-keys`: creates and rotates `session_ticket_keys` files (80-byte keys, raw or base64).
//!
//! `new FILE` writes one fresh key from the OS random number generator, mode 0600 from its
//! creation, and never replaces an existing file without `--force`. `rotate FILE [--keep N]`
//! puts a fresh key first (it seals new tickets), keeps the newest `N` keys in all (default 3),
//! and writes the file in the form it was in. Both write a temporary file (mode 0600) in the
//! same directory, fsync it and rename (or, without `--force`, hard-link) it into place, so a
//! server reloading the file never reads half of it. Only key names are printed, never secrets.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::TypedValueParser as _;
use clap::Subcommand;
use tls_policy_backend::{TicketKey, TICKET_KEY_LEN};

use super::CliResult;
use tls_policy::load::ticket_keys::TicketKeyFormat;
use tls_policy::load::ticket_keys::{encode_ticket_keys, parse_ticket_keys, read_key_file};

/// The number of keys `rotate` keeps when not told (the new one and the two before it).
pub const DEFAULT_KEEP: usize = 3;

/// Arguments of `tls-policy ticket-keys`.
#[derive(Debug, clap::Args)]
pub struct TicketKeysArgs {
    /// What to do with the key file.
    #[command(subcommand)]
    pub command: TicketKeysCommand,
}

/// The `ticket-keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum TicketKeysCommand {
    /// Create a key file holding one fresh 80-byte key (mode 0600).
    New(NewArgs),
    /// Put a fresh key first and drop the oldest beyond --keep, keeping the file's form.
    Rotate(RotateArgs),
}

/// Arguments of `tls-policy ticket-keys new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The key file to create.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace an existing file (its keys stop opening tickets once servers reload).
    #[arg(long)]
    pub force: bool,
    /// Write the key as one base64 line instead of 80 raw bytes.
    #[arg(long)]
    pub base64: bool,
}

/// Arguments of `tls-policy ticket-keys rotate`.
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// The key file to rotate.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// How many keys to keep in all, the new one included (1 to 100).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_KEEP,
          value_parser = clap::value_parser!(u8).range(1..=100).map(usize::from))]
    pub keep: usize,
}

/// Runs `tls-policy ticket-keys`.
pub async fn run(args: TicketKeysArgs) -> CliResult {
    let message = match args.command {
        TicketKeysCommand::New(args) => new(&args)?,
        TicketKeysCommand::Rotate(args) => rotate(&args)?,
    };
    println!("{message}");
    Ok(ExitCode::SUCCESS)
}

/// `new`: one fresh key, written atomically; the message to print.
pub fn new(args: &NewArgs) -> Result<String, String> {
    let file = &args.file;
    if !args.force && fs::symlink_metadata(file).is_ok() {
        return Err(format!(
            "{} exists; refusing to replace it (servers may be using its keys): rotate it with \
             `tls-policy ticket-keys rotate {}`, or replace it with --force",
            file.display(),
            file.display()
        ));
    }
    let key = fresh_key(&[])?;
    let format = if args.base64 {
        TicketKeyFormat::Base64
    } else {
        TicketKeyFormat::Raw
    };
    let bytes = encode_ticket_keys(std::slice::from_ref(&key), format);
    write_atomically(file, &bytes, 0o600, !args.force)?;
    Ok(format!(
        "created {} ({}, mode 0600): 1 key, {} (seals new tickets)",
        file.display(),
        format.as_str(),
        key.name_hex()
    ))
}

/// `rotate`: a fresh key first, the oldest beyond `keep` dropped, the form kept; the message.
pub fn rotate(args: &RotateArgs) -> Result<String, String> {
    let file = &args.file;
    let bytes = read_key_file(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let parsed = parse_ticket_keys(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let old = parsed.keys.keys();
    let key = fresh_key(old)?;
    let kept = args.keep.max(1) - 1;
    let mut keys = vec![key.clone()];
    keys.extend(old.iter().take(kept).cloned());
    let dropped: Vec<String> = old.iter().skip(kept).map(TicketKey::name_hex).collect();
    let mode = rotated_mode(file);
    write_atomically(file, &encode_ticket_keys(&keys, parsed.format), mode, false)?;
    let mut message = format!(
        "rotated {} ({}, mode {mode:04o}): new key {} seals new tickets; {} older key{} still \
         open tickets",
        file.display(),
        parsed.format.as_str(),
        key.name_hex(),
        keys.len() - 1,
        if keys.len() == 2 { "" } else { "s" },
    );
    if !dropped.is_empty() {
        message.push_str(&format!("; dropped {}", dropped.join(", ")));
    }
    Ok(message)
}

/// A fresh key from the OS RNG whose name is none of `taken`'s.
fn fresh_key(taken: &[TicketKey]) -> Result<TicketKey, String> {
    for _ in 0..8 {
        let mut bytes = [0u8; TICKET_KEY_LEN];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| format!("the OS random number generator failed: {e}"))?;
        let key = TicketKey::from_bytes(&bytes);
        bytes.fill(0);
        if !taken.iter().any(|old| old.name() == key.name()) {
            return Ok(key);
        }
    }
    Err("the OS random number generator keeps repeating key names".to_owned())
}

/// The mode a rotated file keeps: its owner and group read/write bits, never others' (a file
/// readable by others is refused by the loader), and at least owner-readable.
fn rotated_mode(file: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(file)
            .map(|meta| (meta.permissions().mode() & 0o660) | 0o400)
            .unwrap_or(0o600)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        0o600
    }
}

/// Writes `bytes` to `file` by way of a temporary file in the same directory, created with mode
/// 0600, fsynced, set to `mode`, then renamed over `file` (or hard-linked to it when
/// `no_clobber`, which fails if `file` appeared meanwhile); the directory is fsynced after.
fn write_atomically(file: &Path, bytes: &[u8], mode: u32, no_clobber: bool) -> Result<(), String> {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = file
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", file.display()))?;
    let temp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = write_temp(&temp, bytes, mode).and_then(|()| {
        if no_clobber {
            fs::hard_link(&temp, file).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    format!("{} exists; refusing to replace it", file.display())
                }
                _ => format!("cannot create {}: {e}", file.display()),
            })
        } else {
            fs::rename(&temp, file).map_err(|e| format!("cannot replace {}: {e}", file.display()))
        }
    });
    let _ = fs::remove_file(&temp);
    result?;
    if let Ok(dir) = fs::File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn write_temp(temp: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let err = |e: std::io::Error| format!("cannot write {}: {e}", temp.display());
    let mut out = options.open(temp).map_err(err)?;
    let written = out
        .write_all(bytes)
        .and_then(|()| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                out.set_permissions(fs::Permissions::from_mode(mode))?;
            }
            #[cfg(not(unix))]
            let _ = mode;
            out.sync_all()
        })
        .map_err(err);
    if written.is_err() {
        let _ = fs::remove_file(temp);
    }
    written
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn names(path: &Path) -> Vec<String> {
        parse_ticket_keys(&fs::read(path).unwrap())
            .unwrap()
            .keys
            .keys()
            .iter()
            .map(TicketKey::name_hex)
            .collect()
    }

    #[test]
    fn new_makes_one_private_key_and_refuses_to_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("ticket.keys");
        let args = NewArgs {
            file: file.clone(),
            force: false,
            base64: false,
        };
        let message = new(&args).unwrap();
        assert_eq!(fs::read(&file).unwrap().len(), 80);
        assert_eq!(mode(&file), 0o600);
        assert!(message.contains(&names(&file)[0]), "{message}");

        let before = fs::read(&file).unwrap();
        let e = new(&args).unwrap_err();
        assert!(e.contains("exists") && e.contains("--force"), "{e}");
        assert_eq!(fs::read(&file).unwrap(), before);

        new(&NewArgs {
            force: true,
            ..args
        })
        .unwrap();
        assert_ne!(fs::read(&file).unwrap(), before);
        assert_eq!(mode(&file), 0o600);
        // No temporary file left behind.
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn rotate_puts_a_new_key_first_and_keeps_n() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("ticket.keys");
        new(&NewArgs {
            file: file.clone(),
            force: false,
            base64: true,
        })
        .unwrap();
        let first = names(&file);
        let rotate_args = RotateArgs {
            file: file.clone(),
            keep: 3,
        };
        rotate(&rotate_args).unwrap();
        let second = names(&file);
        assert_eq!(second.len(), 2);
        assert_eq!(second[1], first[0]);
        rotate(&rotate_args).unwrap();
        rotate(&rotate_args).unwrap();
        let fourth = names(&file);
        assert_eq!(fourth.len(), 3);
        // Two rotations later, the second file's newest key is the oldest kept.
        assert_eq!(fourth[2], second[0]);
        // The form is kept: base64, one key a line.
        let text = fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert_eq!(mode(&file), 0o600);

        let message = rotate(&RotateArgs {
            file: file.clone(),
            keep: 1,
        })
        .unwrap();
        assert_eq!(names(&file).len(), 1);
        assert!(message.contains("dropped"), "{message}");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn rotate_keeps_raw_and_group_bits_and_refuses_a_broken_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("ticket.keys");
        let two: Vec<u8> = (0..160u32).map(|i| (i * 7 % 251) as u8 | 0x80).collect();
        fs::write(&file, two).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        rotate(&RotateArgs {
            file: file.clone(),
            keep: 3,
        })
        .unwrap();
        assert_eq!(fs::read(&file).unwrap().len(), 240);
        assert_eq!(mode(&file), 0o640);

        fs::write(&file, [0x90u8; 81]).unwrap();
        let e = rotate(&RotateArgs {
            file: file.clone(),
            keep: 3,
        })
        .unwrap_err();
        assert!(e.contains("ticket.keys") && e.contains("81 bytes"), "{e}");
        assert_eq!(fs::read(&file).unwrap().len(), 81);
    }
}
