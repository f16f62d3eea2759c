#![no_main]
//! Fuzz target `http_streams`: see `cwmpscope_fuzz::http_streams` for what the input is.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmpscope_fuzz::http_streams(data);
});
