// The SDK against a real started server with the bundled ComfyUI sandbox: uploads, runs in
// three modes watched live, waitForRun's timeout and abort, typed refusals, request errors,
// and a subscription that survives its socket being cut.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyPng } from '../../server/test/fixtures/images.ts';
import { holdQueue, sniff, until } from '../../server/test/fixtures/runs.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import {
  type AtelierClient,
  AtelierRequestError,
  type CreateRunInput,
  createAtelierClient,
  createRun,
  deleteMedia,
  type GenerationMode,
  gallery,
  getRun,
  listModels,
  listStyles,
  type Run,
  type RunEvent,
  RunTimeoutError,
  uploadMedia,
  waitForRun,
  watchRun,
} from '../src/index.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

let server: TestServer;
let client: AtelierClient;
let tmp: string;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '5' });
  client = createAtelierClient({ url: server.url });
  tmp = await mkdtemp(path.join(tmpdir(), 'atelier-sdk-'));
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  client?.close();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A client whose every connection goes through a TCP proxy that the test can cut. */
async function proxiedClient(): Promise<{ proxy: TcpProxy; client: AtelierClient }> {
  const proxy = await startTcpProxy(server.url);
  const proxied = createAtelierClient({
    url: proxy.url,
    retryAttempts: 3,
    retryWait: async () => {},
  });
  cleanups.push(
    () => proxy.close(),
    () => proxied.close(),
  );
  return { proxy, client: proxied };
}

async function createOk(input: CreateRunInput): Promise<Run> {
  const result = await createRun(client, input);
  if (result.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result));
  return result.run;
}

async function uploadOk(bytes: Uint8Array, filename = 'source.png') {
  const result = await uploadMedia(client, bytes, { filename });
  if (result.__typename !== 'UploadMediaSuccess') throw new Error(JSON.stringify(result));
  return result.media;
}

describe('uploadMedia', () => {
  it('uploads a Buffer and returns the stored media', async () => {
    const png = await noisyPng(120, 80);
    const result = await uploadMedia(client, png, { filename: 'buffer.png' });
    expect(result.__typename).toBe('UploadMediaSuccess');
    if (result.__typename !== 'UploadMediaSuccess') return;
    expect(result.media).toMatchObject({
      kind: 'IMAGE',
      purpose: 'SOURCE',
      mimeType: 'image/png',
      width: 120,
      height: 80,
      originalName: 'buffer.png',
    });
    const res = await fetch(result.media.url);
    expect(sniff(Buffer.from(await res.arrayBuffer()))).toBe('png');
  });

  it('uploads a file path (Node) with its base name, as a REFERENCE', async () => {
    const file = path.join(tmp, 'from-disk.png');
    await writeFile(file, await noisyPng(64, 96));
    const result = await uploadMedia(client, file, { purpose: 'REFERENCE' });
    if (result.__typename !== 'UploadMediaSuccess') throw new Error(JSON.stringify(result));
    expect(result.media).toMatchObject({
      purpose: 'REFERENCE',
      originalName: 'from-disk.png',
      width: 64,
      height: 96,
    });
    const page = await gallery(client, { first: 10, kind: 'IMAGE' });
    expect(page.edges.map((e) => e.node.id)).toContain(result.media.id);
    const deleted = await deleteMedia(client, result.media.id);
    expect(deleted.__typename).toBe('DeleteSuccess');
  });

  it('returns a refusal as a typed result instead of throwing', async () => {
    const result = await uploadMedia(client, new TextEncoder().encode('not an image'));
    expect(result.__typename).toBe('InvalidMediaError');
    if (result.__typename === 'InvalidMediaError') expect(result.code).toBe('INVALID_MEDIA');
  });
});

describe('catalog', () => {
  it('lists models per mode and styles', async () => {
    const audio = await listModels(client, { mode: 'TEXT_TO_AUDIO' });
    expect(audio.map((m) => m.key)).toEqual(['ace-step-v1-3.5b']);
    expect(audio[0]!.outputKind).toBe('AUDIO');
    const all = await listModels(client);
    expect(all.length).toBeGreaterThan(audio.length);
    const styles = await listStyles(client);
    expect(styles.map((s) => s.key)).toContain('watercolor');
  });
});

describe('runs', () => {
  /** Creates a held run, takes the SNAPSHOT, releases the queue, collects the rest. */
  async function watchHeldRun(input: CreateRunInput): Promise<RunEvent[]> {
    const hold = await holdQueue(server);
    let released = false;
    try {
      const run = await createOk(input);
      expect(run.status).toBe('QUEUED');
      const iterator = watchRun(client, run.id)[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done).toBe(false);
      const events: RunEvent[] = [first.value as RunEvent];
      hold.release();
      released = true;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        events.push(next.value);
      }
      return events;
    } finally {
      if (!released) hold.release();
    }
  }

  function checkEvents(events: RunEvent[], kind: 'IMAGE' | 'AUDIO') {
    expect(events[0]!.type).toBe('SNAPSHOT');
    expect(events[0]!.run.status).toBe('QUEUED');
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.sequence).toBeGreaterThan(events[i - 1]!.sequence);
    }
    expect(events.filter((e) => e.type === 'SNAPSHOT')).toHaveLength(1);
    expect(events.some((e) => e.type === 'STAGE_STARTED')).toBe(true);
    const last = events.at(-1)!;
    expect(last.type).toBe('RUN_FINISHED');
    expect(last.run.status).toBe('SUCCEEDED');
    expect(last.run.outputs.length).toBeGreaterThan(0);
    for (const output of last.run.outputs) expect(output.kind).toBe(kind);
    return last.run;
  }

  const modes: {
    mode: GenerationMode;
    kind: 'IMAGE' | 'AUDIO';
    input: () => Promise<Omit<CreateRunInput, 'mode' | 'prompt'>>;
  }[] = [
    {
      mode: 'TEXT_TO_IMAGE',
      kind: 'IMAGE',
      input: async () => ({
        model: 'flux1-dev',
        parameters: { steps: 2, width: 256, height: 256 },
      }),
    },
    {
      mode: 'IMAGE_TO_IMAGE',
      kind: 'IMAGE',
      input: async () => ({
        model: 'flux1-dev',
        source: (await uploadOk(await noisyPng(200, 160))).id,
        parameters: { steps: 2, megapixels: 0.25 },
      }),
    },
    {
      mode: 'TEXT_TO_AUDIO',
      kind: 'AUDIO',
      input: async () => ({ model: 'ace-step-v1-3.5b', parameters: { steps: 10, duration: 5 } }),
    },
  ];

  it.each(modes)(
    '$mode: watchRun yields SNAPSHOT first and ends with RUN_FINISHED',
    async ({ mode, kind, input }) => {
      const events = await watchHeldRun({
        mode,
        prompt: `a harbour (${mode})`,
        ...(await input()),
      });
      const run = checkEvents(events, kind);
      const res = await fetch(run.outputs[0]!.url);
      expect(res.headers.get('content-type')).toBe(run.outputs[0]!.mimeType);
      // A finished run: only its SNAPSHOT, then the iterator ends.
      const again: RunEvent[] = [];
      for await (const event of watchRun(client, run.id)) again.push(event);
      expect(again.map((e) => [e.type, e.run.status])).toEqual([['SNAPSHOT', 'SUCCEEDED']]);
      expect((await getRun(client, run.id))?.status).toBe('SUCCEEDED');
    },
  );

  it('waitForRun returns the finished run', async () => {
    const run = await createOk({
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'a lantern',
      parameters: { steps: 2, width: 256, height: 256 },
    });
    const finished = await waitForRun(client, run.id, { timeoutMs: 30_000 });
    expect(finished.id).toBe(run.id);
    expect(finished.status).toBe('SUCCEEDED');
    expect(finished.outputs).toHaveLength(1);
  });

  describe('on a hung worker', () => {
    let hung: Run;
    beforeAll(async () => {
      server.app.sandbox!.hangNextPrompt({ afterSteps: 0 });
      hung = await createOk({
        mode: 'TEXT_TO_IMAGE',
        model: 'flux1-dev',
        prompt: 'a clock that stopped',
        parameters: { steps: 2, width: 256, height: 256 },
      });
    });
    afterAll(async () => {
      server.app.sandbox!.releaseHang();
      await waitForRun(client, hung.id, { timeoutMs: 30_000 });
    });

    it('waitForRun rejects with RunTimeoutError and unsubscribes', async () => {
      const { proxy, client: proxied } = await proxiedClient();
      const waiting = waitForRun(proxied, hung.id, { timeoutMs: 1_000 }).catch((e) => e);
      // It subscribed: the server sent the run's SNAPSHOT (through the proxy).
      await until(
        async () => proxy.connections.some((c) => c.fromServer.includes('SNAPSHOT')),
        'the SNAPSHOT',
        5_000,
      );
      const error = await waiting;
      expect(error).toBeInstanceOf(RunTimeoutError);
      expect(error).toMatchObject({ runId: hung.id, timeoutMs: 1_000 });
      // The subscription is gone, so graphql-ws closes its now idle lazy socket.
      await until(async () => proxy.openWebSockets().length === 0, 'the socket to close', 5_000);
    });

    it('waitForRun rejects with the abort reason and unsubscribes', async () => {
      const { proxy, client: proxied } = await proxiedClient();
      const controller = new AbortController();
      let settled = false;
      const waiting = waitForRun(proxied, hung.id, { signal: controller.signal }).finally(() => {
        settled = true;
      });
      await until(
        async () => proxy.connections.some((c) => c.fromServer.includes('SNAPSHOT')),
        'the SNAPSHOT',
        5_000,
      );
      expect(settled).toBe(false);
      const reason = new Error('user went away');
      controller.abort(reason);
      await expect(waiting).rejects.toBe(reason);
      await until(async () => proxy.openWebSockets().length === 0, 'the socket to close', 5_000);
      // An already aborted signal rejects at once.
      await expect(
        waitForRun(proxied, hung.id, { signal: AbortSignal.abort(reason) }),
      ).rejects.toBe(reason);
    });
  });

  it('a subscription survives its socket being cut and still ends with RUN_FINISHED', async () => {
    const { proxy, client: proxied } = await proxiedClient();
    const hold = await holdQueue(server);
    let released = false;
    try {
      const run = await createOk({
        mode: 'TEXT_TO_IMAGE',
        model: 'flux1-dev',
        prompt: 'a bridge in fog',
        parameters: { steps: 3, width: 256, height: 256 },
      });
      const iterator = watchRun(proxied, run.id)[Symbol.asyncIterator]();
      const snapshot = await iterator.next();
      expect(snapshot.value).toMatchObject({ type: 'SNAPSHOT', run: { status: 'QUEUED' } });
      const [first] = proxy.openWebSockets();
      expect(first).toBeDefined();

      proxy.cut();
      expect(first!.open).toBe(false);
      // graphql-ws reconnects and resubscribes; the server answers with a fresh SNAPSHOT.
      await until(
        async () =>
          proxy.connections.some(
            (c) => c !== first && c.webSocket && c.fromServer.includes('SNAPSHOT'),
          ),
        'a resubscription',
        10_000,
      );
      hold.release();
      released = true;

      const events: RunEvent[] = [snapshot.value as RunEvent];
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        events.push(next.value);
      }
      // The resubscription's SNAPSHOT repeated the last sequence (the run was still held), so
      // it was dropped; everything else arrived in order and ended with RUN_FINISHED.
      expect(events.filter((e) => e.type === 'SNAPSHOT')).toHaveLength(1);
      for (let i = 1; i < events.length; i++) {
        expect(events[i]!.sequence).toBeGreaterThan(events[i - 1]!.sequence);
      }
      expect(events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', run: { status: 'SUCCEEDED' } });
      expect(proxy.connections.filter((c) => c.webSocket).length).toBeGreaterThanOrEqual(2);
    } finally {
      if (!released) hold.release();
    }
  });
});

describe('errors', () => {
  it('a validation failure comes back typed, with its field', async () => {
    const result = await createRun(client, {
      mode: 'TEXT_TO_IMAGE',
      model: 'nope',
      prompt: 'x',
    });
    expect(result.__typename).toBe('ValidationError');
    if (result.__typename !== 'ValidationError') return;
    expect(result.field).toBe('model');
    expect(result.code).toBe('VALIDATION_FAILED');
    expect(result.message).toMatch(/nope/);
  });

  it('a GraphQL error throws AtelierRequestError with the errors attached', async () => {
    const error = await createRun(client, {
      mode: 'SIDEWAYS' as GenerationMode,
      model: 'flux1-dev',
      prompt: 'x',
    }).catch((e) => e);
    expect(error).toBeInstanceOf(AtelierRequestError);
    expect(error.graphQLErrors.length).toBeGreaterThan(0);
    expect(error.graphQLErrors[0].message).toMatch(/SIDEWAYS/);
  });

  it('a transport failure throws AtelierRequestError with the network error', async () => {
    const proxy = await startTcpProxy(server.url);
    const url = proxy.url;
    await proxy.close();
    const offline = createAtelierClient({ url, retryAttempts: 0 });
    cleanups.push(() => offline.close());
    const error = await listStyles(offline).catch((e) => e);
    expect(error).toBeInstanceOf(AtelierRequestError);
    expect(error.networkError).toBeTruthy();
    const watching = await (async () => {
      for await (const _ of watchRun(offline, 'UnVuOng=')) return 'event';
      return 'ended';
    })().catch((e) => e);
    expect(watching).toBeInstanceOf(AtelierRequestError);
  });
});
