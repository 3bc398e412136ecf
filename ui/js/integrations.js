// The Integrations screen: configure Claude Code and Gemini CLI (and undo either), the
// SillyTavern proxy URL, the shell lines and the OpenAI-compatible base URL, each with a copy
// button.

import { h, icon, replace, rerender, announce, button } from './dom.js';
import { t, onLanguage } from './i18n.js';
import { state, on, refreshClaude } from './store.js';
import { api } from './api.js';
import { toast } from './toast.js';

export function baseUrl() {
  const listen = state.status?.listen || state.claude?.base_url?.replace(/^http:\/\//, '') || location.host;
  return `http://${listen}`;
}

export async function copy(text, btn) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    // Older engines or a denied permission: copy through a selected text field.
    const ta = h('textarea', { class: 'sr-only', readonly: true });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
  }
  if (ok) {
    const label = btn.querySelector('span');
    const before = label.textContent;
    label.textContent = t('action.copied');
    announce(t('action.copied'));
    setTimeout(() => { label.textContent = before; }, 1600);
  } else {
    toast(t('integrations.copy_failed'), 'error');
  }
}

function copyField(id, label, value) {
  const input = h('input', { type: 'text', id, class: 'mono', readonly: true, value, onfocus: (e) => e.target.select() });
  const btn = button(t('action.copy'), { icon: 'copy', cls: 'btn', 'data-focus': `copy-${id}`, 'aria-label': t('integrations.copy_label', { what: label }) });
  btn.addEventListener('click', () => copy(input.value, btn));
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), h('div', { class: 'row copy-row' }, input, btn));
}

async function claudeCode(undo) {
  try {
    const r = await api.setupClaudeCode(undo);
    toast(undo ? t('integrations.cc_undone', { path: r.settings_path }) : t('integrations.cc_done', { path: r.settings_path }), 'ok');
  } catch (e) {
    toast(e.message, 'error');
  }
  await refreshClaude().catch(() => {});
}

/** When a provider's context window is below Claude's, what Claude Code will be told. */
function compactHint(c) {
  const vars = Object.entries(c?.compact_env || {});
  if (!vars.length || !c.context_window) return null;
  return h('p', { class: 'help', id: 'cc-compact' },
    h('span', { text: t('integrations.cc_compact', { tokens: c.context_window.toLocaleString() }) }), ' ',
    h('code', { text: vars.map(([k, v]) => `${k}=${v}`).join(' ') }));
}

function claudeCard() {
  const c = state.claude;
  const configured = Boolean(c?.configured);
  return h('section', { class: 'card', 'aria-labelledby': 'int-cc-title' },
    h('div', { class: 'card-head' },
      h('h2', { id: 'int-cc-title' }, icon('terminal'), h('span', { text: 'Claude Code' })),
      h('span', { id: 'cc-state', class: ['badge', configured ? 'state-available' : 'state-disabled'] },
        icon(configured ? 'check' : 'circle'), h('span', { text: configured ? t('integrations.cc_configured') : t('integrations.cc_not_configured') }))),
    h('p', { class: 'card-sub muted', text: t('integrations.cc_explain') }),
    h('dl', { class: 'kv' },
      h('dt', { text: t('integrations.cc_settings') }), h('dd', { class: 'mono', id: 'cc-path', text: c?.settings_path || t('common.unknown') })),
    compactHint(c),
    h('div', { class: 'row actions' },
      button(t('integrations.cc_configure'), { icon: 'check', cls: 'btn btn-primary', id: 'cc-configure', 'data-focus': 'cc-configure', onclick: () => claudeCode(false) }),
      button(t('integrations.cc_undo'), { icon: 'undo', cls: 'btn', id: 'cc-undo', 'data-focus': 'cc-undo', disabled: !configured, onclick: () => claudeCode(true) })),
    h('p', { class: 'help', text: t('integrations.cc_restart') }),
    h('hr'),
    h('p', { text: t('integrations.shell_explain') }),
    copyField('shell-line', t('integrations.shell_label'), `export ANTHROPIC_BASE_URL=${baseUrl()}`));
}

// Gemini CLI's state is this screen's own (nothing else shows it).
let gemini = null;

async function refreshGemini() {
  gemini = await api.geminiCli().catch(() => null);
}

async function geminiCli(undo, render) {
  try {
    const r = await api.setupGeminiCli(undo);
    toast(undo ? t('integrations.gm_undone', { path: r.dir }) : t('integrations.gm_done', { path: r.dir }), 'ok');
  } catch (e) {
    toast(e.message, 'error');
  }
  await refreshGemini();
  render();
}

function geminiCard(render) {
  const configured = Boolean(gemini?.configured);
  return h('section', { class: 'card', 'aria-labelledby': 'int-gm-title' },
    h('div', { class: 'card-head' },
      h('h2', { id: 'int-gm-title' }, icon('terminal'), h('span', { text: 'Gemini CLI' })),
      h('span', { id: 'gm-state', class: ['badge', configured ? 'state-available' : 'state-disabled'] },
        icon(configured ? 'check' : 'circle'), h('span', { text: configured ? t('integrations.cc_configured') : t('integrations.cc_not_configured') }))),
    h('p', { class: 'card-sub muted', text: t('integrations.gm_explain') }),
    h('dl', { class: 'kv' },
      h('dt', { text: t('integrations.gm_dir') }), h('dd', { class: 'mono', id: 'gm-path', text: gemini?.dir || t('common.unknown') })),
    h('div', { class: 'row actions' },
      button(t('integrations.gm_configure'), { icon: 'check', cls: 'btn btn-primary', id: 'gm-configure', 'data-focus': 'gm-configure', onclick: () => geminiCli(false, render) }),
      button(t('integrations.gm_undo'), { icon: 'undo', cls: 'btn', id: 'gm-undo', 'data-focus': 'gm-undo', disabled: !configured, onclick: () => geminiCli(true, render) })),
    h('p', { class: 'help', text: t('integrations.gm_restart') }),
    h('hr'),
    h('p', { text: t('integrations.gm_shell_explain') }),
    copyField('gm-shell-line', t('integrations.gm_shell_label'), `export GOOGLE_GEMINI_BASE_URL=${baseUrl()}`));
}

function sillyCard() {
  return h('section', { class: 'card', 'aria-labelledby': 'int-st-title' },
    h('h2', { id: 'int-st-title' }, icon('link'), h('span', { text: 'SillyTavern' })),
    copyField('st-url', t('integrations.st_label'), `${baseUrl()}/v1`),
    h('p', { class: 'help', text: t('integrations.st_explain') }));
}

function otherCard() {
  return h('section', { class: 'card', 'aria-labelledby': 'int-other-title' },
    h('h2', { id: 'int-other-title' }, icon('signal'), h('span', { text: t('integrations.other_title') })),
    copyField('base-url', t('integrations.other_label'), baseUrl()),
    h('p', { class: 'help', text: t('integrations.other_explain') }));
}

function openaiCard() {
  return h('section', { class: 'card', 'aria-labelledby': 'int-openai-title' },
    h('h2', { id: 'int-openai-title' }, icon('link'), h('span', { text: t('integrations.openai_title') })),
    h('p', { class: 'card-sub muted', text: t('integrations.openai_explain') }),
    copyField('openai-url', t('integrations.openai_label'), `${baseUrl()}/v1`),
    h('ul', { class: 'help' },
      h('li', { text: t('integrations.openai_st') }),
      h('li', { text: t('integrations.openai_cursor') }),
      h('li', { text: t('integrations.openai_sdk') })),
    h('p', { class: 'help', text: t('integrations.openai_key') }));
}

export function mountIntegrations(panel) {
  const render = () => rerender(panel, () => {
    replace(panel, claudeCard(), geminiCard(render), h('div', { class: 'grid-2' }, sillyCard(), otherCard()), openaiCard());
  });
  let seen = '';
  on('status', () => {
    if (state.status?.listen !== seen) {
      seen = state.status?.listen;
      render();
    }
  });
  on('claude', render);
  onLanguage(render);
  render();
  refreshGemini().then(render);
}
