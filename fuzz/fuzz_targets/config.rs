//! The config file of `tenet serve`: any text is read into option defaults or refused
//! with a message naming the file; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(message) = tenet::fuzzing::config(text) {
        assert!(message.starts_with("fuzz.toml: "), "a refusal that does not name the file: {message}");
    }
});
