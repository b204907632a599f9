// The CLI as a third party gets it: `npm pack` (which builds dist/), the tarball installed into
// a fresh project outside the workspace, and its `atelier` bin run there against a started
// server: the bundle needs nothing from the repository, and on Node 20 (no global WebSocket)
// `generate` finds `ws` through the package's own dependency.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniff } from '../../server/test/fixtures/runs.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';

const exec = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../../..');

let project: string;
let server: TestServer;

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'atelier-cli-consumer-'));
  const { stdout } = await exec(
    'npm',
    ['pack', '-w', '@atelier/cli', '--pack-destination', project, '--json'],
    { cwd: REPO, maxBuffer: 10_000_000 },
  );
  const tarball = path.join(project, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'cli-consumer', private: true, type: 'module' }),
  );
  await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
    cwd: project,
    maxBuffer: 10_000_000,
  });
  server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '5', AUTH_MODE: 'keys' });
});
afterAll(async () => {
  await server?.stop();
  if (project) await rm(project, { recursive: true, force: true });
});

/** Runs the installed `atelier` in the consumer project; resolves on any exit code. */
function installed(args: string[], env: Record<string, string> = {}) {
  return exec(path.join(project, 'node_modules/.bin/atelier'), args, {
    cwd: project,
    env: { ...process.env, ATELIER_URL: server.url, ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('@atelier/cli packed and installed outside the workspace', () => {
  it('ships the bundle and its package files only, depending on ws alone', async () => {
    const manifest = JSON.parse(
      await readFile(path.join(project, 'node_modules/@atelier/cli/package.json'), 'utf8'),
    ) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).toEqual(['ws']);
    const { stdout } = await exec('npm', ['ls', '--all', '--parseable'], { cwd: project });
    const packages = stdout
      .trim()
      .split('\n')
      .map((line) => path.relative(project, line))
      .filter(Boolean)
      .sort();
    expect(packages).toEqual(['node_modules/@atelier/cli', 'node_modules/ws']);
  });

  it('lists models with a key and generates an image over a WebSocket', async () => {
    const { key } = await server.createKey({ account: 'cli-user', credits: 100 });
    const models = await installed(['models', '--json'], { ATELIER_API_KEY: key });
    expect(models.code, models.stderr).toBe(0);
    expect((JSON.parse(models.stdout) as { key: string }[]).map((m) => m.key)).toContain(
      'flux1-dev',
    );
    const out = path.join(project, 'out');
    const generated = await installed(
      [
        'generate',
        '--mode',
        'T2I',
        '--model',
        'flux1-dev',
        '--prompt',
        'a fox',
        '--param',
        'steps=2',
        '--param',
        'width=256',
        '--param',
        'height=256',
        '--out',
        out,
      ],
      { ATELIER_API_KEY: key },
    );
    expect(generated.code, generated.stderr).toBe(0);
    const file = generated.stdout.trim();
    expect(path.dirname(file)).toBe(out);
    expect(sniff(await readFile(file))).toBe('png');
  });

  it('without a key, says the server refused it, in one line', async () => {
    const result = await installed(['styles']);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^atelier styles: the server at .* refused the API key/),
    ]);
  });
});
