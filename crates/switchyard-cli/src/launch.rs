//! Handing the terminal to a client CLI (`switchyard code`, `codex`, `gemini`): the command
//! replaces this process where the platform allows, so signals and exit codes are the CLI's.

use std::ffi::OsStr;
use std::process::{Command, ExitCode};

/// What a client CLI is called, and how a user gets it.
pub struct Client<'a> {
    /// The program run (the name on PATH, or the path given).
    pub program: &'a OsStr,
    /// E.g. "install Codex CLI (npm install -g @openai/codex) or pass --codex PATH".
    pub install_hint: &'static str,
}

fn failure(c: &Client<'_>, e: &std::io::Error) -> String {
    let program = c.program.to_string_lossy();
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("{program} not found: {}", c.install_hint)
    } else {
        format!("cannot run {program}: {e}")
    }
}

/// Run `cmd` in place of this process (elsewhere: as a child, passing its exit code on).
#[cfg(unix)]
pub fn exec(mut cmd: Command, c: &Client<'_>) -> ExitCode {
    use std::os::unix::process::CommandExt as _;
    // Only returns on failure.
    let e = cmd.exec();
    eprintln!("switchyard: {}", failure(c, &e));
    ExitCode::from(127)
}

/// Run `cmd` in place of this process (elsewhere: as a child, passing its exit code on).
#[cfg(not(unix))]
pub fn exec(mut cmd: Command, c: &Client<'_>) -> ExitCode {
    match cmd.status() {
        Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(1) & 0xff).unwrap_or(1)),
        Err(e) => {
            eprintln!("switchyard: {}", failure(c, &e));
            ExitCode::from(127)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_says_how_to_get_it() {
        let c = Client {
            program: OsStr::new("codex"),
            install_hint: "install Codex CLI (npm install -g @openai/codex) or pass --codex PATH",
        };
        let nf = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(
            failure(&c, &nf),
            "codex not found: install Codex CLI (npm install -g @openai/codex) or pass --codex PATH"
        );
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(failure(&c, &denied).starts_with("cannot run codex: "));
    }
}
