// Writes the PGlite data-directory template (see pgliteTemplateFile in src/db/paths.ts): a
// database made by initdb with every migration applied, once here, so a new embedded database
// starts by unpacking it. Rewritten when PGlite's version or the migrations changed. Run by
// `npm run build -w @atelier/server`, after dist/ is built.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

async function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, file);
}

/** Writes the template unless it is current; returns a line saying what was done, or null. */
export async function ensurePgliteTemplate() {
  const { pgliteTemplateFile } = await import('../dist/db/paths.js');
  const { applyMigrations, readMigrations } = await import('../dist/db/migrate.js');
  const file = pgliteTemplateFile();
  const migrations = (await readMigrations()).map(({ name, checksum }) => ({ name, checksum }));
  const manifest = await readFile(`${file}.json`, 'utf8')
    .then(JSON.parse)
    .catch(() => null);
  const tar = await readFile(file).catch(() => null);
  if (
    manifest &&
    tar &&
    createHash('sha256').update(tar).digest('hex') === manifest.sha256 &&
    JSON.stringify(manifest.migrations) === JSON.stringify(migrations)
  ) {
    return null;
  }
  const started = performance.now();
  const pglite = await PGlite.create();
  await applyMigrations({
    exec: async (sql) => {
      await pglite.exec(sql);
    },
    query: async (sql, params) => (await pglite.query(sql, params)).rows,
  });
  const tarball = Buffer.from(await (await pglite.dumpDataDir('gzip')).arrayBuffer());
  await pglite.close();
  await mkdir(path.dirname(file), { recursive: true });
  await writeAtomically(file, tarball);
  const sha256 = createHash('sha256').update(tarball).digest('hex');
  await writeAtomically(`${file}.json`, `${JSON.stringify({ sha256, migrations }, null, 2)}\n`);
  return `${path.basename(file)}: PGlite template with ${migrations.length} migrations in ${(performance.now() - started).toFixed(0)} ms`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const done = await ensurePgliteTemplate();
  if (done) console.log(done);
}
