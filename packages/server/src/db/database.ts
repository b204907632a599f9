// Opens the database: embedded PGlite under ATELIER_HOME by default, PostgreSQL when a URL
// is given. Both go through Prisma driver adapters, so there is one client and one dialect.
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite, PGliteOptions, Transaction } from '@electric-sql/pglite';
import { type Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { takePgliteWasm } from '../preload.ts';
import { applyMigrations, type MigrationFile, readMigrations, type SqlRunner } from './migrate.ts';
import { PGLITE_TEMPLATE_FORMAT, pgliteTemplateFile } from './paths.ts';

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
  /**
   * One statement sent by the driver itself (pg's pool, or PGlite on its turn), not through
   * Prisma's client; rows as the driver parses them (json and jsonb as values). For the hot
   * path's single statements: Prisma's client was 13% of the server's CPU under a createRun
   * load, most of it for the one statement each createRun sends.
   */
  query<T>(sql: Prisma.Sql): Promise<T[]>;
  /** Statements sent so far, through Prisma and `query` (for N+1 guards in tests). */
  readonly queryCount: number;
  close(): Promise<void>;
}

/** Distinct statement texts given a name at most (the rest run unnamed, parsed each time). */
const NAMED_STATEMENTS = 1_000;

/**
 * Names for the statements sent to PostgreSQL. node-postgres prepares a named statement on
 * a connection the first time it runs there; afterwards that connection only binds and
 * executes it, and PostgreSQL may keep its plan. Parsing and planning were most of the
 * server-side time of the hot path's statements here (0.3–1.4 ms each, against 0.05–0.6 ms
 * of execution). One name per distinct text, for the process; past `limit` texts a
 * statement goes unnamed, so an unforeseen variety of texts cannot grow every connection's
 * statements without bound.
 */
export function statementNames(limit = NAMED_STATEMENTS): StatementNames {
  const names = new Map<string, string>();
  let retired = false;
  const name = (sql: string) => {
    if (retired) return undefined;
    let found = names.get(sql);
    if (found === undefined && names.size < limit) {
      found = `atelier_${names.size}`;
      names.set(sql, found);
    }
    return found;
  };
  return Object.assign(name, {
    retire() {
      retired = true;
    },
  });
}

/**
 * Names per statement text; after `retire()` none (every statement unnamed, planned anew
 * each time), for the rest of the process.
 */
export type StatementNames = ((sql: string) => string | undefined) & { retire(): void };

/**
 * PostgreSQL refuses to run a prepared statement whose result columns changed type since it
 * was prepared (a migration altered a table while this process ran, as in a rolling
 * upgrade): "cached plan must not change result type".
 */
export function isStalePlan(error: unknown): boolean {
  return (
    (error as { code?: unknown } | null)?.code === '0A000' &&
    /cached plan must not change result type/.test(String((error as Error).message))
  );
}

/**
 * Whether statements may be prepared on the connections of `url`: not behind PgBouncer in
 * transaction mode, which hands each transaction any server connection (the URL says so
 * with `pgbouncer=true`, as Prisma's own URLs do).
 */
export function preparesStatements(url: string): boolean {
  try {
    return new URL(url).searchParams.get('pgbouncer') !== 'true';
  } catch {
    return true;
  }
}

const QUERY_EVENTS = [{ emit: 'event' as const, level: 'query' as const }];

/**
 * Interactive transactions (createRun takes the account's row lock in one) queue for the
 * single PGlite connection or a pooled one under load: wait longer than Prisma's 2 s
 * default before giving up, so a burst of requests is served late rather than refused.
 */
const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 30_000 };

/**
 * PGlite's errors carry the statement and its values (`query`, `params`, `queryOptions`) as
 * enumerable fields, which the logger's error serializer would copy into the log: prompts,
 * stage texts, output rows. Through Prisma they did not reach the log; through
 * Database.query they must not either.
 */
function withoutStatement(error: unknown): unknown {
  if (error && typeof error === 'object') {
    for (const key of ['query', 'params', 'queryOptions']) Reflect.deleteProperty(error, key);
  }
  return error;
}

function countQueries(prisma: PrismaClient<'query'>) {
  const counter = { count: 0 };
  prisma.$on('query', () => {
    counter.count++;
  });
  return counter;
}

/**
 * PGlite runs PostgreSQL's defaults, made for a server with its own memory: 128 MB of
 * shared buffers is most of an idle embedded server's footprint. 16 MB holds the hot pages
 * of a database of this size; the rest is read through the OS's page cache. Shared memory is
 * also paid at every start: PGlite's mmap zeroes it with a memset that runs as unoptimized
 * WebAssembly, ≈ 3.5 ms per MB here (32 MB: 0.41 s to ready and 164 MB of RSS for PGlite
 * alone; 16 MB: 0.35 s and 148 MB; bench/RESULTS.md).
 */
const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB'];

/**
 * PGlite runs each query synchronously on this thread, and the next query a caller sends
 * once the previous one resolved starts in the same microtask checkpoint. Under a burst of
 * transactions (16 clients creating runs) the whole queue of them ran before the event loop
 * read a socket again: a request that needs no database at all waited for every queued
 * query (`{ models { key } }` p99 30-40x its idle figure). Queries and transactions now
 * start one per turn of the event loop (each waits for setImmediate after the previous
 * start), so pending I/O is served between any two of them. This spaces starts only; it is
 * not a lock (PGlite's own mutexes order the queries). Only Prisma's connection goes
 * through this; migrations and pings use the client directly.
 */
function yieldingPglite(pglite: PGlite): PGlite {
  let previous = Promise.resolve();
  const nextTurn = () => {
    const turn = previous.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    previous = turn;
    return turn;
  };
  /** `query` and `exec` of `target`, each started on its turn; undefined for other keys. */
  const onItsTurn = (target: object, key: string | symbol) => {
    if (key !== 'query' && key !== 'exec') return undefined;
    const method = Reflect.get(target, key, target) as (...args: unknown[]) => unknown;
    return async (...args: unknown[]) => {
      await nextTurn();
      return method.apply(target, args);
    };
  };
  const wrapTx = (tx: Transaction): Transaction =>
    new Proxy(tx, {
      get: (target, key, receiver) => onItsTurn(target, key) ?? Reflect.get(target, key, receiver),
    });
  return new Proxy(pglite, {
    get(target, key) {
      const deferred = onItsTurn(target, key);
      if (deferred) return deferred;
      if (key === 'transaction') {
        return async <T>(callback: (tx: Transaction) => Promise<T>) => {
          await nextTurn();
          return target.transaction((tx) => callback(wrapTx(tx)));
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

interface PgliteTemplate {
  tar: Buffer;
  /** The migrations applied in it (at build time). */
  migrations: string[];
}

/**
 * The build's template of a new data directory (see pgliteTemplateFile): its manifest line,
 * then a tar with the migrations already applied in it. Null when there is none, or when one
 * of its migrations is not one of ours unchanged (edited since the build): PGlite then runs
 * initdb.
 */
export async function readPgliteTemplate(): Promise<PgliteTemplate | null> {
  const file = await readFile(pgliteTemplateFile()).catch(() => null);
  const newline = file ? file.indexOf(10) : -1;
  if (!file || newline < 0) return null;
  let manifest: { format?: number; migrations?: MigrationFile[] };
  try {
    manifest = JSON.parse(file.toString('utf8', 0, newline));
  } catch {
    return null;
  }
  if (manifest.format !== PGLITE_TEMPLATE_FORMAT || !Array.isArray(manifest.migrations))
    return null;
  const current = new Map((await readMigrations()).map((m) => [m.name, m.checksum]));
  if (!manifest.migrations.every((m) => current.get(m.name) === m.checksum)) return null;
  return {
    tar: file.subarray(newline + 1),
    migrations: manifest.migrations.map((m) => m.name),
  };
}

/** Files of the template written at once (they wait for the thread pool's 4 threads). */
const UNPACK_CONCURRENCY = 16;
const PAGE = 8192;
const ZERO_PAGE = Buffer.alloc(PAGE);

/**
 * Writes `body` to a new file, its trailing zero pages left as a hole the file's length
 * covers: the same bytes when read, less to write (PostgreSQL's first WAL segment is 16 MB,
 * almost all zeros, and relation files end in empty pages).
 */
async function writeSparse(file: string, body: Buffer): Promise<void> {
  let end = Math.ceil(body.length / PAGE) * PAGE;
  while (end > 0) {
    const start = end - PAGE;
    const page = body.subarray(start, end);
    if (!page.equals(page.length === PAGE ? ZERO_PAGE : ZERO_PAGE.subarray(0, page.length))) break;
    end = start;
  }
  if (end >= body.length) return writeFile(file, body);
  const handle = await open(file, 'w');
  try {
    if (end > 0) await handle.write(body, 0, end, 0);
    await handle.truncate(body.length);
  } finally {
    await handle.close();
  }
}

/**
 * Removes what unpacks cut short left beside `dataDir` (`<dataDir>.<pid>.tmp` of a process
 * that is gone, or of this one): a 28 MB directory each, never used again.
 */
async function removeAbandonedUnpacks(dataDir: string): Promise<void> {
  const parent = path.dirname(dataDir);
  const prefix = `${path.basename(dataDir)}.`;
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = name.slice(prefix.length, -'.tmp'.length);
    if (!/^\d+$/.test(pid)) continue;
    if (Number(pid) !== process.pid && processExists(Number(pid))) continue;
    await rm(path.join(parent, name), { recursive: true, force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A new embedded database starts as a copy of the build's template instead of PGlite running
 * initdb in WebAssembly (seconds, and a second instance's memory). The tar is unpacked here,
 * beside the data directory, and renamed into place, so a start cut short leaves no
 * half-made database; PGlite then opens it as an existing one. Nothing happens when the
 * directory holds anything already, or no template was built (PGlite then runs initdb).
 */
export async function unpackPgliteTemplate(dataDir: string): Promise<string[]> {
  if ((await readdir(dataDir).catch(() => [])).length) return [];
  const template = await readPgliteTemplate();
  if (!template) return [];
  const { tar } = template;
  const temporary = `${dataDir}.${process.pid}.tmp`;
  await removeAbandonedUnpacks(dataDir);
  await mkdir(temporary, { recursive: true });
  // ustar: a 512-byte header (name, octal size, type) before each file's 512-byte blocks.
  const directories = new Set<string>();
  const files: { target: string; body: Buffer }[] = [];
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
    if (type === '5') directories.add(target);
    else if (type === '0') {
      directories.add(path.dirname(target));
      files.push({ target, body: tar.subarray(offset + 512, offset + 512 + size) });
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  // Parents before children (a parent's path sorts first), then the files, several at once:
  // written one after the other, a fresh home waited ≈ 0.45 s on its 1,000 files.
  for (const directory of [...directories].sort()) await mkdir(directory, { recursive: true });
  let next = 0;
  const writer = async () => {
    for (let file = files[next++]; file; file = files[next++])
      await writeSparse(file.target, file.body);
  };
  await Promise.all(Array.from({ length: UNPACK_CONCURRENCY }, writer));
  await rm(dataDir, { recursive: true, force: true }); // empty (checked above)
  await rename(temporary, dataDir);
  return template.migrations;
}

/**
 * Opens a database. `dataDir: null` keeps PGlite in memory (tests). Each kind loads only its
 * own driver (PGlite's or node-postgres).
 */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === 'pglite') {
    // Migrations the template came with: reported (and recorded as applied now) by the first
    // migrate(), so a database made from it is indistinguishable from one migrated here.
    // The template is unpacked (the file system's work) while the drivers load.
    const { dataDir } = target;
    const [{ PGlite }, { PrismaPGlite }, unpacked, preloaded] = await Promise.all([
      import('@electric-sql/pglite'),
      import('pglite-prisma-adapter'),
      dataDir ? mkdir(dataDir, { recursive: true }).then(() => unpackPgliteTemplate(dataDir)) : [],
      // PGlite's WebAssembly, compiled while the modules loaded (`serve`, preload.ts).
      takePgliteWasm(),
    ]);
    let adopted: string[] = unpacked;
    const template = target.dataDir ? null : await readPgliteTemplate();
    if (template) adopted = template.migrations;
    // One options object: PGlite keeps it, so the template is dropped from it once loaded.
    const options: PGliteOptions = {
      ...preloaded,
      startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS],
      ...(target.dataDir ? { dataDir: target.dataDir } : {}),
      ...(template
        ? {
            loadDataDir: new Blob([
              new Uint8Array(
                template.tar.buffer as ArrayBuffer,
                template.tar.byteOffset,
                template.tar.length,
              ),
            ]),
          }
        : {}),
    };
    const pglite = new PGlite(options);
    await pglite.waitReady;
    delete options.loadDataDir;
    const onTurns = yieldingPglite(pglite);
    const prisma = new PrismaClient({
      adapter: new PrismaPGlite(onTurns),
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
      query: async <T>(sql: Prisma.Sql) => {
        counter.count++;
        try {
          return (await onTurns.query<T>(sql.text, sql.values)).rows;
        } catch (error) {
          throw withoutStatement(error);
        }
      },
      get queryCount() {
        return counter.count;
      },
      migrate: async () => {
        const fromTemplate = adopted;
        adopted = [];
        if (fromTemplate.length) {
          await runner.exec(
            'UPDATE "_prisma_migrations" SET id = gen_random_uuid()::text, started_at = now(), finished_at = now()',
          );
        }
        return [...fromTemplate, ...(await applyMigrations(runner))];
      },
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
  // Behind PgBouncer: a namer with no names (every statement unnamed).
  const named = statementNames(preparesStatements(target.url) ? undefined : 0);
  // A statement prepared before a migration changed what it returns fails on every
  // connection that prepared it; from the first such failure (Prisma's or our own) on,
  // statements go unnamed, so the failure does not repeat on the other connections.
  class Client extends pg.Client {
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloads, passed through unchanged
    override query(...args: any[]): any {
      const last = args.length - 1;
      const callback = args[last];
      if (typeof callback === 'function') {
        // pg's pool hands its clients a callback.
        args[last] = (error: unknown, ...rest: unknown[]) => {
          if (isStalePlan(error)) named.retire();
          return callback(error, ...rest);
        };
      }
      // biome-ignore lint/suspicious/noExplicitAny: as above
      const result = (super.query as (...a: any[]) => any)(...args);
      if (result && typeof result.catch === 'function') {
        result.catch((error: unknown) => {
          if (isStalePlan(error)) named.retire();
        });
      }
      return result;
    }
  }
  const pool = new pg.Pool({ connectionString: target.url, max: 10, Client });
  // An idle client whose connection the server ended (restart, admin termination) emits
  // 'error' on the pool; the pool discards it and connects anew when needed. Without a
  // listener that event would crash the process. Errors of running queries still reach
  // their callers.
  pool.on('error', () => {});
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool, {
      // Typed as always naming; the adapter hands `name` to pg, where undefined is unnamed.
      statementNameGenerator: (query) => named(query.sql) as string,
    }),
    log: QUERY_EVENTS,
    transactionOptions: TRANSACTION_OPTIONS,
  });
  const counter = countQueries(prisma);
  return {
    kind: 'postgres',
    prisma,
    query: async <T>(sql: Prisma.Sql) => {
      counter.count++;
      const name = named(sql.text);
      try {
        return (await pool.query({ name, text: sql.text, values: sql.values })).rows as T[];
      } catch (error) {
        // Once more, unnamed: one statement on its own, so nothing of it was applied.
        if (name === undefined || !isStalePlan(error)) throw error;
        return (await pool.query({ text: sql.text, values: sql.values })).rows as T[];
      }
    },
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
