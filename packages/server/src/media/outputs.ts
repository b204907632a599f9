// Stores a run's output files as Media. Images are kept as ComfyUI wrote them when they are
// already what the run asked for (format, default quality, alpha allowed); otherwise they are
// converted to the run's output format and quality (alpha kept for transparent backgrounds).
// Metadata policy (OUTPUT_METADATA): `strip` (default) drops the text chunks ComfyUI writes
// into PNGs (the bound prompt and the whole workflow) without touching the image data, and
// re-encodes a JPEG or WebP that carries EXIF or XMP; `keep` stores the bytes as written.
// Videos get a poster thumbnail, audio its duration.
import { createHash, randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { Media, PrismaClient } from '../generated/prisma/client.ts';
import type { MediaKind, OutputFormat } from '../generated/prisma/enums.ts';
import type { Storage } from '../storage/storage.ts';
import { probeAv } from './av.ts';

export interface OutputFile {
  kind: MediaKind;
  mimeType: string;
  filename: string;
  data: Buffer;
}

export interface OutputOptions {
  format: OutputFormat;
  quality: number | null;
  /** Keep the alpha channel (TRANSPARENT background). */
  keepAlpha: boolean;
  thumbnailEdge: number;
  /** What happens to the metadata ComfyUI wrote into the file (default strip). */
  metadata?: OutputMetadata;
}

/** `strip`: no ComfyUI prompt/workflow metadata in stored images; `keep`: bytes as written. */
export type OutputMetadata = 'strip' | 'keep';

const IMAGE_MIME: Record<OutputFormat, string> = {
  PNG: 'image/png',
  JPEG: 'image/jpeg',
  WEBP: 'image/webp',
};
const IMAGE_EXT: Record<OutputFormat, string> = { PNG: 'png', JPEG: 'jpg', WEBP: 'webp' };

const SHARP_FORMAT: Record<OutputFormat, string> = { PNG: 'png', JPEG: 'jpeg', WEBP: 'webp' };

/** An image output ready to store: its bytes and what they are. */
export interface PreparedImage {
  data: Buffer;
  mimeType: string;
  extension: string;
  width: number;
  height: number;
  hasAlpha: boolean;
  /** False when the bytes are ComfyUI's own (at most with PNG text chunks removed). */
  reencoded: boolean;
}

/**
 * Keeps ComfyUI's image when it already is what the run asked for, else converts it: the
 * same format, no explicit quality for a lossy format (ComfyUI's own is kept), and no alpha
 * channel unless the background is TRANSPARENT.
 */
export async function prepareImage(data: Buffer, options: OutputOptions): Promise<PreparedImage> {
  const meta = await sharp(data, { failOn: 'error' }).metadata();
  const metadata = options.metadata ?? 'strip';
  const sameFormat = meta.format === SHARP_FORMAT[options.format];
  const qualityOk = options.format === 'PNG' || options.quality == null;
  const alphaOk = !meta.hasAlpha || (options.keepAlpha && options.format !== 'JPEG');
  const embedded = options.format !== 'PNG' && Boolean(meta.exif || meta.xmp);
  if (sameFormat && qualityOk && alphaOk && !(metadata === 'strip' && embedded)) {
    const kept = metadata === 'strip' && options.format === 'PNG' ? stripPngText(data) : data;
    if (kept && meta.width && meta.height) {
      return {
        data: kept,
        mimeType: IMAGE_MIME[options.format],
        extension: IMAGE_EXT[options.format],
        width: meta.width,
        height: meta.height,
        hasAlpha: Boolean(meta.hasAlpha),
        reencoded: false,
      };
    }
  }
  const encoded = await encodeImage(data, options);
  return {
    data: encoded.data,
    mimeType: IMAGE_MIME[options.format],
    extension: IMAGE_EXT[options.format],
    width: encoded.info.width,
    height: encoded.info.height,
    hasAlpha: encoded.info.channels === 4,
    reencoded: true,
  };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_TEXT_CHUNKS = new Set(['tEXt', 'iTXt', 'zTXt']);

/**
 * The PNG without its text chunks (where ComfyUI puts `prompt` and `workflow`); every other
 * chunk, image data included, is copied byte for byte. Null when the file is not a
 * well-formed chunk sequence (the caller then re-encodes).
 */
export function stripPngText(png: Buffer): Buffer | null {
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) return null;
  const kept: Buffer[] = [PNG_SIGNATURE];
  let offset = 8;
  let ended = false;
  while (offset < png.length && !ended) {
    if (offset + 12 > png.length) return null;
    const length = png.readUInt32BE(offset);
    const end = offset + 12 + length;
    if (end > png.length) return null;
    const type = png.toString('latin1', offset + 4, offset + 8);
    if (!PNG_TEXT_CHUNKS.has(type)) kept.push(png.subarray(offset, end));
    ended = type === 'IEND';
    offset = end;
  }
  return ended ? Buffer.concat(kept) : null;
}

async function encodeImage(data: Buffer, options: OutputOptions) {
  let image = sharp(data, { failOn: 'error' });
  if (!options.keepAlpha || options.format === 'JPEG')
    image = image.flatten({ background: '#ffffff' });
  const quality = options.quality ?? undefined;
  image =
    options.format === 'PNG'
      ? image.png()
      : options.format === 'JPEG'
        ? image.jpeg({ quality: quality ?? 92 })
        : image.webp({ quality: quality ?? 92 });
  return image.toBuffer({ resolveWithObject: true });
}

/**
 * A WebP thumbnail. libwebp's effort 2 (of 0-6, default 4): on this machine about a third
 * less CPU than the default for a 256-1024 px output, for files a few percent larger; the
 * thumbnail is made before a run's success is recorded, so its time is the run's.
 */
function thumbnail(data: Buffer, edge: number) {
  return sharp(data)
    .resize({ width: edge, height: edge, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80, effort: 2 })
    .toBuffer();
}

/** The Media row of an output whose files are stored (see prepareOutput). */
export interface OutputRow {
  id: string;
  ownerId: string;
  runId: string;
  outputIndex: number;
  kind: MediaKind;
  purpose: 'OUTPUT';
  mimeType: string;
  width: number | null;
  height: number | null;
  durationMs: number | null;
  bytes: number;
  sha256: string;
  hasAlpha: boolean;
  originalName: string;
  originalBytes: number;
  storageKey: string;
  thumbnailKey: string | null;
  thumbnailMime: string | null;
  thumbnailBytes: number | null;
}

/** An output converted and written to storage, whose Media row is not recorded yet. */
export interface PreparedOutput {
  row: OutputRow;
  /** Deletes the stored files (the row could not be recorded). */
  discard(): Promise<void>;
}

/**
 * Converts (images) or probes (video, audio) one output and writes it and its thumbnail to
 * storage. The caller records the row: storeOutput does it alone; the run engine records the
 * last outputs of a run in the statement that ends it.
 */
export async function prepareOutput(
  storage: Storage,
  owner: { ownerId: string; runId: string; index: number },
  file: OutputFile,
  options: OutputOptions,
): Promise<PreparedOutput> {
  const id = randomUUID();
  let data = file.data;
  let mimeType = file.mimeType;
  let extension = file.filename.split('.').pop()?.toLowerCase() || 'bin';
  let width: number | null = null;
  let height: number | null = null;
  let durationMs: number | null = null;
  let hasAlpha = false;
  let thumb: Buffer | null = null;

  const storageKey = () => `outputs/${id}.${extension}`;
  // The file is written while its thumbnail is made (the thumbnail needs only the bytes).
  let stored: Promise<void> | null = null;
  if (file.kind === 'IMAGE') {
    const image = await prepareImage(file.data, options);
    data = image.data;
    mimeType = image.mimeType;
    extension = image.extension;
    width = image.width;
    height = image.height;
    hasAlpha = image.hasAlpha;
    stored = storage.put(storageKey(), data);
    // Awaited below; marked handled now so a failed write never surfaces as unhandled.
    stored.catch(() => {});
    thumb = await thumbnail(data, options.thumbnailEdge).catch(async (error: unknown) => {
      await stored?.then(() => storage.delete(storageKey())).catch(() => {});
      throw error;
    });
  } else {
    const info = await probeAv(file.data, extension, file.kind === 'VIDEO');
    width = info.width;
    height = info.height;
    durationMs = info.durationMs;
    if (info.poster) thumb = await thumbnail(info.poster, options.thumbnailEdge);
  }

  const thumbnailKey = thumb ? `thumbs/${id}.webp` : null;
  const discard = async () => {
    await Promise.all([
      storage.delete(storageKey()),
      thumbnailKey ? storage.delete(thumbnailKey) : null,
    ]);
  };
  // Both written at once; both settled before a failure is handled (and cleaned up).
  const written = await Promise.allSettled([
    stored ?? storage.put(storageKey(), data),
    thumb && thumbnailKey ? storage.put(thumbnailKey, thumb) : null,
  ]);
  const failed = written.find((w) => w.status === 'rejected');
  if (failed) {
    await discard().catch(() => {});
    throw failed.reason;
  }
  return {
    row: {
      id,
      ownerId: owner.ownerId,
      runId: owner.runId,
      outputIndex: owner.index,
      kind: file.kind,
      purpose: 'OUTPUT',
      mimeType,
      width,
      height,
      durationMs,
      bytes: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      hasAlpha,
      originalName: file.filename,
      originalBytes: file.data.length,
      storageKey: storageKey(),
      thumbnailKey,
      thumbnailMime: thumb ? 'image/webp' : null,
      thumbnailBytes: thumb?.length ?? null,
    },
    discard,
  };
}

/** Converts (images), probes (video, audio), stores and records one output. */
export async function storeOutput(
  prisma: PrismaClient,
  storage: Storage,
  owner: { ownerId: string; runId: string; index: number },
  file: OutputFile,
  options: OutputOptions,
): Promise<Media> {
  const prepared = await prepareOutput(storage, owner, file, options);
  try {
    return await prisma.media.create({ data: prepared.row });
  } catch (error) {
    await prepared.discard();
    throw error;
  }
}
