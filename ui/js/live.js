// Live updates from GET /api/events (server-sent events). The first event is a status snapshot;
// after that, typed events say what changed and we re-read only what they affect.

import {
  state, emit, setStatus, refreshStatus, refreshConfig, refreshKeys, refreshRequests, refreshClaude,
  addRequest, addActivity, throttle,
} from './store.js';
import { toast } from './toast.js';
import { t, num } from './i18n.js';
import { reason } from './format.js';
import { providerName } from './store.js';

// Totals and "last answered by" change with every request: re-read them at most once a second.
const statusSoon = throttle(() => refreshStatus().catch(() => {}), 1000);

function parse(e) {
  try {
    return JSON.parse(e.data);
  } catch {
    return {};
  }
}

function setConnection(c) {
  if (state.connection === c) return;
  state.connection = c;
  emit('connection');
}

let source = null;
let everOpen = false;

export function connect() {
  source?.close();
  source = new EventSource('/api/events');

  source.addEventListener('open', () => {
    setConnection('live');
    // After a reconnect, catch up on whatever happened while we were away.
    if (everOpen) {
      refreshConfig().catch(() => {});
      refreshKeys().catch(() => {});
      refreshRequests().catch(() => {});
      refreshClaude().catch(() => {});
    }
    everOpen = true;
  });
  source.addEventListener('error', () => {
    setConnection(source.readyState === EventSource.CLOSED ? 'lost' : 'reconnecting');
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
  });

  source.addEventListener('status', (e) => setStatus(parse(e)));

  source.addEventListener('failover', (e) => {
    const d = parse(e);
    addActivity({ kind: 'warn', node: d.node, text: t('activity.failover', { from: providerName(d.from), to: providerName(d.to), reason: reason(d.reason) }) });
    refreshStatus().catch(() => {});
  });
  source.addEventListener('recovered', (e) => {
    const d = parse(e);
    addActivity({ kind: 'ok', node: d.node, text: t('activity.recovered', { provider: providerName(d.provider) }) });
    refreshStatus().catch(() => {});
  });
  source.addEventListener('cooling_down', (e) => {
    const d = parse(e);
    addActivity({
      kind: 'warn',
      node: d.node,
      text: t('activity.cooling', { provider: providerName(d.provider), reason: reason(d.reason) }),
      detail: d.message,
    });
    refreshStatus().catch(() => {});
  });
  source.addEventListener('switched', (e) => {
    const d = parse(e);
    addActivity({ kind: 'info', node: d.node, text: d.pinned ? t('activity.pinned', { provider: providerName(d.pinned) }) : t('activity.unpinned') });
    refreshStatus().catch(() => {});
  });
  source.addEventListener('all_down', (e) => {
    addActivity({ kind: 'bad', node: parse(e).node, text: t('activity.all_down') });
    refreshStatus().catch(() => {});
  });
  source.addEventListener('key_problem', (e) => {
    const d = parse(e);
    const text = t('activity.key_problem', { provider: providerName(d.provider), reason: reason(d.reason) });
    addActivity({ kind: 'bad', node: d.node, text });
    toast(text, 'error');
    refreshKeys().catch(() => {});
    refreshStatus().catch(() => {});
  });
  source.addEventListener('budget_exceeded', (e) => {
    const d = parse(e);
    const text = t(`activity.budget_${d.period === 'month' ? 'month' : 'day'}`, {
      provider: providerName(d.provider),
      spent: num(d.spent, { style: 'currency', currency: 'USD' }),
      limit: num(d.limit, { style: 'currency', currency: 'USD' }),
    });
    addActivity({ kind: 'warn', node: d.node, text });
    toast(text, 'error');
    refreshStatus().catch(() => {});
  });
  source.addEventListener('config_changed', () => {
    refreshConfig().catch(() => {});
    refreshKeys().catch(() => {});
    refreshStatus().catch(() => {});
  });
  source.addEventListener('config_error', (e) => {
    const d = parse(e);
    addActivity({ kind: 'bad', text: t('activity.config_error'), detail: d.message });
    toast(`${t('activity.config_error')} ${d.message || ''}`, 'error');
  });
  source.addEventListener('request', (e) => {
    addRequest(parse(e));
    statusSoon();
  });
  // We were too slow and missed events: re-read everything.
  source.addEventListener('lagged', () => {
    refreshStatus().catch(() => {});
    refreshRequests().catch(() => {});
  });
}
