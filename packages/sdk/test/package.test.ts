// The SDK as a third party gets it: `npm pack`, the tarball installed into a fresh project
// outside the workspace (no links to the repository), and there
// - a TypeScript file using it type-checks (and a wrong one does not),
// - a Node script uploads, creates a run with an API key, watches it to RUN_FINISHED and
//   downloads the output from a started server,
// - a browser entry bundled with esbuild runs in Chromium against the same server.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyPng } from '../../server/test/fixtures/images.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';

const exec = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let project: string;
let server: TestServer;
let apiKey: string;
let page: Server;
let pageOrigin = '';
const bundle: { js: string } = { js: '' };

const CONSUMER_TS = `
import {
  createAtelierClient,
  createRun,
  type CreateRunInput,
  type RunEvent,
  verifyWebhook,
  watchRun,
} from '@atelier/sdk';

export async function run(url: string, apiKey: string): Promise<string> {
  const client = createAtelierClient({ url, apiKey });
  const input: CreateRunInput = { mode: 'TEXT_TO_IMAGE', model: 'flux1-dev', prompt: 'a fox' };
  const result = await createRun(client, input);
  if (result.__typename !== 'CreateRunSuccess') return result.message;
  const events: RunEvent[] = [];
  for await (const event of watchRun(client, result.run.id)) events.push(event);
  verifyWebhook('whsec_c2VjcmV0', {}, '{}');
  return result.run.status;
}
`;

const WRONG_TS = `
import { createAtelierClient, createRun } from '@atelier/sdk';
const client = createAtelierClient({ url: 'http://x' });
await createRun(client, { mode: 'NOPE', model: 'm', prompt: 'p' });
`;

const NODE_SCRIPT = `
import { createAtelierClient, createRun, uploadMedia, watchRun } from '@atelier/sdk';
import { readFile } from 'node:fs/promises';
const [url, apiKey, image] = process.argv.slice(2);
const client = createAtelierClient({ url, apiKey });
const uploaded = await uploadMedia(client, new Uint8Array(await readFile(image)), { filename: 'in.png' });
if (uploaded.__typename !== 'UploadMediaSuccess') throw new Error(JSON.stringify(uploaded));
const created = await createRun(client, {
  mode: 'IMAGE_TO_IMAGE', model: 'flux1-dev', prompt: 'a fox in the snow',
  source: uploaded.media.id, parameters: { steps: 2, megapixels: 0.25 },
});
if (created.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
const types = [];
let last;
for await (const event of watchRun(client, created.run.id)) { types.push(event.type); last = event; }
const output = last.run.outputs[0];
const file = await fetch(output.url);
const bytes = (await file.arrayBuffer()).byteLength;
client.close();
console.log(JSON.stringify({ status: last.run.status, types, bytes, mimeType: output.mimeType }));
`;

const BROWSER_ENTRY = `
import { createAtelierClient, createRun, watchRun } from '@atelier/sdk';
const params = new URLSearchParams(location.search);
const client = createAtelierClient({ url: params.get('url'), apiKey: params.get('key') });
(async () => {
  const created = await createRun(client, {
    mode: 'TEXT_TO_IMAGE', model: 'flux1-dev', prompt: 'a fox from the browser',
    // 40 steps of 5 ms: still running when the socket subscribes (a run already finished
    // ends its subscription with a SNAPSHOT, not RUN_FINISHED).
    parameters: { steps: 40, width: 256, height: 256 },
  });
  if (created.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
  const types = [];
  let last;
  for await (const event of watchRun(client, created.run.id)) { types.push(event.type); last = event; }
  window.__result = { status: last.run.status, types, outputs: last.run.outputs.length };
})().catch((error) => { window.__result = { error: String(error) }; });
`;

describe('@atelier/sdk packed and installed outside the workspace', () => {
  beforeAll(async () => {
    project = await mkdtemp(path.join(tmpdir(), 'atelier-sdk-consumer-'));
    const { stdout } = await exec(
      'npm',
      ['pack', '-w', '@atelier/sdk', '--pack-destination', project, '--json'],
      { cwd: REPO, maxBuffer: 10_000_000 },
    );
    const tarball = path.join(project, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    const wsVersion = JSON.parse(
      await readFile(path.join(REPO, 'node_modules/ws/package.json'), 'utf8'),
    ).version as string;
    await writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({
        name: 'sdk-consumer',
        private: true,
        type: 'module',
        dependencies: { '@atelier/sdk': `file:${tarball}`, graphql: '16.15.0', ws: wsVersion },
      }),
    );
    await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: project,
      maxBuffer: 10_000_000,
    });

    // The page the browser test loads, on its own origin (CORS allowed for it below).
    page = createServer((req, res) => {
      if (req.url?.startsWith('/app.js')) {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.js);
        return;
      }
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<!doctype html><html><body><script type="module" src="/app.js"></script></body></html>',
        );
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    server = await startTestServer({
      AUTH_MODE: 'keys',
      CORS_ORIGINS: pageOrigin,
      SANDBOX_STEP_DELAY_MS: '5',
    });
    apiKey = (await server.createKey({ account: 'third-party', credits: 1000 })).key;
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await new Promise<void>((resolve) => (page ? page.close(() => resolve()) : resolve()));
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('installs as files of its own: built dist, no source, no link to the repository', async () => {
    const installed = path.join(project, 'node_modules/@atelier/sdk');
    expect((await lstat(installed)).isSymbolicLink()).toBe(false);
    expect((await realpath(installed)).startsWith(REPO)).toBe(false);
    expect(existsSync(path.join(installed, 'dist/index.js'))).toBe(true);
    expect(existsSync(path.join(installed, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(path.join(installed, 'src'))).toBe(false);
    const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8'));
    expect(manifest.sideEffects).toBe(false);
    expect(manifest.exports['.'].types).toBe('./dist/index.d.ts');
  });

  it('type-checks a TypeScript file that uses it; a wrong input fails to compile', async () => {
    await writeFile(path.join(project, 'consumer.ts'), CONSUMER_TS);
    await writeFile(path.join(project, 'wrong.ts'), WRONG_TS);
    const tsconfig = (files: string[]) =>
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files,
      });
    const tsc = path.join(REPO, 'node_modules/typescript/bin/tsc');
    await writeFile(path.join(project, 'tsconfig.json'), tsconfig(['consumer.ts']));
    await exec(process.execPath, [tsc, '-p', project], { cwd: project });
    await writeFile(path.join(project, 'tsconfig.wrong.json'), tsconfig(['wrong.ts']));
    const wrong = await exec(
      process.execPath,
      [tsc, '-p', path.join(project, 'tsconfig.wrong.json')],
      {
        cwd: project,
      },
    ).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    expect(wrong).toMatch(/wrong\.ts.*error TS2322.*"NOPE"/s);
  }, 60_000);

  it('a Node script uploads, creates a run with an API key, watches it to RUN_FINISHED and downloads the output', async () => {
    const image = path.join(project, 'in.png');
    await writeFile(image, await noisyPng(320, 240));
    await writeFile(path.join(project, 'script.mjs'), NODE_SCRIPT);
    const { stdout } = await exec(process.execPath, ['script.mjs', server.url, apiKey, image], {
      cwd: project,
      env: { PATH: process.env.PATH ?? '' },
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.types[0]).toBe('SNAPSHOT');
    expect(result.types.at(-1)).toBe('RUN_FINISHED');
    expect(result.types).toContain('OUTPUT');
    expect(result.bytes).toBeGreaterThan(1000);
    expect(result.mimeType).toBe('image/png');
  }, 60_000);

  it.skipIf(!existsSync(CHROMIUM))(
    'a browser bundle (esbuild) runs in Chromium against the server',
    async () => {
      await writeFile(path.join(project, 'browser.js'), BROWSER_ENTRY);
      const out = await build({
        entryPoints: [path.join(project, 'browser.js')],
        absWorkingDir: project,
        bundle: true,
        format: 'esm',
        platform: 'browser',
        minify: true,
        write: false,
        logLevel: 'silent',
      });
      bundle.js = out.outputFiles[0]!.text;
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
        ],
      });
      try {
        const tab = await browser.newPage();
        const errors: string[] = [];
        tab.on('pageerror', (error) => errors.push(error.message));
        await tab.goto(
          `${pageOrigin}/?url=${encodeURIComponent(server.url)}&key=${encodeURIComponent(apiKey)}`,
        );
        await tab.waitForFunction(() => (window as { __result?: unknown }).__result, undefined, {
          timeout: 30_000,
        });
        const result = await tab.evaluate(() => (window as { __result?: unknown }).__result);
        expect(errors).toEqual([]);
        expect(result).toMatchObject({ status: 'SUCCEEDED', outputs: 1 });
        expect((result as { types: string[] }).types.at(-1)).toBe('RUN_FINISHED');
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
