// First-run setup: with no config file the UI opens on the guided setup (apps, a backup from the
// presets, its key into the real Secret Service, a live test against a mock, Claude Code set up
// with undo), writes the config through PUT /api/config, and the next load opens on Status.
// Skipping writes the defaults once; Settings runs setup again; it speaks Chinese too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startEnv, eventually, requireDesktopSession, keychainLookup, assertNoPageErrors } from './harness.js';

const T = { timeout: 120000 };
const KEY = 'sk-setup-deepseek-0123456789-WXYZ';
const SETTINGS = '{\n  "model": "opus",\n  "env": { "KEEP_ME": "1" },\n  "permissions": { "allow": ["Bash(ls:*)"] }\n}\n';
const CODEX = '# my Codex settings\nmodel = "gpt-5.1-codex"\n';
const GEMINI_ENV = '# my gemini settings\nGOOGLE_CLOUD_PROJECT=proj-1\n';
// Every app setup offers, in order.
const APPS = ['claude-code', 'sillytavern', 'codex', 'gemini-cli'];

const header = (req, name) => req.headers.find(([k]) => k.toLowerCase() === name)?.[1];

test('first run: apps, a backup, its key, a live test and Claude Code, Codex CLI and Gemini CLI, then the next load is not a first run', T, async (t) => {
  if (!requireDesktopSession(t)) return;
  const env = await startEnv(t, { noConfig: true, claudeSettings: SETTINGS, codexConfig: CODEX });
  const { page } = env;
  const settingsPath = path.join(env.dirs.claude, 'settings.json');
  const codexPath = path.join(env.dirs.codex, 'config.toml');
  const geminiDir = path.join(env.dirs.home, '.gemini');
  await mkdir(geminiDir, { recursive: true });
  await writeFile(path.join(geminiDir, '.env'), GEMINI_ENV);
  assert.equal((await env.api('/api/config')).json.exists, false, 'no config file yet');

  await env.open();
  const setup = page.locator('#setup');
  const title = page.locator('#setup-title');
  await title.filter({ hasText: 'Which apps will use Switchyard?' }).waitFor();
  assert.equal(await page.locator('#tabs').isVisible(), false, 'setup stands in for the tabs');
  assert.equal(await page.locator('#setup-title').evaluate((el) => el === document.activeElement), true, 'focus on the step');
  assert.equal(await page.locator('#setup-client-claude-code').isChecked(), true, 'Claude Code is chosen by default');
  const offered = await page.locator('.setup-choice input[type="checkbox"]').evaluateAll((els) => els.map((e) => e.id));
  assert.deepEqual(offered, APPS.map((id) => `setup-client-${id}`), 'every app, in order');
  assert.equal(await page.locator('#setup-client-codex').isChecked(), false, 'Codex CLI is offered, not chosen');
  assert.equal(await page.locator('#setup-client-gemini-cli').isChecked(), false, 'Gemini CLI is offered, not chosen');
  await page.getByRole('checkbox', { name: /SillyTavern/ }).check();
  await page.getByRole('checkbox', { name: /Codex CLI/ }).check();
  await page.getByRole('checkbox', { name: /Gemini CLI/ }).check();

  // Backups: the built-in Anthropic provider stays first; DeepSeek from the presets.
  await page.locator('#setup-next').click();
  await title.filter({ hasText: 'Pick a backup or two' }).waitFor();
  await page.locator('#setup-current', { hasText: 'Anthropic' }).waitFor();
  assert.equal(await page.locator('#setup-preset-anthropic').count(), 0, 'a provider already there is not offered');
  await page.locator('#setup-preset-kimi').check();
  await page.locator('#setup-preset-deepseek').check();
  await page.locator('#setup-next').click();
  await title.filter({ hasText: 'Paste your keys' }).waitFor();
  let cfg = (await env.api('/api/config')).json;
  assert.equal(cfg.exists, true, 'the first save created the config file');
  assert.deepEqual(cfg.config.providers.map((p) => p.id), ['anthropic', 'kimi', 'deepseek']);
  assert.match(await readFile(env.configPath, 'utf8'), /id = "deepseek"/);

  // Back, untick Kimi: it goes again (the config file says so too).
  await page.locator('#setup-back').click();
  await page.locator('#setup-preset-kimi').uncheck();
  await page.locator('#setup-next').click();
  await title.filter({ hasText: 'Paste your keys' }).waitFor();
  cfg = (await env.api('/api/config')).json;
  assert.deepEqual(cfg.config.providers.map((p) => p.id), ['anthropic', 'deepseek']);
  assert.doesNotMatch(await readFile(env.configPath, 'utf8'), /"kimi"/);

  // The key goes into the Secret Service, never into the file.
  await page.getByText('Anthropic uses the key or login your app already has').waitFor();
  await page.getByLabel('DeepSeek API key').fill(KEY);
  await page.locator('.setup-key[data-provider="deepseek"]').getByRole('button', { name: 'Save key' }).click();
  await page.locator('[data-key-state="deepseek"]', { hasText: '•••• WXYZ' }).waitFor();
  assert.equal(keychainLookup('deepseek'), KEY);
  assert.equal(await page.getByLabel('DeepSeek API key').inputValue(), '', 'the field forgets the key');
  assert.doesNotMatch(await readFile(env.configPath, 'utf8'), /sk-setup/);

  // No internet here: point both providers at the mocks before the live test (as if they
  // were the real ones). The UI follows the config change by itself.
  const live = (await env.api('/api/config')).json.config;
  live.providers[0].base_url = env.mocks[0];
  live.providers[1].base_url = env.mocks[1];
  assert.equal((await env.api('/api/config', { method: 'PUT', body: live })).status, 200);
  await page.locator('#setup-next').click();
  await title.filter({ hasText: 'Test each provider' }).waitFor();
  const tests = page.locator('#setup-tests');
  await tests.locator('[data-provider="deepseek"]', { hasText: 'Reachable, key accepted' }).waitFor();
  await tests.locator('[data-provider="anthropic"] .test-result.ok').waitFor();
  const probe = (await env.mockRequests(1)).find((r) => r.path.endsWith('/models'));
  assert.ok(probe, 'the test called the backup');
  assert.equal(header(probe, 'x-api-key') || header(probe, 'authorization')?.replace(/^Bearer /, ''), KEY, 'with the stored key');

  // Connect: one click sets up Claude Code, Codex CLI and Gemini CLI (each merged); Undo puts
  // the bytes back.
  await page.locator('#setup-next').click();
  await title.filter({ hasText: 'Connect your apps' }).waitFor();
  assert.equal(await page.locator('#setup-url-sillytavern').inputValue(), `${env.url}/v1`);
  await page.locator('#setup-connect', { hasText: 'Claude Code, Codex CLI, Gemini CLI' }).click();
  await page.locator('#setup-connected-claude-code').waitFor();
  await page.locator('#setup-connected-codex', { hasText: codexPath }).waitFor();
  await page.locator('#setup-connected-gemini-cli', { hasText: geminiDir }).waitFor();
  const codexMerged = await readFile(codexPath, 'utf8');
  assert.ok(codexMerged.startsWith('# my Codex settings\n'), codexMerged);
  assert.match(codexMerged, /^model_provider = "switchyard"/m);
  assert.ok(codexMerged.includes(`base_url = "${env.url}/v1"`), codexMerged);
  const dotenv = await readFile(path.join(geminiDir, '.env'), 'utf8');
  assert.ok(dotenv.startsWith(GEMINI_ENV), dotenv);
  assert.match(dotenv, new RegExp(`^GOOGLE_GEMINI_BASE_URL=${env.url}$`, 'm'));
  await page.locator('#setup-undo-codex').click();
  await eventually(async () => (await readFile(codexPath, 'utf8')) === CODEX, 'config.toml restored byte for byte');
  await page.locator('[data-client="codex"]', { hasText: `Undone: ${codexPath} is back as it was.` }).waitFor();
  await page.locator('#setup-undo-gemini-cli').click();
  await eventually(async () => (await readFile(path.join(geminiDir, '.env'), 'utf8')) === GEMINI_ENV, '.env restored byte for byte');
  await page.locator('[data-client="gemini-cli"]', { hasText: 'Undone' }).waitFor();
  assert.equal(await page.locator('#setup-connected-claude-code').isVisible(), true, 'Claude Code stays connected');
  const merged = JSON.parse(await readFile(settingsPath, 'utf8'));
  assert.equal(merged.env.ANTHROPIC_BASE_URL, env.url);
  assert.equal(merged.env.KEEP_ME, '1');
  assert.deepEqual(merged.permissions, { allow: ['Bash(ls:*)'] });
  assert.equal(merged.model, 'opus');
  await page.locator('#setup-undo-claude-code').click();
  await eventually(async () => (await readFile(settingsPath, 'utf8')) === SETTINGS, 'settings.json restored byte for byte');
  await page.locator('#setup-connect').click();
  await page.locator('#setup-connected-claude-code').waitFor();
  assert.equal(JSON.parse(await readFile(settingsPath, 'utf8')).env.ANTHROPIC_BASE_URL, env.url);

  await page.locator('#setup-next').click();
  await title.filter({ hasText: "You're set" }).waitFor();
  assert.equal(await page.locator('#setup-endpoint').innerText(), env.url);
  await page.locator('#setup-finish').click();
  await setup.waitFor({ state: 'hidden' });
  await page.locator('#panel-status').waitFor();
  assert.equal(await page.locator('#tabs').isVisible(), true);

  // A request now fails over from the rate-limited primary to the new backup, with its key.
  await env.script(0, [{ status: 429, headers: [['retry-after', '60']], body: { type: 'error', message: 'rate limited' } }]);
  const r = await env.message();
  assert.equal(r.status, 200, r.body);
  assert.equal(r.provider, 'deepseek');

  // Not a first run any more; Settings runs setup again.
  await page.reload();
  await page.locator('body:not(.booting)').waitFor();
  await page.locator('#panel-status').waitFor();
  assert.equal(await setup.isVisible(), false);
  await page.locator('#tab-settings').click();
  await page.locator('#setup-again').click();
  await title.filter({ hasText: 'Which apps will use Switchyard?' }).waitFor();
  await page.locator('#setup-skip').click();
  await setup.waitFor({ state: 'hidden' });
  assertNoPageErrors(assert, env);
});

test('skipping setup writes the defaults once; in Chinese', T, async (t) => {
  const env = await startEnv(t, { noConfig: true, locale: 'zh-CN' });
  const { page } = env;
  await env.open();
  await page.locator('#setup-title', { hasText: '哪些应用要使用 Switchyard？' }).waitFor();
  await page.locator('.setup-count', { hasText: '第 1 步，共 5 步' }).waitFor();
  // Choosing nothing is refused with a reason.
  await page.locator('#setup-client-claude-code').uncheck();
  await page.locator('#setup-next').click();
  await page.locator('#setup-error', { hasText: '请至少选择一个应用' }).waitFor();

  assert.equal(existsSync(env.configPath), false);
  await page.locator('#setup-skip').click();
  await page.locator('#setup').waitFor({ state: 'hidden' });
  await page.locator('.toast', { hasText: '已跳过设置' }).waitFor();
  await eventually(() => existsSync(env.configPath), 'the config file written');
  assert.match(await readFile(env.configPath, 'utf8'), /id = "anthropic"/);
  assert.equal((await env.api('/api/config')).json.exists, true);

  await page.reload();
  await page.locator('body:not(.booting)').waitFor();
  await page.locator('#tab-status', { hasText: '状态' }).waitFor();
  assert.equal(await page.locator('#setup').isVisible(), false, 'not again');
  assertNoPageErrors(assert, env);
});

test('an existing config never opens setup', T, async (t) => {
  const env = await startEnv(t);
  await env.open();
  assert.equal((await env.api('/api/config')).json.exists, true);
  assert.equal(await env.page.locator('#setup').count(), 0);
  assertNoPageErrors(assert, env);
});
