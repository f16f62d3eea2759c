#![no_main]
//! Fuzz target `frame_decode`: see `cwmpscope_fuzz::frame_decode` for what the input is.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmpscope_fuzz::frame_decode(data);
});
