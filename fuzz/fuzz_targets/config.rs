//! The config loader: any text gives a plan or a list of problems, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let dir = std::env::temp_dir();
        let _ = payprobe::config::parse(std::path::Path::new("fuzz.toml"), src, &dir);
    }
});
