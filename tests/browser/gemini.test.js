// Gemini CLI on the Integrations screen: "Configure Gemini CLI" merges into ~/.gemini/.env and
// settings.json (keeping every other line and key), "Restore its files" puts both back byte for
// byte, and the shell line names this instance.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startEnv, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };
const ENV = '# my gemini settings\nGOOGLE_CLOUD_PROJECT=proj-1\n';
const SETTINGS = '{\n  "general": {\n    "vimMode": true\n  }\n}\n';

test('Configure Gemini CLI merges into ~/.gemini, and restoring puts both files back', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  const dir = path.join(env.dirs.home, '.gemini');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, '.env'), ENV);
  await writeFile(path.join(dir, 'settings.json'), SETTINGS);
  await env.open('#integrations');

  const state = page.locator('#gm-state');
  await state.filter({ hasText: 'Not configured' }).waitFor();
  assert.equal(await page.locator('#gm-path').innerText(), dir);
  assert.equal(await page.getByRole('button', { name: 'Restore its files' }).isDisabled(), true);
  assert.equal(await page.getByLabel('Gemini CLI shell line', { exact: true }).inputValue(), `export GOOGLE_GEMINI_BASE_URL=${env.url}`);

  await page.getByRole('button', { name: 'Configure Gemini CLI' }).click();
  await state.filter({ hasText: /^\s*Configured/ }).waitFor();
  const dotenv = await readFile(path.join(dir, '.env'), 'utf8');
  assert.ok(dotenv.startsWith(ENV), dotenv);
  assert.match(dotenv, new RegExp(`^GOOGLE_GEMINI_BASE_URL=${env.url}$`, 'm'));
  const settings = JSON.parse(await readFile(path.join(dir, 'settings.json'), 'utf8'));
  assert.equal(settings.security.auth.selectedType, 'gemini-api-key');
  assert.equal(settings.general.vimMode, true);

  await page.getByRole('button', { name: 'Restore its files' }).click();
  await state.filter({ hasText: 'Not configured' }).waitFor();
  assert.equal(await readFile(path.join(dir, '.env'), 'utf8'), ENV, 'restored byte for byte');
  assert.equal(await readFile(path.join(dir, 'settings.json'), 'utf8'), SETTINGS, 'restored byte for byte');
  assertNoPageErrors(assert, env);
});
