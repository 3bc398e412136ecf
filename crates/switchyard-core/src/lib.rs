//! # switchyard-core
//!
//! The Switchyard engine: a local Anthropic-API endpoint that sends each request to the best
//! available provider, fails over on rate limits, usage limits and errors before the client
//! sees a byte, returns to the primary when it recovers, and reports all of it as typed events.
//!
//! Everything here runs without a display: the desktop shell and the `switchyard` CLI are thin
//! layers over one [`Handle`], obtained from [`Switchyard::start`].
//!
//! # Layout
//!
//! Where to start reading: `pipeline` (one request's life, phase by phase), then
//! `upstream` (the provider adapters and the one attempt driver) and `inbound` (the client
//! dialects). `ARCHITECTURE.md` at the repository root has the layer table and "one request,
//! file by file". Bottom to top:
//!
//! - leaves: `protocol` (wire types, SSE framing), [`glob`], [`secrets`] (the keychain),
//!   [`logs`] (log lines that cannot be forged);
//! - [`config`] (the file, its validation, atomic saves, edits that keep comments) and
//!   [`events`] (typed events and request records);
//! - pure: [`translate`] (hub <-> each dialect), [`context_window`], [`notify_policy`],
//!   [`presets`], [`integrations`] (client settings files), [`import_review`] (what an
//!   imported file would do with secrets), [`stats`];
//! - services: [`routing`] (strategies, breakers, rules, key pools), `upstream`, `inbound`,
//!   [`usage`], [`cache`], [`access_tokens`], and `state` (the shared-state traits);
//! - the engine's state (private), the `pipeline`, the HTTP edge (`server`), and the
//!   composition root ([`Switchyard::start`], [`Handle`]).
//!
//! `tests/layering.rs` keeps it that way: no module cycles, and no use of a higher layer.

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
pub mod import_review;
pub(crate) mod inbound;
pub mod integrations;
pub mod logs;
pub mod notify_policy;
pub(crate) mod pipeline;
pub mod presets;
pub(crate) mod protocol;
pub mod routing;
pub mod secrets;
pub(crate) mod server;
mod start;
pub(crate) mod state;
pub mod stats;
pub mod translate;
pub(crate) mod upstream;
pub mod usage;

pub use engine::{
    ClaudeCodeStatus, CodexStatus, GeminiCliStatus, Health, KeyStatus, PoolKeyStatus, StartError,
    StartOptions, Status, SwitchError,
};
pub use events::{Event, FailoverReason};
pub use handle::Handle;
pub use server::MAX_BODY;
pub use start::Switchyard;
pub use state::{ClusterHealth, ClusterStatus, Replica};

/// Check a config as `serve` would before running it (its rules, the access tokens it names
/// being readable from `store`, a token for an address other machines can reach): what
/// `switchyard check` answers, so `check` and `serve` always agree.
pub fn check_config(
    cfg: &config::Config,
    store: &dyn secrets::SecretStore,
    file: Option<&std::path::Path>,
) -> Result<(), config::ConfigError> {
    engine::preflight(cfg, store, file).map(|_| ())
}

/// The engine's version, as shown by the status API.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
