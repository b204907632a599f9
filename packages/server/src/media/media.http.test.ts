// GET/HEAD /media/{id} and /media/{id}/thumbnail against a started server.
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { noisyPng } from '../../test/fixtures/images.ts';
import { type UploadedMedia, uploadOk, uuidOf } from '../../test/fixtures/upload.ts';
import { startTestServer, type TestServer } from '../../test/harness.ts';
import { parseRange } from './media.http.ts';

let server: TestServer;
let media: UploadedMedia;
let full: Buffer;

beforeAll(async () => {
  server = await startTestServer();
  media = await uploadOk(server.url, await noisyPng(64, 64), { filename: 'noise.png' });
  full = Buffer.from(await (await fetch(media.url)).arrayBuffer());
});
afterAll(async () => {
  await server?.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A request with the path sent exactly as given (fetch would normalize `..`). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(server.url), { path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /media/{id}', () => {
  it('serves the stored bytes with type, length, strong ETag and immutable caching', async () => {
    const res = await fetch(media.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('content-length')).toBe(String(media.bytes));
    expect(res.headers.get('etag')).toBe(`"${media.sha256}"`);
    expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(media.bytes);
    expect(createHash('sha256').update(body).digest('hex')).toBe(media.sha256);
  });

  it('answers 304 when If-None-Match matches (strong, weak or in a list), 200 otherwise', async () => {
    const etag = `"${media.sha256}"`;
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await fetch(media.url, { headers: { 'if-none-match': header } });
      expect(res.status, header).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
    const stale = await fetch(media.url, { headers: { 'if-none-match': '"stale"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(media.bytes);
  });

  it('serves a single range with 206 and the exact bytes', async () => {
    const res = await fetch(media.url, { headers: { range: 'bytes=0-99' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 0-99/${media.bytes}`);
    expect(res.headers.get('content-length')).toBe('100');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(full.subarray(0, 100));

    const tail = await fetch(media.url, { headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(
      `bytes ${media.bytes - 10}-${media.bytes - 1}/${media.bytes}`,
    );
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(full.subarray(media.bytes - 10));

    const rest = await fetch(media.url, { headers: { range: 'bytes=100-' } });
    expect(rest.status).toBe(206);
    expect(Buffer.from(await rest.arrayBuffer())).toEqual(full.subarray(100));
  });

  it('answers 416 with Content-Range bytes */size for an unsatisfiable range', async () => {
    const res = await fetch(media.url, { headers: { range: 'bytes=999999999-' } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${media.bytes}`);
  });

  it('serves the whole file for several ranges, or when If-Range does not match', async () => {
    const multi = await fetch(media.url, { headers: { range: 'bytes=0-1,5-6' } });
    expect(multi.status).toBe(200);
    expect((await multi.arrayBuffer()).byteLength).toBe(media.bytes);
    const ifRange = await fetch(media.url, {
      headers: { range: 'bytes=0-9', 'if-range': '"old"' },
    });
    expect(ifRange.status).toBe(200);
    expect((await ifRange.arrayBuffer()).byteLength).toBe(media.bytes);
  });

  it('answers HEAD with the headers and no body (Range ignored)', async () => {
    const res = await fetch(media.url, { method: 'HEAD', headers: { range: 'bytes=0-9' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(media.bytes));
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('etag')).toBe(`"${media.sha256}"`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves the thumbnail with its own type and ETag', async () => {
    const res = await fetch(media.thumbnailUrl as string);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(etag).not.toBe(`"${media.sha256}"`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-length')).toBe(String(body.length));
    expect(body.subarray(8, 12).toString('latin1')).toBe('WEBP');
    const again = await fetch(media.thumbnailUrl as string, {
      headers: { 'if-none-match': etag as string },
    });
    expect(again.status).toBe(304);
  });

  it('answers 404 for an unknown id or sub-path, 405 for other methods', async () => {
    expect((await fetch(`${server.url}/media/3f2a8a43-5b0e-4a8e-9d4f-6f1f4b1a2c3d`)).status).toBe(
      404,
    );
    expect((await fetch(`${media.url}/original`)).status).toBe(404);
    const post = await fetch(media.url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 404 when the row exists but the file is gone', async () => {
    vi.spyOn(server.app.services.storage, 'stat').mockResolvedValueOnce(null);
    expect((await fetch(media.url)).status).toBe(404);
  });

  it('rejects malformed ids before any lookup or file access', async () => {
    const storage = server.app.services.storage;
    const stat = vi.spyOn(storage, 'stat');
    const read = vi.spyOn(storage, 'read');
    const lookup = vi.spyOn(server.app.db.prisma.media, 'findFirst');

    const encoded = await fetch(`${server.url}/media/..%2F..%2Fetc%2Fpasswd`);
    expect(encoded.status).toBe(400);
    expect(await encoded.text()).not.toContain('root:');
    expect((await fetch(`${server.url}/media/not-a-uuid/thumbnail`)).status).toBe(400);
    expect((await fetch(`${server.url}/media/${uuidOf(media)}x`)).status).toBe(400);
    for (const path of [
      '/media/../../etc/passwd',
      '/media/..%2f..%2fetc%2fpasswd/thumbnail',
      '/media/%00',
    ]) {
      const res = await rawGet(path);
      expect([400, 404], path).toContain(res.status);
      expect(res.body).not.toContain('root:');
    }
    expect(stat).not.toHaveBeenCalled();
    expect(read).not.toHaveBeenCalled();
    expect(lookup).not.toHaveBeenCalled();
  });
});

describe('parseRange', () => {
  it.each([
    ['bytes=0-99', 1000, { start: 0, end: 99 }],
    ['bytes=990-2000', 1000, { start: 990, end: 999 }],
    ['bytes=-100', 1000, { start: 900, end: 999 }],
    ['bytes=-5000', 1000, { start: 0, end: 999 }],
    ['bytes=1000-', 1000, 'unsatisfiable'],
    ['bytes=-0', 1000, 'unsatisfiable'],
    ['bytes=5-1', 1000, null],
    ['bytes=0-1,3-4', 1000, null],
    ['items=0-1', 1000, null],
    ['bytes=abc', 1000, null],
    [undefined, 1000, null],
  ] as const)('%s of %i bytes → %j', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});
