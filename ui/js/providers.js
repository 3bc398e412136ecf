// The Providers screen: the priority list with drag-to-reorder (and move buttons for the
// keyboard), enable/disable, keys, "Test", edit and delete. Every change is a PUT of the whole
// config, which the engine validates and saves atomically.

import { h, icon, replace, rerender, button, announce, perFrame } from './dom.js';
import { t, onLanguage } from './i18n.js';
import { state, on, saveConfig, refreshKeys, emit, keyStoreName } from './store.js';
import { api, plainMessage } from './api.js';
import { toast } from './toast.js';
import { confirmDialog, openDialog } from './dialog.js';
import { latency, last4 } from './format.js';
import { openEditor } from './editor.js';
import { stateBadge } from './status.js';
import { transferButtons } from './transfer.js';

let dragging = false;
let renderLater = false;

function credentialOf(p) {
  return p.credential || 'keychain';
}

/** What the user should know about a provider's key, in words. */
export function keyText(p) {
  const cred = credentialOf(p);
  const k = state.keys[p.id];
  if (cred === 'passthrough') return { text: t('key.passthrough'), ok: true };
  if (cred === 'none') return { text: t('key.none'), ok: true };
  const where = cred.startsWith('env:') ? t('key.from_env', { var: cred.slice(4) }) : t('key.from_keychain');
  if (!k) return { text: where, ok: true };
  if (k.error) return { text: `${where}: ${k.error}`, ok: false };
  const pool = k.pool || [];
  if (pool.length > 1) {
    // A key pool: how many keys are set, and how many are resting.
    const set = pool.filter((x) => x.set).length;
    const cooling = pool.filter((x) => x.set && x.state === 'cooling').length;
    const text = t('key.pool', { set, n: pool.length }) + (cooling ? ` · ${t('key.pool_cooling', { n: cooling })}` : '');
    return { text: `${where}: ${text}`, ok: set > 0, set: set > 0 };
  }
  return k.set
    ? { text: `${where}: ${t('key.set', { hint: last4(k.hint) })}`, ok: true, set: true }
    : { text: `${where}: ${t('key.not_set')}`, ok: false };
}

async function save(change, okMessage) {
  try {
    await saveConfig(change);
    if (okMessage) toast(okMessage, 'ok');
    return true;
  } catch (e) {
    toast(plainMessage(e.message), 'error');
    emit('config');
    return false;
  }
}

async function move(id, delta) {
  const list = state.config.providers;
  const i = list.findIndex((p) => p.id === id);
  const j = i + delta;
  if (i < 0 || j < 0 || j >= list.length) return;
  const ok = await save((c) => {
    const [p] = c.providers.splice(i, 1);
    c.providers.splice(j, 0, p);
  });
  if (ok) {
    const name = list[j]?.name || id;
    announce(t('providers.moved', { name, n: j + 1 }));
    // Keep the keyboard on the same provider's button after the list re-renders.
    const focusKey = `${delta < 0 ? 'up' : 'down'}-${id}`;
    const el = document.querySelector(`[data-focus="${focusKey}"]`);
    (el && !el.disabled ? el : document.querySelector(`[data-focus="handle-${id}"]`))?.focus();
  }
}


async function setEnabled(id, enabled) {
  await save((c) => {
    const p = c.providers.find((x) => x.id === id);
    if (p) p.enabled = enabled;
  }, enabled ? t('providers.enabled_toast', { name: id }) : t('providers.disabled_toast', { name: id }));
}

function usedByRules(id) {
  return (state.config.rules || []).filter((r) => r.provider === id).length;
}

async function remove(p) {
  const k = state.keys[p.id];
  const hasKey = credentialOf(p) === 'keychain' && k?.set;
  const r = await confirmDialog({
    title: t('providers.delete_title', { name: p.name || p.id }),
    message: usedByRules(p.id) ? `${t('providers.delete_body')} ${t('providers.delete_rules', { n: usedByRules(p.id) })}` : t('providers.delete_body'),
    confirmLabel: t('action.delete'),
    danger: true,
    checkbox: hasKey ? { label: t('providers.delete_key_too'), checked: true } : null,
  });
  if (!r.ok) return;
  if (r.checked) {
    try {
      await api.deleteKey(p.id);
    } catch (e) {
      toast(e.message, 'error');
      return;
    }
  }
  await save((c) => {
    c.providers = c.providers.filter((x) => x.id !== p.id);
    // Rules that send requests to it would no longer validate.
    if (c.rules) {
      c.rules = c.rules.filter((r) => r.provider !== p.id);
      if (!c.rules.length) delete c.rules;
    }
  }, t('providers.deleted', { name: p.name || p.id }));
}

async function test(p) {
  state.testResults.set(p.id, { running: true });
  emit('config');
  try {
    const r = await api.testProvider(p.id);
    state.testResults.set(p.id, r);
  } catch (e) {
    state.testResults.set(p.id, { ok: false, error: e.message });
  }
  emit('config');
}

/** The key dialog: password field, replace or delete; the key never comes back. */
export function openKeyDialog(p, { onClose } = {}) {
  const name = p.name || p.id;
  const k = state.keys[p.id];
  const input = h('input', { type: 'password', id: 'key-input', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'key-help key-error' });
  const error = h('p', { id: 'key-error', class: 'field-error', role: 'alert' });
  const status = h('p', { class: 'key-state', id: 'key-state' }, icon('key'), h('span', { text: k?.set ? t('key.set', { hint: last4(k.hint) }) : t('key.not_set') }));
  const save = h('button', { type: 'submit', class: 'btn btn-primary', text: k?.set ? t('key.replace') : t('key.save') });
  const cancel = h('button', { type: 'button', class: 'btn', text: t('action.cancel') });
  const del = k?.set ? h('button', { type: 'button', class: 'btn btn-danger-ghost', text: t('key.delete') }) : null;
  const form = h('form', { class: 'stack', novalidate: true },
    status,
    h('div', { class: 'field' },
      h('label', { for: 'key-input', text: k?.set ? t('key.new_label') : t('key.label') }),
      input,
      h('p', { id: 'key-help', class: 'help', text: t('key.help', { store: keyStoreName(t) }) }),
      error),
    h('div', { class: 'dialog-actions' }, del, h('span', { class: 'spacer' }), cancel, save));
  const d = openDialog({ title: t('key.title', { name }), body: form, onClose });
  cancel.addEventListener('click', () => d.close());
  del?.addEventListener('click', async () => {
    d.close();
    const r = await confirmDialog({ title: t('key.delete_title', { name }), message: t('key.delete_body'), confirmLabel: t('key.delete'), danger: true });
    if (!r.ok) return;
    try {
      await api.deleteKey(p.id);
      toast(t('key.deleted', { name }), 'ok');
    } catch (e) {
      toast(e.message, 'error');
    }
    refreshKeys().catch(() => {});
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = t('key.empty');
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    save.disabled = true;
    try {
      const r = await api.setKey(p.id, key);
      input.value = '';
      d.close();
      toast(t('key.saved', { name, hint: last4(r.hint) }), 'ok');
      await refreshKeys();
    } catch (err) {
      error.textContent = err.message;
      input.setAttribute('aria-invalid', 'true');
      save.disabled = false;
      input.focus();
    }
  });
}

function testLine(id) {
  const r = state.testResults.get(id);
  if (!r) return null;
  if (r.running) return h('p', { class: 'test-result', role: 'status' }, icon('clock'), h('span', { text: t('test.running') }));
  if (r.ok) return h('p', { class: 'test-result ok', role: 'status' }, icon('check'), h('span', { text: t('test.ok', { latency: latency(r.latency_ms) }) }));
  return h('p', { class: 'test-result bad', role: 'status' }, icon('x'), h('span', { text: t('test.failed', { error: r.error || '' }) }));
}

function card(p, i, n) {
  const name = p.name || p.id;
  const live = state.status?.providers?.find((x) => x.id === p.id);
  const key = keyText(p);
  const cred = credentialOf(p);
  const enabled = p.enabled !== false;
  const toggleId = `enable-${p.id}`;
  const handle = h('button', {
    type: 'button', class: 'handle', 'aria-label': t('providers.drag_label', { name }), title: t('providers.drag_title'),
    'data-focus': `handle-${p.id}`, 'aria-describedby': 'drag-help',
    onkeydown: (e) => {
      if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
        e.preventDefault();
        move(p.id, e.key === 'ArrowUp' ? -1 : 1);
      }
    },
  }, icon('grip'));
  handle.addEventListener('pointerdown', (e) => startDrag(e, handle.closest('li')));
  return h('li', { class: ['pcard', !enabled && 'is-disabled'], dataset: { provider: p.id } },
    h('div', { class: 'pcard-order' },
      handle,
      h('span', { class: 'rank', text: String(i + 1) }),
      h('div', { class: 'move' },
        button(t('providers.move_up', { name }), { icon: 'up', cls: 'btn-icon', hideLabel: true, disabled: i === 0, 'data-focus': `up-${p.id}`, onclick: () => move(p.id, -1) }),
        button(t('providers.move_down', { name }), { icon: 'down', cls: 'btn-icon', hideLabel: true, disabled: i === n - 1, 'data-focus': `down-${p.id}`, onclick: () => move(p.id, 1) }))),
    h('div', { class: 'pcard-main' },
      h('div', { class: 'pcard-title' },
        h('h3', { text: name }),
        h('span', { class: 'mono muted', text: p.id }),
        h('span', { class: 'tag tag-quiet', text: t(`kind.${p.kind || 'anthropic'}`) }),
        live ? stateBadge(live.state) : null),
      h('p', { class: 'mono muted url', text: p.base_url }),
      h('p', { class: ['key-line', key.ok ? '' : 'warn'], dataset: { keyState: p.id } }, icon('key'), h('span', { text: key.text })),
      testLine(p.id)),
    h('div', { class: 'pcard-actions' },
      h('label', { class: 'switch', for: toggleId },
        h('input', { type: 'checkbox', role: 'switch', id: toggleId, checked: enabled, 'data-focus': toggleId, onchange: (e) => setEnabled(p.id, e.target.checked) }),
        h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
        h('span', { text: t('providers.enabled') })),
      button(t('providers.test'), { icon: 'play', cls: 'btn btn-small', 'data-focus': `test-${p.id}`, 'aria-label': t('providers.test_label', { name }), onclick: () => test(p) }),
      cred === 'keychain'
        ? button(key.set ? t('providers.key_replace') : t('providers.key_set'), { icon: 'key', cls: 'btn btn-small', 'data-focus': `key-${p.id}`, 'aria-label': t('providers.key_label', { name }), onclick: () => openKeyDialog(p) })
        : null,
      button(t('providers.edit_label', { name }), { icon: 'edit', cls: 'btn-icon btn-outline', hideLabel: true, 'data-focus': `edit-${p.id}`, onclick: () => openEditor(p.id) }),
      button(t('providers.delete_label', { name }), { icon: 'trash', cls: 'btn-icon btn-outline btn-danger-ghost', hideLabel: true, 'data-focus': `del-${p.id}`, onclick: () => remove(p) })));
}

/**
 * Pointer drag on the handle: the row follows the pointer through the list; dropping saves,
 * Escape puts it back. Listeners sit on the document: moving the row in the DOM would drop a
 * pointer capture on the handle.
 */
function startDrag(e, li) {
  if (e.button !== 0 || !li) return;
  const list = li.parentElement;
  const before = [...list.children].map((x) => x.dataset.provider);
  const nextOf = li.nextElementSibling;
  e.preventDefault();
  dragging = true;
  li.classList.add('dragging');
  const onMove = (ev) => {
    const siblings = [...list.children].filter((x) => x !== li);
    let placed = false;
    for (const sib of siblings) {
      const r = sib.getBoundingClientRect();
      if (ev.clientY < r.top + r.height / 2) {
        if (li.nextElementSibling !== sib) list.insertBefore(li, sib);
        placed = true;
        break;
      }
    }
    if (!placed && list.lastElementChild !== li) list.append(li);
  };
  let cancelled = false;
  const onKey = (ev) => {
    if (ev.key !== 'Escape') return;
    ev.preventDefault();
    cancelled = true;
    list.insertBefore(li, nextOf && nextOf.parentElement === list ? nextOf : null);
    finish();
  };
  const finish = async () => {
    document.removeEventListener('pointermove', onMove);
    document.removeEventListener('pointerup', finish);
    document.removeEventListener('pointercancel', finish);
    document.removeEventListener('keydown', onKey, true);
    li.classList.remove('dragging');
    dragging = false;
    li.querySelector('.handle')?.focus({ preventScroll: true });
    const after = [...list.children].map((x) => x.dataset.provider);
    if (!cancelled && after.join() !== before.join()) {
      const ok = await save((c) => {
        c.providers.sort((a, b) => after.indexOf(a.id) - after.indexOf(b.id));
      });
      if (ok) announce(t('providers.reordered'));
    } else if (renderLater) {
      emit('config');
    }
    renderLater = false;
  };
  document.addEventListener('pointermove', onMove);
  document.addEventListener('pointerup', finish);
  document.addEventListener('pointercancel', finish);
  document.addEventListener('keydown', onKey, true);
}

export function mountProviders(panel) {
  const render = () => {
    if (dragging) {
      renderLater = true;
      return;
    }
    rerender(panel, () => {
      const providers = state.config?.providers;
      if (!providers) {
        replace(panel, h('p', { class: 'empty', text: t('common.loading') }));
        return;
      }
      replace(panel,
        h('section', { class: 'card', 'aria-labelledby': 'providers-title' },
          h('div', { class: 'card-head' },
            h('h2', { id: 'providers-title', text: t('providers.title') }),
            transferButtons(),
            button(t('providers.add'), { icon: 'plus', cls: 'btn btn-primary', id: 'add-provider', 'data-focus': 'add', onclick: () => openEditor(null) })),
          h('p', { class: 'card-sub muted', text: t('providers.explain') }),
          h('p', { id: 'drag-help', class: 'sr-only', text: t('providers.drag_help') }),
          h('ol', { class: 'pcards', id: 'provider-list' }, providers.map((p, i) => card(p, i, providers.length)))));
    });
  };
  on('config', render);
  on('keys', render);
  // Status updates only refresh the state badges: at most once a frame.
  on('status', perFrame(render));
  onLanguage(render);
  render();
}
