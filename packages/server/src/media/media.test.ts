// Uploads through real multipart HTTP requests against a started server, plus the media,
// gallery and deleteMedia operations.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  jpegWithOrientation6,
  noisyPng,
  opaqueRgbaPng,
  pngWithAlpha,
  solid,
  truncatedPng,
} from '../../test/fixtures/images.ts';
import {
  CSRF_HEADERS,
  listFiles,
  mediaDir,
  postFormFully,
  type UploadedMedia,
  upload,
  uploadOk,
  uuidOf,
} from '../../test/fixtures/upload.ts';
import { startTestServer, type TestServer } from '../../test/harness.ts';
import { LOCAL_ACCOUNT_ID } from '../auth/viewer.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** Stored bytes of a media item, fetched through its URL. */
async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

async function storedState() {
  return {
    rows: await server.app.db.prisma.media.count(),
    files: await listFiles(mediaDir(server.config)),
  };
}

/** Expects an upload to be refused with `typename` and nothing to be stored. */
async function expectRefused(data: Uint8Array, typename: string, options = {}) {
  const before = await storedState();
  const result = await upload(server.url, data, options);
  expect(result.__typename).toBe(typename);
  expect(await storedState()).toEqual(before);
  return result as Extract<typeof result, { message: string }>;
}

describe('uploadMedia: normalization', () => {
  it('applies EXIF orientation and strips EXIF', async () => {
    const input = await jpegWithOrientation6(300, 200);
    expect((await sharp(input).metadata()).orientation).toBe(6);

    const media = await uploadOk(server.url, input, { filename: 'photo.jpg', type: 'image/jpeg' });
    expect(media).toMatchObject({
      kind: 'IMAGE',
      purpose: 'SOURCE',
      mimeType: 'image/jpeg',
      width: 200,
      height: 300,
      originalWidth: 200,
      originalHeight: 300,
      originalBytes: input.length,
      originalName: 'photo.jpg',
      hasAlpha: false,
      durationMs: null,
    });

    const stored = await fetchBytes(media.url);
    expect(media.bytes).toBe(stored.length);
    const meta = await sharp(stored).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 200, height: 300 });
    expect(meta.orientation).toBeUndefined();
    expect(meta.exif).toBeUndefined();
    // Raw left half (red) is on top after a 90° clockwise turn, raw right half (blue) below.
    const { data, info } = await sharp(stored).raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) => [
      ...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3),
    ];
    const [topR, , topB] = pixel(100, 20);
    const [botR, , botB] = pixel(100, 280);
    expect(topR).toBeGreaterThan(200);
    expect(topB).toBeLessThan(50);
    expect(botB).toBeGreaterThan(200);
    expect(botR).toBeLessThan(50);
  });

  it('keeps alpha for a MASK, stored as a 4-channel PNG', async () => {
    const media = await uploadOk(server.url, await pngWithAlpha(), {
      purpose: 'MASK',
      filename: 'mask.png',
    });
    expect(media).toMatchObject({
      purpose: 'MASK',
      mimeType: 'image/png',
      hasAlpha: true,
      width: 64,
      height: 48,
    });
    const stored = await fetchBytes(media.url);
    const meta = await sharp(stored).metadata();
    expect(meta).toMatchObject({ format: 'png', channels: 4, hasAlpha: true });
    const { data } = await sharp(stored).raw().toBuffer({ resolveWithObject: true });
    expect(data[3]).toBe(0); // top-left pixel stays transparent
  });

  it('keeps alpha for a SOURCE that really uses it', async () => {
    const media = await uploadOk(server.url, await pngWithAlpha(80, 40));
    expect(media).toMatchObject({ mimeType: 'image/png', hasAlpha: true });
    expect((await sharp(await fetchBytes(media.url)).metadata()).channels).toBe(4);
  });

  it('flattens an opaque RGBA PNG uploaded as SOURCE', async () => {
    const input = await opaqueRgbaPng();
    expect((await sharp(input).metadata()).channels).toBe(4);
    const media = await uploadOk(server.url, input);
    expect(media).toMatchObject({ mimeType: 'image/png', hasAlpha: false });
    const meta = await sharp(await fetchBytes(media.url)).metadata();
    expect(meta.channels).toBe(3);
    expect(meta.hasAlpha).toBe(false);
  });

  it('keeps the alpha channel of an opaque RGBA PNG uploaded as MASK', async () => {
    const media = await uploadOk(server.url, await opaqueRgbaPng(30, 30), { purpose: 'MASK' });
    expect(media.hasAlpha).toBe(true);
    expect((await sharp(await fetchBytes(media.url)).metadata()).channels).toBe(4);
  });

  it('scales a big image down to the max edge, keeping the aspect ratio', async () => {
    const media = await uploadOk(server.url, await solid(3000, 1500, 'jpeg', '#336699'));
    expect(media).toMatchObject({
      width: 2048,
      height: 1024,
      originalWidth: 3000,
      originalHeight: 1500,
    });
    const meta = await sharp(await fetchBytes(media.url)).metadata();
    expect([meta.width, meta.height]).toEqual([2048, 1024]);
  });

  it('never enlarges a small image', async () => {
    const media = await uploadOk(server.url, await solid(20, 10, 'png', '#102030'));
    expect([media.width, media.height]).toEqual([20, 10]);
  });

  it('makes a WebP thumbnail of at most 256 px', async () => {
    const media = await uploadOk(server.url, await solid(1200, 600, 'png', '#ff8800'));
    expect(new URL(media.thumbnailUrl as string).pathname).toBe(
      `${new URL(media.url).pathname}/thumbnail`,
    );
    const res = await fetch(media.thumbnailUrl as string);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(meta.format).toBe('webp');
    expect([meta.width, meta.height]).toEqual([256, 128]);
  });

  it.each([
    ['webp', 'image/webp'],
    ['gif', 'image/png'],
    ['avif', 'image/jpeg'],
    ['tiff', 'image/png'],
  ] as const)('accepts %s (stored as %s)', async (format, mimeType) => {
    const media = await uploadOk(server.url, await solid(40, 30, format, '#00ff00'));
    expect(media).toMatchObject({ mimeType, width: 40, height: 30, hasAlpha: false });
    const meta = await sharp(await fetchBytes(media.url)).metadata();
    expect(meta.format).toBe(mimeType.split('/')[1]);
  });

  it('stores every MASK losslessly, even from a JPEG', async () => {
    const media = await uploadOk(server.url, await solid(32, 32, 'jpeg', '#ffffff'), {
      purpose: 'MASK',
    });
    expect(media.mimeType).toBe('image/png');
  });

  it('returns the same Media for the same file twice, with one row', async () => {
    const input = await solid(77, 55, 'png', '#abcdef');
    const first = await uploadOk(server.url, input, { filename: 'a.png' });
    const second = await uploadOk(server.url, input, { filename: 'b.png' });
    expect(second.id).toBe(first.id);
    expect(second.originalName).toBe('a.png');
    const rows = await server.app.db.prisma.media.count({
      where: { sha256: first.sha256, ownerId: LOCAL_ACCOUNT_ID },
    });
    expect(rows).toBe(1);
  });

  it('deduplicates concurrent uploads of the same bytes', async () => {
    const input = await solid(91, 19, 'png', '#123456');
    const results = await Promise.all([1, 2, 3, 4].map(() => uploadOk(server.url, input)));
    expect(new Set(results.map((m) => m.id)).size).toBe(1);
    expect(await server.app.db.prisma.media.count({ where: { sha256: results[0]?.sha256 } })).toBe(
      1,
    );
    const files = await listFiles(mediaDir(server.config));
    expect(files.filter((f) => f.includes(uuidOf(results[0] as UploadedMedia)))).toHaveLength(2);
    expect(await server.app.db.prisma.media.count()).toBe(files.length / 2);
  });
});

describe('uploadMedia: refusals store nothing', () => {
  it('refuses a 70 MP image before decoding it', async () => {
    const huge = await solid(10000, 7000, 'png');
    const result = await expectRefused(huge, 'MediaTooLargeError');
    expect(result).toMatchObject({
      code: 'MEDIA_TOO_LARGE',
      limitKind: 'PIXELS',
      limit: 64_000_000,
    });
    expect(result.message).toContain('10000×7000');
  });

  it('refuses a truncated PNG', async () => {
    const result = await expectRefused(await truncatedPng(), 'InvalidMediaError');
    expect(result.code).toBe('INVALID_MEDIA');
    expect(result.message).toMatch(/corrupt or truncated/);
  });

  it('refuses a truncated JPEG', async () => {
    const jpeg = await sharp(await noisyPng())
      .jpeg()
      .toBuffer();
    await expectRefused(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 'InvalidMediaError');
  });

  it('refuses a text file named .png with MIME image/png', async () => {
    const result = await expectRefused(
      Buffer.from('definitely not a picture\n'),
      'InvalidMediaError',
      {
        filename: 'fake.png',
        type: 'image/png',
      },
    );
    expect(result.message).toMatch(/not an image in a supported format/);
  });

  it('refuses an empty file', async () => {
    const result = await expectRefused(new Uint8Array(0), 'InvalidMediaError', {
      type: 'image/png',
    });
    expect(result.message).toBe('The file is empty.');
  });

  it('refuses SVG, which sharp could render but is not accepted', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>',
    );
    const result = await expectRefused(svg, 'InvalidMediaError', { filename: 'x.svg' });
    expect(result.message).toMatch(/Unsupported image format \(svg\)/);
  });

  it('refuses purpose OUTPUT and still answers the next request', async () => {
    const result = await expectRefused(await solid(10, 10), 'ValidationError', {
      purpose: 'OUTPUT',
    });
    expect(result.code).toBe('VALIDATION_FAILED');
    expect((await uploadOk(server.url, await solid(11, 10))).width).toBe(11);
  });
});

describe('upload transport limits', () => {
  let small: TestServer;
  const LIMIT = 200_000;

  beforeAll(async () => {
    small = await startTestServer({ UPLOAD_MAX_FILE_BYTES: String(LIMIT), UPLOAD_MAX_FILES: '2' });
  });
  afterAll(async () => {
    await small?.stop();
  });

  it('refuses a file over the byte limit, stores nothing, and keeps serving', async () => {
    const big = await noisyPng(600, 600); // ~1 MB
    expect(big.length).toBeGreaterThan(5 * LIMIT);
    const result = await upload(small.url, big);
    expect(result).toMatchObject({
      __typename: 'MediaTooLargeError',
      code: 'MEDIA_TOO_LARGE',
      limitKind: 'BYTES',
      limit: LIMIT,
    });
    expect(await small.app.db.prisma.media.count()).toBe(0);
    expect(await listFiles(mediaDir(small.config))).toEqual([]);
    expect((await uploadOk(small.url, await solid(12, 12))).width).toBe(12);
  });

  it('accepts exactly maxFileBytes and refuses one byte more', async () => {
    // Not images, so the size check is the only thing that can differ.
    const exact = await upload(small.url, Buffer.alloc(LIMIT, 0x41));
    expect(exact.__typename).toBe('InvalidMediaError');
    const over = await upload(small.url, Buffer.alloc(LIMIT + 1, 0x41));
    expect(over.__typename).toBe('MediaTooLargeError');
  });

  it('answers 413 when a request carries more files than allowed', async () => {
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query:
          'mutation($a: Upload!, $b: Upload!, $c: Upload!) { a: uploadMedia(file: $a) { __typename } b: uploadMedia(file: $b) { __typename } c: uploadMedia(file: $c) { __typename } }',
        variables: { a: null, b: null, c: null },
      }),
    );
    form.append(
      'map',
      JSON.stringify({ 0: ['variables.a'], 1: ['variables.b'], 2: ['variables.c'] }),
    );
    for (const name of ['0', '1', '2'])
      form.append(name, new Blob([new Uint8Array(10)]), `${name}.png`);
    const res = await fetch(`${small.url}/graphql`, {
      method: 'POST',
      body: form,
      headers: CSRF_HEADERS,
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as {
      errors: { message: string; extensions: { code: string } }[];
    };
    expect(body.errors[0]?.extensions.code).toBe('TOO_MANY_FILES');
    expect(body.errors[0]?.message).toMatch(/at most 2/);
    expect(await small.app.db.prisma.media.count()).toBe(1); // only the earlier 12×12
  });

  it('leaves non-multipart requests to Yoga', async () => {
    const res = await small.gql<{ __typename: string }>('{ __typename }');
    expect(res.data?.__typename).toBe('Query');
  });

  it('answers 400 for a malformed multipart request', async () => {
    const form = new FormData();
    form.append('operations', '{not json');
    form.append('map', '{}');
    const res = await fetch(`${small.url}/graphql`, {
      method: 'POST',
      body: form,
      headers: CSRF_HEADERS,
    });
    expect(res.status).toBe(400);
    const withoutHeader = await fetch(`${small.url}/graphql`, { method: 'POST', body: form });
    expect(withoutHeader.status).toBe(403); // CSRF prevention: browsers send multipart unasked
  });
});

describe('media, gallery, deleteMedia', () => {
  let own: TestServer;
  const uploaded: UploadedMedia[] = [];

  const GALLERY = /* GraphQL */ `
    query Gallery($first: Int, $after: String, $kind: MediaKind) {
      gallery(first: $first, after: $after, kind: $kind) {
        edges { cursor node { id } }
        pageInfo { hasNextPage endCursor }
      }
    }
  `;
  type GalleryData = {
    gallery: {
      edges: { cursor: string; node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };

  beforeAll(async () => {
    own = await startTestServer();
    // Sequential, so createdAt order is upload order.
    for (let i = 0; i < 5; i++)
      uploaded.push(await uploadOk(own.url, await solid(20 + i, 20, 'png')));
  });
  afterAll(async () => {
    await own?.stop();
  });

  it('pages newest first with first/after', async () => {
    const newestFirst = uploaded.map((m) => m.id).reverse();
    const page1 = await own.gql<GalleryData>(GALLERY, { first: 2 });
    expect(page1.errors).toBeUndefined();
    expect(page1.data?.gallery.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.data?.gallery.pageInfo.hasNextPage).toBe(true);

    const page2 = await own.gql<GalleryData>(GALLERY, {
      first: 2,
      after: page1.data?.gallery.pageInfo.endCursor,
    });
    expect(page2.data?.gallery.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(2, 4));

    const page3 = await own.gql<GalleryData>(GALLERY, {
      first: 2,
      after: page2.data?.gallery.pageInfo.endCursor,
    });
    expect(page3.data?.gallery.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(4));
    expect(page3.data?.gallery.pageInfo.hasNextPage).toBe(false);
  });

  it('refuses malformed cursors with a visible error', async () => {
    const notUuid = Buffer.from('GPC:S:not-a-uuid').toString('base64');
    for (const after of ['garbage', notUuid]) {
      const res = await own.gql<GalleryData>(GALLERY, { first: 2, after });
      expect(res.errors?.[0]?.message).toBe(`Invalid cursor: ${after}`);
    }
  });

  it('filters by kind and caps the page size', async () => {
    const images = await own.gql<GalleryData>(GALLERY, { kind: 'IMAGE', first: 1000 });
    expect(images.errors).toBeUndefined();
    expect(images.data?.gallery.edges).toHaveLength(5);
    const videos = await own.gql<GalleryData>(GALLERY, { kind: 'VIDEO' });
    expect(videos.data?.gallery.edges).toEqual([]);
  });

  it('media(id) returns the media, null for unknown ids, and an error for malformed ones', async () => {
    const query = 'query($id: ID!) { media(id: $id) { id width url } }';
    const first = uploaded[0] as UploadedMedia;
    const found = await own.gql<{ media: { id: string; width: number } | null }>(query, {
      id: first.id,
    });
    expect(found.data?.media).toMatchObject({ id: first.id, width: 20 });

    const unknown = Buffer.from('Media:0b6a8a43-5b0e-4a8e-9d4f-6f1f4b1a2c3d').toString('base64');
    const res = await own.gql<{ media: unknown }>(query, { id: unknown });
    expect(res.errors).toBeUndefined();
    expect(res.data?.media).toBeNull();
    const run = Buffer.from('Run:0b6a8a43-5b0e-4a8e-9d4f-6f1f4b1a2c3d').toString('base64');
    for (const id of ['not-a-global-id', Buffer.from('Media:../../x').toString('base64'), run]) {
      const bad = await own.gql<{ media: unknown }>(query, { id });
      expect(bad.data?.media ?? null).toBeNull();
      expect(bad.errors?.[0]?.message).toMatch(/Invalid global ID|is not of type: Media/);
    }
  });

  it('node(id) finds media by global id', async () => {
    const first = uploaded[0] as UploadedMedia;
    const res = await own.gql<{ node: { __typename: string; id: string } | null }>(
      'query($id: ID!) { node(id: $id) { __typename id } }',
      { id: first.id },
    );
    expect(res.data?.node).toEqual({ __typename: 'Media', id: first.id });
  });

  const DELETE = /* GraphQL */ `
    mutation($id: ID!) {
      deleteMedia(id: $id) {
        __typename
        ... on DeleteSuccess { deletedId }
        ... on Error { code message }
        ... on MediaInUseError { runCount }
      }
    }
  `;
  type DeleteData = {
    deleteMedia: { __typename: string; deletedId?: string; code?: string; runCount?: number };
  };

  it('deleteMedia removes the row and the files; a second delete is NotFoundError', async () => {
    const target = uploaded[1] as UploadedMedia;
    const uuid = uuidOf(target);
    expect((await listFiles(mediaDir(own.config))).filter((f) => f.includes(uuid))).toHaveLength(2);

    const res = await own.gql<DeleteData>(DELETE, { id: target.id });
    expect(res.data?.deleteMedia).toEqual({ __typename: 'DeleteSuccess', deletedId: target.id });
    expect(await own.app.db.prisma.media.findUnique({ where: { id: uuid } })).toBeNull();
    expect((await listFiles(mediaDir(own.config))).filter((f) => f.includes(uuid))).toEqual([]);
    expect((await fetch(target.url)).status).toBe(404);

    const again = await own.gql<DeleteData>(DELETE, { id: target.id });
    expect(again.data?.deleteMedia).toMatchObject({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
    });
    const bogus = await own.gql<DeleteData>(DELETE, { id: 'garbage' });
    expect(bogus.errors?.[0]?.message).toBe('Invalid global ID: garbage');
  });

  it('deleteMedia refuses media used as a run input with MediaInUseError', async () => {
    const target = uploaded[2] as UploadedMedia;
    const prisma = own.app.db.prisma;
    await prisma.model.create({
      data: {
        key: 'media-test-model',
        name: 'm',
        description: 'd',
        outputKind: 'IMAGE',
        modes: ['IMAGE_TO_IMAGE'],
        definition: {},
        hash: 'x',
      },
    });
    await prisma.run.create({
      data: {
        ownerId: LOCAL_ACCOUNT_ID,
        mode: 'IMAGE_TO_IMAGE',
        modelKey: 'media-test-model',
        prompt: 'p',
        parameters: {},
        seed: '1',
        inputs: { create: [{ mediaId: uuidOf(target), role: 'SOURCE' }] },
      },
    });
    const res = await own.gql<DeleteData>(DELETE, { id: target.id });
    expect(res.data?.deleteMedia).toMatchObject({
      __typename: 'MediaInUseError',
      code: 'MEDIA_IN_USE',
      runCount: 1,
    });
    expect(await prisma.media.count({ where: { id: uuidOf(target) } })).toBe(1);
    expect((await fetch(target.url)).status).toBe(200);
  });

  it('drains a file no resolver reads, so the request body is fully taken', async () => {
    // The only field that would read the file is skipped. The body is bigger than the
    // socket buffers, so it only goes out completely if the server keeps reading.
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query: 'mutation($f: Upload!) { uploadMedia(file: $f) @skip(if: true) { __typename } }',
        variables: { f: null },
      }),
    );
    form.append('map', JSON.stringify({ 0: ['variables.f'] }));
    form.append('0', new Blob([new Uint8Array(20 * 1024 * 1024)]), 'unused.png');
    const res = await postFormFully(own.url, form);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ data: {} });
    expect((await own.gql<{ __typename: string }>('{ __typename }')).data?.__typename).toBe(
      'Query',
    );
  });
});
