//! Provider body parsers (Alipay, WeChat Pay, Stripe, JSON-RPC): any body, any status.
#![no_main]
use libfuzzer_sys::fuzz_target;
use payprobe::profile::{judge, Profile};

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => (200, data),
    };
    for p in Profile::ALL {
        let _ = judge(p, status, body, false, &[]);
        let _ = judge(p, status, body, true, &["10000".to_string()]);
    }
});
