// Two small charts drawn as inline SVG (no library): requests per provider and median latency
// per provider, in 5-minute buckets over the last hour. Each chart has a text summary for
// screen readers, and the legend carries the numbers, so nothing depends on colour alone.

import { h, s } from './dom.js';
import { t, tn, num } from './i18n.js';
import { latency } from './format.js';

// Mid-tone colours that read on light and dark backgrounds.
const PALETTE = ['#4f6bed', '#e07b39', '#22998b', '#c0508f', '#8a6dd8', '#b8921c', '#3596d6', '#6f8a2e'];

export function colorFor(id, order) {
  const i = order.indexOf(id);
  return i < 0 ? '#8a8f98' : PALETTE[i % PALETTE.length];
}

const H = 190;
const M = { l: 48, r: 10, t: 12, b: 26 };
const BUCKETS = 12;
const SPAN_MS = 60 * 60 * 1000;

/** Round axis steps (1, 2, 5 × 10^k) with 2–5 ticks covering `max`. */
function axis(max, integer) {
  if (max <= 0) return { top: integer ? 4 : 1, step: integer ? 1 : 0.25 };
  const raw = max / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw) || 10 * p;
  if (integer) step = Math.max(1, Math.round(step));
  return { top: step * Math.ceil(max / step), step };
}

function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** Bucket the last hour's requests: {ids, counts[id][b], lat[id][b] (median ms or null)}. */
export function bucketize(records, order, now = Date.now()) {
  const start = now - SPAN_MS;
  const width = SPAN_MS / BUCKETS;
  const seen = new Map();
  for (const r of records) {
    if (!r.provider) continue;
    const at = new Date(r.at).getTime();
    if (!(at >= start && at <= now)) continue;
    const b = Math.min(BUCKETS - 1, Math.floor((at - start) / width));
    if (!seen.has(r.provider)) seen.set(r.provider, Array.from({ length: BUCKETS }, () => []));
    seen.get(r.provider)[b].push(r.latency_ms);
  }
  const ids = [...seen.keys()].sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) || a.localeCompare(b);
  });
  const counts = {};
  const lat = {};
  const totals = {};
  for (const id of ids) {
    const per = seen.get(id);
    counts[id] = per.map((l) => l.length);
    lat[id] = per.map((l) => (l.length ? median(l) : null));
    const all = per.flat();
    totals[id] = { n: all.length, median: all.length ? median(all) : null };
  }
  return { ids, counts, lat, totals };
}

function frame(title, { top, step }, yFmt, W) {
  const id = `chart-${title.replace(/\W+/g, '-')}-${Math.random().toString(36).slice(2, 7)}`;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'chart', role: 'img', 'aria-labelledby': id });
  svg.append(s('title', { id }, title));
  const ph = H - M.t - M.b;
  const n = Math.round(top / step);
  for (let i = 0; i <= n; i++) {
    const y = M.t + ph - (ph * i) / n;
    svg.append(s('line', { x1: M.l, x2: W - M.r, y1: y, y2: y, class: i === 0 ? 'axis-line' : 'grid-line' }));
    svg.append(s('text', { x: M.l - 6, y: y + 4, class: 'axis-label', 'text-anchor': 'end' }, yFmt(step * i)));
  }
  const pw = W - M.l - M.r;
  const marks = W < 400
    ? [[0, t('chart.ago', { n: 60 })], [6, t('chart.ago', { n: 30 })], [12, t('chart.now')]]
    : [[0, t('chart.ago', { n: 60 })], [4, t('chart.ago', { n: 40 })], [8, t('chart.ago', { n: 20 })], [12, t('chart.now')]];
  for (const [i, label] of marks) {
    const x = M.l + (pw * i) / BUCKETS;
    svg.append(s('text', { x, y: H - 8, class: 'axis-label', 'text-anchor': i === 0 ? 'start' : i === 12 ? 'end' : 'middle' }, label));
  }
  return svg;
}

export function requestsChart(data, order, W = 520) {
  const totalsPerBucket = Array.from({ length: BUCKETS }, (_, b) => data.ids.reduce((a, id) => a + data.counts[id][b], 0));
  const ax = axis(Math.max(0, ...totalsPerBucket), true);
  const yMax = ax.top;
  const summary = data.ids.length
    ? data.ids.map((id) => t('chart.req_summary_item', { provider: id, n: num(data.totals[id].n) })).join(', ')
    : t('chart.no_data');
  const svg = frame(`${t('chart.requests_title')}: ${summary}`, ax, (v) => num(v), W);
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const slot = pw / BUCKETS;
  for (let b = 0; b < BUCKETS; b++) {
    let y = M.t + ph;
    for (const id of data.ids) {
      const n = data.counts[id][b];
      if (!n) continue;
      const hgt = (ph * n) / yMax;
      y -= hgt;
      svg.append(s('rect', { x: M.l + b * slot + slot * 0.18, y, width: slot * 0.64, height: Math.max(hgt, 0.5), rx: 2, fill: colorFor(id, order) },
        s('title', {}, `${id}: ${tn('count.requests', n)}`)));
    }
  }
  return svg;
}

export function latencyChart(data, order, W = 520) {
  const all = data.ids.flatMap((id) => data.lat[id].filter((v) => v !== null));
  const ax = axis(Math.max(0, ...all), false);
  const yMax = ax.top;
  const summary = data.ids.length
    ? data.ids.map((id) => t('chart.lat_summary_item', { provider: id, ms: latency(data.totals[id].median) })).join(', ')
    : t('chart.no_data');
  const svg = frame(`${t('chart.latency_title')}: ${summary}`, ax, (v) => (v ? latency(v) : '0'), W);
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const slot = pw / BUCKETS;
  for (const id of data.ids) {
    const color = colorFor(id, order);
    let d = '';
    let pen = false;
    data.lat[id].forEach((v, b) => {
      if (v === null) {
        pen = false;
        return;
      }
      const x = M.l + b * slot + slot / 2;
      const y = M.t + ph - (ph * v) / yMax;
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)} `;
      pen = true;
      svg.append(s('circle', { cx: x, cy: y, r: 3.2, fill: color },
        s('title', {}, t('chart.point_title', { provider: id, ms: latency(v) }))));
    });
    if (d) svg.insertBefore(s('path', { d, fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-linejoin': 'round' }), svg.querySelector('circle'));
  }
  return svg;
}

export function legend(data, order) {
  if (!data.ids.length) return h('p', { class: 'empty', text: t('chart.no_data') });
  return h('ul', { class: 'legend' }, data.ids.map((id) => h('li', {},
    s('svg', { viewBox: '0 0 10 10', class: 'swatch', 'aria-hidden': 'true' }, s('rect', { width: 10, height: 10, rx: 2, fill: colorFor(id, order) })),
    h('span', { class: 'mono', text: id }),
    h('span', { class: 'muted', text: t('chart.legend_item', { requests: tn('count.requests', data.totals[id].n), ms: latency(data.totals[id].median) }) }))));
}
