// Providers screen: add from a preset, inline validation errors, keys into the real keychain,
// reordering by drag and by keyboard.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, eventually, requireDesktopSession, keychainLookup, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };

test('add a provider from a preset, and see a validation error next to its field', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  await env.open('#providers');
  await page.getByRole('button', { name: 'Add provider' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a provider' });
  await dialog.waitFor();

  // The picker shows name, kind, base URL and note of each preset.
  const deepseek = dialog.locator('[data-preset="deepseek"]');
  await deepseek.waitFor();
  const card = await deepseek.innerText();
  assert.match(card, /DeepSeek/);
  assert.match(card, /Anthropic API/);
  assert.match(card, /https:\/\/api\.deepseek\.com\/anthropic/);
  assert.match(card, /platform\.deepseek\.com/);
  await deepseek.click();

  // The form is filled from the preset.
  assert.equal(await dialog.getByLabel('ID', { exact: true }).inputValue(), 'deepseek');
  assert.equal(await dialog.getByLabel('Base URL').inputValue(), 'https://api.deepseek.com/anthropic');
  assert.equal(await dialog.getByLabel('Key source').inputValue(), 'keychain');
  assert.equal(await dialog.getByLabel('Client model pattern, row 1').inputValue(), '*opus*');

  // A name that looks like a key is refused by the engine; the error shows under the field.
  await dialog.getByLabel('Name', { exact: true }).fill('sk-abcdefghijklmnopqrstuvwxyz');
  await dialog.getByRole('button', { name: 'Add provider' }).click();
  const err = dialog.locator('#err-name');
  await err.filter({ hasText: /looks like an API key/ }).waitFor();
  assert.equal(await dialog.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
  let cfg = (await env.api('/api/config')).json.config;
  assert.equal(cfg.providers.length, 2, 'nothing saved after a refused change');

  // A client-side check: a bad URL never reaches the engine.
  await dialog.getByLabel('Name', { exact: true }).fill('DeepSeek');
  await dialog.getByLabel('Base URL').fill('ftp://nope');
  await dialog.getByRole('button', { name: 'Add provider' }).click();
  await dialog.locator('#err-base_url').filter({ hasText: /http/ }).waitFor();
  await dialog.getByLabel('Base URL').fill('https://api.deepseek.com/anthropic');
  await dialog.getByRole('button', { name: 'Add provider' }).click();
  await dialog.waitFor({ state: 'detached' });

  cfg = (await env.api('/api/config')).json.config;
  const added = cfg.providers[2];
  assert.equal(added.id, 'deepseek');
  assert.equal(added.name, 'DeepSeek');
  assert.equal(added.base_url, 'https://api.deepseek.com/anthropic');
  assert.equal(added.credential, 'keychain');
  assert.deepEqual(added.models, { '*opus*': 'deepseek-reasoner', '*': 'deepseek-chat' });
  assert.equal(added.quirks?.max_tokens, 8192, 'preset quirks are kept');

  // It is in the list, third, with its key state.
  const item = page.locator('#provider-list > li').nth(2);
  await item.filter({ hasText: 'DeepSeek' }).waitFor();
  await item.locator('[data-key-state="deepseek"]', { hasText: 'Key in keychain: not set' }).waitFor();

  // Edit it: rename, add a mapping row, remove another.
  await page.getByRole('button', { name: 'Edit DeepSeek' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit DeepSeek' });
  assert.equal(await edit.getByLabel('ID', { exact: true }).getAttribute('readonly'), '');
  await edit.getByLabel('Name', { exact: true }).fill('DeepSeek Chat');
  await edit.getByRole('button', { name: 'Remove mapping row 1' }).click();
  await edit.getByRole('button', { name: 'Add mapping' }).click();
  await edit.getByLabel('Client model pattern, row 2').fill('*haiku*');
  await edit.getByLabel('Upstream model, row 2').fill('deepseek-lite');
  await edit.getByRole('button', { name: 'Save' }).click();
  await edit.waitFor({ state: 'detached' });
  cfg = (await env.api('/api/config')).json.config;
  assert.equal(cfg.providers[2].name, 'DeepSeek Chat');
  assert.deepEqual(cfg.providers[2].models, { '*': 'deepseek-chat', '*haiku*': 'deepseek-lite' });
  assert.equal(cfg.providers[2].quirks?.max_tokens, 8192, 'fields the form does not show are kept');

  // Delete it, after confirming.
  await page.getByRole('button', { name: 'Delete DeepSeek Chat' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete DeepSeek Chat?' });
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await env.api('/api/config')).json.config.providers.length, 3, 'cancel keeps it');
  await page.getByRole('button', { name: 'Delete DeepSeek Chat' }).click();
  await page.getByRole('dialog', { name: 'Delete DeepSeek Chat?' }).getByRole('button', { name: 'Delete' }).click();
  await eventually(async () => (await env.api('/api/config')).json.config.providers.length === 2, 'the delete to be saved');
  await page.locator('#provider-list > li').nth(2).waitFor({ state: 'detached' });

  // Test shows the latency of a reachable provider.
  await page.getByRole('button', { name: 'Test Primary' }).click();
  await page.locator('#provider-list > li[data-provider="primary"] .test-result.ok', { hasText: /Reachable.*\d+(\.\d+)? ms/ }).waitFor();
  // The refused save is the only failed request the browser saw.
  assertNoPageErrors(assert, env, [/status of 400 \(Bad Request\)/]);
});

test('set a key: it lands in the keychain and the UI shows only its last 4 characters', T, async (t) => {
  if (!requireDesktopSession(t)) return;
  const env = await startEnv(t, {
    providers: [
      { id: 'primary', name: 'Primary', mock: 0, credential: 'none' },
      { id: 'ui-keyed', name: 'Keyed', mock: 1, credential: 'keychain' },
    ],
  });
  const { page } = env;
  const key = 'sk-ui-test-key-ABCDEFGH-7890';
  await env.open('#providers');
  const line = page.locator('[data-key-state="ui-keyed"]');
  await line.filter({ hasText: 'not set' }).waitFor();

  // Test says exactly what is wrong before a key is set.
  await page.getByRole('button', { name: 'Test Keyed' }).click();
  await page.locator('[data-provider="ui-keyed"] .test-result.bad', { hasText: 'no key set for Keyed — add one first' }).waitFor();

  await page.getByRole('button', { name: 'Key for Keyed' }).click();
  const dialog = page.getByRole('dialog', { name: 'Key for Keyed' });
  const input = dialog.getByLabel('API key');
  assert.equal(await input.getAttribute('type'), 'password');
  await input.fill(key);
  await dialog.getByRole('button', { name: 'Save key' }).click();
  await dialog.waitFor({ state: 'detached' });

  await line.filter({ hasText: 'set ••••7890' }).waitFor();
  assert.equal(keychainLookup('ui-keyed'), key, 'secret-tool finds the key in the Secret Service');
  // The engine uses it at once: the mock upstream receives it.
  await page.getByRole('button', { name: 'Test Keyed' }).click();
  await page.locator('[data-provider="ui-keyed"] .test-result.ok').waitFor();
  const keys = (await env.api('/api/keys')).json.keys;
  assert.deepEqual(keys.find((k) => k.provider === 'ui-keyed'), {
    provider: 'ui-keyed', source: 'keychain', set: true, hint: '…7890', error: null,
    pool: [{ slot: 1, name: 'ui-keyed', set: true, hint: '…7890', state: 'ok', cooldown_until: null, problem: null }],
  });
  // The key is nowhere in the page: not in the text, not in any attribute or field.
  const html = await page.content();
  assert.ok(!html.includes(key) && !html.includes('ABCDEFGH'), 'the page must not contain the key');
  const values = await page.locator('input').evaluateAll((els) => els.map((e) => e.value));
  assert.ok(!values.some((v) => v.includes('ABCDEFGH')));

  // Replace it, then delete it.
  await page.getByRole('button', { name: 'Key for Keyed' }).click();
  const again = page.getByRole('dialog', { name: 'Key for Keyed' });
  await again.getByText('set ••••7890').waitFor();
  await again.getByLabel('New API key').fill('sk-ui-second-key-0000-4321');
  await again.getByRole('button', { name: 'Replace key' }).click();
  await line.filter({ hasText: 'set ••••4321' }).waitFor();
  assert.equal(keychainLookup('ui-keyed'), 'sk-ui-second-key-0000-4321');

  await page.getByRole('button', { name: 'Key for Keyed' }).click();
  await page.getByRole('dialog', { name: 'Key for Keyed' }).getByRole('button', { name: 'Delete key' }).click();
  await page.getByRole('dialog', { name: 'Delete the key for Keyed?' }).getByRole('button', { name: 'Delete key' }).click();
  await line.filter({ hasText: 'not set' }).waitFor();
  assert.equal(keychainLookup('ui-keyed'), null);
  assertNoPageErrors(assert, env);
});

test('reorder providers by dragging and with the keyboard; the saved order follows', T, async (t) => {
  const env = await startEnv(t, {
    providers: [
      { id: 'primary', name: 'Primary', mock: 0 },
      { id: 'backup', name: 'Backup', mock: 1 },
      { id: 'third', name: 'Third', mock: 1 },
    ],
  });
  const { page } = env;
  const order = async () => (await env.api('/api/config')).json.config.providers.map((p) => p.id);
  await env.open('#providers');
  const list = page.locator('#provider-list > li');
  await list.nth(2).waitFor();

  // Drag "Third" by its handle above "Primary".
  const handle = page.getByRole('button', { name: 'Reorder Third' });
  const from = await handle.boundingBox();
  const to = await list.nth(0).boundingBox();
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(from.x + from.width / 2, to.y + 40, { steps: 12 });
  await page.mouse.move(from.x + from.width / 2, to.y + 5, { steps: 6 });
  await page.mouse.up();
  await eventually(async () => (await order()).join() === 'third,primary,backup', 'the dragged order to be saved');
  await list.nth(0).filter({ hasText: 'Third' }).waitFor();

  // Keyboard: the move buttons, then arrow keys on the handle.
  await page.getByRole('button', { name: 'Move Third down' }).focus();
  await page.keyboard.press('Enter');
  await eventually(async () => (await order()).join() === 'primary,third,backup', 'move down to be saved');
  // The focus stays with the provider that moved.
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Move Third down');
  await page.getByRole('button', { name: 'Reorder Backup' }).focus();
  await page.keyboard.press('ArrowUp');
  await eventually(async () => (await order()).join() === 'primary,backup,third', 'arrow-key move to be saved');
  assert.equal(await page.getByRole('button', { name: 'Move Primary up' }).isDisabled(), true);

  // Priority shows on the Status screen too, and a disabled provider says so.
  await page.locator('#enable-third').click();
  await eventually(async () => (await env.api('/api/config')).json.config.providers[2].enabled === false, 'disable to be saved');
  await page.getByRole('tab', { name: 'Status' }).click();
  const rows = page.locator('#status-providers > li');
  assert.match(await rows.nth(1).innerText(), /Backup/);
  await rows.nth(2).filter({ hasText: 'Disabled' }).waitFor();
  assertNoPageErrors(assert, env);
});
