//! Wire types and framing. No policy lives here.

pub mod anthropic;
pub mod sse;
