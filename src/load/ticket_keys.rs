//! Reading a `session_ticket_keys` file: 80-byte keys (nginx/Envoy layout), raw or base64.
//!
//! Two forms are accepted, told apart by the content:
//!
//! - **raw**: the keys concatenated, 80 bytes each (what `openssl rand 80 > file` makes, and
//!   what nginx's `ssl_session_ticket_key` and Envoy's `session_ticket_keys` read);
//! - **base64**: one key per line, standard alphabet with padding (`openssl rand 80 | base64
//!   -w0`); blank lines and lines starting with `#` are skipped.
//!
//! A file made only of printable ASCII and whitespace is the base64 form (80 random bytes are
//! all printable with a probability below 10^-34); anything else is raw. The first key seals new
//! tickets, every key opens tickets carrying its name.
//!
//! Public so that `tls-policy ticket-keys` (the `tls-policy-cli` crate) writes and rotates
//! exactly the form this loader reads.

use std::fs;
use std::io::Read;
use std::path::Path;

use base64::Engine;
use tls_policy_backend::{TicketKey, TicketKeys, TICKET_KEY_LEN};

use super::{permissions, policy_error};
use crate::error::Result;

/// The setting these files are named by.
const SETTING: &str = "session_ticket_keys";

/// The largest key file read (about 800 keys); a bigger one is refused, not read.
pub(crate) const MAX_TICKET_KEY_FILE: u64 = 64 * 1024;

/// How a key file is written: both forms hold the same 80-byte keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketKeyFormat {
    /// The keys concatenated, 80 bytes each.
    Raw,
    /// One key a line, base64 (standard alphabet, padded).
    Base64,
}

impl TicketKeyFormat {
    /// `raw` or `base64`, for messages (of the `tls-policy` command).
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKeyFormat::Raw => "raw",
            TicketKeyFormat::Base64 => "base64",
        }
    }
}

/// A parsed key file: its keys (file order) and the form they were written in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketKeyFile {
    /// The keys, the one that seals new tickets first.
    pub keys: TicketKeys,
    /// The form the file was written in (a rotation keeps it).
    pub format: TicketKeyFormat,
}

/// A key file loaded for a policy, with the warning its permissions raised.
#[derive(Clone, Debug)]
pub(crate) struct LoadedTicketKeys {
    /// The parsed file.
    pub file: TicketKeyFile,
    /// Set when the file is readable by its group.
    pub warning: Option<String>,
}

/// Reads `path` as the `session_ticket_keys` file of `policy`: it must exist, not be readable by
/// others (the private key's rule; group-readable is returned as a warning) and parse
/// ([`parse_ticket_keys`]). Errors name the policy, the setting, the file and what is wrong.
pub(crate) fn load_ticket_keys(policy: &str, path: &Path) -> Result<LoadedTicketKeys> {
    let bytes =
        read_key_file(path).map_err(|message| policy_error(policy, SETTING, path, message))?;
    let warning = permissions::check_secret_file_permissions(
        policy,
        SETTING,
        "session-ticket key file",
        path,
    )?;
    let file = parse_ticket_keys(&bytes)
        .map_err(|message| policy_error(policy, SETTING, path, message))?;
    Ok(LoadedTicketKeys { file, warning })
}

/// Reads at most 64 KiB of `path` (a bigger file is refused, not read); the error says what went wrong.
pub fn read_key_file(path: &Path) -> std::result::Result<Vec<u8>, String> {
    let file = fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "file does not exist; make one with \
                                         `tls-policy ticket-keys new FILE`"
            .to_owned(),
        _ => format!("cannot read the session-ticket key file: {e}"),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_TICKET_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the session-ticket key file: {e}"))?;
    if bytes.len() as u64 > MAX_TICKET_KEY_FILE {
        return Err(format!(
            "file is larger than {MAX_TICKET_KEY_FILE} bytes; a key file holds a few 80-byte keys"
        ));
    }
    Ok(bytes)
}

/// Parses a key file's content in either form; the error says what is wrong (and, in the base64
/// form, on which line).
pub fn parse_ticket_keys(bytes: &[u8]) -> std::result::Result<TicketKeyFile, String> {
    let (keys, format) = if is_text(bytes) {
        (parse_base64(bytes)?, TicketKeyFormat::Base64)
    } else {
        (parse_raw(bytes)?, TicketKeyFormat::Raw)
    };
    check_distinct_names(&keys)?;
    let keys = TicketKeys::new(keys).ok_or_else(|| {
        "the file holds no key; make one with `tls-policy ticket-keys new FILE` or \
         `openssl rand 80 > FILE`"
            .to_owned()
    })?;
    Ok(TicketKeyFile { keys, format })
}

/// Writes `keys` in `format`: raw concatenation, or one base64 key a line (for
/// `tls-policy ticket-keys`).
pub fn encode_ticket_keys(keys: &[TicketKey], format: TicketKeyFormat) -> Vec<u8> {
    match format {
        TicketKeyFormat::Raw => keys.iter().flat_map(|key| key.to_bytes()).collect(),
        TicketKeyFormat::Base64 => {
            let mut out = Vec::with_capacity(keys.len() * 109);
            for key in keys {
                out.extend_from_slice(
                    base64::engine::general_purpose::STANDARD
                        .encode(key.to_bytes())
                        .as_bytes(),
                );
                out.push(b'\n');
            }
            out
        }
    }
}

/// Printable ASCII and whitespace only (an empty file counts as text: it holds no key).
fn is_text(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
}

fn parse_raw(bytes: &[u8]) -> std::result::Result<Vec<TicketKey>, String> {
    if bytes.len() % TICKET_KEY_LEN != 0 {
        let mut message = format!(
            "the file holds {} bytes, not a whole number of {TICKET_KEY_LEN}-byte keys \
             (16-byte name, 32-byte HMAC secret, 32-byte AES secret, as nginx and Envoy use)",
            bytes.len()
        );
        if bytes.len() == 48 {
            message.push_str(
                "; 48-byte keys (nginx's AES-128 form) are not accepted: make an 80-byte key \
                 with `openssl rand 80`",
            );
        }
        return Err(message);
    }
    Ok(bytes
        .chunks_exact(TICKET_KEY_LEN)
        .map(|chunk| {
            let mut key = [0; TICKET_KEY_LEN];
            key.copy_from_slice(chunk);
            TicketKey::from_bytes(&key)
        })
        .collect())
}

fn parse_base64(bytes: &[u8]) -> std::result::Result<Vec<TicketKey>, String> {
    // `is_text` checked that every byte is ASCII, so this is valid UTF-8.
    let text = String::from_utf8_lossy(bytes);
    let mut keys = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(line)
            .map_err(|e| {
                format!("line {line_no}: not valid base64 ({e}); each line holds one key, base64")
            })?;
        let key: &[u8; TICKET_KEY_LEN] = decoded.as_slice().try_into().map_err(|_| {
            format!(
                "line {line_no}: decodes to {} bytes, not one {TICKET_KEY_LEN}-byte key; write \
                 one key a line (`openssl rand 80 | base64 -w0`; `openssl rand -base64 80` wraps \
                 a key over two lines)",
                decoded.len()
            )
        })?;
        keys.push(TicketKey::from_bytes(key));
    }
    Ok(keys)
}

/// Two keys with one name would make the name ambiguous: refused.
fn check_distinct_names(keys: &[TicketKey]) -> std::result::Result<(), String> {
    for (i, key) in keys.iter().enumerate() {
        if let Some(j) = keys[..i]
            .iter()
            .position(|other| other.name() == key.name())
        {
            return Err(format!(
                "keys {} and {} have the same name ({}); every key needs its own name (its \
                 first 16 bytes)",
                j + 1,
                i + 1,
                key.name_hex()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> [u8; TICKET_KEY_LEN] {
        let mut out = [0; TICKET_KEY_LEN];
        for (i, b) in out.iter_mut().enumerate() {
            // Non-ASCII bytes, as random keys have.
            *b = seed.wrapping_mul(31).wrapping_add(i as u8) | 0x80;
        }
        out
    }

    #[test]
    fn raw_concatenation_in_file_order() {
        let mut bytes = key(1).to_vec();
        bytes.extend_from_slice(&key(2));
        let file = parse_ticket_keys(&bytes).unwrap();
        assert_eq!(file.format, TicketKeyFormat::Raw);
        assert_eq!(file.keys.len(), 2);
        assert_eq!(file.keys.current().to_bytes(), key(1));
        assert_eq!(file.keys.keys()[1].to_bytes(), key(2));
        assert_eq!(
            encode_ticket_keys(file.keys.keys(), TicketKeyFormat::Raw),
            bytes
        );
    }

    #[test]
    fn base64_lines_with_comments_and_blanks() {
        let b64 = |k: [u8; 80]| base64::engine::general_purpose::STANDARD.encode(k);
        let text = format!("# fleet keys\n{}\n\n  {}  \n", b64(key(3)), b64(key(4)));
        let file = parse_ticket_keys(text.as_bytes()).unwrap();
        assert_eq!(file.format, TicketKeyFormat::Base64);
        assert_eq!(file.keys.current().to_bytes(), key(3));
        assert_eq!(file.keys.keys()[1].to_bytes(), key(4));
        let again = encode_ticket_keys(file.keys.keys(), TicketKeyFormat::Base64);
        assert_eq!(parse_ticket_keys(&again).unwrap(), file);
        assert_eq!(again.iter().filter(|b| **b == b'\n').count(), 2);
    }

    #[test]
    fn bad_raw_lengths_are_named() {
        for len in [1, 79, 81, 159] {
            let bytes = vec![0x90; len];
            let e = parse_ticket_keys(&bytes).unwrap_err();
            assert!(
                e.contains(&format!("{len} bytes")) && e.contains("80-byte"),
                "{e}"
            );
        }
        let e = parse_ticket_keys(&[0x90; 48]).unwrap_err();
        assert!(e.contains("48-byte keys"), "{e}");
    }

    #[test]
    fn bad_base64_lines_are_named() {
        let good = base64::engine::general_purpose::STANDARD.encode(key(5));
        let e = parse_ticket_keys(format!("{good}\nnot*base64!\n").as_bytes()).unwrap_err();
        assert!(e.starts_with("line 2: not valid base64"), "{e}");

        let short = base64::engine::general_purpose::STANDARD.encode([0x90; 48]);
        let e = parse_ticket_keys(format!("{good}\n\n{short}\n").as_bytes()).unwrap_err();
        assert!(e.starts_with("line 3: decodes to 48 bytes"), "{e}");

        // `openssl rand -base64 80` output: one key wrapped over two lines.
        let wrapped = format!("{}\n{}\n", &good[..64], &good[64..]);
        let e = parse_ticket_keys(wrapped.as_bytes()).unwrap_err();
        assert!(e.starts_with("line 1: ") && e.contains("wraps"), "{e}");
    }

    #[test]
    fn empty_files_and_duplicate_names_are_refused() {
        for empty in [&b""[..], b"\n\n", b"# nothing yet\n"] {
            let e = parse_ticket_keys(empty).unwrap_err();
            assert!(e.contains("holds no key"), "{e}");
        }
        let mut bytes = key(6).to_vec();
        let mut same_name = key(7);
        same_name[..16].copy_from_slice(&key(6)[..16]);
        bytes.extend_from_slice(&same_name);
        let e = parse_ticket_keys(&bytes).unwrap_err();
        assert!(e.contains("keys 1 and 2 have the same name"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any bytes: a parse or an error, never a panic; a parse re-encodes to the same keys.
        #[test]
        fn never_panics_and_round_trips(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            if let Ok(file) = parse_ticket_keys(&bytes) {
                let again = encode_ticket_keys(file.keys.keys(), file.format);
                proptest::prop_assert_eq!(parse_ticket_keys(&again).unwrap(), file);
            }
        }

        /// Any whole number of keys with distinct names, raw or base64, parses back to them.
        #[test]
        fn keys_written_parse_back(seeds in proptest::collection::btree_set(0u8..=255, 1..6), base64 in proptest::bool::ANY) {
            let keys: Vec<TicketKey> = seeds.iter().map(|seed| {
                let mut raw = [0x90u8; TICKET_KEY_LEN];
                raw[..16].fill(*seed);
                TicketKey::from_bytes(&raw)
            }).collect();
            let format = if base64 { TicketKeyFormat::Base64 } else { TicketKeyFormat::Raw };
            let file = parse_ticket_keys(&encode_ticket_keys(&keys, format)).unwrap();
            proptest::prop_assert_eq!(file.format, format);
            proptest::prop_assert_eq!(file.keys.keys(), &keys[..]);
        }
    }

    #[cfg(unix)]
    #[test]
    fn load_checks_permissions_and_names_the_file() {
        use crate::load::test_support::set_mode;
        use crate::Error;

        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ticket.keys");
        fs::write(&path, key(8)).unwrap();
        set_mode(&path, 0o600);
        let loaded = load_ticket_keys("p", &path).unwrap();
        assert!(loaded.warning.is_none());
        assert_eq!(loaded.file.keys.current().to_bytes(), key(8));

        set_mode(&path, 0o640);
        let warning = load_ticket_keys("p", &path).unwrap().warning.unwrap();
        assert!(
            warning.contains("session_ticket_keys") && warning.contains("0640"),
            "{warning}"
        );

        set_mode(&path, 0o644);
        let e = load_ticket_keys("p", &path).unwrap_err();
        let Error::Policy {
            setting,
            path: p,
            message,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*setting, "session_ticket_keys");
        assert_eq!(p.as_deref(), Some(path.as_path()));
        assert!(
            message.contains("readable by others") && message.contains("0644"),
            "{message}"
        );

        set_mode(&path, 0o600);
        fs::write(&path, [0x90; 81]).unwrap();
        let e = load_ticket_keys("p", &path).unwrap_err().to_string();
        assert!(
            e.contains("policy 'p'") && e.contains("ticket.keys") && e.contains("81 bytes"),
            "{e}"
        );

        let e = load_ticket_keys("p", &tmp.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }
}
