//! Small real proxy servers for testing outbound proxy support: an HTTP proxy (absolute-URI
//! forwarding and `CONNECT` tunnels, optional Basic `Proxy-Authorization`) and a SOCKS5 server
//! (RFC 1928, optional username/password auth per RFC 1929). Both count the connections they
//! carried and the credential failures they refused, and remember the targets asked for.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Which protocol the proxy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// HTTP proxy.
    Http,
    /// SOCKS5.
    Socks5,
}

#[derive(Default)]
struct Counters {
    carried: AtomicUsize,
    auth_failures: AtomicUsize,
    targets: Mutex<Vec<String>>,
}

/// A running proxy. Dropping it does not stop it; call [`MockProxy::shutdown`].
#[derive(Clone)]
pub struct MockProxy {
    addr: SocketAddr,
    kind: ProxyKind,
    counters: Arc<Counters>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl MockProxy {
    /// Start on a free loopback port. `credentials` = required user and password.
    pub async fn start(
        kind: ProxyKind,
        credentials: Option<(&str, &str)>,
    ) -> std::io::Result<MockProxy> {
        Self::start_on(kind, credentials, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Start on a given address.
    pub async fn start_on(
        kind: ProxyKind,
        credentials: Option<(&str, &str)>,
        addr: SocketAddr,
    ) -> std::io::Result<MockProxy> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let creds: Option<Arc<(String, String)>> =
            credentials.map(|(u, p)| Arc::new((u.to_string(), p.to_string())));
        let c = counters.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let c = c.clone();
                let creds = creds.clone();
                tokio::spawn(async move {
                    let _ = match kind {
                        ProxyKind::Http => http_conn(sock, creds.as_deref(), &c).await,
                        ProxyKind::Socks5 => socks_conn(sock, creds.as_deref(), &c).await,
                    };
                });
            }
        });
        Ok(MockProxy {
            addr,
            kind,
            counters,
            task: Arc::new(task),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` or `socks5h://127.0.0.1:PORT`, with `user@` when given.
    pub fn url(&self, user: Option<&str>) -> String {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Socks5 => "socks5h",
        };
        match user {
            Some(u) => format!("{scheme}://{u}@{}", self.addr),
            None => format!("{scheme}://{}", self.addr),
        }
    }

    /// Connections carried to a target (after any authentication).
    pub fn carried(&self) -> usize {
        self.counters.carried.load(Ordering::SeqCst)
    }

    /// Connections refused for missing or wrong credentials.
    pub fn auth_failures(&self) -> usize {
        self.counters.auth_failures.load(Ordering::SeqCst)
    }

    /// The `host:port` targets carried, in order.
    pub fn targets(&self) -> Vec<String> {
        self.counters.targets.lock().clone()
    }

    /// Stop accepting connections.
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

/// Standard base64 (with padding), for comparing `Proxy-Authorization: Basic ...`.
pub fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn read_head(sock: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(pos + 4);
            return Ok((buf, rest));
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

async fn http_conn(
    mut sock: TcpStream,
    creds: Option<&(String, String)>,
    c: &Counters,
) -> std::io::Result<()> {
    let (head, rest) = read_head(&mut sock).await?;
    let text = String::from_utf8_lossy(&head).to_string();
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default().to_string();
    let headers: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    if let Some((user, pass)) = creds {
        let want = base64(format!("{user}:{pass}").as_bytes());
        // The scheme is case-insensitive; the credentials are not.
        let ok = headers.iter().any(|h| {
            h.split_once(':').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("proxy-authorization")
                    && v.trim().split_once(' ').is_some_and(|(scheme, token)| {
                        scheme.eq_ignore_ascii_case("basic") && token.trim() == want
                    })
            })
        });
        if !ok {
            c.auth_failures.fetch_add(1, Ordering::SeqCst);
            sock.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"mock\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await?;
            return Ok(());
        }
    }
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let version = parts.next().unwrap_or("HTTP/1.1").to_string();
    if method.eq_ignore_ascii_case("CONNECT") {
        let mut up = match TcpStream::connect(&target).await {
            Ok(u) => u,
            Err(_) => {
                sock.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    .await?;
                return Ok(());
            }
        };
        c.carried.fetch_add(1, Ordering::SeqCst);
        c.targets.lock().push(target);
        sock.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await?;
        up.write_all(&rest).await?;
        tokio::io::copy_bidirectional(&mut sock, &mut up).await?;
        return Ok(());
    }
    // Absolute-form: http://host:port/path -> connect to host:port, send origin-form.
    let Some(after) = target.strip_prefix("http://") else {
        sock.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let (hostport, path) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, "/"),
    };
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let mut up = match TcpStream::connect(&hostport).await {
        Ok(u) => u,
        Err(_) => {
            sock.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                .await?;
            return Ok(());
        }
    };
    c.carried.fetch_add(1, Ordering::SeqCst);
    c.targets.lock().push(hostport);
    // One request per connection keeps forwarding simple and correct.
    let mut out = format!("{method} {path} {version}\r\n");
    for h in &headers {
        let name = h.split(':').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("proxy-authorization")
            || name.eq_ignore_ascii_case("proxy-connection")
            || name.eq_ignore_ascii_case("connection")
        {
            continue;
        }
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    up.write_all(out.as_bytes()).await?;
    up.write_all(&rest).await?;
    let (mut ur, mut uw) = up.into_split();
    let (mut sr, mut sw) = sock.into_split();
    let to_up = async {
        let _ = tokio::io::copy(&mut sr, &mut uw).await;
    };
    let to_client = async {
        let _ = tokio::io::copy(&mut ur, &mut sw).await;
        // The upstream closed after its answer: close the client side so it does not reuse it.
        let _ = sw.shutdown().await;
    };
    tokio::select! {
        _ = to_client => {}
        _ = async { to_up.await; std::future::pending::<()>().await } => {}
    }
    Ok(())
}

async fn socks_conn(
    mut sock: TcpStream,
    creds: Option<&(String, String)>,
    c: &Counters,
) -> std::io::Result<()> {
    let mut hdr = [0u8; 2];
    sock.read_exact(&mut hdr).await?;
    if hdr[0] != 5 {
        return Ok(());
    }
    let mut methods = vec![0u8; hdr[1] as usize];
    sock.read_exact(&mut methods).await?;
    let want = if creds.is_some() { 2 } else { 0 };
    if !methods.contains(&want) {
        if creds.is_some() {
            c.auth_failures.fetch_add(1, Ordering::SeqCst);
        }
        sock.write_all(&[5, 0xff]).await?;
        return Ok(());
    }
    sock.write_all(&[5, want]).await?;
    if let Some((user, pass)) = creds {
        // RFC 1929: VER=1, ULEN, UNAME, PLEN, PASSWD.
        let mut v = [0u8; 2];
        sock.read_exact(&mut v).await?;
        let mut u = vec![0u8; v[1] as usize];
        sock.read_exact(&mut u).await?;
        let mut pl = [0u8; 1];
        sock.read_exact(&mut pl).await?;
        let mut p = vec![0u8; pl[0] as usize];
        sock.read_exact(&mut p).await?;
        if v[0] != 1 || u != user.as_bytes() || p != pass.as_bytes() {
            c.auth_failures.fetch_add(1, Ordering::SeqCst);
            sock.write_all(&[1, 1]).await?;
            return Ok(());
        }
        sock.write_all(&[1, 0]).await?;
    }
    // VER CMD RSV ATYP
    let mut req = [0u8; 4];
    sock.read_exact(&mut req).await?;
    if req[1] != 1 {
        sock.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    }
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            sock.read_exact(&mut a).await?;
            std::net::Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut l = [0u8; 1];
            sock.read_exact(&mut l).await?;
            let mut name = vec![0u8; l[0] as usize];
            sock.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).to_string()
        }
        4 => {
            let mut a = [0u8; 16];
            sock.read_exact(&mut a).await?;
            format!("[{}]", std::net::Ipv6Addr::from(a))
        }
        _ => return Ok(()),
    };
    let mut port = [0u8; 2];
    sock.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    let mut up = match TcpStream::connect(&target).await {
        Ok(u) => u,
        Err(_) => {
            sock.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
            return Ok(());
        }
    };
    c.carried.fetch_add(1, Ordering::SeqCst);
    c.targets.lock().push(target);
    sock.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut sock, &mut up).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
