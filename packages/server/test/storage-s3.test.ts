// A server whose media live in an S3-compatible bucket (s3rver, path-style, under a key
// prefix), configured the way a user would: STORAGE_URL, S3_ENDPOINT and the usual AWS_*
// variables. Uploads, run outputs and deletes go to the bucket; /media/{id} serves them
// through the server with the same ETags, ranges and 304s as from disk.
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepStorage } from '../src/media/sweep.ts';
import { noisyPng, solid } from './fixtures/images.ts';
import { createRunOk, watchRunWs } from './fixtures/runs.ts';
import { startS3rver, type TestS3 } from './fixtures/s3rver.ts';
import { listFiles, type UploadedMedia, uploadOk, uuidOf } from './fixtures/upload.ts';
import { startTestServer, type TestServer } from './harness.ts';

const BUCKET = 'media';
const PREFIX = 'atelier';

let s3: TestS3;
let server: TestServer;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  server = await startTestServer({
    STORAGE_URL: `s3://${BUCKET}/${PREFIX}`,
    S3_ENDPOINT: s3.endpoint,
    // s3rver's built-in account. loadConfig reads them from the environment it is given
    // (process.env in production), like the SDK's own chain would.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    SANDBOX_STEP_DELAY_MS: '0',
  });
});
afterAll(async () => {
  await server?.stop();
  await s3?.close();
});

/** The bucket's copy of a key (with the prefix added), or null. */
async function objectBytes(key: string): Promise<Buffer | null> {
  try {
    const res = await s3.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/${key}` }),
    );
    return Buffer.from((await res.Body?.transformToByteArray()) ?? []);
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return null;
    throw error;
  }
}

async function storageKeys(mediaId: string) {
  const row = await server.app.db.prisma.media.findUniqueOrThrow({
    where: { id: mediaId },
    select: { storageKey: true, thumbnailKey: true },
  });
  return row;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('media in S3', () => {
  let media: UploadedMedia;
  let stored: Buffer;

  beforeAll(async () => {
    media = await uploadOk(server.url, await noisyPng(300, 200));
    const keys = await storageKeys(uuidOf(media));
    const bytes = await objectBytes(keys.storageKey);
    if (!bytes) throw new Error(`upload not in the bucket: ${keys.storageKey}`);
    stored = bytes;
  });

  it('stores the upload and its thumbnail under the prefix, nothing on local disk', async () => {
    const { storageKey, thumbnailKey } = await storageKeys(uuidOf(media));
    const keys = await s3.list(BUCKET);
    expect(keys).toContain(`${PREFIX}/${storageKey}`);
    expect(keys).toContain(`${PREFIX}/${thumbnailKey}`);
    expect(keys.every((k) => k.startsWith(`${PREFIX}/`))).toBe(true);
    expect(stored.length).toBe(media.bytes);
    expect(sha256(stored)).toBe(media.sha256);
    expect(await listFiles(path.join(server.config.home, 'media'))).toEqual([]);
  });

  it('serves the file through the signed URL with its strong ETag', async () => {
    const res = await fetch(media.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${media.sha256}"`);
    expect(res.headers.get('content-type')).toBe(media.mimeType);
    expect(res.headers.get('content-length')).toBe(String(media.bytes));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(Buffer.from(await res.arrayBuffer()).equals(stored)).toBe(true);

    const head = await fetch(media.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(media.bytes));
    expect(head.headers.get('etag')).toBe(`"${media.sha256}"`);
  });

  it('answers byte ranges with 206 and the right bytes', async () => {
    const size = stored.length;
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=10-99', 10, 99],
      ['bytes=-7', size - 7, size - 1],
      [`bytes=${size - 1}-`, size - 1, size - 1],
      [`bytes=100-${size + 1000}`, 100, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(media.url, { headers: { range } });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers.get('content-length'), range).toBe(String(end - start + 1));
      expect(res.headers.get('etag'), range).toBe(`"${media.sha256}"`);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.equals(stored.subarray(start, end + 1)), range).toBe(true);
    }
    const unsatisfiable = await fetch(media.url, { headers: { range: `bytes=${size}-` } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get('content-range')).toBe(`bytes */${size}`);
    await unsatisfiable.arrayBuffer();
  });

  it('answers If-None-Match with 304', async () => {
    const res = await fetch(media.url, { headers: { 'if-none-match': `"${media.sha256}"` } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(`"${media.sha256}"`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves the thumbnail from the bucket', async () => {
    const { thumbnailKey } = await storageKeys(uuidOf(media));
    const thumbnail = await objectBytes(thumbnailKey as string);
    const res = await fetch(media.thumbnailUrl as string);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${media.sha256}-thumbnail"`);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(Buffer.from(await res.arrayBuffer()).equals(thumbnail as Buffer)).toBe(true);
  });

  it('stores TEXT_TO_IMAGE outputs in the bucket and serves them', async () => {
    const created = await createRunOk(server, {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'a lighthouse at dusk',
      count: 2,
      parameters: { steps: 2, width: 256, height: 256 },
    });
    const events = await watchRunWs(server, created.id);
    const run = events.at(-1)?.run;
    expect(run?.status).toBe('SUCCEEDED');
    expect(run?.outputs).toHaveLength(2);
    // Output thumbnails are made once the run has ended.
    await server.app.services.thumbnails.drain();
    for (const output of run?.outputs ?? []) {
      const { storageKey, thumbnailKey } = await storageKeys(uuidOf(output));
      expect(storageKey).toMatch(/^outputs\//);
      const inBucket = await objectBytes(storageKey);
      expect(inBucket?.length).toBe(output.bytes);
      expect(await objectBytes(thumbnailKey as string)).not.toBeNull();
      const res = await fetch(output.url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(inBucket as Buffer)).toBe(true);
      const ranged = await fetch(output.url, { headers: { range: 'bytes=1-4' } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(inBucket!.subarray(1, 5))).toBe(true);
    }
    expect(await listFiles(path.join(server.config.home, 'media'))).toEqual([]);
  });

  it('runs IMAGE_TO_IMAGE on a source read back from the bucket', async () => {
    const created = await createRunOk(server, {
      mode: 'IMAGE_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'the same, at night',
      source: media.id,
      parameters: { steps: 2, megapixels: 0.25 },
    });
    const events = await watchRunWs(server, created.id);
    const run = events.at(-1)?.run;
    expect(run?.status, JSON.stringify(run?.error)).toBe('SUCCEEDED');
    const output = run?.outputs[0];
    expect(output).toBeDefined();
    expect(await objectBytes((await storageKeys(uuidOf(output!))).storageKey)).not.toBeNull();
  });

  it('deleteMedia removes the file and its thumbnail from the bucket', async () => {
    const doomed = await uploadOk(server.url, await solid(40, 30, 'png', '#336699'));
    const { storageKey, thumbnailKey } = await storageKeys(uuidOf(doomed));
    expect(await objectBytes(storageKey)).not.toBeNull();
    expect(await objectBytes(thumbnailKey as string)).not.toBeNull();
    const result = await server.gql<{ deleteMedia: { __typename: string; deletedId?: string } }>(
      `mutation($id: ID!) { deleteMedia(id: $id) { __typename ... on DeleteSuccess { deletedId } } }`,
      { id: doomed.id },
    );
    expect(result.data?.deleteMedia).toEqual({ __typename: 'DeleteSuccess', deletedId: doomed.id });
    expect(await objectBytes(storageKey)).toBeNull();
    expect(await objectBytes(thumbnailKey as string)).toBeNull();
    const keys = await s3.list(BUCKET, PREFIX);
    expect(keys.filter((k) => k.includes(uuidOf(doomed)))).toEqual([]);
    const res = await fetch(doomed.url);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
    // The other media are untouched.
    expect(await objectBytes((await storageKeys(uuidOf(media))).storageKey)).not.toBeNull();
  });

  it('the storage sweep deletes the objects no media names, and only those', async () => {
    await server.app.services.thumbnails.drain();
    const orphans = [`outputs/${randomUUID()}.png`, `thumbs/${randomUUID()}.webp`];
    for (const key of orphans) await server.app.services.storage.put(key, Buffer.from('orphan'));
    const listed = async () => (await s3.list(BUCKET, PREFIX)).sort();
    const before = await listed();
    const rows = await server.app.db.prisma.media.findMany({
      select: { storageKey: true, thumbnailKey: true },
    });
    const named = rows.flatMap((r) =>
      r.thumbnailKey ? [r.storageKey, r.thumbnailKey] : [r.storageKey],
    );
    expect(named.length).toBeGreaterThanOrEqual(4);
    // Every object counts as old enough here (an S3 server sets LastModified itself).
    const deleted = await sweepStorage(
      server.app.db.prisma,
      server.app.services.storage,
      new Date(Date.now() + 60_000),
    );
    expect(deleted.sort()).toEqual(orphans.sort());
    const after = await listed();
    expect(after).toEqual(before.filter((k) => !orphans.some((o) => k === `${PREFIX}/${o}`)));
    expect(after).toEqual(named.map((k) => `${PREFIX}/${k}`).sort());
  });
});
