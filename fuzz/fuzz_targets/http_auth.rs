#![no_main]
//! Fuzz target `http_auth`: see `cwmpscope_fuzz::http_auth` for what the input is.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmpscope_fuzz::http_auth(data);
});
