// The steps of first-run setup (setup.js runs them). A step is plain data and functions:
//   name, title   i18n keys (the progress list, the heading)
//   body(ctx)     its content (ctx: {wiz, render, next})
//   enter(ctx)    optional: runs when the step shows (e.g. start the tests)
//   leave(ctx)    optional: checks and saves what was entered; throws to stay on the step
//   final         the last screen (no Skip, "Finish")

import { h, icon, button } from './dom.js';
import { t, maybe, language } from './i18n.js';
import { state, saveConfig, refreshKeys, keyStoreName } from './store.js';
import { api } from './api.js';
import { fromPreset } from './editor.js';
import { latency, last4 } from './format.js';
import { baseUrl, copy } from './integrations.js';
import { CLIENTS } from './setup-clients.js';

function credentialOf(p) {
  return p.credential || 'keychain';
}

function providers() {
  return state.config?.providers || [];
}

async function presets() {
  if (!state.presets) state.presets = (await api.presets()).presets || [];
  return state.presets;
}

/** The preset's note in the current language; the engine's own words in English. */
function presetNote(pr) {
  return (language() !== 'en' && maybe(`preset_note.${pr.id}`)) || pr.note || '';
}

function checkbox(id, checked, onchange) {
  return h('input', { type: 'checkbox', id, 'data-focus': id, checked, onchange });
}

// ---------------------------------------------------------------------------------------------
// 1. Which apps

const clientsStep = {
  name: 'setup.step_clients',
  title: 'setup.clients_title',
  body: ({ wiz }) => h('div', { class: 'stack' },
    h('p', { text: t('setup.clients_intro') }),
    h('fieldset', { class: 'setup-choices' },
      h('legend', { class: 'sr-only', text: t('setup.clients_title') }),
      CLIENTS.map((c) => h('label', { class: 'check setup-choice', for: `setup-client-${c.id}` },
        checkbox(`setup-client-${c.id}`, wiz.clients.has(c.id), (e) => {
          if (e.target.checked) wiz.clients.add(c.id);
          else wiz.clients.delete(c.id);
        }),
        h('span', {}, h('span', { class: 'check-title', text: c.name }), h('span', { class: 'help', text: c.about() })))))),
  leave: ({ wiz }) => {
    if (!wiz.clients.size) throw new Error(t('setup.clients_none'));
  },
};

// ---------------------------------------------------------------------------------------------
// 2. Backups from the presets

function presetChoice(wiz, render, pr) {
  const id = `setup-preset-${pr.id}`;
  return h('li', {},
    h('label', { class: 'check setup-choice preset-choice', for: id },
      checkbox(id, wiz.backups.has(pr.id), (e) => {
        if (e.target.checked) wiz.backups.add(pr.id);
        else wiz.backups.delete(pr.id);
        render();
      }),
      h('span', {},
        h('span', { class: 'preset-head' }, h('strong', { text: pr.name }), h('span', { class: 'tag tag-quiet', text: t(`kind.${pr.kind}`) })),
        h('span', { class: 'preset-note', text: presetNote(pr) }))));
}

const backupsStep = {
  name: 'setup.step_backups',
  title: 'setup.backups_title',
  body: ({ wiz, render }) => {
    if (!state.presets) {
      presets().then(render, (e) => {
        wiz.error = e.message;
        render();
      });
      return h('p', { class: 'muted', text: t('common.loading') });
    }
    const ours = new Set(wiz.added.values());
    const current = providers().filter((p) => !ours.has(p.id));
    const taken = new Set(current.map((p) => p.id));
    const offered = state.presets.filter((pr) => !taken.has(pr.id));
    return h('div', { class: 'stack' },
      h('p', { text: t('setup.backups_intro') }),
      h('div', {},
        h('h2', { class: 'setup-sub', text: t('setup.backups_current') }),
        h('ol', { class: 'setup-current', id: 'setup-current' }, current.map((p) => h('li', {},
          h('strong', { text: p.name || p.id }), ' ', h('span', { class: 'mono muted', text: p.base_url }))))),
      h('div', {},
        h('h2', { class: 'setup-sub', text: t('setup.backups_pick') }),
        h('ul', { class: 'presets setup-presets', id: 'setup-presets' }, offered.map((pr) => presetChoice(wiz, render, pr)))),
      wiz.backups.size ? null : h('p', { class: 'note' }, icon('alert'), h('span', { text: t('setup.backups_none') })));
  },
  // Saves the config: the ticked presets added after the providers there are, the ones this
  // setup added before and are now unticked removed again (with any key stored for them).
  // Saving also creates the config file, so from here on the next start is not a first run.
  leave: async ({ wiz }) => {
    const list = await presets();
    const drop = [...wiz.added].filter(([pid]) => !wiz.backups.has(pid));
    for (const [, id] of drop) await api.deleteKey(id).catch(() => {});
    const fresh = [];
    await saveConfig((c) => {
      const gone = new Set(drop.map(([, id]) => id));
      c.providers = c.providers.filter((p) => !gone.has(p.id));
      for (const pid of wiz.backups) {
        if (wiz.added.has(pid)) continue;
        const pr = list.find((x) => x.id === pid);
        if (!pr) continue;
        const p = fromPreset(pr);
        c.providers.push(p);
        fresh.push([pid, p.id]);
      }
    });
    for (const [pid] of drop) wiz.added.delete(pid);
    for (const [pid, id] of fresh) wiz.added.set(pid, id);
    state.configExists = true;
  },
};

// ---------------------------------------------------------------------------------------------
// 3. Keys into the keychain

function keyRow(p) {
  const name = p.name || p.id;
  const k = state.keys[p.id];
  const inputId = `setup-key-${p.id}`;
  const note = state.presets?.find((pr) => pr.base_url === p.base_url);
  const input = h('input', { type: 'password', id: inputId, 'data-focus': inputId, class: 'mono', autocomplete: 'off', spellcheck: 'false', dataset: { provider: p.id } });
  const err = h('p', { class: 'field-error', id: `${inputId}-error` });
  const saveBtn = button(t('setup.key_save'), {
    icon: 'key', cls: 'btn btn-small', 'data-focus': `${inputId}-save`,
    onclick: async () => {
      err.textContent = '';
      try {
        await storeKey(p.id, input.value);
      } catch (e) {
        err.textContent = e.message;
      }
    },
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      saveBtn.click();
    }
  });
  return h('div', { class: 'field setup-key', dataset: { provider: p.id } },
    h('label', { for: inputId, text: t('setup.key_label', { name }) }),
    h('div', { class: 'row' }, input, saveBtn),
    h('p', { class: ['key-state', k?.set ? 'ok' : ''], dataset: { keyState: p.id } },
      icon(k?.set ? 'check' : 'key'),
      h('span', { text: k?.set ? t('setup.key_saved', { hint: last4(k.hint) }) : t('setup.key_missing') })),
    note ? h('p', { class: 'help', text: presetNote(note) }) : null,
    err);
}

async function storeKey(id, value) {
  const key = String(value || '').trim();
  if (!key) throw new Error(t('key.empty'));
  await api.setKey(id, key);
  // The value is in the keychain now; the field forgets it.
  const el = document.getElementById(`setup-key-${id}`);
  if (el) {
    el.value = '';
    delete el.dataset.dirty;
  }
  await refreshKeys();
}

const keysStep = {
  name: 'setup.step_keys',
  title: 'setup.keys_title',
  enter: () => refreshKeys().catch(() => {}),
  body: () => {
    const need = providers().filter((p) => credentialOf(p) === 'keychain' && p.enabled !== false);
    const own = providers().filter((p) => credentialOf(p) === 'passthrough');
    return h('div', { class: 'stack' },
      h('p', { text: t('setup.keys_intro', { store: keyStoreName(t) }) }),
      need.length ? need.map(keyRow) : h('p', { class: 'muted', id: 'setup-no-keys', text: t('setup.keys_none') }),
      own.map((p) => h('p', { class: 'note' }, icon('signal'), h('span', { text: t('setup.key_passthrough', { name: p.name || p.id }) }))));
  },
  // A key typed but not saved yet is saved on Next.
  leave: async () => {
    for (const el of document.querySelectorAll('.setup-key input[type=password]')) {
      if (el.value.trim()) await storeKey(el.dataset.provider, el.value);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// 4. A live test of each provider

async function runTests(wiz, render) {
  const list = providers().filter((p) => p.enabled !== false);
  for (const p of list) wiz.tests.set(p.id, { running: true });
  render();
  await Promise.all(list.map(async (p) => {
    try {
      wiz.tests.set(p.id, await api.testProvider(p.id));
    } catch (e) {
      wiz.tests.set(p.id, { ok: false, error: e.message });
    }
    render();
  }));
}

function testLine(p, r) {
  if (!r || r.running) return h('p', { class: 'test-result', role: 'status' }, icon('clock'), h('span', { text: t('test.running') }));
  if (r.ok) return h('p', { class: 'test-result ok', role: 'status' }, icon('check'), h('span', { text: t('test.ok', { latency: latency(r.latency_ms) }) }));
  // A provider that passes the app's own key through is refused without one: it answered.
  if (credentialOf(p) === 'passthrough' && [401, 403].includes(r.status)) {
    return h('p', { class: 'test-result ok', role: 'status' }, icon('check'), h('span', { text: t('setup.test_passthrough') }));
  }
  return h('p', { class: 'test-result bad', role: 'status' }, icon('x'), h('span', { text: t('test.failed', { error: r.error || '' }) }));
}

const testStep = {
  name: 'setup.step_test',
  title: 'setup.test_title',
  enter: ({ wiz, render }) => runTests(wiz, render),
  body: ({ wiz, render }) => {
    const list = providers().filter((p) => p.enabled !== false);
    const bad = list.some((p) => {
      const r = wiz.tests.get(p.id);
      return r && !r.running && !r.ok && !(credentialOf(p) === 'passthrough' && [401, 403].includes(r.status));
    });
    return h('div', { class: 'stack' },
      h('p', { text: t('setup.test_intro') }),
      h('ul', { class: 'setup-tests', id: 'setup-tests' }, list.map((p) => h('li', { dataset: { provider: p.id } },
        h('strong', { text: p.name || p.id }), testLine(p, wiz.tests.get(p.id))))),
      bad ? h('p', { class: 'note' }, icon('alert'), h('span', { text: t('setup.test_failed_hint') })) : null,
      h('div', { class: 'row' }, button(t('setup.test_again'), { icon: 'play', cls: 'btn btn-small', id: 'setup-test-again', 'data-focus': 'setup-test-again', onclick: () => runTests(wiz, render) })));
  },
};

// ---------------------------------------------------------------------------------------------
// 5. Connect the chosen apps

async function connectAll(wiz, render) {
  for (const c of CLIENTS.filter((x) => wiz.clients.has(x.id) && x.auto)) {
    if (wiz.connected.get(c.id)?.configured) continue;
    try {
      wiz.connected.set(c.id, await c.auto.configure());
    } catch (e) {
      wiz.connected.set(c.id, { configured: false, error: e.message });
    }
  }
  render();
}

async function undo(wiz, render, c) {
  try {
    wiz.connected.set(c.id, { ...(await c.auto.undo()), undone: true });
  } catch (e) {
    wiz.connected.set(c.id, { ...wiz.connected.get(c.id), error: e.message });
  }
  render();
}

function autoClient(wiz, render, c) {
  const r = wiz.connected.get(c.id);
  const line = r?.error
    ? h('p', { class: 'test-result bad' }, icon('x'), h('span', { text: r.error }))
    : r?.configured
      ? h('p', { class: 'test-result ok', id: `setup-connected-${c.id}` }, icon('check'), h('span', { text: t('setup.connected', { name: c.name, path: r.settings_path }) }))
      : h('p', { class: 'muted', text: r?.undone ? t('setup.undone', { path: r.settings_path }) : t('setup.not_connected') });
  return h('li', { class: 'setup-client', dataset: { client: c.id } },
    h('strong', { text: c.name }), line,
    r?.configured ? h('p', { class: 'help', text: t('setup.restart_hint', { name: c.name }) }) : null,
    r?.configured ? button(t('setup.undo'), { icon: 'undo', cls: 'btn btn-small', id: `setup-undo-${c.id}`, 'data-focus': `setup-undo-${c.id}`, onclick: () => undo(wiz, render, c) }) : null);
}

function manualClient(c) {
  const m = c.manual(baseUrl());
  const id = `setup-url-${c.id}`;
  const input = h('input', { type: 'text', id, class: 'mono', readonly: true, value: m.value, onfocus: (e) => e.target.select() });
  const btn = button(t('action.copy'), { icon: 'copy', cls: 'btn btn-small', 'data-focus': `copy-${id}` });
  btn.addEventListener('click', () => copy(input.value, btn));
  return h('li', { class: 'setup-client', dataset: { client: c.id } },
    h('strong', { text: c.name }),
    h('div', { class: 'field' }, h('label', { for: id, text: m.label }), h('div', { class: 'row copy-row' }, input, btn)),
    h('p', { class: 'help', text: m.help }));
}

const connectStep = {
  name: 'setup.step_connect',
  title: 'setup.connect_title',
  enter: async ({ wiz, render }) => {
    // Already pointing here (set up before)? Then say so instead of offering it again.
    for (const c of CLIENTS.filter((x) => wiz.clients.has(x.id) && x.auto && !wiz.connected.has(x.id))) {
      try {
        const s = await c.auto.status();
        if (s?.configured) wiz.connected.set(c.id, s);
      } catch { /* shown as not connected */ }
    }
    render();
  },
  body: ({ wiz, render }) => {
    const chosen = CLIENTS.filter((c) => wiz.clients.has(c.id));
    const auto = chosen.filter((c) => c.auto);
    const pending = auto.some((c) => !wiz.connected.get(c.id)?.configured);
    return h('div', { class: 'stack' },
      h('p', { text: t('setup.connect_intro', { url: baseUrl() }) }),
      auto.length ? h('div', { class: 'row' },
        button(t('setup.connect_button', { names: auto.map((c) => c.name).join(', ') }), {
          icon: 'check', cls: 'btn btn-primary', id: 'setup-connect', 'data-focus': 'setup-connect', disabled: !pending,
          onclick: () => connectAll(wiz, render),
        }),
        h('span', { class: 'help', text: t('setup.connect_merge') })) : null,
      h('ul', { class: 'setup-clients' }, chosen.map((c) => (c.auto ? autoClient(wiz, render, c) : manualClient(c)))));
  },
};

// ---------------------------------------------------------------------------------------------
// 6. Done

const doneStep = {
  name: 'setup.step_done',
  title: 'setup.done_title',
  final: true,
  body: () => h('div', { class: 'stack' },
    h('p', { text: t('setup.done_body') }),
    h('dl', { class: 'kv' }, h('dt', { text: t('setup.done_endpoint') }), h('dd', { class: 'mono', id: 'setup-endpoint', text: baseUrl() })),
    h('p', { class: 'help', text: t('setup.done_later') })),
};

export const STEPS = [clientsStep, backupsStep, keysStep, testStep, connectStep, doneStep];
