// HTTP next to GraphQL: GET/HEAD /media/{id} and /media/{id}/thumbnail, streamed from
// Storage with strong ETags, immutable caching and single byte ranges.
//
// Who may fetch a file: a valid signature (the URLs the API hands out, see auth/media-urls.ts)
// serves it to anyone until it expires; otherwise `Authorization: Bearer <key>` serves the
// key's own files (an admin's: any); without either, AUTH_MODE=local serves the local
// account's files. Everything else, a bad or expired signature included, is 404, exactly
// like an unknown id, so nothing tells whether a file exists.
//
// Status codes: 200 full body; 206 one satisfiable range (multi-range requests get 200
// and the full body); 304 If-None-Match matches; 400 id is not a UUID (checked before any
// lookup, so ids never become paths); 404 unknown id, not yours, unknown sub-path, or
// missing file; 405 other methods (with Allow); 416 unsatisfiable range
// (Content-Range: bytes */size).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { AuthService } from '../auth/auth.service.ts';
import type { MediaUrlSigner, MediaVariant } from '../auth/media-urls.ts';
import { LOCAL_ACCOUNT_ID, readableBy } from '../auth/viewer.ts';
import { AtelierError } from '../domain-errors.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { isUuid } from '../ids.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage/storage.ts';
import type { Thumbnails } from './outputs.ts';

export interface MediaHttpDeps {
  prisma: PrismaClient;
  storage: Storage;
  auth: AuthService;
  signer: MediaUrlSigner;
  /** Images' thumbnails: one still in the making is waited for, a missing one made. */
  thumbnails?: Thumbnails;
  log?: Logger;
}

export type { MediaVariant } from '../auth/media-urls.ts';

/** What the handler needs to serve one file. */
export interface ServedFile {
  storageKey: string;
  mimeType: string;
  etag: string;
  /** A thumbnail's: the stored file it is made from. */
  source?: string;
}

// `private`: files belong to one account; shared caches must not keep them.
const IMMUTABLE = 'private, max-age=31536000, immutable';

/**
 * Finds the file behind /media/{id}[/thumbnail]; `ownerId` limits it to that owner's files
 * (undefined: any owner, for valid signatures and admins).
 */
export async function findServedFile(
  prisma: PrismaClient,
  id: string,
  variant: MediaVariant,
  ownerId?: string,
): Promise<ServedFile | null> {
  if (!isUuid(id)) return null;
  const media = await prisma.media.findFirst({
    where: { id: id.toLowerCase(), ...(ownerId ? { ownerId } : {}) },
    select: {
      storageKey: true,
      mimeType: true,
      sha256: true,
      thumbnailKey: true,
      thumbnailMime: true,
      kind: true,
    },
  });
  if (!media) return null;
  if (variant === 'original') {
    return { storageKey: media.storageKey, mimeType: media.mimeType, etag: `"${media.sha256}"` };
  }
  if (!media.thumbnailKey) return null;
  // The thumbnail is derived from the stored bytes only, so the hash identifies it too.
  return {
    storageKey: media.thumbnailKey,
    mimeType: media.thumbnailMime ?? 'image/webp',
    etag: `"${media.sha256}-thumbnail"`,
    // An image's thumbnail is made after its upload was answered or its run ended (Thumbnails).
    ...(media.kind === 'IMAGE' ? { source: media.storageKey } : {}),
  };
}

/**
 * Whose files this request may fetch: `{}` any (valid signature, admin), `{ ownerId }` that
 * owner's, or null (nothing: answer 404).
 */
async function access(
  req: IncomingMessage,
  deps: MediaHttpDeps,
  id: string,
  variant: MediaVariant,
): Promise<{ ownerId?: string } | null> {
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  if (query.has('sig') || query.has('exp')) {
    return deps.signer.verify(id, variant, query.get('exp'), query.get('sig')) ? {} : null;
  }
  const authorization = req.headers.authorization;
  if (authorization) {
    try {
      return readableBy(await deps.auth.resolve(authorization));
    } catch (error) {
      if (error instanceof AtelierError) return null;
      throw error;
    }
  }
  return deps.auth.mode === 'local' ? { ownerId: LOCAL_ACCOUNT_ID } : null;
}

/** Handles a request whose path starts with /media/. */
export async function handleMediaRequest(
  req: IncomingMessage,
  res: ServerResponse,
  deps: MediaHttpDeps,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  // The raw (still percent-encoded) path: /media/{id} or /media/{id}/thumbnail.
  const match = /^\/media\/([^/]*)(\/thumbnail)?\/?$/.exec(path);
  if (!match) return sendError(res, 404, 'Not found.');
  const id = match[1] ?? '';
  const variant: MediaVariant = match[2] ? 'thumbnail' : 'original';

  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return sendError(res, 405, 'Method not allowed.');
  }
  if (!isUuid(id)) return sendError(res, 400, 'Invalid media id: expected a UUID.');

  const allowed = await access(req, deps, id, variant);
  const file = allowed ? await findServedFile(deps.prisma, id, variant, allowed.ownerId) : null;
  let stored = file ? await deps.storage.stat(file.storageKey) : null;
  if (file?.source && !stored && deps.thumbnails) {
    // An image's thumbnail may be made after its upload was answered or its run ended: wait
    // for it, or make it.
    try {
      if (await deps.thumbnails.ensure(file.storageKey, file.source)) {
        stored = await deps.storage.stat(file.storageKey);
      }
    } catch (error) {
      deps.log?.warn('could not make a thumbnail', { key: file.storageKey, error });
    }
  }
  if (!file || !stored) return sendError(res, 404, 'Media not found.');
  const size = stored.size;

  const common = {
    etag: file.etag,
    vary: 'authorization',
    'cache-control': IMMUTABLE,
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
  };

  if (etagMatches(req.headers['if-none-match'], file.etag)) {
    res.writeHead(304, common);
    res.end();
    return;
  }

  // Range is defined for GET only; If-Range with another validator means "send it all".
  let range: ByteRange | 'unsatisfiable' | null = null;
  const ifRange = req.headers['if-range'];
  if (req.method === 'GET' && (!ifRange || ifRange === file.etag)) {
    range = parseRange(req.headers.range, size);
  }
  if (range === 'unsatisfiable') {
    res.writeHead(416, {
      ...common,
      'content-range': `bytes */${size}`,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': 0,
    });
    res.end();
    return;
  }

  const headers: Record<string, string | number> = { ...common, 'content-type': file.mimeType };
  if (range) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
    headers['content-length'] = range.end - range.start + 1;
    res.writeHead(206, headers);
  } else {
    headers['content-length'] = size;
    res.writeHead(200, headers);
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const body = deps.storage.read(file.storageKey, range ?? undefined);
  try {
    await pipeline(body, res);
  } catch {
    // Client went away or the file vanished mid-stream: headers are out, just close.
    body.destroy();
    res.destroy();
  }
}

interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Parses a Range header against a size. Returns null to serve the whole file (no header,
 * another unit, bad syntax, or several ranges) and 'unsatisfiable' for a 416.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!match?.[1]) return null;
  const specs = match[1].split(',');
  if (specs.length !== 1) return null;
  const spec = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(specs[0] ?? '');
  if (!spec) return null;
  const [, first = '', last = ''] = spec;
  if (first === '' && last === '') return null;
  if (first === '') {
    // Suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  if (end < start) return null; // invalid syntax: ignore the header
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/** If-None-Match uses the weak comparison: W/ prefixes are ignored, `*` matches anything. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

function sendError(res: ServerResponse, status: number, message: string) {
  const body = JSON.stringify({ error: message });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
