// The knobs tests and benchmarks turn: node errors, OOM, HTTP 5xx, dropped sockets, hangs,
// restarts, missing models and node classes, and the /sandbox control routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from './sandbox.ts';
import type { Loose } from './testing.ts';
import { getJson, minimalWorkflow, postJson, txt2img, WsClient } from './testing.ts';

let sb: Sandbox;
const clients: WsClient[] = [];

async function connect(clientId: string): Promise<WsClient> {
  const c = await WsClient.connect(sb.wsUrl(clientId));
  clients.push(c);
  return c;
}

async function submit(body: Record<string, unknown>, url = sb.url): Promise<string> {
  const r = await postJson(`${url}/prompt`, body);
  expect(r.status, r.text).toBe(200);
  return r.json.prompt_id as string;
}

beforeAll(async () => {
  sb = await startSandbox({ log: false });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await sb.stop();
});

describe('node failures', () => {
  it('reports an injected node error like a Python exception', async () => {
    sb.failNode({ kind: 'error', classType: 'KSampler', times: 1, message: 'boom' });
    const c = await connect('node-error');
    const id = await submit({ prompt: txt2img(101, 2, 'node error'), client_id: 'node-error' });
    await c.finished(id);
    const msgs = c.forPrompt(id);
    const types = msgs.map((m) => m.type);
    expect(types).not.toContain('execution_success');
    const err = msgs.find((m) => m.type === 'execution_error')!;
    expect(err.data).toMatchObject({
      prompt_id: id,
      node_id: '3',
      node_type: 'KSampler',
      exception_message: 'boom\n',
      exception_type: 'RuntimeError',
      current_outputs: expect.any(Array),
      timestamp: expect.any(Number),
    });
    expect((err.data.executed as string[]).sort()).toEqual(['4', '5', '6', '7']);
    expect((err.data.traceback as string[])[0]).toMatch(/^ {2}File "/);
    expect((err.data.current_inputs as Record<string, unknown[]>).seed).toEqual([101]);
    expect((err.data.current_inputs as Record<string, unknown[]>).model![0]).toMatch(
      /ModelPatcher/,
    );
    // error, then the status broadcast, then executing null
    const errAt = c.messages.indexOf(err);
    expect(c.messages.slice(errAt + 1).map((m) => m.type)).toEqual(['status', 'executing']);
    const h = (await getJson(`${sb.url}/history/${id}`))[id] as Loose;
    expect(h.status).toMatchObject({ status_str: 'error', completed: false });
    expect(h.status.messages.at(-1)[0]).toBe('execution_error');
    const job = await getJson(`${sb.url}/api/jobs/${id}`);
    expect(job.status).toBe('failed');
    expect((job.execution_error as Loose).node_type).toBe('KSampler');
    // The fault fired once; the next prompt runs.
    const ok = await submit({ prompt: txt2img(102, 2, 'node error'), client_id: 'node-error' });
    await c.finished(ok);
    expect(c.forPrompt(ok).map((m) => m.type)).toContain('execution_success');
  });

  it('raises a torch OOM at a given sampler step', async () => {
    sb.failNode({ kind: 'oom', classType: 'KSampler', atStep: 2, times: 1 });
    const c = await connect('oom');
    const id = await submit({ prompt: txt2img(111, 4, 'oom'), client_id: 'oom' });
    await c.finished(id);
    const progress = c.forPrompt(id).filter((m) => m.type === 'progress');
    expect(progress.map((m) => m.data.value)).toEqual([1]);
    const err = c.forPrompt(id).find((m) => m.type === 'execution_error')!;
    expect(err.data.exception_type).toBe('torch.OutOfMemoryError');
    expect(err.data.exception_message).toMatch(/^CUDA out of memory\. Tried to allocate/);
    expect(err.data.exception_message).toMatch(
      /\nThis error means you ran out of memory on your GPU\./,
    );
  });

  it('fails the next prompt only', async () => {
    sb.failNextPrompt({ classType: 'ImageInvert' });
    const c = await connect('next-prompt');
    const a = await submit({ prompt: minimalWorkflow('next/a', 1), client_id: 'next-prompt' });
    const b = await submit({ prompt: minimalWorkflow('next/b', 2), client_id: 'next-prompt' });
    await c.finished(a);
    await c.finished(b);
    expect(c.forPrompt(a).find((m) => m.type === 'execution_error')!.data.node_id).toBe('2');
    expect(c.forPrompt(b).map((m) => m.type)).toContain('execution_success');
    expect(sb.faults().nextPrompt).toEqual([]);
  });
});

describe('transport failures', () => {
  it('answers 5xx on /prompt or on every route', async () => {
    sb.failHttp({ status: 500, scope: 'prompt', times: 1 });
    const failed = await postJson(`${sb.url}/prompt`, { prompt: minimalWorkflow() });
    expect(failed.status).toBe(500);
    expect(failed.text).toMatch(/^500 Internal Server Error/);
    expect((await fetch(`${sb.url}/system_stats`)).status).toBe(200);
    const ok = await postJson(`${sb.url}/api/prompt`, { prompt: minimalWorkflow() });
    expect(ok.status).toBe(200);

    sb.failHttp({ status: 503, scope: 'all' });
    expect((await fetch(`${sb.url}/system_stats`)).status).toBe(503);
    expect((await fetch(`${sb.url}/api/history`)).status).toBe(503);
    await expect(WsClient.connect(sb.wsUrl('during-5xx'))).rejects.toThrow();
    // The control routes keep working, so a test can heal the worker.
    expect((await postJson(`${sb.url}/sandbox/faults/clear`, {})).status).toBe(200);
    expect((await fetch(`${sb.url}/system_stats`)).status).toBe(200);
    await sb.idle();
  });

  it('drops the WebSocket mid-run while the prompt finishes into history', async () => {
    sb.setStepDelay(20);
    try {
      sb.dropSocketsNextPrompt({ afterSteps: 2 });
      const c = await connect('dropped');
      const id = await submit({ prompt: txt2img(121, 5, 'dropped'), client_id: 'dropped' });
      await c.waitClosed();
      const progress = c.forPrompt(id).filter((m) => m.type === 'progress');
      expect(progress.length).toBeLessThan(5);
      await sb.idle();
      const h = (await getJson(`${sb.url}/history/${id}`))[id] as Loose;
      expect(h.status.status_str).toBe('success');
      expect(h.outputs['9'].images).toHaveLength(1);
    } finally {
      sb.setStepDelay(0);
    }
  });

  it('hangs without finishing until released; interrupt is ignored unless interruptible', async () => {
    sb.hangNextPrompt({ afterSteps: 1 });
    const c = await connect('hang');
    try {
      await hangs(c);
    } finally {
      sb.releaseHang();
      await sb.idle();
    }
  });
});

/** A hung prompt ignores a cancel until released; an interruptible hang ends on interrupt. */
async function hangs(c: WsClient): Promise<void> {
  const id = await submit({ prompt: txt2img(131, 3, 'hang'), client_id: 'hang' });
  await c.json((m) => m.type === 'progress' && m.data.prompt_id === id);
  expect((await postJson(`${sb.url}/api/jobs/${id}/cancel`, {})).json).toEqual({
    cancelled: true,
  });
  await expect(c.finished(id, 400)).rejects.toThrow(/timed out/);
  expect(await getJson(`${sb.url}/history/${id}`)).toEqual({});
  expect((await getJson(`${sb.url}/api/jobs/${id}`)).status).toBe('in_progress');
  sb.releaseHang();
  await c.finished(id);
  // The cancel requested during the hang lands when it resumes.
  expect(c.forPrompt(id).map((m) => m.type)).toContain('execution_interrupted');

  sb.hangNextPrompt({ afterSteps: 0, interruptible: true });
  const id2 = await submit({ prompt: txt2img(132, 3, 'hang'), client_id: 'hang' });
  await c.json((m) => m.type === 'executing' && m.data.prompt_id === id2);
  await postJson(`${sb.url}/interrupt`, { prompt_id: id2 });
  await c.finished(id2);
  expect(c.forPrompt(id2).find((m) => m.type === 'execution_interrupted')).toBeDefined();
}

describe('restart', () => {
  it('drops sockets, loses queue and running prompt, keeps history on request', async () => {
    const own = await startSandbox({ log: false, stepDelayMs: 30 });
    try {
      const c = await WsClient.connect(own.wsUrl('restart'));
      const done = await submit(
        { prompt: minimalWorkflow('restart/done'), client_id: 'restart' },
        own.url,
      );
      await c.finished(done);
      const running = await submit(
        { prompt: txt2img(141, 50, 'restart'), client_id: 'restart' },
        own.url,
      );
      const pending = await submit(
        { prompt: txt2img(142, 2, 'restart'), client_id: 'restart' },
        own.url,
      );
      await c.json((m) => m.type === 'progress' && m.data.prompt_id === running);
      await own.restart({ keepHistory: true });
      await c.waitClosed();
      const after = await WsClient.connect(own.wsUrl('restart'));
      expect(after.messages[0]!.data.status).toEqual({ exec_info: { queue_remaining: 0 } });
      expect(await getJson(`${own.url}/queue`)).toEqual({ queue_running: [], queue_pending: [] });
      expect(Object.keys(await getJson(`${own.url}/history`))).toEqual([done]);
      expect((await fetch(`${own.url}/api/jobs/${running}`)).status).toBe(404);
      expect((await fetch(`${own.url}/api/jobs/${pending}`)).status).toBe(404);
      expect(own.stats().aborted).toBe(1);
      // The counter restarts like a fresh process, and the sandbox works.
      const fresh = await postJson(`${own.url}/prompt`, {
        prompt: minimalWorkflow('restart/fresh'),
        client_id: 'restart',
      });
      expect(fresh.json.number).toBe(0);
      await after.finished(fresh.json.prompt_id as string);
      await own.restart();
      expect(await getJson(`${own.url}/history`)).toEqual({});
      await after.waitClosed();
    } finally {
      await own.stop();
    }
  });

  it('refuses connections during a restart downtime, then listens on the same port', async () => {
    const own = await startSandbox({ log: false });
    try {
      const port = own.port;
      const restarting = postJson(`${own.url}/sandbox/restart`, { downtimeMs: 300 });
      expect((await restarting).json).toEqual({ restarting: true, downtimeMs: 300 });
      await expect(
        (async () => {
          for (let i = 0; i < 50; i++) await fetch(`${own.url}/prompt`);
        })(),
      ).rejects.toThrow();
      // Poll until it listens again (bounded): the downtime is 300 ms.
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await fetch(`${own.url}/prompt`).then(
          (r) => r.status,
          () => new Promise<number>((r) => setTimeout(() => r(0), 20)),
        );
      }
      expect(status).toBe(200);
      expect(own.port).toBe(port);
    } finally {
      await own.stop();
    }
  });
});

describe('what a worker has', () => {
  it('lacks a model file: listing, object_info and value_not_in_list', async () => {
    const lacking = await startSandbox({
      log: false,
      models: { checkpoints: ['other.safetensors'] },
    });
    try {
      expect(await (await fetch(`${lacking.url}/models/checkpoints`)).json()).toEqual([
        'other.safetensors',
      ]);
      const r = await postJson(`${lacking.url}/prompt`, { prompt: txt2img() });
      expect(r.status).toBe(400);
      expect((r.json.node_errors as Loose)['4'].errors[0]).toMatchObject({
        type: 'value_not_in_list',
        details: "ckpt_name: 'v1-5-pruned-emaonly.safetensors' not in ['other.safetensors']",
      });
      lacking.addModel('checkpoints', 'v1-5-pruned-emaonly.safetensors');
      expect((await postJson(`${lacking.url}/prompt`, { prompt: txt2img() })).status).toBe(200);
      lacking.removeModel('checkpoints', 'v1-5-pruned-emaonly.safetensors');
      const info = (await getJson(`${lacking.url}/object_info/CheckpointLoaderSimple`)) as Loose;
      expect(info.CheckpointLoaderSimple.input.required.ckpt_name[0]).toEqual([
        'other.safetensors',
      ]);
      await lacking.idle();
    } finally {
      await lacking.stop();
    }
  });

  it('lacks a node class', async () => {
    sb.disableNodeClass('SaveAnimatedWEBP', 'ImageInvert');
    try {
      expect(await getJson(`${sb.url}/object_info/ImageInvert`)).toEqual({});
      expect(Object.keys(await getJson(`${sb.url}/object_info`))).not.toContain('SaveAnimatedWEBP');
      const r = await postJson(`${sb.url}/prompt`, { prompt: minimalWorkflow() });
      expect((r.json.error as Loose).type).toBe('missing_node_type');
    } finally {
      sb.enableNodeClass('SaveAnimatedWEBP', 'ImageInvert');
    }
    expect((await postJson(`${sb.url}/prompt`, { prompt: minimalWorkflow() })).status).toBe(200);
    await sb.idle();
    const only = await startSandbox({ log: false, nodeClasses: ['EmptyImage', 'SaveImage'] });
    try {
      expect(Object.keys(await getJson(`${only.url}/object_info`)).sort()).toEqual([
        'EmptyImage',
        'SaveImage',
      ]);
    } finally {
      await only.stop();
    }
  });

  it('counts and logs executed prompts; /sandbox routes drive the knobs', async () => {
    sb.resetStats();
    const c = await connect('stats');
    const id = await submit({ prompt: minimalWorkflow('stats'), client_id: 'stats' });
    await c.finished(id);
    const stats = sb.stats();
    expect(stats).toMatchObject({ promptsExecuted: 1, succeeded: 1, failed: 0 });
    expect(stats.log[0]).toMatchObject({ promptId: id, clientId: 'stats', outcome: 'success' });

    const state = await getJson(`${sb.url}/sandbox`);
    expect(state).toMatchObject({ sandbox: true, stats: { promptsExecuted: 1 } });
    await postJson(`${sb.url}/sandbox/knobs`, { stepDelayMs: 7, previews: false });
    expect(sb.knobs).toMatchObject({ stepDelayMs: 7, previews: false });
    await postJson(`${sb.url}/sandbox/faults`, {
      type: 'http',
      status: 502,
      scope: 'all',
      times: 1,
    });
    expect((await fetch(`${sb.url}/queue`)).status).toBe(502);
    expect((await fetch(`${sb.url}/queue`)).status).toBe(200);
    await postJson(`${sb.url}/sandbox/faults`, { type: 'node', classType: 'ImageBlur', times: 1 });
    // A fresh colour: cached nodes do not run, so they could not fail.
    const failing = await submit({ prompt: minimalWorkflow('stats/fail', 77), client_id: 'stats' });
    await c.finished(failing);
    expect(c.forPrompt(failing).find((m) => m.type === 'execution_error')!.data.node_type).toBe(
      'ImageBlur',
    );
    const models = await fetch(`${sb.url}/sandbox/models`, {
      method: 'POST',
      body: JSON.stringify({ folder: 'loras', name: 'extra.safetensors' }),
    });
    expect(((await models.json()) as Loose).models.loras).toContain('extra.safetensors');
    expect((await postJson(`${sb.url}/sandbox/faults`, { type: 'bogus' })).status).toBe(400);
    await postJson(`${sb.url}/sandbox/knobs`, { stepDelayMs: 0, previews: true });
  });
});
