// The response cache card on the Settings screen: switch it on, its TTL and size caps, what it
// holds now, and a button to empty it.

import { h, icon, clean, announce } from './dom.js';
import { t, num } from './i18n.js';
import { state, saveConfig, refreshStatus } from './store.js';
import { api, plainMessage } from './api.js';
import { toast } from './toast.js';

const MIB = 1024 * 1024;

export function cacheCard() {
  const c = { enabled: false, ttl_secs: 3600, max_entries: 1000, max_bytes: 64 * MIB, ...(state.config?.cache || {}) };
  const st = state.status?.cache;
  const err = h('p', { class: 'field-error', id: 'cache-error' });
  const save = async (change) => {
    err.textContent = '';
    try {
      await saveConfig((cfg) => {
        cfg.cache = { ...c, ...(cfg.cache || {}) };
        change(cfg.cache);
      });
      announce(t('settings.saved'));
    } catch (e) {
      err.textContent = plainMessage(e.message);
    }
  };
  const number = (id, value, min, apply) => h('input', {
    type: 'number', id, 'data-focus': id, min: String(min), value: String(value), inputmode: 'numeric',
    onchange: (e) => {
      const v = Number(e.target.value);
      if (!Number.isInteger(v) || v < min) {
        err.textContent = t('cache.invalid');
        return;
      }
      clean(e.target);
      save((x) => apply(x, v));
    },
  });
  const stats = st
    ? t('cache.stats', { entries: num(st.entries), size: num(st.bytes / MIB, { maximumFractionDigits: 1 }), hits: num(st.hits), misses: num(st.misses), rate: num(st.hit_rate, { style: 'percent' }) })
    : '';
  return h('section', { class: 'card', 'aria-labelledby': 'set-cache-title' },
    h('h2', { id: 'set-cache-title', text: t('cache.title') }),
    h('p', { class: 'card-sub muted', text: t('cache.help') }),
    h('label', { class: 'check', for: 'cache-enabled' },
      h('input', { type: 'checkbox', id: 'cache-enabled', 'data-focus': 'cache-enabled', checked: c.enabled, onchange: (e) => save((x) => { x.enabled = e.target.checked; }) }),
      h('span', {}, h('span', { class: 'check-title', text: t('cache.enabled') }), h('span', { class: 'help', text: t('cache.enabled_help') }))),
    h('div', { class: 'grid-3' },
      h('div', { class: 'field' }, h('label', { for: 'cache-ttl', text: t('cache.ttl') }), number('cache-ttl', c.ttl_secs, 1, (x, v) => { x.ttl_secs = v; })),
      h('div', { class: 'field' }, h('label', { for: 'cache-entries', text: t('cache.max_entries') }), number('cache-entries', c.max_entries, 1, (x, v) => { x.max_entries = v; })),
      h('div', { class: 'field' }, h('label', { for: 'cache-mib', text: t('cache.max_mib') }), number('cache-mib', Math.round(c.max_bytes / MIB), 1, (x, v) => { x.max_bytes = v * MIB; }))),
    err,
    h('div', { class: 'row' },
      h('span', { class: 'muted', id: 'cache-stats', text: stats }),
      h('span', { class: 'spacer' }),
      h('button', {
        type: 'button', class: 'btn btn-small', id: 'cache-clear', 'data-focus': 'cache-clear',
        onclick: async () => {
          try {
            const r = await api.clearCache();
            toast(t('cache.cleared', { n: num(r.cleared) }), 'ok');
            refreshStatus().catch(() => {});
          } catch (e) {
            toast(plainMessage(e.message), 'error');
          }
        },
      }, icon('trash'), h('span', { text: t('cache.clear') }))));
}
