#!/usr/bin/env node
// `atelier-server`: the server's commands (serve, worker, migrate, keys); the `atelier` command
// (@atelier/cli) forwards these commands here. Runs the compiled JavaScript in dist/ with
// plain Node (`npm run build -w @atelier/server`, which `npm install` runs). In a checkout
// whose TypeScript sources changed after that build (this package's or the sandbox's), it runs
// the sources through tsx instead when tsx is installed (a devDependency), so `npm start` and
// the tests never run stale code; without tsx (a production install) it warns and runs dist/.
import { readdir, stat } from 'node:fs/promises';

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
if (current) {
  await import('../dist/main.js');
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
    await import('../src/main.ts');
  } else if (hasDist) {
    process.stderr.write(
      'atelier: dist/ is older than src/ and tsx is not installed: running dist/ (npm run build -w @atelier/server rebuilds it)\n',
    );
    await import('../dist/main.js');
  } else {
    process.stderr.write(
      'atelier: packages/server/dist/ is missing: run `npm run build -w @atelier/server` (npm install does)\n',
    );
    process.exitCode = 1;
  }
}
