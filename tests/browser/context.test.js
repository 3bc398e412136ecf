// Context windows: with a provider smaller than Claude's 200k, the Integrations screen says so,
// Configure Claude Code writes the compaction variables, and Undo takes them away again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startEnv, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };
const ORIGINAL = '{\n  "env": {\n    "FOO": "1"\n  }\n}\n';

test('a 64k provider makes Claude Code compact earlier; Undo removes the hint', T, async (t) => {
  const env = await startEnv(t, { claudeSettings: ORIGINAL });
  const { page } = env;
  const file = path.join(env.dirs.claude, 'settings.json');
  const cfg = (await env.api('/api/config')).json.config;
  cfg.providers[1].context_window = 64000;
  assert.equal((await env.api('/api/config', { method: 'PUT', body: cfg })).status, 200);
  const status = (await env.api('/api/status')).json;
  assert.equal(status.context_window, 64000);
  assert.equal(status.providers.find((p) => p.id === cfg.providers[1].id).context_window, 64000);

  await env.open('#integrations');
  const hint = page.locator('#cc-compact');
  await hint.filter({ hasText: '64,000' }).waitFor();
  assert.match(await hint.innerText(), /CLAUDE_CODE_AUTO_COMPACT_WINDOW=100000 CLAUDE_AUTOCOMPACT_PCT_OVERRIDE=40/);

  await page.getByRole('button', { name: 'Configure Claude Code' }).click();
  await page.locator('#cc-state').filter({ hasText: /^\s*Configured/ }).waitFor();
  const merged = JSON.parse(await readFile(file, 'utf8'));
  assert.equal(merged.env.CLAUDE_CODE_AUTO_COMPACT_WINDOW, '100000');
  assert.equal(merged.env.CLAUDE_AUTOCOMPACT_PCT_OVERRIDE, '40');
  assert.equal(merged.env.FOO, '1');

  await page.getByRole('button', { name: 'Undo' }).click();
  await page.locator('#cc-state').filter({ hasText: 'Not configured' }).waitFor();
  assert.equal(await readFile(file, 'utf8'), ORIGINAL, 'restored byte for byte');
  assertNoPageErrors(assert, env);
});
