// Expected failures of media uploads and deletions, with stable codes. No GraphQL here:
// media.schema.ts exposes each class as an object type implementing `Error`.
import { AtelierError } from '../domain-errors.ts';

/** Accepted upload formats, as named in messages. */
export const ACCEPTED_IMAGE_FORMATS = 'JPEG, PNG, WebP, GIF, AVIF or TIFF';

/**
 * The upload is not an image Atelier accepts: empty, not an image, an unsupported format,
 * or truncated/corrupt data. Decided from the bytes, never from the name or client MIME.
 */
export class InvalidMediaError extends AtelierError {
  readonly code = 'INVALID_MEDIA';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidMediaError';
  }
}

/** Which limit an upload exceeded. */
export type MediaLimit = 'BYTES' | 'PIXELS';

/** The upload exceeds the byte limit or the pixel limit (decompression bombs). */
export class MediaTooLargeError extends AtelierError {
  readonly code = 'MEDIA_TOO_LARGE';
  constructor(
    readonly limitKind: MediaLimit,
    readonly limit: number,
    message: string,
  ) {
    super(message);
    this.name = 'MediaTooLargeError';
  }

  static bytes(maxBytes: number): MediaTooLargeError {
    return new MediaTooLargeError(
      'BYTES',
      maxBytes,
      `The file is larger than the upload limit of ${formatBytes(maxBytes)}.`,
    );
  }

  static pixels(maxPixels: number, width?: number, height?: number): MediaTooLargeError {
    const size =
      width && height ? ` (${width}×${height} = ${formatMegapixels(width * height)})` : '';
    return new MediaTooLargeError(
      'PIXELS',
      maxPixels,
      `The image has too many pixels${size}; the limit is ${formatMegapixels(maxPixels)}.`,
    );
  }
}

/** The media is used as an input of a run, so it cannot be deleted while that run exists. */
export class MediaInUseError extends AtelierError {
  readonly code = 'MEDIA_IN_USE';
  constructor(
    readonly mediaId: string,
    readonly runCount: number,
  ) {
    super(
      `The media is an input of ${runCount} run${runCount === 1 ? '' : 's'}; delete ${runCount === 1 ? 'that run' : 'those runs'} first.`,
    );
    this.name = 'MediaInUseError';
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

function formatMegapixels(pixels: number): string {
  return `${+(pixels / 1_000_000).toFixed(1)} MP`;
}
