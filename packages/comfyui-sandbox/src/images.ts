// Pixel helpers over sharp: raw buffers in and out, resizing, masks, encoding.
import sharp, { type Sharp } from 'sharp';
import type { Mask, RawImage } from './values.ts';

export type Kernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos3';

/** ComfyUI's upscale_method names mapped to the closest sharp kernel. */
export function kernelFor(method: unknown): Kernel {
  switch (method) {
    case 'nearest-exact':
      return 'nearest';
    case 'bilinear':
      return 'linear';
    case 'bicubic':
      return 'cubic';
    case 'lanczos':
      return 'lanczos3';
    default:
      return 'mitchell';
  }
}

export function toSharp(img: RawImage): Sharp {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
}

export async function fromSharp(s: Sharp): Promise<RawImage> {
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  const channels = info.channels === 4 ? 4 : 3;
  if (info.channels !== 3 && info.channels !== 4) {
    // Grey or grey+alpha: expand to RGB(A).
    const out = await sharp(data, {
      raw: { width: info.width, height: info.height, channels: info.channels },
    })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      width: out.info.width,
      height: out.info.height,
      channels: out.info.channels === 4 ? 4 : 3,
      data: out.data,
    };
  }
  return { width: info.width, height: info.height, channels, data };
}

export function solid(width: number, height: number, rgb: [number, number, number]): RawImage {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    data[i * 3] = rgb[0];
    data[i * 3 + 1] = rgb[1];
    data[i * 3 + 2] = rgb[2];
  }
  return { width, height, channels: 3, data };
}

export function rgbOnly(img: RawImage): RawImage {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const data = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) {
    data[i * 3] = img.data[i * 4]!;
    data[i * 3 + 1] = img.data[i * 4 + 1]!;
    data[i * 3 + 2] = img.data[i * 4 + 2]!;
  }
  return { width: img.width, height: img.height, channels: 3, data };
}

export async function resize(
  img: RawImage,
  width: number,
  height: number,
  kernel: Kernel = 'mitchell',
  fit: 'fill' | 'cover' = 'fill',
): Promise<RawImage> {
  const w = Math.max(1, Math.round(width));
  const h = Math.max(1, Math.round(height));
  if (w === img.width && h === img.height) return img;
  return fromSharp(toSharp(img).resize(w, h, { kernel, fit, position: 'centre' }));
}

/** Loads an image file: EXIF-rotated, 8-bit RGB or RGBA. */
export async function decodeFile(file: string): Promise<RawImage> {
  return fromSharp(sharp(file, { pages: 1 }).rotate().toColourspace('srgb'));
}

export async function encodePng(img: RawImage, compressionLevel = 4): Promise<Buffer> {
  return toSharp(img).png({ compressionLevel }).toBuffer();
}

export async function encodeJpeg(img: RawImage, quality = 95): Promise<Buffer> {
  return toSharp(rgbOnly(img)).jpeg({ quality }).toBuffer();
}

/** The alpha channel as a MASK the way LoadImage builds it: 1 − alpha. */
export function maskFromAlpha(img: RawImage): Mask {
  const n = img.width * img.height;
  const data = new Float32Array(n);
  if (img.channels === 4) {
    for (let i = 0; i < n; i++) data[i] = 1 - img.data[i * 4 + 3]! / 255;
  }
  return { width: img.width, height: img.height, data };
}

export function emptyMask(width: number, height: number, value = 0): Mask {
  return { width, height, data: new Float32Array(width * height).fill(value) };
}

/**
 * A mask resized (bilinear, like ComfyUI's `interpolate(..., mode="bilinear")`). Stays one
 * channel: sharp turns a 1-channel raw input into sRGB on output unless told otherwise, so the
 * result is taken back to b-w and its channel count checked before it is read.
 */
export async function resizeMask(mask: Mask, width: number, height: number): Promise<Mask> {
  const w = Math.max(1, Math.round(width));
  const h = Math.max(1, Math.round(height));
  if (mask.width === w && mask.height === h) return mask;
  const bytes = Buffer.alloc(mask.width * mask.height);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(clamp01(mask.data[i]!) * 255);
  const { data: out, info } = await sharp(bytes, {
    raw: { width: mask.width, height: mask.height, channels: 1 },
  })
    .resize(w, h, { kernel: 'linear', fit: 'fill' })
    .toColourspace('b-w')
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 1 || info.width !== w || info.height !== h) {
    throw new Error(
      `resizeMask: expected ${w}x${h}x1, sharp returned ${info.width}x${info.height}x${info.channels}`,
    );
  }
  const data = new Float32Array(w * h);
  for (let i = 0; i < data.length; i++) data[i] = out[i]! / 255;
  return { width: w, height: h, data };
}

/**
 * VAEEncodeForInpaint's noise mask: rounded to 0/1, then grown by a `by`×`by` box (ComfyUI's
 * conv2d with a ones kernel and padding ceil((by − 1) / 2), clamped to 1).
 */
export function growMaskBox(mask: Mask, by: number): Mask {
  const { width: w, height: h } = mask;
  const src = mask.data.map((v) => (v >= 0.5 ? 1 : 0));
  const k = Math.max(0, Math.round(by));
  if (k === 0) return { width: w, height: h, data: src };
  const pad = Math.ceil((k - 1) / 2);
  // Output (x, y) covers input x − pad … x − pad + k − 1 (same for y); separable max.
  const rows = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let j = Math.max(0, x - pad); j <= Math.min(w - 1, x - pad + k - 1) && !v; j++) {
        v = src[y * w + j]!;
      }
      rows[y * w + x] = v;
    }
  }
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let i = Math.max(0, y - pad); i <= Math.min(h - 1, y - pad + k - 1) && !v; i++) {
        v = rows[i * w + x]!;
      }
      data[y * w + x] = v;
    }
  }
  return { width: w, height: h, data };
}

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** A channel of an image as a mask (ImageToMask, LoadImageMask). */
export function channelMask(img: RawImage, channel: string): Mask {
  const n = img.width * img.height;
  const data = new Float32Array(n);
  const idx = { red: 0, green: 1, blue: 2, alpha: 3 }[channel] ?? 0;
  for (let i = 0; i < n; i++) {
    if (idx === 3) data[i] = img.channels === 4 ? img.data[i * 4 + 3]! / 255 : 1;
    else data[i] = img.data[i * img.channels + idx]! / 255;
  }
  return { width: img.width, height: img.height, data };
}

export function maskToImage(mask: Mask): RawImage {
  const n = mask.width * mask.height;
  const data = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) {
    const v = Math.round(clamp01(mask.data[i]!) * 255);
    data[i * 3] = v;
    data[i * 3 + 1] = v;
    data[i * 3 + 2] = v;
  }
  return { width: mask.width, height: mask.height, channels: 3, data };
}

/** Sniffed container/image type of a file's first bytes, for tests and /view. */
export function sniff(bytes: Uint8Array): string | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 16));
  if (b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP')
    return 'webp';
  if (b.toString('latin1', 4, 8) === 'ftyp') return 'mp4';
  if (b.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]))) return 'webm';
  if (b.toString('latin1', 0, 4) === 'fLaC') return 'flac';
  if (b.toString('latin1', 0, 4) === 'OggS') return 'ogg';
  if (b.toString('latin1', 0, 3) === 'ID3' || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0))
    return 'mp3';
  return undefined;
}
