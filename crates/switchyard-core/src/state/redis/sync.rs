//! The link's two tasks and the re-sync.
//!
//! The **supervisor** connects (a multiplexed connection for commands, one for pub/sub),
//! re-syncs, then applies the other replicas' changes as they arrive and sends a heartbeat
//! every second (which also notices a wiped Redis). When anything breaks it marks the team
//! degraded (logged once per outage) and reconnects with capped, jittered backoff.
//!
//! The **writer** drains the outbox into pipelines on the command connection and publishes
//! changed usage every [`PUBLISH_EVERY`](super::usage::PUBLISH_EVERY).
//!
//! The **re-sync** (after every connect, and when Redis was wiped) first reads what the team
//! shares (pin, active provider, cache generation, cooldowns of the configured providers and
//! keys, sticky sessions, the other replicas' usage) into the local tier, then re-publishes
//! this replica's own running cooldowns, a pin set while Redis was away, and its recent usage.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use futures_util::StreamExt;
use redis::Value;
use tokio::sync::{mpsc, watch};

use super::link::{Out, BATCH};
use super::usage::PUBLISH_EVERY;
use super::wire::{parse_usage_field, CoolWire, Envelope, Msg, SlotWire};
use super::Team;
use crate::state::Replica;

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How often a replica says it is alive.
pub(super) const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a replica counts as alive after its last heartbeat.
const LEASE: Duration = Duration::from_secs(5);
/// Connecting, a heartbeat, a pipeline of changes: the longest each may take.
const OP_TIMEOUT: Duration = Duration::from_secs(2);
/// The whole re-sync.
const SYNC_TIMEOUT: Duration = Duration::from_secs(10);
/// Days of this replica's usage re-published on a re-sync (this month and the last 30 days).
const REPUBLISH_DAYS: i64 = 62;
/// The value the pin key holds for "automatic" (a missing key means Redis lost it).
const AUTO: &str = "auto";

/// Resolves when the engine stops (its output holds no lock across an await).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

enum Ended {
    Stopped,
    Lost(String),
}

/// Connect, re-sync, listen and beat; reconnect when the link breaks; stop with `stop`.
pub(super) async fn supervise(team: Arc<Team>, mut stop: watch::Receiver<bool>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        if *stop.borrow() {
            return;
        }
        let mut synced = false;
        match session(&team, &mut stop, &mut synced).await {
            Ended::Stopped => {
                depart(&team).await;
                return;
            }
            Ended::Lost(why) => team.link.down(&why),
        }
        if synced {
            backoff = BACKOFF_MIN;
        }
        let jitter = Duration::from_millis(u64::from(Utc::now().timestamp_subsec_millis()) % 50);
        tokio::select! {
            _ = tokio::time::sleep(backoff + jitter) => {}
            _ = stopped(&mut stop) => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

fn lost(what: &str, e: impl std::fmt::Display) -> Ended {
    Ended::Lost(format!("{what}: {e}"))
}

async fn session(team: &Team, stop: &mut watch::Receiver<bool>, synced: &mut bool) -> Ended {
    let link = &team.link;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(OP_TIMEOUT))
        .set_response_timeout(Some(OP_TIMEOUT));
    let conn = match tokio::time::timeout(
        OP_TIMEOUT,
        link.client()
            .get_multiplexed_async_connection_with_config(&config),
    )
    .await
    {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return lost("cannot connect", e),
        Err(_) => return Ended::Lost("cannot connect: timed out".into()),
    };
    let mut pubsub = match tokio::time::timeout(OP_TIMEOUT, link.client().get_async_pubsub()).await
    {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return lost("cannot connect for pub/sub", e),
        Err(_) => return Ended::Lost("cannot connect for pub/sub: timed out".into()),
    };
    match tokio::time::timeout(OP_TIMEOUT, pubsub.subscribe(link.keys.channel())).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return lost("cannot subscribe", e),
        Err(_) => return Ended::Lost("cannot subscribe: timed out".into()),
    }
    let mut messages = pubsub.into_on_message();
    link.connected(conn);
    match tokio::time::timeout(SYNC_TIMEOUT, resync(team)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return lost("re-sync failed", e),
        Err(_) => return Ended::Lost("re-sync timed out".into()),
    }
    link.synced();
    *synced = true;
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut first_beat = true;
    loop {
        tokio::select! {
            m = messages.next() => match m {
                Some(m) => team.apply_payload(m.get_payload_bytes()),
                None => return Ended::Lost("the pub/sub connection closed".into()),
            },
            _ = beat.tick() => match heartbeat(team, first_beat).await {
                Ok(true) => first_beat = false,
                Ok(false) => {
                    tracing::warn!("team: Redis lost the team's state (restarted or flushed); re-syncing");
                    if let Err(e) = tokio::time::timeout(SYNC_TIMEOUT, resync(team)).await.map_err(|_| "timed out".to_string()).and_then(|r| r) {
                        return lost("re-sync failed", e);
                    }
                }
                Err(e) => return lost("heartbeat failed", e),
            },
            _ = link.broken.notified() => {
                if link.conn().is_none() {
                    return Ended::Lost("the connection broke".into());
                }
            }
            _ = stopped(stop) => return Ended::Stopped,
        }
    }
}

/// Say this replica is alive and read who else is. `Ok(false)`: this replica's heartbeat was
/// gone although it beat a second ago — Redis was wiped or restarted.
async fn heartbeat(team: &Team, first: bool) -> Result<bool, String> {
    let link = &team.link;
    let mut c = link.conn().ok_or("not connected")?;
    let keys = &link.keys;
    let me = serde_json::json!({
        "replica": link.me,
        "instance": link.instance,
    });
    let mut p = redis::pipe();
    p.cmd("SET")
        .arg(keys.replica(&link.node))
        .arg(me.to_string())
        .arg("PX")
        .arg(LEASE.as_millis() as u64)
        .arg("GET")
        .cmd("SADD")
        .arg(keys.replicas())
        .arg(link.node.as_ref())
        .ignore()
        .cmd("SMEMBERS")
        .arg(keys.replicas());
    let (previous, members): (Option<String>, Vec<String>) =
        tokio::time::timeout(OP_TIMEOUT, p.query_async(&mut c))
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())?;
    if let Some(prev) = &previous {
        let other = serde_json::from_str::<serde_json::Value>(prev)
            .ok()
            .and_then(|v| v["instance"].as_u64())
            .is_some_and(|i| i != link.instance);
        if other {
            tracing::warn!(node = %link.node, "team: another running replica uses the same node name; give each replica its own `[cluster] node`");
        }
    }
    let mut mget = redis::cmd("MGET");
    for m in &members {
        mget.arg(keys.replica(m));
    }
    let infos: Vec<Option<String>> = tokio::time::timeout(OP_TIMEOUT, mget.query_async(&mut c))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let mut replicas = Vec::new();
    let mut gone = Vec::new();
    for (node, info) in members.iter().zip(infos) {
        let r = info
            .and_then(|i| serde_json::from_str::<serde_json::Value>(&i).ok())
            .and_then(|v| serde_json::from_value::<Replica>(v["replica"].clone()).ok());
        match r {
            Some(mut r) => {
                r.this = r.node == *link.node;
                replicas.push(r);
            }
            None => gone.push(node.clone()),
        }
    }
    if !gone.is_empty() {
        let mut srem = redis::cmd("SREM");
        srem.arg(keys.replicas()).arg(&gone);
        link.send(vec![srem], None);
    }
    link.replicas.store(Arc::new(replicas));
    Ok(first || previous.is_some())
}

/// Leave the team on the way out: the heartbeat goes now, not when its lease ends.
async fn depart(team: &Team) {
    let link = &team.link;
    let Some(mut c) = link.conn() else {
        return;
    };
    let mut p = redis::pipe();
    p.cmd("DEL")
        .arg(link.keys.replica(&link.node))
        .ignore()
        .cmd("SREM")
        .arg(link.keys.replicas())
        .arg(link.node.as_ref())
        .ignore();
    let _ = tokio::time::timeout(OP_TIMEOUT, p.query_async::<()>(&mut c)).await;
}

/// Drain the outbox into pipelines; publish changed usage on a tick.
pub(super) async fn write(
    team: Arc<Team>,
    mut rx: mpsc::Receiver<Out>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(PUBLISH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    return;
                }
            }
            _ = tick.tick() => {
                team.publish_dirty_usage();
                continue;
            }
            _ = stopped(&mut stop) => {
                team.publish_dirty_usage();
                while let Ok(o) = rx.try_recv() {
                    batch.push(o);
                }
                flush(&team, &mut batch).await;
                return;
            }
        }
        flush(&team, &mut batch).await;
    }
}

async fn flush(team: &Team, batch: &mut Vec<Out>) {
    let Some(mut c) = team.link.conn() else {
        batch.clear();
        return;
    };
    let channel = team.link.keys.channel();
    let mut pipe = redis::pipe();
    for out in batch.drain(..) {
        for cmd in out.cmds {
            pipe.add_command(cmd).ignore();
        }
        if let Some(m) = out.msg {
            pipe.cmd("PUBLISH")
                .arg(&channel)
                .arg(team.link.envelope(m))
                .ignore();
        }
    }
    match tokio::time::timeout(OP_TIMEOUT, pipe.query_async::<()>(&mut c)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) if e.is_io_error() || e.is_connection_dropped() => {
            team.link.fail(&e.to_string())
        }
        Ok(Err(e)) => tracing::debug!("team: Redis refused a change: {e}"),
        Err(_) => team.link.fail("too slow"),
    }
}

impl Team {
    /// A message from the team's channel: apply another replica's change to the local tier.
    pub(super) fn apply_payload(&self, bytes: &[u8]) {
        let env: Envelope = match serde_json::from_slice(bytes) {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!("team: unreadable message ignored: {e}");
                return;
            }
        };
        if env.from == self.link.instance {
            return;
        }
        let now = Instant::now();
        match env.msg {
            Msg::Cool { provider, c } => {
                let remaining = Duration::from_millis(c.remaining_ms);
                self.router
                    .apply_cooldown(&provider, &c.cooling(remaining), now);
            }
            Msg::Closed { provider } => self.router.apply_closed(&provider),
            Msg::Active { provider } => {
                self.router.set_active(&provider);
            }
            Msg::Pin { provider } => self.router.pin(provider),
            Msg::Reset { provider } => self.router.reset(&provider),
            Msg::KeyCool { provider, c } => {
                let remaining = Duration::from_millis(c.remaining_ms);
                self.router
                    .keys
                    .apply_failed(&provider, &c.cooling(remaining), now);
            }
            Msg::KeyOk { provider, slot } => self.router.keys.succeeded(&provider, slot),
            Msg::Sticky { session, provider } => self.router.apply_sticky(&session, &provider, now),
            Msg::Usage {
                day,
                provider,
                models,
            } => self.apply_usage(&env.node, day, &provider, models),
            Msg::CacheGen { generation } => self.apply_cache_generation(generation),
            Msg::Event { event } => self.apply_event(&env.node, event),
        }
    }
}

fn text(v: &Value) -> Option<String> {
    redis::from_redis_value_ref::<Option<String>>(v)
        .ok()
        .flatten()
}

fn millis(v: &Value) -> Option<Duration> {
    let ms = redis::from_redis_value_ref::<i64>(v).ok()?;
    (ms > 0).then(|| Duration::from_millis(ms as u64))
}

/// Read the team's state into the local tier, then publish this replica's own.
async fn resync(team: &Team) -> Result<(), String> {
    let link = &team.link;
    let keys = &link.keys;
    let mut c = link.conn().ok_or("not connected")?;
    let err = |e: redis::RedisError| e.to_string();
    let providers = team.providers.lock().clone();

    team.scripts.trial.load_async(&mut c).await.map_err(err)?;
    team.scripts.rate.load_async(&mut c).await.map_err(err)?;

    let mut p = redis::pipe();
    p.get(keys.pin()).get(keys.active()).get(keys.cache_gen());
    for (id, slots) in &providers {
        p.get(keys.cool(id)).pttl(keys.cool(id));
        for s in 0..*slots {
            p.get(keys.key_cool(id, s)).pttl(keys.key_cool(id, s));
        }
    }
    let values: Vec<Value> = p.query_async(&mut c).await.map_err(err)?;
    let mut v = values.iter();
    let mut next = || v.next().unwrap_or(&Value::Nil);
    let now = Instant::now();
    let (pin, active, generation) = (text(next()), text(next()), text(next()));
    for (id, slots) in &providers {
        let (cool, left) = (text(next()), millis(next()));
        if let (Some(cool), Some(left)) = (cool, left) {
            if let Ok(w) = serde_json::from_str::<CoolWire>(&cool) {
                team.router.apply_cooldown(id, &w.cooling(left), now);
            }
        }
        for _ in 0..*slots {
            let (cool, left) = (text(next()), millis(next()));
            if let (Some(cool), Some(left)) = (cool, left) {
                if let Ok(w) = serde_json::from_str::<SlotWire>(&cool) {
                    team.router.keys.apply_failed(id, &w.cooling(left), now);
                }
            }
        }
    }
    if team.pin_dirty.swap(false, Ordering::AcqRel) {
        team.publish_pin(team.router.pinned());
    } else {
        match pin.as_deref() {
            Some(AUTO) => team.router.pin(None),
            Some(p) => team.router.pin(Some(p.to_string())),
            // Redis lost it (or nobody ever pinned): keep ours and tell the team.
            None => {
                if let Some(p) = team.router.pinned() {
                    team.publish_pin(Some(p));
                }
            }
        }
    }
    if let Some(a) = active {
        team.router.set_active(&a);
    }
    if let Some(g) = generation.and_then(|g| g.parse().ok()) {
        team.apply_cache_generation(g);
    }
    read_sticky(team, &mut c).await?;
    read_usage(team, &mut c).await?;

    // What this replica knows that Redis may not: its running cooldowns, its usage.
    for (id, _) in team.router.cooling_all(now) {
        team.publish_cooldown(&id, now);
    }
    for (id, c) in team.router.keys.cooling_all(now) {
        team.publish_key_cooldown(&id, c.slot, now);
    }
    let today = Utc::now().date_naive();
    let from = today - chrono::Duration::days(REPUBLISH_DAYS);
    team.dirty_usage.lock().clear();
    for (day, provider) in team.usage.provider_days_since(from) {
        team.publish_usage(day, &provider);
    }
    Ok(())
}

/// Sticky sessions other replicas bound (as many as the local table holds).
async fn read_sticky(team: &Team, c: &mut redis::aio::MultiplexedConnection) -> Result<(), String> {
    let keys = &team.link.keys;
    let mut cursor: u64 = 0;
    let mut found: Vec<String> = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(keys.sticky_all())
            .arg("COUNT")
            .arg(1000)
            .query_async(c)
            .await
            .map_err(|e| e.to_string())?;
        found.extend(batch);
        cursor = next;
        if cursor == 0 || found.len() >= crate::routing::sticky::CAPACITY {
            break;
        }
    }
    let prefix = keys.sticky("");
    let now = Instant::now();
    for chunk in found.chunks(500) {
        let providers: Vec<Option<String>> = redis::cmd("MGET")
            .arg(chunk)
            .query_async(c)
            .await
            .map_err(|e| e.to_string())?;
        for (key, provider) in chunk.iter().zip(providers) {
            if let (Some(session), Some(provider)) = (key.strip_prefix(&prefix), provider) {
                team.router.apply_sticky(session, &provider, now);
            }
        }
    }
    Ok(())
}

/// The other replicas' usage.
async fn read_usage(team: &Team, c: &mut redis::aio::MultiplexedConnection) -> Result<(), String> {
    let keys = &team.link.keys;
    let nodes: Vec<String> = redis::cmd("SMEMBERS")
        .arg(keys.usage_nodes())
        .query_async(c)
        .await
        .map_err(|e| e.to_string())?;
    let oldest: NaiveDate =
        Utc::now().date_naive() - chrono::Duration::days(crate::usage::KEEP_DAYS);
    for node in nodes.iter().filter(|n| **n != *team.link.node) {
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(keys.usage(node))
            .query_async(c)
            .await
            .map_err(|e| e.to_string())?;
        for (field, models) in fields {
            let Some((day, provider)) = parse_usage_field(&field) else {
                continue;
            };
            if day < oldest {
                continue;
            }
            if let Ok(models) = serde_json::from_str(&models) {
                team.apply_usage(node, day, provider, models);
            }
        }
    }
    Ok(())
}
