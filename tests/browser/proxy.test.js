// Outbound proxy from the web UI: the global proxy in Settings (password to the keychain, never
// into the file or the page) and a provider's own proxy in the editor.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startEnv, eventually, requireDesktopSession, keychainLookup, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };

test('set the global proxy with a password in Settings, and a provider proxy in the editor', T, async (t) => {
  if (!requireDesktopSession(t)) return;
  const env = await startEnv(t);
  const { page } = env;
  const password = 'proxy-secret-XYZ-9876';
  await env.open('#settings');

  // A password written into the URL is refused with the engine's advice.
  const url = page.locator('#global-proxy');
  await url.fill('socks5h://alice:hunter2@127.0.0.1:1080');
  await page.locator('[data-focus="proxy-save"]').click();
  await page.locator('#proxy-error', { hasText: 'switchyard keys set proxy:global' }).waitFor();
  assert.ok(!(await readFile(env.configPath, 'utf8')).includes('hunter2'));

  await url.fill('socks5h://alice@127.0.0.1:1080');
  await page.locator('#global-proxy-password').fill(password);
  await page.locator('[data-focus="proxy-save"]').click();
  await eventually(async () => (await env.api('/api/config')).json.config.network?.proxy === 'socks5h://alice@127.0.0.1:1080', 'network.proxy saved');
  assert.equal(keychainLookup('proxy:global'), password);
  const text = await readFile(env.configPath, 'utf8');
  assert.match(text, /^\[network\]\nproxy = "socks5h:\/\/alice@127\.0\.0\.1:1080"$/m, text);
  assert.ok(!text.includes(password));
  assert.ok(!(await page.content()).includes(password), 'the password is not in the page');

  // The backup provider goes direct, from the editor.
  await env.open('#providers');
  await page.getByRole('button', { name: 'Edit Backup' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit Backup' });
  await dialog.getByLabel('Proxy', { exact: true }).fill('direct');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await eventually(async () => (await env.api('/api/config')).json.config.providers.find((p) => p.id === 'backup').proxy === 'direct', 'provider proxy saved');
  // The primary goes through the (absent) global proxy and fails over; the backup answers
  // directly, and the failure names the proxy.
  const m = await env.message();
  assert.equal(m.status, 200, m.body);
  assert.equal(m.provider, 'backup');
  const reqs = (await env.api('/api/requests')).json;
  const failures = JSON.stringify(reqs);
  assert.match(failures, /proxy socks5h:\/\/alice@127\.0\.0\.1:1080/, failures);
  assert.ok(!failures.includes(password));
  // The one refused save (the password in the URL) is the only failed request.
  assertNoPageErrors(assert, env, [/status of 400/]);

  await env.api('/api/keys/proxy%3Aglobal', { method: 'DELETE' });
});
