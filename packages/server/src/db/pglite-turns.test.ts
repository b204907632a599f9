// Embedded PGlite runs each query on the server's own thread. A burst of queries must still
// let the event loop serve other I/O between two of them (database.ts, yieldingPglite): a
// request that needs no database must not wait for the whole queue of queries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DB } from '../../test/harness.ts';
import { type Database, openDatabase } from './database.ts';

describe.runIf(TEST_DB === 'pglite')('PGlite under a burst of queries', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ kind: 'pglite', dataDir: null });
    await db.migrate();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('lets a timer run between queued queries and transactions', async () => {
    const { prisma } = db;
    let done = 0;
    const burst = Array.from({ length: 40 }, async (_, i) => {
      for (let q = 0; q < 3; q++) {
        await prisma.$queryRaw`SELECT ${i}::int + ${q}::int AS n`;
        done++;
      }
      await prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT ${i}::int AS n`;
        done++;
      });
    });
    // A callback re-armed every turn of the event loop through the burst: the most queries
    // that ran between two of its calls is how long other I/O waited. With queries that start
    // one another through promise callbacks, it waited for the whole queue.
    let last = 0;
    let most = 0;
    let ticking = true;
    const ticks = (async () => {
      while (ticking) {
        await new Promise((resolve) => setImmediate(resolve));
        most = Math.max(most, done - last);
        last = done;
      }
    })();
    await Promise.all(burst);
    ticking = false;
    await ticks;
    expect(done).toBe(160);
    expect(most).toBeLessThanOrEqual(2);
  });
});
