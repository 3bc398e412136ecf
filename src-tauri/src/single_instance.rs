//! One tray app per user session: the first launch holds a lock file and listens on a Unix
//! socket beside it (in `$XDG_RUNTIME_DIR/switchyard/`, which only the user can enter); a later
//! launch finds the lock taken, sends its request ("open" — a person wants the window — or
//! "autostart") over the socket and exits.
//!
//! The lock, not the socket file, decides who is first: the kernel drops it when the holder
//! exits in any way (a crash, `kill -9`), so a stale socket left behind never blocks the next
//! start, and two launches at the same moment cannot both win.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What a launch asks of the running app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// A person started the app: show the window.
    Open,
    /// The login item started it: nothing to show.
    Autostart,
}

impl Request {
    fn word(self) -> &'static str {
        match self {
            Request::Open => "open",
            Request::Autostart => "autostart",
        }
    }

    fn parse(s: &str) -> Option<Request> {
        match s.trim() {
            "open" => Some(Request::Open),
            "autostart" => Some(Request::Autostart),
            _ => None,
        }
    }
}

/// The outcome of [`claim`].
pub enum Claim {
    /// This is the first instance; keep the value alive for as long as the app runs.
    First(Instance),
    /// Another instance runs and has the request.
    HandedOver,
    /// Another instance holds the lock but does not answer.
    Busy(String),
    /// No place for the lock (no runtime or cache directory): run without the check.
    Unavailable(String),
}

/// The first instance's lock and listening socket.
pub struct Instance {
    // Held open for the lock; closing it (process exit) releases the lock.
    _lock: std::fs::File,
    #[cfg(unix)]
    listener: std::os::unix::net::UnixListener,
}

impl Instance {
    /// Answers later launches on a thread of its own; `on_request` runs there for each.
    pub fn serve(self, on_request: impl Fn(Request) + Send + 'static) {
        let spawned = std::thread::Builder::new()
            .name("single-instance".into())
            .spawn(move || self.accept_loop(on_request));
        if let Err(e) = spawned {
            tracing::warn!("later launches will not reach this one: {e}");
        }
    }

    #[cfg(unix)]
    fn accept_loop(self, on_request: impl Fn(Request)) {
        for conn in self.listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            // A client that connects and says nothing must not stall the next one.
            let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
            match read_line(&conn).and_then(|l| Request::parse(&l)) {
                Some(req) => {
                    let _ = conn.write_all(b"ok\n");
                    on_request(req);
                }
                None => {
                    let _ = conn.write_all(b"?\n");
                }
            }
        }
    }

    #[cfg(not(unix))]
    fn accept_loop(self, _on_request: impl Fn(Request)) {}
}

/// One line of at most 64 bytes from `conn` (a request or an answer is one short word).
fn read_line(conn: impl std::io::Read) -> Option<String> {
    let mut line = String::new();
    match BufReader::new(conn.take(64)).read_line(&mut line) {
        Ok(n) if n > 0 => Some(line),
        _ => None,
    }
}

/// `$XDG_RUNTIME_DIR/switchyard` (per user, cleared at logout), else the cache directory.
fn state_dir() -> Option<PathBuf> {
    dirs::runtime_dir()
        .or_else(dirs::cache_dir)
        .map(|d| d.join("switchyard"))
}

#[cfg(unix)]
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Becomes the first instance, or hands `request` to the one that is.
#[cfg(unix)]
pub fn claim(request: Request) -> Claim {
    match state_dir() {
        Some(dir) => claim_in(&dir, request),
        None => Claim::Unavailable("no runtime or cache directory".into()),
    }
}

/// [`claim`] with the lock and the socket in `dir`.
#[cfg(unix)]
fn claim_in(dir: &std::path::Path, request: Request) -> Claim {
    use std::os::unix::net::{UnixListener, UnixStream};

    if let Err(e) = private_dir(dir) {
        return Claim::Unavailable(format!("cannot create {}: {e}", dir.display()));
    }
    let lock_path = dir.join("desktop.lock");
    let socket_path = dir.join("desktop.sock");
    let lock = match std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
    {
        Ok(f) => f,
        Err(e) => return Claim::Unavailable(format!("cannot open {}: {e}", lock_path.display())),
    };
    match lock.try_lock() {
        Ok(()) => {
            // Whatever socket is there was left by an instance that no longer runs.
            let _ = std::fs::remove_file(&socket_path);
            match UnixListener::bind(&socket_path) {
                Ok(listener) => Claim::First(Instance {
                    _lock: lock,
                    listener,
                }),
                Err(e) => {
                    Claim::Unavailable(format!("cannot listen on {}: {e}", socket_path.display()))
                }
            }
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            // The first instance may still be starting: give its socket a few seconds.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(mut conn) = UnixStream::connect(&socket_path) {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let sent = conn.write_all(format!("{}\n", request.word()).as_bytes());
                    if sent.is_ok() && read_line(&conn).is_some() {
                        return Claim::HandedOver;
                    }
                }
                if Instant::now() >= deadline {
                    return Claim::Busy(
                        "Switchyard is already running but does not answer; quit it (or end \
                         the switchyard-desktop process) and start it again"
                            .into(),
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Claim::Unavailable(format!("cannot lock {}: {e}", lock_path.display()))
        }
    }
}

/// Not built or tested on this platform yet: every launch runs on its own.
#[cfg(not(unix))]
pub fn claim(_request: Request) -> Claim {
    Claim::Unavailable("not implemented on this platform".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_second_claim_hands_its_request_to_the_first() {
        let dir = std::env::temp_dir().join(format!("sy-single-{}", std::process::id()));
        let Claim::First(first) = claim_in(&dir, Request::Autostart) else {
            panic!("the first claim must win");
        };
        let (tx, rx) = std::sync::mpsc::channel();
        first.serve(move |r| {
            let _ = tx.send(r);
        });
        assert!(matches!(claim_in(&dir, Request::Open), Claim::HandedOver));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).ok(),
            Some(Request::Open)
        );
        assert!(matches!(
            claim_in(&dir, Request::Autostart),
            Claim::HandedOver
        ));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).ok(),
            Some(Request::Autostart)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn request_words_round_trip() {
        for r in [Request::Open, Request::Autostart] {
            assert_eq!(Request::parse(r.word()), Some(r));
        }
        assert_eq!(Request::parse("open\n"), Some(Request::Open));
        assert_eq!(Request::parse("quit"), None);
    }
}
