// Writes the PGlite data-directory template (see pgliteTemplateFile in src/db/paths.ts): a
// database made by initdb with every migration applied, once here, so a new embedded database
// starts by unpacking it. Rewritten when PGlite's version or the migrations changed. Run by
// `npm run build -w @atelier/server`, after dist/ is built.
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

async function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, file);
}

/**
 * A ustar archive of `root`'s contents, entries named as PGlite's own dumps name them
 * (`/base/5/1259`), directories before what they hold: what PGlite's loadDataDir and
 * unpackPgliteTemplate (src/db/database.ts) read.
 */
async function tarDirectory(root) {
  const entries = (await readdir(root, { recursive: true, withFileTypes: true }))
    .map((e) => ({ dirent: e, name: `/${path.relative(root, path.join(e.parentPath, e.name))}` }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const blocks = [];
  for (const { dirent, name } of entries) {
    const directory = dirent.isDirectory();
    if (!directory && !dirent.isFile()) continue;
    const body = directory ? Buffer.alloc(0) : await readFile(path.join(root, name));
    if (Buffer.byteLength(name) > 100) throw new Error(`template entry name too long: ${name}`);
    const header = Buffer.alloc(512);
    const field = (offset, length, value) => header.write(value, offset, length, 'latin1');
    const octal = (value, length) => `${value.toString(8).padStart(length - 1, '0')}\0`;
    field(0, 100, name);
    field(100, 8, octal(directory ? 0o777 : 0o666, 8));
    field(108, 8, octal(0, 8));
    field(116, 8, octal(0, 8));
    field(124, 12, octal(body.length, 12));
    field(136, 12, octal(0, 12));
    field(148, 8, ' '.repeat(8)); // the checksum counts its own field as spaces
    field(156, 1, directory ? '5' : '0');
    field(257, 8, 'ustar\u000000');
    let sum = 0;
    for (const byte of header) sum += byte;
    field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The manifest line at the head of a template file, or null (none, or not JSON). */
async function readManifest(file) {
  const handle = await open(file).catch(() => null);
  if (!handle) return null;
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const newline = head.subarray(0, bytesRead).indexOf(10);
    return newline < 0 ? null : JSON.parse(head.toString('utf8', 0, newline));
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** Writes the template unless it is current; returns a line saying what was done, or null. */
export async function ensurePgliteTemplate() {
  const { PGLITE_TEMPLATE_FORMAT, pgliteTemplateFile } = await import('../dist/db/paths.js');
  const { applyMigrations, readMigrations } = await import('../dist/db/migrate.js');
  const file = pgliteTemplateFile();
  const migrations = (await readMigrations()).map(({ name, checksum }) => ({ name, checksum }));
  if (
    JSON.stringify(await readManifest(file)) ===
    JSON.stringify({ format: PGLITE_TEMPLATE_FORMAT, migrations })
  ) {
    return null;
  }
  const started = performance.now();
  // Made on disk and shut down cleanly, so a new database opens it as one that was closed:
  // copied from a running one (PGlite's dumpDataDir), every new database started with a
  // crash recovery.
  const directory = await mkdtemp(path.join(os.tmpdir(), 'atelier-pglite-template-'));
  let tar;
  try {
    const pglite = await PGlite.create({ dataDir: directory });
    await applyMigrations({
      exec: async (sql) => {
        await pglite.exec(sql);
      },
      query: async (sql, params) => (await pglite.query(sql, params)).rows,
    });
    await pglite.close();
    tar = await tarDirectory(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  await mkdir(path.dirname(file), { recursive: true });
  const manifest = `${JSON.stringify({ format: PGLITE_TEMPLATE_FORMAT, migrations })}\n`;
  await writeAtomically(file, Buffer.concat([Buffer.from(manifest), tar]));
  // The template's earlier form: a gzipped tar and its manifest beside it.
  await rm(file.replace(/\.template$/, '.tar.gz'), { force: true });
  await rm(file.replace(/\.template$/, '.tar.gz.json'), { force: true });
  return `${path.basename(file)}: PGlite template with ${migrations.length} migrations in ${(performance.now() - started).toFixed(0)} ms`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const done = await ensurePgliteTemplate();
  if (done) console.log(done);
}
