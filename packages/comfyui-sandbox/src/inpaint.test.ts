// INPAINT repaints only the masked area: the catalog's sd2-inpainting workflow, bound the way
// the server binds it (source → LoadImage, mask → LoadImageMask "alpha", where alpha 0 is
// repainted), runs through the sandbox's /prompt; its output is compared pixel by pixel with
// the source after the workflow's own resize (the same LoadImage → ImageScaleToTotalPixels
// nodes saved on their own). The mask has a different size from the source, so it is resized.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from './sandbox.ts';
import { getJson, type Loose, postJson, upload, WsClient } from './testing.ts';

type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;
type Ref = { node: string; input: string };

const CATALOG_FILE = fileURLToPath(
  new URL('../../server/catalog/models/sd2-inpainting.json', import.meta.url),
);

const SRC_W = 200;
const SRC_H = 150;
const MASK_W = 100;
const MASK_H = 75;
/** The repainted rectangle, as fractions of the image: x 0.1–0.45, y 0.2–0.8. */
const RECT = { x0: 0.1, x1: 0.45, y0: 0.2, y1: 0.8 };
const GROW = 6;
/** Pixels either side of the rectangle's edge left out (grow_mask_by, resize ramps). */
const MARGIN = 12;

let sb: Sandbox;
let ws: WsClient;

function sourcePng(): Promise<Buffer> {
  const data = Buffer.alloc(SRC_W * SRC_H * 3);
  for (let y = 0; y < SRC_H; y++) {
    for (let x = 0; x < SRC_W; x++) {
      const i = (y * SRC_W + x) * 3;
      data[i] = 40 + ((x * 3) % 180);
      data[i + 1] = 30 + ((y * 5) % 190);
      data[i + 2] = 60 + (((x + y) * 2) % 150);
    }
  }
  return sharp(data, { raw: { width: SRC_W, height: SRC_H, channels: 3 } })
    .png()
    .toBuffer();
}

/** Opaque everywhere except the rectangle, which is transparent (LoadImage's MASK = 1 − alpha). */
function maskPng(): Promise<Buffer> {
  const data = Buffer.alloc(MASK_W * MASK_H * 4, 255);
  for (let y = Math.round(RECT.y0 * MASK_H); y < Math.round(RECT.y1 * MASK_H); y++) {
    for (let x = Math.round(RECT.x0 * MASK_W); x < Math.round(RECT.x1 * MASK_W); x++) {
      data[(y * MASK_W + x) * 4 + 3] = 0;
    }
  }
  return sharp(data, { raw: { width: MASK_W, height: MASK_H, channels: 4 } })
    .png()
    .toBuffer();
}

/** The catalog workflow with the run's values written into its bindings. */
function boundInpaint(): Graph {
  const doc = JSON.parse(readFileSync(CATALOG_FILE, 'utf8'));
  const wf = doc.workflows.INPAINT as {
    graph: Graph;
    bindings: {
      prompt: Ref[];
      negativePrompt: Ref[];
      seed: Ref[];
      parameters: Record<string, Ref[]>;
      images: Record<string, Ref>;
    };
  };
  const g = structuredClone(wf.graph);
  const set = (ref: Ref, v: unknown) => {
    g[ref.node]!.inputs[ref.input] = v;
  };
  for (const r of wf.bindings.prompt) set(r, 'a wooden park bench, seamless');
  for (const r of wf.bindings.negativePrompt) set(r, 'blurry');
  for (const r of wf.bindings.seed) set(r, 1234);
  const params: Record<string, number> = { steps: 5, cfg: 7, growMask: GROW, megapixels: 0.25 };
  for (const [name, refs] of Object.entries(wf.bindings.parameters)) {
    for (const r of refs) if (params[name] !== undefined) set(r, params[name]);
  }
  set(wf.bindings.images.source!, 'inpaint-source.png');
  set(wf.bindings.images.mask!, 'inpaint-mask.png');
  return g;
}

/** Runs a graph and returns the first saved image as raw RGB. */
async function runImage(graph: Graph): Promise<{ width: number; height: number; data: Buffer }> {
  const r = await postJson(`${sb.url}/prompt`, { prompt: graph, client_id: 'inpaint' });
  expect(r.status, r.text).toBe(200);
  const id = r.json.prompt_id as string;
  await ws.finished(id, 30_000);
  const error = ws.forPrompt(id).find((m) => m.type === 'execution_error');
  expect(error?.data, JSON.stringify(error?.data)).toBeUndefined();
  const entry = (await getJson(`${sb.url}/history/${id}`))[id] as {
    outputs: Record<string, Loose>;
  };
  const item = Object.values(entry.outputs).flatMap((o) => o.images ?? [])[0];
  const res = await fetch(`${sb.url}/view?${new URLSearchParams(item)}`);
  expect(res.status).toBe(200);
  const { data, info } = await sharp(Buffer.from(await res.arrayBuffer()))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { width: info.width, height: info.height, data };
}

beforeAll(async () => {
  sb = await startSandbox({ log: false });
  ws = await WsClient.connect(sb.wsUrl('inpaint'));
  expect((await upload(sb.url, 'inpaint-source.png', await sourcePng())).status).toBe(200);
  expect((await upload(sb.url, 'inpaint-mask.png', await maskPng())).status).toBe(200);
});

afterAll(async () => {
  await ws?.close();
  await sb?.stop();
});

describe('INPAINT (sd2-inpainting) in the sandbox', () => {
  it('keeps the source outside the mask and repaints inside it', async () => {
    const graph = boundInpaint();
    const out = await runImage(graph);

    // The source after the workflow's own resize: its LoadImage and ImageScaleToTotalPixels.
    const encodeNode = Object.values(graph).find((n) => n.class_type === 'VAEEncodeForInpaint');
    const scaleId = (encodeNode!.inputs.pixels as [string, number])[0];
    const loadId = (graph[scaleId]!.inputs.image as [string, number])[0];
    const reference = await runImage({
      [loadId]: graph[loadId]!,
      [scaleId]: graph[scaleId]!,
      s: {
        class_type: 'SaveImage',
        inputs: { images: [scaleId, 0], filename_prefix: 'test/inpaint-ref' },
      },
    });
    expect([out.width, out.height]).toEqual([reference.width, reference.height]);
    expect(out.width).toBeGreaterThan(SRC_W * 2); // resized: the mask must follow

    const { width: w, height: h } = out;
    const rect = { x0: RECT.x0 * w, x1: RECT.x1 * w, y0: RECT.y0 * h, y1: RECT.y1 * h };
    let outside = 0;
    let outsideChanged = 0;
    let outsideMaxDiff = 0;
    let inside = 0;
    let insideChanged = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const cx = x + 0.5;
        const cy = y + 0.5;
        // Signed distance to the rectangle's edge: > 0 inside, < 0 outside (Chebyshev).
        const dIn = Math.min(cx - rect.x0, rect.x1 - cx, cy - rect.y0, rect.y1 - cy);
        const dOut = Math.max(rect.x0 - cx, cx - rect.x1, rect.y0 - cy, cy - rect.y1);
        const i = (y * w + x) * 3;
        let diff = 0;
        for (let c = 0; c < 3; c++) {
          diff = Math.max(diff, Math.abs(out.data[i + c]! - reference.data[i + c]!));
        }
        if (dOut > MARGIN) {
          outside++;
          outsideMaxDiff = Math.max(outsideMaxDiff, diff);
          if (diff > 2) outsideChanged++;
        } else if (dIn > MARGIN) {
          inside++;
          if (diff > 8) insideChanged++;
        }
      }
    }
    expect(outside).toBeGreaterThan(w * h * 0.5);
    expect(inside).toBeGreaterThan(w * h * 0.1);
    // Outside the mask: the source, pixel for pixel (within 2 levels); inside: repainted,
    // nearly every pixel more than 8 levels away from the source.
    const summary = { outsideChanged, outsideMaxDiff, insideShare: insideChanged / inside };
    expect(summary).toEqual({
      outsideChanged: 0,
      outsideMaxDiff: expect.toSatisfy((d: number) => d <= 2),
      insideShare: expect.toSatisfy((s: number) => s > 0.95),
    });
  });
});
