#![no_main]
//! Fuzz target `tls_streams`: see `cwmpscope_fuzz::tls_streams` for what the input is.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmpscope_fuzz::tls_streams(data);
});
