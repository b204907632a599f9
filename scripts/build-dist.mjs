// Builds the JavaScript that production runs with plain `node`: every TypeScript module of a
// package's src/ (tests left out) transpiled one to one into its dist/, same folders, so
// files located relative to `import.meta.url` (catalog/, prisma/migrations, data/, the
// playground's dist/) resolve from dist/ exactly as from src/; relative `.ts` imports become
// `.js`. Other files under src/ (generated JSON) are copied. esbuild does the transpiling, as
// tsx does for the sources in development, so both run the same code; type checking is
// `npm run typecheck`.
//
//   node scripts/build-dist.mjs [--if-stale] <package dir>...   (relative to the working directory)
//
// A package with a `src/main.ts` (the server) also gets dist/bundle/main.js: main.ts, its
// modules and the pure-JS dependencies in one ES module, which the bin runs. Node resolves, reads and links every module on its own: the server's
// start loaded ≈ 1,400 of them, and one bundle cut the CPU time to `/readyz` by ≈ 0.4–0.8 s
// on 2 loaded cores (bench/RESULTS.md). The one-module-per-file dist/ stays beside it: scripts
// and worker threads import its modules, and the bundle's modules keep the `import.meta.url`
// of their twin there, so files found relative to a module resolve as before.
//
// Each file is written next to the old one and renamed over it, so a process started during
// a build (tests spawn servers) loads the old or the new file, never half of one. dist/.build
// is touched last, with the time the build started: its mtime is what the bins compare with
// the sources' (`isDistFresh`), and a source saved during the build makes dist/ stale again.
import { existsSync } from 'node:fs';
import {
  copyFile,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TEST_FILE = /\.test\.ts$/;
export const STAMP = '.build';

async function walk(dir) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .filter((file) => !TEST_FILE.test(file));
}

/** True when `<dir>/dist` was built after every source under `<dir>/src` last changed. */
export async function isDistFresh(dir) {
  const built = await stat(path.join(dir, 'dist', STAMP)).catch(() => null);
  if (!built) return false;
  for (const file of await walk(path.join(dir, 'src'))) {
    if ((await stat(file)).mtimeMs > built.mtimeMs) return false;
  }
  return true;
}

async function writeAtomically(file, contents) {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, file);
}

/** Builds `<dir>/src` into `<dir>/dist`; returns the number of modules written. */
export async function buildDist(dir) {
  const { build } = await import('esbuild');
  const started = new Date();
  const src = path.join(dir, 'src');
  const out = path.join(dir, 'dist');
  const files = await walk(src);
  const modules = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  const result = await build({
    entryPoints: modules,
    outdir: out,
    outbase: src,
    write: false,
    // bundle + every import external: one output per module, imports kept as imports, and
    // a hook to rewrite relative `.ts` specifiers (esbuild's transform alone keeps them).
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'inline',
    logLevel: 'warning',
    plugins: [
      {
        name: 'external-imports',
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point') return undefined;
            const relative = args.path.startsWith('./') || args.path.startsWith('../');
            return {
              path: relative ? args.path.replace(/\.(m?)ts$/, '.$1js') : args.path,
              external: true,
            };
          });
        },
      },
    ],
  });
  const written = new Set();
  for (const file of result.outputFiles) {
    await writeAtomically(file.path, file.contents);
    written.add(file.path);
  }
  for (const file of files.filter((f) => !f.endsWith('.ts'))) {
    const target = path.join(out, path.relative(src, file));
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.tmp`;
    await copyFile(file, temporary);
    await rename(temporary, target);
    written.add(target);
  }
  if (existsSync(path.join(src, 'main.ts'))) {
    for (const file of await bundleMain(build, src, out)) written.add(file);
  }
  // Modules whose source was deleted; other files in dist/ (e.g. the database template) stay.
  for (const file of await walk(out).catch(() => [])) {
    if (/\.js(\.map)?$/.test(file) && !written.has(file)) await rm(file, { force: true });
  }
  const stamp = path.join(out, STAMP);
  await writeFile(stamp, `${started.toISOString()}\n`);
  await utimes(stamp, started, started);
  return modules.length;
}

/**
 * Left out of the bundle, imported from node_modules at run time:
 * - packages that find files of their own next to their modules (native binaries, WebAssembly,
 *   Lua scripts, the schema engine) or load platform packages by name;
 * - packages shared with another external package, so there is one copy of their classes
 *   (Prisma's runtime and adapters with node-postgres, BullMQ with ioredis);
 * - what only some configurations load (the AWS SDK, OpenTelemetry's SDK, pino-pretty), kept
 *   out of the file every start parses; and the sandbox, which has its own dist/ and
 *   freshness check (a bundled copy could go stale without the bin seeing).
 */
const BUNDLE_EXTERNAL = [
  '@prisma/*',
  'pg',
  'pg-*',
  '@electric-sql/*',
  'pglite-prisma-adapter',
  'sharp',
  '@img/*',
  '@ffmpeg-installer/*',
  'bullmq',
  'ioredis',
  '@aws-sdk/*',
  '@opentelemetry/sdk-*',
  '@opentelemetry/exporter-*',
  '@opentelemetry/resources',
  '@opentelemetry/semantic-conventions',
  '@envelop/opentelemetry',
  'pino-pretty',
  '@atelier/*',
];

/** Bundles `<src>/main.ts` into `<out>/bundle/main.js`; returns the files written. */
async function bundleMain(build, src, out) {
  const bundleDir = path.join(out, 'bundle');
  const result = await build({
    entryPoints: [path.join(src, 'main.ts')],
    outdir: bundleDir,
    write: false,
    bundle: true,
    // No chunks: a module imported lazily (keys, BullMQ's queue) is in the file but runs only
    // when imported, and one file is replaced at once by a rebuild (a running server never
    // finds a chunk of another build, or none). Its static imports of external packages,
    // though, are hoisted to the top of the file and load at every start: a package only
    // some configurations use is imported at run time where it is used (src/redis.ts,
    // s3.storage.ts; test/bundle.test.ts checks the file's top).
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    external: BUNDLE_EXTERNAL,
    // Prisma's runtime as an ES module: the package's `node` condition names its CommonJS
    // build, which Node's ES module loader first scans for its exports (cjs-module-lexer,
    // ≈ 50 ms of every start for its 208 kB). The generated client is the only importer.
    alias: { '@prisma/client/runtime/client': '@prisma/client/runtime/client.mjs' },
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'inline',
    logLevel: 'warning',
    // CommonJS dependencies inside an ES module call require() for Node's modules.
    banner: {
      js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'twin-module-url',
        setup(build) {
          // A module's `import.meta.url` is its one-module-per-file twin's in dist/, so URLs
          // made relative to it (catalog/, migrations, generated JSON, worker files) and
          // createRequire(import.meta.url) resolve exactly as they do unbundled.
          build.onLoad({ filter: /\.ts$/ }, async (args) => {
            if (!args.path.startsWith(src + path.sep)) return undefined;
            const twin = path.join(out, path.relative(src, args.path)).replace(/\.ts$/, '.js');
            const relative = path.relative(bundleDir, twin).split(path.sep).join('/');
            const text = await readFile(args.path, 'utf8');
            return {
              contents: text.replaceAll(
                'import.meta.url',
                `new URL(${JSON.stringify(relative)}, import.meta.url).href`,
              ),
              loader: 'ts',
            };
          });
        },
      },
    ],
  });
  const written = [];
  for (const file of result.outputFiles) {
    await writeAtomically(file.path, file.contents);
    written.push(file.path);
  }
  return written;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const ifStale = args.includes('--if-stale');
  const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
  for (const arg of args.filter((a) => !a.startsWith('--'))) {
    const dir = path.resolve(arg);
    if (ifStale && (await isDistFresh(dir))) continue;
    const t = performance.now();
    const count = await buildDist(dir);
    console.log(
      `${path.relative(root, dir)}/dist: ${count} modules in ${(performance.now() - t).toFixed(0)} ms`,
    );
  }
}
