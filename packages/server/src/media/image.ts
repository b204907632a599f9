// Image normalization for uploads: sniff the format from the bytes with sharp, refuse
// decompression bombs before decoding, then auto-orient, strip metadata, bound the longest
// edge, keep or drop alpha, re-encode, and make a WebP thumbnail.
//
// Stored formats (the decision, in one place):
// - PNG  when alpha is kept (masks with an alpha channel, images that really use alpha),
//        for every MASK (masks must stay lossless), and for lossless sources (PNG, GIF,
//        TIFF, lossless WebP);
// - JPEG (quality 92, source chroma subsampling kept) for JPEG and AVIF sources;
// - WebP (quality 92) for lossy WebP sources.
// Output is 8-bit sRGB without EXIF/XMP/ICC (sharp's default: it converts from the
// embedded profile first). Multi-frame GIF/WebP/TIFF keep their first frame only: uploads
// are inputs for generation, which takes still images.
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { ACCEPTED_IMAGE_FORMATS, InvalidMediaError, MediaTooLargeError } from './media.errors.ts';

export type SourceFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff';
export type StoredFormat = 'png' | 'jpeg' | 'webp';

export interface ImageLimits {
  /** Largest accepted width × height of the input, checked from the header before decoding. */
  maxPixels: number;
  /** Longest edge of the stored image; bigger images are scaled down, never up. */
  maxEdge: number;
  /** Longest edge of the thumbnail. */
  thumbnailEdge: number;
}

export interface ProcessedImage {
  data: Buffer;
  format: StoredFormat;
  mimeType: string;
  extension: string;
  width: number;
  height: number;
  channels: number;
  hasAlpha: boolean;
  source: {
    format: SourceFormat;
    bytes: number;
    /** Dimensions after EXIF orientation, before scaling. */
    width: number;
    height: number;
  };
  /**
   * The WebP thumbnail of a PNG, made from the decoded pixels beside its encode (it may still
   * be in the making when the PNG is ready; rejects like processImage itself). Null for JPEG
   * and WebP: their thumbnail is made from the stored bytes (`data`), by the caller, after
   * the upload is answered (Thumbnails).
   */
  thumbnail: Promise<Thumbnail> | null;
}

export interface Thumbnail {
  data: Buffer;
  mimeType: string;
  width: number;
  height: number;
}

const MIME: Record<StoredFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

const EXTENSION: Record<StoredFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp' };

export const THUMBNAIL_MIME = 'image/webp';

/**
 * An image made into a WebP thumbnail of at most `edge` px: uploads' and outputs'. libwebp's
 * effort 2 (of 0-6, default 4): about a third less CPU than the default for a 256-1024 px
 * thumbnail, for files a few percent larger.
 */
export function toThumbnail(image: Sharp, edge: number): Sharp {
  return image
    .resize({ width: edge, height: edge, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80, effort: 2 });
}

/**
 * Validates and normalizes an uploaded image. `keepAlpha` (masks) keeps an alpha channel
 * even when every pixel is opaque. Throws InvalidMediaError or MediaTooLargeError.
 */
export async function processImage(
  input: Buffer,
  options: ImageLimits & { keepAlpha: boolean },
): Promise<ProcessedImage> {
  if (input.length === 0) throw new InvalidMediaError('The file is empty.');

  // Header only: cheap even for huge images. The pixel limit is checked here, before any
  // decoding, and again by libvips (limitInputPixels) as a second line of defence.
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new InvalidMediaError(
      `The file is not an image in a supported format (${ACCEPTED_IMAGE_FORMATS}).`,
      { cause: error },
    );
  }
  const format = sourceFormat(meta);
  if (!format) {
    throw new InvalidMediaError(
      `Unsupported image format${meta.format ? ` (${meta.format})` : ''}; accepted: ${ACCEPTED_IMAGE_FORMATS}.`,
    );
  }
  const { width, height } = meta;
  if (!width || !height) throw new InvalidMediaError('The image has no dimensions.');
  if (width * height > options.maxPixels) {
    throw MediaTooLargeError.pixels(options.maxPixels, width, height);
  }

  const open = () =>
    sharp(input, { limitInputPixels: options.maxPixels, failOn: 'error', pages: 1 });

  return decodeErrors(options.maxPixels, async () => {
    // An alpha channel is kept for masks and when some pixel is not fully opaque; an
    // all-opaque alpha channel (common in PNG exports) is dropped.
    let keepAlpha = false;
    if (meta.hasAlpha) keepAlpha = options.keepAlpha || !(await open().stats()).isOpaque;

    const target: StoredFormat =
      keepAlpha || options.keepAlpha || isLossless(format, input)
        ? 'png'
        : format === 'webp'
          ? 'webp'
          : 'jpeg';

    // Oriented (rotate() without an angle applies the EXIF orientation), scaled and, when
    // its alpha is dropped, flattened; sharp converts from an embedded profile to sRGB and
    // drops all metadata.
    let decode = open().rotate().resize({
      width: options.maxEdge,
      height: options.maxEdge,
      fit: 'inside',
      withoutEnlargement: true,
    });
    if (meta.hasAlpha && !keepAlpha) decode = decode.flatten({ background: '#ffffff' });
    const thumbnailOf = (image: Sharp): Promise<Thumbnail> =>
      toThumbnail(image, options.thumbnailEdge)
        .toBuffer({ resolveWithObject: true })
        .then(({ data, info }) => ({
          data,
          mimeType: THUMBNAIL_MIME,
          width: info.width,
          height: info.height,
        }));

    let stored: { data: Buffer; info: OutputInfo };
    let thumbnail: Promise<Thumbnail> | null = null;
    if (target === 'png') {
      // PNG: the source is decoded once into raw pixels, and the PNG and the thumbnail are
      // made from them at the same time. The PNG encode is the slow part, and a thumbnail
      // made from the encoded PNG would have to decode all of it again.
      const { data: pixels, info: decoded } = await decode
        .raw()
        .toBuffer({ resolveWithObject: true });
      const fromPixels = () =>
        sharp(pixels, {
          raw: { width: decoded.width, height: decoded.height, channels: decoded.channels },
        });
      thumbnail = decodeErrors(options.maxPixels, () => thumbnailOf(fromPixels()));
      // Settled before the PNG's failure is thrown, so no rejection is left unhandled.
      const [png] = await Promise.allSettled([
        fromPixels()
          .png({ compressionLevel: 6, adaptiveFiltering: true })
          .toBuffer({ resolveWithObject: true }),
        thumbnail,
      ]);
      if (png.status === 'rejected') throw png.reason;
      stored = png.value;
    } else {
      // JPEG and WebP: decode, scale and encode are one libvips pipeline, whose encoder
      // runs beside the decoder and which never holds the whole scaled image in memory.
      // Taking the raw pixels out of it for the thumbnail (as for PNG) puts the encode after
      // the decode: 12 MP JPEG to 2048 px, 10–15 ms slower than decoding the encoded file
      // again (at a fraction of its size: shrink-on-load) for the thumbnail, which the
      // caller does once the upload is recorded (about 10 ms the answer does not wait for).
      stored = await (target === 'webp'
        ? decode.webp({ quality: 92, smartSubsample: true })
        : decode.jpeg({
            quality: 92,
            chromaSubsampling: meta.chromaSubsampling === '4:4:4' ? '4:4:4' : '4:2:0',
          })
      ).toBuffer({ resolveWithObject: true });
    }
    const { data, info } = stored;
    // The caller's own failure may come before it awaits the thumbnail.
    thumbnail?.catch(() => {});

    const oriented = meta.autoOrient ?? { width, height };
    return {
      data,
      format: target,
      mimeType: MIME[target],
      extension: EXTENSION[target],
      width: info.width,
      height: info.height,
      channels: info.channels,
      hasAlpha: hasAlphaChannel(info),
      source: { format, bytes: input.length, width: oriented.width, height: oriented.height },
      thumbnail,
    };
  });
}

function sourceFormat(meta: Metadata): SourceFormat | null {
  switch (meta.format) {
    case 'jpeg':
    case 'png':
    case 'webp':
    case 'gif':
    case 'tiff':
      return meta.format;
    // libheif reports AVIF as "heif" with AV1 compression; HEIC (HEVC) is not accepted.
    case 'heif':
      return meta.compression === 'av1' ? 'avif' : null;
    default:
      return null;
  }
}

/** Lossless sources are stored as PNG so normalization adds no compression artefacts. */
function isLossless(format: SourceFormat, input: Buffer): boolean {
  if (format === 'png' || format === 'gif' || format === 'tiff') return true;
  // A WebP's first image chunk is "VP8 " (lossy) or "VP8L" (lossless); extended files
  // (VP8X) put ICCP/ANIM/ALPH chunks before it.
  if (format === 'webp') return input.subarray(0, 4096).includes('VP8L', 12, 'latin1');
  return false;
}

function hasAlphaChannel(info: OutputInfo): boolean {
  return info.channels === 2 || info.channels === 4;
}

/** Maps libvips decode failures to typed errors; anything else is unexpected. */
async function decodeErrors<T>(maxPixels: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InvalidMediaError || error instanceof MediaTooLargeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/exceeds pixel limit/i.test(message)) throw MediaTooLargeError.pixels(maxPixels);
    throw new InvalidMediaError('The image data is corrupt or truncated and cannot be decoded.', {
      cause: error,
    });
  }
}
