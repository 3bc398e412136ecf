// Static checks of ui/ that need no browser: both translations are complete and agree, every
// string the code asks for exists, and the page keeps to its Content-Security-Policy (no inline
// script or style, nothing external, nothing parsed as HTML).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './harness.js';

const UI = path.join(ROOT, 'ui');
const load = async (f) => JSON.parse(await readFile(path.join(UI, 'i18n', f), 'utf8'));
const placeholders = (s) => (s.match(/\{\w+\}/g) || []).sort().join(',');

async function sources() {
  const dir = path.join(UI, 'js');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.js'));
  return Promise.all(files.map(async (f) => ({ file: f, text: await readFile(path.join(dir, f), 'utf8') })));
}

test('en and zh-CN have the same keys and the same placeholders', async () => {
  const en = await load('en.json');
  const zh = await load('zh-CN.json');
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const k of Object.keys(en)) {
    assert.equal(placeholders(zh[k]), placeholders(en[k]), `placeholders of ${k}`);
    assert.ok(zh[k].trim(), `empty zh-CN text for ${k}`);
  }
  // A translation that is still English is a missed one (names and protocols excepted).
  const same = Object.keys(en).filter((k) => en[k] === zh[k] && /[a-z]{4,}/.test(en[k].replace(/\{\w+\}/g, '')) && !/^(app\.title|auth\.|kind\.)/.test(k));
  assert.deepEqual(same, [], 'untranslated zh-CN strings');
});

test('every built-in preset has its note translated', async () => {
  const zh = await load('zh-CN.json');
  const src = await readFile(path.join(ROOT, 'crates/switchyard-core/src/presets.rs'), 'utf8');
  const ids = [...src.matchAll(/^\s+id: "([a-z0-9-]+)",$/gm)].map((m) => m[1]);
  assert.ok(ids.length >= 10, `found presets: ${ids}`);
  const missing = ids.filter((id) => !zh[`preset_note.${id}`]);
  assert.deepEqual(missing, [], 'add preset_note.<id> to ui/i18n/en.json and zh-CN.json');
});

test('every key the UI uses exists', async () => {
  const en = await load('en.json');
  const used = new Set();
  for (const { text } of await sources()) {
    for (const m of text.matchAll(/\bt\('([\w.-]+)'/g)) used.add(m[1]);
    for (const m of text.matchAll(/\btn\('([\w.-]+)'/g)) {
      used.add(`${m[1]}_one`);
      used.add(`${m[1]}_other`);
    }
    for (const m of text.matchAll(/'((?:status|banner)\.[a-z_]+)'\)/g)) used.add(m[1]);
  }
  const html = await readFile(path.join(UI, 'index.html'), 'utf8');
  for (const m of html.matchAll(/data-i18n(?:-label|-title|-placeholder)?="([^"]+)"/g)) used.add(m[1]);
  // Keys built at run time: every value they can take.
  const dynamic = {
    state: ['available', 'cooling_down', 'unhealthy', 'disabled'],
    overall: ['healthy', 'degraded', 'down'],
    reason: ['rate_limited', 'usage_limit', 'out_of_credit', 'overloaded', 'key_rejected', 'key_missing', 'unreachable', 'timeout', 'in_band_error', 'empty_answer', 'malformed'],
    kind: ['anthropic', 'openai', 'gemini'],
    cred: ['keychain', 'env', 'passthrough', 'none'],
    auth: ['x-api-key', 'bearer'],
    conn: ['connecting', 'live', 'reconnecting', 'lost'],
    notify: ['failover', 'recovered', 'all_down', 'key_problem', 'budget', 'failover_help', 'recovered_help', 'all_down_help', 'key_problem_help', 'budget_help'],
    strategy: ['failover', 'round-robin', 'weighted', 'least-latency'].flatMap((s) => [s, `${s}_help`]),
    usage: ['budget_day', 'budget_month', 'over_day', 'over_month',
      ...['provider', 'model', 'requests', 'tokens', 'today', 'month', 'last_30'].map((c) => `col_${c}`),
      ...['input', 'output', 'cache_read', 'cache_write'].flatMap((f) => [`price_${f}`, `price_${f}_n`])],
    banner: ['because_budget_day', 'because_budget_month'],
    activity: ['budget_day', 'budget_month'],
  };
  for (const [prefix, values] of Object.entries(dynamic)) for (const v of values) used.add(`${prefix}.${v}`);
  for (const v of ['all', 'failover', 'errors']) used.add(`requests.filter_${v}`);
  for (const v of ['time', 'request', 'status', 'latency', 'tokens', 'path']) used.add(`requests.col_${v}`);
  const missing = [...used].filter((k) => !(k in en));
  assert.deepEqual(missing, [], 'keys used by the UI but missing from en.json');
});

test('the page keeps to its Content-Security-Policy', async () => {
  const html = await readFile(path.join(UI, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<style/i, 'no inline <style>');
  assert.doesNotMatch(html, /\sstyle=/i, 'no style attributes');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline <script>');
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i, 'no external resources');
  const css = await readFile(path.join(UI, 'styles.css'), 'utf8');
  assert.doesNotMatch(css, /@import|url\(\s*['"]?(https?:)?\/\//i, 'no external CSS resources');
  for (const { file, text } of await sources()) {
    assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, `${file} must not parse strings as code or HTML`);
    assert.doesNotMatch(text, /setAttribute\(\s*'style'/, `${file}: style attributes are blocked by the CSP`);
    assert.doesNotMatch(text, /https?:\/\/(?!\$\{|127\.0\.0\.1|localhost|api\.example\.com|www\.w3\.org)/, `${file} must not reach other hosts`);
  }
});

test('JavaScript files stay small enough to read', async () => {
  for (const { file, text } of await sources()) {
    const lines = text.split('\n').length;
    assert.ok(lines < 800, `${file} has ${lines} lines`);
  }
});
