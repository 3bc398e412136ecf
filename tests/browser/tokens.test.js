// Settings → Access tokens: create a token (its value shown once, copyable, stored in the
// keychain), see it used and counted, delete it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, eventually, requireDesktopSession, keychainLookup, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };

test('create an access token, copy its value once, see it counted, delete it', T, async (t) => {
  if (!requireDesktopSession(t)) return;
  const env = await startEnv(t);
  const { page } = env;
  await env.open('#settings');
  const card = page.locator('section', { has: page.getByRole('heading', { name: 'Access tokens' }) });
  await card.getByText('No access tokens yet.').waitFor();

  // A bad name is refused in the form, before anything is sent.
  await card.getByLabel('Token name').fill('My Laptop');
  await card.getByRole('button', { name: 'Create token' }).click();
  await card.getByText('Use 1-64 characters: a-z, 0-9, - and _.').waitFor();

  await card.getByLabel('Token name').fill('laptop');
  await card.getByLabel('Requests per minute').fill('30');
  await card.getByRole('button', { name: 'Create token' }).click();
  const value = card.getByRole('textbox', { name: 'Value of token laptop' });
  await value.waitFor();
  const token = await value.inputValue();
  assert.match(token, /^syt_[0-9a-f]{48}$/);
  assert.equal(keychainLookup('token:laptop'), token, 'the value is in the Secret Service');
  const row = card.locator('tr[data-token="laptop"]');
  await row.filter({ hasText: '30/min' }).waitFor();
  await row.filter({ hasText: 'never' }).waitFor();

  await card.getByRole('button', { name: 'Copy the value of token laptop' }).click();
  await card.getByText('Copied').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

  // The token works as an API key and is counted; the engine never answers its value again.
  const r = await fetch(`${env.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': token },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(r.status, 200);
  const list = await env.api('/api/tokens');
  assert.equal(list.json.tokens[0].requests, 1);
  assert.ok(!list.text.includes(token));
  assert.ok(!(await env.api('/api/config')).text.includes(token));

  // Dismissed, the value is gone from the page for good (a reload does not bring it back).
  await card.getByRole('button', { name: 'Done' }).click();
  await value.waitFor({ state: 'detached' });
  await page.reload();
  await page.locator('body:not(.booting)').waitFor();
  assert.ok(!(await page.content()).includes(token), 'the page must not contain the value');
  await row.filter({ hasText: '1' }).waitFor();

  await card.getByRole('button', { name: 'Delete token laptop' }).click();
  await page.getByRole('dialog', { name: 'Delete token laptop?' }).getByRole('button', { name: 'Delete' }).click();
  await card.getByText('No access tokens yet.').waitFor();
  assert.equal(keychainLookup('token:laptop'), null, 'the value left the Secret Service');
  await eventually(async () => (await env.api('/api/tokens')).json.tokens.length === 0, 'the token to be gone');
  assertNoPageErrors(assert, env);
});
