// The Settings screen: language, listen port, notifications, start at login (desktop app only).

import { h, icon, replace, rerender, announce, clean } from './dom.js';
import { t, onLanguage, setLanguage, resolve } from './i18n.js';
import { state, on, saveConfig, emit, keyStoreName } from './store.js';
import { api, tauriInvoke, plainMessage } from './api.js';
import { toast } from './toast.js';
import { cacheCard } from './cachecard.js';
import { tokensCard } from './tokens.js';
import { setupCard } from './setup.js';

const NOTIFY_KINDS = ['failover', 'recovered', 'all_down', 'key_problem', 'budget'];

/** Split "127.0.0.1:3535" / "[::1]:3535" into host and port. */
export function splitListen(listen) {
  const i = String(listen || '').lastIndexOf(':');
  return i < 0 ? { host: '127.0.0.1', port: 3535 } : { host: listen.slice(0, i), port: Number(listen.slice(i + 1)) };
}

async function changeLanguage(value) {
  await setLanguage(resolve(value));
  try {
    await saveConfig((c) => {
      c.ui = { ...(c.ui || {}), language: value };
    });
    announce(t('settings.language_saved'));
  } catch (e) {
    toast(plainMessage(e.message), 'error');
  }
}

let autostart = { known: false, enabled: false, error: null };

async function loadAutostart() {
  const invoke = tauriInvoke();
  if (!invoke) return;
  try {
    autostart = { known: true, enabled: Boolean(await invoke('get_autostart')), error: null };
  } catch (e) {
    autostart = { known: true, enabled: false, error: String(e?.message || e) };
  }
  emit('autostart');
}

async function setAutostart(enabled) {
  const invoke = tauriInvoke();
  if (!invoke) return;
  try {
    // The desktop shell answers the state it ended up in.
    const now = await invoke('set_autostart', { enabled });
    const on = typeof now === 'boolean' ? now : enabled;
    autostart = { known: true, enabled: on, error: null };
    toast(on ? t('settings.autostart_on') : t('settings.autostart_off'), 'ok');
  } catch (e) {
    autostart = { ...autostart, error: String(e?.message || e) };
  }
  emit('autostart');
}

function languageCard() {
  const configured = state.config?.ui?.language || '';
  const select = h('select', { id: 'language', 'data-focus': 'language', onchange: (e) => changeLanguage(e.target.value) },
    h('option', { value: '', text: t('settings.language_system') }),
    // Each language is named in itself, so anyone can find their own.
    h('option', { value: 'en', lang: 'en', text: 'English' }),
    h('option', { value: 'zh-CN', lang: 'zh-CN', text: '简体中文' }));
  select.value = configured;
  return h('section', { class: 'card', 'aria-labelledby': 'set-lang-title' },
    h('h2', { id: 'set-lang-title', text: t('settings.language_title') }),
    h('div', { class: 'field' },
      h('label', { for: 'language', text: t('settings.language') }), select,
      h('p', { class: 'help', text: t('settings.language_help') })));
}

function listenCard() {
  const { host, port } = splitListen(state.config?.listen);
  const running = state.status?.listen;
  const input = h('input', { type: 'number', id: 'listen-port', 'data-focus': 'listen-port', min: 1, max: 65535, value: String(port), inputmode: 'numeric', 'aria-describedby': 'listen-help listen-error' });
  const err = h('p', { class: 'field-error', id: 'listen-error' });
  const form = h('form', { class: 'inline-form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'listen-port', text: t('settings.port') }),
      h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'btn', 'data-focus': 'listen-save', text: t('action.save') })),
      h('p', { class: 'help', id: 'listen-help' },
        t('settings.port_help', { host }), ' ',
        running ? t('settings.running_on', { addr: running }) : ''),
      err));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    input.removeAttribute('aria-invalid');
    const n = Number(input.value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      err.textContent = t('settings.port_invalid');
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    try {
      clean(input);
      await saveConfig((c) => {
        c.listen = `${host}:${n}`;
      });
      toast(t('settings.port_saved', { port: n }), 'ok');
    } catch (ex) {
      // Refused: keep what was typed (the new form, if the page re-rendered meanwhile).
      const now = document.getElementById('listen-port') || input;
      now.value = String(n);
      now.dataset.dirty = '1';
      const e2 = document.getElementById('listen-error') || err;
      e2.textContent = plainMessage(ex.message);
      now.setAttribute('aria-invalid', 'true');
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'set-listen-title' },
    h('h2', { id: 'set-listen-title', text: t('settings.listen_title') }), form,
    h('p', { class: 'note' }, icon('alert'), h('span', { text: t('settings.restart_note') })));
}

function proxyCard() {
  const input = h('input', { type: 'text', id: 'global-proxy', class: 'mono', 'data-focus': 'global-proxy', value: state.config?.network?.proxy || '', placeholder: 'socks5h://user@127.0.0.1:1080', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'proxy-help proxy-error' });
  const pass = h('input', { type: 'password', id: 'global-proxy-password', autocomplete: 'off', spellcheck: 'false', placeholder: t('editor.proxy_password_keep') });
  const err = h('p', { class: 'field-error', id: 'proxy-error' });
  const form = h('form', { class: 'proxy-form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'global-proxy', text: t('settings.proxy') }),
      h('div', { class: 'row' }, input),
      h('label', { for: 'global-proxy-password', text: t('settings.proxy_password') }),
      h('div', { class: 'row' }, pass, h('button', { type: 'submit', class: 'btn', 'data-focus': 'proxy-save', text: t('action.save') })),
      h('p', { class: 'help', id: 'proxy-help', text: t('settings.proxy_help') }),
      err));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    const v = input.value.trim();
    try {
      clean(input);
      if (pass.value.trim()) await api.setKey('proxy:global', pass.value.trim());
      await saveConfig((c) => {
        c.network = { ...(c.network || {}) };
        if (v) c.network.proxy = v;
        else delete c.network.proxy;
      });
      announce(t('settings.saved'));
    } catch (ex) {
      const e2 = document.getElementById('proxy-error') || err;
      e2.textContent = plainMessage(ex.message);
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'set-proxy-title' },
    h('h2', { id: 'set-proxy-title', text: t('settings.proxy') }), form);
}

function notificationsCard() {
  const n = state.config?.notifications || {};
  const save = async (change) => {
    try {
      await saveConfig((c) => {
        c.notifications = { ...(c.notifications || {}) };
        change(c.notifications);
      });
      announce(t('settings.saved'));
    } catch (e) {
      toast(plainMessage(e.message), 'error');
    }
  };
  const interval = h('input', {
    type: 'number', id: 'notify-interval', min: 0, max: 86400, value: String(n.min_interval_secs ?? 60), 'data-focus': 'notify-interval',
    onchange: (e) => {
      const v = Number(e.target.value);
      if (Number.isInteger(v) && v >= 0) {
        clean(e.target);
        save((x) => { x.min_interval_secs = v; });
      }
    },
  });
  return h('section', { class: 'card', 'aria-labelledby': 'set-notify-title' },
    h('h2', { id: 'set-notify-title', text: t('settings.notify_title') }),
    h('p', { class: 'card-sub muted', text: t('settings.notify_help') }),
    h('fieldset', { class: 'checks' },
      h('legend', { class: 'sr-only', text: t('settings.notify_title') }),
      NOTIFY_KINDS.map((k) => h('label', { class: 'check', for: `notify-${k}` },
        h('input', { type: 'checkbox', id: `notify-${k}`, 'data-focus': `notify-${k}`, checked: n[k] !== false, onchange: (e) => save((x) => { x[k] = e.target.checked; }) }),
        h('span', {}, h('span', { class: 'check-title', text: t(`notify.${k}`) }), h('span', { class: 'help', text: t(`notify.${k}_help`) }))))),
    h('div', { class: 'field narrow' },
      h('label', { for: 'notify-interval', text: t('settings.notify_interval') }), interval,
      h('p', { class: 'help', text: t('settings.notify_interval_help') })));
}

function autostartCard() {
  const desktop = Boolean(tauriInvoke());
  return h('section', { class: 'card', 'aria-labelledby': 'set-auto-title' },
    h('h2', { id: 'set-auto-title', text: t('settings.autostart_title') }),
    h('label', { class: 'switch', for: 'autostart' },
      h('input', {
        type: 'checkbox', role: 'switch', id: 'autostart', 'data-focus': 'autostart', disabled: !desktop || !autostart.known,
        checked: autostart.enabled, 'aria-describedby': 'autostart-help', onchange: (e) => setAutostart(e.target.checked),
      }),
      h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
      h('span', { text: t('settings.autostart') })),
    h('p', { class: 'help', id: 'autostart-help', text: desktop ? t('settings.autostart_help') : t('settings.autostart_browser') }),
    autostart.error ? h('p', { class: 'field-error', text: autostart.error }) : null);
}

function aboutCard() {
  const s = state.status;
  return h('section', { class: 'card', 'aria-labelledby': 'set-about-title' },
    h('h2', { id: 'set-about-title', text: t('settings.about_title') }),
    h('dl', { class: 'kv' },
      h('dt', { text: t('settings.version') }), h('dd', { class: 'mono', text: s?.version || '' }),
      h('dt', { text: t('settings.config_file') }), h('dd', { class: 'mono', text: state.configPath || t('settings.no_config_file') }),
      h('dt', { text: t('settings.key_store') }), h('dd', { text: keyStoreName(t) })));
}

export function mountSettings(panel) {
  const render = () => rerender(panel, () => {
    if (!state.config) {
      replace(panel, h('p', { class: 'empty', text: t('common.loading') }));
      return;
    }
    replace(panel, h('div', { class: 'grid-2' }, languageCard(), autostartCard()), setupCard(), listenCard(), proxyCard(), tokensCard(), notificationsCard(), cacheCard(), aboutCard());
  });
  // The status only feeds "running on" and the version: re-render for it only when those change.
  let seen = '';
  on('status', () => {
    const c = state.status?.cache;
    const k = `${state.status?.listen}|${state.status?.version}|${c?.entries}|${c?.hits}|${c?.misses}`;
    if (k !== seen) {
      seen = k;
      render();
    }
  });
  for (const topic of ['config', 'keys', 'autostart']) on(topic, render);
  onLanguage(render);
  render();
  loadAutostart();
}
