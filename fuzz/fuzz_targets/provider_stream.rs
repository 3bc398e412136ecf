#![no_main]
//! Every provider kind's stream translator (the first byte picks the kind from the registry).
//! See switchyard_core::fuzzing for the input layout and the invariants checked.

use libfuzzer_sys::fuzz_target;
use switchyard_core::fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = fuzzing::stream_translator(data) {
        panic!("invariant violated: {violation}");
    }
});
