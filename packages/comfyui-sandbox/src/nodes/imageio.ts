// Loading uploads and saving results: LoadImage (MASK = 1 − alpha), LoadImageMask,
// SaveImage / PreviewImage (PNG with the prompt in tEXt chunks, ComfyUI's file naming) and
// SaveImageWebsocket (PNG binary frames, no file).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  channelMask,
  decodeFile,
  emptyMask,
  encodePng,
  maskFromAlpha,
  rgbOnly,
} from '../images.ts';
import { pyDumps } from '../pyjson.ts';
import type { Mask, RawImage } from '../values.ts';
import { type NodeContext, NodeError, type NodeImpl, type NodeResult } from './context.ts';
import { annotatedPath, fileName, saveImagePath, tempPrefix, withPngText } from './files.ts';
import { image, str } from './inputs.ts';

async function loadImage(ctx: NodeContext, defaultDir: string): Promise<NodeResult> {
  const name = str(ctx, 'image');
  const file = annotatedPath(name, ctx.dirs, defaultDir);
  if (!file) throw new NodeError(`Invalid image file: ${name}`, 'ValueError');
  let img: RawImage;
  try {
    img = await decodeFile(file);
  } catch (e) {
    throw new NodeError(
      `[Errno 2] No such file or directory: '${file}' (${(e as Error).message})`,
      'FileNotFoundError',
    );
  }
  const m = img.channels === 4 ? maskFromAlpha(img) : emptyMask(64, 64);
  return {
    outputs: [
      { kind: 'IMAGE', frames: [rgbOnly(img)] },
      { kind: 'MASK', masks: [m] },
    ],
  };
}

function pngText(ctx: NodeContext): Record<string, string> {
  const text: Record<string, string> = { prompt: pyDumps(ctx.prompt) };
  const info = ctx.extraData.extra_pnginfo;
  if (info && typeof info === 'object') {
    for (const [k, v] of Object.entries(info)) text[k] = pyDumps(v);
  }
  return text;
}

async function saveImages(
  ctx: NodeContext,
  frames: RawImage[],
  prefix: string,
  dir: string,
  type: 'output' | 'temp',
  compression: number,
): Promise<NodeResult> {
  const first = frames[0];
  const p = saveImagePath(prefix, dir, first?.width ?? 0, first?.height ?? 0);
  const results: Array<Record<string, string>> = [];
  let counter = p.counter;
  const text = pngText(ctx);
  for (const [batch, frame] of frames.entries()) {
    const file = fileName(p.filename, counter, 'png', batch);
    const png = withPngText(await encodePng(frame, compression), text);
    await writeFile(path.join(p.folder, file), png);
    results.push({ filename: file, subfolder: p.subfolder, type });
    counter++;
  }
  return { outputs: [{ kind: 'IMAGE', frames }], ui: { images: results } };
}

export const imageIoNodes: Record<string, NodeImpl> = {
  LoadImage: (ctx) => loadImage(ctx, ctx.dirs.input),

  LoadImageOutput: (ctx) => loadImage(ctx, ctx.dirs.output),

  async LoadImageMask(ctx) {
    const name = str(ctx, 'image');
    const file = annotatedPath(name, ctx.dirs);
    if (!file) throw new NodeError(`Invalid image file: ${name}`, 'ValueError');
    const img = await decodeFile(file);
    const channel = str(ctx, 'channel', 'alpha');
    let m: Mask;
    if (channel === 'alpha') {
      // LoadImageMask inverts only the alpha channel (like LoadImage's mask).
      m = img.channels === 4 ? maskFromAlpha(img) : emptyMask(64, 64);
    } else {
      m = channelMask(img, channel);
    }
    return { outputs: [{ kind: 'MASK', masks: [m] }] };
  },

  SaveImage: (ctx) =>
    saveImages(
      ctx,
      image(ctx, 'images').frames,
      str(ctx, 'filename_prefix', 'ComfyUI'),
      ctx.dirs.output,
      'output',
      4,
    ),

  PreviewImage: (ctx) =>
    saveImages(ctx, image(ctx, 'images').frames, tempPrefix(), ctx.dirs.temp, 'temp', 1),

  async SaveImageWebsocket(ctx) {
    const frames = image(ctx, 'images').frames;
    for (const [i, frame] of frames.entries()) {
      await ctx.progress(i, frames.length, () => frame, 'PNG');
    }
    return { outputs: [], ui: {} };
  },
};
