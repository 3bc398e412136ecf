//! The configuration: what the user writes in `config.toml`, with defaults, validation that
//! points at the file and line, atomic saving with a backup, and hot reload.
//!
//! The config never holds a secret: a provider's `credential` says *where* its key lives
//! (`keychain`, `env:VAR`, `passthrough`, `none`), and a key written literally is refused.

pub mod edit;
mod load;
mod merge;
pub mod portable;
pub mod proxy;
mod save;
mod schema;
pub mod watch;

pub use load::{
    default_config_path, load_file, parse_str, validate, ConfigError, Loaded, MAX_KEYS,
};
pub use merge::update_document;
pub use save::{save_atomic, write_atomic, SaveError};
pub use schema::*;
