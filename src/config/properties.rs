//! The `key=value` line format of `neo4j.conf`: comments, blank lines, trimming, line numbers.

use std::path::Path;

use crate::error::{Error, Result, Source};

/// One `key=value` line of a properties file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The key, trimmed.
    pub(crate) key: String,
    /// The value, trimmed; may contain `=`.
    pub(crate) value: String,
    /// The line it was written on, counting from 1.
    pub(crate) line: usize,
}

/// Splits `text` into entries. `#` starts a comment line, blank lines are skipped, whitespace
/// around key and value is trimmed; a line without `=`, or with nothing before it, is an error
/// naming `origin` and the line.
pub(crate) fn parse(text: &str, origin: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim().trim_start_matches('\u{feff}').trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let error = |message: &str| Error::Config {
            source_location: Source::File {
                path: origin.to_path_buf(),
                line,
            },
            key: shorten(trimmed),
            message: message.to_owned(),
        };
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(error(
                "not a setting: expected `key=value` (or a `#` comment)",
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(error("no key before `=`: expected `key=value`"));
        }
        entries.push(Entry {
            key: key.to_owned(),
            value: value.trim().to_owned(),
            line,
        });
    }
    Ok(entries)
}

/// A line cut to a readable length for an error message.
fn shorten(line: &str) -> String {
    const MAX: usize = 60;
    if line.chars().count() <= MAX {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: &str, line: usize) -> Entry {
        Entry {
            key: key.into(),
            value: value.into(),
            line,
        }
    }

    #[test]
    fn comments_blank_lines_and_trimming() {
        let text = "# a comment\n\n   \n  key.one = value one  \n\t# indented comment\nkey.two=a=b\r\nkey.three=\n";
        let entries = parse(text, Path::new("neo4j.conf")).unwrap();
        assert_eq!(
            entries,
            vec![
                entry("key.one", "value one", 4),
                entry("key.two", "a=b", 6),
                entry("key.three", "", 7),
            ]
        );
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let entries = parse("\u{feff}a=b\n", Path::new("x")).unwrap();
        assert_eq!(entries, vec![entry("a", "b", 1)]);
    }

    #[test]
    fn line_without_equals_is_an_error_with_file_and_line() {
        let err = parse("a=b\n\njust some words\n", Path::new("/etc/neo4j.conf")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("/etc/neo4j.conf:3: just some words: not a setting"),
            "{text}"
        );
    }

    #[test]
    fn empty_key_is_an_error() {
        let err = parse("=value\n", Path::new("c.conf")).unwrap_err();
        assert!(
            err.to_string().starts_with("c.conf:1: =value: no key"),
            "{err}"
        );
    }

    #[test]
    fn long_lines_are_shortened_in_messages() {
        let line = "x".repeat(200);
        let err = parse(&line, Path::new("c.conf")).unwrap_err();
        assert!(err.to_string().len() < 150, "{err}");
    }
}
