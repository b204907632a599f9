// Every catalog workflow (packages/server/catalog/models/*.json) and a set of reference
// workflows from PROTOCOL.md run to execution_success on the sandbox, and the files they
// write are real: images sniff as PNG/WebP, videos as MP4/WebM and decode with ffmpeg to the
// requested number of changing frames, audio as FLAC/MP3/Ogg and decodes to a non-silent
// signal of the requested length. Sizes, frames and steps are shrunk to keep this quick.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniff } from './images.ts';
import { FFMPEG_PATH } from './media.ts';
import { findWorkflows } from './models.ts';
import { type Sandbox, startSandbox } from './sandbox.ts';
import { allNodeSpecs } from './specs.ts';
import type { Loose } from './testing.ts';
import { getJson, postJson, upload, WsClient } from './testing.ts';

type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

const CATALOG_DIR = fileURLToPath(new URL('../../server/catalog/models', import.meta.url));
const FRAMES = 9;
const SIDE = 96;

function catalogWorkflows(): Array<[string, Graph]> {
  if (!existsSync(CATALOG_DIR)) return [];
  const out: Array<[string, Graph]> = [];
  for (const file of readdirSync(CATALOG_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(readFileSync(path.join(CATALOG_DIR, file), 'utf8'));
    } catch {
      continue; // being written right now
    }
    const modes = (doc.workflows ?? doc.modes ?? {}) as Record<string, unknown>;
    for (const [mode, entry] of Object.entries(modes)) {
      for (const [i, graph] of findWorkflows(entry).entries()) {
        out.push([`${file} ${mode}${i ? ` #${i}` : ''}`, graph as Graph]);
      }
    }
  }
  return out;
}

/** Fits a literal under the spec's min/max, on the step grid that starts at min (8n+1 frames). */
function fit(value: number, spec: { min?: number; max?: number; step?: number }): number {
  const step = spec.step && spec.step >= 1 ? spec.step : 1;
  const min = spec.min ?? 0;
  let v = min + Math.floor((value - min) / step) * step;
  if (v < min) v = min;
  if (spec.max !== undefined && v > spec.max) v = spec.max;
  return v;
}

/** Small sizes, few frames and steps, short audio; input images pointed at uploads. */
function shrink(graph: Graph): Graph {
  const g = structuredClone(graph);
  const specs = allNodeSpecs();
  let ref = 0;
  for (const node of Object.values(g)) {
    const spec = specs[node.class_type];
    const inputSpec = (name: string) =>
      spec?.inputs.required?.[name] ?? spec?.inputs.optional?.[name] ?? {};
    const set = (name: string, value: number) => {
      if (typeof node.inputs[name] === 'number') node.inputs[name] = fit(value, inputSpec(name));
    };
    const steps = node.inputs.steps;
    if (typeof steps === 'number') {
      const newSteps = 2;
      for (const k of ['start_at_step', 'end_at_step']) {
        const v = node.inputs[k];
        if (typeof v === 'number' && v < 10000) node.inputs[k] = Math.round((v * newSteps) / steps);
      }
      node.inputs.steps = newSteps;
    }
    for (const k of ['width', 'height']) {
      const v = node.inputs[k];
      if (typeof v === 'number' && v > SIDE) set(k, SIDE);
    }
    set('length', FRAMES);
    set('batch_size', 1);
    if (typeof node.inputs.seconds === 'number') set('seconds', 2);
    if (typeof node.inputs.megapixels === 'number') set('megapixels', 0.01);
    if (node.class_type === 'LoadImage')
      node.inputs.image = ref++ === 0 ? 'source.png' : 'reference.png';
    if (node.class_type === 'LoadImageMask') node.inputs.image = 'mask.png';
  }
  return g;
}

function decode(file: string, args: string[]): Promise<{ code: number; out: Buffer; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(FFMPEG_PATH, ['-v', 'error', '-i', file, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out: Buffer.concat(out), err }));
  });
}

const EXPECTED: Record<string, string[]> = {
  png: ['png'],
  webp: ['webp'],
  mp4: ['mp4'],
  webm: ['webm'],
  flac: ['flac'],
  mp3: ['mp3'],
  opus: ['ogg'],
};

let sb: Sandbox;
let ws: WsClient;
let scratch: string;

async function runGraph(graph: Graph): Promise<{ id: string; outputs: Record<string, Loose> }> {
  const r = await postJson(`${sb.url}/prompt`, { prompt: graph, client_id: 'catalog' });
  expect(r.status, r.text).toBe(200);
  expect(r.json.node_errors).toEqual({});
  const id = r.json.prompt_id as string;
  await ws.finished(id, 40_000);
  const msgs = ws.forPrompt(id);
  const error = msgs.find((m) => m.type === 'execution_error');
  expect(error?.data, JSON.stringify(error?.data)).toBeUndefined();
  expect(msgs.map((m) => m.type)).toContain('execution_success');
  const entry = (await getJson(`${sb.url}/history/${id}`))[id] as {
    outputs: Record<string, Loose>;
  };
  return { id, outputs: entry.outputs };
}

/** Downloads and checks every file an output lists; returns them by extension. */
async function checkFiles(outputs: Record<string, Loose>): Promise<Record<string, string[]>> {
  const byExt: Record<string, string[]> = {};
  const items = Object.values(outputs).flatMap((o) => [...(o.images ?? []), ...(o.audio ?? [])]);
  expect(items.length).toBeGreaterThan(0);
  for (const item of items) {
    const res = await fetch(`${sb.url}/view?${new URLSearchParams(item)}`);
    expect(res.status, item.filename).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const ext = path.extname(item.filename).slice(1);
    expect(EXPECTED[ext], `unexpected extension ${ext}`).toBeDefined();
    expect(EXPECTED[ext]).toContain(sniff(bytes));
    const file = path.join(scratch, `${Math.random().toString(36).slice(2)}.${ext}`);
    writeFileSync(file, bytes);
    byExt[ext] = [...(byExt[ext] ?? []), file];
    if (['mp4', 'webm', 'flac', 'mp3', 'opus'].includes(ext)) {
      const played = await decode(file, ['-f', 'null', '-']);
      expect(played.code, played.err).toBe(0);
    }
    if (['mp4', 'webm'].includes(ext)) {
      expect(Object.values(outputs).some((o) => o.animated?.[0] === true)).toBe(true);
      await checkVideo(file);
    }
    if (['flac', 'mp3', 'opus'].includes(ext)) await checkAudio(file);
  }
  return byExt;
}

async function checkVideo(file: string): Promise<void> {
  const { code, out } = await decode(file, [
    '-f',
    'rawvideo',
    '-pix_fmt',
    'gray',
    '-s',
    '32x32',
    'pipe:1',
  ]);
  expect(code).toBe(0);
  const frames = out.length / (32 * 32);
  expect(frames).toBe(FRAMES);
  const first = out.subarray(0, 1024);
  const last = out.subarray(out.length - 1024);
  let diff = 0;
  for (let i = 0; i < 1024; i++) diff += Math.abs(first[i]! - last[i]!);
  expect(diff / 1024, 'frames change over time').toBeGreaterThan(1);
}

async function checkAudio(file: string): Promise<void> {
  const { code, out } = await decode(file, ['-f', 'f32le', '-ac', '1', '-ar', '8000', 'pipe:1']);
  expect(code).toBe(0);
  const n = out.length / 4;
  expect(n / 8000).toBeGreaterThan(1.5);
  expect(n / 8000).toBeLessThan(2.5);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += out.readFloatLE(i * 4) ** 2;
  expect(Math.sqrt(sum / n), 'not silent').toBeGreaterThan(0.01);
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'sandbox-catalog-'));
  sb = await startSandbox({
    log: false,
    ...(existsSync(CATALOG_DIR) ? { catalogDir: CATALOG_DIR } : {}),
    extraModels: { background_removal: ['birefnet.safetensors'] },
  });
  ws = await WsClient.connect(sb.wsUrl('catalog'));
  const source = await sharp({
    create: { width: 120, height: 80, channels: 3, background: { r: 40, g: 90, b: 160 } },
  })
    .composite([
      {
        input: Buffer.from(
          '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"><circle cx="60" cy="40" r="25" fill="#f5c542"/></svg>',
        ),
      },
    ])
    .png()
    .toBuffer();
  const reference = await sharp({
    create: { width: 64, height: 96, channels: 3, background: { r: 200, g: 60, b: 60 } },
  })
    .png()
    .toBuffer();
  const maskRaw = Buffer.alloc(120 * 80 * 4, 255);
  for (let y = 20; y < 60; y++) {
    for (let x = 30; x < 90; x++) maskRaw[(y * 120 + x) * 4 + 3] = 0;
  }
  const mask = await sharp(maskRaw, { raw: { width: 120, height: 80, channels: 4 } })
    .png()
    .toBuffer();
  for (const [name, bytes] of [
    ['source.png', source],
    ['reference.png', reference],
    ['mask.png', mask],
  ] as const) {
    expect((await upload(sb.url, name, bytes)).json.name).toBe(name);
  }
});

afterAll(async () => {
  await ws?.close();
  await sb?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const catalog = catalogWorkflows();

describe('catalog workflows', () => {
  it.runIf(catalog.length === 0)(
    'has no catalog files to run (packages/server/catalog/models)',
    () => {
      expect(catalog).toEqual([]);
    },
  );

  it.each(catalog)('%s runs to execution_success with real files', async (_name, graph) => {
    const { outputs } = await runGraph(shrink(graph));
    await checkFiles(outputs);
  });
});

const CLIP_TEXT = (text: string, clip: [string, number]) => ({
  class_type: 'CLIPTextEncode',
  inputs: { text, clip },
});

describe('reference workflows', () => {
  it('text-to-image with a transparent background (RemoveBackground → alpha)', async () => {
    const graph: Graph = {
      '1': {
        class_type: 'CheckpointLoaderSimple',
        inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' },
      },
      '2': CLIP_TEXT('a yellow robot, studio photo', ['1', 1]),
      '3': CLIP_TEXT('', ['1', 1]),
      '4': { class_type: 'EmptyLatentImage', inputs: { width: 96, height: 96, batch_size: 2 } },
      '5': {
        class_type: 'KSampler',
        inputs: {
          model: ['1', 0],
          seed: 7,
          steps: 2,
          cfg: 7,
          sampler_name: 'euler',
          scheduler: 'normal',
          positive: ['2', 0],
          negative: ['3', 0],
          latent_image: ['4', 0],
          denoise: 1,
        },
      },
      '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
      '7': {
        class_type: 'LoadBackgroundRemovalModel',
        inputs: { bg_removal_name: 'birefnet.safetensors' },
      },
      '8': {
        class_type: 'RemoveBackground',
        inputs: { bg_removal_model: ['7', 0], image: ['6', 0] },
      },
      '9': { class_type: 'InvertMask', inputs: { mask: ['8', 0] } },
      '10': { class_type: 'JoinImageWithAlpha', inputs: { image: ['6', 0], alpha: ['9', 0] } },
      '11': {
        class_type: 'SaveImage',
        inputs: { images: ['10', 0], filename_prefix: 'transparent' },
      },
    };
    const { outputs } = await runGraph(graph);
    const files = await checkFiles(outputs);
    expect(files.png).toHaveLength(2); // batch_size 2
    const { data, info } = await sharp(files.png![0]!).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    let transparent = 0;
    let opaque = 0;
    for (let i = 3; i < data.length; i += 4) {
      if (data[i] === 0) transparent++;
      if (data[i] === 255) opaque++;
    }
    expect(transparent).toBeGreaterThan(100);
    expect(opaque).toBeGreaterThan(100);
    const [a, b] = await Promise.all(files.png!.map((f) => sharp(f).raw().toBuffer()));
    expect(a!.equals(b!)).toBe(false); // batch items differ
  });

  it('image operations, inpainting conditioning, LoRAs and previews', async () => {
    const graph: Graph = {
      '1': {
        class_type: 'CheckpointLoaderSimple',
        inputs: { ckpt_name: '512-inpainting-ema.safetensors' },
      },
      '2': {
        class_type: 'LoraLoader',
        inputs: {
          model: ['1', 0],
          clip: ['1', 1],
          lora_name: 'Qwen-Image-Lightning-4steps-V1.0.safetensors',
          strength_model: 1,
          strength_clip: 1,
        },
      },
      '3': { class_type: 'LoadImage', inputs: { image: 'source.png' } },
      '4': { class_type: 'LoadImageMask', inputs: { image: 'mask.png', channel: 'alpha' } },
      '5': {
        class_type: 'ImageScale',
        inputs: {
          image: ['3', 0],
          upscale_method: 'bilinear',
          width: 96,
          height: 64,
          crop: 'center',
        },
      },
      '6': CLIP_TEXT('a wooden bench', ['2', 1]),
      '7': CLIP_TEXT('', ['2', 1]),
      '8': {
        class_type: 'InpaintModelConditioning',
        inputs: {
          positive: ['6', 0],
          negative: ['7', 0],
          vae: ['1', 2],
          pixels: ['5', 0],
          mask: ['4', 0],
          noise_mask: true,
        },
      },
      '9': { class_type: 'SetLatentNoiseMask', inputs: { samples: ['8', 2], mask: ['4', 0] } },
      '10': {
        class_type: 'KSampler',
        inputs: {
          model: ['2', 0],
          seed: 3,
          steps: 2,
          cfg: 7,
          sampler_name: 'euler',
          scheduler: 'normal',
          positive: ['8', 0],
          negative: ['8', 1],
          latent_image: ['9', 0],
          denoise: 0.9,
        },
      },
      '11': { class_type: 'VAEDecode', inputs: { samples: ['10', 0], vae: ['1', 2] } },
      '12': { class_type: 'ImageInvert', inputs: { image: ['5', 0] } },
      '13': {
        class_type: 'ImageStitch',
        inputs: {
          image1: ['11', 0],
          image2: ['12', 0],
          direction: 'right',
          match_image_size: true,
          spacing_width: 0,
          spacing_color: 'white',
        },
      },
      '14': { class_type: 'ImageBlur', inputs: { image: ['13', 0], blur_radius: 2, sigma: 1 } },
      '15': {
        class_type: 'SaveImage',
        inputs: { images: ['14', 0], filename_prefix: 'ops/stitched' },
      },
      '16': { class_type: 'PreviewImage', inputs: { images: ['11', 0] } },
      '17': {
        class_type: 'ImageScaleToTotalPixels',
        inputs: {
          image: ['3', 0],
          upscale_method: 'lanczos',
          megapixels: 0.01,
          resolution_steps: 1,
        },
      },
      '18': {
        class_type: 'SaveImage',
        inputs: { images: ['17', 0], filename_prefix: 'ops/scaled' },
      },
    };
    const { outputs } = await runGraph(graph);
    expect(outputs['16'].images[0]).toMatchObject({
      type: 'temp',
      filename: expect.stringMatching(/^ComfyUI_temp_[a-z]{5}_\d{5}_\.png$/),
    });
    expect(outputs['15'].images[0]).toMatchObject({ subfolder: 'ops', type: 'output' });
    await checkFiles(outputs);
    const stitched = await (
      await fetch(`${sb.url}/view?${new URLSearchParams(outputs['15'].images[0])}`)
    ).arrayBuffer();
    expect(await sharp(Buffer.from(stitched)).metadata()).toMatchObject({ width: 192, height: 64 });
    const scaled = await (
      await fetch(`${sb.url}/view?${new URLSearchParams(outputs['18'].images[0])}`)
    ).arrayBuffer();
    const meta = await sharp(Buffer.from(scaled)).metadata();
    expect(Math.abs(meta.width! * meta.height! - 0.01 * 1024 * 1024)).toBeLessThan(300);
    // Outside the inpaint mask the source is kept: the corner pixel matches the input.
    const result = await (
      await fetch(`${sb.url}/view?${new URLSearchParams(outputs['16'].images[0])}`)
    ).arrayBuffer();
    const px = await sharp(Buffer.from(result))
      .extract({ left: 2, top: 30, width: 1, height: 1 })
      .raw()
      .toBuffer();
    expect([...px]).toEqual([40, 90, 160]);
  });

  it('Qwen edit and Flux Kontext references blend the input image', async () => {
    const graph: Graph = {
      '1': {
        class_type: 'UNETLoader',
        inputs: { unet_name: 'qwen_image_edit_fp8_e4m3fn.safetensors', weight_dtype: 'default' },
      },
      '2': {
        class_type: 'CLIPLoader',
        inputs: {
          clip_name: 'qwen_2.5_vl_7b_fp8_scaled.safetensors',
          type: 'qwen_image',
          device: 'default',
        },
      },
      '3': { class_type: 'VAELoader', inputs: { vae_name: 'qwen_image_vae.safetensors' } },
      '4': { class_type: 'ModelSamplingAuraFlow', inputs: { model: ['1', 0], shift: 3.0 } },
      '5': { class_type: 'CFGNorm', inputs: { model: ['4', 0], strength: 1.0 } },
      '6': { class_type: 'LoadImage', inputs: { image: 'source.png' } },
      '7': {
        class_type: 'ImageScale',
        inputs: {
          image: ['6', 0],
          upscale_method: 'area',
          width: 96,
          height: 64,
          crop: 'disabled',
        },
      },
      '8': {
        class_type: 'TextEncodeQwenImageEdit',
        inputs: { clip: ['2', 0], prompt: 'make the sky purple', vae: ['3', 0], image: ['7', 0] },
      },
      '9': {
        class_type: 'TextEncodeQwenImageEdit',
        inputs: { clip: ['2', 0], prompt: '', vae: ['3', 0], image: ['7', 0] },
      },
      '10': { class_type: 'EmptySD3LatentImage', inputs: { width: 96, height: 64, batch_size: 1 } },
      '11': {
        class_type: 'KSampler',
        inputs: {
          model: ['5', 0],
          seed: 7,
          steps: 2,
          cfg: 2.5,
          sampler_name: 'euler',
          scheduler: 'simple',
          positive: ['8', 0],
          negative: ['9', 0],
          latent_image: ['10', 0],
          denoise: 1.0,
        },
      },
      '12': { class_type: 'VAEDecode', inputs: { samples: ['11', 0], vae: ['3', 0] } },
      '13': {
        class_type: 'SaveImage',
        inputs: { images: ['12', 0], filename_prefix: 'qwen_edit' },
      },
    };
    const { outputs } = await runGraph(graph);
    await checkFiles(outputs);
    const withRef = await sharp(
      Buffer.from(
        await (
          await fetch(`${sb.url}/view?${new URLSearchParams(outputs['13'].images[0])}`)
        ).arrayBuffer(),
      ),
    )
      .raw()
      .toBuffer();
    // Without the reference image the same seed and prompt give a different picture.
    const noRef = structuredClone(graph);
    delete noRef['8']!.inputs.image;
    noRef['13']!.inputs.filename_prefix = 'qwen_noref';
    const plain = await runGraph(noRef);
    const withoutRef = await sharp(
      Buffer.from(
        await (
          await fetch(`${sb.url}/view?${new URLSearchParams(plain.outputs['13'].images[0])}`)
        ).arrayBuffer(),
      ),
    )
      .raw()
      .toBuffer();
    expect(withRef.equals(withoutRef)).toBe(false);
  });

  it('Wan 2.1 image-to-video with CLIP vision, saved as MP4, WebM and animated WebP', async () => {
    const graph: Graph = {
      '1': {
        class_type: 'CLIPLoader',
        inputs: {
          clip_name: 'umt5_xxl_fp8_e4m3fn_scaled.safetensors',
          type: 'wan',
          device: 'default',
        },
      },
      '2': { class_type: 'VAELoader', inputs: { vae_name: 'wan_2.1_vae.safetensors' } },
      '3': {
        class_type: 'UNETLoader',
        inputs: {
          unet_name: 'wan2.1_i2v_480p_14B_fp8_scaled.safetensors',
          weight_dtype: 'default',
        },
      },
      '4': { class_type: 'ModelSamplingSD3', inputs: { model: ['3', 0], shift: 8.0 } },
      '5': CLIP_TEXT('the camera slowly pans right', ['1', 0]),
      '6': CLIP_TEXT('static, blurry', ['1', 0]),
      '7': { class_type: 'LoadImage', inputs: { image: 'source.png' } },
      '8': { class_type: 'CLIPVisionLoader', inputs: { clip_name: 'clip_vision_h.safetensors' } },
      '9': {
        class_type: 'CLIPVisionEncode',
        inputs: { clip_vision: ['8', 0], image: ['7', 0], crop: 'none' },
      },
      '10': {
        class_type: 'WanImageToVideo',
        inputs: {
          positive: ['5', 0],
          negative: ['6', 0],
          vae: ['2', 0],
          width: 96,
          height: 64,
          length: FRAMES,
          batch_size: 1,
          clip_vision_output: ['9', 0],
          start_image: ['7', 0],
        },
      },
      '11': {
        class_type: 'KSampler',
        inputs: {
          model: ['4', 0],
          seed: 42,
          steps: 2,
          cfg: 3.5,
          sampler_name: 'euler',
          scheduler: 'simple',
          positive: ['10', 0],
          negative: ['10', 1],
          latent_image: ['10', 2],
          denoise: 1.0,
        },
      },
      '12': { class_type: 'VAEDecode', inputs: { samples: ['11', 0], vae: ['2', 0] } },
      '13': { class_type: 'CreateVideo', inputs: { images: ['12', 0], fps: 16 } },
      '14': {
        class_type: 'SaveVideo',
        inputs: {
          video: ['13', 0],
          filename_prefix: 'video/ComfyUI',
          format: 'auto',
          codec: 'auto',
        },
      },
      '15': {
        class_type: 'SaveWEBM',
        inputs: { images: ['12', 0], filename_prefix: 'ComfyUI', codec: 'vp9', fps: 16, crf: 32 },
      },
      '16': {
        class_type: 'SaveAnimatedWEBP',
        inputs: {
          images: ['12', 0],
          filename_prefix: 'ComfyUI',
          fps: 8,
          lossless: false,
          quality: 80,
          method: 'default',
        },
      },
    };
    const { outputs } = await runGraph(graph);
    expect(outputs['14']).toEqual({
      images: [
        {
          filename: expect.stringMatching(/^ComfyUI_\d{5}_\.mp4$/),
          subfolder: 'video',
          type: 'output',
        },
      ],
      animated: [true],
    });
    expect(outputs['16'].animated).toEqual([true]);
    const files = await checkFiles(outputs);
    expect(files.mp4).toHaveLength(1);
    expect(files.webm).toHaveLength(1);
    const webp = await sharp(files.webp![0]!, { animated: true }).metadata();
    expect(webp.pages).toBe(FRAMES);
  });

  it('LTX-Video image-to-video through SamplerCustom', async () => {
    const graph: Graph = {
      '1': {
        class_type: 'CheckpointLoaderSimple',
        inputs: { ckpt_name: 'ltx-video-2b-v0.9.5.safetensors' },
      },
      '2': {
        class_type: 'CLIPLoader',
        inputs: { clip_name: 't5xxl_fp16.safetensors', type: 'ltxv', device: 'default' },
      },
      '3': CLIP_TEXT('a man sips coffee', ['2', 0]),
      '4': CLIP_TEXT('low quality', ['2', 0]),
      '5': { class_type: 'LoadImage', inputs: { image: 'source.png' } },
      '6': {
        class_type: 'LTXVImgToVideo',
        inputs: {
          positive: ['3', 0],
          negative: ['4', 0],
          vae: ['1', 2],
          image: ['5', 0],
          width: 96,
          height: 64,
          length: FRAMES,
          batch_size: 1,
          strength: 1,
        },
      },
      '7': {
        class_type: 'LTXVConditioning',
        inputs: { positive: ['6', 0], negative: ['6', 1], frame_rate: 24 },
      },
      '8': {
        class_type: 'ModelSamplingLTXV',
        inputs: { model: ['1', 0], max_shift: 2.05, base_shift: 0.95, latent: ['6', 2] },
      },
      '9': {
        class_type: 'LTXVScheduler',
        inputs: {
          steps: 3,
          max_shift: 2.05,
          base_shift: 0.95,
          stretch: true,
          terminal: 0.1,
          latent: ['6', 2],
        },
      },
      '10': { class_type: 'KSamplerSelect', inputs: { sampler_name: 'euler' } },
      '11': {
        class_type: 'SamplerCustom',
        inputs: {
          model: ['8', 0],
          add_noise: true,
          noise_seed: 5,
          cfg: 3,
          positive: ['7', 0],
          negative: ['7', 1],
          sampler: ['10', 0],
          sigmas: ['9', 0],
          latent_image: ['6', 2],
        },
      },
      '12': { class_type: 'VAEDecode', inputs: { samples: ['11', 0], vae: ['1', 2] } },
      '13': { class_type: 'CreateVideo', inputs: { images: ['12', 0], fps: 24 } },
      '14': {
        class_type: 'SaveVideo',
        inputs: { video: ['13', 0], filename_prefix: 'video/ltx', format: 'mp4', codec: 'h264' },
      },
    };
    const { outputs, id } = await runGraph(graph);
    const progress = ws.forPrompt(id).filter((m) => m.type === 'progress');
    expect(progress.map((m) => m.data.value)).toEqual([1, 2, 3]);
    await checkFiles(outputs);
  });

  it('ACE-Step text-to-audio saved as FLAC, MP3 and Opus', async () => {
    const graph: Graph = {
      '1': {
        class_type: 'CheckpointLoaderSimple',
        inputs: { ckpt_name: 'ace_step_v1_3.5b.safetensors' },
      },
      '2': {
        class_type: 'TextEncodeAceStepAudio',
        inputs: { clip: ['1', 1], tags: 'lofi, piano', lyrics: '[inst]', lyrics_strength: 1 },
      },
      '3': { class_type: 'ConditioningZeroOut', inputs: { conditioning: ['2', 0] } },
      '4': { class_type: 'EmptyAceStepLatentAudio', inputs: { seconds: 2, batch_size: 1 } },
      '5': {
        class_type: 'KSampler',
        inputs: {
          model: ['1', 0],
          seed: 11,
          steps: 2,
          cfg: 5,
          sampler_name: 'euler',
          scheduler: 'simple',
          positive: ['2', 0],
          negative: ['3', 0],
          latent_image: ['4', 0],
          denoise: 1,
        },
      },
      '6': { class_type: 'VAEDecodeAudio', inputs: { samples: ['5', 0], vae: ['1', 2] } },
      '7': {
        class_type: 'SaveAudio',
        inputs: { audio: ['6', 0], filename_prefix: 'audio/ComfyUI' },
      },
      '8': {
        class_type: 'SaveAudioMP3',
        inputs: { audio: ['6', 0], filename_prefix: 'audio/ComfyUI', quality: 'V0' },
      },
      '9': {
        class_type: 'SaveAudioOpus',
        inputs: { audio: ['6', 0], filename_prefix: 'audio/ComfyUI', quality: '128k' },
      },
    };
    const { outputs } = await runGraph(graph);
    expect(outputs['7']).toEqual({
      audio: [
        {
          filename: expect.stringMatching(/^ComfyUI_\d{5}_\.flac$/),
          subfolder: 'audio',
          type: 'output',
        },
      ],
    });
    const files = await checkFiles(outputs);
    expect(Object.keys(files).sort()).toEqual(['flac', 'mp3', 'opus']);
  });
});
