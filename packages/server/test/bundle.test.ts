// The server's bundle (dist/bundle/main.js, scripts/build-dist.mjs) loads at start only the
// external packages every configuration needs. esbuild hoists a bundled module's static
// imports of external packages to the top of the one file, even when the module itself is
// imported lazily: a static `import … from 'bullmq'` in bullmq-queue.ts loaded BullMQ,
// ioredis and the AWS SDK (≈ 240 ms and 40 MB) at every start of the embedded default. Those
// are imported at run time where they are used (redis.ts, s3.storage.ts); this keeps it so.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/db/paths.ts';

/**
 * Packages the bundle may import at its top: needed by every start. Prisma's runtime by its
 * ES module (scripts/build-dist.mjs aliases it: Node's `node` condition names its CommonJS
 * build, which the loader scans for its exports at every start).
 */
const AT_START = ['@prisma/client/runtime/client.mjs', 'sharp'];

/** Packages only some configurations use: imported at run time only. */
const ON_DEMAND = [
  'bullmq',
  'ioredis',
  '@aws-sdk/client-s3',
  '@opentelemetry/sdk-trace-node',
  '@atelier/comfyui-sandbox',
  '@electric-sql/pglite',
  'pg',
];

describe('the server bundle', () => {
  it('imports at its top only what every start needs; Redis, BullMQ, S3, tracing, the sandbox and each database driver on demand', async () => {
    // Built from the current sources by the test run's global setup.
    const bundle = await readFile(
      path.join(REPO_ROOT, 'packages/server/dist/bundle/main.js'),
      'utf8',
    );
    // Static imports start a line in esbuild's output: `import x from "p";`, `import "p";`,
    // or a multi-line `import {\n …\n} from "p";`.
    const staticImports = new Set(
      [...bundle.matchAll(/^import\s+(?:[^;'"]*?\s+from\s+)?"([^"]+)";/gms)]
        .map((m) => m[1]!)
        .filter((specifier) => !specifier.startsWith('node:')),
    );
    expect([...staticImports].sort()).toEqual(AT_START);
    for (const name of ON_DEMAND) expect(bundle).toContain(`import("${name}")`);
  });
});
