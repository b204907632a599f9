#!/usr/bin/env node
// The `comfyui-sandbox` command: runs the compiled JavaScript in dist/ with plain Node
// (`npm run build -w @atelier/comfyui-sandbox`, which `npm install` runs). In a checkout whose
// TypeScript sources changed after that build, it runs the sources through tsx instead when
// tsx is installed (a devDependency), so it never runs stale code.
import { readdir, stat } from 'node:fs/promises';

/** dist/ was built after the last source change (see scripts/build-dist.mjs). */
async function fresh() {
  const built = await stat(new URL('../dist/.build', import.meta.url)).catch(() => null);
  if (!built) return false;
  const src = new URL('../src/', import.meta.url);
  const entries = await readdir(src, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile() || entry.name.endsWith('.test.ts')) continue;
    const file = `${entry.parentPath ?? entry.path}/${entry.name}`;
    if ((await stat(file)).mtimeMs > built.mtimeMs) return false;
  }
  return true;
}

const hasDist = await stat(new URL('../dist/cli.js', import.meta.url)).catch(() => null);
const tsx = hasDist && (await fresh()) ? null : await import('tsx/esm/api').catch(() => null);
if (tsx) {
  tsx.register();
  await import('../src/cli.ts');
} else if (hasDist) {
  await import('../dist/cli.js');
} else {
  process.stderr.write(
    'comfyui-sandbox: dist/ is missing: run `npm run build -w @atelier/comfyui-sandbox`\n',
  );
  process.exitCode = 1;
}
