// First-run setup: with no config file yet (GET /api/config says `exists: false`) the window
// opens on a short guided setup instead of the Status screen — which apps the user runs, a
// backup or two from the presets, keys into the keychain, a live test of each provider, and
// one click that connects the chosen apps. Every change goes through the engine's own API
// (PUT /api/config, PUT /api/keys/{id}, POST /api/providers/{id}/test, the integrations), so
// setup can do nothing the other screens cannot. It can be skipped at any step, and run again
// from Settings.
//
// The steps themselves are in setup-steps.js; this file owns the flow: where setup shows,
// which step is on screen, Back / Next / Skip, and leaving.

import { h, replace, rerender, button, announce } from './dom.js';
import { t, onLanguage } from './i18n.js';
import { state, on, saveConfig } from './store.js';
import { selectTab } from './tabs.js';
import { toast } from './toast.js';
import { plainMessage } from './api.js';
import { DEFAULT_CLIENTS } from './setup-clients.js';
import { STEPS } from './setup-steps.js';

/** Everything setup remembers while it is open. */
const wiz = {
  open: false,
  step: 0,
  /** Ids of the chosen apps (setup-clients.js). */
  clients: new Set(DEFAULT_CLIENTS),
  /** Preset ids ticked as backups. */
  backups: new Set(),
  /** Preset id -> provider id, for the providers this setup added (unticking removes them). */
  added: new Map(),
  /** Provider id -> test answer ({running} while it runs). */
  tests: new Map(),
  /** Client id -> {configured, settings_path, error} after connecting (or undoing). */
  connected: new Map(),
  /** A Next is running (saving, storing keys). */
  busy: false,
  error: '',
};

let root = null;

/** Re-draw the current step (live updates keep what the user typed, see rerender). */
function render() {
  if (!wiz.open || !root) return;
  rerender(root, () => replace(root, view()));
}

function progress() {
  const counted = STEPS.filter((s) => !s.final);
  return h('ol', { class: 'setup-steps', 'aria-label': t('setup.steps_label') },
    counted.map((s, i) => h('li', {
      class: [i < wiz.step && 'done', i === wiz.step && 'current'],
      'aria-current': i === wiz.step ? 'step' : null,
    }, h('span', { class: 'setup-step-n', text: String(i + 1), 'aria-hidden': 'true' }), h('span', { text: t(s.name) }))));
}

function view() {
  const step = STEPS[wiz.step];
  const counted = STEPS.filter((s) => !s.final).length;
  const ctx = { wiz, render, next };
  const nav = h('div', { class: 'setup-nav' },
    wiz.step > 0 && !step.final
      ? button(t('setup.back'), { cls: 'btn', id: 'setup-back', 'data-focus': 'setup-back', onclick: () => go(wiz.step - 1) })
      : null,
    step.final ? null : button(t('setup.skip'), { cls: 'btn btn-ghost', id: 'setup-skip', 'data-focus': 'setup-skip', onclick: skip }),
    h('span', { class: 'spacer' }),
    button(step.final ? t('setup.finish') : t('setup.next'), {
      cls: 'btn btn-primary', id: step.final ? 'setup-finish' : 'setup-next', 'data-focus': 'setup-next',
      icon: step.final ? 'check' : 'arrow', disabled: wiz.busy, onclick: next,
    }));
  return h('div', { class: 'setup-inner' },
    step.final ? null : h('p', { class: 'setup-count muted', text: t('setup.progress', { n: wiz.step + 1, total: counted }) }),
    step.final ? null : progress(),
    h('section', { class: 'card setup-card', 'aria-labelledby': 'setup-title' },
      h('h1', { id: 'setup-title', class: 'setup-title', tabindex: '-1', text: t(step.title) }),
      step.body(ctx),
      h('p', { class: 'field-error', id: 'setup-error', role: 'alert', text: wiz.error }),
      nav));
}

/** Show step `i` and put the keyboard (and screen reader) on its title. */
function go(i) {
  wiz.step = Math.max(0, Math.min(STEPS.length - 1, i));
  wiz.error = '';
  replace(root, view());
  STEPS[wiz.step].enter?.({ wiz, render });
  document.getElementById('setup-title')?.focus();
  root.scrollIntoView?.({ block: 'start' });
}

async function next() {
  const step = STEPS[wiz.step];
  if (step.final) {
    close();
    selectTab('status');
    return;
  }
  wiz.busy = true;
  wiz.error = '';
  render();
  try {
    // A step's leave() checks what was entered and saves it; it throws to stay.
    await step.leave?.({ wiz, render });
    wiz.busy = false;
    go(wiz.step + 1);
  } catch (e) {
    wiz.busy = false;
    wiz.error = plainMessage(e.message || String(e));
    render();
    document.getElementById('setup-error')?.focus?.();
  }
}

/**
 * Skip: keep the running config as it is, but write it to the config file, so that the next
 * start is no longer a first run (the file is what says "set up").
 */
async function skip() {
  try {
    if (!state.configExists) await saveConfig(() => {});
    state.configExists = true;
  } catch (e) {
    toast(plainMessage(e.message), 'error');
    return;
  }
  close();
  toast(t('setup.skipped'), 'info');
  selectTab('status');
}

function close() {
  wiz.open = false;
  document.body.classList.remove('in-setup');
  if (root) {
    root.hidden = true;
    root.replaceChildren();
  }
  document.getElementById('main')?.focus({ preventScroll: true });
}

/** Open setup at its first step (from the first start, or Settings). */
export function openSetup() {
  if (!root) {
    root = h('section', { id: 'setup', class: 'setup', 'aria-label': t('setup.title') });
    document.getElementById('main')?.before(root);
  }
  Object.assign(wiz, { open: true, busy: false, error: '', tests: new Map(), connected: new Map() });
  root.hidden = false;
  document.body.classList.add('in-setup');
  go(0);
  announce(t('setup.title'));
}

/** Called once at start-up with GET /api/config's answer. */
export function startSetupIfFirstRun(configAnswer) {
  state.configExists = configAnswer?.exists !== false;
  if (!state.configExists) openSetup();
}

/** The Settings card that runs setup again. */
export function setupCard() {
  return h('section', { class: 'card', 'aria-labelledby': 'set-setup-title' },
    h('h2', { id: 'set-setup-title', text: t('setup.settings_title') }),
    h('p', { class: 'help', text: t('setup.settings_help') }),
    h('div', { class: 'row actions' },
      button(t('setup.settings_run'), { icon: 'play', cls: 'btn', id: 'setup-again', 'data-focus': 'setup-again', onclick: openSetup })));
}

// Live: the engine's state changes under setup too (keys stored, tests, another window).
// (Not on every status update: a re-draw under the pointer can swallow a click.)
for (const topic of ['config', 'keys', 'claude']) on(topic, render);
onLanguage(render);
