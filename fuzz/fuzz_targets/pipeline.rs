#![no_main]
//! Fuzz target `pipeline`: see `cwmpscope_fuzz::pipeline` for what the input is.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmpscope_fuzz::pipeline(data);
});
