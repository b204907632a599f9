import { clamp01, fromSharp, kernelFor, resize, rgbOnly, solid, toSharp } from '../images.ts';
import { prng } from '../render.ts';
import type { ImageValue, Mask, MaskValue, RawImage } from '../values.ts';
import type { NodeImpl } from './context.ts';
import { bool, image, num, optImage, str } from './inputs.ts';

const imageOut = (frames: RawImage[]): ImageValue => ({ kind: 'IMAGE', frames });
const _maskOut = (masks: Mask[]): MaskValue => ({ kind: 'MASK', masks });

async function mapFrames(
  value: ImageValue,
  fn: (f: RawImage) => Promise<RawImage> | RawImage,
): Promise<ImageValue> {
  const frames: RawImage[] = [];
  for (const f of value.frames) frames.push(await fn(f));
  return imageOut(frames);
}

const KONTEXT: Array<[number, number]> = [
  [672, 1568],
  [688, 1504],
  [720, 1456],
  [752, 1392],
  [800, 1328],
  [832, 1248],
  [880, 1184],
  [944, 1104],
  [1024, 1024],
  [1104, 944],
  [1184, 880],
  [1248, 832],
  [1328, 800],
  [1392, 752],
  [1456, 720],
  [1504, 688],
  [1568, 672],
];

const COLORS: Record<string, [number, number, number]> = {
  white: [255, 255, 255],
  black: [0, 0, 0],
  red: [255, 0, 0],
  green: [0, 255, 0],
  blue: [0, 0, 255],
};

async function padTo(
  img: RawImage,
  width: number,
  height: number,
  rgb: [number, number, number],
): Promise<RawImage> {
  if (img.width === width && img.height === height) return img;
  const left = Math.floor((width - img.width) / 2);
  const top = Math.floor((height - img.height) / 2);
  return fromSharp(
    toSharp(img).extend({
      left,
      top,
      right: width - img.width - left,
      bottom: height - img.height - top,
      background: { r: rgb[0], g: rgb[1], b: rgb[2], alpha: 1 },
    }),
  );
}

async function stitch(
  a: RawImage,
  b: RawImage,
  direction: string,
  match: boolean,
  spacing: number,
  color: [number, number, number],
): Promise<RawImage> {
  const horizontal = direction === 'right' || direction === 'left';
  let second = rgbOnly(b);
  let first = rgbOnly(a);
  if (match) {
    second = horizontal
      ? await resize(
          second,
          Math.round((second.width * first.height) / second.height),
          first.height,
        )
      : await resize(second, first.width, Math.round((second.height * first.width) / second.width));
  } else if (horizontal) {
    const h = Math.max(first.height, second.height);
    first = await padTo(first, first.width, h, [0, 0, 0]);
    second = await padTo(second, second.width, h, [0, 0, 0]);
  } else {
    const w = Math.max(first.width, second.width);
    first = await padTo(first, w, first.height, [0, 0, 0]);
    second = await padTo(second, w, second.height, [0, 0, 0]);
  }
  const parts = direction === 'right' || direction === 'down' ? [first, second] : [second, first];
  const width = horizontal ? parts[0]!.width + parts[1]!.width + spacing : parts[0]!.width;
  const height = horizontal ? parts[0]!.height : parts[0]!.height + parts[1]!.height + spacing;
  const out = solid(width, height, color);
  let offset = 0;
  for (const part of parts) {
    for (let y = 0; y < part.height; y++) {
      for (let x = 0; x < part.width; x++) {
        const tx = horizontal ? x + offset : x;
        const ty = horizontal ? y : y + offset;
        if (tx >= width || ty >= height) continue;
        const si = (y * part.width + x) * 3;
        const di = (ty * width + tx) * 3;
        out.data[di] = part.data[si]!;
        out.data[di + 1] = part.data[si + 1]!;
        out.data[di + 2] = part.data[si + 2]!;
      }
    }
    offset += (horizontal ? part.width : part.height) + spacing;
  }
  return out;
}

function blendChannel(a: number, b: number, mode: string): number {
  switch (mode) {
    case 'multiply':
      return a * b;
    case 'screen':
      return 1 - (1 - a) * (1 - b);
    case 'overlay':
      return a <= 0.5 ? 2 * a * b : 1 - 2 * (1 - a) * (1 - b);
    case 'soft_light': {
      const g = a <= 0.25 ? ((16 * a - 12) * a + 4) * a : Math.sqrt(a);
      return b <= 0.5 ? a - (1 - 2 * b) * a * (1 - a) : a + (2 * b - 1) * (g - a);
    }
    case 'difference':
      return a - b;
    default:
      return b;
  }
}

export const imageNodes: Record<string, NodeImpl> = {
  async EmptyImage(ctx) {
    const w = num(ctx, 'width', 512);
    const h = num(ctx, 'height', 512);
    const color = num(ctx, 'color', 0);
    const rgb: [number, number, number] = [(color >> 16) & 255, (color >> 8) & 255, color & 255];
    const frame = solid(w, h, rgb);
    return { outputs: [imageOut(Array.from({ length: num(ctx, 'batch_size', 1) }, () => frame))] };
  },

  async ImageScale(ctx) {
    const value = image(ctx, 'image');
    const kernel = kernelFor(ctx.inputs.upscale_method);
    const crop = str(ctx, 'crop', 'disabled') === 'center' ? 'cover' : 'fill';
    return {
      outputs: [
        await mapFrames(value, (f) => {
          let w = num(ctx, 'width', 512);
          let h = num(ctx, 'height', 512);
          if (w === 0 && h === 0) return f;
          if (w === 0) w = Math.max(1, Math.round((f.width * h) / f.height));
          if (h === 0) h = Math.max(1, Math.round((f.height * w) / f.width));
          return resize(f, w, h, kernel, crop);
        }),
      ],
    };
  },

  async ImageScaleBy(ctx) {
    const s = num(ctx, 'scale_by', 1);
    const kernel = kernelFor(ctx.inputs.upscale_method);
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), (f) =>
          resize(f, Math.round(f.width * s), Math.round(f.height * s), kernel),
        ),
      ],
    };
  },

  async ImageScaleToTotalPixels(ctx) {
    const total = num(ctx, 'megapixels', 1) * 1024 * 1024;
    const steps = Math.max(1, num(ctx, 'resolution_steps', 1));
    const kernel = kernelFor(ctx.inputs.upscale_method);
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), (f) => {
          const s = Math.sqrt(total / (f.width * f.height));
          const w = Math.max(steps, Math.round((f.width * s) / steps) * steps);
          const h = Math.max(steps, Math.round((f.height * s) / steps) * steps);
          return resize(f, w, h, kernel);
        }),
      ],
    };
  },

  async ImageScaleToMaxDimension(ctx) {
    const largest = num(ctx, 'largest_size', 512);
    const kernel = kernelFor(ctx.inputs.upscale_method);
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), (f) => {
          const s = largest / Math.max(f.width, f.height);
          return resize(f, Math.round(f.width * s), Math.round(f.height * s), kernel);
        }),
      ],
    };
  },

  async ResizeAndPadImage(ctx) {
    const tw = num(ctx, 'target_width', 512);
    const th = num(ctx, 'target_height', 512);
    const color = COLORS[str(ctx, 'padding_color', 'white')] ?? COLORS.white!;
    const kernel = kernelFor(ctx.inputs.interpolation);
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), async (f) => {
          const s = Math.min(tw / f.width, th / f.height);
          const scaled = await resize(
            rgbOnly(f),
            Math.round(f.width * s),
            Math.round(f.height * s),
            kernel,
          );
          return padTo(scaled, tw, th, color);
        }),
      ],
    };
  },

  async FluxKontextImageScale(ctx) {
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), (f) => {
          const aspect = f.width / f.height;
          let best = KONTEXT[8]!;
          let bestDiff = Number.POSITIVE_INFINITY;
          for (const [w, h] of KONTEXT) {
            const d = Math.abs(aspect - w / h);
            if (d < bestDiff) {
              bestDiff = d;
              best = [w, h];
            }
          }
          return resize(f, best[0], best[1], 'lanczos3', 'cover');
        }),
      ],
    };
  },

  async ImageInvert(ctx) {
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), (f) => {
          const data = Buffer.from(f.data);
          for (let i = 0; i < data.length; i++) {
            if (f.channels === 4 && i % 4 === 3) continue;
            data[i] = 255 - data[i]!;
          }
          return { ...f, data };
        }),
      ],
    };
  },

  async TextOverlay(ctx) {
    // No font rendering: a band of the text colour (a socketless COLOR widget, "#rrggbb")
    // where the line of text would go, one font size high, so the result shows both.
    const hex = /^#?([0-9a-f]{6})$/i.exec(str(ctx, 'color', '#ffffff'))?.[1] ?? 'ffffff';
    const rgb = [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
    const bottom = str(ctx, 'position', 'top') === 'bottom';
    const text = str(ctx, 'text', '');
    return {
      outputs: [
        await mapFrames(image(ctx, 'images'), (f) => {
          if (!text) return f;
          const band = Math.max(1, Math.round((f.height * num(ctx, 'font_size', 5)) / 100));
          const data = Buffer.from(f.data);
          const rows = bottom ? [f.height - band, f.height] : [0, band];
          for (let y = rows[0]!; y < rows[1]!; y++) {
            for (let x = 0; x < f.width; x++) {
              const at = (y * f.width + x) * f.channels;
              for (let c = 0; c < 3; c++) data[at + c] = rgb[c]!;
            }
          }
          return { ...f, data };
        }),
      ],
    };
  },

  async ImageBlur(ctx) {
    const sigma = Math.max(0.3, num(ctx, 'sigma', 1));
    if (num(ctx, 'blur_radius', 1) === 0) return { outputs: [image(ctx, 'image')] };
    return {
      outputs: [await mapFrames(image(ctx, 'image'), (f) => fromSharp(toSharp(f).blur(sigma)))],
    };
  },

  async ImageSharpen(ctx) {
    const sigma = Math.max(0.3, num(ctx, 'sigma', 1));
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), (f) => fromSharp(toSharp(f).sharpen({ sigma }))),
      ],
    };
  },

  async ImageBlend(ctx) {
    const a = image(ctx, 'image1');
    const b = image(ctx, 'image2');
    const factor = num(ctx, 'blend_factor', 0.5);
    const mode = str(ctx, 'blend_mode', 'normal');
    const frames: RawImage[] = [];
    for (const [i, f] of a.frames.entries()) {
      const fa = rgbOnly(f);
      const fb = rgbOnly(
        await resize(b.frames[Math.min(i, b.frames.length - 1)]!, fa.width, fa.height, 'cubic'),
      );
      const data = Buffer.alloc(fa.data.length);
      for (let k = 0; k < data.length; k++) {
        const x = fa.data[k]! / 255;
        const y = fb.data[k]! / 255;
        const blended = blendChannel(x, y, mode);
        data[k] = Math.round(clamp01(x * (1 - factor) + blended * factor) * 255);
      }
      frames.push({ ...fa, data });
    }
    return { outputs: [imageOut(frames)] };
  },

  async ImageAddNoise(ctx) {
    const strength = num(ctx, 'strength', 0.5);
    const rand = prng(num(ctx, 'seed', 0) >>> 0);
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), (f) => {
          const data = Buffer.from(f.data);
          for (let i = 0; i < data.length; i++) {
            data[i] = Math.max(0, Math.min(255, data[i]! + (rand() - 0.5) * 2 * strength * 255));
          }
          return { ...f, data };
        }),
      ],
    };
  },

  async ImageStitch(ctx) {
    const a = image(ctx, 'image1');
    const b = optImage(ctx, 'image2');
    if (!b) return { outputs: [a] };
    const color = COLORS[str(ctx, 'spacing_color', 'white')] ?? COLORS.white!;
    const frames: RawImage[] = [];
    for (const [i, f] of a.frames.entries()) {
      frames.push(
        await stitch(
          f,
          b.frames[Math.min(i, b.frames.length - 1)]!,
          str(ctx, 'direction', 'right'),
          bool(ctx, 'match_image_size', true),
          num(ctx, 'spacing_width', 0),
          color,
        ),
      );
    }
    return { outputs: [imageOut(frames)] };
  },

  async ImageCrop(ctx) {
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), (f) => {
          const x = Math.min(num(ctx, 'x', 0), f.width - 1);
          const y = Math.min(num(ctx, 'y', 0), f.height - 1);
          const w = Math.max(1, Math.min(num(ctx, 'width', 512), f.width - x));
          const h = Math.max(1, Math.min(num(ctx, 'height', 512), f.height - y));
          return fromSharp(toSharp(f).extract({ left: x, top: y, width: w, height: h }));
        }),
      ],
    };
  },

  async ImageFlip(ctx) {
    const vertical = str(ctx, 'flip_method').startsWith('x-axis');
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), (f) =>
          fromSharp(vertical ? toSharp(f).flip() : toSharp(f).flop()),
        ),
      ],
    };
  },

  async ImageRotate(ctx) {
    const deg = Number.parseInt(str(ctx, 'rotation', 'none'), 10) || 0;
    return {
      outputs: [
        await mapFrames(image(ctx, 'image'), (f) => (deg ? fromSharp(toSharp(f).rotate(deg)) : f)),
      ],
    };
  },

  async ImageBatch(ctx) {
    const a = image(ctx, 'image1');
    const b = image(ctx, 'image2');
    const first = a.frames[0]!;
    const rest: RawImage[] = [];
    for (const f of b.frames)
      rest.push(await resize(f, first.width, first.height, 'cubic', 'cover'));
    return { outputs: [imageOut([...a.frames, ...rest])] };
  },

  async BatchImagesNode(ctx) {
    const frames: RawImage[] = [];
    for (const [name, v] of Object.entries(ctx.inputs)) {
      if (!name.startsWith('images.')) continue;
      const value = v as ImageValue;
      if (value?.kind !== 'IMAGE') continue;
      for (const f of value.frames) {
        const first = frames[0];
        frames.push(first ? await resize(f, first.width, first.height, 'cubic', 'cover') : f);
      }
    }
    return { outputs: [imageOut(frames)] };
  },

  async RepeatImageBatch(ctx) {
    const img = image(ctx, 'image');
    const amount = num(ctx, 'amount', 1);
    return { outputs: [imageOut(Array.from({ length: amount }, () => img.frames).flat())] };
  },

  async ImageFromBatch(ctx) {
    const img = image(ctx, 'image');
    let index = num(ctx, 'batch_index', 0);
    if (index < 0) index = Math.max(0, img.frames.length + index);
    index = Math.min(index, img.frames.length - 1);
    return { outputs: [imageOut(img.frames.slice(index, index + num(ctx, 'length', 1)))] };
  },

  async GetImageSize(ctx) {
    const img = image(ctx, 'image');
    const f = img.frames[0]!;
    return { outputs: [f.width, f.height, img.frames.length] };
  },
};
