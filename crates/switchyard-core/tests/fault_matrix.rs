//! The fault matrix: every client dialect (`fault_matrix/clients.rs`) × every provider kind in
//! the registry (`ProviderKind::ALL`) × every fault, one table-driven test with one row per
//! cell. For each row: the client gets a complete answer from the next provider or a
//! well-formed error in its own dialect, the faulty provider's breaker and the engine's events
//! say the right thing, and no upstream request outlives its client.

#[path = "fault_matrix/clients.rs"]
mod clients;
mod common;

use std::time::{Duration, Instant};

use clients::{Client, CLIENTS};
use common::*;
use futures_util::StreamExt;
use switchyard_core::config::{Credential, ProviderKind};
use switchyard_core::secrets::{Secret, SecretStore};
use switchyard_core::MAX_BODY;
use switchyard_core::{Event, FailoverReason};
use switchyard_mock::{Body, Face, Reply, Step};
use tokio::sync::Semaphore;

/// Engine timeouts for the matrix: short, so a stall costs a second, not minutes, yet long
/// enough that a healthy mock on a busy shared machine is not mistaken for a stalled one.
const FIRST_BYTE_MS: u64 = 1_000;
const IDLE_MS: u64 = 1_000;
const REQUEST_MS: u64 = 3_000;
/// Rows running at once (the machine is small and shared).
const PARALLEL: usize = 10;
/// Words in the slow client's answer.
const WORDS: usize = 5_000;

/// Every provider kind the engine has an adapter for, with the mock face that plays it.
fn kinds() -> Vec<(ProviderKind, Face)> {
    ProviderKind::ALL
        .iter()
        .copied()
        .map(|k| {
            let name = serde_json::to_value(k).expect("kind name");
            let name = name.as_str().expect("kind name is a string");
            let face = Face::for_kind(name);
            assert!(
                face.is_some(),
                "the mock has no face for provider kind {name}"
            );
            (k, face.unwrap_or(Face::Anthropic))
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    ConnectRefused,
    ResetBeforeHeaders,
    RateLimitRetryAfter,
    UsageLimitWording,
    Status500,
    Status502,
    Status503,
    Status529,
    InBandError,
    StallBeforeFirstByte,
    StallMidStream,
    TruncatedSse,
    MalformedJson,
    ZeroTokens,
    Unauthorized,
    DnsFailure,
    ClientHangUp,
    SlowClient,
    HugeBody,
    InvalidJsonBody,
}

const FAULTS: [Fault; 20] = [
    Fault::ConnectRefused,
    Fault::ResetBeforeHeaders,
    Fault::RateLimitRetryAfter,
    Fault::UsageLimitWording,
    Fault::Status500,
    Fault::Status502,
    Fault::Status503,
    Fault::Status529,
    Fault::InBandError,
    Fault::StallBeforeFirstByte,
    Fault::StallMidStream,
    Fault::TruncatedSse,
    Fault::MalformedJson,
    Fault::ZeroTokens,
    Fault::Unauthorized,
    Fault::DnsFailure,
    Fault::ClientHangUp,
    Fault::SlowClient,
    Fault::HugeBody,
    Fault::InvalidJsonBody,
];

/// What the client must get.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// A complete, successful answer from the backup (p1).
    Backup,
    /// A complete, successful answer from the primary (the fault was harmless).
    Primary,
    /// A 200 stream from the primary that ends with a well-formed `error` event of this type
    /// (bytes had reached the client, so no failover).
    StreamError(&'static str),
    /// A JSON error with this status and (Anthropic) type, in the client's dialect; nothing
    /// sent upstream.
    Rejected(u16, &'static str),
    /// The client left; it sees nothing more.
    Gone,
}

/// What the primary's breaker must say afterwards (GET /api/status).
#[derive(Clone, Copy, Debug)]
enum Breaker {
    Available,
    /// `cooling_down` with this many seconds left (inclusive range).
    Cooling(u64, u64),
    /// `unhealthy`: the key was refused.
    Unhealthy,
}

struct Expect {
    outcome: Outcome,
    breaker: Breaker,
    /// The failure reason recorded for the primary (and carried by its events).
    reason: Option<FailoverReason>,
    /// Whether the client asks for a stream.
    stream: bool,
}

fn expect(f: Fault) -> Expect {
    use Breaker::*;
    use FailoverReason as R;
    use Outcome::*;
    let e = |outcome, breaker, reason, stream| Expect {
        outcome,
        breaker,
        reason,
        stream,
    };
    // The first failure of a provider without a hint cools it for 2 s.
    let first = Cooling(1, 2);
    match f {
        Fault::ConnectRefused => e(Backup, first, Some(R::Unreachable), true),
        Fault::ResetBeforeHeaders => e(Backup, first, Some(R::Unreachable), true),
        Fault::RateLimitRetryAfter => e(Backup, Cooling(6, 7), Some(R::RateLimited), true),
        Fault::UsageLimitWording => e(Backup, Cooling(1, 7200), Some(R::UsageLimit), false),
        Fault::Status500 | Fault::Status502 | Fault::Status503 | Fault::Status529 => {
            e(Backup, first, Some(R::Overloaded), f != Fault::Status502)
        }
        Fault::InBandError => e(Backup, first, Some(R::InBandError), true),
        Fault::StallBeforeFirstByte => e(Backup, first, Some(R::Timeout), true),
        Fault::StallMidStream => e(StreamError("timeout_error"), first, Some(R::Timeout), true),
        Fault::TruncatedSse => e(
            StreamError("overloaded_error"),
            first,
            Some(R::Unreachable),
            true,
        ),
        Fault::MalformedJson => e(Backup, first, Some(R::Malformed), false),
        Fault::ZeroTokens => e(Backup, first, Some(R::EmptyAnswer), false),
        Fault::Unauthorized => e(Backup, Unhealthy, Some(R::KeyRejected), true),
        Fault::DnsFailure => e(Backup, first, Some(R::Unreachable), false),
        Fault::ClientHangUp => e(Gone, Available, None, true),
        Fault::SlowClient => e(Primary, Available, None, true),
        Fault::HugeBody => e(Rejected(413, "request_too_large"), Available, None, false),
        Fault::InvalidJsonBody => e(
            Rejected(400, "invalid_request_error"),
            Available,
            None,
            false,
        ),
    }
}

/// The kind that backs up `kind` in a row: the next one in the registry, so failover crosses
/// dialects.
fn backup_of(kind: ProviderKind) -> ProviderKind {
    let all = ProviderKind::ALL;
    let i = all.iter().position(|k| *k == kind).unwrap_or(0);
    all[(i + 1) % all.len()]
}

fn model_for(kind: ProviderKind) -> String {
    format!("{kind:?}-model").to_lowercase()
}

fn face_of(kind: ProviderKind) -> Face {
    kinds()
        .into_iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, f)| f)
        .unwrap_or(Face::Anthropic)
}

/// The opening frames of a healthy stream in `kind`'s dialect, saying "Hel".
fn stream_start(kind: ProviderKind) -> Vec<Step> {
    face_of(kind).stream_opening("Hel")
}

/// A 200 stream whose first event is an error, in `kind`'s dialect.
fn in_band_error(kind: ProviderKind) -> Reply {
    face_of(kind).in_band_error()
}

/// A closed port, for "connection refused".
fn dead_url() -> String {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    url
}

/// Runs one row; panics with the row's name on the first broken promise.
async fn run_row(client: Client, kind: ProviderKind, fault: Fault) {
    let row = format!("{client:?} client × {kind:?} × {fault:?}");
    let x = expect(fault);
    let backup = backup_of(kind);
    let mut e = env_with(2, |c| {
        for (p, k) in c.providers.iter_mut().zip([kind, backup]) {
            p.kind = k;
            if k != ProviderKind::Anthropic {
                p.models.0 = vec![("*".into(), model_for(k))];
            }
        }
        c.providers[0].credential = Credential::Keychain;
        match fault {
            Fault::ConnectRefused => c.providers[0].base_url = dead_url(),
            Fault::DnsFailure => {
                c.providers[0].base_url = "http://switchyard-fault-matrix.invalid:9".into()
            }
            _ => {}
        }
        c.timeouts.first_byte_ms = FIRST_BYTE_MS;
        c.timeouts.idle_ms = IDLE_MS;
        c.timeouts.request_ms = REQUEST_MS;
        c.timeouts.connect_ms = 1_000;
    })
    .await;
    e.secrets
        .set("p0", &Secret::new(&key_of("p0")).expect("key"))
        .expect("set");
    e.mocks[1].set_default(Reply::text("from backup").with_chunks(2));
    let primary = &e.mocks[0];
    match fault {
        Fault::ResetBeforeHeaders => primary.push(Reply::hangup()),
        Fault::RateLimitRetryAfter => {
            primary.push(Reply::error(429, "rate limited").with_header("retry-after", "7"))
        }
        Fault::UsageLimitWording => {
            primary.push(Reply::error(429, "Claude AI usage limit reached"))
        }
        Fault::Status500 => primary.push(Reply::error(500, "internal")),
        Fault::Status502 => primary.push(Reply::error(502, "bad gateway")),
        Fault::Status503 => primary.push(Reply::error(503, "unavailable")),
        Fault::Status529 => primary.push(Reply::error(529, "overloaded")),
        Fault::InBandError => primary.push(in_band_error(kind)),
        Fault::StallBeforeFirstByte => primary.push(Reply::text("late").with_delay(10_000)),
        Fault::StallMidStream => {
            let mut steps = stream_start(kind);
            steps.push(Step::Stall);
            primary.push(Reply::sse(steps));
        }
        Fault::TruncatedSse => {
            let mut steps = stream_start(kind);
            steps.push(Step::raw("data: {\"trunc"));
            steps.push(Step::Hangup);
            primary.push(Reply::sse(steps));
        }
        Fault::MalformedJson => primary.push(Reply::new(Body::Raw {
            text: "{\"id\":\"msg_1\",\"content\":[{\"ty".into(),
            content_type: Some("application/json".into()),
        })),
        Fault::ZeroTokens => primary.push(Reply::empty_message()),
        Fault::Unauthorized => primary.push(Reply::error(401, "invalid api key")),
        Fault::ClientHangUp => primary.push(
            Reply::text("one two three four five six seven eight")
                .with_chunks(8)
                .with_chunk_delay(150),
        ),
        Fault::SlowClient => primary.push(Reply::text("word ".repeat(WORDS)).with_chunks(32)),
        _ => {}
    }

    let payload = client.payload(x.stream);
    let request = |bytes: Vec<u8>| client.request(&e, x.stream, bytes);
    match x.outcome {
        Outcome::Gone => {
            let mut resp = request(payload.to_string().into_bytes())
                .send()
                .await
                .expect("response");
            let first = resp.chunk().await.expect("chunk").expect("some bytes");
            assert!(client.opens_stream(&first), "{row}: {first:?}");
            assert_eq!(e.mocks[0].streams_open(), 1, "{row}: upstream streaming");
            drop(resp);
        }
        Outcome::Primary => {
            let resp = request(payload.to_string().into_bytes())
                .send()
                .await
                .expect("response");
            assert_eq!(resp.status(), 200, "{row}");
            assert_eq!(header(&resp, "x-switchyard-provider"), Some("p0"), "{row}");
            // Read nothing for longer than the idle limit, then slowly.
            tokio::time::sleep(Duration::from_millis(IDLE_MS * 2)).await;
            let mut bytes = Vec::new();
            let mut chunks = resp.bytes_stream();
            while let Some(c) = chunks.next().await {
                bytes.extend_from_slice(&c.expect("chunk"));
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let checked = client.check_stream(&bytes);
            assert!(checked.is_ok(), "{row}: {checked:?}");
            let r = Resp {
                status: 200,
                headers: Default::default(),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            };
            assert_eq!(
                client.stream_text(&r),
                "word ".repeat(WORDS),
                "{row}: every word"
            );
        }
        _ => {
            let bytes = match fault {
                Fault::HugeBody => {
                    // Valid JSON one megabyte over the limit, built without serde (fast).
                    let head = payload.to_string();
                    let pad = "x".repeat(MAX_BODY + (1 << 20));
                    let mut big = head[..head.len() - 1].to_string();
                    big.push_str(",\"metadata\":{\"user_id\":\"");
                    big.push_str(&pad);
                    big.push_str("\"}}");
                    big.into_bytes()
                }
                Fault::InvalidJsonBody => {
                    b"{\"model\": \"claude-sonnet-4-5\", \"messages\": [".to_vec()
                }
                _ => payload.to_string().into_bytes(),
            };
            let r = e.send(request(bytes)).await;
            check_answer(client, &row, &x, &r);
        }
    }

    // Right after the answer, before the 2 s first cooldown can run out on a slow machine.
    check_breaker(&e, &row, &x).await;
    // No upstream request outlives its client (or the engine's own deadline).
    for (i, m) in e.mocks.iter().enumerate() {
        assert!(
            m.wait_idle(Duration::from_secs(1)).await,
            "{row}: p{i} still has {} open request(s)",
            m.requests_open()
        );
    }
    // A stream cut short by the client or by the engine's idle limit was dropped upstream,
    // not left to finish.
    if matches!(fault, Fault::ClientHangUp | Fault::StallMidStream) {
        assert_eq!(
            e.mocks[0].streams_aborted(),
            1,
            "{row}: upstream stream aborted"
        );
    }
    let upstream_calls = e.mocks[0].request_count();
    match (fault, x.outcome) {
        (Fault::ConnectRefused | Fault::DnsFailure, _) => assert_eq!(upstream_calls, 0),
        (_, Outcome::Rejected(..)) => assert_eq!(upstream_calls, 0, "{row}: nothing upstream"),
        _ => assert_eq!(upstream_calls, 1, "{row}: one attempt at the primary"),
    }
    let backup_calls = e.mocks[1].request_count();
    let want_backup = usize::from(matches!(x.outcome, Outcome::Backup));
    assert_eq!(backup_calls, want_backup, "{row}: backup requests");

    // Events are emitted before the client's answer ends, except a hang-up's bookkeeping.
    tokio::time::sleep(Duration::from_millis(50)).await;
    check_events(&row, &x, &e.drain_events());
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The client's side of a row that got a full answer.
fn check_answer(client: Client, row: &str, x: &Expect, r: &Resp) {
    match x.outcome {
        Outcome::Backup => {
            assert_eq!(r.status, 200, "{row}: {}", r.text);
            assert_eq!(r.provider(), Some("p1"), "{row}");
            if x.stream {
                let checked = client.check_stream(r.text.as_bytes());
                assert!(checked.is_ok(), "{row}: {checked:?}\n{}", r.text);
                assert_eq!(client.stream_text(r), "from backup", "{row}");
            } else {
                assert_eq!(
                    client.answer_text(r).as_deref(),
                    Some("from backup"),
                    "{row}: {}",
                    r.text
                );
            }
        }
        Outcome::StreamError(ty) => {
            assert_eq!(r.status, 200, "{row}: {}", r.text);
            assert_eq!(
                r.provider(),
                Some("p0"),
                "{row}: no failover once bytes flowed"
            );
            let checked = client.check_stream(r.text.as_bytes());
            assert!(checked.is_ok(), "{row}: {checked:?}\n{}", r.text);
            assert!(client.ends_with_error(r, ty), "{row}: {ty}: {}", r.text);
            assert!(
                client.stream_text(r).starts_with("Hel"),
                "{row}: {}",
                r.text
            );
        }
        Outcome::Rejected(status, ty) => {
            assert_eq!(r.status, status, "{row}: {}", r.text);
            assert!(client.is_error(&r.json(), ty), "{row}: {ty}: {}", r.text);
        }
        Outcome::Primary | Outcome::Gone => unreachable!("{row}: handled by the caller"),
    }
}

/// The primary's breaker as GET /api/status reports it.
async fn check_breaker(e: &Env, row: &str, x: &Expect) {
    let status = e.get("/api/status").await.json();
    let p0 = &status["providers"][0];
    assert_eq!(p0["id"], "p0", "{row}");
    let state = p0["state"].as_str().unwrap_or_default();
    let left = p0["cooldown_remaining_secs"].as_u64();
    match x.breaker {
        Breaker::Available => {
            assert_eq!(state, "available", "{row}: {p0}");
            assert!(
                p0["last_error"].is_null(),
                "{row}: no failure recorded: {p0}"
            );
        }
        Breaker::Cooling(lo, hi) => {
            assert_eq!(state, "cooling_down", "{row}: {p0}");
            assert!(left.is_some(), "{row}: seconds left: {p0}");
            let left = left.unwrap_or_default();
            // `as_secs` truncates: a 2 s cooldown read a moment later shows 1.
            assert!(
                (lo.saturating_sub(1)..=hi).contains(&left),
                "{row}: {left}s left, want {lo}..={hi}"
            );
        }
        Breaker::Unhealthy => assert_eq!(state, "unhealthy", "{row}: {p0}"),
    }
    if let Some(reason) = x.reason {
        let want = serde_json::to_value(reason).expect("reason");
        assert_eq!(p0["last_error"]["reason"], want, "{row}: {p0}");
    }
}

/// The engine's events for the row.
fn check_events(row: &str, x: &Expect, evs: &[Event]) {
    let cooling: Vec<_> = evs
        .iter()
        .filter_map(|ev| match ev {
            Event::CoolingDown {
                provider, reason, ..
            } => Some((provider.as_str(), *reason)),
            _ => None,
        })
        .collect();
    let key_problem = evs
        .iter()
        .any(|ev| matches!(ev, Event::KeyProblem { provider, .. } if provider == "p0"));
    let failover = evs.iter().find_map(|ev| match ev {
        Event::Failover {
            from, to, reason, ..
        } => Some((from.as_str(), to.as_str(), *reason)),
        _ => None,
    });
    match x.reason {
        None => {
            assert!(cooling.is_empty(), "{row}: no cooldown: {evs:?}");
            assert!(failover.is_none(), "{row}: no failover: {evs:?}");
        }
        Some(reason) => {
            assert_eq!(cooling, [("p0", reason)], "{row}: {evs:?}");
            if matches!(x.outcome, Outcome::Backup) {
                assert_eq!(failover, Some(("p0", "p1", reason)), "{row}: {evs:?}");
            } else {
                assert!(failover.is_none(), "{row}: {evs:?}");
            }
        }
    }
    assert_eq!(
        key_problem,
        matches!(x.breaker, Breaker::Unhealthy),
        "{row}: key problem event: {evs:?}"
    );
    let finished = evs
        .iter()
        .filter(|ev| matches!(ev, Event::RequestFinished(_)))
        .count();
    assert_eq!(finished, 1, "{row}: one request logged: {evs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix() {
    let started = Instant::now();
    let gate = std::sync::Arc::new(Semaphore::new(PARALLEL));
    let mut rows = Vec::new();
    for client in CLIENTS {
        for (kind, _) in kinds() {
            for fault in FAULTS {
                let gate = gate.clone();
                rows.push(tokio::spawn(async move {
                    let _permit = gate.acquire_owned().await.expect("gate");
                    run_row(client, kind, fault).await;
                }));
            }
        }
    }
    let n_rows = rows.len();
    let mut failed = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        if let Err(err) = row.await {
            let msg = err
                .try_into_panic()
                .ok()
                .and_then(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                })
                .unwrap_or_else(|| "cancelled".into());
            failed.push(format!("row {i}: {msg}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} rows failed:\n{}",
        failed.len(),
        n_rows,
        failed.join("\n")
    );
    // Half a second a row at most (the stalls cost a second each, ten rows run at once).
    assert!(
        started.elapsed() < Duration::from_millis(500 * n_rows as u64),
        "the matrix must stay fast: {:?}",
        started.elapsed()
    );
}
