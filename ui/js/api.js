// The engine's HTTP API, same origin. State-changing calls send JSON (the engine refuses
// anything else, which is what keeps other web pages from driving it).

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function call(method, path, body, contentType = 'application/json') {
  const init = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = contentType;
    init.body = contentType === 'application/json' ? JSON.stringify(body) : body;
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(e.message || String(e), 0, null);
  }
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!r.ok) {
    // Anthropic-shaped: {"type":"error","error":{"type":..,"message":..}}
    const msg = data?.error?.message || text || `HTTP ${r.status}`;
    throw new ApiError(msg, r.status, data);
  }
  return data;
}

export const api = {
  status: () => call('GET', '/api/status'),
  requests: (limit = 500) => call('GET', `/api/requests?limit=${limit}`),
  config: () => call('GET', '/api/config'),
  saveConfig: (config) => call('PUT', '/api/config', config),
  keys: () => call('GET', '/api/keys'),
  setKey: (id, key) => call('PUT', `/api/keys/${encodeURIComponent(id)}`, { key }),
  deleteKey: (id) => call('DELETE', `/api/keys/${encodeURIComponent(id)}`),
  switchTo: (provider) => call('POST', '/v1/switch-provider', { provider }),
  presets: () => call('GET', '/api/presets'),
  testProvider: (id) => call('POST', `/api/providers/${encodeURIComponent(id)}/test`, {}),
  claudeCode: () => call('GET', '/api/integrations/claude-code'),
  setupClaudeCode: (undo) => call('POST', '/api/integrations/claude-code', { undo }),
  geminiCli: () => call('GET', '/api/integrations/gemini-cli'),
  setupGeminiCli: (undo) => call('POST', '/api/integrations/gemini-cli', { undo }),
  usage: (days = 30) => call('GET', `/api/usage?days=${days}`),
  prices: () => call('GET', '/api/prices'),
  clearCache: () => call('DELETE', '/api/cache'),
  tokens: () => call('GET', '/api/tokens'),
  createToken: (name, ratePerMinute) => call('POST', '/api/tokens', { name, rate_per_minute: ratePerMinute }),
  deleteToken: (name) => call('DELETE', `/api/tokens/${encodeURIComponent(name)}`),
  importProviders: (text, mode) => call('POST', `/api/import?mode=${encodeURIComponent(mode)}`, text, 'application/toml'),
};

/**
 * Where a config error points: `providers[2].base_url` -> {index: 2, field: 'base_url'}.
 * Works for the engine's validation messages and for JSON decoding errors alike.
 */
export function errorField(message) {
  const m = /providers\[(\d+)\]\.([a-z_]+)/.exec(message || '');
  if (m) return { index: Number(m[1]), field: m[2] };
  const top = /`([a-z_]+(?:\.[a-z_]+)*)`/.exec(message || '');
  return top ? { index: null, field: top[1] } : null;
}

/** The message without the leading "`field`: " the engine puts in front. */
export function plainMessage(message) {
  return String(message || '').replace(/^`[^`]+`:\s*/, '');
}

/** Desktop app bridge (Tauri), when present. */
export function tauriInvoke() {
  const core = window.__TAURI__?.core;
  if (core?.invoke) return core.invoke.bind(core);
  const internals = window.__TAURI_INTERNALS__;
  if (internals?.invoke) return internals.invoke.bind(internals);
  return null;
}
