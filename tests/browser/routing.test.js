// Routing screen: strategy and sticky sessions, the weight field in the provider editor, and
// a scenario rule added in the UI that routes a real request, shown in the request log.

import { test } from 'node:test';
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { startEnv, eventually, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };

test('strategy, sticky sessions and weights are saved to the config', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  await env.open('#routing');
  const strategy = page.getByLabel('Strategy', { exact: true });
  assert.equal(await strategy.inputValue(), 'failover');
  await page.getByText(/returns to the primary when it recovers/).waitFor();
  await strategy.selectOption('weighted');
  await eventually(async () => (await env.api('/api/config')).json.config.routing.strategy === 'weighted', 'strategy saved');
  await page.locator('#routing-weights', { hasText: 'Primary 1 · Backup 1' }).waitFor();

  const sticky = page.getByRole('switch', { name: 'Sticky sessions' });
  assert.equal(await sticky.isChecked(), true);
  await sticky.uncheck();
  await eventually(async () => (await env.api('/api/config')).json.config.routing.sticky_sessions === false, 'sticky saved');

  // Under the weighted strategy the provider editor has a weight field.
  await page.getByRole('tab', { name: 'Providers' }).click();
  await page.getByRole('button', { name: 'Edit Primary' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Weight').fill('3');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  const cfg = (await env.api('/api/config')).json.config;
  assert.equal(cfg.providers[0].weight, 3);
  assert.equal(cfg.providers[1].weight, undefined, 'the default weight is not written');
  const file = await readFile(env.configPath, 'utf8');
  assert.match(file, /strategy = "weighted"/);
  assert.match(file, /sticky_sessions = false/);
  assert.match(file, /weight = 3/);

  // Under least-latency the Routing tab shows each provider's measured average.
  await page.getByRole('tab', { name: 'Routing' }).click();
  await page.getByLabel('Strategy', { exact: true }).selectOption('least-latency');
  await page.locator('#routing-latency', { hasText: 'Primary not measured yet · Backup not measured yet' }).waitFor();
  assert.equal((await env.message()).provider, 'primary');
  await page.locator('#routing-latency', { hasText: /Primary [\d.,]+\s?m?s · Backup not measured yet/ }).waitFor();
  assertNoPageErrors(assert, env);
});

test('a rule added in the UI routes a request, and the request log names it', T, async (t) => {
  const env = await startEnv(t, {
    providers: [
      { id: 'primary', name: 'Primary', mock: 0, credential: 'none' },
      { id: 'backup', name: 'Backup', mock: 1, credential: 'none', models: { '*': 'backup-default' } },
    ],
  });
  const { page } = env;
  await env.open('#routing');
  await page.locator('#rule-list-empty').waitFor();
  await page.getByRole('button', { name: 'Add rule' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a rule' });
  await dialog.getByLabel('Name').fill('background');
  await dialog.getByLabel('Send to provider').selectOption('backup');
  await dialog.getByLabel('Model override').fill('tiny-model');
  await dialog.getByLabel('Client model').fill('claude-haiku*');
  await dialog.getByRole('button', { name: 'Add rule' }).click();
  await dialog.waitFor({ state: 'detached' });

  let cfg = (await env.api('/api/config')).json.config;
  assert.deepEqual(cfg.rules, [{ name: 'background', provider: 'backup', upstream_model: 'tiny-model', model: 'claude-haiku*' }]);
  assert.match(await readFile(env.configPath, 'utf8'), /\[\[rules\]\]\s+name = "background"\s+provider = "backup"/);
  const row = page.locator('#rule-list > li').first();
  await row.filter({ hasText: 'model matches claude-haiku*' }).filter({ hasText: 'to Backup as tiny-model' }).waitFor();

  // A second rule, then reorder with the keyboard-friendly buttons.
  await page.getByRole('button', { name: 'Add rule' }).click();
  const d2 = page.getByRole('dialog', { name: 'Add a rule' });
  await d2.getByLabel('Send to provider').selectOption('primary');
  await d2.getByLabel('Keyword').fill('urgent');
  await d2.getByRole('button', { name: 'Add rule' }).click();
  await d2.waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Move Rule 2 up' }).click();
  await eventually(async () => (await env.api('/api/config')).json.config.rules?.[0]?.keyword === 'urgent', 'rules reordered');

  // The rule routes a real request to the backup with the override model.
  const r = await env.message('claude-haiku-4-5');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.provider, 'backup');
  assert.equal((await env.message('claude-sonnet-4-5')).provider, 'primary');
  const recs = (await env.api('/api/requests')).json.requests;
  const routed = recs.find((x) => x.model === 'claude-haiku-4-5');
  assert.equal(routed.rule, 'background');
  assert.equal(routed.upstream_model, 'tiny-model');

  await page.getByRole('tab', { name: 'Requests' }).click();
  const logRow = page.locator('#request-log > tr').filter({ hasText: 'claude-haiku-4-5' });
  await logRow.locator('.rule-tag', { hasText: 'rule: background' }).waitFor();
  assert.equal(await page.locator('#request-log > tr').filter({ hasText: 'claude-sonnet-4-5' }).locator('.rule-tag').count(), 0);

  // Delete the first rule (the keyword one).
  await page.getByRole('tab', { name: 'Routing' }).click();
  await page.getByRole('button', { name: 'Delete Rule 1' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await eventually(async () => (await env.api('/api/config')).json.config.rules?.length === 1, 'rule deleted');
  cfg = (await env.api('/api/config')).json.config;
  assert.equal(cfg.rules[0].name, 'background');
  assertNoPageErrors(assert, env);
});

test('deleting a provider also deletes the rules that send requests to it', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  const cfg = (await env.api('/api/config')).json.config;
  cfg.rules = [{ provider: 'backup', model: 'claude-haiku*' }, { provider: 'primary', keyword: 'urgent' }];
  assert.equal((await env.api('/api/config', { method: 'PUT', body: cfg })).status, 200);
  await env.open('#providers');
  await page.getByRole('button', { name: 'Delete Backup' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Scenario rules that send requests to it are deleted too (1).').waitFor();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await eventually(async () => (await env.api('/api/config')).json.config.providers.length === 1, 'provider deleted');
  assert.deepEqual((await env.api('/api/config')).json.config.rules, [{ provider: 'primary', keyword: 'urgent' }]);
  assertNoPageErrors(assert, env);
});
