import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Relative to this module, which sits at the same depth in src/db and dist/db.

/** The repository root (this file is packages/server/src/db/paths.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const SCHEMA_PATH = fileURLToPath(
  new URL('../../../../prisma/schema.prisma', import.meta.url),
);
export const MIGRATIONS_DIR = fileURLToPath(
  new URL('../../../../prisma/migrations', import.meta.url),
);

/**
 * The layout of the template file below; a template of another (older) layout is rebuilt by
 * the build and ignored at run time. Written by scripts/pglite-template.mjs, read by
 * readPgliteTemplate (database.ts).
 */
export const PGLITE_TEMPLATE_FORMAT = 4;

/**
 * Where the build (`npm run build -w @atelier/server`) keeps the template of a new PGlite data
 * directory made by the installed PGlite version with every migration applied: a new
 * embedded database is unpacked from it instead of running initdb in WebAssembly (seconds,
 * and hundreds of MB) and every migration. One file, written at once (renamed into place):
 * a line of JSON naming the migrations in it, then an uncompressed tar (≈ 40 MB; gunzip
 * took 80 ms of the main thread at every fresh start, and every in-memory test database).
 */
export function pgliteTemplateFile(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const manifest = path.join(path.dirname(entry), '..', 'package.json');
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return fileURLToPath(new URL(`../../dist/pglite-${version}.template`, import.meta.url));
}
