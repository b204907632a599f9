// Opens the database: embedded PGlite under ATELIER_HOME by default, PostgreSQL when a URL
// is given. Both go through Prisma driver adapters, so there is one client and one dialect.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { PGliteOptions } from '@electric-sql/pglite';
import { PrismaClient } from '../generated/prisma/client.ts';
import { applyMigrations, type SqlRunner } from './migrate.ts';
import { pgliteTemplateFile } from './paths.ts';

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

/**
 * PGlite runs PostgreSQL's defaults, made for a server with its own memory: 128 MB of
 * shared buffers is most of an idle embedded server's footprint. 32 MB holds the hot pages
 * of a database of this size; the rest is read through the OS's page cache.
 */
const PGLITE_SETTINGS = ['-c', 'shared_buffers=32MB'];

/** The build's template of a new data directory (see pgliteTemplateFile), as a tar; or null. */
async function readPgliteTemplate(): Promise<Buffer | null> {
  const gzipped = await readFile(pgliteTemplateFile()).catch(() => null);
  return gzipped ? gunzipSync(gzipped) : null;
}

/**
 * A new embedded database starts as a copy of the build's template instead of PGlite running
 * initdb in WebAssembly (seconds, and a second instance's memory). The tar is unpacked here,
 * beside the data directory, and renamed into place, so a start cut short leaves no
 * half-made database; PGlite then opens it as an existing one. Nothing happens when the
 * directory holds anything already, or no template was built (PGlite then runs initdb).
 */
async function unpackPgliteTemplate(dataDir: string): Promise<void> {
  if ((await readdir(dataDir).catch(() => [])).length) return;
  const tar = await readPgliteTemplate();
  if (!tar) return;
  const temporary = `${dataDir}.${process.pid}.tmp`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  // ustar: a 512-byte header (name, octal size, type) before each file's 512-byte blocks.
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header[0] === 0) break;
    const field = (start: number, length: number) =>
      header.toString('latin1', start, start + length).replace(/\0.*$/s, '');
    const name = path.join(field(345, 155), field(0, 100));
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const target = path.join(temporary, name);
    if (!target.startsWith(`${temporary}${path.sep}`))
      throw new Error(`bad template entry ${name}`);
    if (type === '5') await mkdir(target, { recursive: true });
    else if (type === '0') {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, tar.subarray(offset + 512, offset + 512 + size));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  await rm(dataDir, { recursive: true, force: true }); // empty (checked above)
  await rename(temporary, dataDir);
}

/**
 * Opens a database. `dataDir: null` keeps PGlite in memory (tests). Each kind loads only its
 * own driver (PGlite's or node-postgres).
 */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === 'pglite') {
    const [{ PGlite }, { PrismaPGlite }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('pglite-prisma-adapter'),
    ]);
    if (target.dataDir) {
      await mkdir(target.dataDir, { recursive: true });
      await unpackPgliteTemplate(target.dataDir);
    }
    const template = target.dataDir ? null : await readPgliteTemplate();
    // One options object: PGlite keeps it, so the template is dropped from it once loaded.
    const options: PGliteOptions = {
      startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS],
      ...(target.dataDir ? { dataDir: target.dataDir } : {}),
      ...(template
        ? {
            loadDataDir: new Blob([
              new Uint8Array(template.buffer as ArrayBuffer, template.byteOffset, template.length),
            ]),
          }
        : {}),
    };
    const pglite = new PGlite(options);
    await pglite.waitReady;
    delete options.loadDataDir;
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
  const [{ default: pg }, { PrismaPg }] = await Promise.all([
    import('pg'),
    import('@prisma/adapter-pg'),
  ]);
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
