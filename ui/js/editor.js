// Adding and editing a provider: a preset picker (name, kind, base URL, note), then a form with
// every field of the provider, the model map rows and, for keychain providers, the key itself.
// The engine's validation errors are shown next to the field they name.

import { h, icon, replace, button } from './dom.js';
import { t, maybe, language } from './i18n.js';
import { state, saveConfig, refreshKeys } from './store.js';
import { api, errorField, plainMessage } from './api.js';
import { openDialog } from './dialog.js';
import { toast } from './toast.js';
import { last4 } from './format.js';
import { keyPool } from './keypool.js';

const ID_RE = /^[a-z0-9-]{1,64}$/;
const ENV_RE = /^[A-Za-z0-9_]+(,[A-Za-z0-9_]+)*$/;
const CREDS = ['keychain', 'env', 'passthrough', 'none'];

/** The preset's note in the current language; the engine's own words in English. */
function presetNote(pr) {
  return (language() !== 'en' && maybe(`preset_note.${pr.id}`)) || pr.note;
}

function uniqueId(base) {
  const taken = new Set((state.config?.providers || []).map((p) => p.id));
  const clean = (base || 'provider').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'provider';
  if (!taken.has(clean)) return clean;
  for (let i = 2; ; i++) if (!taken.has(`${clean}-${i}`)) return `${clean}-${i}`;
}

/** A new provider from a preset (also first-run setup's backups). */
export function fromPreset(pr) {
  const p = {
    id: uniqueId(pr.id), name: pr.name, kind: pr.kind, base_url: pr.base_url,
    credential: pr.credential, enabled: true,
  };
  if (pr.auth_scheme && pr.auth_scheme !== 'x-api-key') p.auth_scheme = pr.auth_scheme;
  if (pr.models?.length) p.models = Object.fromEntries(pr.models);
  if (pr.quirks && Object.keys(pr.quirks).length) p.quirks = pr.quirks;
  return p;
}

/** The presets and the provider kinds the engine knows (its registry decides; the UI keeps no list). */
async function loadPresets() {
  if (!state.presets) {
    const r = await api.presets();
    state.presets = r.presets || [];
    state.kinds = r.kinds || [];
  }
  return state.presets;
}

/** Kinds for the kind picker: the engine's, and the provider's own even if unknown to it. */
function kindChoices(current) {
  const kinds = [...(state.kinds || [])];
  if (current && !kinds.includes(current)) kinds.push(current);
  return kinds;
}

/** Open the editor: `id` of the provider to edit, or null to add one. */
export function openEditor(id) {
  const original = id ? state.config.providers.find((p) => p.id === id) : null;
  const body = h('div', { class: 'editor' });
  const d = openDialog({
    title: original ? t('editor.edit_title', { name: original.name || original.id }) : t('editor.add_title'),
    body, wide: true,
  });
  if (original) {
    loadPresets()
      .catch(() => {})
      .then(() => showForm(d, body, structuredClone(original), { editing: true }));
  } else showPicker(d, body);
}

async function showPicker(d, body) {
  replace(body, h('p', { class: 'muted', text: t('common.loading') }));
  let presets;
  try {
    presets = await loadPresets();
  } catch (e) {
    replace(body, h('p', { class: 'field-error', text: e.message }));
    return;
  }
  const manual = button(t('editor.manual'), { icon: 'edit', cls: 'btn', onclick: () => showForm(d, body, { id: '', kind: 'anthropic', base_url: '', credential: 'keychain', enabled: true }, { editing: false }) });
  replace(body,
    h('p', { class: 'muted', text: t('editor.pick_intro') }),
    h('ul', { class: 'presets', id: 'preset-list', 'aria-label': t('editor.presets_label') }, presets.map((pr) => h('li', {},
      h('button', { type: 'button', class: 'preset', dataset: { preset: pr.id }, onclick: () => showForm(d, body, fromPreset(pr), { editing: false, preset: pr }) },
        h('span', { class: 'preset-head' }, h('strong', { text: pr.name }), h('span', { class: 'tag tag-quiet', text: t(`kind.${pr.kind}`) })),
        h('span', { class: 'mono muted preset-url', text: pr.base_url }),
        h('span', { class: 'preset-note', text: presetNote(pr) }))))),
    h('div', { class: 'dialog-actions' }, manual, h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'btn', text: t('action.cancel'), onclick: () => d.close() })));
  body.querySelector('.preset')?.focus();
}

function field(name, label, input, help) {
  input.id = `f-${name}`;
  input.name = name;
  const err = h('p', { class: 'field-error', id: `err-${name}` });
  const helpEl = help ? h('p', { class: 'help', id: `help-${name}`, text: help }) : null;
  input.setAttribute('aria-describedby', [helpEl && `help-${name}`, `err-${name}`].filter(Boolean).join(' '));
  return h('div', { class: 'field', dataset: { field: name } }, h('label', { for: input.id, text: label }), input, helpEl, err);
}

function modelRow(list, pattern = '', target = '') {
  const n = () => [...list.children].indexOf(row) + 1;
  const pat = h('input', { type: 'text', class: 'mono', value: pattern, placeholder: '*haiku*', spellcheck: 'false', autocomplete: 'off' });
  const tgt = h('input', { type: 'text', class: 'mono', value: target, placeholder: 'model-name', spellcheck: 'false', autocomplete: 'off' });
  const del = button(t('editor.models_remove'), { icon: 'x', cls: 'btn-icon', hideLabel: true });
  const row = h('li', { class: 'model-row' }, pat, h('span', { class: 'muted', 'aria-hidden': 'true', text: '→' }), tgt, del);
  const label = () => {
    pat.setAttribute('aria-label', t('editor.models_pattern_n', { n: n() }));
    tgt.setAttribute('aria-label', t('editor.models_target_n', { n: n() }));
    del.setAttribute('aria-label', t('editor.models_remove_n', { n: n() }));
  };
  row.relabel = label;
  del.addEventListener('click', () => {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    for (const r of list.children) r.relabel?.();
    (next?.querySelector('input') || list.parentElement.querySelector('.add-model'))?.focus();
  });
  list.append(row);
  label();
  return row;
}

function showForm(d, body, p, { editing, preset = null }) {
  let editingId = editing ? p.id : null;
  const key = state.keys[p.id];
  const cred = p.credential || 'keychain';
  const credType = cred.startsWith('env:') ? 'env' : cred;

  const name = h('input', { type: 'text', value: p.name || '', autocomplete: 'off' });
  const id = h('input', { type: 'text', value: p.id, class: 'mono', autocomplete: 'off', spellcheck: 'false', required: true, readonly: editing, pattern: '[a-z0-9-]{1,64}' });
  const kind = h('select', {}, kindChoices(p.kind || 'anthropic').map((k) => h('option', { value: k, text: maybe(`kind.${k}`) || k })));
  kind.value = p.kind || 'anthropic';
  const baseUrl = h('input', { type: 'url', value: p.base_url, class: 'mono', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'https://api.example.com/anthropic' });
  const credential = h('select', {}, CREDS.map((c) => h('option', { value: c, text: t(`cred.${c}`) })));
  credential.value = credType;
  const envVar = h('input', { type: 'text', class: 'mono', value: credType === 'env' ? cred.slice(4) : '', placeholder: 'DEEPSEEK_API_KEY', autocomplete: 'off', spellcheck: 'false' });
  const keyInput = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: key?.set ? t('editor.key_keep', { hint: last4(key.hint) }) : '' });
  const auth = h('select', {}, ['x-api-key', 'bearer'].map((a) => h('option', { value: a, text: t(`auth.${a}`) })));
  auth.value = p.auth_scheme || 'x-api-key';
  const proxy = h('input', { type: 'text', class: 'mono', value: p.proxy || '', placeholder: 'socks5h://user@127.0.0.1:1080', autocomplete: 'off', spellcheck: 'false' });
  const proxyPass = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: t('editor.proxy_password_keep') });
  const enabled = h('input', { type: 'checkbox', id: 'f-enabled', checked: p.enabled !== false });
  const weighted = state.config?.routing?.strategy === 'weighted';
  const weight = h('input', { type: 'number', min: 0, max: 1000, step: 1, inputmode: 'numeric', value: String(p.weight ?? 1) });
  const budgetInput = (v) => h('input', { type: 'number', min: '0', step: '0.01', inputmode: 'decimal', class: 'mono', value: v ?? '', placeholder: t('editor.budget_none') });
  const budgetDay = budgetInput(p.budget_daily_usd);
  const budgetMonth = budgetInput(p.budget_monthly_usd);
  const models = h('ol', { class: 'model-rows', id: 'model-rows' });
  for (const [a, b] of Object.entries(p.models || {})) modelRow(models, a, b);
  const summary = h('div', { class: 'form-error', role: 'alert', id: 'form-error' });

  let idTouched = editing || Boolean(p.id);
  id.addEventListener('input', () => { idTouched = true; });
  name.addEventListener('input', () => {
    if (!idTouched) id.value = uniqueId(name.value);
  });

  const envField = field('env', t('editor.env_var'), envVar, t('editor.env_help'));
  const keyField = field('key', t('editor.key'), keyInput, t('editor.key_help'));
  const syncCred = () => {
    envField.hidden = credential.value !== 'env';
    keyField.hidden = credential.value !== 'keychain';
  };
  credential.addEventListener('change', syncCred);
  syncCred();

  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: editing ? t('action.save') : t('editor.add_submit') });
  const form = h('form', { class: 'form', novalidate: true },
    summary,
    preset?.note ? h('p', { class: 'note' }, icon('signal'), h('span', { text: presetNote(preset) })) : null,
    h('div', { class: 'form-grid' },
      field('name', t('editor.name'), name, t('editor.name_help')),
      field('id', t('editor.id'), id, editing ? t('editor.id_fixed') : t('editor.id_help')),
      field('kind', t('editor.kind'), kind, t('editor.kind_help')),
      field('base_url', t('editor.base_url'), baseUrl, t('editor.base_url_help')),
      field('credential', t('editor.credential'), credential, t('editor.credential_help')),
      envField,
      keyField,
      field('auth_scheme', t('editor.auth_scheme'), auth, t('editor.auth_help')),
      weighted ? field('weight', t('editor.weight'), weight, t('editor.weight_help')) : null,
      field('proxy', t('editor.proxy'), proxy, t('editor.proxy_help')),
      field('proxy_password', t('editor.proxy_password'), proxyPass, t('editor.proxy_password_help')),
      field('budget_daily_usd', t('editor.budget_daily'), budgetDay, t('editor.budget_daily_help')),
      field('budget_monthly_usd', t('editor.budget_monthly'), budgetMonth, t('editor.budget_monthly_help'))),
    editing && credType === 'keychain' ? keyPool(p.id) : null,
    h('label', { class: 'check', for: 'f-enabled' }, enabled, h('span', { text: t('editor.enabled') })),
    h('fieldset', { class: 'models', dataset: { field: 'models' } },
      h('legend', { text: t('editor.models') }),
      h('p', { class: 'help', id: 'help-models', text: t('editor.models_help') }),
      h('div', { class: 'model-head', 'aria-hidden': 'true' }, h('span', { text: t('editor.models_pattern') }), h('span'), h('span', { text: t('editor.models_target') }), h('span')),
      models,
      h('p', { class: 'field-error', id: 'err-models' }),
      button(t('editor.models_add'), { icon: 'plus', cls: 'btn btn-small add-model', onclick: () => modelRow(models).querySelector('input').focus() })),
    h('div', { class: 'dialog-actions' },
      !editing ? button(t('editor.back'), { cls: 'btn btn-ghost', onclick: () => showPicker(d, body) }) : null,
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'btn', text: t('action.cancel'), onclick: () => d.close() }),
      submit));
  replace(body, form);
  (editing ? name : preset ? keyField.hidden ? name : keyInput : name).focus();

  const clearErrors = () => {
    summary.textContent = '';
    for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  };
  const showError = (fieldName, message) => {
    const err = form.querySelector(`#err-${fieldName}`);
    const input = form.querySelector(`#f-${fieldName}`) || form.querySelector(`[data-field="${fieldName}"] input`);
    if (err && (!err.closest('[hidden]'))) {
      err.textContent = message;
      input?.setAttribute('aria-invalid', 'true');
      input?.focus();
    } else {
      summary.textContent = message;
      summary.scrollIntoView?.({ block: 'nearest' });
    }
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors();
    const newId = id.value.trim();
    const taken = state.config.providers.some((x) => x.id === newId && x.id !== editingId);
    if (!ID_RE.test(newId) || newId === 'auto') return showError('id', t('editor.err_id'));
    if (taken) return showError('id', t('editor.err_id_taken', { id: newId }));
    let url;
    try {
      url = new URL(baseUrl.value.trim());
    } catch {
      url = null;
    }
    if (!url || !/^https?:$/.test(url.protocol)) return showError('base_url', t('editor.err_url'));
    if (credential.value === 'env' && !ENV_RE.test(envVar.value.trim())) return showError('env', t('editor.err_env'));
    const rows = [...models.children].map((r) => [...r.querySelectorAll('input')].map((i) => i.value.trim()));
    const filled = rows.filter(([a, b]) => a || b);
    if (filled.some(([a, b]) => !a || !b)) return showError('models', t('editor.err_models'));
    const w = Number(weight.value);
    if (weighted && !(Number.isInteger(w) && w >= 0 && w <= 1000)) return showError('weight', t('editor.err_weight'));
    const budgets = {};
    for (const [f, input] of [['budget_daily_usd', budgetDay], ['budget_monthly_usd', budgetMonth]]) {
      const raw = input.value.trim();
      if (!raw) continue;
      const v = Number(raw);
      if (!Number.isFinite(v) || v <= 0) return showError(f, t('editor.err_budget'));
      budgets[f] = v;
    }

    const out = { ...p, id: newId, kind: kind.value, base_url: baseUrl.value.trim(), enabled: enabled.checked };
    out.credential = credential.value === 'env' ? `env:${envVar.value.trim()}` : credential.value;
    if (name.value.trim()) out.name = name.value.trim();
    else delete out.name;
    if (auth.value === 'x-api-key') delete out.auth_scheme;
    else out.auth_scheme = auth.value;
    if (filled.length) out.models = Object.fromEntries(filled);
    else delete out.models;
    if (weighted) {
      if (w === 1) delete out.weight;
      else out.weight = w;
    }
    // Keys added from the pool section since the form opened are already saved: keep them.
    const current = editingId && state.config.providers.find((x) => x.id === editingId);
    if (current?.keys > 1) out.keys = current.keys;
    else delete out.keys;
    if (proxy.value.trim()) out.proxy = proxy.value.trim();
    else delete out.proxy;
    delete out.budget_daily_usd;
    delete out.budget_monthly_usd;
    Object.assign(out, budgets);

    submit.disabled = true;
    const index = editingId ? state.config.providers.findIndex((x) => x.id === editingId) : state.config.providers.length;
    try {
      await saveConfig((c) => {
        if (editingId) c.providers[index] = out;
        else c.providers.push(out);
      });
    } catch (err) {
      submit.disabled = false;
      const where = errorField(err.message);
      const known = ['id', 'name', 'kind', 'base_url', 'credential', 'auth_scheme', 'models', 'enabled', 'weight', 'proxy', 'keys', 'budget_daily_usd', 'budget_monthly_usd'];
      if (where && where.index === index && known.includes(where.field)) showError(where.field, plainMessage(err.message));
      else showError('_', plainMessage(err.message));
      return;
    }
    editingId = newId;
    const newKey = keyInput.value.trim();
    if (credential.value === 'keychain' && newKey) {
      try {
        await api.setKey(newId, newKey);
        keyInput.value = '';
        await refreshKeys();
      } catch (err) {
        submit.disabled = false;
        id.readOnly = true;
        showError('key', t('editor.err_key_saved_provider', { error: err.message }));
        return;
      }
    }
    const newProxyPass = proxyPass.value.trim();
    if (out.proxy && out.proxy !== 'direct' && newProxyPass) {
      try {
        await api.setKey(`proxy:${newId}`, newProxyPass);
        proxyPass.value = '';
      } catch (err) {
        submit.disabled = false;
        id.readOnly = true;
        showError('proxy_password', t('editor.err_key_saved_provider', { error: err.message }));
        return;
      }
    }
    d.close();
    toast(editing ? t('editor.saved', { name: out.name || out.id }) : t('editor.added', { name: out.name || out.id }), 'ok');
  });
}
