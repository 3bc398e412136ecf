#![no_main]
//! The Gemini inbound dialect: a Gemini request into the hub, the hub's stream out to a Gemini
//! client (the first byte picks which). See switchyard_core::fuzzing for the input layout and
//! the invariants checked.

use libfuzzer_sys::fuzz_target;
use switchyard_core::fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = fuzzing::gemini_inbound(data) {
        panic!("invariant violated: {violation}");
    }
});
