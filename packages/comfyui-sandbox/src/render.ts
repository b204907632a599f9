// The sandbox's stand-in for a diffusion model: a deterministic picture from the seed, the
// prompt text and an optional input image, marked SANDBOX in a corner and captioned with the
// prompt. Text is drawn with a built-in 5×7 pixel font as SVG rectangles rendered by sharp,
// so no system font is needed. Video frames move the shapes over time.
import sharp from 'sharp';
import type { Mask, RawImage } from './values.ts';

/** A 32-bit FNV-1a hash of a string. */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hsv(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][((i % 6) + 6) % 6]!;
  return [Math.round(r! * 255), Math.round(g! * 255), Math.round(b! * 255)];
}

export interface PictureRequest {
  seed: number;
  text: string;
  width: number;
  height: number;
  /** Position in a clip, 0..1 (0 for still images). */
  time?: number;
  /** Image to start from (img2img, edit, image-to-video). */
  base?: RawImage;
  /** How much of the generated pattern covers `base` (0..1). */
  strength?: number;
  /** Where to repaint (1) when inpainting; outside it `base` is kept. */
  mask?: Mask;
}

/**
 * Renders the generated picture (without caption): a two-colour gradient background and a
 * few soft-edged discs forming a "subject" near the centre, so background removal finds an
 * edge. Deterministic in (seed, text, size, time).
 */
export function renderPicture(req: PictureRequest): RawImage {
  const { width, height } = req;
  const rand = prng(
    hashString(req.text, (req.seed >>> 0) ^ 0x9e3779b9) ^ Math.floor(req.seed / 2 ** 32),
  );
  const hue = rand();
  const c1 = hsv(hue, 0.35 + rand() * 0.3, 0.85);
  const c2 = hsv((hue + 0.35 + rand() * 0.3) % 1, 0.45 + rand() * 0.3, 0.55);
  const angle = rand() * Math.PI * 2;
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  const time = req.time ?? 0;
  const discs = Array.from({ length: 3 + Math.floor(rand() * 3) }, () => {
    const phase = rand() * Math.PI * 2;
    const orbit = 0.08 + rand() * 0.1;
    return {
      cx: 0.5 + (rand() - 0.5) * 0.3 + Math.cos(phase + time * Math.PI * 2) * orbit,
      cy: 0.5 + (rand() - 0.5) * 0.3 + Math.sin(phase + time * Math.PI * 2) * orbit,
      r: 0.1 + rand() * 0.12,
      color: hsv((hue + 0.5 + (rand() - 0.5) * 0.3) % 1, 0.75 + rand() * 0.25, 0.95),
    };
  });
  const data = Buffer.alloc(width * height * 3);
  const minSide = Math.min(width, height);
  const base = req.base;
  const strength = req.strength ?? 1;
  for (let y = 0; y < height; y++) {
    const v = y / Math.max(1, height - 1);
    for (let x = 0; x < width; x++) {
      const u = x / Math.max(1, width - 1);
      const g = Math.min(1, Math.max(0, 0.5 + ((u - 0.5) * dx + (v - 0.5) * dy)));
      let r = c1[0] + (c2[0] - c1[0]) * g;
      let gg = c1[1] + (c2[1] - c1[1]) * g;
      let b = c1[2] + (c2[2] - c1[2]) * g;
      for (const d of discs) {
        const ddx = ((x - d.cx * width) / minSide) * 1;
        const ddy = (y - d.cy * height) / minSide;
        const dist = Math.sqrt(ddx * ddx + ddy * ddy);
        const edge = Math.min(1, Math.max(0, (d.r - dist) * minSide * 0.5));
        if (edge > 0) {
          r += (d.color[0] - r) * edge;
          gg += (d.color[1] - gg) * edge;
          b += (d.color[2] - b) * edge;
        }
      }
      const i = (y * width + x) * 3;
      if (base) {
        const bi = (y * base.width + x) * base.channels;
        let a = strength;
        if (req.mask) a = Math.min(1, Math.max(0, req.mask.data[y * req.mask.width + x]!));
        r = base.data[bi]! * (1 - a) + r * a;
        gg = base.data[bi + 1]! * (1 - a) + gg * a;
        b = base.data[bi + 2]! * (1 - a) + b * a;
      }
      data[i] = r;
      data[i + 1] = gg;
      data[i + 2] = b;
    }
  }
  return { width, height, channels: 3, data };
}

/** Seeded RGB noise, the "latent" a preview starts from. */
export function renderNoise(seed: number, width: number, height: number): RawImage {
  const rand = prng(seed ^ 0x5bd1e995);
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
  return { width, height, channels: 3, data };
}

/** out = a·(1−t) + b·t, both the same size and channel count. */
export function mix(a: RawImage, b: RawImage, t: number): RawImage {
  const data = Buffer.alloc(b.data.length);
  for (let i = 0; i < data.length; i++) data[i] = a.data[i]! * (1 - t) + b.data[i]! * t;
  return { width: b.width, height: b.height, channels: b.channels, data };
}

// 5×7 pixel font: 7 rows per glyph, 5 bits per row (bit 4 = leftmost column).
const FONT: Record<string, number[]> = {
  A: [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  B: [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
  C: [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
  D: [0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c],
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
  F: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
  G: [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f],
  H: [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
  J: [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
  K: [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
  L: [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
  M: [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11],
  N: [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
  O: [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  P: [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
  Q: [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d],
  R: [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
  S: [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
  T: [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  U: [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  V: [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
  W: [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a],
  X: [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
  Y: [0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04],
  Z: [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
  '0': [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
  '1': [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  '2': [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
  '3': [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  '4': [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
  '5': [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  '6': [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
  '7': [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  '8': [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
  '9': [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  ' ': [0, 0, 0, 0, 0, 0, 0],
  '.': [0, 0, 0, 0, 0, 0x0c, 0x0c],
  ',': [0, 0, 0, 0, 0x0c, 0x04, 0x08],
  ':': [0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0],
  ';': [0, 0x0c, 0x0c, 0, 0x0c, 0x04, 0x08],
  '-': [0, 0, 0, 0x1f, 0, 0, 0],
  '!': [0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04],
  '?': [0x0e, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
  "'": [0x04, 0x04, 0x08, 0, 0, 0, 0],
  '"': [0x0a, 0x0a, 0, 0, 0, 0, 0],
  '/': [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
  '#': [0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a],
  '=': [0, 0, 0x1f, 0, 0x1f, 0, 0],
  '(': [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
  ')': [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
  _: [0, 0, 0, 0, 0, 0, 0x1f],
  '+': [0, 0x04, 0x04, 0x1f, 0x04, 0x04, 0],
  '&': [0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d],
  '%': [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
  '*': [0, 0x04, 0x15, 0x0e, 0x15, 0x04, 0],
};

function textPath(text: string, x0: number, y0: number, scale: number): string {
  let d = '';
  let x = x0;
  for (const ch of text.toUpperCase()) {
    const rows = FONT[ch] ?? FONT['?']!;
    rows.forEach((row, ry) => {
      for (let rx = 0; rx < 5; rx++) {
        if (row & (0x10 >> rx)) {
          d += `M${x + rx * scale} ${y0 + ry * scale}h${scale}v${scale}h-${scale}z`;
        }
      }
    });
    x += 6 * scale;
  }
  return d;
}

function wrap(text: string, perLine: number, maxLines: number): string[] {
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const w = word.length > perLine ? word.slice(0, perLine) : word;
    if (!line) line = w;
    else if (line.length + 1 + w.length <= perLine) line += ` ${w}`;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line) lines.push(line);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    const last = kept[maxLines - 1]!;
    kept[maxLines - 1] = `${last.slice(0, Math.max(0, perLine - 3))}...`;
    return kept;
  }
  return lines;
}

/** The caption overlay as an SVG: a SANDBOX badge top-left, the prompt and seed at the bottom. */
export function captionSvg(width: number, height: number, caption: string, detail: string): string {
  const s = Math.max(1, Math.floor(Math.min(width, height) / 160));
  const perLine = Math.max(4, Math.floor((width - 4 * s) / (6 * s)));
  const lines = [...wrap(caption, perLine, 3), ...wrap(detail, perLine, 1)];
  const lineH = 9 * s;
  const bandH = lines.length * lineH + 3 * s;
  const badge = 'SANDBOX';
  const bs = s * 2;
  const badgeW = badge.length * 6 * bs + 3 * bs;
  const badgeH = 10 * bs;
  let textD = textPath(badge, 2 * bs, 2 * bs, bs);
  lines.forEach((line, i) => {
    textD += textPath(line, 2 * s, height - bandH + 2 * s + i * lineH, s);
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect x="0" y="0" width="${Math.min(width, badgeW)}" height="${Math.min(height, badgeH)}" fill="#000" fill-opacity="0.6"/>` +
    `<rect x="0" y="${height - bandH}" width="${width}" height="${bandH}" fill="#000" fill-opacity="0.55"/>` +
    `<path fill="#fff" d="${textD}"/></svg>`
  );
}

/** Renders the caption for a size once; returns RGBA pixels to blend onto frames. */
export async function renderCaption(
  width: number,
  height: number,
  caption: string,
  detail: string,
): Promise<RawImage> {
  const svg = captionSvg(width, height, caption, detail);
  const { data, info } = await sharp(Buffer.from(svg))
    .resize(width, height, { fit: 'fill' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 4, data };
}

/**
 * Alpha-blends an RGBA overlay of the same size onto an RGB(A) image (a copy). With `mask`
 * (same size, 1 = repainted) the overlay only lands where the picture was repainted, so an
 * inpainted image keeps its source pixels outside the mask.
 */
export function blendOverlay(img: RawImage, overlay: RawImage, mask?: Mask): RawImage {
  const n = img.width * img.height;
  const data = Buffer.from(img.data);
  for (let i = 0; i < n; i++) {
    let a = overlay.data[i * 4 + 3]! / 255;
    if (mask) a *= Math.min(1, Math.max(0, mask.data[i]!));
    if (a === 0) continue;
    const o = i * img.channels;
    for (let c = 0; c < 3; c++) {
      data[o + c] = data[o + c]! * (1 - a) + overlay.data[i * 4 + c]! * a;
    }
  }
  return { ...img, data };
}

/**
 * Background removal stand-in: floods from the border through pixels close to their
 * neighbour (a smooth background) and returns the FOREGROUND mask (1 = subject), like the
 * real RemoveBackground node. Falls back to a centred ellipse when the flood finds almost no
 * background (a busy photo), so transparent outputs always have transparency.
 */
export function foregroundMask(img: RawImage, tolerance = 18): Mask {
  const { width: w, height: h, channels: ch } = img;
  const n = w * h;
  const bg = new Uint8Array(n);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  const push = (i: number) => {
    if (!bg[i]) {
      bg[i] = 1;
      queue[tail++] = i;
    }
  };
  for (let x = 0; x < w; x++) {
    push(x);
    push((h - 1) * w + x);
  }
  for (let y = 0; y < h; y++) {
    push(y * w);
    push(y * w + w - 1);
  }
  const close = (a: number, b: number) => {
    const pa = a * ch;
    const pb = b * ch;
    return (
      Math.abs(img.data[pa]! - img.data[pb]!) +
        Math.abs(img.data[pa + 1]! - img.data[pb + 1]!) +
        Math.abs(img.data[pa + 2]! - img.data[pb + 2]!) <=
      tolerance
    );
  };
  while (head < tail) {
    const i = queue[head++]!;
    const x = i % w;
    const y = (i - x) / w;
    if (x > 0 && !bg[i - 1] && close(i, i - 1)) push(i - 1);
    if (x < w - 1 && !bg[i + 1] && close(i, i + 1)) push(i + 1);
    if (y > 0 && !bg[i - w] && close(i, i - w)) push(i - w);
    if (y < h - 1 && !bg[i + w] && close(i, i + w)) push(i + w);
  }
  const data = new Float32Array(n);
  let background = 0;
  for (let i = 0; i < n; i++) {
    data[i] = bg[i] ? 0 : 1;
    background += bg[i]!;
  }
  const share = background / n;
  if (share < 0.05 || share > 0.97) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const u = (x - w / 2) / (w * 0.36);
        const v = (y - h / 2) / (h * 0.4);
        data[y * w + x] = u * u + v * v <= 1 ? 1 : 0;
      }
    }
  }
  return { width: w, height: h, data };
}
