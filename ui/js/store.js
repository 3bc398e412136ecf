// The UI's state: what the engine last told us, and change notifications per topic.
// Screens subscribe and re-render; nothing polls — refreshes are triggered by server events.

import { api } from './api.js';

export const state = {
  status: null,
  config: null,
  configPath: null,
  keys: {},
  keyStore: null,
  requests: [],
  presets: null,
  claude: null,
  codex: null,
  connection: 'connecting',
  activity: [],
  testResults: new Map(),
};

export const REQUEST_LIMIT = 500;
const ACTIVITY_LIMIT = 50;

const subs = new Map();

export function on(topic, fn) {
  if (!subs.has(topic)) subs.set(topic, new Set());
  subs.get(topic).add(fn);
}

export function emit(topic) {
  for (const fn of subs.get(topic) || []) {
    try {
      fn();
    } catch (e) {
      console.error(`render of ${topic} failed`, e);
    }
  }
}

/** Run `load` at most once at a time; a call while one runs schedules exactly one more. */
function coalesced(load) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

export function setStatus(s) {
  state.status = s;
  emit('status');
}

export const refreshStatus = coalesced(async () => setStatus(await api.status()));

export const refreshConfig = coalesced(async () => {
  const r = await api.config();
  state.config = r.config;
  state.configPath = r.path;
  emit('config');
});

export const refreshKeys = coalesced(async () => {
  const r = await api.keys();
  state.keys = Object.fromEntries((r.keys || []).map((k) => [k.provider, k]));
  state.keyStore = r.store;
  emit('keys');
});

export const refreshRequests = coalesced(async () => {
  const r = await api.requests(REQUEST_LIMIT);
  state.requests = r.requests || [];
  emit('requests');
});

export const refreshClaude = coalesced(async () => {
  state.claude = await api.claudeCode();
  emit('claude');
});

export const refreshCodex = coalesced(async () => {
  state.codex = await api.codex();
  emit('codex');
});

export function addRequest(rec) {
  state.requests.push(rec);
  if (state.requests.length > REQUEST_LIMIT) state.requests.splice(0, state.requests.length - REQUEST_LIMIT);
  emit('requests');
}

export function addActivity(item) {
  state.activity.unshift({ at: new Date(), ...item });
  state.activity.length = Math.min(state.activity.length, ACTIVITY_LIMIT);
  emit('activity');
}

/** Trailing throttle: `fn` runs at most once per `ms`, and always after the last call. */
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  return () => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      fn();
    }, wait);
  };
}

/**
 * Save a changed copy of the config: `change(copy)` edits it, the engine validates and saves it.
 * Throws the engine's error (ApiError) unchanged, so forms can show it by their field.
 */
// Saves run one after another, each applying its change to the config as the previous save
// left it: two quick edits (a checkbox, then a number) must not overwrite each other.
let saving = Promise.resolve();

export function saveConfig(change) {
  const run = async () => {
    const next = structuredClone(state.config);
    change(next);
    await api.saveConfig(next);
    state.config = next;
    emit('config');
    refreshStatus().catch(() => {});
    refreshKeys().catch(() => {});
    return next;
  };
  const result = saving.then(run, run);
  saving = result.catch(() => {});
  return result;
}

/** Display name of a provider id. */
export function providerName(id) {
  if (!id) return '';
  const p = state.config?.providers?.find((x) => x.id === id) || state.status?.providers?.find((x) => x.id === id);
  return p?.name || id;
}

/** The engine names its key store in English ("OS keychain"); say it in the user's language. */
export function keyStoreName(t) {
  return !state.keyStore || state.keyStore === 'OS keychain' ? t('key.os_keychain') : state.keyStore;
}
