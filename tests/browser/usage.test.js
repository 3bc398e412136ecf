// Usage tab: budgets set in the provider editor, prices edited in the price table, numbers that
// appear after real requests, the over-budget provider skipped and shown; and the response
// cache switched on and emptied from Settings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, eventually, assertNoPageErrors } from './harness.js';

const T = { timeout: 120000 };

test('usage, prices and budgets from the Usage tab and the provider editor', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  await env.open('#usage');
  await page.locator('#usage-table', { hasText: 'No requests recorded yet.' }).waitFor();

  // A price for the model the mocks echo, entered in the price table.
  await page.getByRole('button', { name: 'Add a price' }).click();
  await page.getByLabel('Model or glob, row 1').fill('claude-sonnet-4-5');
  await page.getByLabel('Input price, row 1').fill('1000');
  await page.getByLabel('Output price, row 1').fill('1000');
  await page.locator('#price-save').click();
  await eventually(async () => {
    const c = (await env.api('/api/config')).json.config;
    return c.prices?.['claude-sonnet-4-5']?.input === 1000 && c.prices['claude-sonnet-4-5'].output === 1000;
  }, 'the price to be saved in the config');

  // A daily budget for the primary, from the provider editor.
  await page.getByRole('tab', { name: 'Providers' }).click();
  await page.getByRole('button', { name: 'Edit Primary' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Primary' });
  await edit.getByLabel('Daily budget (USD)').fill('-1');
  await edit.getByRole('button', { name: 'Save' }).click();
  assert.equal(await edit.getByLabel('Daily budget (USD)').getAttribute('aria-invalid'), 'true');
  await edit.getByLabel('Daily budget (USD)').fill('0.01');
  await edit.getByRole('button', { name: 'Save' }).click();
  await edit.waitFor({ state: 'hidden' });
  const cfg = (await env.api('/api/config')).json.config;
  assert.equal(cfg.providers[0].budget_daily_usd, 0.01);

  // The first request costs more than 0.01 USD: the primary serves it, then is skipped.
  assert.equal((await env.message()).provider, 'primary');
  await eventually(async () => (await env.api('/api/status')).json.providers[0].over_budget === 'day', 'the primary to be over budget');
  assert.equal((await env.message()).provider, 'backup');
  assert.equal((await env.message()).provider, 'backup');

  await page.getByRole('tab', { name: 'Usage' }).click();
  const row = page.locator('#usage-table tr[data-provider="primary"]');
  await row.waitFor();
  assert.match(await row.textContent(), /claude-sonnet-4-5/);
  assert.match(await row.locator('td').nth(2).textContent(), /^1$/);
  assert.match(await row.locator('td').nth(4).textContent(), /\$0\.0\d+/);
  const backup = page.locator('#usage-table tr[data-provider="backup"]');
  assert.match(await backup.locator('td').nth(2).textContent(), /^2$/);
  await page.locator('#usage-budgets li[data-provider="primary"]', { hasText: 'Over the daily budget' }).waitFor();
  assert.ok(Number(await page.locator('#budget-primary-day').getAttribute('value')) > 0);
  await page.locator('#usage-totals [data-period="today"]', { hasText: '3 requests' }).waitFor();
  // The banner says why traffic is on the backup.
  await page.locator('#banner', { hasText: 'Primary is over its daily budget.' }).waitFor();
  await page.getByRole('tab', { name: 'Status' }).click();
  await page.locator('#status-providers > li[data-provider="primary"]', { hasText: 'Over the daily budget' }).waitFor();
  await page.locator('#hero-active', { hasText: 'Backup' }).waitFor();
  assertNoPageErrors(assert, env);
});

test('the response cache is switched on and emptied from Settings', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  await env.open('#settings');
  await page.getByLabel('Use the response cache').check();
  await eventually(async () => (await env.api('/api/config')).json.config.cache?.enabled === true, 'the cache to be enabled');

  const ask = async () => {
    const r = await fetch(`${env.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-test-client' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 32, temperature: 0, messages: [{ role: 'user', content: 'hello' }] }),
    });
    await r.text();
    return r.headers.get('x-switchyard-cache');
  };
  assert.equal(await ask(), 'miss');
  assert.equal(await ask(), 'hit');
  await page.getByRole('tab', { name: 'Requests' }).click();
  await page.locator('#panel-requests tr', { hasText: 'from cache' }).first().waitFor();
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('#cache-stats', { hasText: '1 answers' }).waitFor();
  await page.locator('#cache-clear').click();
  await page.locator('.toast', { hasText: 'Cache emptied (1 answers)' }).waitFor();
  assert.equal((await env.api('/api/status')).json.cache.entries, 0);
  assert.equal(await ask(), 'miss');
  assertNoPageErrors(assert, env);
});
