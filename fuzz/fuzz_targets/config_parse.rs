//! Fuzzes `Settings::parse` on arbitrary UTF-8: it must return Ok or an error, never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tls_policy::config::Settings;

fuzz_target!(|text: &str| {
    let lines = text.lines().count().max(1);
    if let Err(error) = Settings::parse(text, Path::new("fuzz.conf"), Path::new("/home")) {
        // Every error points into the input: `fuzz.conf:<line>` with a line that exists.
        let message = error.to_string();
        if let Some(rest) = message.strip_prefix("fuzz.conf:") {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(line) = digits.parse::<usize>() {
                assert!(
                    (1..=lines + 1).contains(&line),
                    "error names line {line} of {lines}: {message}"
                );
            }
        }
    }
});
