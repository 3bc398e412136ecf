// Test harness for the web UI: two switchyard-mock upstreams, a real `switchyard serve` in front
// of them (temp HOME, XDG_CONFIG_HOME and CLAUDE_CONFIG_DIR), and Debian's Chromium driven by
// playwright-core. Every process runs in its own process group and is stopped after the test.
//
// Env: SWITCHYARD_BIN, SWITCHYARD_MOCK_BIN (default target/debug/...), CHROMIUM (default
// /usr/bin/chromium), SWITCHYARD_UI_KEEP=1 keeps the temp dir, CI=1 turns skips into failures.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SWITCHYARD = process.env.SWITCHYARD_BIN || path.join(ROOT, 'target/debug/switchyard');
const MOCK = process.env.SWITCHYARD_MOCK_BIN || path.join(ROOT, 'target/debug/switchyard-mock');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const IN_CI = !['', '0', 'false', 'no'].includes((process.env.CI || '').toLowerCase());
export const IN_DESKTOP_SESSION = process.env.SWITCHYARD_DESKTOP_SESSION === '1';

// The flags from TESTING.md; the fresh --user-data-dir comes from launchPersistentContext.
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

/** A child process whose output we keep, started in its own process group. */
class Proc {
  constructor(name, bin, args, env) {
    this.name = name;
    this.out = '';
    this.child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, sig) => resolve(code ?? sig)));
    this.child.stdout.on('data', (d) => { this.out += d; });
    this.child.stderr.on('data', (d) => { this.out += d; });
  }

  async waitFor(re, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.out);
      if (m) return m;
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode}) before printing ${re}\n${this.out}`);
      if (Date.now() > deadline) throw new Error(`${this.name} printed no ${re} within ${timeoutMs} ms\n${this.out}`);
      await sleep(25);
    }
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const done = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!done) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch { /* gone */ }
    }
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value; fail with `what` and the last value after `timeoutMs`. */
export async function eventually(fn, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.stack : JSON.stringify(last)}`);
    await sleep(100);
  }
}

function toml(s) {
  return JSON.stringify(s);
}

/**
 * Start two mocks, Switchyard and a browser page on the UI.
 * opts.providers: [{id, name, mock: 0|1, credential}] (default primary + backup, credential none)
 * opts.claudeSettings: text of CLAUDE_CONFIG_DIR/settings.json to create first
 * opts.codexConfig: text of CODEX_HOME/config.toml to create first
 * opts.colorScheme, opts.viewport, opts.locale
 * opts.noConfig: start with no config file (a first run)
 */
export async function startEnv(t, opts = {}) {
  for (const [what, p] of [['switchyard', SWITCHYARD], ['switchyard-mock', MOCK], ['chromium', CHROMIUM]]) {
    if (!existsSync(p)) throw new Error(`${what} not found at ${p}: run make test-browser (cargo build -p switchyard-cli -p switchyard-mock; apt-get install chromium)`);
  }
  const tmp = await mkdtemp(path.join(process.env.TMPDIR && process.env.TMPDIR.length < 40 ? process.env.TMPDIR : tmpdir(), 'sy-ui-'));
  const dirs = {
    tmp,
    home: path.join(tmp, 'home'),
    xdg: path.join(tmp, 'config'),
    claude: path.join(tmp, 'claude'),
    codex: path.join(tmp, 'codex'),
    profile: path.join(tmp, 'chromium-profile'),
  };
  for (const d of [dirs.home, dirs.xdg, dirs.claude, dirs.codex, dirs.profile]) await mkdir(d, { recursive: true });
  if (opts.claudeSettings !== undefined) await writeFile(path.join(dirs.claude, 'settings.json'), opts.claudeSettings);
  if (opts.codexConfig !== undefined) await writeFile(path.join(dirs.codex, 'config.toml'), opts.codexConfig);

  const procs = [];
  const env = {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.xdg,
    CLAUDE_CONFIG_DIR: dirs.claude,
    CODEX_HOME: dirs.codex,
    SWITCHYARD_CONFIG: path.join(dirs.xdg, 'switchyard', 'config.toml'),
    NO_PROXY: '*',
    RUST_LOG: process.env.RUST_LOG || 'info',
  };
  // Gemini CLI's files: ~/.gemini in the temp home, whatever the caller's environment says.
  delete env.GEMINI_CLI_HOME;
  delete env.HTTP_PROXY;
  delete env.HTTPS_PROXY;
  delete env.http_proxy;
  delete env.https_proxy;

  const state = { procs, dirs, context: null, errors: [] };
  t.after(async () => {
    await state.context?.close().catch(() => {});
    for (const p of procs.reverse()) await p.stop();
    if (process.env.SWITCHYARD_UI_KEEP === '1') console.log(`kept ${tmp}`);
    else await rm(tmp, { recursive: true, force: true });
  });

  const mocks = [];
  for (const text of ['Hello from primary', 'Hello from backup']) {
    const p = new Proc(`mock-${mocks.length}`, MOCK, ['--listen', '127.0.0.1:0', '--default-text', text, ...(opts.mockArgs || [])], env);
    procs.push(p);
    mocks.push((await p.waitFor(/listening on (http:\/\/\S+)/))[1]);
  }

  const providers = opts.providers || [
    { id: 'primary', name: 'Primary', mock: 0, credential: 'none' },
    { id: 'backup', name: 'Backup', mock: 1, credential: 'none' },
  ];
  const configPath = env.SWITCHYARD_CONFIG;
  await mkdir(path.dirname(configPath), { recursive: true });
  // opts.noConfig: a first run. No file at the default path ($SWITCHYARD_CONFIG): the engine
  // runs its built-in default, and the first save creates the file.
  let text = 'listen = "127.0.0.1:3535"\n';
  if (opts.language) text += `\n[ui]\nlanguage = ${toml(opts.language)}\n`;
  if (opts.cluster) text += `\n[cluster]\nredis = ${toml(opts.cluster.redis)}\nnode = ${toml(opts.cluster.node)}\n`;
  for (const p of providers) {
    text += `\n[[providers]]\nid = ${toml(p.id)}\nname = ${toml(p.name)}\nbase_url = ${toml(mocks[p.mock ?? 0])}\ncredential = ${toml(p.credential || 'none')}\n`;
    if (p.models) {
      text += '[providers.models]\n';
      for (const [k, v] of Object.entries(p.models)) text += `${toml(k)} = ${toml(v)}\n`;
    }
  }
  if (!opts.noConfig) await writeFile(configPath, text);

  const serveArgs = opts.noConfig ? ['serve'] : ['serve', '--config', configPath];
  const sy = new Proc('switchyard', SWITCHYARD, [...serveArgs, '--listen', '127.0.0.1:0'], env);
  procs.push(sy);
  const url = (await sy.waitFor(/switchyard listening on (http:\/\/\S+)/))[1];

  state.context = await chromium.launchPersistentContext(dirs.profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: opts.viewport || { width: 1280, height: 860 },
    locale: opts.locale || 'en-US',
    colorScheme: opts.colorScheme || 'light',
    reducedMotion: 'reduce',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = state.context.pages()[0] || (await state.context.newPage());
  page.on('pageerror', (e) => state.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') state.errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.setDefaultTimeout(10000);

  const api = async (p, init = {}) => {
    const r = await fetch(url + p, {
      ...init,
      headers: { 'content-type': 'application/json', ...(init.headers || {}) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const body = await r.text();
    let json = null;
    try {
      json = JSON.parse(body);
    } catch { /* not JSON */ }
    return { status: r.status, headers: r.headers, text: body, json };
  };

  return {
    url, mocks, page, api, dirs, configPath, logs: () => procs.map((p) => `--- ${p.name}\n${p.out}`).join('\n'),
    /** Errors the page reported (uncaught exceptions, console errors such as CSP violations). */
    pageErrors: () => state.errors.slice(),
    async open(hash = '') {
      await page.goto(`${url}/${hash}`);
      await page.locator('body:not(.booting)').waitFor();
      await page.locator('#conn', { hasText: /Live|实时/ }).waitFor();
    },
    /** The requests mock `i` has seen (its control API). */
    async mockRequests(i) {
      const r = await fetch(`${mocks[i]}/__mock/requests`);
      return r.json();
    },
    /** Queue scripted replies on mock `i` (its control API). */
    async script(i, replies) {
      const r = await fetch(`${mocks[i]}/__mock/replies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(replies) });
      if (!r.ok) throw new Error(`mock script failed: ${r.status} ${await r.text()}`);
    },
    /** A real Anthropic request through Switchyard. */
    async message(model = 'claude-sonnet-4-5') {
      const r = await fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-test-client' },
        body: JSON.stringify({ model, max_tokens: 32, messages: [{ role: 'user', content: 'hello' }] }),
      });
      return { status: r.status, provider: r.headers.get('x-switchyard-provider'), body: await r.text() };
    },
  };
}

/** A free loopback port. */
async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Our own redis-server (never the system service) on a free loopback port, stopped after the
 * test. Returns { url, stop(), start() }: stop and start it again on the same port.
 */
export async function startRedis(t) {
  const port = await freePort();
  let proc = null;
  const start = async () => {
    proc = new Proc('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()], process.env);
    await proc.waitFor(/Ready to accept connections/);
  };
  const stop = async () => { await proc?.stop(); };
  t.after(stop);
  await start();
  return { url: `redis://127.0.0.1:${port}/0`, start, stop };
}

/** Skip (on a developer machine) or fail (under CI) when the desktop session is missing. */
export function requireDesktopSession(t) {
  if (IN_DESKTOP_SESSION) return true;
  const why = 'needs the Secret Service: run inside scripts/desktop-session.sh';
  if (IN_CI) throw new Error(why);
  t.skip(why);
  return false;
}

/** The key the Secret Service holds for a provider, or null. */
export function keychainLookup(id) {
  try {
    return execFileSync('secret-tool', ['lookup', 'service', 'switchyard', 'username', id], { encoding: 'utf8' });
  } catch {
    return null;
  }
}

/** Fail when the page reported errors (e.g. a CSP violation or an uncaught exception). */
export function assertNoPageErrors(assert, env, allow = []) {
  const errors = env.pageErrors().filter((e) => !allow.some((re) => re.test(e)));
  assert.deepEqual(errors, [], `the page reported errors:\n${errors.join('\n')}`);
}
