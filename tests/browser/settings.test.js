// Settings and integrations: switching the language, "Configure Claude Code" and its Undo,
// the copyable URLs, and the settings that go into the config.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startEnv, eventually, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };

test('switch the language to Chinese and back; it is saved and the page follows at once', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  await env.open('#settings');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  const tab = page.locator('#tab-providers');
  assert.equal(await tab.innerText(), 'Providers');

  await page.getByLabel('Display language').selectOption('zh-CN');
  await page.locator('html[lang="zh-CN"]').waitFor();
  await tab.filter({ hasText: '服务商' }).waitFor();
  await page.getByRole('heading', { name: '通知' }).waitFor();
  await eventually(async () => (await env.api('/api/config')).json.config.ui.language === 'zh-CN', 'ui.language to be saved');

  // It is remembered: a fresh load comes up in Chinese.
  await page.reload();
  await page.locator('body:not(.booting)').waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  assert.equal(await tab.innerText(), '服务商');

  await page.getByLabel('界面语言').selectOption('en');
  await page.locator('html[lang="en"]').waitFor();
  await tab.filter({ hasText: 'Providers' }).waitFor();
  await eventually(async () => (await env.api('/api/config')).json.config.ui.language === 'en', 'ui.language back to en');
  assertNoPageErrors(assert, env);
});

test('the language defaults to the browser language when the config has none', T, async (t) => {
  const env = await startEnv(t, { locale: 'zh-CN' });
  await env.open();
  assert.equal(await env.page.locator('html').getAttribute('lang'), 'zh-CN');
  assert.equal(await env.page.locator('#tab-status').innerText(), '状态');
  assertNoPageErrors(assert, env);
});

test('notifications, port and start-at-login settings', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  await env.open('#settings');
  const cfg = async () => (await env.api('/api/config')).json.config;

  await page.getByLabel('Failover').uncheck();
  await eventually(async () => (await cfg()).notifications.failover === false, 'notifications.failover saved');
  await page.getByLabel('At most one of a kind every (seconds)').fill('120');
  await page.getByLabel('At most one of a kind every (seconds)').press('Tab');
  await eventually(async () => (await cfg()).notifications.min_interval_secs === 120, 'min_interval_secs saved');
  assert.equal((await cfg()).notifications.recovered, true);

  const port = page.getByLabel('Port');
  // A change from elsewhere re-renders the screen; what is being typed must survive it.
  await port.fill('4123');
  const current = await cfg();
  current.notifications.all_down = false;
  assert.equal((await env.api('/api/config', { method: 'PUT', body: current })).status, 200);
  await eventually(async () => !(await page.getByLabel('All down').isChecked()), 'the outside change to show');
  assert.equal(await port.inputValue(), '4123', 'typed text survives a live re-render');

  await port.fill('70000');
  await page.locator('#listen-port ~ button, form.inline-form button[type=submit]').first().click();
  await page.locator('#listen-error', { hasText: '1 to 65535' }).waitFor();
  await port.fill('3999');
  await page.locator('form.inline-form button[type=submit]').click();
  await eventually(async () => (await cfg()).listen === '127.0.0.1:3999', 'listen saved');
  await page.locator('.toast', { hasText: 'Restart Switchyard' }).waitFor();
  // The file on disk has it too (atomic save with a backup).
  assert.match(await readFile(env.configPath, 'utf8'), /listen = "127\.0\.0\.1:3999"/);

  // In a browser, start-at-login is shown but disabled, with a note.
  const autostart = page.getByRole('switch', { name: 'Start Switchyard when I log in' });
  assert.equal(await autostart.isDisabled(), true);
  await page.getByText('Available in the Switchyard desktop app').waitFor();
  assertNoPageErrors(assert, env);
});

test('start at login in the desktop app goes through the Tauri commands', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  // Stand-in for the desktop shell's bridge: the UI must call get_autostart / set_autostart.
  await page.addInitScript(() => {
    window.__calls = [];
    let on = false;
    window.__TAURI__ = {
      core: {
        invoke: async (cmd, args) => {
          window.__calls.push([cmd, args ?? null]);
          if (cmd === 'get_autostart') return on;
          if (cmd === 'set_autostart') {
            on = args.enabled;
            return on;
          }
          throw new Error(`unknown command ${cmd}`);
        },
      },
    };
  });
  await env.open('#settings');
  const toggle = page.getByRole('switch', { name: 'Start Switchyard when I log in' });
  await eventually(async () => !(await toggle.isDisabled()), 'the switch to be enabled in the app');
  assert.equal(await toggle.isChecked(), false);
  await toggle.check();
  await page.locator('.toast', { hasText: 'Switchyard will start at login' }).waitFor();
  const calls = await page.evaluate(() => window.__calls);
  assert.deepEqual(calls, [['get_autostart', null], ['set_autostart', { enabled: true }]]);
  assertNoPageErrors(assert, env);
});

const ORIGINAL_SETTINGS = `{
    "hooks": {
        "PreToolUse": [
            { "matcher": "Bash", "hooks": [ { "type": "command", "command": "echo checked" } ] }
        ]
    },
    "enabledPlugins": { "reviewer@market": true },
    "env": { "FOO": "1" },
    "model": "opus"
}
`;

test('Configure Claude Code merges into settings.json, and Undo restores it byte for byte', T, async (t) => {
  const env = await startEnv(t, { claudeSettings: ORIGINAL_SETTINGS });
  const { page } = env;
  const file = path.join(env.dirs.claude, 'settings.json');
  await env.open('#integrations');

  const state = page.locator('#cc-state');
  await state.filter({ hasText: 'Not configured' }).waitFor();
  assert.equal(await page.locator('#cc-path').innerText(), file);
  assert.equal(await page.getByRole('button', { name: 'Undo' }).isDisabled(), true);

  await page.getByRole('button', { name: 'Configure Claude Code' }).click();
  await state.filter({ hasText: /^\s*Configured/ }).waitFor();
  const merged = JSON.parse(await readFile(file, 'utf8'));
  assert.equal(merged.env.ANTHROPIC_BASE_URL, env.url);
  assert.equal(merged.env.FOO, '1');
  assert.deepEqual(merged.hooks, JSON.parse(ORIGINAL_SETTINGS).hooks);
  assert.deepEqual(merged.enabledPlugins, { 'reviewer@market': true });
  assert.equal(merged.model, 'opus');

  // The copyable lines name this instance.
  assert.equal(await page.getByLabel('Shell line', { exact: true }).inputValue(), `export ANTHROPIC_BASE_URL=${env.url}`);
  assert.equal(await page.getByLabel('Proxy URL', { exact: true }).inputValue(), `${env.url}/v1`);
  await page.getByRole('button', { name: 'Copy Proxy URL' }).click();
  await page.getByRole('button', { name: 'Copy Proxy URL' }).filter({ hasText: 'Copied' }).waitFor();
  // OpenAI-compatible clients (SillyTavern Custom, Cursor, the OpenAI SDK) get the /v1 base.
  assert.equal(await page.getByLabel('OpenAI base URL', { exact: true }).inputValue(), `${env.url}/v1`);
  await page.getByRole('button', { name: 'Copy OpenAI base URL' }).click();
  await page.getByRole('button', { name: 'Copy OpenAI base URL' }).filter({ hasText: 'Copied' }).waitFor();

  await page.getByRole('button', { name: 'Undo' }).click();
  await state.filter({ hasText: 'Not configured' }).waitFor();
  assert.equal(await readFile(file, 'utf8'), ORIGINAL_SETTINGS, 'restored byte for byte');
  assertNoPageErrors(assert, env);
});

const ORIGINAL_CODEX = `# my Codex settings
model = "gpt-5.1-codex" # default model
approval_policy = "on-request"

[mcp_servers.docs]
command = "docs-mcp"
`;

test('Configure Codex CLI merges into config.toml, and Restore puts it back byte for byte', T, async (t) => {
  const env = await startEnv(t, { codexConfig: ORIGINAL_CODEX });
  const { page } = env;
  const file = path.join(env.dirs.codex, 'config.toml');
  await env.open('#integrations');

  const state = page.locator('#codex-state');
  await state.filter({ hasText: 'Not configured' }).waitFor();
  assert.equal(await page.locator('#codex-path').innerText(), file);
  assert.equal(await page.getByRole('button', { name: 'Restore config.toml' }).isDisabled(), true);

  await page.getByRole('button', { name: 'Configure Codex CLI' }).click();
  await state.filter({ hasText: /^\s*Configured/ }).waitFor();
  const merged = await readFile(file, 'utf8');
  assert.match(merged, /^# my Codex settings\nmodel = "gpt-5.1-codex" # default model\n/);
  assert.match(merged, /\nmodel_provider = "switchyard"\n/);
  assert.match(merged, /\[model_providers\.switchyard\]\n/);
  assert.ok(merged.includes(`base_url = "${env.url}/v1"`), merged);
  assert.ok(merged.includes('wire_api = "responses"') && merged.includes('[mcp_servers.docs]'), merged);
  assert.equal(await page.getByLabel('Codex command', { exact: true }).inputValue(), 'switchyard codex');

  await page.getByRole('button', { name: 'Restore config.toml' }).click();
  await state.filter({ hasText: 'Not configured' }).waitFor();
  assert.equal(await readFile(file, 'utf8'), ORIGINAL_CODEX, 'restored byte for byte');
  assertNoPageErrors(assert, env);
});
