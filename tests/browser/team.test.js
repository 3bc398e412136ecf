// Team mode on the Status screen: the team card lists the replicas seen through Redis and turns
// to "Degraded" (with the reason) when Redis goes away, back to "Shared" when it returns; the
// page keeps working meanwhile.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, startRedis, eventually, assertNoPageErrors } from './harness.js';

const T = { timeout: 90000 };

test('the team card follows the Redis link', T, async (t) => {
  const redis = await startRedis(t);
  const env = await startEnv(t, { cluster: { redis: redis.url, node: 'replica-ui' } });
  const { page } = env;
  const cluster = async () => (await env.api('/api/status')).json.cluster;
  await eventually(async () => (await cluster())?.status === 'ok', 'the replica to join the team');
  await env.open();
  const card = page.locator('#status-team');
  await card.locator('#team-state', { hasText: 'Shared' }).waitFor();
  await card.locator('#team-replicas > li[data-node="replica-ui"]', { hasText: 'this replica' }).waitFor();
  await card.locator('.card-sub', { hasText: redis.url.replace('/0', '') }).waitFor();

  await redis.stop();
  await card.locator('#team-state', { hasText: 'Degraded' }).waitFor({ timeout: 15000 });
  await card.locator('.last-error').waitFor();
  // Still serving, on its own state.
  const r = await env.message();
  assert.equal(r.status, 200, r.body);

  await redis.start();
  await card.locator('#team-state', { hasText: 'Shared' }).waitFor({ timeout: 15000 });
  assertNoPageErrors(assert, env);
});
