// Media: uploads (GraphQL multipart request), the gallery and deletion.
import type { AtelierClient } from './client.ts';
import type {
  DeleteResultFieldsFragment,
  GalleryQuery,
  MediaFieldsFragment,
  MediaKind,
  MediaPurpose,
  UploadMediaMutation,
} from './generated/graphql.ts';
import { DeleteMediaDocument, GalleryDocument, UploadMediaDocument } from './generated/graphql.ts';
import { mutate, query } from './request.ts';

/** Typed document of the `Gallery` query (for urql hooks and custom clients). */

/** A stored media item (uploaded or generated), as the SDK selects it. */
export type Media = MediaFieldsFragment;

/**
 * What `uploadMedia` returns: `UploadMediaSuccess { media }`, or why the file was refused
 * (`InvalidMediaError`, `MediaTooLargeError`, `ValidationError`). Narrow on `__typename`.
 */
export type UploadMediaResult = UploadMediaMutation['uploadMedia'];

/** What `deleteMedia` (and `deleteRun`) return: `DeleteSuccess`, `NotFoundError` or `MediaInUseError`. */
export type DeleteResult = DeleteResultFieldsFragment;

/** One page of the gallery (Relay connection: `edges[].node`, `pageInfo.endCursor`). */
export type GalleryPage = GalleryQuery['gallery'];

/**
 * A file to upload: a browser `File`/`Blob`, bytes (`Buffer`, `Uint8Array`), or, in Node
 * only, a file path.
 */
export type UploadInput = File | Blob | Uint8Array | string;

/** Options of {@link uploadMedia}. */
export interface UploadMediaOptions {
  /** SOURCE (default), MASK (alpha kept) or REFERENCE. */
  purpose?: MediaPurpose;
  /** File name sent with the upload (display only; the server sniffs the bytes). */
  filename?: string;
}

/**
 * Uploads an image with the GraphQL multipart request spec. Refusals come back as typed
 * results; only transport and GraphQL errors throw ({@link AtelierRequestError}).
 *
 * @example
 * ```ts
 * const result = await uploadMedia(client, './photo.jpg', { purpose: 'SOURCE' });
 * if (result.__typename === 'UploadMediaSuccess') console.log(result.media.id);
 * else console.error(result.code, result.message);
 * ```
 */
export async function uploadMedia(
  client: AtelierClient,
  file: UploadInput,
  options: UploadMediaOptions = {},
): Promise<UploadMediaResult> {
  const data = await mutate(client, 'uploadMedia', UploadMediaDocument, {
    file: await toFile(file, options.filename),
    purpose: options.purpose ?? null,
  });
  return data.uploadMedia;
}

/** Deletes one of your media items; a media item still used by a run is refused (`MediaInUseError`). */
export async function deleteMedia(client: AtelierClient, id: string): Promise<DeleteResult> {
  return (await mutate(client, 'deleteMedia', DeleteMediaDocument, { id })).deleteMedia;
}

/** Options of {@link gallery}. */
export interface GalleryOptions {
  /** Page size (at most 100). */
  first?: number;
  /** Cursor to continue after (`pageInfo.endCursor` of the previous page). */
  after?: string | null;
  /** Only media of this kind. */
  kind?: MediaKind;
}

/** Lists your media, newest first, one page at a time. */
export async function gallery(
  client: AtelierClient,
  options: GalleryOptions = {},
): Promise<GalleryPage> {
  const data = await query(client, 'gallery', GalleryDocument, {
    first: options.first ?? null,
    after: options.after ?? null,
    kind: options.kind ?? null,
  });
  return data.gallery;
}

/** Turns any accepted input into a named File (urql's fetchExchange sends Files as multipart parts). */
async function toFile(input: UploadInput, filename: string | undefined): Promise<File> {
  if (typeof input === 'string') {
    const fs = nodeModule<typeof import('node:fs/promises')>('node:fs/promises');
    const bytes = await fs.readFile(input);
    return new File([new Uint8Array(bytes)], filename ?? baseName(input));
  }
  if (input instanceof Blob) {
    if (typeof File !== 'undefined' && input instanceof File && !filename) return input;
    return new File([input], filename ?? ((input as Partial<File>).name || 'upload'), {
      type: input.type,
    });
  }
  return new File([new Uint8Array(input)], filename ?? 'upload');
}

function baseName(filePath: string): string {
  return filePath.split(/[\\/]/).pop() || 'upload';
}

/** A Node built-in, loaded without a static import so browser bundles stay clean. */
function nodeModule<T>(id: string): T {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  if (typeof get !== 'function') throw new Error('Uploading from a file path works in Node only');
  return get(id) as T;
}

export { GalleryDocument };
