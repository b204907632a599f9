// Mask and compositing nodes: masks from channels and alpha, alpha joins, composites,
// outpaint padding, and the background-removal stand-in (a flood from the border).
import {
  channelMask,
  clamp01,
  emptyMask,
  fromSharp,
  maskFromAlpha,
  maskToImage,
  resize,
  resizeMask,
  rgbOnly,
  toSharp,
} from '../images.ts';
import { foregroundMask } from '../render.ts';
import type { ImageValue, Mask, MaskValue, RawImage } from '../values.ts';
import type { NodeImpl } from './context.ts';
import { bool, image, mask, num, optMask, str } from './inputs.ts';

const imageOut = (frames: RawImage[]): ImageValue => ({ kind: 'IMAGE', frames });
const maskOut = (masks: Mask[]): MaskValue => ({ kind: 'MASK', masks });

function growMask(m: Mask, expand: number, tapered: boolean): Mask {
  let data = m.data;
  const { width: w, height: h } = m;
  const grow = expand >= 0;
  for (let it = 0; it < Math.min(Math.abs(expand), 256); it++) {
    const out = new Float32Array(data.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let v = data[y * w + x]!;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            if (tapered && dx !== 0 && dy !== 0) continue;
            const nx = x + dx;
            const ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
            const n = data[ny * w + nx]!;
            v = grow ? Math.max(v, n) : Math.min(v, n);
          }
        }
        out[y * w + x] = v;
      }
    }
    data = out;
  }
  return { width: w, height: h, data };
}

export const maskNodes: Record<string, NodeImpl> = {
  async JoinImageWithAlpha(ctx) {
    const img = image(ctx, 'image');
    const alpha = mask(ctx, 'alpha');
    const n = Math.min(img.frames.length, alpha.masks.length);
    const frames: RawImage[] = [];
    for (let i = 0; i < n; i++) {
      const f = rgbOnly(img.frames[i]!);
      const m = await resizeMask(alpha.masks[i]!, f.width, f.height);
      const data = Buffer.alloc(f.width * f.height * 4);
      for (let p = 0; p < f.width * f.height; p++) {
        data[p * 4] = f.data[p * 3]!;
        data[p * 4 + 1] = f.data[p * 3 + 1]!;
        data[p * 4 + 2] = f.data[p * 3 + 2]!;
        data[p * 4 + 3] = Math.round((1 - clamp01(m.data[p]!)) * 255);
      }
      frames.push({ width: f.width, height: f.height, channels: 4, data });
    }
    return { outputs: [imageOut(frames)] };
  },

  async SplitImageWithAlpha(ctx) {
    const img = image(ctx, 'image');
    return {
      outputs: [
        imageOut(img.frames.map(rgbOnly)),
        maskOut(img.frames.map((f) => maskFromAlpha(f))),
      ],
    };
  },

  async ImageCompositeMasked(ctx) {
    const dest = image(ctx, 'destination');
    const src = image(ctx, 'source');
    const m = optMask(ctx, 'mask');
    const x0 = num(ctx, 'x', 0);
    const y0 = num(ctx, 'y', 0);
    const frames: RawImage[] = [];
    for (const [i, d] of dest.frames.entries()) {
      const df = rgbOnly(d);
      let s = rgbOnly(src.frames[Math.min(i, src.frames.length - 1)]!);
      if (bool(ctx, 'resize_source', false)) s = await resize(s, df.width, df.height);
      const mm = m
        ? await resizeMask(m.masks[Math.min(i, m.masks.length - 1)]!, s.width, s.height)
        : undefined;
      const data = Buffer.from(df.data);
      for (let y = 0; y < s.height; y++) {
        for (let x = 0; x < s.width; x++) {
          const tx = x + x0;
          const ty = y + y0;
          if (tx >= df.width || ty >= df.height) continue;
          const a = mm ? clamp01(mm.data[y * s.width + x]!) : 1;
          for (let c = 0; c < 3; c++) {
            const di = (ty * df.width + tx) * 3 + c;
            data[di] = data[di]! * (1 - a) + s.data[(y * s.width + x) * 3 + c]! * a;
          }
        }
      }
      frames.push({ ...df, data });
    }
    return { outputs: [imageOut(frames)] };
  },

  async ImageToMask(ctx) {
    const channel = str(ctx, 'channel', 'red');
    return { outputs: [maskOut(image(ctx, 'image').frames.map((f) => channelMask(f, channel)))] };
  },

  async MaskToImage(ctx) {
    return { outputs: [imageOut(mask(ctx, 'mask').masks.map(maskToImage))] };
  },

  async InvertMask(ctx) {
    return {
      outputs: [
        maskOut(
          mask(ctx, 'mask').masks.map((m) => ({
            ...m,
            data: m.data.map((v) => 1 - v),
          })),
        ),
      ],
    };
  },

  async SolidMask(ctx) {
    return {
      outputs: [
        maskOut([emptyMask(num(ctx, 'width', 512), num(ctx, 'height', 512), num(ctx, 'value', 1))]),
      ],
    };
  },

  async GrowMask(ctx) {
    const expand = num(ctx, 'expand', 0);
    const tapered = bool(ctx, 'tapered_corners', true);
    return { outputs: [maskOut(mask(ctx, 'mask').masks.map((m) => growMask(m, expand, tapered)))] };
  },

  async ImagePadForOutpaint(ctx) {
    const left = num(ctx, 'left', 0);
    const top = num(ctx, 'top', 0);
    const right = num(ctx, 'right', 0);
    const bottom = num(ctx, 'bottom', 0);
    const feather = num(ctx, 'feathering', 40);
    const frames: RawImage[] = [];
    const masks: Mask[] = [];
    for (const f of image(ctx, 'image').frames) {
      const src = rgbOnly(f);
      const padded = await fromSharp(
        toSharp(src).extend({ left, top, right, bottom, background: { r: 128, g: 128, b: 128 } }),
      );
      frames.push(padded);
      const m = emptyMask(padded.width, padded.height, 1);
      for (let y = 0; y < src.height; y++) {
        for (let x = 0; x < src.width; x++) {
          let v = 0;
          if (feather > 0) {
            const d = Math.min(
              left ? x : Number.POSITIVE_INFINITY,
              right ? src.width - 1 - x : Number.POSITIVE_INFINITY,
              top ? y : Number.POSITIVE_INFINITY,
              bottom ? src.height - 1 - y : Number.POSITIVE_INFINITY,
            );
            if (d < feather) v = ((feather - d) / feather) ** 2;
          }
          m.data[(y + top) * padded.width + x + left] = v;
        }
      }
      masks.push(m);
    }
    return { outputs: [imageOut(frames), maskOut(masks)] };
  },

  async RemoveBackground(ctx) {
    return {
      outputs: [maskOut(image(ctx, 'image').frames.map((f) => foregroundMask(rgbOnly(f))))],
    };
  },
};
