// The protocol as clients see it: routes and /api aliases, POST /prompt shapes, message order
// and routing, binary preview frames, history, view, uploads, interrupt, queue and jobs.
// Every test talks to a real sandbox on port 0 over HTTP and WebSocket.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniff } from './images.ts';
import { type Sandbox, startSandbox } from './sandbox.ts';
import type { Loose } from './testing.ts';
import {
  getJson,
  minimalWorkflow,
  postJson,
  txt2img,
  upload,
  WsClient,
  type WsClient as WsClientType,
  type WsJson,
} from './testing.ts';

let sb: Sandbox;
const clients: WsClientType[] = [];

async function connect(clientId: string, flags?: Record<string, unknown>): Promise<WsClient> {
  const c = await WsClient.connect(sb.wsUrl(clientId), flags);
  clients.push(c);
  return c;
}

async function submit(body: Record<string, unknown>): Promise<string> {
  const r = await postJson(`${sb.url}/prompt`, body);
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

describe('routes', () => {
  it('serves every route at /x and /api/x, the jobs routes only under /api', async () => {
    for (const p of ['/prompt', '/api/prompt']) {
      expect(await getJson(sb.url + p)).toEqual({ exec_info: { queue_remaining: 0 } });
    }
    for (const p of ['/system_stats', '/api/system_stats']) {
      const stats = await getJson(sb.url + p);
      expect((stats.system as Record<string, unknown>).comfyui_version).toBeTypeOf('string');
      expect((stats.devices as unknown[]).length).toBe(1);
    }
    expect((await fetch(`${sb.url}/jobs`)).status).toBe(404);
    expect((await fetch(`${sb.url}/api/jobs`)).status).toBe(200);
    expect((await fetch(`${sb.url}/nope`)).status).toBe(404);
    const features = await getJson(`${sb.url}/api/features`);
    expect(features.supports_preview_metadata).toBe(true);
    const viaApi = await WsClient.connect(
      `${sb.url.replace('http', 'ws')}/api/ws?clientId=api-alias`,
    );
    expect(viaApi.messages[0]).toEqual({
      type: 'status',
      data: { status: { exec_info: { queue_remaining: 0 } }, sid: 'api-alias' },
    });
    await viaApi.close();
  });

  it('invents a 32-hex sid when the socket has no clientId', async () => {
    const c = await WsClient.connect(sb.wsUrl());
    expect(c.messages[0]!.data.sid).toMatch(/^[0-9a-f]{32}$/);
    await c.close();
  });

  it('answers POST /queue, /interrupt, /free, /history with 200 and an empty body', async () => {
    for (const [route, body] of [
      ['/queue', { clear: true }],
      ['/interrupt', {}],
      ['/free', { free_memory: false }],
      ['/history', { delete: ['nope'] }],
      ['/api/interrupt', ''],
    ] as const) {
      const res = await fetch(sb.url + route, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status, route).toBe(200);
      expect(await res.text(), route).toBe('');
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
    }
  });

  it('lists models per folder and 404s an unknown folder', async () => {
    const folders = (await (await fetch(`${sb.url}/models`)).json()) as string[];
    expect(folders).toContain('checkpoints');
    expect(folders).toContain('diffusion_models');
    const ckpts = (await (await fetch(`${sb.url}/api/models/checkpoints`)).json()) as string[];
    expect(ckpts).toContain('v1-5-pruned-emaonly.safetensors');
    expect(ckpts).toEqual([...ckpts].sort());
    expect((await fetch(`${sb.url}/models/not_a_folder`)).status).toBe(404);
  });

  it('serves object_info in ComfyUI format for implemented classes only', async () => {
    const all = await getJson(`${sb.url}/object_info`);
    expect(Object.keys(all)).toEqual(
      expect.arrayContaining(['KSampler', 'SaveImage', 'SaveVideo']),
    );
    expect(all.Load3D).toBeUndefined();
    const k = (await getJson(`${sb.url}/object_info/KSampler`)).KSampler as Record<string, Loose>;
    expect(k.input.required.seed[0]).toBe('INT');
    expect(k.input.required.seed[1].max).toBe(2 ** 64); // 18446744073709551615 as a JS number
    expect(Array.isArray(k.input.required.sampler_name[0])).toBe(true);
    expect(k.input.required.sampler_name[0]).toContain('euler');
    expect(k.input.required.model).toEqual(['MODEL']);
    expect(k.input_order.required).toEqual([
      'model',
      'seed',
      'steps',
      'cfg',
      'sampler_name',
      'scheduler',
      'positive',
      'negative',
      'latent_image',
      'denoise',
    ]);
    expect(k).toMatchObject({
      output: ['LATENT'],
      output_is_list: [false],
      output_name: ['LATENT'],
      name: 'KSampler',
      display_name: 'KSampler',
      description: '',
      category: 'model/sampling',
      output_node: false,
      python_module: 'nodes',
    });
    const ckpt = (await getJson(`${sb.url}/object_info/CheckpointLoaderSimple`))
      .CheckpointLoaderSimple as Loose;
    expect(ckpt.input.required.ckpt_name[0]).toEqual(sb.models().checkpoints);
    const save = (await getJson(`${sb.url}/object_info/SaveVideo`)).SaveVideo as Loose;
    expect(save.python_module).toBe('comfy_extras.nodes_video');
    expect(save.output_node).toBe(true);
    // ComfyUI 783545f689a0: the container is a dynamic combo with the codec nested in it.
    expect(save.input.required.format[0]).toBe('COMFY_DYNAMICCOMBO_V3');
    const formats = save.input.required.format[1].options as Loose[];
    expect(formats.map((o) => o.key)).toEqual(['auto', 'mp4', 'mkv', 'webm']);
    const webm = formats.find((o) => o.key === 'webm').inputs.required.codec;
    expect(webm[0]).toBe('COMFY_DYNAMICCOMBO_V3');
    expect(webm[1].options.map((o: Loose) => o.key)).toEqual(['auto', 'av1']);
    expect(await getJson(`${sb.url}/object_info/NotAClass`)).toEqual({});
  });
  it('rejects cross-origin requests like origin_only_middleware, and oversize bodies', async () => {
    const host = new URL(sb.url).host;
    const cross = await fetch(`${sb.url}/prompt`, { headers: { Origin: 'http://evil.example' } });
    expect(cross.status).toBe(403);
    const same = await fetch(`${sb.url}/prompt`, { headers: { Origin: `http://${host}` } });
    expect(same.status).toBe(200);
    const site = await fetch(`${sb.url}/prompt`, { headers: { 'Sec-Fetch-Site': 'cross-site' } });
    expect(site.status).toBe(403);
    const tiny = await startSandbox({ log: false, maxUploadMb: 0.001 });
    try {
      const big = await postJson(`${tiny.url}/prompt`, { prompt: {}, pad: 'x'.repeat(4000) });
      expect(big.status).toBe(413);
    } finally {
      await tiny.stop();
    }
  });
});

describe('POST /prompt', () => {
  it('answers the exact 400 shapes and queues nothing', async () => {
    const before = sb.stats().promptsExecuted;
    const noPrompt = await postJson(`${sb.url}/prompt`, { client_id: 'x' });
    expect(noPrompt.status).toBe(400);
    expect(noPrompt.json).toEqual({
      error: {
        type: 'no_prompt',
        message: 'No prompt provided',
        details: 'No prompt provided',
        extra_info: {},
      },
      node_errors: {},
    });

    for (const bad of ['not-a-uuid', 'F47AC10B-58CC-4372-A567-0E02B2C3D479', 42]) {
      const r = await postJson(`${sb.url}/prompt`, { prompt: minimalWorkflow(), prompt_id: bad });
      expect(r.status).toBe(400);
      expect((r.json.error as Record<string, unknown>).type).toBe('invalid_prompt_id');
      expect(r.json.node_errors).toEqual({});
    }

    const missing = await postJson(`${sb.url}/prompt`, {
      prompt: { ...minimalWorkflow(), '9': { class_type: 'NotInstalled', inputs: {} } },
    });
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({
      error: {
        type: 'missing_node_type',
        message: "Node 'NotInstalled' not found. The custom node may not be installed.",
        details: "Node ID '#9'",
        extra_info: { node_id: '9', class_type: 'NotInstalled', node_title: 'NotInstalled' },
      },
      node_errors: {},
    });

    const noOutputs = await postJson(`${sb.url}/prompt`, {
      prompt: {
        '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      },
    });
    expect(noOutputs.json).toEqual({
      error: {
        type: 'prompt_no_outputs',
        message: 'Prompt has no outputs',
        details: '',
        extra_info: {},
      },
      node_errors: {},
    });

    const wf = txt2img();
    (wf['4'] as Loose).inputs.ckpt_name = 'nope.safetensors';
    (wf['5'] as Loose).inputs.width = 99999;
    delete (wf['3'] as Loose).inputs.negative;
    (wf['3'] as Loose).inputs.sampler_name = 'not_a_sampler';
    const invalid = await postJson(`${sb.url}/prompt`, { prompt: wf });
    expect(invalid.status).toBe(400);
    const error = invalid.json.error as Record<string, unknown>;
    expect(error).toMatchObject({
      type: 'prompt_outputs_failed_validation',
      message: 'Prompt outputs failed validation',
    });
    const ne = invalid.json.node_errors as Record<string, Loose>;
    expect(Object.keys(ne).sort()).toEqual(['3', '4', '5']);
    expect(ne['4']).toEqual({
      errors: [
        {
          type: 'value_not_in_list',
          message: 'Value not in list',
          details: `ckpt_name: 'nope.safetensors' not in [${sb
            .models()
            .checkpoints!.map((f) => `'${f}'`)
            .join(', ')}]`,
          extra_info: {
            input_name: 'ckpt_name',
            input_config: [sb.models().checkpoints, {}],
            received_value: 'nope.safetensors',
          },
        },
      ],
      dependent_outputs: ['9'],
      class_type: 'CheckpointLoaderSimple',
    });
    expect(ne['5'].errors).toEqual([
      {
        type: 'value_bigger_than_max',
        message: 'Value 99999 bigger than max of 16384',
        details: 'width',
        extra_info: expect.objectContaining({ input_name: 'width', received_value: 99999 }),
      },
    ]);
    const types3 = ne['3'].errors.map((e: { type: string }) => e.type).sort();
    expect(types3).toEqual(['required_input_missing', 'value_not_in_list']);
    const list = ne['3'].errors.find((e: { type: string }) => e.type === 'value_not_in_list');
    expect(list.extra_info.input_config).toBeNull(); // more than 20 samplers
    expect(list.details).toMatch(/^sampler_name: 'not_a_sampler' not in \(list of length \d+\)$/);

    const dangling = minimalWorkflow();
    (dangling['2'] as Loose).inputs.image = ['77', 0];
    const exc = await postJson(`${sb.url}/prompt`, { prompt: dangling });
    expect(exc.status).toBe(400);
    expect((exc.json.node_errors as Loose)['2'].errors[0]).toMatchObject({
      type: 'exception_during_inner_validation',
      details: "'77'",
    });
    const danglingOut = minimalWorkflow();
    (danglingOut['4'] as Loose).inputs.images = ['77', 0];
    const exc2 = await postJson(`${sb.url}/prompt`, { prompt: danglingOut });
    expect((exc2.json.node_errors as Loose)['4'].errors[0]).toMatchObject({
      type: 'exception_during_validation',
      message: 'Exception when validating node',
      details: "'77'",
      extra_info: expect.objectContaining({ exception_type: 'KeyError' }),
    });
    expect((exc2.json.error as Loose).details).toBe("Exception when validating node: '77'");

    const mismatch = await postJson(`${sb.url}/prompt`, {
      prompt: {
        '1': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
      },
    });
    expect((mismatch.json.node_errors as Loose)['2'].errors[0]).toMatchObject({
      type: 'return_type_mismatch',
      details: 'images, received_type(LATENT) mismatch input_type(IMAGE)',
    });

    const badInt = minimalWorkflow();
    (badInt['1'] as Loose).inputs.width = 'wide';
    const conv = await postJson(`${sb.url}/prompt`, { prompt: badInt });
    expect((conv.json.node_errors as Loose)['1'].errors[0]).toMatchObject({
      type: 'invalid_input_type',
      message: 'Failed to convert an input value to a INT value',
    });

    // A valid prompt still runs next: nothing above was queued.
    const c = await connect('shape-check');
    const id = await submit({ prompt: minimalWorkflow(), client_id: 'shape-check' });
    await c.finished(id);
    expect(sb.stats().promptsExecuted).toBe(before + 1);
    expect(c.forPrompt(id)[0]!.type).toBe('execution_start');
  });

  it('queues the valid outputs and reports the invalid ones with 200', async () => {
    const wf = {
      ...minimalWorkflow('partial/good'),
      '5': { class_type: 'SaveImage', inputs: { filename_prefix: 'partial/bad' } },
    };
    const r = await postJson(`${sb.url}/prompt`, { prompt: wf });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json.node_errors as object)).toEqual(['5']);
    await sb.idle();
    const h = await getJson(`${sb.url}/history/${r.json.prompt_id}`);
    const entry = h[r.json.prompt_id as string] as Loose;
    expect(entry.prompt[4]).toEqual(['4']);
    expect(Object.keys(entry.outputs)).toEqual(['4']);
  });

  it('mints uuid4 ids, keeps a canonical client prompt_id, coerces literals, numbers prompts', async () => {
    const a = await postJson(`${sb.url}/prompt`, { prompt: minimalWorkflow() });
    expect(a.json.prompt_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(a.json.node_errors).toEqual({});
    const n = a.json.number as number;
    expect(Number.isInteger(n)).toBe(true);
    const own = '0c6a3a35-6f0a-4c55-8f2b-4a1a7b6c9d01';
    const wf = minimalWorkflow();
    (wf['1'] as Loose).inputs.width = '32';
    const b = await postJson(`${sb.url}/prompt`, { prompt: wf, prompt_id: own, number: 12 });
    expect(b.json.prompt_id).toBe(own);
    expect(b.text).toContain('"number": 12.0');
    const c = await postJson(`${sb.url}/prompt`, { prompt: minimalWorkflow(), prompt_id: null });
    expect(c.json.number).toBe(n + 1);
    await sb.idle();
    const h = (await getJson(`${sb.url}/history/${own}`))[own] as Loose;
    expect(h.prompt[2]['1'].inputs.width).toBe(32);
    expect(h.prompt[3]).toEqual({ create_time: expect.any(Number) });
    expect(h.status.status_str).toBe('success');
  });
});

describe('execution messages', () => {
  it('sends one prompt’s messages in ComfyUI order to its client only', async () => {
    const a = await connect('order-a');
    const b = await connect('order-b');
    const bStart = b.frames.length;
    const id = await submit({ prompt: txt2img(21, 3), client_id: 'order-a' });
    await a.finished(id);
    const msgs = a.messages;
    const idx = (pred: (m: WsJson) => boolean) => msgs.findIndex(pred);
    const start = idx((m) => m.type === 'execution_start' && m.data.prompt_id === id);
    const cached = idx((m) => m.type === 'execution_cached' && m.data.prompt_id === id);
    const success = idx((m) => m.type === 'execution_success' && m.data.prompt_id === id);
    const end = idx(
      (m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === id,
    );
    expect(start).toBeGreaterThanOrEqual(0);
    expect(msgs[start]!.data.timestamp).toBeTypeOf('number');
    expect(cached).toBe(start + 1);
    expect(msgs[cached]!.data.nodes).toEqual([]);
    expect(success).toBeGreaterThan(cached);
    const statusAfter = msgs.slice(success + 1, end).filter((m) => m.type === 'status');
    expect(statusAfter).toEqual([
      { type: 'status', data: { status: { exec_info: { queue_remaining: 0 } } } },
    ]);
    expect(end).toBeGreaterThan(success);
    // A queued status broadcast preceded execution_start (put, then get).
    const queued = msgs.slice(0, start).filter((m) => m.type === 'status');
    expect(queued.at(-1)!.data.status).toEqual({ exec_info: { queue_remaining: 1 } });

    for (const node of ['4', '5', '6', '7', '3', '8', '9']) {
      const running = idx(
        (m) => m.type === 'progress_state' && (m.data.nodes as Loose)[node]?.state === 'running',
      );
      const executing = idx((m) => m.type === 'executing' && m.data.node === node);
      const finished = idx(
        (m) => m.type === 'progress_state' && (m.data.nodes as Loose)[node]?.state === 'finished',
      );
      expect(running, node).toBeGreaterThan(cached);
      expect(executing, node).toBe(running + 1);
      expect(msgs[executing]!.data).toEqual({ node, display_node: node, prompt_id: id });
      expect(finished, node).toBeGreaterThan(executing);
      expect(finished, node).toBeLessThan(success);
    }
    const progress = msgs.filter((m) => m.type === 'progress');
    expect(progress.map((m) => [m.data.value, m.data.max, m.data.node])).toEqual([
      [1, 3, '3'],
      [2, 3, '3'],
      [3, 3, '3'],
    ]);
    const executed = msgs.filter((m) => m.type === 'executed');
    expect(executed).toHaveLength(1);
    expect(executed[0]!.data).toEqual({
      node: '9',
      display_node: '9',
      output: {
        images: [
          {
            filename: expect.stringMatching(/^ComfyUI_\d{5}_\.png$/),
            subfolder: '',
            type: 'output',
          },
        ],
      },
      prompt_id: id,
    });
    const state = msgs.find((m) => m.type === 'progress_state')!.data as Loose;
    expect(state.nodes[Object.keys(state.nodes)[0]!]).toMatchObject({
      prompt_id: id,
      parent_node_id: null,
      display_node_id: Object.keys(state.nodes)[0],
    });

    // The other client saw status broadcasts, and nothing about this prompt.
    const bMsgs = b.frames.slice(bStart);
    expect(bMsgs.every((f) => f.kind === 'json')).toBe(true);
    expect(bMsgs.map((f) => (f as { msg: WsJson }).msg.type).every((t) => t === 'status')).toBe(
      true,
    );
    expect(bMsgs.length).toBeGreaterThanOrEqual(2);
  });

  it('broadcasts only progress and previews for a prompt without client_id', async () => {
    const a = await connect('anon-a');
    const from = a.frames.length;
    const r = await postJson(`${sb.url}/prompt`, { prompt: txt2img(22, 2) });
    const id = r.json.prompt_id as string;
    await a.json((m) => m.type === 'progress' && m.data.prompt_id === id && m.data.value === 2);
    await sb.idle();
    const seen = a.frames.slice(from);
    const types = seen.map((f) =>
      f.kind === 'json' ? f.msg.type : `bin${f.data.readUInt32BE(0)}`,
    );
    expect(types).not.toContain('execution_start');
    expect(types).not.toContain('executing');
    expect(types).not.toContain('executed');
    expect(types).toContain('progress_state');
    expect(types.filter((t) => t === 'bin1')).toHaveLength(2);
    const h = (await getJson(`${sb.url}/history/${id}`))[id] as Loose;
    expect(h.status.messages.map((m: [string]) => m[0])).toEqual([
      'execution_start',
      'execution_cached',
      'execution_success',
    ]);
  });

  it('sends byte-exact event 1 previews without negotiation and event 4 with it', async () => {
    const legacy = await connect('preview-legacy');
    const modern = await connect('preview-modern', {
      supports_preview_metadata: true,
      supports_progress_text_metadata: true,
    });
    expect(modern.messages.find((m) => m.type === 'feature_flags')!.data).toMatchObject({
      supports_preview_metadata: true,
    });

    const id1 = await submit({ prompt: txt2img(31, 2), client_id: 'preview-legacy' });
    await legacy.finished(id1);
    const bin1 = legacy.frames
      .filter((f) => f.kind === 'binary')
      .map((f) => (f as { data: Buffer }).data);
    expect(bin1).toHaveLength(2);
    for (const frame of bin1) {
      expect(frame.readUInt32BE(0)).toBe(1); // PREVIEW_IMAGE
      expect(frame.readUInt32BE(4)).toBe(1); // JPEG
      expect([...frame.subarray(8, 11)]).toEqual([0xff, 0xd8, 0xff]);
      const meta = await sharp(frame.subarray(8)).metadata();
      expect(meta.format).toBe('jpeg');
      expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(128);
    }
    // Order per step: progress_state, progress, then the event-1 frame.
    const kinds = legacy.frames.map((f) => (f.kind === 'json' ? f.msg.type : 'bin'));
    const firstBin = kinds.indexOf('bin');
    expect(kinds.slice(firstBin - 2, firstBin)).toEqual(['progress_state', 'progress']);

    const id4 = await submit({ prompt: txt2img(32, 2), client_id: 'preview-modern' });
    await modern.finished(id4);
    const bin4 = modern.frames
      .filter((f) => f.kind === 'binary')
      .map((f) => (f as { data: Buffer }).data);
    expect(bin4).toHaveLength(2);
    for (const frame of bin4) {
      expect(frame.readUInt32BE(0)).toBe(4); // PREVIEW_IMAGE_WITH_METADATA
      const len = frame.readUInt32BE(4);
      const json = frame.subarray(8, 8 + len).toString('utf8');
      expect(json).toBe(
        `{"node_id": "3", "prompt_id": "${id4}", "display_node_id": "3", "parent_node_id": null, "real_node_id": "3", "image_type": "image/jpeg"}`,
      );
      expect([...frame.subarray(8 + len, 8 + len + 3)]).toEqual([0xff, 0xd8, 0xff]);
    }
    const mk = modern.frames.map((f) => (f.kind === 'json' ? f.msg.type : 'bin'));
    const b = mk.indexOf('bin');
    expect([mk[b - 1], mk[b + 1]]).toEqual(['progress_state', 'progress']);
    // The legacy client got nothing of the second prompt.
    expect(legacy.forPrompt(id4)).toEqual([]);
  });

  it('honours extra_data.preview_method "none"', async () => {
    const c = await connect('no-previews');
    const id = await submit({
      prompt: txt2img(33, 2),
      client_id: 'no-previews',
      extra_data: { preview_method: 'none' },
    });
    await c.finished(id);
    expect(c.frames.some((f) => f.kind === 'binary')).toBe(false);
    expect(c.messages.filter((m) => m.type === 'progress')).toHaveLength(2);
  });

  it('returns {} for a running prompt and the outputs once it finished; /view serves them', async () => {
    sb.setStepDelay(60);
    try {
      const c = await connect('history-check');
      const id = await submit({ prompt: txt2img(41, 4), client_id: 'history-check' });
      await c.json((m) => m.type === 'progress' && m.data.prompt_id === id);
      expect(await getJson(`${sb.url}/history/${id}`)).toEqual({});
      expect(await getJson(`${sb.url}/api/history/not-a-prompt`)).toEqual({});
      await c.json((m) => m.type === 'execution_success' && m.data.prompt_id === id);
      await c.finished(id);
      const entry = (await getJson(`${sb.url}/history/${id}`))[id] as Loose;
      expect(entry.status).toMatchObject({ status_str: 'success', completed: true });
      expect(entry.meta['9']).toEqual({
        node_id: '9',
        display_node: '9',
        parent_node: null,
        real_node_id: '9',
      });
      const img = entry.outputs['9'].images[0];
      const res = await fetch(`${sb.url}/view?${new URLSearchParams(img)}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(sniff(bytes)).toBe('png');
      expect((await sharp(bytes).metadata()).width).toBe(64);
    } finally {
      sb.setStepDelay(0);
    }
  });

  it('serves a cached re-run with execution_cached and the cached outputs', async () => {
    const c = await connect('cache-check');
    const wf = txt2img(51, 2);
    const first = await submit({ prompt: wf, client_id: 'cache-check' });
    await c.finished(first);
    const firstOut = ((await getJson(`${sb.url}/history/${first}`))[first] as Loose).outputs;
    const from = c.frames.length;
    const second = await submit({ prompt: wf, client_id: 'cache-check' });
    await c.finished(second);
    const msgs = c.forPrompt(second);
    expect(c.frames.length).toBeGreaterThan(from);
    expect(msgs.map((m) => m.type)).toEqual([
      'execution_start',
      'execution_cached',
      'executed',
      'progress_state',
      'execution_success',
      'executing',
    ]);
    expect((msgs[1]!.data.nodes as string[]).sort()).toEqual(['3', '4', '5', '6', '7', '8', '9']);
    expect(msgs[2]!.data).toEqual({
      node: '9',
      display_node: '9',
      output: firstOut['9'],
      prompt_id: second,
    });
    const secondEntry = (await getJson(`${sb.url}/history/${second}`))[second] as Loose;
    expect(secondEntry.outputs).toEqual(firstOut);

    const changed = txt2img(52, 2);
    const third = await submit({ prompt: changed, client_id: 'cache-check' });
    await c.finished(third);
    const cachedNodes = c.forPrompt(third).find((m) => m.type === 'execution_cached')!.data
      .nodes as string[];
    expect(cachedNodes.sort()).toEqual(['4', '5', '6', '7']);
    const executing = c
      .forPrompt(third)
      .filter((m) => m.type === 'executing' && m.data.node !== null);
    expect(executing.map((m) => m.data.node)).toEqual(['3', '8', '9']);
  });

  it('with resendCachedUi off, a cached re-run sends no executed; its history keeps the outputs', async () => {
    const c = await connect('cache-old');
    const wf = txt2img(53, 2);
    const first = await submit({ prompt: wf, client_id: 'cache-old' });
    await c.finished(first);
    const firstOut = ((await getJson(`${sb.url}/history/${first}`))[first] as Loose).outputs;
    sb.setKnobs({ resendCachedUi: false });
    try {
      const second = await submit({ prompt: wf, client_id: 'cache-old' });
      await c.finished(second);
      expect(c.forPrompt(second).map((m) => m.type)).toEqual([
        'execution_start',
        'execution_cached',
        'progress_state',
        'execution_success',
        'executing',
      ]);
      const secondEntry = (await getJson(`${sb.url}/history/${second}`))[second] as Loose;
      expect(secondEntry.outputs).toEqual(firstOut);
    } finally {
      sb.setKnobs({ resendCachedUi: true });
    }
  });

  it('sends the executing hint to a client that reconnects with the same id', async () => {
    sb.setStepDelay(50);
    try {
      const c = await connect('reconnect');
      const id = await submit({ prompt: txt2img(61, 6), client_id: 'reconnect' });
      await c.json((m) => m.type === 'progress' && m.data.prompt_id === id);
      await c.close();
      const again = await connect('reconnect');
      const hint = await again.json((m) => m.type === 'executing');
      expect(hint.data).toEqual({ node: '3' });
      await again.finished(id);
    } finally {
      sb.setStepDelay(0);
    }
  });
});

describe('queue, interrupt and jobs', () => {
  it('runs front=true prompts first, deletes pending items, interrupts only the targeted prompt', async () => {
    sb.setStepDelay(40);
    try {
      const c = await connect('queue-check');
      const a = await submit({
        prompt: txt2img(71, 40, 'queue check', 72),
        client_id: 'queue-check',
      });
      await c.json((m) => m.type === 'progress' && m.data.prompt_id === a);
      const b = await submit({ prompt: txt2img(72, 2), client_id: 'queue-check' });
      const del = await submit({ prompt: txt2img(73, 2), client_id: 'queue-check' });
      const front = await postJson(`${sb.url}/prompt`, {
        prompt: txt2img(74, 2),
        client_id: 'queue-check',
        front: true,
      });
      expect(front.json.number).toBeLessThan(0);
      const q = await getJson(`${sb.url}/queue`);
      expect((q.queue_running as Loose[]).map((i) => i[1])).toEqual([a]);
      expect((q.queue_running as Loose[])[0]).toHaveLength(5);
      expect((q.queue_pending as Loose[]).map((i) => i[1]).sort()).toEqual(
        [b, del, front.json.prompt_id].sort(),
      );
      expect((await getJson(`${sb.url}/prompt`)).exec_info).toEqual({ queue_remaining: 4 });

      await postJson(`${sb.url}/queue`, { delete: [del] });
      expect(
        ((await getJson(`${sb.url}/queue`)).queue_pending as Loose[]).map((i) => i[1]).sort(),
      ).toEqual([b, front.json.prompt_id].sort());
      // Interrupting a prompt that is not running is a no-op.
      await postJson(`${sb.url}/interrupt`, { prompt_id: b });
      await postJson(`${sb.url}/interrupt`, { prompt_id: a });
      const interrupted = await c.json(
        (m) => m.type === 'execution_interrupted' && m.data.prompt_id === a,
      );
      expect(interrupted.data).toMatchObject({ prompt_id: a, node_id: '3', node_type: 'KSampler' });
      // Nodes this run executed before the sampler; the loader and the negative prompt came from cache.
      expect((interrupted.data.executed as string[]).sort()).toEqual(['5', '6']);
      await c.finished(a);
      await c.finished(b);
      const starts = c.messages
        .filter((m) => m.type === 'execution_start')
        .map((m) => m.data.prompt_id);
      expect(starts.indexOf(front.json.prompt_id)).toBeLessThan(starts.indexOf(b));
      expect(starts).not.toContain(del);
      const ha = (await getJson(`${sb.url}/history/${a}`))[a] as Loose;
      expect(ha.status.status_str).toBe('error');
      expect(ha.status.completed).toBe(false);
      expect(ha.status.messages.at(-1)[0]).toBe('execution_interrupted');
      expect(((await getJson(`${sb.url}/history/${b}`))[b] as Loose).status.status_str).toBe(
        'success',
      );
      expect(await getJson(`${sb.url}/history/${del}`)).toEqual({});
      const job = await getJson(`${sb.url}/api/jobs/${a}`);
      expect(job.status).toBe('cancelled');
    } finally {
      sb.setStepDelay(0);
    }
  });

  it('interrupts whatever runs on a global interrupt', async () => {
    sb.setStepDelay(40);
    try {
      const c = await connect('global-interrupt');
      const id = await submit({ prompt: txt2img(75, 40), client_id: 'global-interrupt' });
      await c.json((m) => m.type === 'progress' && m.data.prompt_id === id);
      const res = await fetch(`${sb.url}/interrupt`, { method: 'POST' });
      expect(res.status).toBe(200);
      await c.json((m) => m.type === 'execution_interrupted' && m.data.prompt_id === id);
      await c.finished(id);
    } finally {
      sb.setStepDelay(0);
    }
  });

  it('lists, gets and cancels jobs atomically and idempotently', async () => {
    sb.setStepDelay(40);
    try {
      const c = await connect('jobs');
      const running = await submit({
        prompt: txt2img(81, 40),
        client_id: 'jobs',
        extra_data: { extra_pnginfo: { workflow: { id: 'wf-1' } } },
      });
      await c.json((m) => m.type === 'progress' && m.data.prompt_id === running);
      const pending = await submit({ prompt: txt2img(82, 2), client_id: 'jobs' });
      const listed = await getJson(`${sb.url}/api/jobs?status=pending,in_progress&sort_order=asc`);
      expect((listed.jobs as Loose[]).map((j) => [j.id, j.status])).toEqual([
        [running, 'in_progress'],
        [pending, 'pending'],
      ]);
      expect(listed.pagination).toEqual({ offset: 0, limit: null, total: 2, has_more: false });
      expect((listed.jobs as Loose[])[0]).toMatchObject({ workflow_id: 'wf-1', outputs_count: 0 });
      const byWorkflow = await getJson(`${sb.url}/api/jobs?workflow_id=wf-1`);
      expect((byWorkflow.jobs as Loose[]).map((j) => j.id)).toEqual([running]);

      expect((await postJson(`${sb.url}/api/jobs/${pending}/cancel`, {})).json).toEqual({
        cancelled: true,
      });
      expect((await postJson(`${sb.url}/api/jobs/${pending}/cancel`, {})).json).toEqual({
        cancelled: false,
      });
      expect((await fetch(`${sb.url}/api/jobs/${pending}`)).status).toBe(404);
      expect(await (await fetch(`${sb.url}/api/jobs/${pending}`)).json()).toEqual({
        error: 'Job not found',
      });

      expect((await postJson(`${sb.url}/api/jobs/${running}/cancel`, {})).json).toEqual({
        cancelled: true,
      });
      await c.finished(running);
      expect((await postJson(`${sb.url}/api/jobs/${running}/cancel`, {})).json).toEqual({
        cancelled: false,
      });
      const job = await getJson(`${sb.url}/api/jobs/${running}`);
      expect(job).toMatchObject({ id: running, status: 'cancelled', workflow_id: 'wf-1' });
      expect(job.execution_status).toMatchObject({ status_str: 'error' });
      expect((job.workflow as Loose).extra_data.client_id).toBe('jobs');

      const done = await submit({ prompt: minimalWorkflow('jobs/done'), client_id: 'jobs' });
      await c.finished(done);
      const completed = await getJson(`${sb.url}/api/jobs/${done}`);
      expect(completed).toMatchObject({ status: 'completed', outputs_count: 1 });
      expect(completed.preview_output).toMatchObject({
        nodeId: '4',
        mediaType: 'images',
        type: 'output',
        subfolder: 'jobs',
      });
      expect(completed.execution_end_time).toBeGreaterThanOrEqual(
        completed.execution_start_time as number,
      );

      const bad = await fetch(`${sb.url}/api/jobs?status=bogus`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as Loose).error).toMatch(/^Invalid status value\(s\): bogus/);
      expect((await fetch(`${sb.url}/api/jobs?limit=0`)).status).toBe(400);
      expect((await fetch(`${sb.url}/api/jobs?sort_by=name`)).status).toBe(400);
      const bulk = await postJson(`${sb.url}/api/jobs/cancel`, { job_ids: ['nope'] });
      expect(bulk.status).toBe(400);
      expect(bulk.json).toEqual({ error: 'job_ids contains invalid id(s)', invalid_ids: ['nope'] });
      const paged = await getJson(`${sb.url}/api/jobs?limit=1&offset=0&status=completed`);
      expect((paged.jobs as unknown[]).length).toBe(1);
      expect((paged.pagination as Loose).has_more).toBe(true);
    } finally {
      sb.setStepDelay(0);
    }
  });
});

describe('more prompt semantics', () => {
  it('sends SaveImageWebsocket images as PNG frames (event 1 format 2, or event 4)', async () => {
    const legacy = await connect('ws-save-legacy');
    const modern = await connect('ws-save-modern', { supports_preview_metadata: true });
    const wf = {
      '1': {
        class_type: 'EmptyImage',
        inputs: { width: 40, height: 30, batch_size: 2, color: 255 },
      },
      '2': { class_type: 'SaveImageWebsocket', inputs: { images: ['1', 0] } },
    };
    const a = await submit({ prompt: wf, client_id: 'ws-save-legacy' });
    await legacy.finished(a);
    const frames = legacy.frames
      .filter((f) => f.kind === 'binary')
      .map((f) => (f as { data: Buffer }).data);
    expect(frames.map((f) => [f.readUInt32BE(0), f.readUInt32BE(4)])).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(await sharp(frames[0]!.subarray(8)).metadata()).toMatchObject({
      format: 'png',
      width: 40,
      height: 30,
    });
    expect(
      legacy
        .forPrompt(a)
        .filter((m) => m.type === 'progress')
        .map((m) => m.data.value),
    ).toEqual([0, 1]);
    expect(legacy.forPrompt(a).some((m) => m.type === 'executed')).toBe(false);
    // Never cached: a re-run sends the images again.
    const b = await submit({ prompt: wf, client_id: 'ws-save-modern' });
    await modern.finished(b);
    const f4 = modern.frames
      .filter((f) => f.kind === 'binary')
      .map((f) => (f as { data: Buffer }).data);
    expect(f4).toHaveLength(2);
    const len = f4[0]!.readUInt32BE(4);
    expect(JSON.parse(f4[0]!.subarray(8, 8 + len).toString()).image_type).toBe('image/png');
    expect(((await getJson(`${sb.url}/history/${b}`))[b] as Loose).outputs).toEqual({});
  });

  it('accepts a duplicate prompt_id and keeps the latest history entry', async () => {
    const c = await connect('dup');
    const id = 'aa6a3a35-6f0a-4c55-8f2b-4a1a7b6c9d02';
    await submit({ prompt: minimalWorkflow('dup/first'), prompt_id: id, client_id: 'dup' });
    await c.finished(id);
    await submit({ prompt: minimalWorkflow('dup/second', 99), prompt_id: id, client_id: 'dup' });
    await c.json(
      (m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === id,
      10_000,
      c.frames.findIndex(
        (f) => f.kind === 'json' && f.msg.type === 'executing' && f.msg.data.node === null,
      ) + 1,
    );
    const entry = (await getJson(`${sb.url}/history/${id}`))[id] as Loose;
    expect(entry.outputs['4'].images[0].subfolder).toBe('dup');
    expect(entry.outputs['4'].images[0].filename).toMatch(/^second_/);
  });

  it('executes only partial_execution_targets, and /free forgets cached outputs', async () => {
    const c = await connect('partial');
    const wf = {
      ...minimalWorkflow('partial/a', 4242),
      '5': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'partial/b' } },
    };
    const id = await submit({ prompt: wf, client_id: 'partial', partial_execution_targets: ['5'] });
    await c.finished(id);
    const entry = (await getJson(`${sb.url}/history/${id}`))[id] as Loose;
    expect(entry.prompt[4]).toEqual(['5']);
    expect(Object.keys(entry.outputs)).toEqual(['5']);
    expect(
      c
        .forPrompt(id)
        .filter((m) => m.type === 'executing' && m.data.node)
        .map((m) => m.data.node),
    ).toEqual(['1', '5']);
    await postJson(`${sb.url}/free`, { free_memory: true, unload_models: true });
    const again = await submit({
      prompt: wf,
      client_id: 'partial',
      partial_execution_targets: ['5'],
    });
    await c.finished(again);
    expect(c.forPrompt(again).find((m) => m.type === 'execution_cached')!.data.nodes).toEqual([]);
  });
});

describe('history', () => {
  it('keeps a bounded ring, pages with max_items/offset, deletes and clears', async () => {
    const small = await startSandbox({ log: false, maxHistory: 2 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await postJson(`${small.url}/prompt`, { prompt: minimalWorkflow(`ring/${i}`) });
        ids.push(r.json.prompt_id as string);
      }
      await small.idle();
      // Like ComfyUI: the oldest entry is evicted only once the ring exceeds its size.
      expect(Object.keys(await getJson(`${small.url}/history`))).toEqual(ids.slice(2));
      expect(Object.keys(await getJson(`${small.url}/history?max_items=2`))).toEqual(ids.slice(3));
      expect(Object.keys(await getJson(`${small.url}/history?max_items=1&offset=0`))).toEqual([
        ids[2],
      ]);
      await postJson(`${small.url}/history`, { delete: [ids[3]] });
      expect(Object.keys(await getJson(`${small.url}/history`))).toEqual([ids[2], ids[4]]);
      await postJson(`${small.url}/history`, { clear: true });
      expect(await getJson(`${small.url}/history`)).toEqual({});
    } finally {
      await small.stop();
    }
  });
});

describe('view and uploads', () => {
  const png = (r: number, g: number, b: number, alpha?: boolean) =>
    sharp({
      create: { width: 16, height: 12, channels: alpha ? 4 : 3, background: { r, g, b, alpha: 1 } },
    })
      .png()
      .toBuffer();

  it('uploads with the " (n)" rename rule, overwrite, subfolders and types', async () => {
    const red = await png(255, 0, 0);
    const blue = await png(0, 0, 255);
    const first = await upload(sb.url, 'photo.png', red);
    expect(first).toEqual({
      status: 200,
      json: { name: 'photo.png', subfolder: '', type: 'input' },
    });
    expect((await upload(sb.url, 'photo.png', red)).json.name).toBe('photo.png');
    expect((await upload(sb.url, 'photo.png', blue)).json.name).toBe('photo (1).png');
    expect((await upload(sb.url, 'photo.png', blue)).json.name).toBe('photo (1).png');
    expect((await upload(sb.url, 'photo.png', blue, { overwrite: 'true' })).json.name).toBe(
      'photo.png',
    );
    const sub = await upload(sb.url, 'a.png', red, { subfolder: 'refs', type: 'temp' });
    expect(sub.json).toEqual({ name: 'a.png', subfolder: 'refs', type: 'temp' });
    expect((await upload(sb.url, 'a.png', red, { subfolder: '../../escape' })).status).toBe(400);
    expect((await upload(sb.url, 'a.png', red, { type: 'bogus' })).status).toBe(500);
    const noImage = await fetch(`${sb.url}/upload/image`, { method: 'POST', body: new FormData() });
    expect(noImage.status).toBe(400);

    const view = await fetch(`${sb.url}/view?filename=photo.png&type=input`);
    expect(view.status).toBe(200);
    expect(Buffer.from(await view.arrayBuffer()).equals(blue)).toBe(true);
    const ann = await fetch(
      `${sb.url}/view?filename=${encodeURIComponent('a.png [temp]')}&subfolder=refs`,
    );
    expect(ann.status).toBe(200);
    const objectInfo = (await getJson(`${sb.url}/object_info/LoadImage`)).LoadImage as Loose;
    expect(objectInfo.input.required.image[0]).toEqual(
      expect.arrayContaining(['photo.png', 'photo (1).png']),
    );
  });

  it('protects /view against traversal and serves ranges and channels', async () => {
    await upload(sb.url, 'view.png', await png(10, 200, 30, true));
    const get = (q: string, headers: Record<string, string> = {}) =>
      fetch(`${sb.url}/view?${q}`, { headers });
    expect((await get('filename=nope.png')).status).toBe(404);
    expect((await get('type=input')).status).toBe(404);
    expect((await get('filename=../secret.png&type=input')).status).toBe(400);
    expect((await get('filename=%2Fetc%2Fpasswd')).status).toBe(400);
    expect((await get('filename=view.png&type=bogus')).status).toBe(400);
    expect((await get('filename=view.png&type=input&subfolder=../..')).status).toBe(403);
    const full = await get('filename=view.png&type=input');
    expect(full.headers.get('content-disposition')).toBe('filename="view.png"');
    expect(full.headers.get('x-content-type-options')).toBe('nosniff');
    const bytes = Buffer.from(await full.arrayBuffer());
    const part = await get('filename=view.png&type=input', { Range: 'bytes=0-7' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-7/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(0, 8))).toBe(true);
    const alpha = await get('filename=view.png&type=input&channel=a');
    expect(alpha.headers.get('content-type')).toBe('image/png');
    const meta = await sharp(Buffer.from(await alpha.arrayBuffer())).metadata();
    expect(meta.channels).toBe(4);
    const rgb = await get('filename=view.png&type=input&channel=rgb');
    expect((await sharp(Buffer.from(await rgb.arrayBuffer())).metadata()).channels).toBe(3);
    const preview = await get('filename=view.png&type=input&preview=jpeg;50');
    expect(preview.headers.get('content-type')).toBe('image/jpeg');
  });

  it('composites an uploaded mask into the original_ref alpha', async () => {
    const original = await png(0, 128, 255);
    await upload(sb.url, 'masked.png', original);
    const maskRaw = Buffer.alloc(16 * 12 * 4, 255);
    for (let y = 0; y < 12; y++) for (let x = 0; x < 8; x++) maskRaw[(y * 16 + x) * 4 + 3] = 0;
    const mask = await sharp(maskRaw, { raw: { width: 16, height: 12, channels: 4 } })
      .png()
      .toBuffer();
    const r = await upload(
      sb.url,
      'masked-edit.png',
      mask,
      { original_ref: JSON.stringify({ filename: 'masked.png', subfolder: '', type: 'input' }) },
      '/upload/mask',
    );
    expect(r.json).toEqual({ name: 'masked-edit.png', subfolder: '', type: 'input' });
    const res = await fetch(`${sb.url}/view?filename=masked-edit.png&type=input`);
    const { data, info } = await sharp(Buffer.from(await res.arrayBuffer()))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    expect([...data.subarray(0, 4)]).toEqual([0, 128, 255, 0]);
    const right = (5 * 16 + 12) * 4;
    expect([...data.subarray(right, right + 4)]).toEqual([0, 128, 255, 255]);
    // LoadImage turns that alpha into the inpaint mask (1 − alpha) the workflow can use.
    const wf = {
      '1': { class_type: 'LoadImage', inputs: { image: 'masked-edit.png' } },
      '2': { class_type: 'MaskToImage', inputs: { mask: ['1', 1] } },
      '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'maskcheck' } },
    };
    const c = await connect('mask-check');
    const id = await submit({ prompt: wf, client_id: 'mask-check' });
    await c.finished(id);
    const out = ((await getJson(`${sb.url}/history/${id}`))[id] as Loose).outputs['3'].images[0];
    const img = await sharp(
      Buffer.from(await (await fetch(`${sb.url}/view?${new URLSearchParams(out)}`)).arrayBuffer()),
    )
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(img.data[0]).toBe(255); // left half: transparent → masked
    expect(img.data[(5 * 16 + 12) * img.info.channels]).toBe(0);
  });
});
