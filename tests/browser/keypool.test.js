// Key pools in the provider editor: add a second key in the UI; it lands in the keychain as
// `<id>#2`, the config gets `keys = 2`, and requests then rotate over both keys.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startEnv, eventually, requireDesktopSession, keychainLookup, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };

test('add a second key to a provider in the editor; requests rotate over both', T, async (t) => {
  if (!requireDesktopSession(t)) return;
  const env = await startEnv(t, {
    providers: [{ id: 'pooled', name: 'Pooled', mock: 0, credential: 'keychain' }],
  });
  const { page } = env;
  const first = 'sk-pool-first-key-AAAA-1111';
  const second = 'sk-pool-second-key-BBBB-2222';
  const r = await env.api('/api/keys/pooled', { method: 'PUT', body: { key: first } });
  assert.equal(r.status, 200, r.text);

  await env.open('#providers');
  await page.getByRole('button', { name: 'Edit Pooled' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit Pooled' });
  const pool = dialog.locator('.key-pool');
  await pool.locator('[data-slot="1"]', { hasText: '••••1111' }).waitFor();
  await pool.locator('[data-slot="1"]', { hasText: 'in rotation' }).waitFor();

  await pool.getByRole('button', { name: 'Add another key' }).click();
  const input = pool.getByLabel('Key 2');
  assert.equal(await input.getAttribute('type'), 'password');
  await input.fill(second);
  await pool.getByRole('button', { name: 'Save' }).click();
  await pool.locator('[data-slot="2"]', { hasText: '••••2222' }).waitFor();

  assert.equal(keychainLookup('pooled#2'), second, 'the second key is in the Secret Service');
  assert.equal(keychainLookup('pooled'), first, 'the first key is untouched');
  const text = await readFile(env.configPath, 'utf8');
  assert.match(text, /^keys = 2$/m, text);
  const html = await page.content();
  assert.ok(!html.includes('BBBB') && !html.includes('AAAA'), 'no key in the page');

  // Saving the rest of the form keeps the pool size.
  await dialog.getByRole('button', { name: 'Save' }).last().click();
  await dialog.waitFor({ state: 'detached' });
  assert.match(await readFile(env.configPath, 'utf8'), /^keys = 2$/m);
  await page.locator('[data-key-state="pooled"]', { hasText: '2 of 2 keys set' }).waitFor();

  // The engine uses both keys in turn (it reloads the saved config at once).
  const seen = [];
  for (let i = 0; i < 4; i++) {
    const m = await env.message();
    assert.equal(m.status, 200, m.body);
  }
  const reqs = await (await fetch(`${env.mocks[0]}/__mock/requests`)).json();
  for (const q of reqs) {
    const h = Object.fromEntries(q.headers.map(([k, v]) => [k.toLowerCase(), v]));
    if (q.path.endsWith('/v1/messages')) seen.push(h['x-api-key']);
  }
  assert.deepEqual(seen.slice(-4).sort(), [first, first, second, second].sort(), JSON.stringify(seen));
  await eventually(async () => {
    const keys = (await env.api('/api/keys')).json.keys.find((k) => k.provider === 'pooled');
    return keys.pool.length === 2 && keys.pool.every((k) => k.set && k.state === 'ok');
  }, 'both keys set and ok');
  assertNoPageErrors(assert, env);
});
