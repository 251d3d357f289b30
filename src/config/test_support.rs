//! What the config modules' unit tests share: parsing a text as `/etc/neo4j.conf` with home
//! `/var/lib/neo4j`, and the error it must give.

use std::path::Path;

use super::Settings;

/// `text` parsed as `/etc/neo4j.conf`, home `/var/lib/neo4j`.
pub(crate) fn parse(text: &str) -> crate::Result<Settings> {
    Settings::parse(
        text,
        Path::new("/etc/neo4j.conf"),
        Path::new("/var/lib/neo4j"),
    )
}

/// The error `text` must give, as text; panics if it parses.
pub(crate) fn error(text: &str) -> String {
    match parse(text) {
        Ok(settings) => panic!("expected an error, got {settings:?}"),
        Err(err) => err.to_string(),
    }
}
