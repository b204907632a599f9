// Opens the database: embedded PGlite under ATELIER_HOME by default, PostgreSQL when a URL
// is given. Both go through Prisma driver adapters, so there is one client and one dialect.
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.ts';
import { applyMigrations, type SqlRunner } from './migrate.ts';

export type DatabaseTarget =
  | { kind: 'pglite'; dataDir: string | null }
  | { kind: 'postgres'; url: string };

export interface Database {
  readonly kind: DatabaseTarget['kind'];
  readonly prisma: PrismaClient;
  /** Applies pending migrations; returns the names applied. */
  migrate(): Promise<string[]>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  /** Queries Prisma has sent so far (for N+1 guards in tests). */
  readonly queryCount: number;
  close(): Promise<void>;
}

const QUERY_EVENTS = [{ emit: 'event' as const, level: 'query' as const }];

/**
 * Interactive transactions (createRun takes the account's row lock in one) queue for the
 * single PGlite connection or a pooled one under load: wait longer than Prisma's 2 s
 * default before giving up, so a burst of requests is served late rather than refused.
 */
const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 30_000 };

function countQueries(prisma: PrismaClient<'query'>) {
  const counter = { count: 0 };
  prisma.$on('query', () => {
    counter.count++;
  });
  return counter;
}

/** Opens a database. `dataDir: null` keeps PGlite in memory (tests). */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === 'pglite') {
    if (target.dataDir) await mkdir(target.dataDir, { recursive: true });
    const pglite = target.dataDir ? new PGlite(target.dataDir) : new PGlite();
    await pglite.waitReady;
    const prisma = new PrismaClient({
      adapter: new PrismaPGlite(pglite),
      log: QUERY_EVENTS,
      transactionOptions: TRANSACTION_OPTIONS,
    });
    const counter = countQueries(prisma);
    const runner: SqlRunner = {
      exec: async (sql) => {
        await pglite.exec(sql);
      },
      query: async <T>(sql: string, params?: unknown[]) =>
        (await pglite.query<T>(sql, params as unknown[])).rows,
    };
    return {
      kind: 'pglite',
      prisma,
      get queryCount() {
        return counter.count;
      },
      migrate: () => applyMigrations(runner),
      ping: async () => (await runner.query('SELECT 1 AS ok').catch(() => [])).length === 1,
      close: async () => {
        await prisma.$disconnect();
        await pglite.close();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: target.url, max: 10 });
  // An idle client whose connection the server ended (restart, admin termination) emits
  // 'error' on the pool; the pool discards it and connects anew when needed. Without a
  // listener that event would crash the process. Errors of running queries still reach
  // their callers.
  pool.on('error', () => {});
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    log: QUERY_EVENTS,
    transactionOptions: TRANSACTION_OPTIONS,
  });
  const counter = countQueries(prisma);
  return {
    kind: 'postgres',
    prisma,
    get queryCount() {
      return counter.count;
    },
    migrate: async () => {
      // One connection for the whole run: the advisory lock is per session.
      const client = await pool.connect();
      try {
        return await applyMigrations({
          exec: async (sql) => {
            await client.query(sql);
          },
          query: async <T>(sql: string, params?: unknown[]) =>
            (await client.query(sql, params)).rows as T[],
        });
      } finally {
        client.release();
      }
    },
    ping: async () => {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
