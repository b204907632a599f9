// Vitest global setup. Tests spawn packages/server/bin/atelier.mjs, which runs the compiled
// dist/ when it is current and the sources through tsx otherwise: build dist/ first when a
// source changed since the last build, so the spawned servers run the JavaScript production
// runs, from the code under test. A no-op after `npm install` (which builds).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePgliteTemplate } from '../packages/server/scripts/pglite-template.mjs';
import { buildDist, isDistFresh } from './build-dist.mjs';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export default async function setup() {
  for (const dir of ['packages/comfyui-sandbox', 'packages/server']) {
    if (!(await isDistFresh(path.join(ROOT, dir)))) await buildDist(path.join(ROOT, dir));
  }
  await ensurePgliteTemplate();
}
