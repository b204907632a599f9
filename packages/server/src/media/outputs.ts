// Stores a run's output files as Media: images converted to the run's output format and
// quality (alpha kept for transparent backgrounds), videos with a poster thumbnail, audio
// with its duration.
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
}

const IMAGE_MIME: Record<OutputFormat, string> = {
  PNG: 'image/png',
  JPEG: 'image/jpeg',
  WEBP: 'image/webp',
};
const IMAGE_EXT: Record<OutputFormat, string> = { PNG: 'png', JPEG: 'jpg', WEBP: 'webp' };

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

function thumbnail(data: Buffer, edge: number) {
  return sharp(data)
    .resize({ width: edge, height: edge, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer();
}

/** Converts (images), probes (video, audio), stores and records one output. */
export async function storeOutput(
  prisma: PrismaClient,
  storage: Storage,
  owner: { ownerId: string; runId: string; index: number },
  file: OutputFile,
  options: OutputOptions,
): Promise<Media> {
  const id = randomUUID();
  let data = file.data;
  let mimeType = file.mimeType;
  let extension = file.filename.split('.').pop()?.toLowerCase() || 'bin';
  let width: number | null = null;
  let height: number | null = null;
  let durationMs: number | null = null;
  let hasAlpha = false;
  let thumb: Buffer | null = null;

  if (file.kind === 'IMAGE') {
    const encoded = await encodeImage(file.data, options);
    data = encoded.data;
    mimeType = IMAGE_MIME[options.format];
    extension = IMAGE_EXT[options.format];
    width = encoded.info.width;
    height = encoded.info.height;
    hasAlpha = encoded.info.channels === 4;
    thumb = await thumbnail(data, options.thumbnailEdge);
  } else {
    const info = await probeAv(file.data, extension, file.kind === 'VIDEO');
    width = info.width;
    height = info.height;
    durationMs = info.durationMs;
    if (info.poster) thumb = await thumbnail(info.poster, options.thumbnailEdge);
  }

  const storageKey = `outputs/${id}.${extension}`;
  const thumbnailKey = thumb ? `thumbs/${id}.webp` : null;
  await storage.put(storageKey, data);
  if (thumb && thumbnailKey) await storage.put(thumbnailKey, thumb);
  try {
    return await prisma.media.create({
      data: {
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
        storageKey,
        thumbnailKey,
        thumbnailMime: thumb ? 'image/webp' : null,
        thumbnailBytes: thumb?.length ?? null,
      },
    });
  } catch (error) {
    await storage.delete(storageKey);
    if (thumbnailKey) await storage.delete(thumbnailKey);
    throw error;
  }
}
