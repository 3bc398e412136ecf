// Settings → Access tokens: named tokens for clients on other machines, each with an optional
// request rate. A new token's value is shown once, with a copy button; the list shows name,
// rate, creation, last use and request count, never a value.

import { h, replace, announce, button } from './dom.js';
import { t } from './i18n.js';
import { api, plainMessage } from './api.js';
import { toast } from './toast.js';
import { confirmDialog } from './dialog.js';
import { dateTime } from './format.js';
import { copy } from './integrations.js';

let tokens = null;
let loadError = '';
/** The token created last: {name, token}, until dismissed. Kept in memory only. */
let fresh = null;
let host = null;

function redraw() {
  if (host && host.isConnected) replace(host, body());
}

async function load() {
  try {
    tokens = (await api.tokens()).tokens || [];
    loadError = '';
  } catch (e) {
    loadError = plainMessage(e.message);
  }
  redraw();
}

async function create(form) {
  const name = form.querySelector('#token-name');
  const rate = form.querySelector('#token-rate');
  const err = form.querySelector('#token-error');
  err.textContent = '';
  name.removeAttribute('aria-invalid');
  const n = name.value.trim();
  if (!/^[a-z0-9_-]{1,64}$/.test(n)) {
    err.textContent = t('tokens.name_invalid');
    name.setAttribute('aria-invalid', 'true');
    name.focus();
    return;
  }
  const r = rate.value.trim() === '' ? null : Number(rate.value);
  if (r !== null && (!Number.isInteger(r) || r < 0)) {
    err.textContent = t('tokens.rate_invalid');
    rate.setAttribute('aria-invalid', 'true');
    rate.focus();
    return;
  }
  try {
    const made = await api.createToken(n, r);
    fresh = { name: made.name, token: made.token };
    announce(t('tokens.created', { name: made.name }));
    await load();
    document.getElementById('token-value')?.focus();
  } catch (e) {
    err.textContent = plainMessage(e.message);
  }
}

async function remove(name) {
  const r = await confirmDialog({
    title: t('tokens.delete_title', { name }),
    message: t('tokens.delete_body'),
    confirmLabel: t('action.delete'),
    danger: true,
  });
  if (!r.ok) return;
  try {
    await api.deleteToken(name);
    if (fresh?.name === name) fresh = null;
    toast(t('tokens.deleted', { name }), 'ok');
  } catch (e) {
    toast(plainMessage(e.message), 'error');
  }
  await load();
}

function freshBox() {
  if (!fresh) return null;
  const input = h('input', { type: 'text', id: 'token-value', class: 'mono', readonly: true, value: fresh.token, onfocus: (e) => e.target.select() });
  const copyBtn = button(t('action.copy'), { icon: 'copy', cls: 'btn', 'aria-label': t('tokens.copy_label', { name: fresh.name }) });
  copyBtn.addEventListener('click', () => copy(input.value, copyBtn));
  const done = button(t('tokens.done'), { cls: 'btn' });
  done.addEventListener('click', () => {
    fresh = null;
    redraw();
  });
  return h('div', { class: 'note', role: 'status' },
    h('div', { class: 'field' },
      h('label', { for: 'token-value', text: t('tokens.value_label', { name: fresh.name }) }),
      h('div', { class: 'row copy-row' }, input, copyBtn, done),
      h('p', { class: 'help', text: t('tokens.value_once') })));
}

function table() {
  if (loadError) return h('p', { class: 'field-error', text: loadError });
  if (!tokens) return h('p', { class: 'muted', text: t('common.loading') });
  if (!tokens.length) return h('p', { class: 'muted', id: 'tokens-empty', text: t('tokens.none') });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'log', id: 'tokens-table' },
    h('thead', {}, h('tr', {},
      ['tokens.col_name', 'tokens.col_rate', 'tokens.col_created', 'tokens.col_last_used', 'tokens.col_requests']
        .map((k) => h('th', { scope: 'col', text: t(k) })),
      h('th', { scope: 'col' }, h('span', { class: 'sr-only', text: t('tokens.col_actions') })))),
    h('tbody', {}, tokens.map((x) => {
      const del = button(t('action.delete'), { icon: 'trash', cls: 'btn btn-danger', 'aria-label': t('tokens.delete_label', { name: x.name }) });
      del.addEventListener('click', () => remove(x.name));
      return h('tr', { 'data-token': x.name },
        h('td', { class: 'mono', text: x.name }),
        h('td', { text: x.rate_per_minute ? t('tokens.per_minute', { n: x.rate_per_minute }) : t('tokens.unlimited') }),
        h('td', { text: x.created ? dateTime(x.created) : '—' }),
        h('td', { text: x.last_used ? dateTime(x.last_used) : t('tokens.never') }),
        h('td', { text: String(x.requests ?? 0) }),
        h('td', {}, del));
    }))));
}

function body() {
  const form = h('form', { class: 'token-form', novalidate: true, id: 'token-form' },
    h('div', { class: 'row' },
      h('div', { class: 'field' },
        h('label', { for: 'token-name', text: t('tokens.name') }),
        h('input', { type: 'text', id: 'token-name', autocomplete: 'off', spellcheck: false, placeholder: 'laptop', 'aria-describedby': 'token-error' })),
      h('div', { class: 'field narrow' },
        h('label', { for: 'token-rate', text: t('tokens.rate') }),
        h('input', { type: 'number', id: 'token-rate', min: 0, inputmode: 'numeric', placeholder: '60' })),
      h('button', { type: 'submit', class: 'btn btn-primary', text: t('tokens.create') })),
    h('p', { class: 'field-error', id: 'token-error' }),
    h('p', { class: 'help', text: t('tokens.rate_help') }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    create(form);
  });
  return h('div', {}, freshBox(), table(), form);
}

/** The Access tokens card for the Settings screen. */
export function tokensCard() {
  host = h('div', { id: 'tokens-body' }, body());
  if (tokens === null && !loadError) load();
  return h('section', { class: 'card', 'aria-labelledby': 'set-tokens-title' },
    h('h2', { id: 'set-tokens-title', text: t('tokens.title') }),
    h('p', { class: 'card-sub muted', text: t('tokens.help') }),
    host);
}
