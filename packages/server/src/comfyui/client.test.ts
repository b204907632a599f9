// Protocol tests of ComfyClient against the sandbox: routing by prompt id, previews from
// event 4 and event 1 frames, completion from the socket when it saw the whole prompt and
// through history when it did not (also while the history still answers `{}`), cached
// re-runs, uploads, output classification and error mapping.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { ExecutionError } from '../queue/executor.ts';
import { ComfyClient, type ComfyClientOptions } from './client.ts';
import {
  catalogJob,
  EventLog,
  jobFor,
  minimalGraph,
  png,
  startWorker,
  stopSandboxes,
  until,
} from './comfyui.fixtures.ts';

const clients: ComfyClient[] = [];

async function connect(url: string, options: Partial<ComfyClientOptions> = {}) {
  const client = new ComfyClient({ url, ...options });
  clients.push(client);
  await client.start();
  expect(client.connected).toBe(true);
  return client;
}

const never = () => new AbortController().signal;

function rejection(p: Promise<unknown>): Promise<ExecutionError> {
  return p.then(
    () => {
      throw new Error('expected the run to fail');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(ExecutionError);
      return e as ExecutionError;
    },
  );
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});
afterAll(stopSandboxes);

describe('a run on one worker', () => {
  test('an output is downloaded as soon as its node reports it; a socket that saw the whole prompt is its outcome, no history asked', async () => {
    const sandbox = await startWorker();
    const asked: string[] = [];
    const client = await connect(sandbox.url, {
      fetch: (input, init) => {
        const url = new URL(String(input instanceof Request ? input.url : input));
        if (url.pathname === '/view' || url.pathname.startsWith('/history/')) {
          asked.push(
            url.pathname === '/view' ? `view ${url.searchParams.get('filename')}` : 'history',
          );
        }
        return fetch(input, init);
      },
    });
    const job = await jobFor(minimalGraph('test/early'));
    const { outputs } = await client.run(job, () => {}, never());
    expect(outputs.map((o) => o.filename)).toEqual(['early_00001_.png']);
    // The file once; `execution_success` on a socket that had every message of the prompt
    // says what its history would (the outputs its `executed` messages named).
    expect(asked).toEqual(['view early_00001_.png']);
  });

  test('the §8.2 workflow: our UUID is the prompt id, events in order, the PNG downloaded', async () => {
    const sandbox = await startWorker();
    const client = await connect(sandbox.url);
    const log = new EventLog();
    const job = await jobFor(minimalGraph('test/inv'));
    const { outputs } = await client.run(job, log.push, never());

    const entry = sandbox.stats().log.at(-1);
    expect(entry?.promptId).toBe(job.attemptId);
    expect(entry?.clientId).toBe(client.clientId);
    expect(log.events.slice(0, 2).map((e) => e.type)).toEqual(['submitted', 'started']);
    const progress = log.of('progress');
    expect(progress.map((p) => `${p.nodeId}:${p.nodeType}`)).toEqual(
      expect.arrayContaining(['1:EmptyImage', '2:ImageInvert', '3:ImageBlur', '4:SaveImage']),
    );
    const overall = progress.map((p) => p.overall);
    expect(overall).toEqual([...overall].sort((a, b) => a - b));
    expect(overall.at(-1)).toBe(1);

    expect(outputs).toHaveLength(1);
    const [out] = outputs;
    expect(out).toMatchObject({
      nodeId: '4',
      filename: 'inv_00001_.png',
      subfolder: 'test',
      type: 'output',
      kind: 'IMAGE',
      mimeType: 'image/png',
    });
    expect(out?.data.subarray(0, 4).toString('hex')).toBe('89504e47');
  });

  test('sampler progress is step-weighted and previews come decoded from event-4 frames', async () => {
    const sandbox = await startWorker();
    const client = await connect(sandbox.url);
    const log = new EventLog();
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 3 });
    const { outputs } = await client.run(job, log.push, never());

    const steps = log.of('progress').filter((p) => p.step !== null);
    expect(steps.map((p) => [p.nodeId, p.nodeType, p.step, p.maxSteps])).toEqual([
      ['6', 'KSampler', 1, 3],
      ['6', 'KSampler', 2, 3],
      ['6', 'KSampler', 3, 3],
    ]);
    // 7 plain nodes + a 3-step sampler: each step is a tenth of the run.
    expect(steps[1]!.overall - steps[0]!.overall).toBeCloseTo(0.1, 5);
    const previews = log.of('preview');
    expect(previews).toHaveLength(3);
    for (const p of previews) {
      expect(p.nodeId).toBe('6');
      expect(p.mimeType).toBe('image/jpeg');
      expect(p.data.subarray(0, 3).toString('hex')).toBe('ffd8ff');
    }
    expect(outputs.map((o) => o.kind)).toEqual(['IMAGE']);
  });

  test('without preview metadata, event-1 frames go to our executing prompt only', async () => {
    const sandbox = await startWorker({ stepDelayMs: 15 });
    const client = await connect(sandbox.url, { previewMetadata: false });

    // A prompt without client_id: ComfyUI broadcasts its progress and event-1 previews to
    // every socket, ours included. It runs first; ours waits behind it.
    const foreign = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 7, seed: 9 });
    const posted = await client.http.submit({
      prompt: foreign.graph,
      prompt_id: foreign.attemptId,
      extra_data: { preview_method: 'auto' },
    });
    expect(posted.status).toBe(200);

    const log = new EventLog();
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 3, seed: 2 });
    await client.run(job, log.push, never());

    const order = sandbox.stats().log.map((e) => e.promptId);
    expect(order).toEqual([foreign.attemptId, job.attemptId]);
    expect(log.of('progress').filter((p) => p.maxSteps !== null && p.maxSteps !== 3)).toEqual([]);
    const previews = log.of('preview');
    expect(previews).toHaveLength(3);
    for (const p of previews) {
      expect(p.nodeId).toBe('6');
      expect(p.data.subarray(0, 3).toString('hex')).toBe('ffd8ff');
    }
  });

  test('events of a prompt from another client id never reach our run', async () => {
    const sandbox = await startWorker({ stepDelayMs: 10 });
    const ours = await connect(sandbox.url);
    const other = await connect(sandbox.url);
    const otherLog = new EventLog();
    const otherJob = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 6, seed: 4 });
    const log = new EventLog();
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 2, seed: 5 });
    const [a, b] = await Promise.all([
      other.run(otherJob, otherLog.push, never()),
      ours.run(job, log.push, never()),
    ]);
    expect(a.outputs).toHaveLength(1);
    expect(b.outputs).toHaveLength(1);
    expect(log.of('progress').filter((p) => p.maxSteps === 6)).toEqual([]);
    expect(log.of('preview')).toHaveLength(2);
    expect(otherLog.of('preview')).toHaveLength(6);
  });

  test('a cached re-run completes with the cached outputs', async () => {
    const sandbox = await startWorker();
    const client = await connect(sandbox.url);
    const graph = minimalGraph('test/cached', 0x00ff00);
    const first = await client.run(await jobFor(graph), () => {}, never());
    const log = new EventLog();
    const second = await client.run(await jobFor(graph), log.push, never());

    const entry = sandbox.stats().log.at(-1);
    expect(entry?.cached.sort()).toEqual(['1', '2', '3', '4']);
    expect(entry?.executed).toEqual([]);
    expect(second.outputs.map((o) => o.filename)).toEqual(first.outputs.map((o) => o.filename));
    expect(second.outputs[0]?.data.equals(first.outputs[0]!.data)).toBe(true);
    expect(log.of('progress').at(-1)?.overall).toBe(1);
  });

  test('a cached output node the socket did not name (ComfyUI before its 2024 execution rewrite): the history decides, every output kept', async () => {
    const sandbox = await startWorker({ resendCachedUi: false });
    let historyCalls = 0;
    const client = await connect(sandbox.url, {
      fetch: (input, init) => {
        const url = new URL(String(input instanceof Request ? input.url : input));
        if (url.pathname.startsWith('/history/')) historyCalls++;
        return fetch(input, init);
      },
    });
    // Two output nodes of one image; the second run renames only the second's files, so the
    // first is served from cache and sends nothing on the socket.
    const twoOutputs = (second: string) => ({
      ...minimalGraph('test/keep', 0x0000ff),
      '5': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: second } },
    });
    const first = await client.run(await jobFor(twoOutputs('test/a')), () => {}, never());
    expect(first.outputs.map((o) => o.filename).sort()).toEqual([
      'a_00001_.png',
      'keep_00001_.png',
    ]);
    const callsBefore = historyCalls;
    const second = await client.run(await jobFor(twoOutputs('test/b')), () => {}, never());

    const entry = sandbox.stats().log.at(-1);
    expect(entry?.cached).toContain('4');
    expect(entry?.executed).toEqual(['5']);
    // The socket named node 5 only; node 4's file is in the history alone.
    expect(historyCalls).toBeGreaterThan(callsBefore);
    expect(second.outputs.map((o) => o.filename).sort()).toEqual([
      'b_00001_.png',
      'keep_00001_.png',
    ]);
  });

  test('after a reconnect during the prompt, its history decides, asked again while it answers `{}`', async () => {
    const sandbox = await startWorker({ stepDelayMs: 25 });
    let historyCalls = 0;
    let emptied = 0;
    let attemptId = '';
    // The prompt has ended on the worker (its log entry has an outcome).
    const ended = () => sandbox.stats().log.some((e) => e.promptId === attemptId);
    const client = await connect(sandbox.url, {
      reconnectMinMs: 20,
      fetch: async (input, init) => {
        const url = new URL(String(input instanceof Request ? input.url : input));
        if (url.pathname.startsWith('/history/') && ended()) {
          historyCalls++;
          // What ComfyUI answers until the history entry is written.
          if (emptied < 3) {
            emptied++;
            return new Response('{}', { headers: { 'content-type': 'application/json' } });
          }
        }
        return fetch(input, init);
      },
    });
    // The socket drops after two steps: messages sent meanwhile are lost to this client.
    sandbox.dropSocketsNextPrompt({ afterSteps: 2 });
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 6 });
    attemptId = job.attemptId;
    const { outputs } = await client.run(job, () => {}, never());
    expect(emptied).toBe(3);
    expect(historyCalls).toBeGreaterThanOrEqual(4);
    expect(outputs).toHaveLength(1);
  });
});

describe('inputs', () => {
  test('uploaded once per content hash per worker under a hash-derived name, again after a restart', async () => {
    const sandbox = await startWorker();
    const client = await connect(sandbox.url, { reconnectMinMs: 20 });
    const source = await png(96, 64);
    const first = await catalogJob('sd3.5-large', 'IMAGE_TO_IMAGE', { steps: 1, source });
    await client.run(first, () => {}, never());
    const second = await catalogJob('sd3.5-large', 'IMAGE_TO_IMAGE', { steps: 1, source, seed: 3 });
    await client.run(second, () => {}, never());

    expect(client.uploadCount).toBe(1);
    const image = first.images[0]!;
    const name = ComfyClient.uploadName(image);
    expect(name).toBe(`atelier-${image.sha256.slice(0, 40)}.png`);
    expect(existsSync(path.join(sandbox.dirs.input, name))).toBe(true);

    const restarted = new Promise<void>((resolve) =>
      client.on((e) => e.type === 'restarted' && resolve()),
    );
    await sandbox.restart();
    await restarted;
    await until(() => client.connected, 'the client to reconnect');
    const third = await catalogJob('sd3.5-large', 'IMAGE_TO_IMAGE', { steps: 1, source, seed: 4 });
    await client.run(third, () => {}, never());
    expect(client.uploadCount).toBe(2);
  });

  test('a LoadImage validation error (upload gone) re-uploads and resubmits once', async () => {
    const sandbox = await startWorker();
    const client = await connect(sandbox.url);
    const source = await png(64, 64, { r: 200, g: 10, b: 10 });
    const job = await catalogJob('sd3.5-large', 'IMAGE_TO_IMAGE', { steps: 1, source });
    await client.run(job, () => {}, never());
    // The worker loses its input folder without restarting (nothing tells the client).
    const { rm } = await import('node:fs/promises');
    await rm(path.join(sandbox.dirs.input, ComfyClient.uploadName(job.images[0]!)));

    const again = await catalogJob('sd3.5-large', 'IMAGE_TO_IMAGE', { steps: 1, source, seed: 8 });
    const { outputs } = await client.run(again, () => {}, never());
    expect(outputs).toHaveLength(1);
    expect(client.uploadCount).toBe(2);
  });
});

describe('outputs', () => {
  test('a video reported under `images` with `animated` is a VIDEO, audio is AUDIO', async () => {
    const sandbox = await startWorker();
    const client = await connect(sandbox.url);
    const video = await client.run(
      await catalogJob('ltx-video', 'TEXT_TO_VIDEO', { steps: 1 }),
      () => {},
      never(),
    );
    expect(video.outputs).toHaveLength(1);
    expect(video.outputs[0]).toMatchObject({ kind: 'VIDEO', mimeType: 'video/mp4' });
    expect(video.outputs[0]!.data.subarray(4, 8).toString('latin1')).toBe('ftyp');

    const audio = await client.run(
      await catalogJob('ace-step-v1-3.5b', 'TEXT_TO_AUDIO', { steps: 1 }),
      () => {},
      never(),
    );
    expect(audio.outputs).toHaveLength(1);
    expect(audio.outputs[0]?.kind).toBe('AUDIO');
    expect(audio.outputs[0]?.mimeType).toMatch(/^audio\//);
  });
});

describe('errors', () => {
  test('a node exception → NODE_ERROR naming the node id and class', async () => {
    const sandbox = await startWorker();
    const client = await connect(sandbox.url);
    sandbox.failNode({ kind: 'error', classType: 'ImageBlur', message: 'blur exploded' });
    const e = await rejection(client.run(await jobFor(minimalGraph()), () => {}, never()));
    expect(e.code).toBe('NODE_ERROR');
    expect(e.details).toMatchObject({ nodeId: '3', nodeType: 'ImageBlur', worker: sandbox.url });
    expect(e.message).toContain('blur exploded');
  });

  test('a CUDA out-of-memory → OUT_OF_MEMORY', async () => {
    const sandbox = await startWorker();
    const client = await connect(sandbox.url);
    sandbox.failNode({ kind: 'oom', classType: 'KSampler', atStep: 2 });
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 3 });
    const e = await rejection(client.run(job, () => {}, never()));
    expect(e.code).toBe('OUT_OF_MEMORY');
    expect(e.details).toMatchObject({ nodeId: '6', nodeType: 'KSampler' });
  });

  test('HTTP 400 from /prompt → INVALID_WORKFLOW with the node errors summarised', async () => {
    const sandbox = await startWorker();
    const client = await connect(sandbox.url);
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 1 });
    job.graph['1']!.inputs.ckpt_name = 'nope.safetensors';
    const e = await rejection(client.run(job, () => {}, never()));
    expect(e.code).toBe('INVALID_WORKFLOW');
    expect(e.details).toMatchObject({ nodeId: '1', nodeType: 'CheckpointLoaderSimple' });
    expect(e.message).toMatch(/node 1 \(CheckpointLoaderSimple\).*ckpt_name/);
    expect(sandbox.stats().log).toEqual([]);
  });
});

describe('cancel by prompt id', () => {
  for (const jobsApi of [true, false]) {
    const how = jobsApi ? 'jobs API' : 'queue delete / targeted /interrupt';
    test(`a queued prompt, then the running one (${how}) → CANCELED, nothing else touched`, async () => {
      const sandbox = await startWorker({ stepDelayMs: 30 });
      const client = await connect(sandbox.url, { jobsApi });
      expect(client.jobsApi).toBe(jobsApi);
      const runningLog = new EventLog();
      const queuedLog = new EventLog();
      const stopRunning = new AbortController();
      const stopQueued = new AbortController();
      const a = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 50, seed: 1 });
      const b = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 2, seed: 2 });
      const runA = rejection(client.run(a, runningLog.push, stopRunning.signal));
      await runningLog.waitFor((e) => e.type === 'progress' && e.step === 1);
      const runB = rejection(client.run(b, queuedLog.push, stopQueued.signal));
      await queuedLog.waitFor((e) => e.type === 'submitted');

      stopQueued.abort();
      expect((await runB).code).toBe('CANCELED');
      expect((await client.locate(b.attemptId)).state).toBe('unknown');
      expect((await client.locate(a.attemptId)).state).toBe('running');

      stopRunning.abort();
      expect((await runA).code).toBe('CANCELED');
      await sandbox.idle();
      expect(sandbox.stats().log.map((e) => [e.promptId, e.outcome])).toEqual([
        [a.attemptId, 'interrupted'],
      ]);
    });
  }
});
