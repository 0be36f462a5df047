//! Version strings (semver and bare number lists) and the date formatter.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = payprobe::verdict::api_version::coerce(&String::from_utf8_lossy(data));
    if let Ok(b) = <[u8; 8]>::try_from(data.get(..8).unwrap_or(&[])) {
        let _ = payprobe::timefmt::rfc3339_secs(i64::from_le_bytes(b));
    }
});
