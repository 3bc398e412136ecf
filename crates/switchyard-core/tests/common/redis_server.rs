//! A real `redis-server` for team-mode tests: our own process on a free loopback port (never a
//! system service), no persistence, killed when the test ends however it ends.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One `redis-server` process.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    password: Option<String>,
    /// TLS only (`rediss://`): the directory with the CA and the server's certificate.
    tls: Option<std::path::PathBuf>,
}

impl RedisServer {
    /// Start on a free port.
    pub fn start() -> RedisServer {
        RedisServer::start_on(free_port(), None)
    }

    /// Start requiring a password.
    pub fn start_with_password(password: &str) -> RedisServer {
        RedisServer::start_on(free_port(), Some(password.to_string()))
    }

    /// Start on `port` (again, after [`RedisServer::kill`]).
    pub fn start_on(port: u16, password: Option<String>) -> RedisServer {
        let mut s = RedisServer {
            child: None,
            port,
            password,
            tls: None,
        };
        s.restart();
        s
    }

    /// Start with TLS only, its certificates (a throwaway CA and a server certificate for
    /// `localhost`) made with `openssl` in `dir`. The CA is `dir/ca.crt`.
    pub fn start_tls(dir: &std::path::Path) -> RedisServer {
        let run = |args: &[&str]| {
            let ok = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "openssl {args:?} failed");
        };
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .expect("write");
        run(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ca.key",
        ]);
        run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=switchyard-test-ca",
        ]);
        run(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "server.key",
        ]);
        run(&[
            "req",
            "-new",
            "-key",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        let mut s = RedisServer {
            child: None,
            port: free_port(),
            password: None,
            tls: Some(dir.to_path_buf()),
        };
        s.restart();
        s
    }

    /// `redis://127.0.0.1:PORT/0` (`rediss://localhost:PORT/0` with TLS).
    pub fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("rediss://localhost:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// Start the process (again) on the same port and wait until it answers.
    pub fn restart(&mut self) {
        let mut cmd = Command::new("redis-server");
        let port = self.port.to_string();
        match self.tls {
            Some(_) => cmd.args(["--port", "0", "--tls-port", &port]),
            None => cmd.args(["--port", &port]),
        };
        cmd.args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = &self.password {
            cmd.args(["--requirepass", p]);
        }
        if let Some(dir) = &self.tls {
            let f = |n: &str| dir.join(n).to_string_lossy().into_owned();
            cmd.args(["--tls-cert-file", &f("server.crt")])
                .args(["--tls-key-file", &f("server.key")])
                .args(["--tls-ca-cert-file", &f("ca.crt")])
                .args(["--tls-auth-clients", "no"]);
        }
        let child = cmd.spawn().expect(
            "cannot start redis-server: install it with scripts/setup-test-deps.sh (apt package redis-server)",
        );
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut up = false;
        while !up && Instant::now() < deadline {
            up = match self.tls {
                // Accepting connections is all a TLS server can be asked without TLS.
                Some(_) => TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
                None => self.command("PING").is_some_and(|r| r.starts_with("+PONG")),
            };
            if !up {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        assert!(up, "redis-server on port {} did not come up", self.port);
    }

    /// The process id (to stop and continue it: a Redis that hangs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Send one inline command; the raw first reply (`None` when it cannot connect).
    pub fn command(&self, cmd: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        if let Some(p) = &self.password {
            s.write_all(format!("AUTH {p}\r\n").as_bytes()).ok()?;
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf).ok()?;
        }
        s.write_all(format!("{cmd}\r\n").as_bytes()).ok()?;
        let mut buf = vec![0u8; 64 * 1024];
        let n = s.read(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// Every key (for checks on what is stored).
    pub fn keys(&self) -> Vec<String> {
        let r = self.command("KEYS *").unwrap_or_default();
        r.lines()
            .filter(|l| !l.starts_with('*') && !l.starts_with('$'))
            .map(String::from)
            .collect()
    }

    /// Everything stored, as text (keys and string values).
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for k in self.keys() {
            out.push_str(&k);
            out.push('=');
            let t = self.command(&format!("TYPE {k}")).unwrap_or_default();
            let v = match t.trim() {
                "+string" => self.command(&format!("GET {k}")),
                "+hash" => self.command(&format!("HGETALL {k}")),
                "+set" => self.command(&format!("SMEMBERS {k}")),
                _ => None,
            };
            out.push_str(&v.unwrap_or_default());
            out.push('\n');
        }
        out
    }

    /// SIGKILL the process and wait for it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
