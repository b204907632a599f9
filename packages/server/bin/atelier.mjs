#!/usr/bin/env node
// `atelier-server`: the server's commands (serve, worker, migrate, keys); the `atelier` command
// (@atelier/cli) forwards these commands here. Runs the compiled JavaScript in dist/ (its
// one-file bundle, dist/bundle/main.js) with plain Node (`npm run build -w @atelier/server`,
// which `npm install` runs). In a checkout whose TypeScript sources changed after that build
// (this package's or the sandbox's), it runs the sources through tsx instead when tsx is
// installed (a devDependency), so `npm start` and the tests never run stale code; without tsx
// (a production install) it warns and runs dist/.
import { readdir, stat } from 'node:fs/promises';
import v8 from 'node:v8';

// Memory of an idle server (bench/start.ts; numbers in bench/RESULTS.md). Two V8 settings,
// set here before anything is loaded, each skipped when the user passed the flag themselves:
// - WebAssembly tier-up: Prisma's query compiler (and PGlite) run as WebAssembly; V8 first
//   runs it unoptimized and recompiles functions it finds hot with its optimizing compiler on
//   background threads. At start that recompiled much of the query compiler, and the
//   compilers' scratch memory stayed in those threads' malloc arenas: ≈ 60–80 MB of RSS on
//   an idle server. A 10× higher budget tiers up only what keeps running (under load it
//   still does), which also leaves the 2 cores to the start itself.
// - Young generation: V8 grows it (up to 16 MB × 2) while modules load and the schema is
//   built, then keeps it. It stays at its initial 1 MB × 2 until the server is ready;
//   main.ts restores the default growth then, so a loaded server grows it as before.
const own = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].join(' ');
if (!own.includes('wasm-tiering-budget')) v8.setFlagsFromString('--wasm-tiering-budget=18000000');
if (!/semi-space/.test(own)) {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  // main.ts resets it to V8's default (2) once the server is ready (src/heap.ts).
  globalThis[Symbol.for('atelier.semiSpaceGrowthHeld')] = true;
}

const PACKAGES = ['..', '../../comfyui-sandbox'].map((p) => new URL(`${p}/`, import.meta.url));

/** dist/ of a package was built after its last source change (see scripts/build-dist.mjs). */
async function fresh(pkg) {
  const built = await stat(new URL('dist/.build', pkg)).catch(() => null);
  if (!built) return false;
  const src = new URL('src/', pkg);
  const entries = await readdir(src, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile() || entry.name.endsWith('.test.ts')) continue;
    const file = `${entry.parentPath ?? entry.path}/${entry.name}`;
    if ((await stat(file)).mtimeMs > built.mtimeMs) return false;
  }
  return true;
}

const hasDist = await stat(new URL('../dist/main.js', import.meta.url)).catch(() => null);
const current = hasDist && (await Promise.all(PACKAGES.map(fresh))).every(Boolean);
// The bundle of dist/ (scripts/build-dist.mjs): the same modules, loaded as one file.
const hasBundle = await stat(new URL('../dist/bundle/main.js', import.meta.url)).catch(() => null);
const distMain = hasBundle ? '../dist/bundle/main.js' : '../dist/main.js';
// Prisma's and PGlite's WebAssembly compile on V8's background threads while the modules
// load (see src/preload.ts).
const args = process.argv.slice(2);
if (current) {
  (await import('../dist/preload.js')).preloadWasm(args, process.env);
  await import(distMain);
} else {
  const tsx = await import('tsx/esm/api').catch(() => null);
  if (tsx) {
    // The sources import @atelier/comfyui-sandbox by name: its `atelier-source` export
    // condition points at its sources too (tsx does not read tsconfig's customConditions).
    const { register } = await import('node:module');
    register(
      'data:text/javascript,export function resolve(s,c,n){return n(s,{...c,conditions:[...c.conditions,"atelier-source"]})}',
    );
    tsx.register();
    (await import('../src/preload.ts')).preloadWasm(args, process.env);
    await import('../src/main.ts');
  } else if (hasDist) {
    process.stderr.write(
      'atelier: dist/ is older than src/ and tsx is not installed: running dist/ (npm run build -w @atelier/server rebuilds it)\n',
    );
    await import(distMain);
  } else {
    process.stderr.write(
      'atelier: packages/server/dist/ is missing: run `npm run build -w @atelier/server` (npm install does)\n',
    );
    process.exitCode = 1;
  }
}
