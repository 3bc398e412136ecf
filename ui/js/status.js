// The Status screen (what is serving, each provider's state, pin controls, recent activity)
// and the banner shown on every screen when traffic is on a backup or nothing is available.

import { h, icon, replace, rerender, perFrame } from './dom.js';
import { t, tn, num, onLanguage } from './i18n.js';
import { state, on, refreshStatus, providerName } from './store.js';
import { api } from './api.js';
import { toast } from './toast.js';
import { clock, dateTime, duration, reason, secondsUntil } from './format.js';
import { requestRow } from './requests.js';
import { selectTab } from './tabs.js';

const STATE_ICON = { available: 'check', cooling_down: 'clock', unhealthy: 'alert', disabled: 'pause' };

/** A state badge that reads without colour: icon + words. */
export function stateBadge(st) {
  return h('span', { class: ['badge', `state-${st}`] }, icon(STATE_ICON[st] || 'circle'), h('span', { text: t(`state.${st}`) }));
}

/** A countdown to `until`, ticked every second by the app clock (see tickCountdowns). */
export function countdown(until, key = 'status.back_in') {
  return h('span', { class: 'countdown', dataset: { until, label: key } }, t(key, { time: duration(secondsUntil(until)) }));
}

/** Update every countdown on the page; re-read the status once one reaches zero. */
export function tickCountdowns() {
  let expired = false;
  for (const el of document.querySelectorAll('[data-until]')) {
    const left = secondsUntil(el.dataset.until);
    el.textContent = t(el.dataset.label, { time: duration(left) });
    if (left <= 0 && !el.dataset.expired) {
      el.dataset.expired = '1';
      expired = true;
    }
  }
  if (expired) refreshStatus().catch(() => {});
}

async function pin(id) {
  try {
    await api.switchTo(id ?? 'auto');
    await refreshStatus();
  } catch (e) {
    toast(e.message, 'error');
  }
}

function primaryOf(s) {
  return s.providers.find((p) => p.enabled) || null;
}

function hero(s) {
  const current = s.current_provider;
  const kind = s.status === 'healthy' ? 'ok' : s.status === 'degraded' ? 'warn' : 'bad';
  const title = s.status === 'down' ? t('hero.down') : t('hero.serving', { name: providerName(current) });
  const mode = s.pinned
    ? h('p', { class: 'hero-mode' }, icon('pin'), ' ', t('hero.pinned', { name: providerName(s.pinned) }), ' ',
      h('button', { type: 'button', class: 'btn btn-small', 'data-focus': 'hero-auto', onclick: () => pin(null), text: t('status.automatic') }))
    : h('p', { class: 'hero-mode' }, icon('bolt'), ' ', t('hero.automatic'));
  const facts = [
    [t('hero.active'), current ? providerName(current) : t('common.none'), 'hero-active'],
    [t('hero.last_served'), s.active_provider ? providerName(s.active_provider) : t('common.none'), 'hero-last'],
    [t('hero.requests'), num(s.requests_total), 'hero-requests'],
    [t('hero.since'), dateTime(s.started_at), 'hero-since'],
  ];
  return h('section', { class: ['card', 'hero', `hero-${kind}`], 'aria-labelledby': 'hero-title' },
    h('div', { class: 'hero-icon' }, icon(kind === 'ok' ? 'check' : kind === 'warn' ? 'alert' : 'x')),
    h('div', { class: 'hero-text' },
      h('p', { class: 'hero-kicker', text: t(`overall.${s.status}`) }),
      h('h2', { id: 'hero-title', class: 'hero-title', text: title }),
      mode),
    h('dl', { class: 'facts' }, facts.map(([k, v, id]) => h('div', { class: 'fact' }, h('dt', { text: k }), h('dd', { id, text: v })))));
}

function providerRow(p, i, s) {
  const isCurrent = s.current_provider === p.id;
  const pinned = s.pinned === p.id;
  const err = p.last_error;
  const notes = [];
  if (p.state === 'cooling_down' && p.cooldown_until) notes.push(countdown(p.cooldown_until));
  if (err) {
    notes.push(h('span', { class: 'last-error' },
      t('status.last_error', { time: clock(err.at), reason: reason(err.reason) }),
      err.status ? ` (${err.status})` : '',
      err.message ? ` — ${err.message}` : ''));
  }
  const totals = p.totals || {};
  return h('li', { class: ['prow', isCurrent && 'is-current'], dataset: { provider: p.id } },
    h('span', { class: 'rank', 'aria-label': t('providers.priority', { n: i + 1 }) }, String(i + 1)),
    h('div', { class: 'prow-main' },
      h('div', { class: 'prow-title' },
        h('strong', { text: p.name || p.id }),
        p.name && p.name !== p.id ? h('span', { class: 'muted mono', text: p.id }) : null,
        isCurrent ? h('span', { class: 'tag tag-current' }, icon('arrow'), h('span', { text: t('status.serving') })) : null,
        pinned ? h('span', { class: 'tag tag-pin' }, icon('pin'), h('span', { text: t('status.pinned_tag') })) : null),
      notes.length ? h('p', { class: 'prow-notes' }, notes) : null),
    h('div', { class: 'prow-meta' },
      stateBadge(p.state),
      p.over_budget ? h('span', { class: 'badge state-cooling_down' }, icon('pause'), h('span', { text: t(`usage.over_${p.over_budget}`) })) : null,
      h('span', { class: 'prow-totals muted' },
        `${tn('count.requests', totals.requests || 0)} · ${tn('count.failovers', totals.failovers || 0)}`)),
    h('div', { class: 'prow-actions' },
      h('button', {
        type: 'button', class: ['btn', 'btn-small', pinned && 'is-on'], 'aria-pressed': String(pinned),
        disabled: !p.enabled, 'data-focus': `pin-${p.id}`,
        'aria-label': pinned ? t('status.unpin_label', { name: p.name || p.id }) : t('status.pin_label', { name: p.name || p.id }),
        onclick: () => pin(pinned ? null : p.id),
      }, icon('pin'), h('span', { text: pinned ? t('status.pinned') : t('status.pin') }))));
}

function activityList() {
  if (!state.activity.length) return h('p', { class: 'empty', text: t('activity.empty') });
  // Team mode: events another replica saw say where.
  const here = state.status?.cluster?.node;
  return h('ul', { class: 'activity' }, state.activity.slice(0, 8).map((a) => h('li', { class: `act-${a.kind}` },
    h('time', { datetime: a.at.toISOString(), class: 'muted mono', text: clock(a.at) }),
    icon(a.kind === 'ok' ? 'check' : a.kind === 'bad' ? 'x' : a.kind === 'warn' ? 'alert' : 'signal'),
    h('span', { text: a.text }),
    a.node && a.node !== here ? h('span', { class: 'tag act-node', text: t('team.on_node', { node: a.node }) }) : null,
    a.detail ? h('span', { class: 'muted act-detail', text: a.detail }) : null)));
}

/** Team mode: the Redis link and the replicas seen. */
function teamCard(c) {
  const ok = c.status === 'ok';
  const explain = ok
    ? t('team.ok_explain', { node: c.node, redis: c.redis })
    : t('team.degraded_explain', { node: c.node, redis: c.redis });
  return h('section', { class: 'card', id: 'status-team', 'aria-labelledby': 'team-title' },
    h('div', { class: 'card-head' },
      h('h2', { id: 'team-title', text: t('team.title') }),
      h('span', { class: ['badge', ok ? 'state-available' : 'state-cooling_down'], id: 'team-state', dataset: { state: c.status } },
        icon(ok ? 'check' : 'alert'), h('span', { text: t(`team.${ok ? 'ok' : 'degraded'}`) }))),
    h('p', { class: 'card-sub muted', text: explain }),
    !ok && c.error ? h('p', { class: 'last-error', text: t('team.why', { error: c.error, time: dateTime(c.degraded_since) }) }) : null,
    h('ul', { class: 'team-replicas', id: 'team-replicas' }, c.replicas.map((r) => h('li', { dataset: { node: r.node } },
      icon('signal'),
      h('strong', { text: r.node }),
      r.self ? h('span', { class: 'tag tag-current', text: t('team.this') }) : null,
      h('span', { class: 'muted mono', text: r.listen }),
      h('span', { class: 'muted', text: t('team.since', { version: r.version, time: dateTime(r.started_at) }) })))));
}

function recentRequests() {
  const recent = state.requests.slice(-6).reverse();
  if (!recent.length) return h('p', { class: 'empty', text: t('requests.empty') });
  return h('ul', { class: 'mini-requests' }, recent.map((r) => requestRow(r, { compact: true })));
}

export function mountStatus(panel) {
  const render = () => rerender(panel, () => {
    const s = state.status;
    if (!s) {
      replace(panel, h('p', { class: 'empty', text: t('common.loading') }));
      return;
    }
    const auto = !s.pinned;
    replace(panel,
      hero(s),
      h('section', { class: 'card', 'aria-labelledby': 'status-providers-title' },
        h('div', { class: 'card-head' },
          h('h2', { id: 'status-providers-title', text: t('status.providers_title') }),
          h('button', {
            type: 'button', class: ['btn', 'btn-small', auto && 'is-on'], 'aria-pressed': String(auto), 'data-focus': 'auto',
            onclick: () => pin(null),
          }, icon('bolt'), h('span', { text: t('status.automatic') }))),
        h('p', { class: 'card-sub muted', text: auto ? t('status.auto_explain') : t('status.pin_explain') }),
        h('ol', { class: 'prows', id: 'status-providers' }, s.providers.map((p, i) => providerRow(p, i, s)))),
      s.cluster ? teamCard(s.cluster) : null,
      h('div', { class: 'grid-2' },
        h('section', { class: 'card', 'aria-labelledby': 'activity-title' },
          h('h2', { id: 'activity-title', text: t('activity.title') }),
          activityList()),
        h('section', { class: 'card', 'aria-labelledby': 'latest-title' },
          h('div', { class: 'card-head' },
            h('h2', { id: 'latest-title', text: t('status.latest') }),
            h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: () => selectTab('requests', true), text: t('status.all_requests') })),
          recentRequests())));
  });
  const soon = perFrame(render);
  for (const topic of ['status', 'config', 'activity', 'requests']) on(topic, soon);
  onLanguage(render);
  render();
  // Team mode: Redis going away or coming back sends no event; look again every few seconds.
  setInterval(() => {
    if (state.status?.cluster && !document.hidden) refreshStatus().catch(() => {});
  }, TEAM_REFRESH_MS);
}

const TEAM_REFRESH_MS = 3000;

/** The banner above the tabs: on a backup, or all down. Silent when all is well. */
export function mountBanner(el, live) {
  let lastText = '';
  const render = () => {
    const s = state.status;
    let content = null;
    let kind = '';
    if (state.connection === 'lost' || state.connection === 'reconnecting') {
      kind = 'bad';
      content = [icon('x'), h('span', { text: t('banner.disconnected') })];
    } else if (s && s.status === 'down' && s.providers.some((p) => p.over_budget) && s.providers.every((p) => p.over_budget || p.state !== 'available')) {
      kind = 'bad';
      content = [icon('x'), h('strong', { text: t('banner.all_over_budget') })];
    } else if (s && s.status === 'down') {
      kind = 'bad';
      const soonest = s.providers.map((p) => p.cooldown_until).filter(Boolean).sort()[0];
      content = [icon('x'), h('strong', { text: t('banner.down') }), ' ',
        soonest ? countdown(soonest, 'banner.next_back') : h('span', { text: t('banner.down_hint') })];
    } else if (s && s.status === 'degraded') {
      kind = 'warn';
      const primary = primaryOf(s);
      const why = primary?.over_budget
        ? t(`banner.because_budget_${primary.over_budget}`, { primary: primary.name || primary.id })
        : primary && primary.state !== 'available'
          ? t('banner.because', { primary: primary.name || primary.id, state: t(`state.${primary.state}`).toLowerCase() })
          : '';
      content = [icon('alert'), h('strong', { text: t('banner.backup', { name: providerName(s.current_provider) }) }), ' ',
        h('span', { text: why }), ' ',
        primary?.cooldown_until ? countdown(primary.cooldown_until) : null];
    }
    document.title = s && s.status !== 'healthy' ? `${t(`overall.${s.status}`)} · ${t('app.title')}` : t('app.title');
    if (!content) {
      el.hidden = true;
      el.replaceChildren();
      if (lastText && live) live.textContent = '';
      lastText = '';
      return;
    }
    const box = h('div', { class: 'banner-inner' }, content);
    el.className = `banner banner-${kind}`;
    el.hidden = false;
    el.replaceChildren(box);
    // Screen readers hear the message once when it changes, not every countdown tick.
    const text = box.textContent.replace(/[\d:]+/g, '').replace(/\s+/g, ' ').trim();
    if (text !== lastText && live) live.textContent = text;
    lastText = text;
  };
  for (const topic of ['status', 'connection', 'config']) on(topic, render);
  onLanguage(render);
  render();
}
