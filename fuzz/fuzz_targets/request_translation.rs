#![no_main]
//! Request translation for every provider kind, with the translated-size bound. See
//! switchyard_core::fuzzing for the input layout and the invariants checked.

use libfuzzer_sys::fuzz_target;
use switchyard_core::fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = fuzzing::request_translation(data) {
        panic!("invariant violated: {violation}");
    }
});
