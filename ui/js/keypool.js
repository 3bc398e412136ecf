// A keychain provider's key pool in the editor: each key as ••••last4 (or "not set") with its
// state (in rotation / cooling down), replace and delete per key, and "add another key", which
// stores the key in the next slot and raises the provider's `keys` in the config.

import { h, replace, button } from './dom.js';
import { t } from './i18n.js';
import { state, saveConfig, refreshKeys, on } from './store.js';
import { api, plainMessage } from './api.js';
import { last4 } from './format.js';

/** The keychain name of a slot (1-based): `<id>` for the first key, `<id>#N` for the others. */
export function slotName(id, slot) {
  return slot <= 1 ? id : `${id}#${slot}`;
}

/** The pool section for an existing keychain provider. */
export function keyPool(providerId) {
  const box = h('fieldset', { class: 'models key-pool', dataset: { field: 'keys' } });
  const error = h('p', { class: 'field-error', role: 'alert' });

  const provider = () => state.config.providers.find((p) => p.id === providerId);
  const size = () => Math.max(1, provider()?.keys || 1);

  const withError = async (fn) => {
    error.textContent = '';
    try {
      await fn();
      await refreshKeys();
    } catch (err) {
      error.textContent = plainMessage(err.message);
    }
  };

  /** An inline password input with Save/Cancel, replacing `row` while open. */
  const askKey = (row, label, onSave) => {
    const input = h('input', { type: 'password', class: 'mono', autocomplete: 'off', spellcheck: 'false', 'aria-label': label });
    const save = button(t('action.save'), { cls: 'btn btn-small btn-primary', onclick: () => {
      const v = input.value.trim();
      if (!v) { error.textContent = t('pool.err_empty'); input.focus(); return; }
      withError(() => onSave(v));
    } });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); save.click(); }
    });
    replace(row, h('span', { class: 'pool-label', text: label }), input, save,
      button(t('action.cancel'), { cls: 'btn btn-small', onclick: render }));
    input.focus();
  };

  const render = () => {
    if (!box.isConnected && box.dataset.rendered) return;
    box.dataset.rendered = '1';
    const pool = state.keys[providerId]?.pool || [];
    const n = size();
    const list = h('ul', { class: 'pool-list' });
    for (let slot = 1; slot <= n; slot++) {
      const k = pool.find((x) => x.slot === slot) || { slot, set: false, state: 'ok' };
      const label = t('pool.key_n', { n: slot });
      const row = h('li', { class: 'pool-row', dataset: { slot: String(slot) } });
      const stateText = !k.set ? t('pool.not_set') : k.state === 'cooling' ? t('pool.cooling') : t('pool.ok');
      replace(row,
        h('span', { class: 'pool-label', text: label }),
        h('span', { class: 'mono pool-hint', text: k.set ? `••••${last4(k.hint)}` : '—' }),
        h('span', { class: `pool-state pool-${k.set ? k.state : 'unset'}`, text: stateText, title: k.problem || '' }),
        button(k.set ? t('pool.replace') : t('pool.set'), { cls: 'btn btn-small', onclick: () => askKey(row, label, (v) => api.setKey(slotName(providerId, slot), v)) }),
        k.set ? button(t('action.delete'), { cls: 'btn btn-small btn-ghost', onclick: () => withError(() => api.deleteKey(slotName(providerId, slot))) }) : null);
      list.append(row);
    }
    const addRow = h('div', { class: 'pool-row pool-add' });
    replace(addRow, button(t('pool.add'), { icon: 'plus', cls: 'btn btn-small add-key', onclick: () => {
      const next = n + 1;
      askKey(addRow, t('pool.key_n', { n: next }), async (v) => {
        await api.setKey(slotName(providerId, next), v);
        await saveConfig((c) => {
          const p = c.providers.find((x) => x.id === providerId);
          if (p) p.keys = next;
        });
      });
    } }));
    replace(box,
      h('legend', { text: t('pool.title') }),
      h('p', { class: 'help', text: t('pool.help') }),
      list, addRow, error);
  };
  render();
  on('keys', render);
  on('config', render);
  return box;
}
