//! # switchyard-core
//!
//! The Switchyard engine: a local Anthropic-API endpoint that sends each request to the best
//! available provider, fails over on rate limits, usage limits and errors before the client
//! sees a byte, returns to the primary when it recovers, and reports all of it as typed events.
//!
//! Everything here runs without a display: the desktop shell and the `switchyard` CLI are thin
//! layers over one [`Handle`], obtained from [`Switchyard::start`].

pub mod access_tokens;
pub mod cache;
pub mod config;
pub mod context_window;
mod engine;
pub mod events;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod glob;
mod handle;
pub mod inbound;
pub mod integrations;
pub mod notify_policy;
pub mod pipeline;
pub mod presets;
pub mod protocol;
pub mod routing;
pub mod secrets;
pub mod server;
mod start;
pub mod state;
pub mod stats;
pub mod translate;
pub mod upstream;
pub mod usage;

pub use engine::{
    ClaudeCodeStatus, KeyStatus, PoolKeyStatus, StartError, StartOptions, Status, SwitchError,
};
pub use events::{Event, FailoverReason};
pub use handle::Handle;
pub use start::Switchyard;

/// The engine's version, as shown by the status API.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
