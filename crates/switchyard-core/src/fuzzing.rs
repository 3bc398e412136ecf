//! Entry points for the `cargo fuzz` targets in `fuzz/` (only built with the `fuzzing`
//! feature). Each function drives the same code the proxy runs on untrusted input and checks
//! the invariants that must hold for *any* input; a violation is returned as `Err` (the fuzz
//! target turns it into a crash report), a panic inside the engine is a crash by itself.
//!
//! Split points are derived from a seed byte so a corpus entry is mostly the real input text
//! (an OpenAI or Gemini stream, a config file) and stays readable.

use std::net::SocketAddr;
use std::path::Path;

use serde_json::Value;

use crate::config::ProviderKind;
use crate::config::{parse_str, validate, Config, Security};
use crate::protocol::anthropic::{splice, RequestPeek};
use crate::protocol::sse::{self, Splitter};
use crate::server::guard::{host_allowed, origin_allowed, token_match, Place};
use crate::translate::check::check_anthropic_stream;
use crate::translate::inbound_responses::{self, check_responses_stream, EventStream};
use crate::translate::writer::StreamWriter;
use crate::upstream::adapters;
use crate::upstream::decode::Decoder;

/// Cut `data` into chunks whose sizes come from a small generator seeded by `seed` (sizes
/// 1..=64, with some 1-byte runs so CR/LF pairs get split).
fn chunks(data: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let r = (state >> 16) as usize;
        let n = if r % 4 == 0 { 1 } else { 1 + r % 64 };
        let (head, tail) = rest.split_at(n.min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}

/// Where the one-shot splitter cuts `data`: the length of its whole frames.
fn complete_len(data: &[u8]) -> usize {
    let mut s = Splitter::new();
    s.push(data);
    s.take_complete().map_or(0, |b| b.len())
}

/// The SSE splitter and frame parser. Input: a seed byte for the split points, then bytes.
/// Checks that no byte is lost or duplicated, that only whole frames are handed out, that
/// the split points do not change where frames end, and that parsed frames re-encode to
/// the same event and data.
pub fn sse_parser(input: &[u8]) -> Result<(), String> {
    let Some((&seed, data)) = input.split_first() else {
        return Ok(());
    };
    let mut s = Splitter::new();
    let mut done: Vec<u8> = Vec::new();
    for c in chunks(data, seed) {
        s.push(c);
        if let Some(buf) = s.take_complete() {
            if !(buf.ends_with(b"\n\n") || buf.ends_with(b"\n\r\n")) {
                return Err(format!("a handed-out buffer does not end a frame: {buf:?}"));
            }
            done.extend_from_slice(&buf);
        }
    }
    let mut all = done.clone();
    all.extend_from_slice(s.pending());
    if all != data {
        return Err("the splitter lost, duplicated or reordered bytes".into());
    }
    if done.len() != complete_len(data) {
        return Err(format!(
            "chunked splitting completed {} bytes, one push completes {}",
            done.len(),
            complete_len(data)
        ));
    }
    let joined: Vec<u8> = sse::frames(&done).flatten().copied().collect();
    if joined != done {
        return Err("frames() does not cover its buffer exactly".into());
    }
    for raw in sse::frames(&done) {
        let f = sse::parse_frame(raw);
        // `encode` is for one-line values (our own event names and JSON).
        let one_line = |s: &str| !s.contains(['\n', '\r']);
        let Some(event) = f.event.filter(|e| one_line(e)) else {
            continue;
        };
        if !one_line(&f.data) {
            continue;
        }
        let again = sse::encode(event, &f.data);
        let g = sse::parse_frame(&again);
        if g.event != Some(event) || g.data != f.data {
            return Err(format!("{raw:?} does not survive encode + parse"));
        }
    }
    Ok(())
}

/// The provider kinds whose answers are translated (every kind with a stream machine), in
/// registry order: the first input byte of [`stream_translator`] picks one.
fn translating_kinds() -> Vec<ProviderKind> {
    ProviderKind::ALL
        .iter()
        .copied()
        .filter(|k| adapters::of(*k).stream_machine("fuzz", &[]).is_some())
        .collect()
}

fn decoder(kind: ProviderKind, flags: u8) -> Option<Decoder> {
    // Sometimes with a renamed tool, as when a client tool name had to be sanitised.
    let names = if flags & 4 != 0 {
        vec![("get_weather".to_string(), "Get Weather!".to_string())]
    } else {
        Vec::new()
    };
    adapters::of(kind)
        .stream_machine("fuzz", &names)
        .map(Decoder::new)
}

/// Translate a vendor byte stream the way the proxy does, cut into `pieces`, with pings
/// between pieces when `pings`; `clean`: the vendor closed normally (else the connection
/// broke).
fn translate(kind: ProviderKind, flags: u8, pieces: &[&[u8]], pings: bool, clean: bool) -> Vec<u8> {
    let mut w = StreamWriter::new("claude-fuzz", "msg_fuzz", "sy1.fuzz.");
    let Some(mut d) = decoder(kind, flags) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for piece in pieces {
        d.chunk(piece, &mut w);
        if pings {
            w.ping();
        }
        while let Some(b) = w.take() {
            out.extend_from_slice(&b);
        }
        if w.is_done() {
            return out;
        }
    }
    if clean {
        d.eof(&mut w);
    } else {
        d.broken(&mut w);
    }
    while let Some(b) = w.take() {
        out.extend_from_slice(&b);
    }
    out
}

/// The output with generated tool ids (Gemini sends none, so each run draws new ones)
/// replaced by a fixed one.
fn same_ids(out: &[u8]) -> Vec<u8> {
    const PREFIX: &[u8] = b"\"id\":\"toolu_";
    let mut res = Vec::with_capacity(out.len());
    let mut rest = out;
    while let Some(at) = memchr::memmem::find(rest, PREFIX) {
        let (head, tail) = rest.split_at(at + PREFIX.len());
        res.extend_from_slice(head);
        res.extend_from_slice(b"ID");
        let end = tail.iter().position(|b| *b == b'"').unwrap_or(tail.len());
        rest = &tail[end..];
    }
    res.extend_from_slice(rest);
    res
}

/// Every provider kind's stream translator. Input: a byte that picks the kind (modulo the
/// number of translating kinds, in registry order), a flags byte (bit 0: the vendor closed
/// cleanly; bit 1: pings between chunks; bit 2: a renamed tool), a seed byte for the split
/// points, then the vendor's SSE bytes. Checks that the Anthropic stream produced passes
/// [`check_anthropic_stream`] and that the split points do not change it.
pub fn stream_translator(input: &[u8]) -> Result<(), String> {
    let [pick, flags, seed, data @ ..] = input else {
        return Ok(());
    };
    let kinds = translating_kinds();
    let Some(vendor) = kinds.get(usize::from(*pick) % kinds.len().max(1)).copied() else {
        return Ok(());
    };
    let clean = flags & 1 != 0;
    let pings = flags & 2 != 0;
    let pieces = chunks(data, *seed);
    let out = translate(vendor, *flags, &pieces, pings, clean);
    check_anthropic_stream(&out).map_err(|e| {
        format!(
            "invalid Anthropic stream ({e}):\n{}",
            String::from_utf8_lossy(&out)
        )
    })?;
    let whole = same_ids(&translate(vendor, *flags, &[data], false, clean));
    let split = same_ids(&translate(vendor, *flags, &pieces, false, clean));
    if whole != split {
        return Err(format!(
            "the split points changed the output:\nwhole:\n{}\nsplit:\n{}",
            String::from_utf8_lossy(&whole),
            String::from_utf8_lossy(&split)
        ));
    }
    Ok(())
}

/// The Responses dialect's parsers. Input: a mode byte, then (even) a Responses request body or
/// (odd) a seed byte and the hub SSE bytes of an answer. A request either is refused with an
/// error naming a parameter, or becomes a hub request whose turns alternate, start with the
/// user and answer every `tool_use` in the next turn (Anthropic refuses anything else); an
/// answer, whatever its bytes and however they are split, becomes a Responses stream that
/// passes [`check_responses_stream`].
pub fn responses_inbound(input: &[u8]) -> Result<(), String> {
    let Some((&mode, rest)) = input.split_first() else {
        return Ok(());
    };
    if mode % 2 == 0 {
        return responses_request(rest);
    }
    let Some((&seed, data)) = rest.split_first() else {
        return Ok(());
    };
    let mut s = EventStream::new("gpt-fuzz", Default::default(), Default::default());
    let mut out = Vec::new();
    for c in chunks(data, seed) {
        out.extend_from_slice(&s.push(c));
    }
    out.extend_from_slice(&s.end());
    check_responses_stream(&out).map_err(|e| {
        format!(
            "invalid Responses stream ({e}):\n{}",
            String::from_utf8_lossy(&out)
        )
    })
}

fn responses_request(body: &[u8]) -> Result<(), String> {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return Ok(());
    };
    let inbound = match inbound_responses::to_anthropic(&req) {
        Ok(i) => i,
        Err(e) if e.message.is_empty() => return Err("a refusal without a message".into()),
        Err(_) => return Ok(()),
    };
    let turns = inbound.body["messages"]
        .as_array()
        .ok_or("no messages in the hub request")?;
    let mut expected: Vec<String> = Vec::new();
    let mut previous = "";
    for (i, t) in turns.iter().enumerate() {
        let role = t["role"].as_str().unwrap_or("");
        if !matches!(role, "user" | "assistant") || role == previous {
            return Err(format!(
                "turn {i} is {role:?} after {previous:?}: {}",
                inbound.body
            ));
        }
        previous = role;
        let blocks = t["content"].as_array().ok_or("content is not a list")?;
        if blocks.is_empty() {
            return Err(format!("turn {i} is empty"));
        }
        let ids = |ty: &str, key: &str| -> Vec<String> {
            blocks
                .iter()
                .filter(|b| b["type"] == ty)
                .filter_map(|b| b[key].as_str().map(String::from))
                .collect()
        };
        if role == "user" {
            let mut answered = ids("tool_result", "tool_use_id");
            answered.sort();
            answered.dedup();
            expected.sort();
            expected.dedup();
            if answered != expected {
                return Err(format!(
                    "turn {i} answers {answered:?}, calls were {expected:?}"
                ));
            }
            expected.clear();
        } else {
            expected = ids("tool_use", "id");
        }
    }
    if !expected.is_empty() {
        return Err(format!("calls {expected:?} are never answered"));
    }
    Ok(())
}

/// The config parser. Any text gives a config or an error that names the file and a line
/// or field; a config that parses also validates, and survives serialise + parse unchanged
/// (what the provider export relies on).
pub fn config_parser(input: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(());
    };
    let file = Path::new("fuzz.toml");
    let config: Config = match parse_str(text, Some(file)) {
        Ok(c) => c,
        Err(e) => {
            if e.file.as_deref() != Some(file) {
                return Err(format!("the error does not name the file: {e}"));
            }
            if e.line.is_none() && e.field.is_none() {
                return Err(format!("the error has neither a line nor a field: {e}"));
            }
            return Ok(());
        }
    };
    validate(&config).map_err(|e| format!("parsed, but validate() refuses it: {e}"))?;
    let again = toml::to_string(&config).map_err(|e| format!("cannot serialise: {e}"))?;
    let back = parse_str(&again, None)
        .map_err(|e| format!("serialised config does not parse ({e}):\n{again}"))?;
    let twice = toml::to_string(&back).map_err(|e| format!("cannot serialise: {e}"))?;
    if twice != again {
        return Err(format!(
            "serialise + parse changed the config:\n{again}\n---\n{twice}"
        ));
    }
    Ok(())
}

/// The request guard and the request peek. Input: NUL-separated fields `host`, `origin`,
/// `x-switchyard-token`, `x-api-key`, `authorization`, `token`, then a request body.
/// Checks that with the default security settings only our own names pass the `Host` check,
/// that an allowed `Origin` is exactly our own address, that a token is accepted only when a
/// header carries exactly it, and that a peeked body is a JSON object whose `model` the
/// proxy can rewrite in place.
pub fn request_guard(input: &[u8]) -> Result<(), String> {
    let mut fields = input.splitn(7, |b| *b == 0);
    let mut next = || fields.next().unwrap_or_default();
    let (host, origin, own, key, auth, token, body) =
        (next(), next(), next(), next(), next(), next(), next());
    let sec = Security::default();
    let listen = SocketAddr::from(([127, 0, 0, 1], 3535));
    let host = String::from_utf8_lossy(host);
    let host_ok = host_allowed(&host, listen, &sec);
    if host_ok {
        let h = host.trim().to_ascii_lowercase();
        let name = h.rsplit_once(':').map_or(h.as_str(), |(n, _)| n);
        if !matches!(name, "localhost" | "127.0.0.1" | "[::1]") {
            return Err(format!("Host {host:?} passed the DNS-rebinding check"));
        }
    }
    let origin = String::from_utf8_lossy(origin);
    if host_ok && origin_allowed(&origin, Some(&host), &sec) {
        let o = origin.trim().trim_end_matches('/');
        let authority = o.strip_prefix("http://").unwrap_or(o);
        if !host_allowed(authority, listen, &sec) || authority.contains('/') {
            return Err(format!("Origin {origin:?} passed for Host {host:?}"));
        }
    }
    if !token.is_empty() {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            ("x-switchyard-token", own),
            ("x-api-key", key),
            ("authorization", auth),
        ] {
            if let Ok(v) = http::HeaderValue::from_bytes(value) {
                headers.insert(name, v);
            }
        }
        let m = token_match(&headers, None, token);
        let exact = |name: &str, want: &[u8]| headers.get(name).is_some_and(|v| v == want);
        // `Authorization`: the bearer scheme in any case, at least one space or tab, the token,
        // optional trailing spaces or tabs.
        let blank = |b: &u8| *b == b' ' || *b == b'\t';
        let by_bearer = headers.get("authorization").is_some_and(|v| {
            let v = v.as_bytes();
            v.len() > 6
                && v[..6].eq_ignore_ascii_case(b"bearer")
                && v.get(6).is_some_and(blank)
                && {
                    let rest = &v[6..];
                    let start = rest.iter().position(|b| !blank(b)).unwrap_or(rest.len());
                    let end = rest
                        .iter()
                        .rposition(|b| !blank(b))
                        .map_or(start, |i| i + 1);
                    start < end && &rest[start..end] == token
                }
        });
        let has = |p: Place| m.contains(&p);
        if has(Place::Own) != exact("x-switchyard-token", token)
            || has(Place::Header("x-api-key")) != exact("x-api-key", token)
            || has(Place::Bearer) != by_bearer
        {
            return Err(format!("token check {m:?} is wrong"));
        }
    }
    peek(body)
}

fn peek(body: &[u8]) -> Result<(), String> {
    let Ok(p) = RequestPeek::parse(body) else {
        return Ok(());
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        // serde_json's Value is stricter about numbers than the skipping peek; nothing to
        // compare against then.
        return Ok(());
    };
    if value["model"].as_str() != Some(p.model.as_str()) {
        return Err(format!("peeked model {:?} differs from the body", p.model));
    }
    let raw = p.raw("model").ok_or("no raw model")?;
    let spliced = splice(body, raw, "\"fuzz-model\"").ok_or("splice refused a peeked body")?;
    let mut edited: Value = serde_json::from_slice(&spliced)
        .map_err(|e| format!("the rewritten body is not JSON: {e}"))?;
    if edited["model"] != "fuzz-model" {
        return Err("the rewrite did not change the model".into());
    }
    edited["model"] = value["model"].clone();
    if edited != value {
        return Err("the rewrite changed more than the model".into());
    }
    Ok(())
}

/// The Gemini inbound dialect. Input: a mode byte, a seed byte for split points, then bytes.
/// Even modes read the bytes as a Gemini `generateContent` body: translating never panics, and
/// a translated request is one Anthropic accepts (no empty text block, every tool_result
/// answers a tool_use of the assistant turn just before it, results first in their turn, turns
/// alternating). Odd modes read the bytes as the hub's Anthropic SSE: the Gemini stream out
/// passes [`check_gemini_stream`](crate::translate::inbound_gemini::check_gemini_stream), and
/// the split points do not change it.
pub fn gemini_inbound(input: &[u8]) -> Result<(), String> {
    use crate::translate::inbound_gemini::{check_gemini_stream, to_anthropic, GeminiStream};
    let [mode, seed, data @ ..] = input else {
        return Ok(());
    };
    if mode % 2 == 0 {
        let Ok(req) = serde_json::from_slice::<Value>(data) else {
            return Ok(());
        };
        let Ok(t) = to_anthropic(&req, "gemini-fuzz", mode & 2 != 0) else {
            return Ok(());
        };
        return hub_request_ok(&t.body).map_err(|e| format!("{e}:\n{}", t.body));
    }
    let run = |pieces: &[&[u8]]| {
        let mut s = GeminiStream::new("gemini-fuzz", mode & 2 != 0);
        let mut out = Vec::new();
        for p in pieces {
            out.extend_from_slice(&s.push(p));
        }
        out.extend_from_slice(&s.end());
        out
    };
    let split = run(&chunks(data, *seed));
    check_gemini_stream(&split).map_err(|e| {
        format!(
            "invalid Gemini stream ({e}):\n{}",
            String::from_utf8_lossy(&split)
        )
    })?;
    let whole = run(&[data]);
    if whole != split {
        return Err(format!(
            "the split points changed the output:\nwhole:\n{}\nsplit:\n{}",
            String::from_utf8_lossy(&whole),
            String::from_utf8_lossy(&split)
        ));
    }
    Ok(())
}

/// The rules Anthropic enforces on a request's turns that a translation must keep.
fn hub_request_ok(body: &Value) -> Result<(), String> {
    let msgs = body["messages"].as_array().ok_or("no messages")?;
    if msgs.is_empty() {
        return Err("no messages".into());
    }
    let mut prev_calls: Vec<&str> = Vec::new();
    let mut prev_role = "";
    for (i, m) in msgs.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or("");
        if role == prev_role {
            return Err(format!("messages[{i}]: two {role} turns in a row"));
        }
        let blocks = m["content"]
            .as_array()
            .ok_or(format!("messages[{i}]: no content list"))?;
        if blocks.is_empty() {
            return Err(format!("messages[{i}]: an empty turn"));
        }
        let mut results_done = false;
        let mut answered = Vec::new();
        for b in blocks {
            match b["type"].as_str() {
                Some("text") if b["text"].as_str().is_none_or(str::is_empty) => {
                    return Err(format!("messages[{i}]: an empty text block"))
                }
                Some("tool_result") => {
                    if results_done {
                        return Err(format!("messages[{i}]: a tool_result after other content"));
                    }
                    let id = b["tool_use_id"].as_str().unwrap_or("");
                    if role != "user" || !prev_calls.contains(&id) {
                        return Err(format!("messages[{i}]: tool_result {id} answers no call"));
                    }
                    answered.push(id);
                }
                _ => results_done = true,
            }
        }
        if role == "user" {
            if let Some(missing) = prev_calls.iter().find(|c| !answered.contains(c)) {
                return Err(format!("messages[{i}]: call {missing} has no result"));
            }
        }
        prev_calls = if role == "assistant" {
            blocks
                .iter()
                .filter(|b| b["type"] == "tool_use")
                .filter_map(|b| b["id"].as_str())
                .collect()
        } else {
            Vec::new()
        };
        prev_role = role;
    }
    Ok(())
}

/// Request translation for every provider kind, exactly as an attempt does it (the adapter's
/// encoding and the `limits.max_translated_kb` bound). Input: a byte that picks the kind (in
/// `ProviderKind::ALL` order), a flags byte (bit 0: a stream; bit 1: a small translation
/// bound of 4 KiB), then an Anthropic Messages request body (read by the Anthropic client
/// dialect, as the pipeline does; what it refuses never reaches a provider). Checks that encoding never
/// panics and ends in time (libFuzzer's timeout), that a refusal says why, that a translated
/// body stays within the bound, and that every body sent is a JSON object asking for the
/// mapped model (in the body, or for Gemini in the URL).
pub fn request_translation(input: &[u8]) -> Result<(), String> {
    use crate::config::{Limits, Provider, Timeouts};
    use crate::inbound::ClientDialect;
    use crate::upstream::adapter::{AttemptCtx, Codec, Op};
    use crate::upstream::Auth;

    static CLIENT: std::sync::OnceLock<crate::upstream::transport::Upstream> =
        std::sync::OnceLock::new();
    let [pick, flags, body @ ..] = input else {
        return Ok(());
    };
    let kind = ProviderKind::ALL[usize::from(*pick) % ProviderKind::ALL.len()];
    let provider = Provider::new("fuzz", kind, "http://127.0.0.1:9");
    let mut limits = Limits::default();
    if flags & 2 != 0 {
        limits.max_translated_kb = 4;
    }
    // What the Anthropic dialect accepts from a client, read as the pipeline reads it.
    let Ok(inbound) =
        crate::inbound::ANTHROPIC.read(bytes::Bytes::copy_from_slice(body), http::HeaderMap::new())
    else {
        return Ok(());
    };
    let request = inbound.request;
    let hops = http::HeaderValue::from_static("sy-fuzz");
    let headers = http::HeaderMap::new();
    let a = AttemptCtx {
        client: CLIENT.get_or_init(|| {
            crate::upstream::transport::Upstream::new(
                reqwest::Client::new(),
                false,
                std::time::Duration::from_secs(1),
            )
        }),
        provider: &provider,
        op: Op::Messages,
        query: None,
        client_headers: &headers,
        request: &request,
        client_model: "claude-fuzz",
        upstream_model: "upstream-fuzz",
        stream: flags & 1 != 0,
        auth: Auth::Nothing,
        timeouts: &Timeouts::default(),
        limits: &limits,
        indicators: &[],
        proxy: None,
        hops: &hops,
        urls: &crate::upstream::urls::UrlCache::default(),
        waited: &crate::upstream::wait::Waited::new(),
    };
    let ad = adapters::of(kind);
    let enc = match crate::upstream::encode(ad, &a) {
        Ok(e) => e,
        Err(msg) if msg.trim().is_empty() => return Err("a refusal without a reason".into()),
        Err(_) => return Ok(()),
    };
    let Some(out) = enc.body else {
        return Err("a Messages request without a body".into());
    };
    if !matches!(enc.codec, Codec::Translate(_)) {
        // Passed through (the hub's own kind): the client's bytes with the model swapped.
        let needle: &[u8] = b"\"upstream-fuzz\"";
        if !out.windows(needle.len()).any(|w| w == needle) {
            return Err(format!(
                "passed through without the mapped model: {}",
                String::from_utf8_lossy(&out)
            ));
        }
        return Ok(());
    }
    if out.len() > limits.translated_bytes() {
        return Err(format!(
            "a translated body of {} bytes passed the {} KiB bound",
            out.len(),
            limits.max_translated_kb
        ));
    }
    let v: Value = serde_json::from_slice(&out).map_err(|e| {
        format!(
            "the body sent is not JSON ({e}): {}",
            String::from_utf8_lossy(&out)
        )
    })?;
    if !v.is_object() {
        return Err(format!("the body sent is not an object: {v}"));
    }
    let url = ad.url(&provider, Op::Messages, "upstream-fuzz", a.stream, None);
    if v.get("model").and_then(Value::as_str) != Some("upstream-fuzz")
        && !url.contains("upstream-fuzz")
    {
        return Err(format!(
            "the mapped model is neither in the body nor in the URL {url}: {v}"
        ));
    }
    Ok(())
}
