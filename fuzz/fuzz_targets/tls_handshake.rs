#![no_main]
//! Fuzz target `tls_handshake`: see `cwmpscope_fuzz::tls_handshake` for what the input is.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmpscope_fuzz::tls_handshake(data);
});
