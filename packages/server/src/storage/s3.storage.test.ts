// The Storage contract, checked the same way on the filesystem and on an S3-compatible
// server (s3rver, started here on a free loopback port), plus the S3-only parts: the key
// prefix, cut ranges, and the STORAGE_URL / S3_ENDPOINT configuration.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import * as sdk from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_CREDENTIALS, startS3rver, type TestS3 } from '../../test/fixtures/s3rver.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { createStorage } from './create-storage.ts';
import { LocalStorage } from './local.storage.ts';
import { S3Storage } from './s3.storage.ts';
import type { Storage } from './storage.ts';

const BUCKET = 'media';
const PREFIX = 'some/prefix';

let s3: TestS3;
let dir: string;
const made: S3Storage[] = [];

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  dir = await mkdtemp(path.join(tmpdir(), 'atelier-storage-'));
});
afterAll(async () => {
  for (const storage of made) storage.destroy();
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function s3Storage(prefix = PREFIX, endpoint = s3.endpoint): S3Storage {
  const storage = new S3Storage(
    {
      bucket: BUCKET,
      prefix,
      endpoint,
      region: 'us-east-1',
      credentials: S3RVER_CREDENTIALS,
    },
    sdk,
  );
  made.push(storage);
  return storage;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** What a read stream ends with: its bytes, or the error it emitted. */
async function outcome(stream: Readable): Promise<Buffer | Error> {
  return readAll(stream).catch((error: Error) => error);
}

const implementations: [string, () => Storage][] = [
  ['LocalStorage', () => new LocalStorage(dir)],
  ['S3Storage', () => s3Storage()],
];

describe.each(implementations)('%s', (_name, make) => {
  let storage: Storage;
  // Unique keys per implementation, so the two never see each other's objects.
  const key = (name: string) => `images/${_name.toLowerCase()}-${name}`;
  const data = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

  beforeAll(() => {
    storage = make();
  });

  it('puts, replaces and stats objects', async () => {
    await storage.put(key('a.png'), Buffer.from('first version, longer'));
    expect(await storage.stat(key('a.png'))).toEqual({ size: 21 });
    await storage.put(key('a.png'), data);
    expect(await storage.stat(key('a.png'))).toEqual({ size: data.length });
    expect(await readAll(storage.read(key('a.png')))).toEqual(data);
  });

  it('stats a missing object as null', async () => {
    expect(await storage.stat(key('missing.png'))).toBeNull();
  });

  it('reads byte ranges (inclusive end)', async () => {
    await storage.put(key('r.bin'), data);
    const cases: [number, number][] = [
      [0, 0], // first byte
      [data.length - 1, data.length - 1], // last byte
      [5, 14], // middle
      [0, data.length - 1], // everything, as a range
      [30, data.length - 1], // a tail
    ];
    for (const [start, end] of cases) {
      const got = await readAll(storage.read(key('r.bin'), { start, end }));
      expect(got.toString(), `bytes ${start}-${end}`).toBe(
        data.subarray(start, end + 1).toString(),
      );
    }
  });

  it('streams a large object whole and by a range across chunks', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await storage.put(key('big.bin'), big);
    expect((await readAll(storage.read(key('big.bin')))).equals(big)).toBe(true);
    const start = 1_000_003;
    const end = 2_500_001;
    const part = await readAll(storage.read(key('big.bin'), { start, end }));
    expect(part.length).toBe(end - start + 1);
    expect(part.equals(big.subarray(start, end + 1))).toBe(true);
  });

  it('lets a reader stop early without an error anywhere', async () => {
    await storage.put(key('early.bin'), randomBytes(2 * 1024 * 1024));
    const stream = storage.read(key('early.bin'));
    const closed = new Promise((resolve) => stream.once('close', resolve));
    await new Promise<void>((resolve, reject) => {
      stream.once('data', () => {
        stream.destroy();
        resolve();
      });
      stream.once('error', reject);
    });
    await closed;
    // The storage keeps working (the aborted download freed its connection).
    expect(await storage.stat(key('early.bin'))).toEqual({ size: 2 * 1024 * 1024 });
    expect((await readAll(storage.read(key('early.bin'), { start: 0, end: 9 }))).length).toBe(10);
  });

  it('lists every object under a folder, nested ones too, with when it was written', async () => {
    const folder = `list-${_name.toLowerCase()}`;
    const before = Date.now() - 60_000;
    const keys = [`${folder}/a.png`, `${folder}/b.webp`, `${folder}/deeper/c.jpg`];
    for (const k of keys) await storage.put(k, data);
    await storage.put(`${folder}-sibling/d.png`, data);
    const listed = [];
    for await (const object of storage.list(folder)) listed.push(object);
    expect(listed.map((o) => o.key).sort()).toEqual(keys);
    for (const object of listed) {
      expect(object.modifiedAt.getTime()).toBeGreaterThan(before);
      expect(object.modifiedAt.getTime()).toBeLessThan(Date.now() + 60_000);
    }
    await storage.delete(keys[0]!);
    const after = [];
    for await (const object of storage.list(folder)) after.push(object.key);
    expect(after.sort()).toEqual(keys.slice(1));
    const none = [];
    for await (const object of storage.list('never-written')) none.push(object);
    expect(none).toEqual([]);
  });

  it('fails the stream, not the process, when reading a missing object', async () => {
    const stream = storage.read(key('nothing-here.png'));
    const result = await outcome(stream);
    expect(result).toBeInstanceOf(Error);
    expect((result as NodeJS.ErrnoException).code).toBe('ENOENT');
    const ranged = await outcome(storage.read(key('nothing-here.png'), { start: 0, end: 3 }));
    expect(ranged).toBeInstanceOf(Error);
  });

  it('deletes objects; deleting a missing one is fine', async () => {
    await storage.put(key('d.png'), data);
    await storage.delete(key('d.png'));
    expect(await storage.stat(key('d.png'))).toBeNull();
    expect(await outcome(storage.read(key('d.png')))).toBeInstanceOf(Error);
    await expect(storage.delete(key('d.png'))).resolves.toBeUndefined();
    await expect(storage.delete(key('never-was.png'))).resolves.toBeUndefined();
  });

  it.each([
    '',
    '../escape.png',
    'images/../../escape.png',
    '/absolute.png',
    'Upper.png',
    'a//b.png',
    'images/',
    '.hidden',
    'sp ace.png',
  ])('refuses the key %j', async (bad) => {
    await expect(storage.put(bad, data)).rejects.toThrow('Invalid storage key');
    await expect(storage.stat(bad)).rejects.toThrow('Invalid storage key');
    await expect(storage.delete(bad)).rejects.toThrow('Invalid storage key');
    expect(() => storage.read(bad)).toThrow('Invalid storage key');
  });
});

describe('S3Storage keys and responses', () => {
  it('puts objects under the prefix, and only there', async () => {
    const prefixed = s3Storage();
    await prefixed.put('images/where.png', Buffer.from('here'));
    const keys = await s3.list(BUCKET);
    expect(keys).toContain(`${PREFIX}/images/where.png`);
    expect(keys.every((k) => k.startsWith(`${PREFIX}/`))).toBe(true);
    // Another prefix is another namespace; no prefix is the bucket's root.
    expect(await s3Storage('other').stat('images/where.png')).toBeNull();
    const root = s3Storage('');
    expect(await root.stat(`${PREFIX}/images/where.png`)).toEqual({ size: 4 });
    await root.put('images/at-root.png', Buffer.from('root'));
    expect(await s3.list(BUCKET, 'images/')).toEqual(['images/at-root.png']);
    await root.delete('images/at-root.png');
    await prefixed.delete('images/where.png');
    expect(await s3.list(BUCKET, `${PREFIX}/images/where`)).toEqual([]);
  });

  it('reuses its connection after complete reads, ranged ones included', async () => {
    const storage = s3Storage();
    const data = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    await storage.put('images/reuse.bin', data);
    const before = s3.connections();
    const ranges = [undefined, { start: 0, end: 0 }, { start: 5, end: 14 }, { start: 35, end: 35 }];
    for (const range of ranges) {
      const got = await readAll(storage.read('images/reuse.bin', range));
      expect(got.toString()).toBe(
        range ? data.subarray(range.start, range.end + 1).toString() : data.toString(),
      );
    }
    expect(await storage.stat('images/reuse.bin')).toEqual({ size: data.length });
    expect(s3.connections() - before).toBe(0);
    await storage.delete('images/reuse.bin');
  });

  describe('against a server that ignores Range', () => {
    // A bare HTTP server standing in for an S3-compatible one that answers every GET with
    // the whole object (200, no Content-Range), as some do.
    const object = Buffer.from('abcdefghijklmnopqrstuvwxyz');
    let server: Server;
    let endpoint: string;
    beforeAll(async () => {
      server = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', etag: '"x"' });
        res.end(req.method === 'GET' ? object : undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('cuts the whole body down to the range asked for', async () => {
      const storage = s3Storage('', endpoint);
      expect((await readAll(storage.read('x.bin', { start: 3, end: 6 }))).toString()).toBe('defg');
      expect((await readAll(storage.read('x.bin', { start: 0, end: 0 }))).toString()).toBe('a');
      expect((await readAll(storage.read('x.bin', { start: 25, end: 25 }))).toString()).toBe('z');
      expect((await readAll(storage.read('x.bin'))).toString()).toBe(object.toString());
    });
  });
});

describe('STORAGE_URL and S3_ENDPOINT', () => {
  const base = { ATELIER_HOME: '/tmp/atelier-config-check' };
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return null;
  };

  it('keeps file storage as before', async () => {
    expect(loadConfig(base).storage).toEqual({
      kind: 'file',
      dir: '/tmp/atelier-config-check/media',
    });
    expect(loadConfig({ ...base, STORAGE_URL: 'file:///srv/media' }).storage).toEqual({
      kind: 'file',
      dir: '/srv/media',
    });
    expect(await createStorage(loadConfig(base).storage)).toBeInstanceOf(LocalStorage);
  });

  it('reads an s3:// URL with its endpoint, region and credentials', async () => {
    const config = loadConfig({
      ...base,
      STORAGE_URL: 's3://my-bucket.media/atelier/prod/',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      AWS_DEFAULT_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    expect(config.storage).toEqual({
      kind: 's3',
      bucket: 'my-bucket.media',
      prefix: 'atelier/prod',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-3',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const storage = await createStorage(config.storage);
    expect(storage).toBeInstanceOf(S3Storage);
    (storage as S3Storage).destroy();
    // AWS_REGION wins over AWS_DEFAULT_REGION; no keys: the SDK's own chain; no path: root.
    expect(
      loadConfig({
        ...base,
        STORAGE_URL: 's3://bucket',
        AWS_REGION: 'us-west-2',
        AWS_DEFAULT_REGION: 'eu-west-3',
      }).storage,
    ).toEqual({
      kind: 's3',
      bucket: 'bucket',
      prefix: '',
      endpoint: null,
      region: 'us-west-2',
      credentials: null,
    });
    expect(loadConfig({ ...base, STORAGE_URL: 's3://bucket/' }).storage).toMatchObject({
      region: 'us-east-1',
      prefix: '',
    });
  });

  it.each([
    ['s3://Bucket/x', 'STORAGE_URL', 'not a valid S3 bucket name'],
    ['s3://ab/x', 'STORAGE_URL', 'not a valid S3 bucket name'],
    ['s3://my_bucket', 'STORAGE_URL', 'not a valid S3 bucket name'],
    ['s3://bucket-/x', 'STORAGE_URL', 'not a valid S3 bucket name'],
    ['s3://my..bucket', 'STORAGE_URL', 'not a valid S3 bucket name'],
    ['s3://192.168.1.1', 'STORAGE_URL', 'not a valid S3 bucket name'],
    ['s3:bucket', 'STORAGE_URL', 'not a valid S3 bucket name'],
    ['s3://key:secret@bucket', 'STORAGE_URL', 'no credentials'],
    ['s3://bucket:9000', 'STORAGE_URL', 'no credentials'],
    ['s3://bucket/a//b', 'STORAGE_URL', 'segment'],
    ['s3://bucket/a/%2e%2e/b', 'STORAGE_URL', 'segment'],
    ['s3://bucket/a/../b', 'STORAGE_URL', 'segment'],
    ['s3://bucket/a%0Ab', 'STORAGE_URL', 'control character'],
    ['https://bucket.s3.amazonaws.com', 'STORAGE_URL', 'file:// or s3://'],
  ])('refuses STORAGE_URL=%s', (value, variable, message) => {
    const problems = problem({ STORAGE_URL: value });
    expect(problems).toHaveLength(1);
    expect(problems?.[0]?.variable).toBe(variable);
    expect(problems?.[0]?.message).toContain(message);
  });

  it('refuses inconsistent S3 settings', () => {
    expect(problem({ S3_ENDPOINT: 'ftp://x' })?.[0]).toMatchObject({ variable: 'S3_ENDPOINT' });
    // An endpoint without an s3:// URL would quietly keep media on the local disk.
    expect(problem({ S3_ENDPOINT: 'http://127.0.0.1:9000' })?.[0]).toEqual({
      variable: 'S3_ENDPOINT',
      message: 'is set, but STORAGE_URL is not an s3:// URL',
    });
    expect(
      problem({ STORAGE_URL: 's3://bucket', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' })?.[0],
    ).toMatchObject({ variable: 'AWS_SECRET_ACCESS_KEY' });
    // AWS_* variables meant for something else do not matter with file storage.
    expect(loadConfig({ ...base, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' }).storage.kind).toBe('file');
  });
});
