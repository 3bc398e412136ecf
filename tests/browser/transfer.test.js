// Providers screen: Export downloads the providers without any key; Import adds the file's
// providers and asks for the key each one is missing, which lands in the real keychain; what
// a file would do with secrets is shown first and risky files need an explicit confirmation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startEnv, eventually, requireDesktopSession, keychainLookup, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };

test('export has no key; import asks for the missing key and stores it', T, async (t) => {
  if (!requireDesktopSession(t)) return;
  const env = await startEnv(t, {
    providers: [
      { id: 'primary', name: 'Primary', mock: 0, credential: 'none' },
      { id: 'ui-export', name: 'Exported', mock: 1, credential: 'keychain' },
    ],
  });
  const { page } = env;
  const secret = 'sk-ui-export-secret-QWERTY-1111';
  const put = await env.api('/api/keys/ui-export', { method: 'PUT', body: { key: secret } });
  assert.equal(put.status, 200);
  await env.open('#providers');

  // Export: a download named switchyard-providers.toml, marking the key need, holding no key.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export', exact: true }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'switchyard-providers.toml');
  const exported = await readFile(await download.path(), 'utf8');
  assert.match(exported, /# ui-export: needs a key after import/);
  assert.ok(!exported.includes(secret) && !exported.includes('QWERTY'), 'the key must not be exported');

  // Import a file with a new keyed provider: the key dialog opens for it.
  const file = path.join(env.dirs.xdg, 'shared.toml');
  const mockUrl = env.mocks[1];
  await writeFile(file, `[[providers]]\nid = "ui-imported"\nname = "Imported"\nbase_url = "${mockUrl}"\ncredential = "keychain"\n`);
  await page.locator('#import-file').setInputFiles(file);
  const confirm = page.getByRole('dialog', { name: 'Import shared.toml?' });
  // The review names the provider, where it sends requests and where its key comes from.
  const item = confirm.locator('[data-review="ui-imported"]');
  await item.getByText(mockUrl, { exact: true }).waitFor();
  await item.getByText('Key from the keychain').waitFor();
  assert.equal(await confirm.locator('.import-risk').count(), 0, 'nothing risky in this file');
  await confirm.getByRole('button', { name: 'Import', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Key for Imported' });
  await dialog.waitFor();
  await page.locator('#provider-list [data-provider="ui-imported"]').waitFor();
  const key = 'sk-ui-imported-key-ZXCV-2222';
  await dialog.getByLabel('API key').fill(key);
  await dialog.getByRole('button', { name: 'Save key' }).click();
  await dialog.waitFor({ state: 'detached' });
  await eventually(() => keychainLookup('ui-imported') === key, 'the imported provider\'s key in the keychain');
  await page.locator('[data-key-state="ui-imported"]', { hasText: '2222' }).waitFor();
  const cfg = (await env.api('/api/config')).json.config;
  assert.deepEqual(cfg.providers.map((p) => p.id), ['primary', 'ui-export', 'ui-imported']);

  // A broken file: the error names the line before any dialog, nothing changes.
  await writeFile(file, '[[providers]]\nid = "x"\nbase_url = 42\n');
  await page.locator('#import-file').setInputFiles(file);
  await page.locator('.toast', { hasText: /import\.toml:3/ }).waitFor();
  assert.equal(await page.getByRole('dialog', { name: 'Import shared.toml?' }).count(), 0);
  assert.equal((await env.api('/api/config')).json.config.providers.length, 3);

  // A file that would read an environment variable nothing reads today, and (with Replace)
  // send an existing provider's key to a new URL: marked, and imported only on "Import anyway".
  await writeFile(file, '[[providers]]\nid = "gh"\nkind = "openai"\nbase_url = "https://collector.example/v1"\ncredential = "env:GITHUB_TOKEN"\n\n'
    + '[[providers]]\nid = "ui-export"\nbase_url = "https://collector.example"\ncredential = "keychain"\n');
  await page.locator('#import-file').setInputFiles(file);
  const risky = page.getByRole('dialog', { name: 'Import shared.toml?' });
  await risky.getByRole('alert').waitFor();
  await risky.getByText('Reads the environment variable GITHUB_TOKEN and sends it as the key').waitFor();
  assert.equal(await risky.locator('[data-review="ui-export"]').count(), 0, 'merge keeps ui-export as it is');
  await risky.getByLabel('Replace providers with the same id (and the routing settings)').check();
  await risky.locator('[data-review="ui-export"]').getByText(`Sends its existing key (keychain) to https://collector.example instead of ${env.mocks[1]}`).waitFor();
  await risky.getByRole('button', { name: 'Cancel' }).click();
  await risky.waitFor({ state: 'detached' });
  assert.deepEqual((await env.api('/api/config')).json.config.providers.map((p) => p.id), ['primary', 'ui-export', 'ui-imported']);
  await page.locator('#import-file').setInputFiles(file);
  await risky.getByRole('button', { name: 'Import anyway' }).click();
  await risky.waitFor({ state: 'detached' });
  await page.locator('#provider-list [data-provider="gh"]').waitFor();
  assertNoPageErrors(assert, env, [/status of 400 \(Bad Request\)/]);
  for (const id of ['ui-export', 'ui-imported']) await env.api(`/api/keys/${id}`, { method: 'DELETE' });
});
