//! What travels through Redis: key names, the change messages replicas publish on the team's
//! channel, and the encoding of cached answers. Nothing here holds a key (provider secrets stay
//! on each replica), a session id (only its hash) or a Redis password.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cache::{Cached, Key};
use crate::events::{Event, FailoverReason};
use crate::protocol::Dialect;
use crate::routing::breaker::{Cooling, LastError};
use crate::routing::keys::SlotCooling;
use crate::routing::Failure;

/// The names of everything Switchyard keeps in Redis, under one prefix.
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_string(),
        }
    }

    /// The channel every change is published on.
    pub(super) fn channel(&self) -> String {
        format!("{}:bus", self.prefix)
    }

    /// A provider's running cooldown (expires with it).
    pub(super) fn cool(&self, provider: &str) -> String {
        format!("{}:cool:{provider}", self.prefix)
    }

    /// The lock of a provider's half-open trial (expires on its own).
    pub(super) fn trial(&self, provider: &str) -> String {
        format!("{}:trial:{provider}", self.prefix)
    }

    /// A pool key's running cooldown (expires with it).
    pub(super) fn key_cool(&self, provider: &str, slot: usize) -> String {
        format!("{}:keycool:{provider}:{slot}", self.prefix)
    }

    /// The pinned provider.
    pub(super) fn pin(&self) -> String {
        format!("{}:pin", self.prefix)
    }

    /// The provider that served last (failover strategy).
    pub(super) fn active(&self) -> String {
        format!("{}:active", self.prefix)
    }

    /// A sticky session (by hash), expiring like the in-process binding.
    pub(super) fn sticky(&self, session: &str) -> String {
        format!("{}:sticky:{session}", self.prefix)
    }

    /// The pattern of every sticky session.
    pub(super) fn sticky_all(&self) -> String {
        format!("{}:sticky:*", self.prefix)
    }

    /// One replica's usage ledger: field `<day>|<provider>`, value the models' counts.
    pub(super) fn usage(&self, node: &str) -> String {
        format!("{}:usage:{node}", self.prefix)
    }

    /// Every node that ever recorded usage.
    pub(super) fn usage_nodes(&self) -> String {
        format!("{}:usage-nodes", self.prefix)
    }

    /// An access token's rate (GCRA theoretical arrival time).
    pub(super) fn rate(&self, token: &str) -> String {
        format!("{}:rate:{token}", self.prefix)
    }

    /// The response cache's generation (a new one empties it everywhere).
    pub(super) fn cache_gen(&self) -> String {
        format!("{}:cache-gen", self.prefix)
    }

    /// A cached answer.
    pub(super) fn cache(&self, generation: u64, key: &Key) -> String {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}:cache:{generation}:{hex}", self.prefix)
    }

    /// A replica's heartbeat (expires when it stops).
    pub(super) fn replica(&self, node: &str) -> String {
        format!("{}:replica:{node}", self.prefix)
    }

    /// The node names that sent heartbeats.
    pub(super) fn replicas(&self) -> String {
        format!("{}:replicas", self.prefix)
    }
}

/// The field of one provider's day in a usage hash.
pub(super) fn usage_field(day: NaiveDate, provider: &str) -> String {
    format!("{day}|{provider}")
}

/// The day and provider of a usage hash field.
pub(super) fn parse_usage_field(f: &str) -> Option<(NaiveDate, &str)> {
    let (day, provider) = f.split_once('|')?;
    Some((day.parse().ok()?, provider))
}

/// A session id as it travels: a hash, so neither Redis nor other replicas see the id.
pub(super) fn session_hash(session: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"switchyard-session\0");
    h.update(session.as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A message on the team's channel.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Envelope {
    /// The sending process (a replica ignores its own messages).
    pub from: u64,
    /// Its node name.
    pub node: String,
    /// The change.
    pub msg: Msg,
}

/// One change a replica made, for the others to apply to their own state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(super) enum Msg {
    /// A provider cools down.
    Cool { provider: String, c: CoolWire },
    /// A provider served again: its breaker is closed.
    Closed { provider: String },
    /// Traffic moved to this provider (failover strategy).
    Active { provider: String },
    /// A pin (or automatic, `None`).
    Pin { provider: Option<String> },
    /// A provider's failures were forgotten.
    Reset { provider: String },
    /// A pool key cools down.
    KeyCool { provider: String, c: SlotWire },
    /// A pool key served again.
    KeyOk { provider: String, slot: usize },
    /// A session was bound to a provider.
    Sticky { session: String, provider: String },
    /// A replica's whole day of one provider (applying it twice changes nothing).
    Usage {
        day: NaiveDate,
        provider: String,
        models: BTreeMap<String, crate::usage::Counts>,
    },
    /// The response cache was emptied: answers of older generations are gone.
    CacheGen { generation: u64 },
    /// Something to show in every UI and tray.
    Event { event: Event },
}

/// A provider's cooldown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CoolWire {
    pub remaining_ms: u64,
    pub length_ms: u64,
    pub failures: u32,
    pub hinted: bool,
    pub key_problem: bool,
    #[serde(default)]
    pub error: Option<ErrorWire>,
}

/// The failure behind a cooldown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ErrorWire {
    pub reason: FailoverReason,
    pub status: Option<u16>,
    pub message: String,
    pub at: DateTime<Utc>,
}

impl CoolWire {
    pub(super) fn of(c: &Cooling) -> Self {
        CoolWire {
            remaining_ms: ms(c.remaining),
            length_ms: ms(c.length),
            failures: c.failures,
            hinted: c.hinted,
            key_problem: c.key_problem,
            error: c.last_error.as_ref().map(|e| ErrorWire {
                reason: e.failure.reason,
                status: e.failure.status,
                message: e.failure.message.clone(),
                at: e.at,
            }),
        }
    }

    /// The cooldown with `remaining` left (from the key's TTL when read back).
    pub(super) fn cooling(&self, remaining: Duration) -> Cooling {
        Cooling {
            remaining,
            length: Duration::from_millis(self.length_ms),
            failures: self.failures,
            hinted: self.hinted,
            key_problem: self.key_problem,
            last_error: self.error.as_ref().map(|e| LastError {
                failure: Failure {
                    reason: e.reason,
                    status: e.status,
                    hint: None,
                    message: e.message.clone(),
                },
                at: e.at,
            }),
        }
    }
}

/// A pool key's cooldown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SlotWire {
    pub slot: usize,
    pub remaining_ms: u64,
    pub failures: u32,
    pub problem: Option<String>,
}

impl SlotWire {
    pub(super) fn of(c: &SlotCooling) -> Self {
        SlotWire {
            slot: c.slot,
            remaining_ms: ms(c.remaining),
            failures: c.failures,
            problem: c.problem.clone(),
        }
    }

    pub(super) fn cooling(&self, remaining: Duration) -> SlotCooling {
        SlotCooling {
            slot: self.slot,
            remaining,
            failures: self.failures,
            problem: self.problem.clone(),
        }
    }
}

/// Milliseconds, at least 1 (a zero TTL is an error in Redis).
pub(super) fn ms(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

/// Events every replica shows: what happened to providers, not this replica's config or
/// request log.
pub(super) fn is_shared(e: &Event) -> bool {
    !matches!(
        e,
        Event::RequestFinished(_) | Event::ConfigChanged | Event::ConfigError { .. }
    )
}

#[derive(Serialize, Deserialize)]
struct CachedHead {
    headers: Vec<(String, String)>,
    provider: String,
    upstream_model: String,
    input_tokens: u64,
    output_tokens: u64,
    dialect: String,
}

/// The dialects an answer can be kept in. An unknown name (a newer replica's dialect) reads
/// back as a miss.
const DIALECTS: [Dialect; 3] = [Dialect::Anthropic, Dialect::OpenAiChat, Dialect::Gemini];

/// A cached answer as stored: one JSON line of metadata, then the body's bytes.
pub(super) fn encode_cached(c: &Cached) -> Vec<u8> {
    let head = CachedHead {
        headers: c
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        provider: c.provider.clone(),
        upstream_model: c.upstream_model.clone(),
        input_tokens: c.input_tokens,
        output_tokens: c.output_tokens,
        dialect: format!("{:?}", c.dialect),
    };
    let mut out = serde_json::to_vec(&head).unwrap_or_default();
    out.push(b'\n');
    out.extend_from_slice(&c.body);
    out
}

/// A stored answer read back; `None` when it is not one.
pub(super) fn decode_cached(bytes: &[u8]) -> Option<Cached> {
    let nl = memchr::memchr(b'\n', bytes)?;
    let head: CachedHead = serde_json::from_slice(&bytes[..nl]).ok()?;
    let dialect = DIALECTS
        .into_iter()
        .find(|d| format!("{d:?}") == head.dialect)?;
    let mut headers = HeaderMap::new();
    for (k, v) in head.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            headers.append(k, v);
        }
    }
    Some(Cached {
        headers,
        body: Bytes::copy_from_slice(&bytes[nl + 1..]),
        provider: head.provider,
        upstream_model: head.upstream_model,
        input_tokens: head.input_tokens,
        output_tokens: head.output_tokens,
        dialect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_answers_round_trip() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("request-id", HeaderValue::from_static("req_1"));
        let c = Cached {
            headers,
            body: Bytes::from_static(b"{\"a\":1}\n\nx"),
            provider: "p".into(),
            upstream_model: "m".into(),
            input_tokens: 3,
            output_tokens: 4,
            dialect: Dialect::OpenAiChat,
        };
        let back = decode_cached(&encode_cached(&c)).expect("decodes");
        assert_eq!(back.body, c.body);
        assert_eq!(back.headers, c.headers);
        assert_eq!(back.dialect, Dialect::OpenAiChat);
        assert_eq!((back.input_tokens, back.output_tokens), (3, 4));
        assert!(decode_cached(b"not a cached answer").is_none());
    }

    #[test]
    fn sessions_travel_as_hashes_and_messages_read_back() {
        let h = session_hash("session-123");
        assert_eq!(h.len(), 32);
        assert!(!h.contains("session"));
        assert_eq!(h, session_hash("session-123"));
        let env = Envelope {
            from: 7,
            node: "a".into(),
            msg: Msg::Event {
                event: Event::Failover {
                    from: "p0".into(),
                    to: "p1".into(),
                    reason: FailoverReason::RateLimited,
                    retry_at: None,
                },
            },
        };
        let text = serde_json::to_string(&env).expect("json");
        let back: Envelope = serde_json::from_str(&text).expect("reads back");
        assert!(matches!(
            back.msg,
            Msg::Event {
                event: Event::Failover { .. }
            }
        ));
        assert_eq!(
            parse_usage_field(&usage_field(NaiveDate::default(), "p-1")),
            Some((NaiveDate::default(), "p-1"))
        );
    }
}
