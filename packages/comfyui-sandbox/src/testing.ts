// Helpers for the sandbox's own tests: a WebSocket client that records every frame and waits
// for the next matching one with a timeout (never a fixed sleep), and small HTTP shortcuts.
import WebSocket from 'ws';

/** JSON from the wire, navigated freely in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary response JSON
export type Loose = any;

export type WsJson = { type: string; data: Record<string, unknown> };
export type Frame = { kind: 'json'; msg: WsJson } | { kind: 'binary'; data: Buffer };

export class WsClient {
  readonly frames: Frame[] = [];
  private waiters: Array<{
    from: number;
    test: (f: Frame) => boolean;
    resolve: (f: Frame) => void;
  }> = [];
  closed = false;
  private closeWaiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      const frame: Frame = isBinary
        ? { kind: 'binary', data: buf }
        : { kind: 'json', msg: JSON.parse(buf.toString('utf8')) as WsJson };
      this.frames.push(frame);
      const index = this.frames.length - 1;
      for (const w of [...this.waiters]) {
        if (index >= w.from && w.test(frame)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
    ws.on('close', () => {
      this.closed = true;
      for (const w of this.closeWaiters.splice(0)) w();
    });
    ws.on('error', () => {});
  }

  /** Opens a socket; with `featureFlags` it sends them as its first frame. */
  static async connect(url: string, featureFlags?: Record<string, unknown>): Promise<WsClient> {
    const ws = new WebSocket(url);
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await client.json((m) => m.type === 'status');
    if (featureFlags) {
      ws.send(JSON.stringify({ type: 'feature_flags', data: featureFlags }));
      await client.json((m) => m.type === 'feature_flags');
    }
    return client;
  }

  get messages(): WsJson[] {
    return this.frames.flatMap((f) => (f.kind === 'json' ? [f.msg] : []));
  }

  /** The first frame (at or after index `from`) matching `test`, waiting up to `timeoutMs`. */
  frame(test: (f: Frame) => boolean, timeoutMs = 10_000, from = 0): Promise<Frame> {
    const found = this.frames.slice(from).find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        const seen = this.messages.map((m) => m.type).join(', ');
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a frame; seen: ${seen}`));
      }, timeoutMs);
      const done = (f: Frame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push({ from, test, resolve: done });
    });
  }

  async json(test: (m: WsJson) => boolean, timeoutMs = 10_000, from = 0): Promise<WsJson> {
    const f = await this.frame((x) => x.kind === 'json' && test(x.msg), timeoutMs, from);
    return (f as { msg: WsJson }).msg;
  }

  /** Waits for `executing {node: null, prompt_id}`: the prompt is finished and in history. */
  finished(promptId: string, timeoutMs = 20_000): Promise<WsJson> {
    return this.json(
      (m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId,
      timeoutMs,
    );
  }

  /** The JSON messages carrying this prompt_id, in order. */
  forPrompt(promptId: string): WsJson[] {
    return this.messages.filter((m) => m.data?.prompt_id === promptId);
  }

  waitClosed(timeoutMs = 5_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const p = this.waitClosed();
    this.ws.close();
    return p;
  }
}

export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // empty or text body
  }
  return { status: res.status, json, text };
}

export async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} → ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Uploads bytes as `name` through /upload/image (or /upload/mask with extra fields). */
export async function upload(
  base: string,
  name: string,
  bytes: Buffer,
  fields: Record<string, string> = {},
  route = '/upload/image',
): Promise<{ status: number; json: Record<string, unknown> }> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), name);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(base + route, { method: 'POST', body: form });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // an empty or text body (400, 500)
  }
  return { status: res.status, json };
}

/** A model-free workflow (PROTOCOL.md §8.2). */
export function minimalWorkflow(prefix = 'test/inv', color = 16711680): Record<string, unknown> {
  return {
    '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color } },
    '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
    '3': { class_type: 'ImageBlur', inputs: { image: ['2', 0], blur_radius: 3, sigma: 1.0 } },
    '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: prefix } },
  };
}

/** Text-to-image with a checkpoint (script_examples/websockets_api_example.py), small. */
export function txt2img(
  seed = 5,
  steps = 3,
  text = 'a red fox in snow',
  size = 64,
): Record<string, unknown> {
  return {
    '4': {
      class_type: 'CheckpointLoaderSimple',
      inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' },
    },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: size, height: size, batch_size: 1 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text, clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        model: ['4', 0],
        seed,
        steps,
        cfg: 8.0,
        sampler_name: 'euler',
        scheduler: 'normal',
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
        denoise: 1.0,
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'ComfyUI' } },
  };
}
