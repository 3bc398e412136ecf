// The Routing screen: the strategy (failover, round-robin, weighted, least-latency), sticky
// sessions, and the scenario rules, tried in order (the first match picks the provider).
// Every change is a PUT of the whole config, which the engine validates and saves.

import { h, icon, replace, rerender, button, announce } from './dom.js';
import { t, onLanguage, num } from './i18n.js';
import { state, on, saveConfig, emit, providerName } from './store.js';
import { plainMessage } from './api.js';
import { toast } from './toast.js';
import { latency } from './format.js';
import { confirmDialog, openDialog } from './dialog.js';

export const STRATEGIES = ['failover', 'round-robin', 'weighted', 'least-latency'];
const RULE_FIELDS = ['name', 'provider', 'upstream_model', 'model', 'thinking', 'min_input_tokens', 'has_image', 'tool', 'keyword'];

async function save(change, okMessage) {
  try {
    await saveConfig(change);
    if (okMessage) announce(okMessage);
    return true;
  } catch (e) {
    toast(plainMessage(e.message), 'error');
    emit('config');
    return false;
  }
}

function strategyCard() {
  const r = state.config.routing || {};
  const current = r.strategy || 'failover';
  const select = h('select', {
    id: 'routing-strategy', 'data-focus': 'routing-strategy', 'aria-describedby': 'routing-strategy-help',
    onchange: (e) => save((c) => { c.routing = { ...(c.routing || {}), strategy: e.target.value }; }, t('routing.saved')),
  }, STRATEGIES.map((s) => h('option', { value: s, text: t(`strategy.${s}`) })));
  select.value = current;
  const sticky = r.sticky_sessions !== false;
  const measured = current === 'least-latency'
    ? h('p', { class: 'help', id: 'routing-latency' }, t('routing.latencies', {
      list: (state.config.providers || []).filter((p) => p.enabled !== false).map((p) => {
        const ms = state.status?.providers?.find((x) => x.id === p.id)?.avg_ttfb_ms;
        return `${p.name || p.id} ${ms == null ? t('routing.unmeasured') : latency(ms)}`;
      }).join(' · '),
    }))
    : null;
  const weights = current === 'weighted'
    ? h('p', { class: 'help', id: 'routing-weights' }, t('routing.weights', {
      list: (state.config.providers || []).filter((p) => p.enabled !== false).map((p) => `${p.name || p.id} ${p.weight ?? 1}`).join(' · '),
    }))
    : null;
  return h('section', { class: 'card', 'aria-labelledby': 'routing-title' },
    h('h2', { id: 'routing-title', text: t('routing.title') }),
    h('div', { class: 'field' },
      h('label', { for: 'routing-strategy', text: t('routing.strategy') }), select,
      h('p', { class: 'help', id: 'routing-strategy-help', text: t(`strategy.${current}_help`) }),
      weights, measured),
    h('label', { class: 'switch', for: 'sticky-sessions' },
      h('input', {
        type: 'checkbox', role: 'switch', id: 'sticky-sessions', 'data-focus': 'sticky-sessions', checked: sticky,
        'aria-describedby': 'sticky-help',
        onchange: (e) => save((c) => { c.routing = { ...(c.routing || {}), sticky_sessions: e.target.checked }; }, t('routing.saved')),
      }),
      h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
      h('span', { text: t('routing.sticky') })),
    h('p', { class: 'help', id: 'sticky-help', text: current === 'failover' ? t('routing.sticky_failover') : t('routing.sticky_help') }));
}

/** A rule's conditions in words. */
export function conditions(r) {
  const out = [];
  if (r.model) out.push(t('rules.cond_model', { glob: r.model }));
  if (r.thinking != null) out.push(t(r.thinking ? 'rules.cond_thinking_on' : 'rules.cond_thinking_off'));
  if (r.min_input_tokens != null) out.push(t('rules.cond_tokens', { n: num(r.min_input_tokens) }));
  if (r.has_image != null) out.push(t(r.has_image ? 'rules.cond_image' : 'rules.cond_no_image'));
  if (r.tool) out.push(t('rules.cond_tool', { tool: r.tool }));
  if (r.keyword) out.push(t('rules.cond_keyword', { keyword: r.keyword }));
  return out.length ? out.join(t('rules.and')) : t('rules.cond_any');
}

export function ruleLabel(r, i) {
  return r.name?.trim() ? r.name : t('rules.rule_n', { n: i + 1 });
}

async function moveRule(i, delta) {
  const j = i + delta;
  const n = state.config.rules?.length || 0;
  if (j < 0 || j >= n) return;
  const ok = await save((c) => {
    const [r] = c.rules.splice(i, 1);
    c.rules.splice(j, 0, r);
  });
  if (ok) {
    announce(t('rules.moved', { name: ruleLabel(state.config.rules[j], j), n: j + 1 }));
    const el = document.querySelector(`[data-focus="rule-${delta < 0 ? 'up' : 'down'}-${j}"]`);
    (el && !el.disabled ? el : document.querySelector(`[data-focus="rule-edit-${j}"]`))?.focus();
  }
}

async function removeRule(i) {
  const r = state.config.rules[i];
  const res = await confirmDialog({
    title: t('rules.delete_title', { name: ruleLabel(r, i) }), message: t('rules.delete_body'),
    confirmLabel: t('action.delete'), danger: true,
  });
  if (!res.ok) return;
  await save((c) => {
    c.rules.splice(i, 1);
    if (!c.rules.length) delete c.rules;
  }, t('rules.deleted'));
}

function ruleRow(r, i, n) {
  const name = ruleLabel(r, i);
  const target = r.upstream_model
    ? t('rules.to_model', { provider: providerName(r.provider), model: r.upstream_model })
    : t('rules.to', { provider: providerName(r.provider) });
  return h('li', { class: 'pcard rule', dataset: { rule: String(i) } },
    h('div', { class: 'pcard-order' },
      h('span', { class: 'rank', text: String(i + 1) }),
      h('div', { class: 'move' },
        button(t('rules.move_up', { name }), { icon: 'up', cls: 'btn-icon', hideLabel: true, disabled: i === 0, 'data-focus': `rule-up-${i}`, onclick: () => moveRule(i, -1) }),
        button(t('rules.move_down', { name }), { icon: 'down', cls: 'btn-icon', hideLabel: true, disabled: i === n - 1, 'data-focus': `rule-down-${i}`, onclick: () => moveRule(i, 1) }))),
    h('div', { class: 'pcard-main' },
      h('div', { class: 'pcard-title' }, h('h3', { text: name })),
      h('p', { class: 'rule-when', text: conditions(r) }),
      h('p', { class: 'rule-to' }, icon('arrow'), h('span', { text: target }))),
    h('div', { class: 'pcard-actions' },
      button(t('rules.edit_label', { name }), { icon: 'edit', cls: 'btn-icon btn-outline', hideLabel: true, 'data-focus': `rule-edit-${i}`, onclick: () => openRuleDialog(i) }),
      button(t('rules.delete_label', { name }), { icon: 'trash', cls: 'btn-icon btn-outline btn-danger-ghost', hideLabel: true, 'data-focus': `rule-del-${i}`, onclick: () => removeRule(i) })));
}

function rulesCard() {
  const rules = state.config.rules || [];
  return h('section', { class: 'card', 'aria-labelledby': 'rules-title' },
    h('div', { class: 'card-head' },
      h('h2', { id: 'rules-title', text: t('rules.title') }),
      button(t('rules.add'), { icon: 'plus', cls: 'btn btn-primary', id: 'add-rule', 'data-focus': 'add-rule', onclick: () => openRuleDialog(null) })),
    h('p', { class: 'card-sub muted', text: t('rules.explain') }),
    rules.length
      ? h('ol', { class: 'pcards', id: 'rule-list' }, rules.map((r, i) => ruleRow(r, i, rules.length)))
      : h('p', { class: 'empty', id: 'rule-list-empty', text: t('rules.empty') }));
}

function field(name, label, input, help) {
  input.id = `r-${name}`;
  input.name = name;
  const err = h('p', { class: 'field-error', id: `rerr-${name}` });
  const helpEl = help ? h('p', { class: 'help', id: `rhelp-${name}`, text: help }) : null;
  input.setAttribute('aria-describedby', [helpEl && `rhelp-${name}`, `rerr-${name}`].filter(Boolean).join(' '));
  return h('div', { class: 'field', dataset: { field: name } }, h('label', { for: input.id, text: label }), input, helpEl, err);
}

function triState(value, onLabel, offLabel) {
  const sel = h('select', {},
    h('option', { value: '', text: t('rules.any') }),
    h('option', { value: 'true', text: onLabel }),
    h('option', { value: 'false', text: offLabel }));
  sel.value = value == null ? '' : String(value);
  return sel;
}

/** Add (index null) or edit a rule. */
export function openRuleDialog(index) {
  const original = index == null ? {} : structuredClone(state.config.rules[index]);
  const providers = state.config.providers || [];
  const text = (v, attrs = {}) => h('input', { type: 'text', value: v || '', autocomplete: 'off', spellcheck: 'false', ...attrs });
  const name = text(original.name);
  const provider = h('select', {}, providers.map((p) => h('option', { value: p.id, text: p.name ? `${p.name} (${p.id})` : p.id })));
  provider.value = original.provider || providers[0]?.id || '';
  const models = h('datalist', { id: 'rule-model-options' });
  const fillModels = () => {
    const p = providers.find((x) => x.id === provider.value);
    replace(models, [...new Set(Object.values(p?.models || {}))].map((m) => h('option', { value: m })));
  };
  provider.addEventListener('change', fillModels);
  fillModels();
  const upstream = text(original.upstream_model, { class: 'mono', list: 'rule-model-options', placeholder: t('rules.upstream_placeholder') });
  const model = text(original.model, { class: 'mono', placeholder: 'claude-haiku*' });
  const thinking = triState(original.thinking, t('rules.thinking_on'), t('rules.thinking_off'));
  const tokens = h('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric', value: original.min_input_tokens ?? '', placeholder: '60000' });
  const image = triState(original.has_image, t('rules.image_yes'), t('rules.image_no'));
  const tool = text(original.tool, { class: 'mono', placeholder: 'web_search' });
  const keyword = text(original.keyword);
  const summary = h('div', { class: 'form-error', role: 'alert', id: 'rule-form-error' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: index == null ? t('rules.add_submit') : t('action.save') });
  const form = h('form', { class: 'form', novalidate: true },
    summary,
    h('div', { class: 'form-grid' },
      field('name', t('rules.name'), name, t('rules.name_help')),
      field('provider', t('rules.provider'), provider, t('rules.provider_help')),
      field('upstream_model', t('rules.upstream_model'), upstream, t('rules.upstream_help')),
      models),
    h('fieldset', { class: 'models' },
      h('legend', { text: t('rules.conditions') }),
      h('p', { class: 'help', text: t('rules.conditions_help') }),
      h('div', { class: 'form-grid' },
        field('model', t('rules.model'), model, t('rules.model_help')),
        field('thinking', t('rules.thinking'), thinking),
        field('min_input_tokens', t('rules.min_input_tokens'), tokens, t('rules.tokens_help')),
        field('has_image', t('rules.has_image'), image),
        field('tool', t('rules.tool'), tool, t('rules.tool_help')),
        field('keyword', t('rules.keyword'), keyword, t('rules.keyword_help')))),
    h('div', { class: 'dialog-actions' }, h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'btn', text: t('action.cancel'), onclick: () => d.close() }),
      submit));
  const d = openDialog({ title: index == null ? t('rules.add_title') : t('rules.edit_title', { name: ruleLabel(original, index) }), body: form, wide: true });
  name.focus();

  const showError = (fieldName, message) => {
    const err = form.querySelector(`#rerr-${fieldName}`);
    const input = form.querySelector(`#r-${fieldName}`);
    if (err) {
      err.textContent = message;
      input?.setAttribute('aria-invalid', 'true');
      input?.focus();
    } else {
      summary.textContent = message;
    }
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    summary.textContent = '';
    for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    if (!provider.value) return showError('provider', t('rules.err_provider'));
    const n = tokens.value.trim();
    if (n && !(Number.isInteger(Number(n)) && Number(n) > 0)) return showError('min_input_tokens', t('rules.err_tokens'));
    const rule = { provider: provider.value };
    const set = (k, v) => { if (v !== '' && v != null) rule[k] = v; };
    set('name', name.value.trim());
    set('upstream_model', upstream.value.trim());
    set('model', model.value.trim());
    if (thinking.value) rule.thinking = thinking.value === 'true';
    if (n) rule.min_input_tokens = Number(n);
    if (image.value) rule.has_image = image.value === 'true';
    set('tool', tool.value.trim());
    set('keyword', keyword.value.trim());
    submit.disabled = true;
    try {
      await saveConfig((c) => {
        c.rules = c.rules || [];
        if (index == null) c.rules.push(rule);
        else c.rules[index] = rule;
      });
    } catch (err) {
      submit.disabled = false;
      const m = /rules\[(\d+)\]\.([a-z_]+)/.exec(err.message || '');
      if (m && RULE_FIELDS.includes(m[2])) showError(m[2], plainMessage(err.message));
      else showError('_', plainMessage(err.message));
      return;
    }
    d.close();
    toast(index == null ? t('rules.added') : t('rules.saved'), 'ok');
  });
}

export function mountRouting(panel) {
  const render = () => rerender(panel, () => {
    if (!state.config) {
      replace(panel, h('p', { class: 'empty', text: t('common.loading') }));
      return;
    }
    replace(panel, strategyCard(), rulesCard());
  });
  on('config', render);
  // Status updates carry the measured latencies: redraw when they change.
  let seen = '';
  on('status', () => {
    const k = (state.status?.providers || []).map((p) => `${p.id}:${Math.round(p.avg_ttfb_ms ?? -1)}`).join();
    if (k !== seen) {
      seen = k;
      render();
    }
  });
  onLanguage(render);
  render();
}
