#![no_main]
//! See switchyard_core::fuzzing for the input layout and the invariants checked.

use libfuzzer_sys::fuzz_target;
use switchyard_core::fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = fuzzing::sse_parser(data) {
        panic!("invariant violated: {violation}");
    }
});
