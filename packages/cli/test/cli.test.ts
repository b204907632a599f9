// The `atelier` command as users run it: the built bin (`node packages/cli/bin/atelier.js ...`,
// built again in beforeAll so a stale dist/ cannot pass) in a child process, against a started
// server with the bundled sandbox. Every failure must be one line on stderr with exit code 2
// (command line) or 1 (anything else).
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyPng } from '../../server/test/fixtures/images.ts';
import { sniff } from '../../server/test/fixtures/runs.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';

const exec = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '..');
const BIN = path.join(CLI, 'bin/atelier.js');

let server: TestServer;
let tmp: string;

beforeAll(async () => {
  await exec(process.execPath, [path.join(CLI, 'scripts/build.mjs')]);
  server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '5' });
  tmp = await mkdtemp(path.join(tmpdir(), 'atelier-cli-'));
});
afterAll(async () => {
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end; never throws on a non-zero exit. */
function atelier(
  args: string[],
  options: { bin?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
) {
  return new Promise<Result>((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {
      cwd: tmp,
      env: { ...process.env, ATELIER_URL: server.url, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`atelier ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The failure is exactly one line on stderr, matching `line`, without a stack trace. */
function expectOneLineFailure(result: Result, code: 1 | 2, line: RegExp | string) {
  expect(result.stderr.endsWith('\n'), result.stderr).toBe(true);
  expect(result.stderr.slice(0, -1).split('\n')).toEqual([
    typeof line === 'string' ? line : expect.stringMatching(line),
  ]);
  expect(result.code).toBe(code);
}

const SMALL = ['--param', 'steps=2', '--param', 'width=256', '--param', 'height=256'];

describe('atelier generate', () => {
  it('Ctrl-C cancels the run on the server and exits non-zero with CANCELED', async () => {
    // Held mid-run until the cancel's interrupt arrives, as ComfyUI stops on one.
    server.app.sandbox!.hangNextPrompt({ afterSteps: 1, interruptible: true });
    try {
      const child = spawn(
        process.execPath,
        [
          BIN,
          'generate',
          '--mode',
          'T2I',
          '--model',
          'flux1-dev',
          '--prompt',
          'stop me',
          ...SMALL,
          '--out',
          path.join(tmp, 'int'),
        ],
        {
          cwd: tmp,
          env: { ...process.env, ATELIER_URL: server.url },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`never hung: ${stderr}`)), 30_000);
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk;
        });
        const poll = setInterval(() => {
          if (server.app.sandbox!.hanging && /GENERATE/.test(stderr)) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          }
        }, 20);
      });
      child.kill('SIGINT');
      const code = await exited;
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/canceling run/);
      expect(stderr).toMatch(/^atelier generate: CANCELED( \([^)]*\))?: /m);
      const runId = stderr.match(/run (\S+) \(seed/)![1]!;
      const status = await server.gql<{ run: { status: string } }>(
        'query($id: ID!) { run(id: $id) { status } }',
        { id: runId },
      );
      expect(status.data!.run.status).toBe('CANCELED');
    } finally {
      server.app.sandbox!.releaseHang();
    }
  });

  it('T2I writes the image files and prints their paths', async () => {
    const out = path.join(tmp, 't2i');
    // Slow enough steps that the CLI is watching before GENERATE ends: a run on an idle
    // server is claimed by its own createRun and starts at once.
    server.app.sandbox!.setStepDelay(300);
    const result = await atelier([
      'generate',
      '--mode',
      'T2I',
      '--model',
      'flux1-dev',
      '--prompt',
      'a paper crane',
      ...SMALL,
      '--seed',
      '42',
      '--out',
      out,
    ]).finally(() => server.app.sandbox!.setStepDelay(5));
    expect(result.stderr).not.toMatch(/REQUEST_FAILED|Error|atelier generate:/);
    expect(result.code).toBe(0);
    const files = result.stdout.trim().split('\n');
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^${out}/[0-9a-f-]{36}-0\\.png$`));
    expect(sniff(await readFile(files[0]!))).toBe('png');
    // Not a terminal: one line per stage change, no redrawn bar.
    expect(result.stderr).toMatch(/GENERATE\s+running/);
    expect(result.stderr).toMatch(/GENERATE\s+succeeded/);
    expect(result.stderr).not.toContain('\r');
  });

  it('I2I uploads --input and downloads a JPEG output', async () => {
    const source = path.join(tmp, 'photo.png');
    await writeFile(source, await noisyPng(200, 150));
    const out = path.join(tmp, 'i2i-jpeg');
    const result = await atelier([
      'generate',
      '--mode',
      'I2I',
      '--model',
      'flux1-dev',
      '--prompt',
      'the same, in autumn',
      '--input',
      source,
      '--param',
      'steps=2',
      '--param',
      'megapixels=0.25',
      '--format',
      'jpeg',
      '--out',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`uploading ${source} (source)`);
    const files = result.stdout.trim().split('\n');
    expect(files).toEqual([expect.stringMatching(new RegExp(`^${out}/[0-9a-f-]{36}-0\\.jpg$`))]);
    const bytes = await readFile(files[0]!);
    expect(sniff(bytes)).toBe('jpeg');
    expect(bytes.length).toBeGreaterThan(1000);
  });

  it('I2I uploads --input, honours --count and --format, and --json prints one object', async () => {
    const source = path.join(tmp, 'source.png');
    await writeFile(source, await noisyPng(240, 160));
    const out = path.join(tmp, 'i2i');
    const result = await atelier([
      'generate',
      '--mode',
      'IMAGE_TO_IMAGE',
      '--model',
      'flux1-dev',
      '--prompt',
      'the same, at night',
      '--input',
      source,
      '--param',
      'steps=2',
      '--param',
      'megapixels=0.25',
      '--count',
      '2',
      '--format',
      'webp',
      '--seed',
      '7',
      '--out',
      out,
      '--json',
    ]);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as {
      runId: string;
      status: string;
      seed: string;
      outputs: { path: string; url: string; mimeType: string }[];
    };
    expect(json).toMatchObject({ status: 'SUCCEEDED', seed: '7' });
    expect(json.runId).toBeTruthy();
    expect(json.outputs).toHaveLength(2);
    for (const [index, output] of json.outputs.entries()) {
      expect(output.mimeType).toBe('image/webp');
      expect(path.basename(output.path)).toMatch(new RegExp(`-${index}\\.webp$`));
      expect(sniff(await readFile(output.path))).toBe('webp');
      expect(output.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/media\//);
    }
    expect(result.stderr).toContain(`uploading ${source}`);
  });

  it('a bad model exits 1 with the error code and field, in one line', async () => {
    const result = await atelier([
      'generate',
      '--mode',
      'T2I',
      '--model',
      'nope',
      '--prompt',
      'x',
      '--out',
      path.join(tmp, 'none'),
    ]);
    expectOneLineFailure(result, 1, /^atelier generate: VALIDATION_FAILED \(model\): .*nope/);
    expect(result.stdout).toBe('');
  });

  it('a failed run exits 1 and ends with one line naming the error, no stack', async () => {
    server.app.sandbox!.failNextPrompt({ kind: 'oom' });
    const result = await atelier([
      'generate',
      '--mode',
      'T2I',
      '--model',
      'flux1-dev',
      '--prompt',
      'too big',
      ...SMALL,
      '--out',
      path.join(tmp, 'oom'),
      '--json',
    ]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^atelier generate: OUT_OF_MEMORY \(GENERATE[^)]*\): \S/);
    expect(lines.filter((line) => line.startsWith('atelier generate:'))).toHaveLength(1);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'FAILED',
      outputs: [],
      error: { code: 'OUT_OF_MEMORY' },
    });
  });

  it('a missing --input file: one line, exit 1, nothing sent', async () => {
    const missing = path.join(tmp, 'no-such.png');
    const result = await atelier([
      'generate',
      '--mode',
      'I2I',
      '--model',
      'flux1-dev',
      '--prompt',
      'x',
      '--input',
      missing,
    ]);
    expectOneLineFailure(
      result,
      1,
      `atelier generate: cannot read --input ${missing}: no such file`,
    );
    expect(result.stdout).toBe('');
  });

  it('a bad command line exits 2 with one line pointing at the usage', async () => {
    const result = await atelier([
      'generate',
      '--mode',
      'SIDEWAYS',
      '--model',
      'm',
      '--prompt',
      'x',
    ]);
    expectOneLineFailure(
      result,
      2,
      /^atelier generate: Unknown mode "SIDEWAYS": .* \(see atelier generate --help\)$/,
    );
  });
});

describe('atelier models and styles', () => {
  it('lists models for a mode as JSON, and styles as a table', async () => {
    const [models, styles] = await Promise.all([
      atelier(['models', '--mode', 'T2A', '--json']),
      atelier(['styles']),
    ]);
    expect(models.code).toBe(0);
    const list = JSON.parse(models.stdout) as { key: string; modes: string[] }[];
    expect(list.map((m) => m.key)).toEqual(['ace-step-v1-3.5b']);
    expect(styles.code).toBe(0);
    expect(styles.stdout.split('\n')[0]).toMatch(/^KEY\s+CATEGORY\s+NAME$/);
    expect(styles.stdout).toMatch(/^watercolor\s/m);
  });

  it('lists every model as a table, and styles as JSON', async () => {
    const [models, styles] = await Promise.all([
      atelier(['models']),
      atelier(['styles', '--json']),
    ]);
    expect(models.code).toBe(0);
    expect(models.stderr).toBe('');
    const rows = models.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^KEY\s+OUTPUT\s+MODES\s+NAME$/);
    expect(rows.length).toBeGreaterThanOrEqual(11);
    expect(models.stdout).toMatch(/^flux1-dev\s+IMAGE\s+TEXT_TO_IMAGE,IMAGE_TO_IMAGE\s+FLUX/m);
    expect(styles.code).toBe(0);
    const list = JSON.parse(styles.stdout) as { key: string; category: string }[];
    expect(list.map((s) => s.key)).toContain('watercolor');
  });
});

describe('one-line failures', () => {
  let fake: Server;
  let fakeUrl = '';
  // What the fake server answers; set by each test.
  let answer: { status: number; type: string; body: string; location?: string } = {
    status: 200,
    type: '',
    body: '',
  };

  beforeAll(async () => {
    fake = createServer((req, res) => {
      req.resume();
      const headers = {
        'content-type': answer.type,
        ...(answer.location ? { location: answer.location } : {}),
      };
      res.writeHead(answer.status, headers).end(answer.body);
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => fake?.close(resolve));
  });

  it('an unknown command or option exits 2', async () => {
    expectOneLineFailure(
      await atelier(['frobnicate']),
      2,
      'atelier: unknown command "frobnicate" (see atelier --help)',
    );
    expectOneLineFailure(
      await atelier(['models', '--colour']),
      2,
      "atelier models: Unknown option '--colour' (see atelier models --help)",
    );
    expectOneLineFailure(
      await atelier(['styles', '--server', 'ftp://x']),
      2,
      'atelier styles: --server wants an http(s) URL, got "ftp://x" (see atelier styles --help)',
    );
  });

  it('an unreachable server is named', async () => {
    // A port that was just free: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    expectOneLineFailure(
      await atelier(['models', '--server', url]),
      1,
      `atelier models: cannot reach the Atelier server at ${url} (ECONNREFUSED)`,
    );
  });

  it('a refused API key (401 from Atelier, 403 from a proxy) says which key to fix', async () => {
    expectOneLineFailure(
      await atelier(['styles', '--api-key', 'atl_notakey']),
      1,
      new RegExp(
        `^atelier styles: the server at ${server.url} refused the API key \\(UNAUTHENTICATED: .+\\): pass a valid key with --api-key or ATELIER_API_KEY$`,
      ),
    );
    answer = { status: 403, type: 'text/html', body: '<h1>Forbidden</h1>' };
    expectOneLineFailure(
      await atelier(['models', '--server', fakeUrl]),
      1,
      `atelier models: the server at ${fakeUrl} refused the API key (HTTP 403): pass a valid key with --api-key or ATELIER_API_KEY`,
    );
  });

  it('follows a redirect to the server (not a failure)', async () => {
    answer = { status: 308, type: 'text/plain', body: '', location: `${server.url}/graphql` };
    const result = await atelier(['styles', '--json', '--server', fakeUrl]);
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { key: string }[]).map((s) => s.key)).toContain(
      'watercolor',
    );
  });

  it('GraphQL errors are printed with their code', async () => {
    answer = {
      status: 200,
      type: 'application/graphql-response+json',
      body: JSON.stringify({
        errors: [{ message: 'Unexpected error.\nsecond line', extensions: { code: 'INTERNAL' } }],
      }),
    };
    expectOneLineFailure(
      await atelier(['models', '--server', fakeUrl]),
      1,
      `atelier models: the server at ${fakeUrl} answered with an error: INTERNAL: Unexpected error. second line`,
    );
  });
});

describe('atelier and the server commands', () => {
  it('--help lists every command, client and server', async () => {
    const result = await atelier(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['generate', 'models', 'styles', 'serve', 'worker', 'migrate', 'keys']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\s`, 'm'));
    }
  });

  it('forwards a server command to @atelier/server', async () => {
    const result = await atelier(['worker'], {
      env: { DATABASE_URL: undefined, ATELIER_HOME: path.join(tmp, 'home') },
      timeoutMs: 60_000,
    });
    expectOneLineFailure(
      result,
      2,
      /^atelier worker: DATABASE_URL must name the PostgreSQL database/,
    );
  });

  it('outside a checkout: the client commands work, a server command says it is missing', async () => {
    // The package's files alone (as `npm pack` ships them), away from the workspace.
    const alone = path.join(tmp, 'alone');
    await mkdir(alone);
    for (const entry of ['bin', 'dist', 'package.json']) {
      await cp(path.join(CLI, entry), path.join(alone, entry), { recursive: true });
    }
    const bin = path.join(alone, 'bin/atelier.js');
    const models = await atelier(['models', '--json'], { bin });
    expect(models.code, models.stderr).toBe(0);
    expect(JSON.parse(models.stdout).length).toBeGreaterThanOrEqual(11);
    expectOneLineFailure(
      await atelier(['serve'], { bin }),
      2,
      /^atelier serve: the Atelier server is not installed here \(@atelier\/server not found/,
    );
  });
});
