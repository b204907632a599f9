// Writes the PGlite data-directory template (see pgliteTemplateFile in src/db/paths.ts) when
// the installed PGlite version has none yet: initdb once here, so a new embedded database
// starts by unpacking it. Run by `npm run build -w @atelier/server`, after dist/ is built.
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

/** Writes the template unless it exists; returns a line saying what was done, or null. */
export async function ensurePgliteTemplate() {
  const { pgliteTemplateFile } = await import('../dist/db/paths.js');
  const file = pgliteTemplateFile();
  if (await stat(file).catch(() => null)) return null;
  const started = performance.now();
  const pglite = await PGlite.create();
  const tarball = await pglite.dumpDataDir('gzip');
  await pglite.close();
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, Buffer.from(await tarball.arrayBuffer()));
  await rename(temporary, file);
  return `${path.basename(file)}: PGlite template in ${(performance.now() - started).toFixed(0)} ms`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const done = await ensurePgliteTemplate();
  if (done) console.log(done);
}
