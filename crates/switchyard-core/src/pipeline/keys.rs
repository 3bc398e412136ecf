//! One provider's turn in a request: resolve its credential, choose the key (round-robin over
//! its pool, skipping cooling keys), run the attempt, and move to the provider's next key when
//! a key, not the provider, is the problem. Also words failures of a configured proxy so they
//! name it.

use std::time::Instant;

use super::context::RequestCtx;
use crate::config::{Credential, Provider};
use crate::engine::Engine;
use crate::events::FailoverReason;
use crate::routing::keys::{is_key_failure, pool_size, slot_name};
use crate::routing::Failure;
use crate::secrets::{self, Secret, SecretError};
use crate::upstream::{net, AttemptCtx, Auth, Outcome};

/// The credential for a provider, resolved.
pub(crate) enum ResolvedAuth {
    /// The client's own.
    Passthrough,
    /// A stored key.
    Key(Secret),
    /// None at all.
    Nothing,
}

impl ResolvedAuth {
    /// As an attempt's credential.
    pub(crate) fn as_auth(&self) -> Auth<'_> {
        match self {
            ResolvedAuth::Passthrough => Auth::Passthrough,
            ResolvedAuth::Key(s) => Auth::Key(s),
            ResolvedAuth::Nothing => Auth::Nothing,
        }
    }
}

/// A provider's credential (its first key when it has a pool).
pub(crate) async fn auth_for(e: &Engine, p: &Provider) -> Result<ResolvedAuth, Failure> {
    match &p.credential {
        Credential::Passthrough => Ok(ResolvedAuth::Passthrough),
        Credential::None => Ok(ResolvedAuth::Nothing),
        cred => match e.provider_key(&p.id, cred).await {
            Ok(Some(k)) => Ok(ResolvedAuth::Key(k)),
            Ok(None) => Err(Failure::new(
                FailoverReason::KeyMissing,
                match cred {
                    Credential::Env(v) => format!(
                        "no key for {}: environment variable {v} is not set",
                        p.display_name()
                    ),
                    _ => format!(
                        "no key stored for {}: run `switchyard keys set {}` or add it in the app",
                        p.display_name(),
                        p.id
                    ),
                },
            )),
            Err(err) => Err(Failure::new(
                FailoverReason::KeyMissing,
                format!("cannot read the key for {}: {err}", p.display_name()),
            )),
        },
    }
}

/// The key in one slot of a provider's pool (slot 0 is the provider's only key when it has no
/// pool).
pub(crate) async fn slot_key(
    e: &Engine,
    p: &Provider,
    slot: usize,
) -> Result<Option<Secret>, SecretError> {
    match &p.credential {
        Credential::Env(vars) => match vars.split(',').nth(slot) {
            Some(var) => secrets::from_env(var.trim()),
            None => Ok(None),
        },
        Credential::Keychain => {
            e.provider_key(&slot_name(&p.id, slot), &Credential::Keychain)
                .await
        }
        Credential::Passthrough | Credential::None => Ok(None),
    }
}

/// Run one provider's attempt, choosing the key. `Err` is a failure before anything was sent
/// (no usable key); the caller records it like a `Retry`.
pub(crate) async fn attempt(
    ctx: &RequestCtx,
    p: &Provider,
    upstream_model: &str,
) -> Result<Outcome, Failure> {
    let e = &*ctx.engine;
    let template = ctx.attempt(p, upstream_model, Auth::Nothing);
    match &p.credential {
        Credential::Passthrough => {
            return Ok(run(AttemptCtx {
                auth: Auth::Passthrough,
                ..template
            })
            .await)
        }
        Credential::None => return Ok(run(template).await),
        Credential::Keychain | Credential::Env(_) => {}
    }
    let n = pool_size(p);
    if n == 1 {
        // No pool: exactly the single-key behaviour (the provider's breaker does the cooling).
        let key = auth_for(e, p).await?;
        return Ok(run(AttemptCtx {
            auth: key.as_auth(),
            ..template
        })
        .await);
    }
    let now = Instant::now();
    let order = e.routing().key_order(&p.id, n, now);
    if order.is_empty() {
        return Err(all_cooling(e, p, n, now));
    }
    let mut last: Option<Outcome> = None;
    let mut unreadable: Option<Failure> = None;
    for slot in order {
        let key = match slot_key(e, p, slot).await {
            Ok(Some(k)) => k,
            Ok(None) => {
                let f = Failure::new(FailoverReason::KeyMissing, missing_message(p, slot));
                e.routing().key_failed(&p.id, slot, &f, Instant::now());
                tracing::warn!(provider = %p.id, slot = slot + 1, "{}", f.message);
                unreadable = Some(f);
                continue;
            }
            Err(err) => {
                let f = Failure::new(
                    FailoverReason::KeyMissing,
                    format!(
                        "cannot read key {} of {}: {err}",
                        slot + 1,
                        p.display_name()
                    ),
                );
                e.routing().key_failed(&p.id, slot, &f, Instant::now());
                unreadable = Some(f);
                continue;
            }
        };
        let outcome = run(AttemptCtx {
            auth: Auth::Key(&key),
            ..template
        })
        .await;
        match outcome {
            Outcome::Retry(mut f, ans) if is_key_failure(f.reason) => {
                if f.reason == FailoverReason::KeyRejected {
                    f.message = format!(
                        "key {} ({}) of {} was refused{}: {}",
                        slot + 1,
                        key.hint(),
                        p.display_name(),
                        f.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
                        f.message
                    );
                    if matches!(p.credential, Credential::Keychain) {
                        e.secrets().invalidate_one(&slot_name(&p.id, slot));
                    }
                    // The user has to act on a refused key even while the others serve.
                    e.emit(crate::events::Event::KeyProblem {
                        provider: p.id.clone(),
                        reason: f.reason,
                    });
                } else {
                    f.message = format!("key {} ({}): {}", slot + 1, key.hint(), f.message);
                }
                let cooled = e.routing().key_failed(&p.id, slot, &f, Instant::now());
                tracing::warn!(provider = %p.id, slot = slot + 1, secs = cooled.as_secs(), "key cooling down: {}", f.message);
                last = Some(Outcome::Retry(f, ans));
            }
            other => {
                if matches!(other, Outcome::Success(_)) {
                    e.routing().key_succeeded(&p.id, slot);
                }
                return Ok(other);
            }
        }
    }
    // Every key failed or is cooling: the provider itself is out until the first key is back.
    match last {
        Some(Outcome::Retry(mut f, ans)) => {
            if let Some(back) = e.routing().key_next_back(&p.id, n, Instant::now()) {
                f.hint = Some(back);
            }
            f.message = format!(
                "every key of {} is cooling down; last: {}",
                p.display_name(),
                f.message
            );
            Ok(Outcome::Retry(f, ans))
        }
        Some(other) => Ok(other),
        // No key could even be read: a key problem, not a rate limit.
        None => Err(unreadable.unwrap_or_else(|| all_cooling(e, p, n, Instant::now()))),
    }
}

fn missing_message(p: &Provider, slot: usize) -> String {
    match &p.credential {
        Credential::Env(vars) => format!(
            "no key {} for {}: environment variable {} is not set",
            slot + 1,
            p.display_name(),
            vars.split(',').nth(slot).unwrap_or(vars).trim()
        ),
        _ => format!(
            "no key {} stored for {}: run `switchyard keys set {} --slot {}` or add it in the app",
            slot + 1,
            p.display_name(),
            p.id,
            slot + 1
        ),
    }
}

fn all_cooling(e: &Engine, p: &Provider, n: usize, now: Instant) -> Failure {
    let back = e.routing().key_next_back(&p.id, n, now);
    Failure::new(
        FailoverReason::RateLimited,
        format!(
            "every key of {} is cooling down{}",
            p.display_name(),
            back.map(|d| format!(" (the first is back in {} s)", d.as_secs().max(1)))
                .unwrap_or_default()
        ),
    )
    .with_hint(back)
}

/// Run the attempt; an HTTP proxy's own 407 answer becomes a failure that names the proxy.
async fn run(a: AttemptCtx<'_>) -> Outcome {
    let proxy = a.proxy;
    let out = crate::upstream::attempt(a).await;
    let Some(proxy) = proxy else { return out };
    match out {
        Outcome::ClientError(ans) if ans.status.as_u16() == 407 => {
            Outcome::Retry(net::proxy_auth_failure(proxy), None)
        }
        Outcome::Retry(f, _) if f.status == Some(407) => {
            Outcome::Retry(net::proxy_auth_failure(proxy), None)
        }
        other => other,
    }
}
