// The Usage screen: tokens and estimated cost per provider and model (today, this month, the
// last 30 days), a daily cost chart, budget bars, and the editable price table.

import { h, s, icon, replace, rerender, button, announce } from './dom.js';
import { t, tn, num, onLanguage } from './i18n.js';
import { api, plainMessage } from './api.js';
import { state, on, saveConfig, throttle, providerName } from './store.js';
import { onTab, currentTab } from './tabs.js';
import { colorFor } from './charts.js';
import { toast } from './toast.js';

let report = null;
let defaults = null;
let error = null;

/** USD with enough digits for small sums; "unknown" when no request had a price. */
export function cost(c) {
  if (!c || !c.requests) return num(0, { style: 'currency', currency: 'USD' });
  if (c.unpriced === c.requests) return t('usage.cost_unknown');
  const v = c.cost_usd || 0;
  const text = v > 0 && v < 0.0001
    ? `< ${usd(0.0001, 4)}`
    : usd(v, v < 1 ? 4 : 2);
  return c.unpriced ? t('usage.cost_at_least', { cost: text }) : text;
}

function usd(v, digits = 2) {
  return num(v, { style: 'currency', currency: 'USD', minimumFractionDigits: Math.min(2, digits), maximumFractionDigits: digits });
}

/** A round axis top (1, 2 or 5 × 10^k) at or above `v`. */
function niceTop(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((x) => x >= v - 1e-12);
}

function sum(rows, key) {
  const out = { requests: 0, cost_usd: 0, unpriced: 0, tokens: { input: 0, output: 0, cache_read: 0, cache_write: 0 } };
  for (const r of rows) {
    const c = r[key];
    out.requests += c.requests;
    out.cost_usd += c.cost_usd;
    out.unpriced += c.unpriced;
    for (const k of Object.keys(out.tokens)) out.tokens[k] += c.tokens[k];
  }
  return out;
}

function tokens(c) {
  const tk = c.tokens;
  return t('usage.tokens_value', { input: num(tk.input), output: num(tk.output), cache_read: num(tk.cache_read), cache_write: num(tk.cache_write) });
}

function totalsCard() {
  const rows = report.summary;
  const tiles = [['today', 'usage.today'], ['month', 'usage.month'], ['last_30_days', 'usage.last_30']].map(([k, label]) => {
    const c = sum(rows, k);
    return h('div', { class: 'stat', dataset: { period: k } },
      h('span', { class: 'stat-label', text: t(label) }),
      h('strong', { class: 'stat-value', text: cost(c) }),
      h('span', { class: 'muted', text: tn('count.requests', c.requests) }));
  });
  return h('section', { class: 'card', 'aria-labelledby': 'usage-title' },
    h('h2', { id: 'usage-title', text: t('usage.title') }),
    h('p', { class: 'card-sub muted', text: t('usage.estimate_note') }),
    h('div', { class: 'stats', id: 'usage-totals' }, tiles));
}

function budgetsCard() {
  if (!report.budgets.length) return null;
  const bar = (id, spent, limit, label) => limit == null ? null : h('div', { class: 'budget-bar' },
    h('label', { for: `budget-${id}-${label}`, text: t(`usage.budget_${label}`, { spent: num(spent, { style: 'currency', currency: 'USD' }), limit: num(limit, { style: 'currency', currency: 'USD' }) }) }),
    h('progress', { id: `budget-${id}-${label}`, max: String(limit), value: String(Math.min(spent, limit)) }));
  return h('section', { class: 'card', 'aria-labelledby': 'usage-budgets-title' },
    h('h2', { id: 'usage-budgets-title', text: t('usage.budgets_title') }),
    h('ul', { class: 'budgets', id: 'usage-budgets' }, report.budgets.map((b) => h('li', { dataset: { provider: b.provider } },
      h('div', { class: 'row' }, h('strong', { text: providerName(b.provider) }),
        b.over ? h('span', { class: 'badge state-cooling_down' }, icon('pause'), h('span', { text: t(`usage.over_${b.over}`) })) : null),
      bar(b.provider, b.daily_spent_usd, b.daily_limit_usd, 'day'),
      bar(b.provider, b.monthly_spent_usd, b.monthly_limit_usd, 'month')))));
}

const W = 640;
const CH = 170;
const M = { l: 56, r: 8, t: 10, b: 24 };

/** Daily cost over the report's days, stacked per provider. */
function chart() {
  const days = report.daily.map((d) => d.day);
  const order = (state.config?.providers || []).map((p) => p.id);
  const per = new Map();
  for (const r of report.rows) {
    if (!per.has(r.provider)) per.set(r.provider, new Map());
    const m = per.get(r.provider);
    m.set(r.day, (m.get(r.day) || 0) + r.cost_usd);
  }
  const ids = [...per.keys()].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const totals = report.daily.map((d) => d.cost_usd);
  const max = niceTop(Math.max(0.0001, ...totals));
  const digits = Math.max(2, Math.ceil(-Math.log10(max / 2)) + 1);
  const total = totals.reduce((a, b) => a + b, 0);
  const title = t('usage.chart_title', { days: days.length, cost: num(total, { style: 'currency', currency: 'USD' }) });
  const svg = s('svg', { viewBox: `0 0 ${W} ${CH}`, width: '100%', height: CH, class: 'chart', role: 'img', 'aria-label': title });
  const pw = W - M.l - M.r;
  const ph = CH - M.t - M.b;
  for (let i = 0; i <= 2; i++) {
    const y = M.t + ph - (ph * i) / 2;
    svg.append(s('line', { x1: M.l, x2: W - M.r, y1: y, y2: y, class: i === 0 ? 'axis-line' : 'grid-line' }));
    svg.append(s('text', { x: M.l - 6, y: y + 4, class: 'axis-label', 'text-anchor': 'end' }, usd((max * i) / 2, digits)));
  }
  const slot = pw / Math.max(1, days.length);
  days.forEach((day, i) => {
    let y = M.t + ph;
    for (const id of ids) {
      const v = per.get(id).get(day) || 0;
      if (!v) continue;
      const hgt = (ph * v) / max;
      y -= hgt;
      svg.append(s('rect', { x: M.l + i * slot + slot * 0.15, y, width: slot * 0.7, height: Math.max(hgt, 0.5), rx: 1.5, fill: colorFor(id, order) },
        s('title', {}, `${day} · ${id}: ${usd(v, 6)}`)));
    }
  });
  for (const i of [0, days.length - 1]) {
    if (days[i]) svg.append(s('text', { x: M.l + i * slot + (i ? slot : 0), y: CH - 6, class: 'axis-label', 'text-anchor': i ? 'end' : 'start' }, days[i]));
  }
  return h('section', { class: 'card', 'aria-labelledby': 'usage-chart-title' },
    h('h2', { id: 'usage-chart-title', text: t('usage.chart_heading') }), svg,
    ids.length ? h('ul', { class: 'legend' }, ids.map((id) => h('li', {},
      s('svg', { viewBox: '0 0 10 10', class: 'swatch', 'aria-hidden': 'true' }, s('rect', { width: 10, height: 10, rx: 2, fill: colorFor(id, order) })),
      h('span', { class: 'mono', text: id })))) : h('p', { class: 'empty', text: t('usage.empty') }));
}

function tableCard() {
  const cols = ['provider', 'model', 'requests', 'tokens', 'today', 'month', 'last_30'];
  const body = report.summary.length
    ? report.summary.map((r) => h('tr', { dataset: { provider: r.provider, model: r.model } },
      h('td', { text: providerName(r.provider) }),
      h('td', { class: 'mono', text: r.model }),
      h('td', { class: 'num', text: num(r.last_30_days.requests) }),
      h('td', { class: 'num', text: tokens(r.last_30_days) }),
      h('td', { class: 'num', text: cost(r.today) }),
      h('td', { class: 'num', text: cost(r.month) }),
      h('td', { class: 'num', text: cost(r.last_30_days) })))
    : [h('tr', {}, h('td', { colspan: String(cols.length), class: 'empty', text: t('usage.empty') }))];
  return h('section', { class: 'card', 'aria-labelledby': 'usage-table-title' },
    h('h2', { id: 'usage-table-title', text: t('usage.table_title') }),
    h('p', { class: 'card-sub muted', text: t('usage.tokens_legend') }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'log', id: 'usage-table' },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', text: t(`usage.col_${c}`) })))),
      h('tbody', {}, body))));
}

const PRICE_FIELDS = ['input', 'output', 'cache_read', 'cache_write'];

function priceRow(list, pattern = '', price = {}) {
  const n = () => [...list.children].indexOf(row) + 1;
  const pat = h('input', { type: 'text', class: 'mono', value: pattern, placeholder: 'gpt-5*', spellcheck: 'false', autocomplete: 'off' });
  const nums = PRICE_FIELDS.map((f) => h('input', { type: 'number', min: '0', step: 'any', inputmode: 'decimal', value: price[f] ?? '', dataset: { f } }));
  const del = button(t('usage.price_remove'), { icon: 'x', cls: 'btn-icon', hideLabel: true });
  const row = h('tr', { class: 'price-row' }, h('td', {}, pat), nums.map((i) => h('td', {}, i)), h('td', {}, del));
  row.relabel = () => {
    pat.setAttribute('aria-label', t('usage.price_pattern_n', { n: n() }));
    nums.forEach((i, k) => i.setAttribute('aria-label', t(`usage.price_${PRICE_FIELDS[k]}_n`, { n: n() })));
  };
  del.addEventListener('click', () => {
    row.remove();
    for (const r of list.children) r.relabel?.();
  });
  list.append(row);
  row.relabel();
  return row;
}

function pricesCard() {
  const list = h('tbody', { id: 'price-rows' });
  for (const [k, v] of Object.entries(state.config?.prices || {})) priceRow(list, k, v);
  const err = h('p', { class: 'field-error', id: 'price-error', role: 'alert' });
  const save = async () => {
    err.textContent = '';
    const out = {};
    for (const row of list.children) {
      const [pat, ...vals] = [...row.querySelectorAll('input')].map((i) => i.value.trim());
      if (!pat && vals.every((v) => !v)) continue;
      const nums = vals.map((v) => (v === '' ? 0 : Number(v)));
      if (!pat || nums.some((v) => !Number.isFinite(v) || v < 0)) {
        err.textContent = t('usage.price_invalid');
        return;
      }
      out[pat] = Object.fromEntries(PRICE_FIELDS.map((f, i) => [f, nums[i]]));
    }
    try {
      await saveConfig((c) => { c.prices = out; });
      toast(t('usage.prices_saved'), 'ok');
      announce(t('usage.prices_saved'));
      load();
    } catch (e) {
      err.textContent = plainMessage(e.message);
    }
  };
  const defaultsList = defaults ? Object.entries(defaults).map(([k, v]) => h('tr', {},
    h('td', { class: 'mono', text: k }), PRICE_FIELDS.map((f) => h('td', { class: 'num', text: num(v[f]) })))) : [];
  return h('section', { class: 'card', id: 'usage-prices', 'aria-labelledby': 'usage-prices-title' },
    h('h2', { id: 'usage-prices-title', text: t('usage.prices_title') }),
    h('p', { class: 'card-sub muted', text: t('usage.prices_help') }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'log prices', id: 'price-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('usage.price_pattern') }),
        PRICE_FIELDS.map((f) => h('th', { scope: 'col', text: t(`usage.price_${f}`) })), h('th', {}))),
      list)),
    err,
    h('div', { class: 'row' },
      button(t('usage.price_add'), { icon: 'plus', cls: 'btn btn-small', id: 'price-add', onclick: () => priceRow(list).querySelector('input').focus() }),
      h('span', { class: 'spacer' }),
      button(t('action.save'), { cls: 'btn btn-primary', id: 'price-save', onclick: save })),
    h('details', { class: 'defaults' }, h('summary', { text: t('usage.defaults_title') }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'log' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('usage.price_pattern') }), PRICE_FIELDS.map((f) => h('th', { scope: 'col', text: t(`usage.price_${f}`) })))),
        h('tbody', {}, defaultsList)))));
}

let panelEl = null;

function render() {
  if (!panelEl) return;
  rerender(panelEl, () => {
    if (error) {
      replace(panelEl, h('p', { class: 'field-error', text: error }));
      return;
    }
    if (!report) {
      replace(panelEl, h('p', { class: 'empty', text: t('common.loading') }));
      return;
    }
    // Rows the user is editing in the price table survive live updates until saved.
    const old = panelEl.querySelector('#usage-prices');
    const editing = old && (old.querySelector('[data-dirty]') || old.contains(document.activeElement));
    replace(panelEl, totalsCard(), budgetsCard(), chart(), tableCard(), editing ? old : pricesCard());
  });
}

async function load() {
  try {
    const [r, p] = await Promise.all([api.usage(30), defaults ? null : api.prices()]);
    report = r;
    if (p) defaults = p.defaults;
    error = null;
  } catch (e) {
    error = e.message;
  }
  render();
}

export function mountUsage(panel) {
  panelEl = panel;
  const soon = throttle(() => {
    if (currentTab() === 'usage') load();
  }, 1000);
  onTab((id) => {
    if (id === 'usage') load();
  });
  // Usage changes with every request; the price table changes with the config. Neither
  // re-renders while the user is typing in the price table (the save reloads).
  on('requests', soon);
  on('config', () => {
    if (currentTab() === 'usage') load();
  });
  onLanguage(render);
  render();
  if (currentTab() === 'usage') load();
}
