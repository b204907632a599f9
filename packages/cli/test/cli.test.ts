// The client commands as users run them: `node packages/server/bin/atelier.mjs generate ...`
// in a child process against a started server with the bundled sandbox.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyPng } from '../../test/fixtures/images.ts';
import { sniff } from '../../test/fixtures/runs.ts';
import { startTestServer, type TestServer } from '../../test/harness.ts';
import { REPO_ROOT } from '../db/paths.ts';

const BIN = path.join(REPO_ROOT, 'packages/server/bin/atelier.mjs');

let server: TestServer;
let tmp: string;

beforeAll(async () => {
  server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '5' });
  tmp = await mkdtemp(path.join(tmpdir(), 'atelier-cli-'));
});
afterAll(async () => {
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Runs the CLI to its end; never throws on a non-zero exit. */
function atelier(args: string[], timeoutMs = 30_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: tmp,
      env: { ...process.env, ATELIER_URL: server.url },
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
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const SMALL = ['--param', 'steps=2', '--param', 'width=256', '--param', 'height=256'];

describe('atelier generate', () => {
  it('Ctrl-C cancels the run on the server and exits non-zero with CANCELED', async () => {
    server.app.sandbox!.hangNextPrompt({ afterSteps: 1 });
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
      expect(stderr).toMatch(/CANCELED/);
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
    ]);
    expect(result.stderr).not.toMatch(/REQUEST_FAILED|Error/);
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

  it('a bad model exits non-zero with the error code and field', async () => {
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
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^VALIDATION_FAILED \(model\): .*nope/m);
    expect(result.stdout).toBe('');
  });

  it('a bad command line exits 2 with the usage', async () => {
    const result = await atelier([
      'generate',
      '--mode',
      'SIDEWAYS',
      '--model',
      'm',
      '--prompt',
      'x',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Unknown mode "SIDEWAYS"/);
    expect(result.stderr).toContain('Usage: atelier generate');
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
});
