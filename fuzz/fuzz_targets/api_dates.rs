//! Deprecation / Sunset / version headers and JSON bodies read by the api_version check.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (dep, sunset, body) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    payprobe::verdict::api_version::fuzz_evaluate(dep, sunset, body.as_bytes());
});
