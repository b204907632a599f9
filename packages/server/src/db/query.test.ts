// Database.query: one statement sent by the driver itself (pg's pool or PGlite), counted
// with Prisma's, whose failures carry no statement values into the logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/harness.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { type Database, isStalePlan, preparesStatements, statementNames } from './database.ts';

describe('Database.query', () => {
  let db: Database;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ db, close } = await openTestDatabase());
  });
  afterAll(async () => {
    await close?.();
  });

  it('answers rows as the driver parses them and counts the statement', async () => {
    const before = db.queryCount;
    const rows = await db.query<{ n: number; doc: unknown; at: Date }>(
      Prisma.sql`SELECT ${41}::int + 1 AS n, ${JSON.stringify({ a: [1, 'x'] })}::jsonb AS doc,
        ('2026-01-02 03:04:05.678'::timestamp AT TIME ZONE 'UTC') AS at`,
    );
    expect(rows).toEqual([
      { n: 42, doc: { a: [1, 'x'] }, at: new Date('2026-01-02T03:04:05.678Z') },
    ]);
    await db.prisma.$queryRaw`SELECT 1`;
    expect(db.queryCount - before).toBe(2);
  });

  it('rejects a failing statement with an error that holds none of its values', async () => {
    const secret = 'a prompt nobody should find in a log';
    const error = await db
      .query(Prisma.sql`SELECT ${secret}::text, 1 / ${0}::int AS boom`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/division by zero/);
    // What the logger's serializer would copy: every enumerable field of the error.
    expect(JSON.stringify({ ...(error as object) })).not.toContain(secret);
  });

  it("prepares each statement on its PostgreSQL connection, Prisma's and its own", async (ctx) => {
    if (db.kind !== 'postgres') ctx.skip();
    // One after the other, the statements go through the pool's last released connection.
    await db.query(Prisma.sql`SELECT ${1}::int AS one`);
    await db.prisma.$queryRaw`SELECT ${2}::int AS two`;
    const rows = await db.query<{ name: string; statement: string }>(
      Prisma.sql`SELECT name, statement FROM pg_prepared_statements`,
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        { name: expect.stringMatching(/^atelier_\d+$/), statement: 'SELECT $1::int AS one' },
        {
          name: expect.stringMatching(/^atelier_\d+$/),
          statement: 'SELECT $1::int AS two',
        },
      ]),
    );
  });

  it('a statement prepared before a migration changed its result type runs again; statements go unnamed from then on', async (ctx) => {
    if (db.kind !== 'postgres') ctx.skip();
    // A database of its own: naming stops for the rest of that Database's life.
    const own = await openTestDatabase();
    try {
      const exec = (sql: string) => own.db.prisma.$executeRawUnsafe(sql);
      await exec('CREATE TABLE stale_plan (x int)');
      await exec('INSERT INTO stale_plan VALUES (7)');
      const read = Prisma.sql`SELECT * FROM stale_plan WHERE ${1}::int = 1`;
      expect(await own.db.query(read)).toEqual([{ x: 7 }]);
      // What a newer process's migration does during a rolling upgrade. The pool hands out
      // its most recently released connection: the one that prepared `read`.
      await exec('ALTER TABLE stale_plan ALTER COLUMN x TYPE text');
      expect(await own.db.query(read)).toEqual([{ x: '7' }]);

      await own.db.query(Prisma.sql`SELECT ${3}::int AS three`);
      await own.db.prisma.$queryRaw`SELECT ${4}::int AS four`;
      const prepared = await own.db.query<{ statement: string }>(
        Prisma.sql`SELECT statement FROM pg_prepared_statements`,
      );
      const texts = prepared.map((p) => p.statement);
      expect(texts).not.toContain('SELECT $1::int AS three');
      expect(texts).not.toContain('SELECT $1::int AS four');
    } finally {
      await own.close();
    }
  });
});

describe('statementNames', () => {
  it('names nothing once retired (a stale plan was met)', () => {
    const named = statementNames();
    expect(named('SELECT 1')).toMatch(/^atelier_\d+$/);
    named.retire();
    expect(named('SELECT 1')).toBeUndefined();
    expect(named('SELECT 2')).toBeUndefined();
  });

  it("recognizes PostgreSQL's refusal of a prepared statement whose result type changed", () => {
    const stale = Object.assign(new Error('cached plan must not change result type'), {
      code: '0A000',
    });
    expect(isStalePlan(stale)).toBe(true);
    expect(isStalePlan(Object.assign(new Error('other'), { code: '0A000' }))).toBe(false);
    expect(isStalePlan(new Error('cached plan must not change result type'))).toBe(false);
    expect(isStalePlan(undefined)).toBe(false);
  });

  it('gives each distinct text one name, the same every time, and none past its limit', () => {
    const named = statementNames(2);
    const a = named('SELECT 1');
    const b = named('SELECT 2');
    expect(a).toMatch(/^atelier_\d+$/);
    expect(b).toMatch(/^atelier_\d+$/);
    expect(b).not.toBe(a);
    expect(named('SELECT 1')).toBe(a);
    expect(named('SELECT 3')).toBeUndefined();
    expect(named('SELECT 2')).toBe(b);
  });

  it('names nothing behind PgBouncer (pgbouncer=true in the URL)', () => {
    expect(preparesStatements('postgresql://u@db:6432/app?pgbouncer=true')).toBe(false);
    expect(preparesStatements('postgresql://u@db:5432/app')).toBe(true);
    expect(preparesStatements('postgresql://u@db:5432/app?sslmode=require')).toBe(true);
  });
});
