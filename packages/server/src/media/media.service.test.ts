// MediaService on a real database and storage: capped reading, atomicity, dedup races.
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { globalId } from '../../test/fixtures/hardening.ts';
import { solid } from '../../test/fixtures/images.ts';
import { listFiles, mediaDir } from '../../test/fixtures/upload.ts';
import { startTestServer, type TestServer } from '../../test/harness.ts';
import { LOCAL_ACCOUNT_ID } from '../auth/viewer.ts';
import { InvalidMediaError, MediaTooLargeError } from './media.errors.ts';
import { MediaService, readCapped } from './media.service.ts';

/** A stream of `chunks` chunks of `size` bytes, produced on demand; counts what it made. */
function counted(chunks: number, size: number) {
  const state = { produced: 0 };
  let left = chunks;
  const stream = new Readable({
    read() {
      // Asynchronous like a socket, so the reader gets a turn between chunks.
      setImmediate(() => {
        if (left-- <= 0) return this.push(null);
        state.produced += size;
        this.push(Buffer.alloc(size, 1));
      });
    },
  });
  return { stream, state };
}

describe('readCapped', () => {
  it('returns everything up to the limit', async () => {
    const { stream } = counted(4, 1000);
    expect((await readCapped(stream, 4000)).length).toBe(4000);
  });

  it('fails as soon as the limit is passed, then drains the rest', async () => {
    const { stream, state } = counted(1000, 64 * 1024); // 64 MB
    const error = await readCapped(stream, 1024 * 1024).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaTooLargeError);
    expect((error as MediaTooLargeError).limitKind).toBe('BYTES');
    // Rejected while most of the stream was still unproduced...
    expect(state.produced).toBeLessThan(4 * 1024 * 1024);
    // ...and the rest is still consumed, so a multipart parser can finish the request.
    await new Promise((resolve) => stream.once('end', resolve));
    expect(state.produced).toBe(1000 * 64 * 1024);
  });

  it('treats a stream busboy marked as truncated as too large', async () => {
    const stream = Object.assign(Readable.from([Buffer.alloc(10)]), { truncated: true });
    await expect(readCapped(stream, 10)).rejects.toBeInstanceOf(MediaTooLargeError);
  });

  it('passes stream errors through', async () => {
    const stream = new Readable({
      read() {
        this.destroy(new Error('client went away'));
      },
    });
    await expect(readCapped(stream, 10)).rejects.toThrow('client went away');
  });
});

describe('MediaService.upload', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const state = async () => ({
    rows: await server.app.db.prisma.media.count(),
    files: await listFiles(mediaDir(server.config)),
  });

  it('stores nothing when writing the thumbnail fails', async () => {
    const { media, storage } = server.app.services;
    const before = await state();
    const put = storage.put.bind(storage);
    vi.spyOn(storage, 'put').mockImplementation(async (key, data) => {
      if (key.startsWith('thumbs/')) throw new Error('disk full');
      return put(key, data);
    });
    await expect(
      media.upload(LOCAL_ACCOUNT_ID, {
        stream: Readable.from([await solid(30, 30)]),
        purpose: 'SOURCE',
      }),
    ).rejects.toThrow('disk full');
    expect(await state()).toEqual(before);
  });

  it('stores nothing when the row cannot be written', async () => {
    const { media } = server.app.services;
    const before = await state();
    const query = server.app.db.query;
    vi.spyOn(server.app.db, 'query').mockImplementation((sql) =>
      sql.text.includes('INSERT INTO "Media"') ? Promise.reject(new Error('db down')) : query(sql),
    );
    await expect(
      media.upload(LOCAL_ACCOUNT_ID, {
        stream: Readable.from([await solid(31, 30)]),
        purpose: 'SOURCE',
      }),
    ).rejects.toThrow('db down');
    expect(await state()).toEqual(before);
  });

  it('returns the stored row when the insert hits the dedup key, and removes its own files', async () => {
    const { media } = server.app.services;
    const input = await solid(32, 30);
    const first = await media.upload(LOCAL_ACCOUNT_ID, {
      stream: Readable.from([input]),
      purpose: 'SOURCE',
    });
    const before = await state();
    // No lookup comes before the insert: the second upload writes its files, its insert
    // meets the dedup key (as when a concurrent upload commits first) and inserts nothing,
    // and it answers with the stored row.
    const query = vi.spyOn(server.app.db, 'query');
    const lookup = vi.spyOn(server.app.db.prisma.media, 'findUnique');
    const second = await media.upload(LOCAL_ACCOUNT_ID, {
      stream: Readable.from([input]),
      purpose: 'SOURCE',
    });
    expect(second).toEqual(first);
    const inserts = query.mock.calls.filter(([sql]) => sql.text.includes('INSERT INTO "Media"'));
    expect(inserts).toHaveLength(1);
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(await state()).toEqual(before); // the loser's files were removed
  });

  it('answers a JPEG before its thumbnail is made; a making that failed is done again when it is asked for', async () => {
    const { media, storage, thumbnails } = server.app.services;
    await thumbnails.drain();
    const put = storage.put.bind(storage);
    let failed = 0;
    vi.spyOn(storage, 'put').mockImplementation(async (key, data) => {
      if (key.startsWith('thumbs/') && failed++ === 0) throw new Error('disk full');
      return put(key, data);
    });
    const before = await state();
    const uploaded = await media.upload(LOCAL_ACCOUNT_ID, {
      stream: Readable.from([await solid(64, 48, 'jpeg', '#c04020')]),
      purpose: 'SOURCE',
    });
    expect(uploaded.mimeType).toBe('image/jpeg');
    expect(uploaded.thumbnailBytes).toBeNull();
    await thumbnails.drain();
    // Its making failed: the upload stands, with its file only.
    expect(failed).toBe(1);
    const after = await state();
    expect(after.rows).toBe(before.rows + 1);
    expect(after.files.length).toBe(before.files.length + 1);
    const { data } = await server.gql<{ media: { thumbnailUrl: string } }>(
      'query($id: ID!) { media(id: $id) { thumbnailUrl } }',
      { id: globalId('Media', uploaded.id) },
    );
    const res = await fetch(new URL(data!.media.thumbnailUrl, server.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    const thumbnail = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([thumbnail.format, thumbnail.width, thumbnail.height]).toEqual(['webp', 64, 48]);
    expect((await state()).files.length).toBe(before.files.length + 2);
  });

  it('makes no thumbnail for a JPEG whose bytes the owner already stored', async () => {
    const { media, thumbnails } = server.app.services;
    const input = await solid(48, 48, 'jpeg', '#2040c0');
    const first = await media.upload(LOCAL_ACCOUNT_ID, {
      stream: Readable.from([input]),
      purpose: 'SOURCE',
    });
    await thumbnails.drain();
    const before = await state();
    const second = await media.upload(LOCAL_ACCOUNT_ID, {
      stream: Readable.from([input]),
      purpose: 'SOURCE',
    });
    await thumbnails.drain();
    expect(second.id).toBe(first.id);
    expect(await state()).toEqual(before);
  });

  it('keeps uploads of different owners apart', async () => {
    const { media } = server.app.services;
    const other = await server.app.db.prisma.account.create({ data: { name: 'other' } });
    const input = await solid(33, 30);
    const mine = await media.upload(LOCAL_ACCOUNT_ID, {
      stream: Readable.from([input]),
      purpose: 'SOURCE',
    });
    const theirs = await media.upload(other.id, {
      stream: Readable.from([input]),
      purpose: 'SOURCE',
    });
    expect(theirs.id).not.toBe(mine.id);
    expect(theirs.sha256).toBe(mine.sha256);
    expect(await media.get(LOCAL_ACCOUNT_ID, theirs.id)).toBeNull();
    expect((await media.get(other.id, theirs.id))?.id).toBe(theirs.id);
    const page = await media.gallery(other.id, {}, { take: 10 });
    expect(page.map((m) => m.id)).toEqual([theirs.id]);
    await expect(media.delete(LOCAL_ACCOUNT_ID, theirs.id)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('refuses an image over the pixel limit with sharp never decoding it', async () => {
    const { media } = server.app.services;
    const limits = { ...media.limits, maxPixels: 1000 };
    const small = new MediaService(server.app.db, server.app.services.storage, limits);
    const error = await small
      .upload(LOCAL_ACCOUNT_ID, { stream: Readable.from([await solid(40, 30)]), purpose: 'SOURCE' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaTooLargeError);
    expect((error as MediaTooLargeError).message).toMatch(/40×30/);
    const ok = await small.upload(LOCAL_ACCOUNT_ID, {
      stream: Readable.from([await solid(25, 40)]),
      purpose: 'SOURCE',
    });
    expect([ok.width, ok.height]).toEqual([25, 40]);
  });

  it('refuses HEIC-like or unknown bytes as invalid', async () => {
    const { media } = server.app.services;
    const bytes = Buffer.concat([
      Buffer.from([0, 0, 0, 24]),
      Buffer.from('ftypheic'),
      Buffer.alloc(64),
    ]);
    await expect(
      media.upload(LOCAL_ACCOUNT_ID, { stream: Readable.from([bytes]), purpose: 'SOURCE' }),
    ).rejects.toBeInstanceOf(InvalidMediaError);
  });
});
