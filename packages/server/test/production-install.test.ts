// A production install: the built dist/ and what `npm ci --omit=dev` installs, nothing else,
// outside the repository. It must start with plain Node against real workers (here a sandbox
// started from the development tree plays the ComfyUI server) and execute a run, with no
// devDependency installed (tsx, Vitest, esbuild...). npm keeps two: typescript and prisma
// are optional peer dependencies of @prisma/client, and npm installs an optional peer that
// is in the lockfile ("devOptional") unless optional dependencies are omitted too, which
// would drop sharp's platform binaries. The test deletes both, so the start proves the
// server needs neither. npm installs from its cache (--prefer-offline); when it cannot (no
// cache and no network) the test is skipped and says so.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Sandbox, startSandbox } from '@atelier/comfyui-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/db/paths.ts';
import { CSRF_HEADER } from '../src/http-security.ts';
import { TEST_DB } from './harness.ts';

const run = promisify(execFile);

/** What a deployment copies: manifests, the built packages and their data, migrations. */
const COPIED = [
  'package.json',
  'package-lock.json',
  'prisma',
  'packages/server/package.json',
  'packages/server/bin',
  'packages/server/dist',
  'packages/server/catalog',
  'packages/comfyui-sandbox/package.json',
  'packages/comfyui-sandbox/bin',
  'packages/comfyui-sandbox/dist',
  'packages/comfyui-sandbox/data',
  'packages/sdk/package.json',
  'packages/cli/package.json',
  'packages/cli/bin',
  'packages/cli/dist',
  'packages/playground/package.json',
];

const OFFLINE = /ENOTCACHED|EAI_AGAIN|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|ENETUNREACH/;

async function gql<T>(url: string, query: string, variables?: object): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [CSRF_HEADER]: '1' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data || body.errors) throw new Error(`${query}\n${JSON.stringify(body)}`);
  return body.data;
}

/** Resolves with the value `probe` returns once it is not undefined; polls up to `timeoutMs`. */
async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Install-level, independent of the test database: runs once, in the PGlite project.
describe.runIf(TEST_DB === 'pglite')('a production install (npm ci --omit=dev)', () => {
  let dir: string;
  let installError: string | null = null;
  let sandbox: Sandbox | undefined;
  let server: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'atelier-production-'));
    for (const entry of COPIED) {
      const from = path.join(REPO_ROOT, entry);
      if (!existsSync(from)) throw new Error(`${entry} is missing: npm install builds it`);
      await mkdir(path.dirname(path.join(dir, entry)), { recursive: true });
      await cp(from, path.join(dir, entry), { recursive: true });
    }
    try {
      await run(
        'npm',
        ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
        { cwd: dir, timeout: 150_000, env: { ...process.env, NODE_ENV: 'production' } },
      );
    } catch (error) {
      const text = `${(error as Error).message}\n${(error as { stderr?: string }).stderr ?? ''}`;
      if (!OFFLINE.test(text)) throw error;
      installError = text;
      console.warn(
        `\n*** production install test SKIPPED: npm could not install offline ***\n${text}\n`,
      );
    }
    for (const peer of ['typescript', 'prisma']) {
      await rm(path.join(dir, 'node_modules', peer), { recursive: true, force: true });
    }
  }, 180_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await sandbox?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('installs no devDependency', (ctx) => {
    if (installError) ctx.skip();
    const modules = path.join(dir, 'node_modules');
    expect(existsSync(path.join(modules, 'graphql-yoga'))).toBe(true);
    for (const dev of [
      'tsx',
      'vitest',
      'esbuild',
      '@biomejs/biome',
      '@prisma/schema-engine-wasm',
    ]) {
      expect(existsSync(path.join(modules, dev)), `${dev} was installed`).toBe(false);
    }
  });

  it('starts with plain node against real workers and executes a run', async (ctx) => {
    if (installError) ctx.skip();
    sandbox = await startSandbox({
      port: 0,
      host: '127.0.0.1',
      stepDelayMs: 0,
      catalogDir: path.join(REPO_ROOT, 'packages/server/catalog/models'),
    });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      COMFYUI_URLS: sandbox.url,
      ATELIER_HOME: path.join(dir, 'home'),
      PORT: '0',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    };
    server = spawn(process.execPath, [path.join(dir, 'packages/server/bin/atelier.mjs'), 'serve'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    server.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const url = await waitFor(
      async () => {
        if (server?.exitCode !== null) throw new Error(`the server exited:\n${output}`);
        return /listening on (http:\/\/[^\s"]+)/.exec(output)?.[1];
      },
      60_000,
      'the server to listen',
    );
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(output).not.toMatch(/sandbox/i);

    const { models } = await gql<{ models: { key: string }[] }>(url, '{ models { key } }');
    expect(models.map((m) => m.key)).toContain('flux1-dev');

    const created = await gql<{ createRun: { run?: { id: string }; message?: string } }>(
      url,
      `mutation ($input: CreateRunInput!) {
        createRun(input: $input) {
          ... on CreateRunSuccess { run { id } }
          ... on Error { message }
        }
      }`,
      {
        input: {
          mode: 'TEXT_TO_IMAGE',
          model: 'flux1-dev',
          prompt: 'a production install',
          parameters: { steps: 1, width: 256, height: 256 },
        },
      },
    );
    const id = created.createRun.run?.id;
    expect(id, created.createRun.message).toBeTruthy();
    const status = await waitFor(
      async () => {
        const { run } = await gql<{ run: { status: string } }>(
          url,
          'query ($id: ID!) { run(id: $id) { status } }',
          { id },
        );
        return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(run.status) ? run.status : undefined;
      },
      60_000,
      'the run to finish',
    );
    expect(status).toBe('SUCCEEDED');
    expect(sandbox.stats().succeeded).toBe(1);
  }, 150_000);
});
