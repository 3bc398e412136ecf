//! Setting up the clients people point at Switchyard.

pub mod claude_code;
pub mod gemini_cli;
