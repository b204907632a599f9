// The BullMQ queue when a process dies between fetching a job and claiming its run: the job
// is locked to the dead process, and must come back to the others within the run lease, not
// after BullMQ's 30 s defaults. Needs Redis (skipped loudly otherwise).
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import type { PrismaClient, Run } from '../generated/prisma/client.ts';
import { createLogger } from '../log.ts';
import { BullJobQueue } from './bullmq-queue.ts';
import type { Capability, Claim } from './job-queue.ts';

const REDIS_URL = process.env.TEST_REDIS_URL;
if (!REDIS_URL) {
  console.warn('\n*** TEST_REDIS_URL is not set: the BullMQ queue test is SKIPPED. ***\n');
}

const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

describe.skipIf(!REDIS_URL)('BullJobQueue', () => {
  test('a job fetched by a process that died before claiming its run goes to another process within two leases', async () => {
    const url = REDIS_URL as string;
    const prefix = `atelier-bullq-${randomBytes(4).toString('hex')}`;
    const leaseMs = 1_000;
    const log = createLogger('warn');
    // repair() is the only user of the database; this test does not call it.
    const open = async () => {
      const queue = await BullJobQueue.open({} as PrismaClient, { url, prefix, log, leaseMs });
      closing.push(() => queue.close());
      return queue;
    };
    const capability: Capability = { modelKey: 'flux1-dev', mode: 'TEXT_TO_IMAGE' };
    const runId = randomUUID();
    await (await open()).enqueue({
      ...capability,
      runId,
      priority: 0,
      queueRank: 0,
      createdAt: new Date(),
    });

    // The process that dies: its queue fetches the job (now locked to it) and is killed
    // while it claims the run: its claim never finishes, its connections are gone, and
    // nothing completes the job or renews its lock.
    const dying = await open();
    let fetched: (runId: string) => void = () => {};
    const claiming = new Promise<string>((resolve) => {
      fetched = resolve;
    });
    void dying.next([capability], {
      owner: 'the dying process',
      leaseExpiresAt: () => new Date(Date.now() + leaseMs),
      run: (id) => {
        fetched(id);
        return new Promise<Run | null>(() => {}); // killed mid-claim
      },
      claimed: () => {},
    });
    expect(await claiming).toBe(runId);
    await dying.close();

    const claimed: string[] = [];
    const claim: Claim = {
      owner: 'the other process',
      leaseExpiresAt: () => new Date(Date.now() + leaseMs),
      run: async (id) => {
        claimed.push(id);
        return { id } as Run;
      },
      claimed: () => {},
    };
    const other = await open();
    // Locked to the dead process: not handed out at once.
    expect(await other.next([capability], claim)).toBeNull();
    const started = Date.now();
    let run: Run | null = null;
    while (!run && Date.now() - started < 15_000) {
      run = await other.next([capability], claim);
      if (!run) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(run?.id).toBe(runId);
    expect(claimed).toEqual([runId]);
    // Lock (one lease) plus at most one stalled-job check (every lease), with slack for a
    // loaded machine; BullMQ's defaults would take 30-60 s.
    expect(Date.now() - started).toBeLessThan(6 * leaseMs);
  }, 30_000);

  test('a claim that gives up with jobs still waiting says so (contended); an empty queue does not', async () => {
    const url = REDIS_URL as string;
    const prefix = `atelier-bullq-${randomBytes(4).toString('hex')}`;
    const log = createLogger('warn');
    const queue = await BullJobQueue.open({} as PrismaClient, { url, prefix, log, leaseMs: 5_000 });
    closing.push(() => queue.close());
    const capability: Capability = { modelKey: 'flux1-dev', mode: 'TEXT_TO_IMAGE' };
    const waiting = 12;
    for (let i = 0; i < waiting; i++) {
      await queue.enqueue({
        ...capability,
        runId: randomUUID(),
        priority: 0,
        queueRank: i,
        createdAt: new Date(Date.now() + i),
      });
    }
    let tried = 0;
    let contended = 0;
    // Every run it fetches is gone by the time it claims it (as when other processes take
    // them first): it gives up after a bounded number of tries, runs still waiting.
    const claim: Claim = {
      owner: 'this process',
      leaseExpiresAt: () => new Date(Date.now() + 5_000),
      run: async () => {
        tried++;
        return null;
      },
      claimed: () => {},
      contended: () => {
        contended++;
      },
    };
    expect(await queue.next([capability], claim)).toBeNull();
    expect(tried).toBeGreaterThan(0);
    expect(tried).toBeLessThan(waiting);
    expect(contended).toBe(1);
    // Asked until the queue is empty: the last answer finds nothing waiting, not contention.
    let answers = 0;
    while (tried < waiting && answers++ < waiting) await queue.next([capability], claim);
    contended = 0;
    expect(await queue.next([capability], claim)).toBeNull();
    expect(tried).toBe(waiting);
    expect(contended).toBe(0);
  }, 30_000);
});
