// Test harness: a real Atelier server on a free loopback port, with its own database
// (in-memory PGlite, or a fresh PostgreSQL database when the suite runs on PostgreSQL)
// and its own ATELIER_HOME in a temp folder.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type App, createApp } from '../src/app.ts';
import { type Config, loadConfig } from '../src/config.ts';
import { type Database, openDatabase } from '../src/db/database.ts';
import { createLogger } from '../src/log.ts';

/** Which database this test run uses: set per Vitest project (see vitest.config.ts). */
export const TEST_DB: 'pglite' | 'postgres' =
  process.env.ATELIER_TEST_DB === 'postgres' ? 'postgres' : 'pglite';

/** Creates an empty PostgreSQL database for one test file; returns its URL and a dropper. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const name = `atelier_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * A database of one test file's own, opened without a server: a new PostgreSQL database
 * when the suite runs on PostgreSQL, else in-memory PGlite. `close` closes it and drops the
 * PostgreSQL one.
 */
export async function openTestDatabase(): Promise<{ db: Database; close(): Promise<void> }> {
  const postgres = TEST_DB === 'postgres' ? await createPostgresDatabase() : null;
  const db = await openDatabase(
    postgres ? { kind: 'postgres', url: postgres.url } : { kind: 'pglite', dataDir: null },
  );
  return {
    db,
    async close() {
      await db.close();
      await postgres?.drop();
    },
  };
}

/** A loopback port nothing listens on (bound once, then released). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TestServer {
  app: App;
  url: string;
  config: Config;
  /**
   * POSTs a GraphQL operation as JSON (with `apiKey` as a Bearer token); fails loudly with
   * the query and body when the answer is not JSON.
   */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { apiKey?: string },
  ): Promise<{ data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] }>;
  /** Creates an account (when new, with `credits`) and an API key for it, in the database. */
  createKey(options: {
    account: string;
    credits?: number;
    admin?: boolean;
  }): Promise<{ key: string; accountId: string; prefix: string }>;
  stop(): Promise<void>;
}

/** A home folder and database that outlive one server, for restart tests. */
export interface PersistentState {
  home: string;
  database: Config['database'];
  dispose(): Promise<void>;
}

/** Creates a home folder and a database (PGlite on disk, or a fresh PostgreSQL database). */
export async function createPersistentState(): Promise<PersistentState> {
  const home = await mkdtemp(path.join(tmpdir(), 'atelier-test-'));
  const postgres = TEST_DB === 'postgres' ? await createPostgresDatabase() : null;
  return {
    home,
    database: postgres
      ? { kind: 'postgres', url: postgres.url }
      : { kind: 'pglite', dataDir: path.join(home, 'db') },
    async dispose() {
      await postgres?.drop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a server with its own home folder and database; env entries override defaults.
 * With `state`, it uses that home and database and leaves them in place on stop.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  state?: PersistentState,
  options: { worker?: boolean; api?: boolean } = {},
): Promise<TestServer> {
  const home = state?.home ?? (await mkdtemp(path.join(tmpdir(), 'atelier-test-')));
  const postgres = !state && TEST_DB === 'postgres' ? await createPostgresDatabase() : null;
  // DISPATCH_AHEAD 0: tests that hold the sandbox (holdQueue) count on later runs staying
  // QUEUED behind the held slots; the dispatch tests set it themselves.
  const base = loadConfig({
    ATELIER_HOME: home,
    PORT: '0',
    LOG_LEVEL: 'warn',
    DISPATCH_AHEAD: '0',
    ...env,
  });
  const config: Config = {
    ...base,
    database:
      state?.database ??
      (postgres ? { kind: 'postgres', url: postgres.url } : { kind: 'pglite', dataDir: null }),
  };
  let app: App;
  try {
    app = await createApp(config, { log: createLogger(config.logLevel), ...options });
    await app.start();
  } catch (error) {
    await postgres?.drop();
    if (!state) await rm(home, { recursive: true, force: true });
    throw error;
  }
  const url = app.url;
  return {
    app,
    url,
    config,
    async gql(query, variables, options = {}) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`GraphQL request failed (${res.status}):\n${query}\n${text}`);
      }
    },
    async createKey({ account, credits, admin }) {
      const { auth } = app.services;
      const existing = await auth.accountByName(account);
      const owner =
        existing ?? (await auth.createAccount({ name: account, credits: credits ?? 0 }));
      const created = await auth.createApiKey({ accountId: owner.id, admin: admin ?? false });
      return { key: created.key, accountId: owner.id, prefix: created.apiKey.prefix };
    },
    async stop() {
      await app.stop();
      await postgres?.drop();
      if (!state) await rm(home, { recursive: true, force: true });
    },
  };
}
