// Switchyard's web UI: served by the engine at http://127.0.0.1:PORT/ and shown in the desktop
// app's window. Plain ES modules, no build step. Everything on screen comes from the engine's
// admin API and its event stream; nothing polls.

import { h, icon, replace, trackDirty } from './dom.js';
import { t, setLanguage, resolve, language, onLanguage } from './i18n.js';
import { api } from './api.js';
import { state, on, refreshStatus, refreshKeys, refreshRequests, refreshClaude } from './store.js';
import { connect } from './live.js';
import { mountTabs, onTab } from './tabs.js';
import { mountStatus, mountBanner, tickCountdowns } from './status.js';
import { mountProviders } from './providers.js';
import { mountRequests } from './requests.js';
import { mountRouting } from './routing.js';
import { mountSettings } from './settings.js';
import { mountIntegrations } from './integrations.js';
import { mountUsage } from './usage.js';
import { toast } from './toast.js';
import { startSetupIfFirstRun } from './setup.js';

function mountConnection(el) {
  const render = () => {
    const c = state.connection;
    const kind = c === 'live' ? 'ok' : c === 'connecting' ? 'wait' : 'bad';
    replace(el, h('span', { class: ['dot', `dot-${kind}`], 'aria-hidden': 'true' }), h('span', { text: t(`conn.${c}`) }));
  };
  on('connection', render);
  onLanguage(render);
  render();
}

function mountVersion(el) {
  on('status', () => {
    el.textContent = state.status?.version ? `v${state.status.version}` : '';
  });
}

async function main() {
  let configAnswer = null;
  try {
    const r = await api.config();
    configAnswer = r;
    state.config = r.config;
    state.configPath = r.path;
  } catch (e) {
    console.error('cannot read the config', e);
  }
  await setLanguage(resolve(state.config?.ui?.language || ''));

  trackDirty(document);
  mountTabs(document.getElementById('tabs'));
  mountConnection(document.getElementById('conn'));
  mountVersion(document.getElementById('version'));
  mountBanner(document.getElementById('banner'), document.getElementById('banner-live'));
  mountStatus(document.getElementById('panel-status'));
  mountProviders(document.getElementById('panel-providers'));
  mountRequests(document.getElementById('panel-requests'));
  mountRouting(document.getElementById('panel-routing'));
  mountUsage(document.getElementById('panel-usage'));
  mountIntegrations(document.getElementById('panel-integrations'));
  mountSettings(document.getElementById('panel-settings'));
  document.body.classList.remove('booting');

  // The config may change from outside (file edit, another window): follow its language.
  on('config', () => {
    const want = resolve(state.config?.ui?.language || '');
    if (want !== language()) setLanguage(want);
  });
  onTab((id) => {
    if (id === 'integrations') refreshClaude().catch(() => {});
  });

  const first = [refreshStatus(), refreshKeys(), refreshRequests(), refreshClaude()];
  const failed = (await Promise.allSettled(first)).find((r) => r.status === 'rejected');
  if (failed) toast(t('app.load_failed', { error: failed.reason?.message || '' }), 'error');
  // No config file yet: a first run, which opens on the guided setup.
  startSetupIfFirstRun(configAnswer);
  connect();
  setInterval(tickCountdowns, 1000);
}

main().catch((e) => {
  console.error(e);
  document.body.classList.remove('booting');
  const main = document.getElementById('main');
  if (main) replace(main, h('p', { class: 'fatal' }, icon('x'), ` ${e.message || e}`));
});
