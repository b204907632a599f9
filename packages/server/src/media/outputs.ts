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
import { toThumbnail } from './image.ts';

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

/** A WebP thumbnail of an encoded image. */
function thumbnail(data: Buffer, edge: number) {
  return toThumbnail(sharp(data), edge).toBuffer();
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
 * Image outputs' thumbnails, made after the output is stored: beside the statement that
 * records the run's end and the deliveries of its events, not before them (a WebP of a
 * 1024 px output is several milliseconds of CPU). A request for a thumbnail still in the
 * making waits for it here (ensure); one that is missing (its process stopped first, or
 * its making failed) is made then from the stored file: thumbnails are derived from the
 * stored bytes only.
 */
export class Thumbnails {
  private readonly pending = new Map<string, Promise<void>>();
  /** Missing thumbnails being made from their stored file (one making per key). */
  private readonly missing = new Map<string, Promise<boolean>>();

  constructor(
    private readonly storage: Storage,
    /** Longest edge (px). */
    readonly edge: number,
  ) {}

  /** Makes the thumbnail of `data` and stores it under `key`; settles when it is stored. */
  make(key: string, data: Buffer): Promise<void> {
    const made = thumbnail(data, this.edge).then((thumb) => this.storage.put(key, thumb));
    const entry: Promise<void> = made.finally(() => {
      if (this.pending.get(key) === entry) this.pending.delete(key);
    });
    entry.catch(() => {});
    this.pending.set(key, entry);
    return made;
  }

  /**
   * Whether the thumbnail `key` of the stored image `source` is stored: after waiting for it
   * when it is in the making here, or after making it when it is missing (false when the
   * source is gone). Requests for the same missing thumbnail share one making. Rejects when
   * it cannot be made.
   */
  async ensure(key: string, source: string): Promise<boolean> {
    await this.settled(key);
    if (await this.storage.stat(key)) return true;
    let making = this.missing.get(key);
    if (!making) {
      making = this.fromStored(key, source).finally(() => this.missing.delete(key));
      this.missing.set(key, making);
    }
    return making;
  }

  /** Settles once the thumbnail `key`, if it is in the making here, is stored or failed. */
  async settled(key: string): Promise<void> {
    await this.pending.get(key)?.catch(() => {});
  }

  private async fromStored(key: string, source: string): Promise<boolean> {
    if (!(await this.storage.stat(source))) return false;
    const chunks: Buffer[] = [];
    for await (const chunk of this.storage.read(source)) chunks.push(chunk as Buffer);
    await this.make(key, Buffer.concat(chunks));
    return true;
  }

  /** Settles once every thumbnail in the making is stored or failed (a graceful stop). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending.values()]);
  }
}

/**
 * Converts (images) or probes (video, audio) one output and writes it to storage, with a
 * video's poster thumbnail; an image's thumbnail is made by `thumbnails` once the image is
 * stored, not awaited here. The caller records the row: recordOutput, or the statement that
 * ends the run for its last outputs.
 */
export async function prepareOutput(
  storage: Storage,
  owner: { ownerId: string; runId: string; index: number },
  file: OutputFile,
  options: OutputOptions,
  /** Makes an image's thumbnail once the image is stored, without this waiting for it. */
  thumbnails: Thumbnails,
): Promise<PreparedOutput> {
  const id = randomUUID();
  let data = file.data;
  let mimeType = file.mimeType;
  let extension = file.filename.split('.').pop()?.toLowerCase() || 'bin';
  let width: number | null = null;
  let height: number | null = null;
  let durationMs: number | null = null;
  let hasAlpha = false;
  // A poster's thumbnail, made here; an image's is made once the image is stored (`later`).
  let thumb: Buffer | null = null;
  let later: Promise<void> | null = null;

  const storageKey = () => `outputs/${id}.${extension}`;
  const thumbnailKey = `thumbs/${id}.webp`;
  if (file.kind === 'IMAGE') {
    const image = await prepareImage(file.data, options);
    data = image.data;
    mimeType = image.mimeType;
    extension = image.extension;
    width = image.width;
    height = image.height;
    hasAlpha = image.hasAlpha;
  } else {
    const info = await probeAv(file.data, extension, file.kind === 'VIDEO');
    width = info.width;
    height = info.height;
    durationMs = info.durationMs;
    if (info.poster) thumb = await thumbnail(info.poster, thumbnails.edge);
  }

  const hasThumbnail = file.kind === 'IMAGE' || thumb !== null;
  const discard = async () => {
    // A thumbnail still in the making is deleted once it is written.
    await later?.catch(() => {});
    await Promise.all([
      storage.delete(storageKey()),
      hasThumbnail ? storage.delete(thumbnailKey) : null,
    ]);
  };
  // The file and a poster's thumbnail written at once; both settled before a failure is
  // handled (and cleaned up).
  const written = await Promise.allSettled([
    storage.put(storageKey(), data),
    thumb ? storage.put(thumbnailKey, thumb) : null,
  ]);
  const failed = written.find((w) => w.status === 'rejected');
  if (failed) {
    await discard().catch(() => {});
    throw failed.reason;
  }
  if (file.kind === 'IMAGE') {
    later = thumbnails.make(thumbnailKey, data);
    // Not awaited: a thumbnail that could not be made is made when it is asked for.
    later.catch(() => {});
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
      thumbnailKey: hasThumbnail ? thumbnailKey : null,
      thumbnailMime: hasThumbnail ? 'image/webp' : null,
      // Unknown for an image: its thumbnail is made after the row is recorded.
      thumbnailBytes: thumb?.length ?? null,
    },
    discard,
  };
}

/** Records the Media row of a prepared output; its files are deleted when that fails. */
export async function recordOutput(prisma: PrismaClient, prepared: PreparedOutput): Promise<Media> {
  try {
    return await prisma.media.create({ data: prepared.row });
  } catch (error) {
    await prepared.discard();
    throw error;
  }
}

/**
 * One execution's outputs, prepared (converted and stored, see prepareOutput) as soon as the
 * worker reports each file, while the prompt is still finishing and its history is read. The
 * result's outputs then take these: the one made from the same bytes (the same Buffer) is
 * used, anything else is prepared when taken. What no output took is deleted at close.
 */
export class EarlyOutputs {
  private readonly started = new Map<Buffer, Promise<PreparedOutput>>();
  private readonly offered = new Map<Buffer, OutputFile>();
  private closed = false;

  /** `prepare` makes a file's PreparedOutput (its row's outputIndex is set when taken). */
  constructor(private readonly prepare: (file: OutputFile) => Promise<PreparedOutput>) {}

  /** Starts preparing a file the worker reported (ignored once closed, or when known). */
  offer(file: OutputFile): void {
    if (this.closed || this.started.has(file.data)) return;
    const prepared = this.prepare(file);
    // Awaited by take, or by close.
    prepared.catch(() => {});
    this.started.set(file.data, prepared);
    this.offered.set(file.data, file);
  }

  /**
   * `file` prepared as output `index`: its early preparation when there is one of the same
   * file (bytes, name, kind and type) and it succeeded (a failed one is made again here, so
   * the error is this attempt's), else a new one.
   */
  async take(file: OutputFile, index: number): Promise<PreparedOutput> {
    const offered = this.offered.get(file.data);
    const same =
      offered?.filename === file.filename &&
      offered.kind === file.kind &&
      offered.mimeType === file.mimeType;
    const early = same ? this.started.get(file.data) : undefined;
    if (early) this.started.delete(file.data);
    const prepared = (early && (await early.catch(() => null))) ?? (await this.prepare(file));
    return { ...prepared, row: { ...prepared.row, outputIndex: index } };
  }

  /** Takes no more offers; resolves with the preparations no output took (to discard). */
  async close(): Promise<PreparedOutput[]> {
    this.closed = true;
    const rest = [...this.started.values()];
    this.started.clear();
    this.offered.clear();
    const settled = await Promise.allSettled(rest);
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }
}
