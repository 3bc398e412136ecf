#![no_main]
//! The OpenAI Responses dialect: the request parser and the answer stream translator (the first
//! byte picks). See switchyard_core::fuzzing for the input layout and the invariants checked.

use libfuzzer_sys::fuzz_target;
use switchyard_core::fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = fuzzing::responses_inbound(data) {
        panic!("invariant violated: {violation}");
    }
});
