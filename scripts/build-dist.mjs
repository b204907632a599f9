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
// Each file is written next to the old one and renamed over it, so a process started during
// a build (tests spawn servers) loads the old or the new file, never half of one. dist/.build
// is touched last, with the time the build started: its mtime is what the bins compare with
// the sources' (`isDistFresh`), and a source saved during the build makes dist/ stale again.
import { copyFile, mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
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
  // Modules whose source was deleted; other files in dist/ (e.g. the database template) stay.
  for (const file of await walk(out).catch(() => [])) {
    if (/\.js(\.map)?$/.test(file) && !written.has(file)) await rm(file, { force: true });
  }
  const stamp = path.join(out, STAMP);
  await writeFile(stamp, `${started.toISOString()}\n`);
  await utimes(stamp, started, started);
  return modules.length;
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
