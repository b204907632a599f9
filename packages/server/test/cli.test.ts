// The README's quick start, exactly: `npm start` with the embedded defaults, then curl.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { processAlive, readServerInfo } from '../src/auth/server-info.ts';
import { REPO_ROOT } from '../src/db/paths.ts';
import { until } from './fixtures/runs.ts';
import { createPostgresDatabase, TEST_DB } from './harness.ts';

const exec = promisify(execFile);

/** Resolves with the first line matching `pattern`, or rejects when the process exits first. */
function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`timed out; output:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; output:\n${output}`));
    });
  });
}

describe('atelier CLI', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('`npm start` serves GraphQL that curl can query for models', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'atelier-cli-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    const env: Record<string, string> = { ...process.env, ATELIER_HOME: home, PORT: '0' } as never;
    delete env.DATABASE_URL;
    if (TEST_DB === 'postgres') {
      const database = await createPostgresDatabase();
      cleanups.push(() => database.drop());
      env.DATABASE_URL = database.url;
    }
    const child = spawn('npm', ['start'], { cwd: REPO_ROOT, env, detached: true });
    cleanups.push(async () => {
      // npm may exit before the server it started has closed its database: wait for the
      // server process itself (its pid is in server.json) before the home is removed.
      const info = await readServerInfo(home);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        process.kill(-child.pid!, 'SIGTERM');
        await exited;
      }
      if (info) await until(async () => !processAlive(info.pid), 'the server process to exit');
    });
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [, url] = await waitForLine(child, /listening on (http:\/\/\S+)/, 60_000);
    // The log is JSON lines (stderr is not a terminal); the first info or warning says that
    // runs go to the bundled sandbox.
    const firstLogLine = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; msg: string; time: string })
      .find((entry) => entry.level === 'info' || entry.level === 'warn');
    expect(firstLogLine?.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(firstLogLine?.msg).toMatch(
      /No COMFYUI_URLS set: runs go to the bundled ComfyUI sandbox at http:\/\/127\.0\.0\.1:\d+/,
    );
    const { stdout } = await exec('curl', [
      '-sS',
      '-X',
      'POST',
      `${url}/graphql`,
      '-H',
      'content-type: application/json',
      '-d',
      '{"query":"{ models { key name modes } }"}',
    ]);
    const body = JSON.parse(stdout);
    expect(body.errors).toBeUndefined();
    expect(body.data.models.length).toBeGreaterThanOrEqual(10);
    expect(body.data.models[0]).toEqual({
      key: expect.any(String),
      name: expect.any(String),
      modes: expect.any(Array),
    });
  });

  it('stops with a clear message naming a bad variable', async () => {
    const result = await exec('node', ['packages/server/bin/atelier.mjs', 'serve'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: 'not-a-port' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/PORT: must be a number/);
  });

  it('refuses to start in NODE_ENV=production without ComfyUI workers, in one line', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'atelier-production-'));
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', ATELIER_HOME: home };
    delete env.COMFYUI_URLS;
    try {
      const result = await exec('node', ['packages/server/bin/atelier.mjs', 'serve'], {
        cwd: REPO_ROOT,
        env,
      }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^Invalid configuration: COMFYUI_URLS: not set, and NODE_ENV=production/,
        ),
      ]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('`npx atelier worker` from the repository root refuses the embedded database in one line', async () => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const result = await exec('npx', ['atelier', 'worker'], { cwd: REPO_ROOT, env }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^atelier worker: DATABASE_URL must name the PostgreSQL database/),
    ]);
  });
});
