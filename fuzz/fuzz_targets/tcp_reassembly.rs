#![no_main]
//! Fuzz target `tcp_reassembly`: see `cwmpscope_fuzz::tcp_reassembly` for what the input is.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmpscope_fuzz::tcp_reassembly(data);
});
