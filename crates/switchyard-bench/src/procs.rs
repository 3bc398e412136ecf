//! Child processes (the mock upstream, Switchyard) and what /proc says about them.
//!
//! Every child is killed when its [`Proc`] is dropped; its pid is also appended to an optional
//! pid file so that `bench/run.sh` can clean up if this program itself is killed.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running child that announced its address.
pub struct Proc {
    /// For messages.
    pub name: String,
    /// The address from its "listening" line.
    pub addr: SocketAddr,
    /// Where its stderr goes.
    pub log: PathBuf,
    child: Child,
}

impl Proc {
    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Remember a pid for the shell wrapper's cleanup.
pub fn record_pid(pidfile: Option<&Path>, pid: u32) {
    if let Some(p) = pidfile {
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(p) {
            let _ = writeln!(f, "{pid}");
        }
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Parse `...http://IP:PORT` at the end of a line.
fn addr_in(line: &str) -> Option<SocketAddr> {
    let i = line.find("http://")?;
    line[i + "http://".len()..]
        .trim()
        .trim_end_matches('/')
        .parse()
        .ok()
}

/// Start `cmd` with stdout piped and stderr appended to `log`, and wait (at most `timeout`)
/// for a stdout line starting with `prefix` and naming `http://IP:PORT`. Returns the child
/// and the time from just before the spawn to that line.
pub fn spawn(
    name: &str,
    mut cmd: Command,
    prefix: &str,
    log: &Path,
    timeout: Duration,
    pidfile: Option<&Path>,
) -> Result<(Proc, Duration), String> {
    let err = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(err));
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
    record_pid(pidfile, child.id());
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("{name}: no stdout pipe"));
    };
    let (tx, rx) = mpsc::channel::<String>();
    let want = prefix.to_string();
    std::thread::spawn(move || {
        // Read the announcement, then keep draining so the child never blocks on a full pipe.
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && line.starts_with(&want) {
                sent = true;
                let _ = tx.send(line);
            }
        }
    });
    let deadline = started + timeout;
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(line) => {
                let elapsed = started.elapsed();
                let Some(addr) = addr_in(&line) else {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{name}: cannot read the address in {line:?}"));
                };
                let proc = Proc {
                    name: name.to_string(),
                    addr,
                    log: log.to_path_buf(),
                    child,
                };
                return Ok((proc, elapsed));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // stdout closed without the line: the process is exiting.
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                return Err(format!(
                    "{name} exited ({status}) before printing {prefix:?}; its log ({}):\n{}",
                    log.display(),
                    tail(log, 20)
                ));
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{name} exited ({status}) before printing {prefix:?}; its log ({}):\n{}",
                log.display(),
                tail(log, 20)
            ));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{name} did not print {prefix:?} within {} ms; its log ({}):\n{}",
                timeout.as_millis(),
                log.display(),
                tail(log, 20)
            ));
        }
    }
}

/// Memory figures from /proc/PID/status, in KiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    /// Resident set size now.
    pub rss_kb: u64,
    /// Peak resident set size.
    pub hwm_kb: u64,
    /// Threads.
    pub threads: u64,
}

/// Read VmRSS, VmHWM and Threads of a process.
pub fn memory(pid: u32) -> Result<Memory, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Ok(Memory {
        rss_kb: field("VmRSS:").ok_or_else(|| format!("{path}: no VmRSS"))?,
        hwm_kb: field("VmHWM:").unwrap_or(0),
        threads: field("Threads:").unwrap_or(0),
    })
}

/// User + system CPU time a process has used so far, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let after = text
        .rfind(')')
        .map(|i| &text[i + 1..])
        .ok_or_else(|| format!("{path}: unexpected format"))?;
    let f: Vec<&str> = after.split_whitespace().collect();
    // utime is field 14, stime field 15: indexes 11 and 12 counting from the state.
    let get = |i: usize| -> Result<u64, String> {
        f.get(i)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{path}: no field {}", i + 3))
    };
    Ok(get(11)? + get(12)?)
}

/// CPU time each live thread of a process has run so far, ns (the first field of
/// `/proc/PID/task/TID/schedstat`): a thousand times finer than clock ticks. Empty when the
/// kernel does not keep it.
pub fn thread_cpu_ns(pid: u32) -> Vec<(u32, u64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| {
            let tid: u32 = e.file_name().to_str()?.parse().ok()?;
            let text = std::fs::read_to_string(e.path().join("schedstat")).ok()?;
            Some((tid, text.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// CPU ns a process used between two [`thread_cpu_ns`] readings; `None` when either is empty
/// or a thread of the first ended before the second (its last slice of time is unknown).
pub fn cpu_ns_between(before: &[(u32, u64)], after: &[(u32, u64)]) -> Option<u64> {
    if before.is_empty() || after.is_empty() {
        return None;
    }
    if before
        .iter()
        .any(|(t, _)| !after.iter().any(|(a, _)| a == t))
    {
        return None;
    }
    Some(
        after
            .iter()
            .map(|(t, ns)| {
                let was = before.iter().find(|(b, _)| b == t).map_or(0, |(_, v)| *v);
                ns.saturating_sub(was)
            })
            .sum(),
    )
}

/// Whether a process still runs (a child that exited stays a zombie until it is waited for).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| {
            t.rfind(')')
                .and_then(|i| t[i + 1..].split_whitespace().next().map(str::to_owned))
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every common Linux).
pub fn clock_ticks_per_sec() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// Write a minimal Switchyard config pointing at one mock upstream.
pub fn write_config(path: &Path, mock: SocketAddr) -> Result<(), String> {
    let text = format!(
        "listen = \"127.0.0.1:0\"\n\n[[providers]]\nid = \"mock\"\nbase_url = \"http://{mock}\"\ncredential = \"none\"\n"
    );
    File::create(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Write a Switchyard config whose one provider is the mock's OpenAI face (`kind = "openai"`):
/// Anthropic requests are translated to Chat Completions and the answers back.
pub fn write_openai_config(path: &Path, mock: SocketAddr) -> Result<(), String> {
    let text = format!(
        "listen = \"127.0.0.1:0\"\n\n[[providers]]\nid = \"mock-openai\"\nkind = \"openai\"\n\
         base_url = \"http://{mock}/v1\"\ncredential = \"none\"\n\n[providers.models]\n\"*\" = \"mock-model\"\n"
    );
    File::create(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_lines() {
        assert_eq!(
            addr_in("switchyard listening on http://127.0.0.1:4242"),
            Some("127.0.0.1:4242".parse().expect("addr"))
        );
        assert_eq!(
            addr_in("listening on http://127.0.0.1:1/"),
            Some("127.0.0.1:1".parse().expect("addr"))
        );
        assert_eq!(addr_in("listening"), None);
    }

    #[test]
    fn cpu_between_thread_readings() {
        assert_eq!(
            cpu_ns_between(&[(1, 100), (2, 50)], &[(1, 150), (2, 60), (3, 5)]),
            Some(65),
            "a thread that started in between counts from zero"
        );
        assert_eq!(
            cpu_ns_between(&[(1, 100), (2, 50)], &[(1, 150)]),
            None,
            "a thread that ended took its time with it"
        );
        assert_eq!(cpu_ns_between(&[], &[(1, 1)]), None);
        // A real process whose threads stay the same (this test process's do not: other tests'
        // threads come and go between two readings), busy so its time grows.
        let mut busy = Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("sh");
        let before = thread_cpu_ns(busy.id());
        if !before.is_empty() {
            std::thread::sleep(Duration::from_millis(50));
            let after = thread_cpu_ns(busy.id());
            let used = cpu_ns_between(&before, &after);
            assert!(used.is_some_and(|ns| ns > 0), "{before:?} -> {after:?}");
        }
        let _ = busy.kill();
        let _ = busy.wait();
    }

    #[test]
    fn own_process() {
        let pid = std::process::id();
        let m = memory(pid).expect("status");
        assert!(m.rss_kb > 0 && m.threads >= 1);
        cpu_ticks(pid).expect("stat");
        assert!(alive(pid));
        assert!(!alive(u32::MAX));
    }

    #[test]
    fn killed_child_is_not_alive() {
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep");
        let pid = child.id();
        assert!(alive(pid));
        child.kill().expect("kill");
        // Not waited for yet: a zombie until then.
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(pid));
        let _ = child.wait();
    }
}
