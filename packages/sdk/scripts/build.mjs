// Builds dist/: ESM JavaScript and declarations from src/ (tsc), then points the
// declarations' relative imports at the emitted files (tsc rewrites `./x.ts` to `./x.js` in
// JavaScript only), so a consumer's TypeScript resolves them without special settings.
import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const dist = path.join(root, 'dist');
await rm(dist, { recursive: true, force: true });
const tsc = path.join(root, '../../node_modules/typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
for (const entry of await readdir(dist, { recursive: true })) {
  if (!entry.endsWith('.d.ts')) continue;
  const file = path.join(dist, entry);
  const text = await readFile(file, 'utf8');
  const fixed = text.replace(/(from\s+['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1$2.js$3');
  if (fixed !== text) await writeFile(file, fixed);
}
