#![no_main]
//! Fuzz target `tls_keylog`: see `cwmpscope_fuzz::tls_keylog` for what the input is.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmpscope_fuzz::tls_keylog(data);
});
