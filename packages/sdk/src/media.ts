// Media: uploads (GraphQL multipart request, with upload progress in browsers), the gallery
// and deletion.
import type { AtelierClient } from './client.ts';
import { toDocument } from './document.ts';
import { AtelierRequestError } from './errors.ts';
import type {
  DeleteResultFieldsFragment,
  GalleryQuery,
  MediaFieldsFragment,
  MediaKind,
  MediaPurpose,
  UploadMediaMutation,
} from './generated/graphql.ts';
import {
  DeleteMediaDocument,
  GalleryDocument as GallerySource,
  UploadMediaDocument as UploadMediaSource,
} from './generated/graphql.ts';
import { mutate, query } from './request.ts';

/** Typed document of the `Gallery` query (for urql hooks and custom clients). */
export const GalleryDocument = /* @__PURE__ */ toDocument(GallerySource);

/** Typed document of the `UploadMedia` mutation (for urql hooks and custom clients). */
export const UploadMediaDocument = /* @__PURE__ */ toDocument(UploadMediaSource);

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
  /**
   * Called as the request body goes out: bytes `loaded` of `total` (0 when the browser cannot
   * tell). Where `XMLHttpRequest` exists (browsers) the upload is then sent through it, since
   * `fetch` cannot report upload progress; elsewhere (Node) it is never called.
   */
  onProgress?(progress: { loaded: number; total: number }): void;
}

/**
 * Uploads an image with the GraphQL multipart request spec. Refusals come back as typed
 * results; only transport and GraphQL errors throw ({@link AtelierRequestError}). With
 * `onProgress` in a browser, the same request (built by urql's fetchExchange, so the same
 * headers, cache updates and errors) goes out through `XMLHttpRequest`, which reports how
 * much of the body was sent.
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
  const variables = {
    file: await toFile(file, options.filename),
    purpose: options.purpose ?? null,
  };
  const { onProgress } = options;
  if (!onProgress || typeof XMLHttpRequest === 'undefined') {
    return (await mutate(client, 'uploadMedia', UploadMediaDocument, variables)).uploadMedia;
  }
  // Only the transport changes: urql still builds the multipart body and headers, parses the
  // answer and invalidates cached gallery pages, as it does for the fetch path.
  const result = await client.urql
    .mutation(UploadMediaDocument, variables, { fetch: xhrFetch(onProgress) })
    .toPromise();
  if (result.error) throw AtelierRequestError.fromCombined('uploadMedia', result.error);
  if (!result.data) throw new AtelierRequestError('uploadMedia failed: the response has no data');
  return result.data.uploadMedia;
}

/**
 * A `fetch` for one request that sends through XMLHttpRequest and reports upload progress:
 * method, headers, body, credentials and abort signal as urql passes them; the answer comes
 * back as a `Response` with its status, headers and text.
 */
function xhrFetch(onProgress: NonNullable<UploadMediaOptions['onProgress']>): typeof fetch {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const { signal } = init;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const xhr = new XMLHttpRequest();
      xhr.open(init.method ?? 'GET', input instanceof Request ? input.url : String(input));
      for (const [name, value] of new Headers(init.headers)) xhr.setRequestHeader(name, value);
      xhr.withCredentials = init.credentials === 'include';
      xhr.responseType = 'text';
      xhr.upload.onprogress = (event) =>
        onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : 0 });
      const onAbort = () => xhr.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      xhr.onload = () => {
        done();
        const headers = new Headers();
        for (const line of xhr
          .getAllResponseHeaders()
          .trim()
          .split(/[\r\n]+/)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
        }
        const empty = xhr.status === 204 || xhr.status === 205 || xhr.status === 304;
        try {
          resolve(
            new Response(empty ? null : xhr.responseText, {
              status: xhr.status,
              statusText: xhr.statusText,
              headers,
            }),
          );
        } catch (error) {
          // A status Response cannot hold (outside 200–599).
          reject(error);
        }
      };
      // As fetch does: a network failure is a TypeError, an abort rejects with the reason.
      xhr.onerror = () => {
        done();
        reject(new TypeError('Network request failed'));
      };
      xhr.onabort = () => {
        done();
        reject(signal?.reason ?? new DOMException('The upload was aborted', 'AbortError'));
      };
      xhr.send((init.body ?? null) as XMLHttpRequestBodyInit | null);
    });
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
