// Builds dist/atelier.js: the CLI and the parts of @atelier/sdk it uses (with urql and
// graphql-ws) bundled by esbuild into one ES module that plain `node` runs; one file starts
// several times faster than the SDK's module graph (bench/cli-startup.ts). The SDK comes from
// its sources (the `atelier-source` condition), so a build always matches the workspace; `ws`
// stays external (a dependency, loaded only when a command opens a WebSocket on Node 20).
// The file is written next to the old one and renamed over it, so a command started during a
// build (tests build in beforeAll) runs the old or the new file, never half of one.
// Type checking is `tsc -p packages/cli` (npm run typecheck).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outfile = path.join(root, 'dist/atelier.js');
const result = await build({
  entryPoints: [path.join(root, 'src/main.ts')],
  outfile,
  write: false,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  conditions: ['atelier-source'],
  external: ['ws'],
  legalComments: 'eof',
  logLevel: 'warning',
});
await mkdir(path.dirname(outfile), { recursive: true });
for (const file of result.outputFiles) {
  const temporary = `${file.path}.${process.pid}.tmp`;
  await writeFile(temporary, file.contents);
  await rename(temporary, file.path);
}
