#![no_main]
//! Fuzz target `cwmp_xml`: see `cwmpscope_fuzz::cwmp_xml` for what the input is.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmpscope_fuzz::cwmp_xml(data);
});
