// Status screen: pin and unpin, and a failover that shows up live — in the status, the banner
// and the request log — without reloading the page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, eventually, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };

test('pin a provider and go back to automatic', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  const health = async () => (await env.api('/v1/health')).json;
  await env.open();
  await page.locator('#hero-active', { hasText: 'Primary' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Automatic' }).first().getAttribute('aria-pressed'), 'true');

  await page.getByRole('button', { name: 'Pin Backup' }).click();
  await eventually(async () => (await health()).current_provider === 'backup', 'the pin to reach the engine');
  assert.equal((await health()).pinned, 'backup');
  await page.locator('.hero-mode', { hasText: 'Pinned to Backup' }).waitFor();
  await page.locator('#hero-active', { hasText: 'Backup' }).waitFor();
  const pinBtn = page.getByRole('button', { name: 'Unpin Backup' });
  assert.equal(await pinBtn.getAttribute('aria-pressed'), 'true');
  // A request now goes to the pinned provider.
  assert.equal((await env.message()).provider, 'backup');

  await pinBtn.click();
  await eventually(async () => (await health()).current_provider === 'primary', 'the unpin to reach the engine');
  assert.equal((await health()).pinned, null);
  await page.locator('#hero-active', { hasText: 'Primary' }).waitFor();
  await page.locator('.hero-mode', { hasText: 'Automatic failover' }).waitFor();

  // Pinned from outside (CLI, tray): the page follows through the event stream.
  await env.api('/v1/switch-provider', { method: 'POST', body: { provider: 'backup' } });
  await page.locator('.hero-mode', { hasText: 'Pinned to Backup' }).waitFor();
  await page.locator('.hero-mode').getByRole('button', { name: 'Automatic' }).click();
  await eventually(async () => (await health()).pinned === null, 'automatic from the hero button');
  assertNoPageErrors(assert, env);
});

test('a failover appears live in the status, the banner and the request log', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  await env.open();
  await page.locator('#hero-active', { hasText: 'Primary' }).waitFor();
  assert.equal(await page.locator('#banner').isHidden(), true);
  await page.evaluate(() => { window.__notReloaded = true; });

  await env.script(0, [{ status: 429, headers: [['retry-after', '30']], body: { type: 'error', message: 'rate limited' } }]);
  const r = await env.message();
  assert.equal(r.status, 200, r.body);
  assert.equal(r.provider, 'backup');

  // Status: the backup is active, the primary cools down with a countdown and its last error.
  await page.locator('#hero-active', { hasText: 'Backup' }).waitFor();
  await page.locator('.hero-title', { hasText: 'Serving from Backup' }).waitFor();
  await page.locator('.hero-kicker', { hasText: /on a backup/i }).waitFor();
  const primaryRow = page.locator('#status-providers > li[data-provider="primary"]');
  await primaryRow.filter({ hasText: 'Cooling down' }).waitFor();
  const countdown = primaryRow.locator('.countdown');
  const first = await countdown.innerText();
  assert.match(first, /back in (2\d|30)s/);
  await eventually(async () => (await countdown.innerText()) !== first, 'the countdown to tick locally', 3000);
  assert.match(await primaryRow.innerText(), /429/);
  assert.match(await primaryRow.innerText(), /rate limited/);
  await page.locator('#status-providers > li[data-provider="backup"]').filter({ hasText: 'serving' }).waitFor();

  // The banner says we are on a backup, and why.
  const banner = page.locator('#banner');
  await banner.filter({ hasText: 'Running on a backup: Backup.' }).waitFor();
  assert.match(await banner.innerText(), /Primary is cooling down/);

  // The event list and the latest requests on the Status screen.
  await page.locator('.activity', { hasText: 'Failed over from Primary to Backup: rate limited' }).waitFor();
  await page.locator('.mini-requests [data-path="primary ✕429 → backup ✓"]').waitFor();

  // The request log has the row with the failover path.
  await page.getByRole('tab', { name: 'Requests' }).click();
  const row = page.locator('#request-log > tr').first();
  await row.locator('[data-path="primary ✕429 → backup ✓"]').waitFor();
  const text = await row.innerText();
  assert.match(text, /claude-sonnet-4-5/);
  assert.match(text, /200/);
  assert.match(text, /primary\s*✕429\s*→\s*backup\s*✓/);
  await row.getByText('Why').click();
  assert.match(await row.innerText(), /primary: rate limited/);
  // The chart counts it for the backup.
  await page.locator('.legend', { hasText: 'backup' }).waitFor();

  // A second request while the primary cools down goes straight to the backup and is appended.
  assert.equal((await env.message('claude-haiku-4-5')).provider, 'backup');
  await page.locator('#request-log > tr').first().filter({ hasText: 'claude-haiku-4-5' }).waitFor();
  assert.equal(await page.locator('#request-log > tr').count(), 2);

  // Then the backup fails too: nothing is left, and the page says so.
  await env.script(1, [{ status: 429, headers: [['retry-after', '20']], body: { type: 'error', message: 'rate limited' } }]);
  assert.equal((await env.message()).status, 429);
  await page.locator('#request-log > tr.is-error').first().locator('[data-path="backup ✕429"]').waitFor();
  await banner.filter({ hasText: 'All providers are down.' }).waitFor();
  assert.match(await banner.innerText(), /The next one is back in (1\d|20)s\./);
  await page.getByRole('tab', { name: 'Status' }).click();
  await page.locator('.hero-title', { hasText: 'All providers are down' }).waitFor();
  assert.match(await page.title(), /^Down · Switchyard$/);

  assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was never reloaded');
  assertNoPageErrors(assert, env);
});

test('keyboard: tabs move with the arrow keys, Home and End; the hash remembers the screen', T, async (t) => {
  const env = await startEnv(t);
  const { page } = env;
  await env.open();
  const focused = () => page.evaluate(() => document.activeElement?.id);
  await page.locator('#tab-status').focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await focused(), 'tab-providers');
  assert.equal(await page.locator('#tab-providers').getAttribute('aria-selected'), 'true');
  assert.equal(await page.locator('#panel-providers').isVisible(), true);
  assert.equal(await page.locator('#panel-status').isVisible(), false);
  await page.keyboard.press('End');
  assert.equal(await focused(), 'tab-settings');
  await page.keyboard.press('ArrowRight');
  assert.equal(await focused(), 'tab-status', 'wraps around');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await focused(), 'tab-settings');
  assert.equal(new URL(page.url()).hash, '#settings');
  // Only the selected tab is in the Tab order; Tab goes on into its panel.
  assert.deepEqual(await page.locator('[role=tab]').evaluateAll((els) => els.map((e) => e.tabIndex)), [-1, -1, -1, -1, -1, -1, 0]);
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'panel-settings');
  // Back goes to the previous screen.
  await page.goBack();
  await page.locator('#panel-status').waitFor();
  // A dialog closes with Escape and gives the focus back.
  await page.locator('#tab-providers').click();
  await page.getByRole('button', { name: 'Add provider' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('dialog', { name: 'Add a provider' }).waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  assert.equal(await focused(), 'add-provider');
  assertNoPageErrors(assert, env);
});
