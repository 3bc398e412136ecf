// The Requests screen: charts of the last hour and the live request log (newest first),
// with the failover path of each request ("anthropic ✕429 → deepseek ✓").

import { h, icon, replace, rerender, perFrame } from './dom.js';
import { t, num, onLanguage } from './i18n.js';
import { state, on } from './store.js';
import { clock, dateTime, latency, tokens, attemptPath, pathText, splitFailure, reason } from './format.js';
import { bucketize, requestsChart, latencyChart, legend } from './charts.js';

const SHOWN = 300;

function statusBadge(code) {
  const ok = code < 400;
  return h('span', { class: ['badge', ok ? 'state-available' : code === 429 || code === 529 ? 'state-cooling_down' : 'state-unhealthy'] },
    icon(ok ? 'check' : 'x'), h('span', { text: String(code) }));
}

/** The failover path as marks, readable by screen readers as words. */
export function pathView(rec) {
  const steps = attemptPath(rec);
  if (!steps.length) return h('span', { class: 'muted', text: t('requests.no_provider') });
  const spoken = steps.map((a) => (a.ok
    ? t('path.ok', { provider: a.provider })
    : t('path.failed', { provider: a.provider, status: a.status ?? reason(splitFailure(a.failure).code) ?? '' }))).join(t('path.then'));
  const out = h('span', { class: 'path', role: 'img', 'aria-label': spoken, title: pathText(rec), dataset: { path: pathText(rec) } });
  steps.forEach((a, i) => {
    if (i) out.append(' ', h('span', { class: 'path-arrow', 'aria-hidden': 'true', text: '→' }), ' ');
    out.append(h('span', { class: ['path-step', a.ok ? 'ok' : 'bad'] },
      h('span', { class: 'mono', text: a.provider }), ' ',
      h('span', { class: 'path-mark', text: a.ok ? '✓' : `✕${a.status ?? ''}` })));
  });
  return out;
}

function modelLine(rec, compact = false) {
  const up = !compact && rec.upstream_model && rec.upstream_model !== rec.model ? ` · ${rec.upstream_model}` : '';
  return h('span', { class: 'model-line' },
    h('span', { class: 'mono', text: rec.model || rec.route }),
    h('span', { class: 'muted', 'aria-hidden': 'true', text: ' → ' }),
    h('span', { class: 'sr-only', text: ` ${t('requests.to')} ` }),
    h('span', { class: 'mono', text: `${rec.provider || '—'}${up}` }));
}

/** One request: a compact list item (Status screen) or a table row (Requests screen). */
export function requestRow(rec, { compact = false } = {}) {
  if (compact) {
    return h('li', { class: 'mini-req' },
      h('time', { class: 'muted mono', datetime: rec.at, title: dateTime(rec.at), text: clock(rec.at) }),
      modelLine(rec, true), statusBadge(rec.status),
      h('span', { class: 'mono muted mini-lat', text: latency(rec.latency_ms) }),
      rec.attempts?.length > 1 ? h('span', { class: 'mini-path' }, pathView(rec)) : null);
  }
  const failures = (rec.attempts || []).filter((a) => a.failure);
  return h('tr', { class: rec.status >= 400 ? 'is-error' : rec.attempts?.length > 1 ? 'is-failover' : '' },
    h('td', { class: 'c-time' }, h('time', { class: 'mono', datetime: rec.at, title: dateTime(rec.at), text: clock(rec.at) })),
    h('td', { class: 'c-req' }, modelLine(rec),
      rec.stream ? h('span', { class: 'tag tag-quiet', text: t('requests.stream') }) : null,
      rec.rule ? h('span', { class: 'tag tag-quiet rule-tag', title: t('requests.rule_title'), text: t('requests.rule', { rule: rec.rule }) }) : null,
      rec.cache_hit ? h('span', { class: 'tag tag-quiet', text: t('requests.cache_hit') }) : null),
    h('td', { class: 'c-status' }, statusBadge(rec.status)),
    h('td', { class: 'num c-lat' },
      h('span', { class: 'mono', text: latency(rec.latency_ms) }),
      rec.ttfb_ms != null ? h('span', { class: 'muted mono sub', text: t('requests.ttfb', { t: latency(rec.ttfb_ms) }) }) : null),
    h('td', { class: 'num c-tok' }, h('span', { class: 'mono', text: t('requests.tokens', { in: tokens(rec.input_tokens), out: tokens(rec.output_tokens) }) })),
    h('td', { class: 'c-path' }, pathView(rec),
      failures.length || rec.error
        ? h('details', { class: 'why' }, h('summary', { text: t('requests.why') }),
          h('ul', {}, failures.map((a) => h('li', {}, h('span', { class: 'mono', text: a.provider }), `: ${a.failure}`)),
            rec.error ? h('li', { text: rec.error }) : null))
        : null));
}

function matches(rec, filter, text) {
  if (filter === 'failover' && !(rec.attempts?.length > 1)) return false;
  if (filter === 'errors' && rec.status < 400) return false;
  if (text) {
    const hay = `${rec.model} ${rec.upstream_model || ''} ${rec.provider || ''} ${pathText(rec)} ${rec.status} ${rec.rule || ''}`.toLowerCase();
    if (!hay.includes(text)) return false;
  }
  return true;
}

export function mountRequests(panel) {
  let filter = 'all';
  let text = '';
  const head = h('div', { class: 'card-head' });
  const charts = h('section', { class: 'card', 'aria-labelledby': 'charts-title' });
  const tableCard = h('section', { class: 'card', 'aria-labelledby': 'log-title' });
  const tbody = h('tbody', { id: 'request-log' });
  const count = h('p', { class: 'muted count', 'aria-live': 'off' });
  replace(panel, charts, tableCard);

  const select = h('select', { id: 'req-filter', onchange: (e) => { filter = e.target.value; renderLog(); } });
  const search = h('input', { id: 'req-search', type: 'search', autocomplete: 'off', oninput: (e) => { text = e.target.value.trim().toLowerCase(); renderLog(); } });

  // Charts are drawn at the width they get, so their labels stay readable on a phone.
  let drawnWidth = 0;
  function chartWidth() {
    const inner = charts.clientWidth - 42;
    if (inner <= 0) return 520;
    const oneColumn = window.matchMedia('(max-width: 720px)').matches;
    return Math.max(260, Math.min(760, Math.floor(oneColumn ? inner : (inner - 16) / 2)));
  }
  function renderCharts() {
    const order = (state.config?.providers || []).map((p) => p.id);
    const data = bucketize(state.requests, order);
    const w = chartWidth();
    drawnWidth = w;
    replace(charts,
      h('h2', { id: 'charts-title', text: t('chart.title') }),
      h('div', { class: 'grid-2 charts' },
        h('figure', {}, h('figcaption', { text: t('chart.requests_title') }), requestsChart(data, order, w)),
        h('figure', {}, h('figcaption', { text: t('chart.latency_title') }), latencyChart(data, order, w))),
      legend(data, order));
  }
  new ResizeObserver(() => {
    if (charts.clientWidth > 0 && chartWidth() !== drawnWidth) renderCharts();
  }).observe(charts);

  function renderLog() {
    const all = state.requests;
    const rows = [];
    for (let i = all.length - 1; i >= 0 && rows.length < SHOWN; i--) {
      if (matches(all[i], filter, text)) rows.push(requestRow(all[i]));
    }
    replace(tbody, rows);
    count.textContent = t('requests.count', { shown: num(rows.length), total: num(all.length) });
    if (!rows.length) {
      tbody.append(h('tr', {}, h('td', { colspan: 6, class: 'empty', text: all.length ? t('requests.none_match') : t('requests.empty') })));
    }
  }

  function renderFrame() {
    rerender(tableCard, () => {
      replace(select, ['all', 'failover', 'errors'].map((v) => h('option', { value: v, selected: v === filter, text: t(`requests.filter_${v}`) })));
      select.value = filter;
      search.placeholder = t('requests.search_placeholder');
      replace(head,
        h('h2', { id: 'log-title', text: t('requests.title') }),
        h('div', { class: 'filters' },
          h('label', { for: 'req-filter', class: 'sr-only', text: t('requests.filter_label') }), select,
          h('label', { for: 'req-search', class: 'sr-only', text: t('requests.search_label') }), search));
      replace(tableCard, head, count,
        h('div', { class: 'table-wrap' },
          h('table', { class: 'log' },
            h('caption', { class: 'sr-only', text: t('requests.caption') }),
            h('thead', {}, h('tr', {}, ['time', 'request', 'status', 'latency', 'tokens', 'path'].map((c) => h('th', { scope: 'col', text: t(`requests.col_${c}`) })))),
            tbody)));
      renderLog();
    });
  }

  // A burst of requests re-renders once per frame, not once per request.
  const soon = perFrame(() => {
    renderLog();
    renderCharts();
  });
  on('requests', soon);
  on('config', renderCharts);
  onLanguage(() => { renderFrame(); renderCharts(); });
  // Slide the hour window along even when nothing happens.
  setInterval(renderCharts, 60 * 1000);
  renderFrame();
  renderCharts();
}
