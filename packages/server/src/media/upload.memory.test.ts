// Over-limit uploads must not grow memory: the byte cap is enforced while streaming and the
// rest of each body is discarded. The server runs in this process, so measure here; the
// client streams its bodies from one reused buffer so it adds (almost) nothing itself.
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { solid } from '../../test/fixtures/images.ts';
import { streamUpload } from '../../test/fixtures/upload.ts';
import { startTestServer, type TestServer } from '../../test/harness.ts';

const MB = 1024 * 1024;

// A full GC before each reading, so the numbers are about what is retained rather than
// about when the collector last ran (the usual --expose-gc trick, without the flag).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const settledRss = () => {
  gc();
  gc();
  return process.memoryUsage().rss;
};
let server: TestServer;
let pngHead: Uint8Array;

beforeAll(async () => {
  server = await startTestServer(); // default limit: 25 MiB per file
  // A real PNG header, so the body looks like an image until the byte limit.
  pngHead = (await solid(64, 64)).subarray(0, 64);
});
afterAll(async () => {
  await server?.stop();
});

it('keeps memory bounded across ten 30 MB over-limit uploads', async () => {
  const size = 30 * MB;
  expect(size).toBeGreaterThan(server.config.uploads.maxFileBytes);

  // One round first, so lazily allocated pools and code paths are warm before measuring.
  expect((await streamUpload(server.url, size, pngHead)).__typename).toBe('MediaTooLargeError');
  const before = settledRss();
  for (let i = 0; i < 10; i++) {
    const result = await streamUpload(server.url, size, pngHead);
    expect(result).toMatchObject({ __typename: 'MediaTooLargeError', limitKind: 'BYTES' });
  }
  const after = settledRss();
  const growth = (after - before) / MB;
  expect(growth, `rss grew by ${growth.toFixed(1)} MB`).toBeLessThan(150);

  expect(await server.app.db.prisma.media.count()).toBe(0);
  expect((await server.gql<{ __typename: string }>('{ __typename }')).data?.__typename).toBe(
    'Query',
  );
});

it("takes bodies above Yoga's own 25 MB body limit, up to maxFileBytes per file", async () => {
  // 24.5 MiB: over Yoga's default maxRequestBodySize (25,000,000 bytes), under 25 MiB.
  const size = 24.5 * MB;
  expect(size).toBeGreaterThan(25_000_000);
  expect(size).toBeLessThan(server.config.uploads.maxFileBytes);
  const result = await streamUpload(server.url, size, pngHead);
  expect(result.__typename).toBe('InvalidMediaError'); // reached the image check
});
