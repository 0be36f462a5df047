//! What a server presents as its certificate: any DER bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let der = rustls_pki_types::CertificateDer::from(data.to_vec());
    let _ = payprobe::probe::cert::CertSummary::from_chain(&[der]);
});
