// The embedded database's vacuum: PGlite has no autovacuum, so without it a table that takes
// inserts and deletes only grows; with it, the space of dead rows is used again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, TEST_DB } from '../../test/harness.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { createLogger } from '../log.ts';
import type { Database } from './database.ts';
import { EmbeddedVacuum, tablesToVacuum } from './vacuum.ts';

describe.runIf(TEST_DB === 'pglite')('vacuuming PGlite', () => {
  let db: Database;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ db, close } = await openTestDatabase());
    await db.query(Prisma.sql`CREATE TABLE vacuum_probe (id BIGSERIAL PRIMARY KEY, n INT)`);
  });
  afterAll(async () => {
    await close?.();
  });

  /** 2,000 rows in, then deleted: what the queue's folded changes do to their table. */
  const churn = async () => {
    await db.query(
      Prisma.sql`INSERT INTO vacuum_probe (n) SELECT g FROM generate_series(1, 2000) AS g`,
    );
    await db.query(Prisma.sql`DELETE FROM vacuum_probe`);
    // This backend's counters reach pg_stat_user_tables when flushed.
    await db.query(Prisma.sql`SELECT pg_stat_force_next_flush()`);
  };
  const size = async () =>
    Number(
      (
        await db.query<{ s: string }>(
          Prisma.sql`SELECT pg_total_relation_size('vacuum_probe') AS s`,
        )
      )[0]!.s,
    );
  const dead = async () =>
    Number(
      (
        await db.query<{ d: string }>(
          Prisma.sql`SELECT n_dead_tup AS d FROM pg_stat_user_tables WHERE relname = 'vacuum_probe'`,
        )
      )[0]!.d,
    );

  it('without it the table grows with every round of dead rows', async () => {
    await churn();
    const first = await size();
    await churn();
    expect(await size()).toBeGreaterThan(first * 1.5);
    expect(await dead()).toBeGreaterThanOrEqual(4_000);
  });

  it('vacuums the tables past autovacuum’s threshold, after which the space is used again', async () => {
    expect(await tablesToVacuum(db)).toContain('vacuum_probe');
    const vacuum = new EmbeddedVacuum({ db, log: createLogger('silent') }, 60_000);
    expect(await vacuum.vacuum()).toContain('vacuum_probe');
    expect(await dead()).toBe(0);
    expect(await tablesToVacuum(db)).not.toContain('vacuum_probe');

    // Rounds of the same churn, each followed by a vacuum: the table stops growing.
    const sizes: number[] = [];
    for (let round = 0; round < 4; round++) {
      await churn();
      expect(await vacuum.vacuum()).toContain('vacuum_probe');
      sizes.push(await size());
    }
    expect(sizes.at(-1)).toBeLessThanOrEqual(sizes[1]!);
    await vacuum.stop();
  });
});
