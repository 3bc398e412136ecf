//! The mock proxies on their own: CONNECT tunnels and 407 on the HTTP proxy, and SOCKS5 with
//! username/password through reqwest.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use switchyard_mock::proxy::base64;
use switchyard_mock::{MockProxy, MockUpstream, ProxyKind};

async fn read_all(mut s: TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test]
async fn http_proxy_tunnels_connect_and_refuses_wrong_credentials() {
    let up = MockUpstream::start().await.expect("mock");
    let proxy = MockProxy::start(ProxyKind::Http, Some(("u", "pw")))
        .await
        .expect("proxy");
    let target = up.addr().to_string();

    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    let auth = base64(b"u:pw");
    s.write_all(
        format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: Basic {auth}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("write");
    let mut head = [0u8; 39];
    s.read_exact(&mut head).await.expect("read");
    assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 200"));
    s.write_all(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = read_all(s).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("claude"), "{answer}");
    assert_eq!(proxy.carried(), 1);
    assert_eq!(proxy.targets(), vec![target.clone()]);

    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    let wrong = base64(b"u:PW");
    s.write_all(
        format!("CONNECT {target} HTTP/1.1\r\nProxy-Authorization: Basic {wrong}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("write");
    assert!(read_all(s).await.starts_with("HTTP/1.1 407"));
    assert_eq!(proxy.auth_failures(), 1);
    assert_eq!(proxy.carried(), 1);
}

#[tokio::test]
async fn socks5_proxy_checks_the_password() {
    let up = MockUpstream::start().await.expect("mock");
    let proxy = MockProxy::start(ProxyKind::Socks5, Some(("u", "pw")))
        .await
        .expect("proxy");
    let via = |pass: &str| {
        reqwest::Client::builder()
            .proxy(
                reqwest::Proxy::all(proxy.url(None))
                    .expect("proxy url")
                    .basic_auth("u", pass),
            )
            .build()
            .expect("client")
    };
    let r = via("pw")
        .get(format!("{}/v1/models", up.base_url()))
        .send()
        .await
        .expect("through the proxy");
    assert_eq!(r.status(), 200);
    assert_eq!(proxy.carried(), 1);
    assert!(via("nope")
        .get(format!("{}/v1/models", up.base_url()))
        .send()
        .await
        .is_err());
    assert_eq!(proxy.auth_failures(), 1);
    assert_eq!(up.request_count(), 1);
}
