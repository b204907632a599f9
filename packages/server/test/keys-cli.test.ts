// `atelier keys create|list|revoke` as a real child process: on the embedded database with no
// server running (it opens the database), while a server runs on the same ATELIER_HOME (it
// goes through that server, which refuses a revoked key at once), and with DATABASE_URL.
// Every invocation costs seconds (tsx), so they are few, and independent ones run in parallel.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/db/paths.ts';
import { until } from './fixtures/runs.ts';
import { createPostgresDatabase, TEST_DB } from './harness.ts';

const KEY = /^atl_[0-9A-Za-z]{40}$/;
/** Several invocations of a few seconds each; a loaded machine can make them much slower. */
const CLI_TEST_TIMEOUT = 180_000;
/** A line of a Node stack trace. */
const STACK_LINE = /^\s+at .+/m;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface KeyListed {
  prefix: string;
  name: string;
  scopes: string[];
  account: { id: string; name: string };
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** The environment of a CLI run: this home, no DATABASE_URL unless given. */
function cliEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ATELIER_HOME: home, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.AUTH_MODE;
  delete env.PORT;
  return { ...env, ...extra };
}

/** Runs `atelier <args>` to its end (at most 120 s). */
function atelier(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['packages/server/bin/atelier.mjs', ...args],
      { cwd: REPO_ROOT, env, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        if (typeof code !== 'number') {
          reject(new Error(`atelier ${args.join(' ')} failed: ${error}\n${stderr}`));
          return;
        }
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `keys create ... --json`: checks the one JSON line and returns it parsed. */
async function createKey(args: string[], env: NodeJS.ProcessEnv) {
  const result = await atelier(['keys', 'create', ...args, '--json'], env);
  expect(result, result.stderr).toMatchObject({ code: 0 });
  expect(result.stderr).not.toMatch(STACK_LINE);
  const lines = result.stdout.split('\n');
  // Exactly one line, then the newline that ends it.
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe('');
  const parsed = JSON.parse(lines[0]!) as {
    account: { id: string; name: string; credits: number | null };
    key: string;
  };
  expect(Object.keys(parsed).sort()).toEqual(['account', 'key']);
  expect(Object.keys(parsed.account).sort()).toEqual(['credits', 'id', 'name']);
  expect(parsed.key).toMatch(KEY);
  // A Relay global id of an Account.
  expect(Buffer.from(parsed.account.id, 'base64').toString()).toMatch(
    /^Account:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );
  return parsed;
}

/** `keys list [--all] --json`, parsed; fails when any of `secrets` appears in the output. */
async function listKeys(
  env: NodeJS.ProcessEnv,
  options: { all?: boolean; secrets: string[] },
): Promise<KeyListed[]> {
  const result = await atelier(['keys', 'list', ...(options.all ? ['--all'] : []), '--json'], env);
  expect(result, result.stderr).toMatchObject({ code: 0 });
  expect(result.stderr).not.toMatch(STACK_LINE);
  for (const key of options.secrets) {
    // Neither the key nor its secret part (after the prefix) is ever shown again.
    expect(result.stdout + result.stderr).not.toContain(key);
    expect(result.stdout + result.stderr).not.toContain(key.slice(12));
  }
  return JSON.parse(result.stdout) as KeyListed[];
}

/** A TCP port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not exit')), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  // Every cleanup runs (a server left running would outlive the suite), newest first.
  const failures: unknown[] = [];
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => failures.push(error));
  if (failures.length) throw failures[0];
});

async function tempHome(): Promise<string> {
  const home = await mkdtemp(path.join(tmpdir(), 'atelier-keys-'));
  cleanups.push(() => rm(home, { recursive: true, force: true, maxRetries: 3 }));
  return home;
}

// Each invocation takes seconds of CPU (tsx), and the test machine has few cores: the cases
// run one after the other (side by side they only got slower), with room in their timeouts.
describe('atelier keys', () => {
  describe('bad usage', () => {
    it(
      'exits 2 with the usage, without touching a database',
      async () => {
        const home = await tempHome();
        const [noAccount, unknown] = await Promise.all([
          atelier(['keys', 'create', '--credits', '5'], cliEnv(home)),
          atelier(['keys', 'frobnicate'], cliEnv(home)),
        ]);
        for (const [result, message] of [
          [noAccount, '--account is required'],
          [unknown, 'Unknown keys command: frobnicate'],
        ] as const) {
          expect(result.code, result.stderr).toBe(2);
          expect(result.stdout).toBe('');
          expect(result.stderr).toContain(message);
          expect(result.stderr).toContain('Usage:\n  atelier keys create --account NAME');
          expect(result.stderr).not.toMatch(STACK_LINE);
        }
        expect(existsSync(path.join(home, 'db'))).toBe(false);
      },
      CLI_TEST_TIMEOUT,
    );
  });

  describe.skipIf(TEST_DB === 'postgres')('on the embedded database', () => {
    it(
      'creates an account and a key, grants credits, lists and revokes keys',
      async () => {
        const home = await tempHome();
        const env = cliEnv(home);
        const first = await createKey(['--account', 'alice', '--credits', '10'], env);
        expect(first.account).toMatchObject({ name: 'alice', credits: 10 });

        const listed = await listKeys(env, { secrets: [first.key] });
        expect(listed).toEqual([
          {
            prefix: first.key.slice(0, 12),
            name: 'default',
            scopes: ['user'],
            account: { id: first.account.id, name: 'alice' },
            createdAt: expect.any(String),
            lastUsedAt: null,
            revokedAt: null,
          },
        ]);

        // The same account again: 5 more credits and a second key.
        const second = await createKey(['--account', 'alice', '--credits', '5'], env);
        expect(second.account).toEqual({ id: first.account.id, name: 'alice', credits: 15 });
        expect(second.key).not.toBe(first.key);

        const revoked = await atelier(['keys', 'revoke', first.key.slice(0, 12)], env);
        expect(revoked.code, revoked.stderr).toBe(0);
        expect(revoked.stdout).toContain(`Revoked ${first.key.slice(0, 12)}`);

        const unknownPrefix = await atelier(['keys', 'revoke', 'atl_00000000'], env);
        expect(unknownPrefix.code, unknownPrefix.stderr).toBe(1);
        expect(unknownPrefix.stdout).toBe('');
        expect(unknownPrefix.stderr).toMatch(/^NOT_FOUND: .*atl_00000000/);
        expect(unknownPrefix.stderr).not.toMatch(STACK_LINE);

        const all = await listKeys(env, { all: true, secrets: [first.key, second.key] });
        const byPrefix = new Map(all.map((k) => [k.prefix, k]));
        expect(all).toHaveLength(2);
        expect(byPrefix.get(first.key.slice(0, 12))?.revokedAt).toEqual(expect.any(String));
        expect(new Date(byPrefix.get(first.key.slice(0, 12))!.revokedAt!).getTime()).not.toBeNaN();
        expect(byPrefix.get(second.key.slice(0, 12))?.revokedAt).toBeNull();
      },
      CLI_TEST_TIMEOUT,
    );

    it(
      'goes through a server running on the same home, then opens the database again',
      async () => {
        const home = await tempHome();
        const port = await freePort();
        const server = spawn(process.execPath, ['packages/server/bin/atelier.mjs', 'serve'], {
          cwd: REPO_ROOT,
          env: cliEnv(home, {
            PORT: String(port),
            AUTH_MODE: 'keys',
            SANDBOX_STEP_DELAY_MS: '0',
          }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        server.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        server.stderr?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        cleanups.push(async () => {
          if (server.exitCode === null && server.signalCode === null) {
            server.kill('SIGKILL');
            await exited(server, 10_000);
          }
        });
        const url = `http://127.0.0.1:${port}`;
        await until(
          async () => {
            if (server.exitCode !== null) throw new Error(`the server exited:\n${output}`);
            const res = await fetch(`${url}/readyz`).catch(() => null);
            return res?.status === 200;
          },
          'the server to be ready',
          120_000,
        );
        const info = JSON.parse(await readFile(path.join(home, 'server.json'), 'utf8')) as {
          pid: number;
          url: string;
        };
        expect(info.pid).toBe(server.pid);
        expect(info.url).toBe(url);

        const env = cliEnv(home);
        const bob = await createKey(['--account', 'bob'], env);
        expect(bob.account).toMatchObject({ name: 'bob', credits: 0 });

        const asBob = async () => {
          const res = await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${bob.key}` },
            body: JSON.stringify({ query: '{ viewer { account { name credits } } }' }),
          });
          return { status: res.status, body: (await res.json()) as Record<string, unknown> };
        };
        expect(await asBob()).toEqual({
          status: 200,
          body: { data: { viewer: { account: { name: 'bob', credits: 0 } } } },
        });

        const revoked = await atelier(['keys', 'revoke', bob.key.slice(0, 12)], env);
        expect(revoked.code, revoked.stderr).toBe(0);
        // The server caches keys for 10 s; the key must be refused within that (plus slack).
        await until(
          async () => (await asBob()).status === 401,
          'the revoked key to be refused',
          12_000,
        );
        expect((await asBob()).body).toMatchObject({
          errors: [{ extensions: { code: 'UNAUTHENTICATED' } }],
        });

        server.kill('SIGTERM');
        expect(await exited(server, 30_000)).toBe(0);
        expect(existsSync(path.join(home, 'server.json'))).toBe(false);

        // No server now: the command opens the database, where the revocation was stored.
        const all = await listKeys(env, { all: true, secrets: [bob.key] });
        expect(all).toEqual([
          expect.objectContaining({
            prefix: bob.key.slice(0, 12),
            account: { id: bob.account.id, name: 'bob' },
            revokedAt: expect.any(String),
          }),
        ]);
      },
      CLI_TEST_TIMEOUT,
    );
  });

  describe.skipIf(TEST_DB !== 'postgres')('with DATABASE_URL', () => {
    it(
      'creates a key and lists it',
      async () => {
        const database = await createPostgresDatabase();
        cleanups.push(() => database.drop());
        const env = cliEnv(await tempHome(), { DATABASE_URL: database.url });
        const carol = await createKey(['--account', 'carol', '--credits', '3'], env);
        expect(carol.account).toMatchObject({ name: 'carol', credits: 3 });
        const listed = await listKeys(env, { secrets: [carol.key] });
        expect(listed).toEqual([
          expect.objectContaining({
            prefix: carol.key.slice(0, 12),
            account: { id: carol.account.id, name: 'carol' },
            revokedAt: null,
          }),
        ]);
      },
      CLI_TEST_TIMEOUT,
    );
  });
});
