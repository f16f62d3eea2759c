#![no_main]
//! Fuzz target `capture_reader`: see `cwmpscope_fuzz::capture_reader` for what the input is.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmpscope_fuzz::capture_reader(data);
});
