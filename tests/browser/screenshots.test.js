// Screenshots of the main screen for the docs (light and dark), after some real traffic with a
// failover, plus a check that nothing overflows at 360 px. Set SWITCHYARD_UI_SHOTS=DIR to also
// save every screen (both schemes, wide and narrow) there for review.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEnv, eventually, assertNoPageErrors, ROOT, keychainLookup, IN_DESKTOP_SESSION } from './harness.js';

const T = { timeout: 120000 };
const DOCS_DIR = path.join(ROOT, 'docs');
// The committed screenshots change only when asked (SWITCHYARD_UPDATE_SCREENSHOTS=1); otherwise
// they go to a scratch folder so a test run leaves the checkout clean.
const DOCS = process.env.SWITCHYARD_UPDATE_SCREENSHOTS === '1' ? DOCS_DIR : path.join(os.tmpdir(), 'switchyard-ui-shots');
const EXTRA = process.env.SWITCHYARD_UI_SHOTS || '';

async function traffic(env) {
  for (let i = 0; i < 5; i++) await env.message(i % 2 ? 'claude-haiku-4-5' : 'claude-sonnet-4-5');
  await env.script(0, [{ status: 429, headers: [['retry-after', '3600']], body: { type: 'error', message: 'Claude AI usage limit reached' } }]);
  for (let i = 0; i < 3; i++) await env.message(i === 1 ? 'claude-opus-4-1' : 'claude-sonnet-4-5');
}

/** Every control on a screen has an accessible name (a label, text or aria-label). */
async function assertEveryControlNamed(page, tab) {
  const tree = await page.locator(`#panel-${tab}`).ariaSnapshot();
  const unnamed = tree.split('\n').filter((l) => /^\s*- (button|textbox|combobox|checkbox|switch|spinbutton|searchbox|link|tab)\b(?!\s+")/.test(l));
  assert.deepEqual(unnamed, [], `unnamed controls on ${tab}:\n${tree}`);
}

async function noHorizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}

test('screenshots of the main screen, light and dark; every screen fits 360 px', T, async (t) => {
  const env = await startEnv(t, {
    mockArgs: ['--latency-ms', '40'],
    providers: [
      { id: 'anthropic', name: 'Anthropic', mock: 0, credential: 'passthrough' },
      { id: 'deepseek', name: 'DeepSeek', mock: 1, credential: 'keychain', models: { '*opus*': 'deepseek-reasoner', '*': 'deepseek-chat' } },
      { id: 'kimi', name: 'Kimi (Moonshot)', mock: 1, credential: 'env:MOONSHOT_API_KEY', models: { '*': 'kimi-k2-turbo-preview' } },
    ],
  });
  const { page } = env;
  if (IN_DESKTOP_SESSION) {
    const r = await env.api('/api/keys/deepseek', { method: 'PUT', body: { key: 'sk-demo-deepseek-key-5a7c' } });
    assert.equal(r.status, 200, r.text);
    assert.ok(keychainLookup('deepseek'));
  }
  await env.open();
  await traffic(env);
  await page.locator('#hero-active', { hasText: 'DeepSeek' }).waitFor();
  await page.locator('.mini-requests li').nth(5).waitFor();
  await eventually(async () => (await page.locator('.activity li').count()) >= 2, 'events listed');

  await mkdir(DOCS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(DOCS, 'screenshot-ui.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(DOCS, 'screenshot-ui-dark.png'), fullPage: true });
  // Dark really is dark.
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g).map(Number);
  assert.ok(r + g + b < 120, `dark background expected, got ${bg}`);

  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [w, h] of [[1280, 860], [360, 740]]) {
      await page.setViewportSize({ width: w, height: h });
      for (const tab of ['status', 'providers', 'routing', 'requests', 'usage', 'integrations', 'settings']) {
        await page.locator(`#tab-${tab}`).click();
        await page.locator(`#panel-${tab}`).waitFor();
        if (w === 360) assert.ok(await noHorizontalOverflow(page), `${tab} overflows at 360 px (${scheme})`);
        if (w === 1280 && scheme === 'light') await assertEveryControlNamed(page, tab);
        if (EXTRA) {
          await mkdir(EXTRA, { recursive: true });
          await page.screenshot({ path: path.join(EXTRA, `${tab}-${w}-${scheme}.png`), fullPage: true });
        }
      }
    }
  }
  if (EXTRA) {
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.locator('#tab-providers').click();
    await page.getByRole('button', { name: 'Add provider' }).click();
    await page.locator('[data-preset="deepseek"]').waitFor();
    await page.screenshot({ path: path.join(EXTRA, 'dialog-presets.png') });
    await page.locator('[data-preset="openrouter"]').click();
    await page.screenshot({ path: path.join(EXTRA, 'dialog-form.png') });
    await page.keyboard.press('Escape');
  }
  assertNoPageErrors(assert, env);
});
