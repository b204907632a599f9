// The React hooks in a real browser against a started server: react-hooks.app.ts bundled with
// esbuild (React, urql and the SDK from source) and opened in Chromium. useUpload reports
// progress through XMLHttpRequest; useCreateRun (useMutation) and useRun (useSubscription)
// follow a run to RUN_FINISHED holding at most `keep` events; useQueue receives the queue.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, HAS_CHROMIUM, launchChromium } from '../../playground/test/browser.ts';
import { noisyPng } from '../../server/test/fixtures/images.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import type { HooksProbe } from './react-hooks.app.ts';

/** Same as KEEP in react-hooks.app.ts (not imported: that module renders on import). */
const KEEP = 5;
/** Upload bandwidth while uploading, so a few MB take long enough to report progress. */
const UPLOAD_BYTES_PER_SECOND = 8 * 1024 * 1024;

let server: TestServer;
let page: Server;
let browser: Browser & { errors: string[] };
let image: Buffer;

/**
 * Waits until `probe` is true of `window.hooks` in the page (polls; fails after `timeout`).
 * The probe runs in the page, so it may only use its argument.
 */
/** Waits until `probe(window.hooks, value)` holds in the page (`value` goes in as JSON). */
async function until<T = undefined>(
  probe: (hooks: HooksProbe, value: T) => boolean,
  timeout = 30_000,
  value?: T,
) {
  await browser.page.waitForFunction(
    `window.hooks && (${probe.toString()})(window.hooks, ${JSON.stringify(value ?? null)})`,
    null,
    { timeout, polling: 20 },
  );
}

function hooks(): Promise<HooksProbe> {
  return browser.page.evaluate(() => {
    const { uploadImage, uploadText, createRun, ...data } = window.hooks as HooksProbe;
    return data as HooksProbe;
  });
}

describe.skipIf(!HAS_CHROMIUM)('React hooks in Chromium against a started server', () => {
  beforeAll(async () => {
    const [bundle, png] = await Promise.all([
      build({
        entryPoints: [path.join(import.meta.dirname, 'react-hooks.app.ts')],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        // React's development build checks more (and StrictMode runs reducers twice).
        define: { 'process.env.NODE_ENV': '"development"' },
        write: false,
        logLevel: 'silent',
      }),
      // About 4.5 MB: noise does not compress.
      noisyPng(1500, 1000),
    ]);
    image = png;
    const js = bundle.outputFiles[0]!.text;
    page = createServer((req, res) => {
      if (req.url === '/app.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      } else if (req.url === '/image.png') {
        res.writeHead(200, { 'content-type': 'image/png' }).end(image);
      } else {
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(
            '<!doctype html><html><body><div id="root"></div><script type="module" src="/app.js"></script></body></html>',
          );
      }
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    server = await startTestServer({
      AUTH_MODE: 'keys',
      CORS_ORIGINS: origin,
      SANDBOX_STEP_DELAY_MS: '40',
    });
    const { key } = await server.createKey({ account: 'react-hooks', credits: 1000 });
    browser = await launchChromium();
    await browser.page.goto(
      `${origin}/?url=${encodeURIComponent(server.url)}&key=${encodeURIComponent(key)}`,
    );
    await until((h) => typeof h.uploadImage === 'function', 10_000);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise<void>((resolve) => (page ? page.close(() => resolve()) : resolve()));
  });

  it('useUpload reports progress rising to 1 and ends done with a media id; a refusal ends in error, typed', async () => {
    expect(image.length).toBeGreaterThan(3_000_000);
    const cdp = await browser.context.newCDPSession(browser.page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: UPLOAD_BYTES_PER_SECOND,
    });
    try {
      await browser.page.evaluate(() => window.hooks?.uploadImage());
    } finally {
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      await cdp.detach();
    }
    await until((h) => h.uploads[0]?.status !== 'pending');
    const { uploads, progress } = await hooks();
    expect(uploads[0]).toMatchObject({ status: 'done', name: 'noise.png', progress: 1 });
    expect(uploads[0]!.media?.id).toMatch(/\S/);
    expect(uploads[0]!.media).toMatchObject({ kind: 'IMAGE', width: 1500, height: 1000 });
    // Rendered from 0, rising, to 1, with values in between: the body went out in parts.
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThan(progress[i - 1]!);
    expect(progress.filter((p) => p > 0 && p < 1).length).toBeGreaterThanOrEqual(2);

    // The same XMLHttpRequest path returns the server's typed refusal, like the urql one.
    await browser.page.evaluate(() => window.hooks?.uploadText());
    await until((h) => h.uploads[1]?.status === 'error');
    const refused = (await hooks()).uploads[1]!;
    expect(refused.result?.__typename).toBe('InvalidMediaError');
    expect(refused.errorMessage).toBeTruthy();
    expect(refused.error).toBeUndefined();
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('useCreateRun + useRun follow a run to RUN_FINISHED, SUCCEEDED with outputs, holding at most `keep` events', async () => {
    const first = await browser.page.evaluate(() => window.hooks?.createRun('a fox'));
    expect(first).toMatch(/\S/);
    await until((h) => h.run.finished);
    const done = await hooks();
    expect(done.created).toBe('CreateRunSuccess');
    expect(done.run.run?.id).toBe(first);
    expect(done.run.run?.status).toBe('SUCCEEDED');
    expect(done.run.run?.outputs.length).toBeGreaterThanOrEqual(1);
    expect(done.run.run?.outputs[0]?.mimeType).toBe('image/png');
    expect(done.run.error).toBeUndefined();
    // More events came than are kept (40 steps of 40 ms: progress events and previews at their
    // 10/s and 2/s caps): the last `keep` are held, RUN_FINISHED last. The run lasts long
    // enough for previews after the subscription starts: a preview still waiting when the
    // outputs are ready is superseded by them, not sent.
    expect(done.run.received).toBeGreaterThan(KEEP);
    expect(done.run.events.length).toBeLessThanOrEqual(KEEP);
    expect(done.mostEvents).toBeLessThanOrEqual(KEEP);
    expect(done.run.events.at(-1)?.type).toBe('RUN_FINISHED');
    const sequences = done.run.events.map((e) => e.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(done.run.events.every((e) => e.preview === null)).toBe(true);
    expect(done.run.preview).toMatch(/^data:image\//);

    // Watching another run starts from that run's SNAPSHOT: nothing of the first one carries
    // over (urql hands the reducer the previous run's state when the variables change).
    const second = await browser.page.evaluate(() => window.hooks?.createRun('a hare'));
    expect(second).not.toBe(first);
    // The page shows the new id once it re-rendered: until then it still shows the first run,
    // finished, so wait for the second one by its id.
    await until(
      (h, id) => h.runId === id && h.run.run?.id === id && h.run.finished,
      30_000,
      second,
    );
    const after = await hooks();
    expect(after.run.run?.id).toBe(second);
    expect(after.run.run?.status).toBe('SUCCEEDED');
    expect(after.run.events.every((e) => e.run.id === second)).toBe(true);
    // Counted from its own SNAPSHOT: at most one event per sequence step since then.
    expect(after.run.received).toBeLessThanOrEqual(after.run.sequence + 1);
    expect(after.mixed).toEqual([]);
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('useQueue receives the queue state, with the sandbox worker', async () => {
    await until((h) => h.queue !== null);
    const { queue, queueError } = await hooks();
    expect(queueError).toBeNull();
    expect(queue?.queued).toBeTypeOf('number');
    expect(queue?.running).toBeTypeOf('number');
    expect(queue?.workers.some((w) => w.sandbox && w.healthy)).toBe(true);
    expect(browser.errors).toEqual([]);
  });
});
