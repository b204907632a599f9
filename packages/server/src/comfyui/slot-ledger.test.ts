// Two pools (two processes' worth) listing the same ComfyUI server count its slots together
// through Redis: never more than one running and one queued prompt on it in all, and every
// job still runs once. Needs Redis (skipped loudly otherwise).
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../log.ts';
import { jobFor, minimalGraph, startWorker, stopSandboxes } from './comfyui.fixtures.ts';
import { ComfyPool } from './pool.ts';
import { RedisSlotLedger } from './slot-ledger.ts';

const REDIS_URL = process.env.TEST_REDIS_URL;
if (!REDIS_URL) {
  console.warn('\n*** TEST_REDIS_URL is not set: the shared ComfyUI slot test is SKIPPED. ***\n');
}

afterAll(stopSandboxes);

describe.skipIf(!REDIS_URL)('ComfyUI slots counted across processes', () => {
  test('two pools on one server: at most two prompts on it at once, each job once', async () => {
    const sandbox = await startWorker({ stepDelayMs: 30 });
    // The server's own status broadcasts: how many prompts it holds (running + queued).
    let most = 0;
    const ws = new WebSocket(sandbox.wsUrl(`watch-${randomBytes(4).toString('hex')}`));
    ws.on('message', (raw, binary) => {
      if (binary) return;
      const msg = JSON.parse(String(raw)) as {
        type: string;
        data?: { status?: { exec_info?: { queue_remaining?: number } } };
      };
      const n = msg.data?.status?.exec_info?.queue_remaining;
      if (msg.type === 'status' && typeof n === 'number') most = Math.max(most, n);
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

    const prefix = `atelier-slots-${randomBytes(4).toString('hex')}`;
    const log = createLogger('warn');
    const pools = await Promise.all(
      ['one', 'two'].map(
        async (owner) =>
          new ComfyPool({
            urls: [sandbox.url],
            instanceId: owner,
            // A long TTL renews every 5 s: within this test, only a release's message tells the
            // other process that a slot came free.
            ledger: await RedisSlotLedger.open({
              url: REDIS_URL!,
              prefix,
              owner,
              ttlMs: 30_000,
              log,
            }),
            healthIntervalMs: 200,
          }),
      ),
    );
    try {
      await Promise.all(pools.map((p) => p.start()));
      await Promise.all(pools.map((p) => p.probed()));
      const jobs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => jobFor(minimalGraph(`shared/${i}`))),
      );
      const before = sandbox.stats().succeeded;
      const results = await Promise.all(
        jobs.map((job, i) => pools[i % 2]!.execute(job, () => {}, new AbortController().signal)),
      );
      expect(results.every((r) => r.outputs.length === 1)).toBe(true);
      expect(sandbox.stats().succeeded - before).toBe(8);
      const ids = sandbox.stats().log.map((e) => e.promptId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(2);
      // All released: both see the whole server free again once the last releases' messages
      // arrived (a release reaches Redis after its job has answered).
      await expect
        .poll(() => pools.map((p) => p.capacity()), { timeout: 3_000, interval: 20 })
        .toEqual([2, 2]);
    } finally {
      ws.close();
      await Promise.all(pools.map((p) => p.stop()));
    }
  });
});
